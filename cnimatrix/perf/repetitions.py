"""How many datapath repetitions are enough: the stopping rule the perf suite asks after each one.

Enough once every route's ratio to its baseline (the figures the comparison ranks) has a 95%
interval whose half-width is within the target share of its median (+-10%), after at least
`min_reps`. Otherwise repeat, until `max_reps` is reached or the next repetition (assumed as long
as the longest so far) would end the phase after `budget_s`. Pure: the suite passes the figures,
the count and the clock readings in.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cnimatrix.confidence import mean_interval, relative_half_width
from cnimatrix.perf.datapath import RATIO_FIGURES, ROUTES, Settings
from cnimatrix.perf.figures import per_rep_ratios
from cnimatrix.stats import percentile

# Why the repetitions stopped: narrow enough, either cap, or nothing measured to narrow.
CONVERGED, REPETITION_CAP, TIME_CAP, NO_FIGURES = "converged", "repetition-cap", "time-cap", "no-figures"


@dataclass(frozen=True)
class Decision:
    """The rule's answer after `repetitions`: stop or repeat, and how wide the widest interval is."""

    stop: bool
    reason: str | None                  # one of the four above once stopped
    detail: str
    repetitions: int
    widest: str | None = None           # "route.figure" of the widest interval (relative to its median)
    widest_relative_half_width: float | None = None   # None when some figure has fewer than two values

    def record(self, settings: Settings) -> dict:
        """metrics.perf.datapath.stop."""
        out = {"reason": self.reason, "detail": self.detail, "target_relative_half_width": settings.target_relative_half_width,
               "widest": self.widest}
        if self.widest_relative_half_width is not None:
            out["widest_relative_half_width"] = round(self.widest_relative_half_width, 4)
        return {k: v for k, v in out.items() if v is not None}


def watched_ratios(reps: Mapping[str, Sequence[Mapping[str, float] | None]]) -> dict[str, list[float]]:
    """"route.figure" -> that route's ratio to its baseline in every repetition with both; routes or
    figures with no ratio at all are left out (nothing would ever narrow them)."""
    out = {}
    for route in ROUTES:
        for figure in RATIO_FIGURES:
            ratios = per_rep_ratios(reps.get(route.id, ()), reps.get(route.baseline, ()), figure)
            if ratios:
                out[f"{route.id}.{figure}"] = ratios
    return out


def relative_width(values: Sequence[float]) -> float:
    """The 95% interval's half-width over the median; infinite with fewer than two values."""
    found = mean_interval(values)
    return math.inf if found is None else relative_half_width(found.half_width, percentile(values, 50))


def _widest(watched: Mapping[str, Sequence[float]]) -> tuple[str | None, float]:
    widths = {key: relative_width(values) for key, values in watched.items()}
    if not widths:
        return None, math.inf
    key = max(sorted(widths), key=lambda k: widths[k])
    return key, widths[key]


def decide(watched: Mapping[str, Sequence[float]], repetitions: int, elapsed_s: float, longest_rep_s: float,
           settings: Settings) -> Decision:
    """Stop or repeat, after `repetitions` that took `elapsed_s` in all (the longest `longest_rep_s`)."""
    widest, width = _widest(watched)
    target = settings.target_relative_half_width

    def answer(stop: bool, reason: str | None, detail: str) -> Decision:
        return Decision(stop, reason, detail, repetitions, widest, None if math.isinf(width) else width)

    where = f"widest: {widest} " + ("with a single value" if math.isinf(width) else f"at +-{width:.0%} of its median")
    if repetitions < settings.min_reps:
        return answer(False, None, f"{repetitions} of at least {settings.min_reps} repetitions")
    if widest is None:   # every run failed: repeating would not narrow anything
        return answer(True, NO_FIGURES, f"no ratio measured in {repetitions} repetitions")
    if width <= target:
        return answer(True, CONVERGED, f"every ratio's 95% interval within +-{target:.0%} of its median after "
                                       f"{repetitions} repetitions ({where})")
    if repetitions >= settings.max_reps:
        return answer(True, REPETITION_CAP, f"{repetitions} repetitions, the cap; {where}, target +-{target:.0%}")
    if elapsed_s + longest_rep_s > settings.budget_s:
        return answer(True, TIME_CAP, f"{repetitions} repetitions in {elapsed_s:.0f} s: another of up to "
                                      f"{longest_rep_s:.0f} s would pass the {settings.budget_s:.0f} s budget; {where}, "
                                      f"target +-{target:.0%}")
    return answer(False, None, f"{where}, target +-{target:.0%}")
