"""Repetitions folded into figures: a value with its spread, and a route's ratio to its baseline
taken repetition by repetition (both measured back to back, under the same load)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from cnimatrix.perf.datapath import RATIO_FIGURES
from cnimatrix.stats import percentile

ROUND = 4


def spread(values: Sequence[float]) -> dict | None:
    """{median, min, max, n, values} of the finite values, or None when there are none."""
    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return None
    return {"median": round(percentile(kept, 50), ROUND), "min": round(min(kept), ROUND), "max": round(max(kept), ROUND),
            "n": len(kept), "values": [round(v, ROUND) for v in kept]}


def rr_percentiles(samples_us: Sequence[int]) -> dict[str, float]:
    """p50/p99 of one run's round trips (microseconds)."""
    if not samples_us:
        return {}
    return {"rr_p50_us": round(percentile(samples_us, 50), 1), "rr_p99_us": round(percentile(samples_us, 99), 1),
            "rr_count": float(len(samples_us))}


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


def route_summary(route: Sequence[Mapping[str, float] | None], baseline: Sequence[Mapping[str, float] | None] | None) -> dict:
    """{"figures": {figure: spread}, "ratios": {figure: spread}} of one route over the repetitions
    (None marks a repetition that gave nothing); no ratios for a baseline route."""
    names = sorted({k for rep in route if rep for k in rep})
    out: dict = {"figures": {}, "ratios": {}}
    for name in names:
        summary = spread([rep.get(name) for rep in route if rep and name in rep])
        if summary:
            out["figures"][name] = summary
    if baseline is not None:
        for name in RATIO_FIGURES:
            summary = spread(per_rep_ratios(route, baseline, name))
            if summary:
                out["ratios"][name] = summary
    return out
