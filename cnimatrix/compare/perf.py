"""The perf suite in the comparison: ratios to the host network with their spread, interval and
plausibility marks, ranked across the CNIs only where the intervals allow (ranking.py), the CNI's
cost, the growth curves and the Service-count curve, read from each summary's metrics.perf.

Two shapes: flat figures for the measurements table (one number per column), and the `perf`
section of comparison.json (spreads and curves) that the Performance tables and plots draw.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnimatrix.compare.ranking import rank
from cnimatrix.perf.datapath import ALL_ROUTES, FIGURES, RATIO_FIGURES, ROUTES
from cnimatrix.perf.growth import CURVES
from cnimatrix.perf.service_count import CONNECTION_FIGURES
from cnimatrix.results.metrics import Cost, GrowthCurve, PerfMetrics, RouteFigures, ServiceCount, Spread

KUBE_PROXY = "daemonset/kube-system/kube-proxy"
COST_WINDOWS = ("idle", "throughput")
# The Service-count curve's two paths: through the measured ClusterIP, and straight to its pod.
COUNT_PATHS = {"service": "through one ClusterIP", "pod": "straight to its backend pod"}


def _route(perf: PerfMetrics, route_id: str | None) -> RouteFigures | None:
    return ((perf.datapath.routes if perf.datapath else None) or {}).get(route_id) if route_id else None


def _interval(spread: Spread) -> dict[str, float | None] | None:
    ci = spread.ci95
    if ci is None or ci.low is None or ci.high is None:
        return None   # one repetition, or a summary made before intervals
    return {"low": ci.low, "high": ci.high, "relative_half_width": ci.relative_half_width}


def spread_view(spread: Spread | None) -> dict[str, Any] | None:
    """The comparison's view of a spread (median, min, max, n, its 95% interval or None, its
    plausibility marks), or None unless all three figures are there."""
    if spread is None or not spread.complete:
        return None
    marks = [{"kind": m.kind, "reason": m.reason or ""} for m in spread.marks or () if m.kind]
    return {"median": spread.median, "min": spread.min, "max": spread.max, "n": spread.n or 0,
            "ci95": _interval(spread), "marks": marks}


def _median(route: RouteFigures | None, figure: str) -> float | None:
    return (spread_view((route.figures or {}).get(figure)) or {}).get("median") if route else None


def cost_groups(perf: PerfMetrics) -> dict[str, dict[str, dict[str, float | None]]]:
    """who ("cni" or "kube-proxy") -> window -> {cores, cpu_s, peak_mib}; the CNI's components summed."""
    cost = perf.cost or Cost()
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for window in COST_WINDOWS:
        for name, figures in (getattr(cost, window) or {}).items():
            if not figures.pods:
                continue
            who = "kube-proxy" if name == KUBE_PROXY else "cni"
            total = out.setdefault(who, {}).setdefault(window, {"cores": 0.0, "cpu_s": 0.0, "peak_mib": 0.0})
            for key in total:
                value = getattr(figures, key)
                total[key] = None if value is None or total[key] is None else round(total[key] + value, 4)
    return out


def figures(perf: PerfMetrics) -> dict[str, tuple[str, str, str, float | None]]:
    """key -> (group, label, unit, value) for the measurements table."""
    found: dict[str, tuple[str, str, str, float | None]] = {}
    for route in ROUTES:
        ratios = (_route(perf, route.id) or RouteFigures()).ratios or {}
        for figure in RATIO_FIGURES:
            spread = spread_view(ratios.get(figure))
            if spread is not None:
                found[f"perf.ratio.{route.id}.{figure}"] = (
                    "perf", f"{route.title}: {FIGURES[figure][0]}, ratio to host network (median)", "ratio", spread["median"])
    labels = {"cni": "the CNI's pods", "kube-proxy": "kube-proxy"}
    for who, windows in cost_groups(perf).items():
        for window, totals in windows.items():
            for key, unit, what in (("cores", "cores", "CPU"), ("peak_mib", "MiB", "peak memory")):
                if totals.get(key) is not None:
                    found[f"perf.cost.{who}.{window}.{key}"] = ("perf", f"{what} of {labels[who]}, {window}", unit, totals[key])
    for curve in CURVES:
        for n, seconds in curve_points((perf.growth or {}).get(curve.id)):
            found[f"perf.growth.{curve.id}.{n}"] = ("perf", f"{curve.title}: N={n}", "s", seconds)
    return found


def curve_points(curve: GrowthCurve | None) -> list[tuple[int, float]]:
    """(N, seconds) of the measured points of one curve."""
    return [(p.n, p.s) for p in (curve.points if curve else None) or [] if p.n is not None and p.s is not None]


def count_points(record: ServiceCount | None, path: str, figure: str) -> list[dict[str, Any]]:
    """[{n, median, low, high}] of one Service-count figure (low/high: its 95% interval, None without one)."""
    out = []
    for point in (record.points if record else None) or []:
        spread = spread_view((getattr(point, path) or {}).get(figure))
        if point.n is not None and spread is not None:
            ci = spread["ci95"] or {}
            out.append({"n": point.n, "median": spread["median"], "low": ci.get("low"), "high": ci.get("high")})
    return out


def service_count_rows(columns: Sequence[str], perfs: Sequence[PerfMetrics]) -> list[dict[str, Any]]:
    """comparison.json perf.service_count: one row per path and figure that some column measured."""
    rows = []
    for path, path_title in COUNT_PATHS.items():
        for figure in CONNECTION_FIGURES:
            points = {column: count_points(perf.service_count, path, figure) for column, perf in zip(columns, perfs)}
            if any(points.values()):
                label, unit, better = FIGURES[figure]
                rows.append({"path": path, "path_title": path_title, "figure": figure, "label": label, "unit": unit,
                             "better": better, "points": points})
    return rows


def section(columns: Sequence[str], perfs: Sequence[PerfMetrics | None]) -> dict[str, Any]:
    """comparison.json `perf`: ratio rows with spreads, raw medians and the ranking, the growth curves
    and the Service-count rows."""
    perfs = [perf or PerfMetrics() for perf in perfs]
    ratios = []
    for route in ROUTES:
        for figure in RATIO_FIGURES:
            values, raw, base = {}, {}, {}
            for column, perf in zip(columns, perfs):
                route_figures = _route(perf, route.id)
                values[column] = spread_view((route_figures.ratios or {}).get(figure)) if route_figures else None
                raw[column] = _median(route_figures, figure)
                base[column] = _median(_route(perf, route.baseline), figure)
            if any(v is not None for v in values.values()):
                label, unit, better = FIGURES[figure]
                ratios.append({"route": route.id, "route_title": route.title, "baseline": route.baseline,
                               "baseline_title": ALL_ROUTES[route.baseline].title, "figure": figure, "label": label,
                               "unit": unit, "better": better, "values": values, "raw": raw, "baseline_raw": base,
                               "ranking": rank(values, better)})
    growth = []
    for curve in CURVES:
        points, declared = {}, {}
        for column, perf in zip(columns, perfs):
            record = (perf.growth or {}).get(curve.id)
            points[column] = [{"n": n, "s": s} for n, s in curve_points(record)]
            declared[column] = record.declared if record else None
        if any(points.values()) or any(declared.values()):
            growth.append({"curve": curve.id, "title": curve.title, "unit": curve.unit, "points": points,
                           "declared": declared})
    return {"ratios": ratios, "growth": growth, "service_count": service_count_rows(columns, perfs)}
