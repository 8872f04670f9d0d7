"""Repetitions folded into figures: a value with its spread and 95% confidence interval, a route's
ratio to its baseline taken repetition by repetition (both measured back to back, under the same
load), and the plausibility marks (cnimatrix.perf.plausibility) that keep a figure from being ranked."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from cnimatrix.confidence import mean_interval, relative_half_width
from cnimatrix.perf.datapath import RATIO_FIGURES, LoopRun
from cnimatrix.perf.plausibility import baseline_moved, faster_than_host
from cnimatrix.stats import percentile

ROUND = 4


def interval(values: Sequence[float]) -> dict | None:
    """{low, high, relative_half_width} of the 95% interval of `values` (the half-width over their
    median; left out when the median is 0), or None for fewer than two values."""
    found = mean_interval(values)
    if found is None:
        return None
    out = {"low": round(found.low, ROUND), "high": round(found.high, ROUND)}
    relative = relative_half_width(found.half_width, percentile(values, 50))
    if math.isfinite(relative):
        out["relative_half_width"] = round(relative, ROUND)
    return out


def spread(values: Sequence[float]) -> dict | None:
    """{median, min, max, n, values, ci95} of the finite values (ci95 from two values on), or None
    when there are none."""
    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return None
    out = {"median": round(percentile(kept, 50), ROUND), "min": round(min(kept), ROUND), "max": round(max(kept), ROUND),
           "n": len(kept), "values": [round(v, ROUND) for v in kept]}
    ci95 = interval(kept)
    if ci95 is not None:
        out["ci95"] = ci95
    return out


def _marked(summary: dict, marks: Sequence[dict | None]) -> dict:
    kept = [m for m in marks if m]
    return {**summary, "marks": kept} if kept else summary


def loop_figures(mode: str, run: LoopRun | None) -> dict[str, float]:
    """p50/p99 (microseconds) and count of one request/response loop's transactions ("rr_p50_us",
    ...); for "crr" also its rate, transactions over the loop's wall time (one client, one at a time)."""
    if run is None or not run.samples_us:
        return {}
    samples = run.samples_us
    out = {f"{mode}_p50_us": round(percentile(samples, 50), 1), f"{mode}_p99_us": round(percentile(samples, 99), 1),
           f"{mode}_count": float(len(samples))}
    if mode == "crr" and run.wall_s:
        out["crr_per_s"] = round(len(samples) / run.wall_s, 1)
    return out


def per_rep_ratios(route: Sequence[Mapping[str, float] | None], baseline: Sequence[Mapping[str, float] | None],
                   figure: str) -> list[float]:
    """route[i][figure] / baseline[i][figure] for every repetition where both have the figure (and
    the baseline is not zero)."""
    ratios = []
    for mine, base in zip(route, baseline):
        if not mine or not base:
            continue
        a, b = mine.get(figure), base.get(figure)
        if a is None or b is None or b == 0:
            continue
        ratios.append(a / b)
    return ratios


def route_summary(route: Sequence[Mapping[str, float] | None], baseline: Sequence[Mapping[str, float] | None] | None,
                  noisy: dict | None = None) -> dict:
    """{"figures": {figure: spread}, "ratios": {figure: spread}} of one route over the repetitions
    (None marks a repetition that gave nothing); no ratios for a baseline route. `noisy` (a mark)
    goes on every figure; a ratio is marked suspect when it is implausible or its baseline moved, a
    baseline's own figure when it moved."""
    def values(reps, name):
        return [rep.get(name) for rep in reps or () if rep and name in rep]

    names = sorted({k for rep in route if rep for k in rep})
    out: dict = {"figures": {}, "ratios": {}}
    for name in names:
        summary = spread(values(route, name))
        if summary:
            moved = baseline_moved(name, values(route, name), "its") if baseline is None and name in RATIO_FIGURES else None
            out["figures"][name] = _marked(summary, [moved, noisy])
    if baseline is not None:
        for name in RATIO_FIGURES:
            summary = spread(per_rep_ratios(route, baseline, name))
            if summary:
                out["ratios"][name] = _marked(summary, [faster_than_host(name, summary["median"]),
                                                        baseline_moved(name, values(baseline, name)), noisy])
    return out
