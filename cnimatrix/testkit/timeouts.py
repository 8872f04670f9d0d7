"""One timeout table for every suite, instead of per-file constants.

steady: a state that should already hold (a Service that is programmed, a name that exists);
change: time for the cluster to follow a change (scale, readiness flip, policy update);
slow:   new pods starting on a loaded host, whose start-up is not what a scenario judges.
"""
from __future__ import annotations

TIMEOUTS: dict[str, float] = {"steady": 30.0, "change": 90.0, "slow": 300.0}


def deadline(timeout: str | float) -> float:
    """Seconds for a named timeout (or a number of seconds, passed through)."""
    if isinstance(timeout, str):
        try:
            return TIMEOUTS[timeout]
        except KeyError:
            raise ValueError(f"unknown timeout {timeout!r}; known: {', '.join(TIMEOUTS)}") from None
    if timeout <= 0:
        raise ValueError(f"a timeout must be positive, not {timeout}")
    return float(timeout)
