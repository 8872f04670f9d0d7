"""One timeout table for every suite, instead of per-file constants.

steady: a state that should already hold (a Service that is programmed, a name that exists);
change: time for the cluster to follow a change (scale, readiness flip, policy update);
policy: a NetworkPolicy change must show in the probe matrix within this;
route:  an Ingress or Gateway route change answered right at the ingress controller's front door;
slow:   new pods starting on a loaded host, whose start-up is not what a scenario judges;
declared: a scenario whose capability is declared missing, watched long enough to see it either way
          (caps every settle/expect of a scenario run under a declared gap);
glance: the same for a whole NetworkPolicy matrix on a CNI that declares no enforcement (a few rounds);
watch:  how long a 100 ms watch of the pairs a live change flips keeps probing (the matrix rounds still
        time a slower change).
"""
from __future__ import annotations

TIMEOUTS: dict[str, float] = {"steady": 30.0, "change": 90.0, "policy": 60.0, "route": 60.0,
                              "slow": 300.0, "declared": 20.0, "glance": 6.0, "watch": 30.0}


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
