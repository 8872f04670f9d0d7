"""bench/run_record.py: one line per run for bench/results/runs.jsonl, from a realistic summary."""
import importlib.util
import json
from pathlib import Path

from tests.unit.realistic_summaries import summaries

SPEC = importlib.util.spec_from_file_location("run_record", Path(__file__).resolve().parents[2] / "bench" / "run_record.py")
run_record = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(run_record)


def test_line_carries_the_cni_time_per_suite_and_verdicts():
    got = run_record.line(summaries()["calico"], "make conformance")
    assert got["cni"] == "calico" and got["run_status"] == "completed" and got["source"] == "make conformance"
    assert got["wall_s"] == 2467.0 and sum(got["phases_s"].values()) == 2467.0
    assert got["suites_s"] and all(seconds > 0 for seconds in got["suites_s"].values())
    assert sum(got["outcomes"].values()) == len(summaries()["calico"]["tests"])
    json.dumps(got)


def test_failed_and_flaky_scenarios_are_named():
    summary = summaries()["calico"]
    for test in summary["tests"]:
        test.update(outcome="passed", flaky=False)
    summary["tests"][0].update(outcome="failed")
    summary["tests"][1].update(flaky=True)
    got = run_record.line(summary, "x")
    assert got["failed"] == [summary["tests"][0]["id"].split("::", 1)[-1]]
    assert got["flaky"] == [summary["tests"][1]["id"].split("::", 1)[-1]]


def test_line_carries_the_shape_when_the_summary_has_one():
    summary = dict(summaries()["calico"])
    assert run_record.line(summary, "x")["shape"] is None           # made before shapes were recorded
    summary["shape"] = {"ip_family": "ipv4", "proxy_mode": "nftables", "untested": [{"axis": "proxy_mode"}]}
    assert run_record.line(summary, "x")["shape"] == {"ip_family": "ipv4", "proxy_mode": "nftables"}
