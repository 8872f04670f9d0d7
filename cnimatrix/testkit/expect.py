"""`expect`: the one convergence-and-assert path. Observe until the judge matches and stays matched
for `stable` rounds within a deadline, fold every attempt into the test's record, then assert.
`settle` is its first half, for the scenarios whose verdict on a miss is more than a failure (a
declared gap observed, a matrix printed): it records and returns the convergence without judging."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from cnimatrix.probe.converge import Convergence, converge
from cnimatrix.testkit.timeouts import deadline

T = TypeVar("T")


def settle(record, name: str, observe: Callable[[], T], judge: Callable[[T], tuple[bool, str]], *,
           timeout: str | float = "steady", stable: int = 2, interval_s: float = 1.0,
           steady: bool | None = None) -> Convergence[T]:
    """Converge on `judge(observe())` and fold the attempts into `record` under `name`.

    In a scenario run under a declared gap the deadline is at most the `declared` timeout.
    A steady expectation (the default, unless timeout is "change", "policy" or "slow") counts any
    miss before the final streak as flakiness; after a change, only a match that was lost again is.
    """
    started = time.monotonic()
    limit = deadline(timeout)
    if record.under_gap:   # declared missing: watched long enough to see it either way, not waited for
        limit = min(limit, deadline("declared"))
    conv = converge(observe, judge, deadline_s=limit, stable=stable, interval_s=interval_s)
    record.waited(time.monotonic() - started, conv.count)
    record.convergence(name, conv, steady=timeout not in AFTER_A_CHANGE if steady is None else steady)
    return conv


AFTER_A_CHANGE = ("change", "policy", "slow")


def expect(record, name: str, observe: Callable[[], T], judge: Callable[[T], tuple[bool, str]], *,
           timeout: str | float = "steady", stable: int = 2, interval_s: float = 1.0,
           steady: bool | None = None, what: str | None = None,
           then: Callable[[Convergence[T]], None] | None = None) -> Convergence[T]:
    """`settle`, then fail the test with what was last seen when it did not match.

    `what` words the failure (default: name). `then(conv)` runs before the verdict, pass or fail:
    measurements taken from the last observation are kept either way.
    """
    conv = settle(record, name, observe, judge, timeout=timeout, stable=stable, interval_s=interval_s, steady=steady)
    if then is not None:
        then(conv)
    assert conv.ok, f"{what or name}: {conv.reason} (after {conv.count} attempts)"
    return conv
