"""The Service-count curve's pure parts: the step plan, the objects for N Services, progress, the
connection figures and the records, and how the comparison shows them."""
from __future__ import annotations

import pytest
import yaml

from cnimatrix.compare import plots, present
from cnimatrix.compare.perf import service_count_rows
from cnimatrix.perf.datapath import LoopRun
from cnimatrix.perf.growth import steps_for
from cnimatrix.perf.service_count import (CURVE, CountPoint, Step, address_type, connection_figures, count_record,
                                          filler_name, growth_record, named, plan, progress_due, progress_line, timed_name)
from cnimatrix.results.metrics import PerfMetrics, PerfTestMetrics, ServiceCount
from fixtures.workloads import render


def template(address: str = "10.244.2.7") -> list[dict]:
    text = render("perf/count-service", name="template", address=address, address_type=address_type(address))
    return [d for d in yaml.safe_load_all(text) if d]


def test_steps_default_to_the_issues_and_come_from_the_environment():
    assert steps_for(CURVE, {}) == (100, 1000, 5000)
    assert steps_for(CURVE, {"CNIMATRIX_PERF_SERVICES": "10,50"}) == (10, 50)


def test_plan_makes_each_step_n_services_counting_the_earlier_ones():
    steps = plan((100, 1000, 5000))
    assert steps == [Step(100, range(0, 99)), Step(1000, range(99, 998)), Step(5000, range(998, 4997))]
    # 4997 fillers and one timed Service per step: 5000 in all, every filler index once
    assert sum(len(s.fillers) for s in steps) + len(steps) == 5000
    assert plan((1, 2)) == [Step(1, range(0, 0)), Step(2, range(0, 0))]   # nothing to fill: only the timed ones


def test_plan_refuses_steps_that_do_not_grow():
    with pytest.raises(ValueError, match="steps must increase: 100 after 100"):
        plan((100, 100))


def test_named_copies_the_template_per_service():
    docs = template()
    service, endpoints = named(docs, filler_name(42))
    assert service["metadata"]["name"] == "filler-00042" and "selector" not in service["spec"]
    assert "clusterIP" not in service["spec"]                     # the API server picks one
    assert service["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]
    assert endpoints["metadata"]["name"] == "filler-00042-1"
    assert endpoints["metadata"]["labels"]["kubernetes.io/service-name"] == "filler-00042"
    assert endpoints["addressType"] == "IPv4" and endpoints["endpoints"][0]["addresses"] == ["10.244.2.7"]
    assert endpoints["ports"][0]["name"] == service["spec"]["ports"][0]["name"]   # the slice serves the Service's port
    timed, _ = named(docs, timed_name(5000), "10.96.255.250")
    assert timed["spec"]["clusterIP"] == "10.96.255.250" and timed["metadata"]["name"] == "timed-5000"
    assert docs[0]["metadata"]["name"] == "template"              # the template itself is left as rendered


def test_an_ipv6_pod_gets_an_ipv6_slice():
    _, endpoints = named(template("fd00:10:244::7"), "x")
    assert endpoints["addressType"] == "IPv6" and address_type("10.0.0.1") == "IPv4"


def test_progress_is_said_every_tenth_and_at_the_end():
    assert progress_due(500, 4999, 0) and not progress_due(400, 4999, 0)
    assert progress_due(4999, 4999, 4500) and not progress_due(4999, 4999, 4999)
    assert progress_due(1, 3, 0)     # a short batch: every one
    assert progress_line("Services created", 500, 4999, 10.0) == "[perf] service count: Services created 500/4999 (10 s, 50/s)"
    assert progress_line("Services created", 0, 10, 0.0) == "[perf] service count: Services created 0/10 (0 s)"


def test_connection_figures_spread_over_the_runs_that_gave_one():
    runs = [LoopRun([100, 200, 300], 0.001), None, LoopRun([300, 400, 500], 0.002)]
    found = connection_figures(runs)
    assert found["crr_p50_us"]["values"] == [200.0, 400.0] and found["crr_p50_us"]["n"] == 2
    assert found["crr_per_s"]["values"] == [3000.0, 1500.0] and "ci95" in found["crr_per_s"]
    assert connection_figures([None, LoopRun([], 1.0)]) == {}


def point(n: int, seconds: float | None, p50: float = 300.0) -> CountPoint:
    figures = connection_figures([LoopRun([int(p50)] * 3, 0.001), LoopRun([int(p50) + 20] * 3, 0.001)])
    return CountPoint(n, programmed_s=seconds, setup_s=5.0, created=max(n - 1, 0), service=figures, pod=figures)


def test_records_fit_their_declared_shapes():
    points = [point(0, None), point(100, 0.8), CountPoint(1000, setup_s=40.0, created=899, problem="never answered")]
    doc = count_record(points, (100, 1000), runs=3, teardown_s=12.5)
    assert [p["n"] for p in doc["points"]] == [0, 100, 1000] and doc["points"][2]["problem"] == "never answered"
    typed = ServiceCount.from_dict(doc).to_dict()   # a field of another shape than declared would read as None
    assert len(typed["points"]) == 3 and typed["points"][1] == doc["points"][1] and typed["teardown_s"] == 12.5
    growth = growth_record(points[1:], service_cidr="10.96.0.0/16")
    assert growth["points"] == [{"n": 100, "s": 0.8, "setup_s": 5.0},
                                {"n": 1000, "s": None, "setup_s": 40.0, "problem": "never answered"}]
    perf = PerfMetrics.from_dict({"service_count": doc, "growth": {"service_count": growth}})
    assert perf.service_count.points[1].service["crr_p50_us"].median == 310.0
    assert PerfTestMetrics.from_dict({**growth, "service_count": doc}).service_count.teardown_s == 12.5


def test_comparison_rows_and_charts_follow_the_columns():
    perfs = [PerfMetrics.from_dict({"service_count": count_record([point(0, None), point(100, 0.8, 500.0)], (100,))}),
             PerfMetrics()]
    rows = service_count_rows(["calico", "cilium"], perfs)
    assert [(r["path"], r["figure"]) for r in rows] == [(p, f) for p in ("service", "pod")
                                                        for f in ("crr_p50_us", "crr_p99_us", "crr_per_s")]
    p50 = rows[0]
    assert p50["points"]["cilium"] == [] and [p["n"] for p in p50["points"]["calico"]] == [0, 100]
    assert p50["points"]["calico"][1]["median"] == 510.0 and p50["points"]["calico"][1]["low"] is not None
    doc = {"columns": ["calico", "cilium"], "perf": {"service_count": rows}}
    table = dict(present.service_count_rows(doc))
    cells = table["TCP connect/request/response latency p50, through one ClusterIP"]
    assert cells[0].startswith("N=0: 310 µs (") and " · N=100: 510 µs (" in cells[0] and cells[1] == "—"
    charts = plots.service_count_charts(doc)
    assert len(charts) == 3                       # the ClusterIP path only; the pod path is in the table
    assert "cilium (not measured)" in charts[0] and 'data-series="calico" data-x="100" data-value="510.0"' in charts[0]


def test_no_service_count_rows_without_the_curve():
    assert service_count_rows(["calico"], [PerfMetrics()]) == []
    assert present.service_count_rows({"columns": ["calico"], "perf": {"ratios": [], "growth": []}}) == []
