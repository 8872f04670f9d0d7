"""Confidence intervals over a handful of repetitions, in pure Python (the suite runs offline on a
bare host: no scipy).

The interval is Student's t interval of the mean. Why not a bootstrap over the repetitions: with the
3 to 10 repetitions a run makes, a percentile bootstrap never reaches outside the values seen and so
claims more certainty than it has; the t interval is wider there, needs no random seed, and a reader
can check it by hand.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
_BISECTIONS = 200  # far more than double precision needs: the loop stops when the bracket stops shrinking


def t_within(t: float, dof: int) -> float:
    """P(|T| <= t) for Student's t with `dof` (a positive integer) degrees of freedom.

    For integer degrees of freedom the distribution has a closed form: a finite sum of powers of
    cos(theta), theta = atan(t / sqrt(dof)) (Abramowitz and Stegun 26.7.3 and 26.7.4)."""
    if dof < 1:
        raise ValueError(f"Student's t needs at least one degree of freedom, got {dof}")
    if t <= 0:
        return 0.0
    theta = math.atan(t / math.sqrt(dof))
    cos2, sin = math.cos(theta) ** 2, math.sin(theta)
    if dof % 2 == 0:
        term = total = 1.0
        for j in range(1, dof // 2):
            term *= cos2 * (2 * j - 1) / (2 * j)
            total += term
        return min(1.0, sin * total)
    term = total = math.cos(theta)
    for j in range(1, (dof - 1) // 2):
        term *= cos2 * (2 * j) / (2 * j + 1)
        total += term
    within = 2 / math.pi * theta if dof == 1 else 2 / math.pi * (theta + sin * total)
    return min(1.0, within)


def t_critical(dof: int, confidence: float = CONFIDENCE) -> float:
    """The t with P(|T| <= t) = confidence (12.706 for 1 degree of freedom at 95%, 2.228 for 10)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    low, high = 0.0, 1.0
    while t_within(high, dof) < confidence:
        low, high = high, high * 2
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if t_within(middle, dof) < confidence:
            low = middle
        else:
            high = middle
    return high


@dataclass(frozen=True)
class Interval:
    """A confidence interval of the mean: [low, high] = mean -/+ half_width."""

    low: float
    high: float
    mean: float
    half_width: float


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval | None:
    """Student's t interval of the mean of `values`; None for fewer than two (no spread to go on)."""
    data = [float(v) for v in values]
    if len(data) < 2:
        return None
    n = len(data)
    mean = math.fsum(data) / n
    variance = math.fsum((v - mean) ** 2 for v in data) / (n - 1)
    half = t_critical(n - 1, confidence) * math.sqrt(variance / n)
    return Interval(mean - half, mean + half, mean, half)


def relative_half_width(half_width: float, reference: float) -> float:
    """half_width as a share of |reference| (0.1: within +-10%); infinite when the reference is 0
    and the interval is not a point."""
    if reference == 0:
        return 0.0 if half_width == 0 else math.inf
    return half_width / abs(reference)
