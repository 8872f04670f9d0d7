"""metrics.timeline: where a run's time goes, from plain report durations (no pytest internals)."""
from __future__ import annotations

import re

import pytest

from cnimatrix.compare import model, render_html, render_md, samples, timeline as compare_timeline
from cnimatrix.compare.readback import read_page
from cnimatrix.results import validate
from cnimatrix.results.metrics import RunMetrics, Timeline
from cnimatrix.testkit.expect import settle
from cnimatrix.testkit.record import TestRecord
from cnimatrix.testkit.timeline import Recorder, Step, timeline
from tests.unit import realistic_summaries
from tests.unit.test_compare import COLUMNS, HEAD, K8S, compare

RUN = {"cluster_create": 30.0, "images_load": 10.0, "cni_ready": 20.0}


def seconds(tl: Timeline) -> dict[str, float]:
    return {p.name: p.seconds for p in tl.phases}


def test_a_setup_loses_the_run_phases_that_ran_inside_it():
    # the first test's set-up created the cluster (60 s of run phases) and spent 5 s on its own fixtures
    tl = timeline(RUN, [Step("podnet", "setup", 65.0, nested_s=60.0), Step("podnet", "call", 3.0)], 70.0)
    assert seconds(tl)["podnet: setup"] == 5.0
    assert tl.suites["podnet"].setup_s == 5.0


def test_a_call_splits_into_convergence_waits_and_checks():
    tl = timeline({}, [Step("netpol", "call", 10.0, waits_s=7.5, rounds=9), Step("netpol", "call", 4.0, waits_s=1.0, rounds=2)],
                  14.0)
    suite = tl.suites["netpol"]
    assert (suite.waits_s, suite.checks_s, suite.rounds) == (8.5, 5.5, 11)
    assert seconds(tl)["netpol: convergence waits"] == 8.5 and seconds(tl)["netpol: checks"] == 5.5


def test_waits_never_exceed_the_call_they_were_in():
    tl = timeline({}, [Step("dns", "call", 2.0, waits_s=2.4)], 2.0)
    assert (tl.suites["dns"].waits_s, tl.suites["dns"].checks_s) == (2.0, 0.0)


def test_phases_come_in_run_order_and_add_up_to_the_wall_time():
    run = {**RUN, "addons_ready": 40.0, "cluster_delete": 8.0}
    steps = [Step("podnet", "setup", 62.0, nested_s=60.0), Step("podnet", "call", 6.0, waits_s=4.0, rounds=4),
             Step("podnet", "teardown", 1.0),
             Step("ingress", "setup", 45.0, nested_s=40.0), Step("ingress", "call", 12.0, waits_s=9.0, rounds=12),
             Step("ingress", "teardown", 10.5, nested_s=8.0)]
    tl = timeline(run, steps, 200.0)
    assert [p.name for p in tl.phases] == [
        "cluster_create", "images_load", "cni_ready", "addons_ready",
        "podnet: setup", "podnet: convergence waits", "podnet: checks", "podnet: teardown",
        "ingress: setup", "ingress: convergence waits", "ingress: checks", "ingress: teardown",
        "cluster_delete", "other"]
    assert seconds(tl)["ingress: teardown"] == 2.5   # the cluster deletion is its own phase
    assert seconds(tl)["other"] == pytest.approx(200.0 - 100.0 - 8.0 - 2.0 - 4.0 - 2.0 - 1.0 - 5.0 - 9.0 - 3.0 - 2.5)
    assert sum(p.seconds for p in tl.phases) == pytest.approx(tl.total_s) and tl.total_s == 200.0


def test_phases_that_did_not_run_are_left_out_and_other_is_never_negative():
    tl = timeline({"cluster_create": None, "cni_ready": 5.0}, [Step("service", "call", 9.0)], 20.0)
    assert [p.name for p in tl.phases][:2] == ["cni_ready", "service: setup"]   # an existing cluster: none created
    assert seconds(tl)["other"] == 6.0
    over = timeline({"cni_ready": 5.0}, [Step("service", "call", 9.0)], 12.0)   # rounding: phases exceed the clock
    assert seconds(over)["other"] == 0.0 and over.total_s == 14.0
    assert sum(p.seconds for p in over.phases) == pytest.approx(over.total_s)


