"""The comparison document (comparison.json): runs lined up scenario by scenario.

Everything the Markdown and HTML pages show is in this document, so they can be re-rendered
from it alone, and `comparison.schema.json` (next to this module) pins its shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from cnimatrix.compare import day2, perf, soak, tiers, timeline
from cnimatrix.compare.load import Run
from cnimatrix.results import SUITES, UNKNOWN_COMMIT, raise_first_schema_error, rfc3339
from cnimatrix.results.figures import elapsed_s, finite_number
from cnimatrix.results.metrics import HostLoad, LatencySummary, LiveUpdate, NetpolMetrics, PerfMetrics, TestMetrics
from cnimatrix.results.text import one_line as _one_line

COMPARISON_VERSION = 1
# One status per cell. flaky is a pass that needed retries; not-supported is a declared gap
# (outcome skipped); not-enforced a declared gap confirmed by the test; not-run means no result.
CELL_STATUSES = ("passed", "flaky", "failed", "not-supported", "not-enforced", "error", "not-run")
_FROM_OUTCOME = {"passed": "passed", "failed": "failed", "skipped": "not-supported", "error": "error",
                 "not-enforced": "not-enforced", "not-run": "not-run"}
NO_RESULTS = "no results"
MISSING_IN_SUMMARY = "not in this CNI's summary"
REASON_LIMIT = 300

__all__ = ["CELL_STATUSES", "COMPARISON_VERSION", "build", "one_line", "schema", "validate"]


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    """The first non-blank line of `text`, whitespace collapsed, cut to `limit` characters."""
    return _one_line(text, limit)


# --------------------------------------------------------------------------- cells


def cell(test: Mapping[str, Any] | None, run: Run) -> dict[str, Any]:
    """One CNI's verdict on one scenario."""
    if not run.has_results:
        return {"status": "not-run", "reason": NO_RESULTS, "declared": None, "flags": []}
    if test is None:  # a run that stopped early (or never started) says why
        ended = run.doc.get("run", {})
        why = one_line(ended.get("reason", "")) if ended.get("status", "completed") != "completed" else ""
        return {"status": "not-run", "reason": why or MISSING_IN_SUMMARY, "declared": None, "flags": []}
    status = _FROM_OUTCOME[test["outcome"]]
    if status == "passed" and test["flaky"]:
        status = "flaky"
    reason = one_line(test["message"])
    if status == "not-run" and not reason:
        reason = one_line(run.doc.get("run", {}).get("reason", "")) or "not run"
    declared = test.get("declared")
    if declared is not None:
        declared = {**declared, "evidence": " ".join(declared["evidence"].split())}
    cell_doc = {"status": status, "reason": reason, "declared": declared, "flags": list(test.get("flags", []))}
    if test.get("known_issue") and status in ("failed", "error"):
        cell_doc["known_issue"] = dict(test["known_issue"])
    evidence = run.evidence.get(test["id"])
    if evidence is not None and status in ("failed", "error"):
        cell_doc["evidence"] = evidence.to_dict()
    return cell_doc


# --------------------------------------------------------------------------- headers


def header(run: Run) -> dict[str, Any]:
    """What one column ran on, how the run ended and whether it is still current."""
    doc = run.doc
    if doc is None:
        return {
            "column": run.column, "has_results": False, "summary": None, "schema_version": None,
            "cni": {"name": run.column, "version": None}, "kubernetes_version": None, "kind_version": None,
            "node_image": None, "offline": None, "started_at": None, "finished_at": None, "run_time_s": None,
            "run": {"status": "no-results", "reason": NO_RESULTS}, "cnimatrix_commit": None,
            "stale": None, "stale_reasons": [], "shape": None,
        }
    unrecorded = f"summary format v{doc['schema_version']} does not record how the run ended"
    run_info = doc.get("run") or {"status": "unrecorded", "reason": unrecorded}
    return {
        "column": run.column, "has_results": True, "summary": str(run.path), "schema_version": doc["schema_version"],
        "cni": dict(doc["cni"]), "kubernetes_version": doc["kubernetes_version"], "kind_version": doc["kind_version"],
        "node_image": doc["node_image"], "offline": doc["offline"], "started_at": doc["started_at"],
        "finished_at": doc["finished_at"], "run_time_s": elapsed_s(doc["started_at"], doc["finished_at"]),
        "run": {"status": run_info["status"], "reason": one_line(run_info["reason"])},
        "cnimatrix_commit": doc.get("cnimatrix_commit"), "stale": run.stale, "stale_reasons": list(run.stale_reasons),
        "shape": doc.get("shape"),   # None: a summary made before shapes
    }


# --------------------------------------------------------------------------- scenarios


