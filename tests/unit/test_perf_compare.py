"""The perf suite in the comparison: ratio rows with spread, cost figures, growth curves and plots."""
from __future__ import annotations

import copy

import pytest

from cnimatrix import versions
from cnimatrix.compare import perf, plots, render_html, render_md
from cnimatrix.compare.load import load_runs
from cnimatrix.compare.model import build, validate
from cnimatrix.compare.samples import write_samples
from cnimatrix.results.metrics import PerfMetrics

COMMIT = "a" * 40


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    write_samples(reports, COMMIT, versions.KUBERNETES)
    runs = load_runs(reports, ["flannel", "kindnet", "cilium"], kubernetes=versions.KUBERNETES, commit=COMMIT)
    return build(runs, kubernetes=versions.KUBERNETES, commit=COMMIT)


def test_ratio_rows_carry_spread_and_raw_medians(doc):
    rows = {(r["route"], r["figure"]): r for r in doc["perf"]["ratios"]}
    row = rows[("pod-cross-node", "tcp_1_gbps")]
    assert row["baseline"] == "host-cross-node" and row["better"] == "higher"
    # 0.72, 0.8, 0.96: mean 0.8267, s 0.1222, t(2 dof) 4.3027 -> half-width 0.3036, over the median 0.8: 0.3795
    assert row["values"]["flannel"] == {"median": 0.8, "min": 0.72, "max": 0.96, "n": 3,
                                        "ci95": {"low": 0.5231, "high": 1.1302, "relative_half_width": 0.3795}, "marks": []}
    assert row["raw"]["flannel"] == 1.6 and row["baseline_raw"]["flannel"] == 2.0
    assert row["values"]["cilium"] is None and row["raw"]["cilium"] is None   # no perf metrics in that run
    assert ("host-cross-node", "tcp_1_gbps") not in rows                        # a baseline has no ratio


def test_growth_curves_and_declared_gaps(doc):
    curves = {c["curve"]: c for c in doc["perf"]["growth"]}
    assert curves["service_backends"]["points"]["flannel"] == [{"n": 10, "s": 0.3}, {"n": 50, "s": 0.6}]
    policies = curves["network_policies"]
    assert policies["declared"] == {"flannel": "not-enforced", "kindnet": None, "cilium": None}
    assert policies["points"]["flannel"] == [] and policies["points"]["kindnet"] == [{"n": 10, "s": 1.1}]
    assert "namespaces" not in curves


def test_flat_figures_for_the_measurements_table(doc):
    rows = {m["key"]: m for m in doc["measurements"]}
    assert rows["perf.ratio.pod-cross-node.tcp_1_gbps"]["values"]["flannel"] == 0.8
    assert rows["perf.ratio.pod-cross-node.tcp_1_gbps"]["unit"] == "ratio"
    assert rows["perf.cost.cni.idle.cores"]["values"] == {"flannel": 0.04, "kindnet": 0.048, "cilium": None}
    assert rows["perf.cost.kube-proxy.idle.peak_mib"]["unit"] == "MiB"
    assert "perf.cost.kube-proxy.throughput.cores" not in rows
    assert rows["perf.growth.service_backends.50"]["values"]["kindnet"] == 0.72


def test_cost_groups_sum_the_cnis_components():
    window = {"pods": 3, "cores": 0.1, "cpu_s": 1.0, "peak_mib": 10.0}
    groups = perf.cost_groups(PerfMetrics.from_dict({"cost": {"idle": {
        "daemonset/a/b": window, "deployment/a/c": window, perf.KUBE_PROXY: window, "daemonset/x/unread": {**window, "pods": 0}}}}))
    assert groups["cni"]["idle"] == {"cores": 0.2, "cpu_s": 2.0, "peak_mib": 20.0}
    assert groups["kube-proxy"]["idle"]["cores"] == 0.1


def test_malformed_perf_metrics_are_ignored():
    """What a hand-made or older file may hold (current summaries are validated before they are read)."""
    broken = PerfMetrics.from_dict({"datapath": {"routes": {"pod-cross-node": {"ratios": {"tcp_1_gbps": {"median": "x"}}}}},
                                    "growth": {"namespaces": {"points": [{"n": "1", "s": 2}, None]}}, "cost": []})
    assert perf.figures(broken) == {}
    assert perf.section(["a", "b"], [broken, None]) == {"ratios": [], "growth": [], "service_count": []}


def test_well_formed_perf_metrics_give_figures():
    """The positive twin of the above: the same shapes with numbers in them are read."""
    good = PerfMetrics.from_dict({"datapath": {"routes": {"pod-cross-node": {"ratios": {"tcp_1_gbps": {"median": 0.8, "min": 0.7, "max": 0.9}}}}},
                                  "growth": {"namespaces": {"points": [{"n": 1, "s": 2}]}}})
    assert perf.figures(good)["perf.ratio.pod-cross-node.tcp_1_gbps"][3] == 0.8
    assert perf.figures(good)["perf.growth.namespaces.1"][3] == 2.0


def test_validation_wants_every_column_in_perf(doc):
    bad = copy.deepcopy(doc)
    bad["perf"]["ratios"][0]["raw"].pop("cilium")
    with pytest.raises(ValueError, match="perf ratio"):
        validate(bad)
    old = copy.deepcopy(doc)
    del old["perf"]                    # comparisons made before the perf suite stay valid
    validate(old)


def test_markdown_and_html_show_ratios_and_curves(doc):
    md = render_md.render(doc)
    section = md.split("### Performance against the host network")[1].split("### Measurements")[0]
    assert ("| Pod to pod across nodes: TCP throughput, 1 stream | hostNetwork pod to another node's IP | "
            "0.80 (0.72–0.96), n=3, 95% CI 0.52–1.13 (±38%); 1.6 vs 2 Gbit/s | ") in section
    assert "declared not-enforced" in section and "N=10: 0.3 s · N=50: 0.6 s" in section
    html = render_html.render(doc)
    assert 'data-perf-ratio="pod-cross-node.tcp_1_gbps"' in html and 'data-table="perf-growth"' in html
    assert html.index('id="measurements"') < html.index('id="perf"')


def test_line_chart_draws_one_line_per_series():
    svg = plots.line_chart("Growth", "N", "s", [("a", [(10, 1.0), (50, 2.0)]), ("b", [(10, 0.5)])], "c")
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 3
    assert 'data-series="a" data-x="50" data-value="2.0"' in svg
    assert "no data" in plots.line_chart("Growth", "N", "s", [], "empty")


def test_growth_plots_keep_each_columns_colour_and_say_why_a_line_is_missing(doc):
    charts = {svg.split('data-chart="')[1].split('"')[0]: svg for svg in plots.growth_charts(doc)}
    policies = charts["chart-growth-network_policies"]
    assert "flannel (declared not-enforced)" in policies and "cilium (not measured)" in policies
    assert f'fill="{plots.PALETTE[1]}" data-series="kindnet"' in policies   # kindnet is the second column
