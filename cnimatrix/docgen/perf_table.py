"""The performance section of docs/measurements.md: one column per recorded run, one row per figure
(bench/perf_record.py writes ratios as [median, min, max] per route and figure)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.compare.render_md import escape, table
from cnimatrix.docgen.figures import extras, flat, host_load, number, seconds

ROUTES = {"pod-same-node": "Pod to pod, same node", "pod-cross-node": "Pod to pod across nodes",
          "cluster-ip": "ClusterIP (backend on the other node)", "node-port": "NodePort from outside"}
FIGURES = {"tcp_1_gbps": "TCP 1 stream", "tcp_n_gbps": "TCP 4 streams", "udp_gbps": "UDP at a fixed rate",
           "udp_jitter_ms": "UDP jitter", "rr_p50_us": "request/response p50", "rr_p99_us": "request/response p99",
           "crr_p50_us": "connect/request/response p50", "crr_p99_us": "connect/request/response p99"}
WINDOWS = {"idle": "idle", "throughput": "during the throughput runs"}
CURVES = {"service_backends": "new Service, s at N backends", "network_policies": "one more policy, s at N policies",
          "namespaces": "pod in a new namespace, s at N namespaces",
          "service_count": "Nth Service answers, s at N Services"}


def _in_order(names: Sequence[str], known: Mapping[str, str]) -> list[str]:
    """Known names in their documented order, then any new ones as first seen."""
    seen = list(dict.fromkeys(names))
    return [n for n in known if n in seen] + [n for n in seen if n not in known]


def _ratio(value: Any) -> str:

    if isinstance(value, list) and len(value) == 3:
        return f"{number(value[0])} ({number(value[1])}–{number(value[2])})"
    return flat(value)


def _cost(value: Any) -> str:

    if isinstance(value, Mapping) and "cores" in value:
        return f"{number(value['cores'])} cores, {number(value.get('peak_mib'))} MiB"
    return flat(value)


def _curve(value: Any) -> str:

    if value == "not-enforced":
        return "declared not-enforced"
    if isinstance(value, Mapping):
        return ", ".join(f"{n}: {number(s)}" for n, s in value.items()) or "not measured"
    return "not measured" if value is None else flat(value)


def perf_section(records: Sequence[Mapping[str, Any]]) -> list[str]:

    def dicts(record, key):
        value = record.get(key)
        return value if isinstance(value, Mapping) else {}

    rows: list[list[str]] = []

    def row(label: str, cell) -> None:
        rows.append([escape(label), *(escape(cell(r)) for r in records)])

    row("source", lambda r: str(r.get("source", "")))
    row("host load", host_load)
    row("outcomes", lambda r: flat(r.get("outcomes")))
    row("suite, workloads to last curve", lambda r: seconds(r.get("suite_s")))
    row("datapath phase", lambda r: seconds(r.get("datapath_s")))
    routes = _in_order([k for r in records for k in dicts(r, "ratios")], ROUTES)
    for route in routes:
        figures = _in_order([f for r in records for f in dicts(dicts(r, "ratios"), route)], FIGURES)
        for figure in figures:
            row(f"{ROUTES.get(route, route)}: {FIGURES.get(figure, figure)}, ratio",
                lambda r, route=route, figure=figure: _ratio(dicts(dicts(r, "ratios"), route).get(figure, "—")))
    groups = _in_order([g for r in records for g in dicts(r, "cost")], {"cni": "", "kube-proxy": ""})
    for group in groups:
        for window in _in_order([w for r in records for w in dicts(dicts(r, "cost"), group)], WINDOWS):
            label = "CNI's pods" if group == "cni" else group
            row(f"{label} {WINDOWS.get(window, window)} (CPU, peak memory incl. page cache, 3 nodes)",
                lambda r, group=group, window=window: _cost(dicts(dicts(r, "cost"), group).get(window, "—")))
    for curve in _in_order([c for r in records for c in dicts(r, "growth")], CURVES):
        row(f"Growth: {CURVES.get(curve, curve)}", lambda r, curve=curve: _curve(dicts(r, "growth").get(curve)))
    known = ("when", "source", "cni", "suite_s", "datapath_s", "host", "outcomes", "ratios", "cost", "growth")
    if any(extras(r, known) for r in records):
        row("other", lambda r: extras(r, known))
    head = ["figure", *(escape(f"{r.get('cni', '?')} ({str(r.get('when', ''))[:16]})") for r in records)]
    return table(head, rows)