def _scenarios(runs: Sequence[Run]) -> list[dict[str, Any]]:
    by_run = [{t["id"]: t for t in run.doc["tests"]} if run.doc else {} for run in runs]
    first: dict[str, Mapping[str, Any]] = {}
    for tests in by_run:
        for test_id, test in tests.items():
            first.setdefault(test_id, test)
    rows = []
    for test_id, test in first.items():
        cells = {run.column: cell(tests.get(test_id), run) for run, tests in zip(runs, by_run)}
        judged = {c["status"] for c in cells.values() if c["status"] != "not-run"}
        rows.append({"id": test_id, "suite": test["suite"], "title": test["title"],
                     "disagree": len(judged) > 1, "cells": cells})
    rows.sort(key=lambda row: (SUITES.index(row["suite"]), row["id"]))
    return rows


def _totals(scenarios: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, dict[str, int]]:
    totals = {column: {**dict.fromkeys(CELL_STATUSES, 0), "total": 0} for column in columns}
    for row in scenarios:
        for column, verdict in row["cells"].items():
            totals[column][verdict["status"]] += 1
            totals[column]["total"] += 1
    return totals


# --------------------------------------------------------------------------- measurements


# key -> (group, label, unit): rows every comparison has, null where a run lacks the figure
STANDARD_MEASUREMENTS = {
    "cluster.create_to_ready_s": ("cluster", "Cluster create-to-Ready", "s"),
    "cluster.create_s": ("cluster", "Cluster create", "s"),
    "cluster.cni_ready_s": ("cluster", "CNI ready after create", "s"),
    "dns.latency_p50_ms": ("dns", "DNS latency p50", "ms"),
    "dns.latency_p99_ms": ("dns", "DNS latency p99", "ms"),
    # How loaded the host was: timing-sensitive outcomes of a run on a starved host are suspect.
    "host.load_1m_mean": ("run conditions", "Host load (1 min average) during the run, mean", "load"),
    "host.load_1m_max": ("run conditions", "Host load (1 min average) during the run, max", "load"),
    "host.overloaded_share": ("run conditions", "Share of the run with the host overloaded (load > 4 per core)", "share"),
}


# metrics.netpol.live_update (the 100 ms watch of live policy changes): figure -> label; p50 and max
LIVE_UPDATE_FIGURES = {
    "first_flip_s": "first watched pair flipped",
    "all_flipped_s": "every watched pair flipped",
    "matrix_converged_s": "whole matrix converged",
}


def _live_update_figures(live: LiveUpdate | None) -> dict[str, tuple[str, str, str, float | None]]:
    figures = {}
    for key, label in LIVE_UPDATE_FIGURES.items():
        stats = getattr(live, key) if live else None
        for stat in ("p50", "max"):
            value = getattr(stats, stat) if stats else None
            if value is not None:
                figures[f"netpol.live_update.{key}.{stat}"] = (
                    "time-to-effect", f"NetworkPolicy live update, {label}: {stat}", "s", value)
    return figures


def _time_to_effect_figures(summary: LatencySummary | None) -> dict[str, tuple[str, str, str, float | None]]:
    """metrics.netpol.time_to_effect_s: one row per statistic of the latency summary."""
    return {f"netpol.time_to_effect_s.{stat}": ("time-to-effect", f"NetworkPolicy time-to-effect: {stat}", "s", float(value))
            for stat, value in sorted((summary.to_dict() if summary else {}).items())}


def _run_figures(run: Run) -> dict[str, tuple[str, str, str, float | None]]:
    """key -> (group, label, unit, value) for every figure one summary offers."""
    doc, metrics = run.doc, run.metrics
    timings = doc["timings_s"]
    create, ready = finite_number(timings.get("cluster_create")), finite_number(timings.get("cni_ready"))
    latency = (metrics.dns.latency_ms if metrics.dns else None) or LatencySummary()
    host = metrics.host or HostLoad()
    values = {
        "cluster.create_to_ready_s": round(create + ready, 3) if create is not None and ready is not None else None,
        "cluster.create_s": create,
        "cluster.cni_ready_s": ready,
        "dns.latency_p50_ms": latency.p50,
        "dns.latency_p99_ms": latency.p99,
        "host.load_1m_mean": host.load_1m_mean,
        "host.load_1m_max": host.load_1m_max,
        "host.overloaded_share": host.overloaded_share,
    }
    figures = {key: (*STANDARD_MEASUREMENTS[key], value) for key, value in values.items()}
    netpol = metrics.netpol or NetpolMetrics()
    figures.update(_time_to_effect_figures(netpol.time_to_effect_s))
    figures.update(_live_update_figures(netpol.live_update))
    figures.update(perf.figures(metrics.perf or PerfMetrics()))
    for test in doc["tests"]:
        for name, seconds in sorted((TestMetrics.from_dict(test.get("metrics")).settle_s or {}).items()):
            figures[f"settle:{test['id']}:{name}"] = ("time-to-effect", f"{test['title']}: {name}", "s", seconds)
    return figures


