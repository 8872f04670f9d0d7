"""Small statistics helpers for turning raw probe observations into verdicts.

Everything here is pure Python on purpose: the suite must run offline on a bare
host, so we avoid numpy/scipy and implement the few functions we need.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "SpreadVerdict",
    "chi_square_sf",
    "latency_summary",
    "min_requests_for",
    "percentile",
    "spread_verdict",
    "sticky_verdict",
    "weighted_verdict",
]


# --------------------------------------------------------------------------- latency


def percentile(values: Iterable[float], q: float) -> float:
    """Return the q-th percentile (0..100) with linear interpolation between closest ranks.

    Matches the common "linear" definition (rank = (n-1) * q/100) so numbers
    agree with what people get from numpy or a spreadsheet.
    """
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("percentile of an empty sequence is undefined")
    if not 0 <= q <= 100 or math.isnan(q):
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    rank = (len(data) - 1) * q / 100
    lower = math.floor(rank)
    upper = min(lower + 1, len(data) - 1)
    fraction = rank - lower
    return data[lower] + (data[upper] - data[lower]) * fraction


def latency_summary(values_ms: Iterable[float]) -> dict:
    """Summarise latencies (milliseconds) as count/min/p50/p90/p99/max/mean.

    Raises ValueError on an empty input: a summary of nothing would hide the
    fact that every probe failed.
    """
    data = sorted(float(v) for v in values_ms)
    if not data:
        raise ValueError("latency_summary needs at least one measurement")
    return {
        "count": len(data),
        "min": round(data[0], 3),
        "p50": round(percentile(data, 50), 3),
        "p90": round(percentile(data, 90), 3),
        "p99": round(percentile(data, 99), 3),
        "max": round(data[-1], 3),
        "mean": round(math.fsum(data) / len(data), 3),
    }


# --------------------------------------------------------------------------- chi-square

_EPS = 1e-15  # relative precision target for the gamma expansions
_TINY = 1e-300  # guards divisions by zero in the continued fraction
_MAX_ITER = 10_000


def _lower_gamma_series(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) by its power series (good for x < a+1)."""
    term = 1.0 / a
    total = term
    denom = a
    for _ in range(_MAX_ITER):
        denom += 1.0
        term *= x / denom
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_gamma_fraction(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) by a continued fraction (good for x >= a+1).

    Evaluated with the modified Lentz method, which converges quickly in this
    region and never needs the (cancellation-prone) 1 - P subtraction.
    """
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def chi_square_sf(x: float, dof: int) -> float:
    """Survival function P(X >= x) of the chi-square distribution with `dof` degrees of freedom."""
    if dof <= 0:
        raise ValueError(f"chi-square degrees of freedom must be positive, got {dof}")
    if math.isnan(x):
        raise ValueError("chi-square statistic is NaN")
    if x <= 0:
        return 1.0
    a, half_x = dof / 2.0, x / 2.0
    if half_x < a + 1.0:
        return min(1.0, max(0.0, 1.0 - _lower_gamma_series(a, half_x)))
    return min(1.0, max(0.0, _upper_gamma_fraction(a, half_x)))


# --------------------------------------------------------------------------- load balancing

_MIN_EXPECTED_PER_CELL = 5  # textbook validity condition for the chi-square approximation
_MISS_PROBABILITY = 1e-6  # acceptable chance that a fair balancer never hits some backend


@dataclass(frozen=True)
class SpreadVerdict:
    """Outcome of checking that responses were spread evenly over the ready backends."""

    ok: bool
    reason: str
    total: int
    chi2: float
    p_value: float
    dof: int
    counts: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def _format_counts(counts: dict[str, int]) -> str:
    return "{" + ", ".join(f"{name}: {counts[name]}" for name in sorted(counts)) + "}"


def _names(names: Sequence[str]) -> str:
    return ", ".join(names)


def spread_verdict(
    counts: dict[str, int],
    expected: set[str] | list[str],
    alpha: float = 1e-3,
) -> SpreadVerdict:
    """Judge whether `counts` (responses per backend) looks like fair load balancing over `expected`.

    Fails when an expected backend got nothing, when an unknown backend answered,
    or when a chi-square goodness-of-fit test rejects uniformity at level `alpha`.
    Raises ValueError when the sample is too small for the test to mean anything:
    that is a bug in the calling scenario, not a property of the CNI.
    """
    wanted = sorted(set(expected))
    if not wanted:
        raise ValueError("spread_verdict needs at least one expected backend")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be within (0, 1), got {alpha}")
    for name, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"count for backend {name!r} must be a non-negative integer, got {value!r}")

    observed = {name: counts.get(name, 0) for name in wanted}
    extra = {name: n for name, n in counts.items() if name not in observed and n > 0}
    total = sum(observed.values()) + sum(extra.values())
    needed = _MIN_EXPECTED_PER_CELL * len(wanted)
    if total < needed:
        raise ValueError(
            f"{total} responses are too few to judge {len(wanted)} backends; send at least {needed}"
        )

    in_set = sum(observed.values())
    dof = len(wanted) - 1
    if dof == 0 or in_set == 0:
        # A single backend cannot be unevenly loaded; no in-set traffic is reported as "missing".
        chi2, p_value = 0.0, 1.0
    else:
        mean = in_set / len(wanted)
        chi2 = math.fsum((n - mean) ** 2 / mean for n in observed.values())
        p_value = chi_square_sf(chi2, dof)

    missing = [name for name in wanted if observed[name] == 0]
    unexpected = sorted(extra)
    problems = []
    if missing:
        noun = "backend" if len(missing) == 1 else "backends"
        problems.append(f"{noun} {_names(missing)} got 0 of {total} responses")
    if unexpected:
        seen = sum(extra.values())
        noun = "backend" if len(unexpected) == 1 else "backends"
        problems.append(f"unexpected {noun} {_names(unexpected)} answered {seen} of {total} responses")
    # A missing backend already explains a bad fit; only report the test on its own.
    if not missing and p_value < alpha:
        problems.append(
            f"p={p_value:.2g} < alpha={alpha:g}: distribution {_format_counts(observed)} is not uniform"
        )

    if problems:
        reason = "; ".join(problems)
    else:
        reason = (
            f"{total} responses spread over {len(wanted)} backends {_format_counts(observed)}"
            f" (p={p_value:.2g} >= alpha={alpha:g})"
        )
    return SpreadVerdict(
        ok=not problems,
        reason=reason,
        total=total,
        chi2=round(chi2, 6),
        p_value=p_value,
        dof=dof,
        counts={**observed, **extra},
        missing=missing,
        unexpected=unexpected,
    )


def min_requests_for(backends: int) -> int:
    """How many requests to send so a fair balancer over `backends` almost surely hits them all.

    Union bound: P(some backend gets nothing) <= k * (1 - 1/k)^n; we pick the
    smallest n pushing that under 1e-6, and never fewer than 5 per backend so
    the chi-square test in spread_verdict stays valid.
    """
    if backends < 1:
        raise ValueError(f"need at least one backend, got {backends}")
    floor = _MIN_EXPECTED_PER_CELL * backends
    if backends == 1:
        return floor
    miss = 1.0 - 1.0 / backends
    n = math.ceil(math.log(_MISS_PROBABILITY / backends) / math.log(miss))
    while backends * miss**n >= _MISS_PROBABILITY:  # guard against float rounding at the boundary
        n += 1
    return max(n, floor)


def weighted_verdict(counts: dict[str, int], weights: dict[str, float], alpha: float = 1e-3) -> SpreadVerdict:
    """Judge whether `counts` (responses per backend) follow the split `weights` (backend -> weight).

    A chi-square goodness-of-fit test against total * weight / sum(weights); fails when a weighted
    backend got nothing, when a backend outside `weights` answered, or when p < `alpha`. Raises
    ValueError when some backend's expected count is under 5 (send more requests)."""
    if not weights or any(w <= 0 for w in weights.values()):
        raise ValueError(f"weighted_verdict needs positive weights, got {weights}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be within (0, 1), got {alpha}")
    wanted = sorted(weights)
    observed = {name: counts.get(name, 0) for name in wanted}
    extra = {name: n for name, n in counts.items() if name not in observed and n > 0}
    total = sum(observed.values()) + sum(extra.values())
    share = {name: weights[name] / math.fsum(weights.values()) for name in wanted}
    expected = {name: total * share[name] for name in wanted}
    if min(expected.values()) < _MIN_EXPECTED_PER_CELL:
        raise ValueError(f"{total} responses are too few to judge weights {weights}; "
                         f"send at least {math.ceil(_MIN_EXPECTED_PER_CELL / min(share.values()))}")
    chi2 = math.fsum((observed[n] - expected[n]) ** 2 / expected[n] for n in wanted)
    dof = len(wanted) - 1
    p_value = chi_square_sf(chi2, dof) if dof else 1.0
    missing = [name for name in wanted if observed[name] == 0]
    unexpected = sorted(extra)
    want_text = "{" + ", ".join(f"{n}: {expected[n]:.0f}" for n in wanted) + "}"
    problems = []
    if missing:
        problems.append(f"{_names(missing)} got 0 of {total} responses")
    if unexpected:
        problems.append(f"unexpected {_names(unexpected)} answered {sum(extra.values())} of {total} responses")
    if not problems and p_value < alpha:
        problems.append(f"p={p_value:.2g} < alpha={alpha:g}: distribution {_format_counts(observed)} does not follow "
                        f"the weights (expected {want_text})")
    reason = "; ".join(problems) or (f"{total} responses split {_format_counts(observed)}, expected {want_text} "
                                     f"(p={p_value:.2g} >= alpha={alpha:g})")
    return SpreadVerdict(ok=not problems, reason=reason, total=total, chi2=round(chi2, 6), p_value=p_value, dof=dof,
                         counts={**observed, **extra}, missing=missing, unexpected=unexpected)


# --------------------------------------------------------------------------- session affinity


def sticky_verdict(responses: list[str]) -> tuple[bool, str]:
    """Check session affinity: every response must name the same (non-empty) backend."""
    if not responses:
        return False, "no responses were received"
    blanks = sum(1 for r in responses if not r)
    if blanks:
        return False, f"{blanks} of {len(responses)} responses did not name a backend"
    distinct: dict[str, int] = {}
    for r in responses:
        distinct[r] = distinct.get(r, 0) + 1
    if len(distinct) == 1:
        return True, f"all {len(responses)} responses came from {responses[0]}"
    return False, (
        f"{len(responses)} responses came from {len(distinct)} backends {_format_counts(distinct)}"
    )