def test_the_recorder_attributes_each_run_phase_once_and_counts_waits_since_setup():
    timings: dict[str, float | None] = {}
    rec = Recorder()
    timings.update(cluster_create=30.0, cni_ready=20.0)              # created inside the first set-up
    assert rec.add("t1", "podnet", "setup", 52.0, timings, waits_s=1.0, rounds=1).nested_s == 50.0
    call = rec.add("t1", "podnet", "call", 5.0, timings, waits_s=4.0, rounds=5)
    assert (call.nested_s, call.waits_s, call.rounds) == (0.0, 3.0, 4)   # the set-up's wait stays in the set-up
    assert rec.add("t1", "podnet", "teardown", 0.5, timings).nested_s == 0.0
    timings["cluster_delete"] = 7.0                                   # deleted in the last test's teardown
    assert rec.add("t2", "dns", "teardown", 7.2, timings).nested_s == 7.0
    tl = timeline(timings, rec.steps, 100.0)
    assert tl.suites["podnet"].setup_s == 2.0 and tl.suites["dns"].teardown_s == pytest.approx(0.2)


def test_settle_counts_its_wall_time_and_rounds_on_the_record():
    record = TestRecord()
    seen = iter([False, True, True])
    settle(record, "thing", lambda: next(seen), lambda v: (v, "state"), timeout=5, stable=2, interval_s=0)
    assert record.rounds == 3 and 0 <= record.waits_s < 5


def test_the_timeline_record_round_trips_and_validates():
    tl = timeline(RUN, [Step("podnet", "setup", 62.0, nested_s=60.0), Step("podnet", "call", 3.0, waits_s=1.0, rounds=2)],
                  80.0)
    doc = tl.to_dict()
    assert list(doc) == ["total_s", "phases", "suites"] and doc["phases"][0] == {"name": "cluster_create", "seconds": 30.0}
    assert doc["suites"]["podnet"] == {"setup_s": 2.0, "waits_s": 1.0, "checks_s": 2.0, "teardown_s": 0.0, "rounds": 2}
    assert Timeline.from_dict(doc) == tl
    assert RunMetrics.from_dict({"timeline": doc}).timeline == tl
    summary = realistic_summaries.summaries()["calico"]
    validate({**summary, "metrics": {**summary["metrics"], "timeline": doc}})
    with pytest.raises(ValueError, match="timeline"):
        validate({**summary, "metrics": {**summary["metrics"], "timeline": {**doc, "phases": [{"name": "x"}]}}})


def test_a_summary_without_a_timeline_still_reads():
    summary = realistic_summaries.summaries()["flannel"]
    assert "timeline" not in summary["metrics"]
    validate(summary)
    assert RunMetrics.from_dict(summary["metrics"]).timeline is None


def test_phase_names_give_suite_and_part():
    tl = timeline(RUN, [Step("netpol", "call", 1.0)], 70.0)
    by_name = {p.name: p for p in tl.phases}
    assert (by_name["netpol: convergence waits"].suite, by_name["netpol: convergence waits"].part) == ("netpol", "convergence waits")
    assert (by_name["cluster_create"].suite, by_name["cluster_create"].part) == (None, "cluster_create")
    assert by_name["other"].suite is None


# --------------------------------------------------------------------------- the comparison


@pytest.fixture
def reports(tmp_path):
    samples.write_samples(tmp_path / "reports", HEAD, K8S)
    return tmp_path / "reports"