def _measurements(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per figure (the standard ones first), one value per column, null where missing."""
    def row(key: str, group: str, label: str, unit: str) -> dict[str, Any]:
        return {"key": key, "group": group, "label": label, "unit": unit,
                "values": dict.fromkeys(run.column for run in runs)}

    rows = {key: row(key, *meta) for key, meta in STANDARD_MEASUREMENTS.items()}
    extra: dict[str, dict[str, Any]] = {}
    for run in runs:
        for key, (group, label, unit, value) in (_run_figures(run) if run.doc else {}).items():
            target = rows.get(key) or extra.setdefault(key, row(key, group, label, unit))
            target["values"][run.column] = value
    return [*rows.values(), *(extra[key] for key in sorted(extra))]


# --------------------------------------------------------------------------- document


def build(runs: Sequence[Run], *, kubernetes: str, commit: str = UNKNOWN_COMMIT,
          generated_at: str | None = None) -> dict[str, Any]:
    """The comparison of `runs` (in column order), validated against comparison.schema.json."""
    columns = [run.column for run in runs]
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate columns: {', '.join(columns)}")
    scenarios = _scenarios(runs)
    doc = {
        "comparison_version": COMPARISON_VERSION,
        "generated_at": generated_at or rfc3339(),
        "reference": {"kubernetes_version": kubernetes, "cnimatrix_commit": commit},
        "columns": columns,
        "cnis": [header(run) for run in runs],
        "disagreements": [row["id"] for row in scenarios if row["disagree"]],
        "suites": [
            {"name": suite, "scenarios": rows, "totals": _totals(rows, columns)}
            for suite in SUITES
            for rows in [[row for row in scenarios if row["suite"] == suite]]
        ],
        "measurements": _measurements(runs),
        "perf": perf.section(columns, [run.metrics.perf for run in runs]),
        "soak": soak.section(columns, [run.soak for run in runs]),
    }
    timelines = timeline.section(columns, [run.metrics.timeline for run in runs])
    if timelines is not None:  # absent when no run recorded one: older comparisons stay as they were
        doc["timeline"] = timelines
    day2_rows = day2.section(columns, [run.metrics.day2 for run in runs])
    if day2_rows is not None:   # likewise: absent when no run had the day-2 suite
        doc["day2"] = day2_rows
    cluster_policy = tiers.section(columns, [(run.doc or {}).get("tests") for run in runs])
    if cluster_policy is not None:   # likewise: absent when no run had cluster-wide policy cases
        doc["cluster_policy"] = cluster_policy
    validate(doc)
    return doc


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("comparison.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def validate(doc: Mapping[str, Any]) -> None:
    """Raise ValueError unless `doc` is a consistent comparison (schema, then cross-references)."""
    raise_first_schema_error(_validator(), doc, "comparison")
    columns = list(doc["columns"])
    if [h["column"] for h in doc["cnis"]] != columns:
        raise ValueError("invalid comparison: cnis headers do not follow the columns")
    rows = {row["id"]: row for suite in doc["suites"] for row in suite["scenarios"]}
    for suite in doc["suites"]:
        for row in suite["scenarios"]:
            if row["suite"] != suite["name"] or list(row["cells"]) != columns:
                raise ValueError(f"invalid comparison: scenario {row['id']} is misplaced or lacks cells")
        if suite["totals"] != _totals(suite["scenarios"], columns):
            raise ValueError(f"invalid comparison: totals of suite {suite['name']} do not match its cells")
    if doc["disagreements"] != [i for i, row in rows.items() if row["disagree"]]:
        raise ValueError("invalid comparison: disagreements do not match the scenarios")
    for row in doc["measurements"]:
        if list(row["values"]) != columns:
            raise ValueError(f"invalid comparison: measurement {row['key']} lacks columns")
    perf_doc = doc.get("perf") or {"ratios": [], "growth": []}
    for row in perf_doc["ratios"]:
        if any(list(row[part]) != columns for part in ("values", "raw", "baseline_raw")):
            raise ValueError(f"invalid comparison: perf ratio {row['route']}/{row['figure']} lacks columns")
        ranking = row.get("ranking") or {"faster": [], "no_difference": [], "unranked": {}}
        if not {c for pair in ranking["faster"] + ranking["no_difference"] for c in pair} | set(ranking["unranked"]) <= set(columns):
            raise ValueError(f"invalid comparison: perf ratio {row['route']}/{row['figure']} ranks a column it does not have")
    if "soak" in doc and [e["column"] for e in doc["soak"]] != columns:
        raise ValueError("invalid comparison: soak entries do not follow the columns")
    if "timeline" in doc and [e["column"] for e in doc["timeline"]] != columns:
        raise ValueError("invalid comparison: timeline entries do not follow the columns")
    if "cluster_policy" in doc and [e["column"] for e in doc["cluster_policy"]] != columns:
        raise ValueError("invalid comparison: cluster_policy entries do not follow the columns")
    for curve in perf_doc["growth"]:
        if list(curve["points"]) != columns or list(curve["declared"]) != columns:
            raise ValueError(f"invalid comparison: perf curve {curve['curve']} lacks columns")
    for row in perf_doc.get("service_count", []):
        if list(row["points"]) != columns:
            raise ValueError(f"invalid comparison: service count {row['path']}/{row['figure']} lacks columns")
