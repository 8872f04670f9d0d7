"""The perf suite in the comparison: ratios to the host network with their spread, the CNI's
cost, and the growth curves, read from each summary's metrics.perf.

Two shapes: flat figures for the measurements table (one number per column), and the `perf`
section of comparison.json (spreads and curves) that the Performance tables and plots draw.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.perf.datapath import ALL_ROUTES, FIGURES, RATIO_FIGURES, ROUTES
from cnimatrix.perf.growth import CURVES

KUBE_PROXY = "daemonset/kube-system/kube-proxy"
COST_WINDOWS = ("idle", "throughput")


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _perf(doc: Mapping[str, Any] | None) -> Mapping[str, Any]:
    perf = (doc or {}).get("metrics", {}).get("perf") if doc else None
    return perf if isinstance(perf, Mapping) else {}


def _route(perf: Mapping[str, Any], route_id: str) -> Mapping[str, Any]:
    routes = perf.get("datapath", {}).get("routes", {}) if isinstance(perf.get("datapath"), Mapping) else {}
    route = routes.get(route_id) if isinstance(routes, Mapping) else None
    return route if isinstance(route, Mapping) else {}


def _spread(value: Any) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        return None
    got = {k: _number(value.get(k)) for k in ("median", "min", "max")}
    if any(v is None for v in got.values()):
        return None
    return {**got, "n": int(value.get("n", 0)) if isinstance(value.get("n"), int) else 0}


def cost_groups(perf: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """who ("cni" or "kube-proxy") -> window -> {cores, cpu_s, peak_mib}; the CNI's components summed."""
    cost = perf.get("cost") if isinstance(perf.get("cost"), Mapping) else {}
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for window in COST_WINDOWS:
        components = cost.get(window) if isinstance(cost.get(window), Mapping) else {}
        for name, figures in components.items():
            if not isinstance(figures, Mapping) or not figures.get("pods"):
                continue
            who = "kube-proxy" if name == KUBE_PROXY else "cni"
            total = out.setdefault(who, {}).setdefault(window, {"cores": 0.0, "cpu_s": 0.0, "peak_mib": 0.0})
            for key in total:
                value = _number(figures.get(key))
                total[key] = None if value is None or total[key] is None else round(total[key] + value, 4)
    return out


def figures(doc: Mapping[str, Any]) -> dict[str, tuple[str, str, str, float | None]]:
    """key -> (group, label, unit, value) for the measurements table."""
    perf = _perf(doc)
    found: dict[str, tuple[str, str, str, float | None]] = {}
    for route in ROUTES:
        ratios = _route(perf, route.id).get("ratios", {})
        for figure in RATIO_FIGURES:
            spread = _spread(ratios.get(figure) if isinstance(ratios, Mapping) else None)
            if spread is not None:
                found[f"perf.ratio.{route.id}.{figure}"] = (
                    "perf", f"{route.title}: {FIGURES[figure][0]}, ratio to host network (median)", "ratio", spread["median"])
    labels = {"cni": "the CNI's pods", "kube-proxy": "kube-proxy"}
    for who, windows in cost_groups(perf).items():
        for window, totals in windows.items():
            for key, unit, what in (("cores", "cores", "CPU"), ("peak_mib", "MiB", "peak memory")):
                if totals.get(key) is not None:
                    found[f"perf.cost.{who}.{window}.{key}"] = ("perf", f"{what} of {labels[who]}, {window}", unit, totals[key])
    growth = perf.get("growth") if isinstance(perf.get("growth"), Mapping) else {}
    for curve in CURVES:
        for n, seconds in curve_points(growth.get(curve.id)):
            found[f"perf.growth.{curve.id}.{n}"] = ("perf", f"{curve.title}: N={n}", "s", seconds)
    return found


def curve_points(record: Any) -> list[tuple[int, float]]:
    """(N, seconds) of the measured points of one curve record."""
    if not isinstance(record, Mapping) or not isinstance(record.get("points"), Sequence):
        return []
    points = []
    for point in record["points"]:
        if isinstance(point, Mapping) and isinstance(point.get("n"), int) and _number(point.get("s")) is not None:
            points.append((point["n"], float(point["s"])))
    return points


def section(columns: Sequence[str], docs: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    """comparison.json `perf`: ratio rows with spreads and raw medians, and the growth curves."""
    perfs = [_perf(doc) for doc in docs]
    ratios = []
    for route in ROUTES:
        for figure in RATIO_FIGURES:
            values, raw, base = {}, {}, {}
            for column, perf in zip(columns, perfs):
                route_doc = _route(perf, route.id)
                values[column] = _spread(route_doc.get("ratios", {}).get(figure)) if route_doc else None
                raw[column] = (_spread(route_doc.get("figures", {}).get(figure)) or {}).get("median") if route_doc else None
                base_doc = _route(perf, route.baseline)
                base[column] = (_spread(base_doc.get("figures", {}).get(figure)) or {}).get("median") if base_doc else None
            if any(v is not None for v in values.values()):
                label, unit, better = FIGURES[figure]
                ratios.append({"route": route.id, "route_title": route.title, "baseline": route.baseline,
                               "baseline_title": ALL_ROUTES[route.baseline].title, "figure": figure, "label": label,
                               "unit": unit, "better": better, "values": values, "raw": raw, "baseline_raw": base})
    growth = []
    for curve in CURVES:
        points, declared = {}, {}
        for column, perf in zip(columns, perfs):
            record = perf.get("growth", {}).get(curve.id) if isinstance(perf.get("growth"), Mapping) else None
            points[column] = [{"n": n, "s": s} for n, s in curve_points(record)]
            status = record.get("declared") if isinstance(record, Mapping) else None
            declared[column] = status if isinstance(status, str) else None
        if any(points.values()) or any(declared.values()):
            growth.append({"curve": curve.id, "title": curve.title, "unit": curve.unit, "points": points,
                           "declared": declared})
    return {"ratios": ratios, "growth": growth}
