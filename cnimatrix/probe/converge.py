"""Waiting for an expectation to hold: a cluster change takes effect over time, so a check polls
its observation until it matches for several consecutive rounds, within a deadline, and keeps
every attempt as evidence (time-to-effect, flapping)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed


T = TypeVar("T")


@dataclass
class Attempt(Generic[T]):
    at_s: float
    matched: bool
    reason: str


@dataclass
class Convergence(Generic[T]):
    ok: bool
    attempts: list[Attempt] = field(default_factory=list)
    last: T | None = None
    reason: str = ""
    settle_s: float | None = None     # when the final stable streak started (time-to-effect)
    flapped: bool = False             # a match was lost again before it held
    lost: Attempt | None = None       # the first round that lost a match (what made it flap)

    @property
    def count(self) -> int:
        return len(self.attempts)


def converge(observe: Callable[[], T], judge: Callable[[T], tuple[bool, str]], *, deadline_s: float,
             stable: int = 3, interval_s: float = 1.0) -> Convergence[T]:
    """Observe until `judge` says matched for `stable` consecutive observations, or until the
    deadline passes without a match under way.

    Steady-state checks pass `stable` >= 1 and expect a match at once; checks that follow a change
    (scale, readiness flip) read `settle_s` as the time the change took to show."""
    started = time.monotonic()
    result: Convergence[T] = Convergence(ok=False)
    streak = 0
    streak_start: float | None = None

    def once() -> bool:
        nonlocal streak, streak_start
        value = observe()
        matched, reason = judge(value)
        now = time.monotonic() - started
        result.attempts.append(Attempt(round(now, 3), matched, reason))
        result.last, result.reason = value, reason
        if matched:
            if streak == 0:
                streak_start = now
            streak += 1
        else:
            if streak:
                result.flapped = True
                result.lost = result.lost or result.attempts[-1]
            streak = 0
        return streak >= stable

    # The deadline bounds the time to a first match; a streak under way when it passes may still
    # finish (at most `stable` more rounds), so that slow rounds on a loaded host do not turn a
    # matching observation into a failure. A miss after the deadline ends the wait.
    past_deadline = stop_after_delay(deadline_s)
    try:
        Retrying(stop=lambda state: past_deadline(state) and streak == 0, wait=wait_fixed(interval_s),
                 retry=retry_if_result(lambda done: not done))(once)
    except RetryError:
        pass
    result.ok = streak >= stable
    result.settle_s = round(streak_start, 3) if result.ok and streak_start is not None else None
    return result