def test_the_comparison_draws_one_bar_per_cni_with_a_timeline_and_says_not_recorded_without(reports):
    flannel = samples.write_timeline(reports, "flannel")
    samples.write_timeline(reports, "kindnet", pace=1.5)
    doc = compare(reports)
    entries = {e["column"]: e for e in doc["timeline"]}
    assert list(entries) == COLUMNS
    assert entries["flannel"]["recorded"] and entries["flannel"]["total_s"] == flannel["total_s"] == 310.0
    assert entries["flannel"]["phases"] == flannel["phases"] and entries["flannel"]["rounds"]["netpol"] == 48
    assert [c for c, e in entries.items() if not e["recorded"]] == ["cilium", "flannel-v0.27", "calico"]
    html = render_html.render(doc)
    page = read_page(html)
    assert "chart-timeline" in page.chart_ids
    assert list(page.timeline_bars) == ["flannel", "kindnet"]
    assert page.timeline_bars["flannel"] == [(p["name"], str(p["seconds"])) for p in flannel["phases"]]
    assert page.timeline_not_recorded == ["cilium", "flannel-v0.27", "calico"]
    bar = html.split('data-timeline-cni="kindnet"')[1].split("</g>")[0]
    fills = dict(re.findall(r'fill="(#[0-9a-f]{6})" data-phase="([^"]+)"', bar))
    assert {v: k for k, v in fills.items()}["netpol: convergence waits"] == compare_timeline.colour("netpol: convergence waits")
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="18"', bar)]
    flannel_widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="18"',
                                                   html.split('data-timeline-cni="flannel"')[1].split("</g>")[0])]
    assert sum(widths) > sum(flannel_widths)   # one scale: the slower run draws the longer bar
    assert "5 min 10 s" in html   # flannel's total at the end of its bar
    md = render_md.render(doc)
    assert "### Where the time goes" in md
    total = next(line for line in md.splitlines() if line.startswith("| **Total**"))
    assert total == "| **Total** (s) | 310 | 370 | not recorded | not recorded | not recorded |"
    assert any(line.startswith("| netpol: convergence waits (s) | 25 | 37.5 |") for line in md.splitlines())
    assert any(line.startswith("| netpol: probe rounds | 48 | 48 |") for line in md.splitlines())


def test_no_timeline_anywhere_leaves_the_comparison_as_it_was(reports):
    doc = compare(reports)
    assert "timeline" not in doc
    html, md = render_html.render(doc), render_md.render(doc)
    assert "Where the time goes" not in html and "Where the time goes" not in md
    page = read_page(html)
    assert "chart-timeline" not in page.chart_ids and page.timeline_bars == {} and page.timeline_not_recorded == []


def test_phases_keep_their_colour_across_cnis_and_suites_differ():
    assert compare_timeline.colour("netpol: checks") != compare_timeline.colour("service: checks")
    assert compare_timeline.colour("netpol: setup") != compare_timeline.colour("netpol: convergence waits")
    assert compare_timeline.colour("cluster_create") == compare_timeline.RUN_COLOURS["cluster_create"]
    assert compare_timeline.colour("something new") == compare_timeline.UNKNOWN_COLOUR


def test_timeline_entries_must_follow_the_columns(reports):
    samples.write_timeline(reports, "flannel")
    doc = compare(reports)
    doc["timeline"] = doc["timeline"][::-1]
    with pytest.raises(ValueError, match="timeline entries do not follow the columns"):
        model.validate(doc)


def test_background_work_shows_as_rows_and_a_strip_under_its_bar_only_where_it_ran(reports):
    from cnimatrix.results import read_summary, write_summary
    samples.write_timeline(reports, "flannel")
    samples.write_timeline(reports, "kindnet")
    path = reports / "flannel" / "summary.json"
    doc = read_summary(path)
    doc["metrics"]["timeline"]["background"] = [{"name": "netpol: policy cases", "started_s": 40.0, "seconds": 120.0}]
    write_summary(path, doc)
    comparison = compare(reports)
    entries = {e["column"]: e for e in comparison["timeline"]}
    assert entries["flannel"]["background"] == [{"name": "netpol: policy cases", "started_s": 40.0, "seconds": 120.0}]
    assert entries["kindnet"]["background"] == []
    html = render_html.render(comparison)
    strip = lambda cni: re.findall(r'data-background="([^"]+)"', html.split(f'data-timeline-cni="{cni}"')[1].split("</g>")[0])
    assert strip("flannel") == ["netpol: policy cases"] and strip("kindnet") == []
    md = render_md.render(comparison)
    assert any(line.startswith("| beside the tests: netpol: policy cases (s) | 120 | — |") for line in md.splitlines())
