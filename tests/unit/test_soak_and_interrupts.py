"""The pure parts of tools/soak.py (the tally of repeated runs) and tools/interrupts.py (schedule,
leaks, the verdict on one interrupt)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"tools_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


soak = load("soak")
interrupts = load("interrupts")


def result(id_, outcome, flaky=False, message="", suite="dns"):
    return {"id": id_, "suite": suite, "title": id_.upper(), "outcome": outcome, "flaky": flaky, "message": message}


def summary(*tests, status="completed"):
    return {"tests": list(tests), "run": {"status": status, "reason": ""}, "counts": {"passed": 1}}


# --------------------------------------------------------------------------- soak


def test_tally_counts_passes_flaky_passes_failures_and_skips_per_scenario():
    runs = [summary(result("a", "passed"), result("b", "passed", flaky=True), result("c", "skipped")),
            summary(result("a", "failed", message="timeout\nmore"), result("b", "passed"), result("c", "not-enforced")),
            summary(result("a", "error", message="timeout"), result("b", "not-run"), result("c", "skipped"))]
    doc = soak.tally(runs)
    a, b, c = (doc["scenarios"][k] for k in "abc")
    assert (a["runs"], a["passed"], a["failed"], a["failures"]) == (3, 1, 2, [{"run": 2, "message": "timeout"}])
    assert (b["passed"], b["flaky"], b["not_run"]) == (1, 1, 1)
    assert c["skipped"] == 3 and c["failed"] == 0
    assert doc["totals"] == {"passed": 2, "flaky": 1, "failed": 2, "skipped": 3, "not_run": 1}
    assert doc["flaky_scenarios"] == ["b"] and doc["failing_scenarios"] == ["a"]


def test_tally_keeps_three_distinct_failure_lines():
    runs = [summary(result("a", "failed", message=f"reason {i % 5}")) for i in range(10)]
    assert [f["message"] for f in soak.tally(runs)["scenarios"]["a"]["failures"]] == ["reason 0", "reason 1", "reason 2"]


def test_a_run_without_summary_is_reported_as_such():
    assert soak.run_line(3, None, 2, 1.23) == {"run": 3, "exit": 2, "seconds": 1.2, "status": "no summary"}
    line = soak.run_line(1, summary(result("a", "passed")), 0, 60.0)
    assert line["status"] == "completed" and line["counts"] == {"passed": 1}
    assert line["host_load_1m"] == [None, None]
    loaded = summary(result("a", "passed")) | {"metrics": {"host": {"load_1m_mean": 13.1, "load_1m_max": 16.9}}}
    assert soak.run_line(2, loaded, 0, 60.0)["host_load_1m"] == [13.1, 16.9]


def test_report_has_the_runs_and_the_tally():
    doc = soak.report("calico", "cnimatrix-soak-calico", 20, [{"run": 1}], [summary(result("a", "passed"))], "t0", "SIGINT")
    assert doc["runs_planned"] == 20 and doc["runs_done"] == 1 and doc["stopped_by"] == "SIGINT"
    assert doc["totals"]["passed"] == 1
    assert doc["concurrency"] is None   # each run's own default


def test_a_soak_at_a_given_concurrency_says_so_and_still_reads():
    from cnimatrix.results.soak import problem
    doc = soak.report("calico", "c", 5, [], [summary(result("a", "passed"))], "t0", None, concurrency=1)
    assert doc["concurrency"] == 1 and problem(doc) is None
    assert problem({**doc, "concurrency": 0}) is not None


# --------------------------------------------------------------------------- interrupts


def test_schedule_is_reproducible_alternates_signals_and_stays_in_range():
    first = interrupts.schedule(6, seed=7, min_s=3, max_s=240)
    assert first == interrupts.schedule(6, seed=7, min_s=3, max_s=240)
    assert [s for s, _ in first] == ["SIGINT", "SIGTERM"] * 3
    assert all(3 <= d <= 240 for _, d in first)


def snap(cluster=False, helpers=(), record=False, rule=False, others=0):
    return interrupts.Snapshot(cluster=cluster, helpers=tuple(helpers), record=record, rule=rule, others_on_network=others)


def test_leaks_name_what_is_left_and_spare_a_rule_other_clusters_share():
    assert interrupts.leaks(snap()) == []
    assert interrupts.leaks(snap(cluster=True, helpers=["x-outside-client"], record=True, rule=True)) == [
        "cluster", "helper x-outside-client", "run record", "firewall rule"]
    assert interrupts.leaks(snap(rule=True, others=3)) == []


@pytest.mark.parametrize("signal_name, code, stop_s, summary_doc, started, leaked, problems", [
    ("SIGINT", 130, 4.0, {"run": {"status": "interrupted"}}, True, [], []),
    ("SIGTERM", 143, 2.0, None, False, [], []),  # stopped before pytest started: no summary is due
    ("SIGTERM", 1, 2.0, {"run": {"status": "interrupted"}}, True, [], ["exit 1, not 143"]),
    ("SIGINT", None, None, None, True, ["cluster"], ["did not stop within 90 s", "no summary.json", "left cluster"]),
    ("SIGINT", 130, 3.0, {"run": {"status": "completed"}}, True, [], ["summary says completed, not interrupted"]),
])
def test_verdict(signal_name, code, stop_s, summary_doc, started, leaked, problems):
    assert interrupts.verdict(signal_name, code, stop_s, 90, summary_doc, started, leaked) == problems


def test_last_progress_line():
    text = ("cnimatrix: running service suite(s) on flannel\n[cluster] creating x\n • Joining worker nodes  ...\nnoise\n"
            "cnimatrix: SIGTERM: stopping, deleting the cluster and writing the results ...\n[cluster] deleting cluster x\n")
    assert interrupts.last_progress(text) == "• Joining worker nodes  ..."
    assert interrupts.last_progress("cnimatrix: stopped by SIGINT before the suites started") == "preflight"
