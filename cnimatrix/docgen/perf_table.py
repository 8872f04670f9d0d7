"""The performance section of docs/measurements.md: one column per recorded run, one row per figure
(bench/perf_record.py writes ratios as [median, min, max] per route and figure, and since issue 30
their 95% intervals and plausibility marks). Runs made under the quiet-host protocol come first, in
their own table; the others follow as loaded runs. Every ratio shows its marks; a record made
before marks gets the ones its own numbers allow (a throughput ratio above 1.1: suspect; the host's
1-minute load above its cores at the start or end: noisy)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.compare.render_md import escape, table
from cnimatrix.docgen.figures import extras, finite_number, flat, host_load, number, seconds
from cnimatrix.perf.plausibility import NOISY, RATIO_CEILING, SUSPECT, THROUGHPUT_FIGURES

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


def _loaded_at_ends(record: Mapping[str, Any]) -> bool:
    """An old record's only load figures: the 1-minute load at the suite's start or end above the cores."""
    host = record.get("host") if isinstance(record.get("host"), Mapping) else {}
    cores = host.get("cpus")
    ends = [v[0] for v in (host.get("load_at_start"), host.get("load_at_end")) if isinstance(v, list) and v]
    return isinstance(cores, int) and any(finite_number(v) is not None and v > cores for v in ends)


def ratio_marks(record: Mapping[str, Any], route: str, figure: str) -> list[str]:
    """The marks a ratio carries: as recorded, or for a record made before marks, derived."""
    recorded = record.get("marks")
    if isinstance(recorded, Mapping):
        return list(((recorded.get(route) or {}).get(figure)) or ())
    found = []
    value = ((record.get("ratios") or {}).get(route) or {}).get(figure)
    if figure in THROUGHPUT_FIGURES and isinstance(value, list) and value and finite_number(value[0]) is not None \
            and value[0] > RATIO_CEILING:
        found.append(SUSPECT)
    if _loaded_at_ends(record):
        found.append(NOISY)
    return found


def _ratio(record: Mapping[str, Any], route: str, figure: str) -> str:
    value = ((record.get("ratios") or {}).get(route) or {}).get(figure, "—")
    if not (isinstance(value, list) and len(value) == 3):
        return flat(value)
    ci = ((record.get("ci95") or {}).get(route) or {}).get(figure)
    text = (f"{number(value[0])} [{number(ci[0])}–{number(ci[1])}]" if isinstance(ci, list) and len(ci) == 2
            else f"{number(value[0])} ({number(value[1])}–{number(value[2])})")
    marks = ratio_marks(record, route, figure)
    return f"{text} {', '.join(marks)}" if marks else text


def _datapath_load(record: Mapping[str, Any]) -> str:
    load = record.get("datapath_load")
    if not isinstance(load, Mapping) or not load.get("samples"):
        return "not recorded"
    limit = (f", above {number(load['limit'])} (cores + the measured pair) in "
             f"{number(100 * (load.get('above_limit_share') or 0))}%" if load.get("limit") else "")
    return (f"max {number(load.get('load_1m_max'))} on {load.get('cpus')} cores, above the cores in "
            f"{number(100 * (load.get('above_cores_share') or 0))}%{limit} of {load['samples']} samples")


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


QUIET_LEAD = ("Runs under the quiet-host protocol (bench/README.md): one cluster, nothing else on the host, the "
              "datapath phase not marked noisy. Ratio cells: median [95% interval] over the repetitions, then any "
              "plausibility mark; a ratio marked suspect is not a figure to decide on.")
LOADED_LEAD = ("Earlier runs on a loaded host (other clusters, builds): kept for the record, not for deciding. Ratio "
               "cells: median (min–max), or [95% interval] where recorded; marks derived where the record has none.")


def perf_section(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Quiet-host runs, then the loaded ones, each a table (a part with no runs is left out)."""
    quiet = [r for r in records if r.get("quiet_host") is True]
    loaded = [r for r in records if r.get("quiet_host") is not True]
    out: list[str] = []
    for lead, part in ((QUIET_LEAD, quiet), (LOADED_LEAD, loaded)):
        if part:
            out += [lead, "", *perf_table(part), ""]
    return out[:-1]


def perf_table(records: Sequence[Mapping[str, Any]]) -> list[str]:

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
    row("load through the datapath phase", _datapath_load)
    routes = _in_order([k for r in records for k in dicts(r, "ratios")], ROUTES)
    for route in routes:
        figures = _in_order([f for r in records for f in dicts(dicts(r, "ratios"), route)], FIGURES)
        for figure in figures:
            row(f"{ROUTES.get(route, route)}: {FIGURES.get(figure, figure)}, ratio",
                lambda r, route=route, figure=figure: _ratio(r, route, figure))
    groups = _in_order([g for r in records for g in dicts(r, "cost")], {"cni": "", "kube-proxy": ""})
    for group in groups:
        for window in _in_order([w for r in records for w in dicts(dicts(r, "cost"), group)], WINDOWS):
            label = "CNI's pods" if group == "cni" else group
            row(f"{label} {WINDOWS.get(window, window)} (CPU, peak memory incl. page cache, 3 nodes)",
                lambda r, group=group, window=window: _cost(dicts(dicts(r, "cost"), group).get(window, "—")))
    for curve in _in_order([c for r in records for c in dicts(r, "growth")], CURVES):
        row(f"Growth: {CURVES.get(curve, curve)}", lambda r, curve=curve: _curve(dicts(r, "growth").get(curve)))
    known = ("when", "source", "cni", "suite_s", "datapath_s", "host", "outcomes", "ratios", "cost", "growth",
             "ci95", "marks", "datapath_load", "quiet_host")
    if any(extras(r, known) for r in records):
        row("other", lambda r: extras(r, known))
    head = ["figure", *(escape(f"{r.get('cni', '?')} ({str(r.get('when', ''))[:16]})") for r in records)]
    return table(head, rows)
