"""`expect`: the one convergence-and-assert path. Observe until the judge matches and stays matched
for `stable` rounds within a deadline, fold every attempt into the test's record, then assert."""
from __future__ import annotations

from typing import Callable, TypeVar

from cnimatrix.probe.engine import Convergence, converge
from cnimatrix.testkit.timeouts import deadline

T = TypeVar("T")


def expect(record, name: str, observe: Callable[[], T], judge: Callable[[T], tuple[bool, str]], *,
           timeout: str | float = "steady", stable: int = 2, interval_s: float = 1.0,
           steady: bool | None = None, what: str | None = None,
           then: Callable[[Convergence[T]], None] | None = None) -> Convergence[T]:
    """Converge on `judge(observe())` and fail the test with what was last seen when it does not.

    `name` keys the record (settle time, flaky notes); `what` words the failure (default: name).
    A steady expectation (the default, unless timeout is "change" or "slow") counts any miss before the final streak
    as flakiness; after a change, only a match that was lost again is. `then(conv)` runs before the
    verdict, pass or fail: measurements taken from the last observation are kept either way.
    """
    conv = converge(observe, judge, deadline_s=deadline(timeout), stable=stable, interval_s=interval_s)
    record.convergence(name, conv, steady=timeout not in ("change", "slow") if steady is None else steady)
    if then is not None:
        then(conv)
    assert conv.ok, f"{what or name}: {conv.reason} (after {conv.count} attempts)"
    return conv
