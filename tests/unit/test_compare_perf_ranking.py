"""Ranking perf ratios across CNIs (cnimatrix.compare.ranking) only where the 95% intervals allow,
marked ratios greyed and unranked, and summaries or comparisons made before intervals."""
from __future__ import annotations

import copy

import pytest

from cnimatrix import versions
from cnimatrix.compare import render_html, render_md
from cnimatrix.compare.load import load_runs
from cnimatrix.compare.model import build, validate
from cnimatrix.compare.ranking import NO_DIFFERENCE, NO_INTERVAL, rank, unranked_reason, verdict
from cnimatrix.compare.samples import summaries
from cnimatrix.perf.figures import route_summary
from cnimatrix.results import write_summary

COMMIT = "b" * 40


def ratio(low: float, high: float, marks: list | None = None) -> dict:
    return {"median": (low + high) / 2, "min": low, "max": high, "n": 5,
            "ci95": {"low": low, "high": high, "relative_half_width": 0.05}, "marks": marks or []}


SUSPECT = {"kind": "suspect", "reason": "TCP throughput at 1.55x the host network's"}
NOISY = {"kind": "noisy", "reason": "host load above its 2 cores for 60% of the datapath phase"}


def test_apart_intervals_make_the_better_side_faster():
    ranking = rank({"calico": ratio(0.55, 0.60), "cilium": ratio(0.80, 0.90)}, "higher")
    assert ranking == {"faster": [["cilium", "calico"]], "no_difference": [], "unranked": {}}
    assert verdict(ranking, "tcp_1_gbps") == "cilium faster than calico"


def test_for_latency_the_lower_interval_is_faster():
    ranking = rank({"calico": ratio(1.20, 1.40), "cilium": ratio(1.50, 1.80)}, "lower")
    assert ranking["faster"] == [["calico", "cilium"]]
    assert verdict(rank({"a": ratio(2.0, 3.0), "b": ratio(5.0, 6.0)}, "lower"), "udp_jitter_ms") == "a steadier than b"


def test_overlapping_or_touching_intervals_are_no_measurable_difference():
    overlapping = rank({"calico": ratio(0.55, 0.75), "cilium": ratio(0.70, 0.90)}, "higher")
    assert overlapping == {"faster": [], "no_difference": [["calico", "cilium"]], "unranked": {}}
    assert verdict(overlapping, "tcp_1_gbps") == NO_DIFFERENCE
    assert rank({"a": ratio(0.5, 0.7), "b": ratio(0.7, 0.9)}, "higher")["no_difference"] == [["a", "b"]]


def test_marked_ratios_are_not_ranked_and_their_plausible_twins_are():
    values = {"flannel": ratio(1.50, 1.60, [SUSPECT]), "calico": ratio(0.55, 0.60), "kindnet": ratio(0.80, 0.90, [NOISY])}
    ranking = rank(values, "higher")
    assert ranking == {"faster": [], "no_difference": [], "unranked": {"flannel": "suspect", "kindnet": "noisy"}}
    assert verdict(ranking, "tcp_1_gbps") == "not ranked: flannel (suspect), kindnet (noisy)"
    plausible = rank({**values, "flannel": ratio(1.50, 1.60), "kindnet": ratio(0.80, 0.90)}, "higher")
    assert plausible["unranked"] == {} and plausible["faster"] == [["flannel", "calico"], ["flannel", "kindnet"],
                                                                   ["kindnet", "calico"]]


def test_a_ratio_without_an_interval_is_not_ranked_and_an_unmeasured_one_is_not_named():
    old = {"median": 0.8, "min": 0.7, "max": 0.9, "n": 3}                 # a summary made before intervals
    assert unranked_reason(old) == NO_INTERVAL and unranked_reason({**old, "ci95": None}) == NO_INTERVAL
    assert unranked_reason(None) is None and unranked_reason(ratio(0.5, 0.6)) is None
    ranking = rank({"flannel": old, "calico": ratio(0.5, 0.6), "cilium": None}, "higher")
    assert ranking == {"faster": [], "no_difference": [], "unranked": {"flannel": NO_INTERVAL}}
    assert verdict(rank({"cilium": None}, "higher"), "tcp_1_gbps") == "—"


def test_three_columns_say_each_pair():
    ranking = rank({"calico": ratio(0.5, 0.6), "cilium": ratio(0.8, 0.9), "flannel": ratio(0.55, 0.7)}, "higher")
    assert verdict(ranking, "tcp_1_gbps") == ("cilium faster than calico; cilium faster than flannel; "
                                              f"calico vs flannel: {NO_DIFFERENCE}")


# --- through summaries, comparison.json and both pages -------------------------------------------

BASELINE = [{"tcp_1_gbps": 10.0, "rr_p50_us": 40.0}] * 5


def _route(tcp: list[float]) -> dict:
    return {"title": "t", "baseline": "host-cross-node", "problems": [],
            **route_summary([{"tcp_1_gbps": v, "rr_p50_us": 60.0} for v in tcp], BASELINE)}


def _write(tmp_path, routes_by_column: dict[str, dict | None], strip_intervals: bool = False):
    docs = summaries(COMMIT, versions.KUBERNETES)
    for column, route in routes_by_column.items():
        perf = docs[column]["metrics"]["perf"]["datapath"]["routes"]
        perf["pod-cross-node"] = route
        if strip_intervals:             # as a summary made before intervals holds it
            for spreads in (route["figures"], route["ratios"]):
                for spread in spreads.values():
                    spread.pop("ci95", None)
        write_summary(tmp_path / column / "summary.json", docs[column])
    runs = load_runs(tmp_path, list(routes_by_column), kubernetes=versions.KUBERNETES, commit=COMMIT)
    return build(runs, kubernetes=versions.KUBERNETES, commit=COMMIT)


def _row(doc, figure="tcp_1_gbps"):
    return next(r for r in doc["perf"]["ratios"] if (r["route"], r["figure"]) == ("pod-cross-node", figure))


def test_a_measurable_difference_is_called_and_shown(tmp_path):
    doc = _write(tmp_path, {"flannel": _route([9.0, 9.1, 9.2, 9.0, 9.1]), "kindnet": _route([6.0, 6.2, 6.1, 6.0, 6.1])})
    row = _row(doc)
    assert row["ranking"] == {"faster": [["flannel", "kindnet"]], "no_difference": [], "unranked": {}}
    assert _row(doc, "rr_p50_us")["ranking"]["no_difference"] == [["flannel", "kindnet"]]   # same latency
    md = render_md.render(doc)
    assert "| flannel faster than kindnet |" in md and f"| {NO_DIFFERENCE} |" in md
    assert 'data-perf-verdict="pod-cross-node.tcp_1_gbps">flannel faster than kindnet</td>' in render_html.render(doc)


def test_a_suspect_ratio_is_greyed_explained_and_not_ranked(tmp_path):
    doc = _write(tmp_path, {"flannel": _route([12.0, 12.5, 12.2, 12.1, 12.3]), "kindnet": _route([6.0, 6.2, 6.1, 6.0, 6.1])})
    row = _row(doc)
    assert [m["kind"] for m in row["values"]["flannel"]["marks"]] == ["suspect"]
    assert row["ranking"] == {"faster": [], "no_difference": [], "unranked": {"flannel": "suspect"}}
    md = render_md.render(doc)
    assert "⚠ suspect: 1.22 (1.20–1.25)" in md and "| not ranked: flannel (suspect) |" in md
    assert "- flannel, Pod to pod across nodes: TCP throughput, 1 stream: suspect: TCP throughput, 1 stream at 1.22x" in md
    html = render_html.render(doc)
    cell = html.split('data-cni="flannel" data-perf-ratio="pod-cross-node.tcp_1_gbps"')[0].rsplit("<td", 1)[1]
    assert 'class="num perf-marked"' in cell
    assert 'data-perf-marks="suspect"' in html and "td.perf-marked{color:#8c959f" in html
    kindnet = html.split('data-cni="kindnet" data-perf-ratio="pod-cross-node.tcp_1_gbps"')[0].rsplit("<td", 1)[1]
    assert "perf-marked" not in kindnet                                  # the plausible twin is not greyed


def test_old_summaries_without_intervals_load_and_say_so(tmp_path):
    route = _route([9.0, 9.1, 9.2])
    doc = _write(tmp_path, {"flannel": route, "kindnet": copy.deepcopy(route)}, strip_intervals=True)
    row = _row(doc)
    assert row["values"]["flannel"]["ci95"] is None
    assert row["ranking"]["unranked"] == {"flannel": NO_INTERVAL, "kindnet": NO_INTERVAL}
    md = render_md.render(doc)
    assert "0.91 (0.90–0.92), n=3, no interval recorded" in md
    assert "not ranked: flannel (no interval recorded), kindnet (no interval recorded)" in render_html.render(doc)


def test_a_comparison_made_before_rankings_still_validates_and_renders(tmp_path):
    doc = _write(tmp_path, {"flannel": _route([9.0, 9.1, 9.2, 9.0, 9.1]), "kindnet": _route([6.0, 6.2, 6.1, 6.0, 6.1])})
    old = copy.deepcopy(doc)
    for row in old["perf"]["ratios"]:
        del row["ranking"]
        for value in row["values"].values():
            if value:
                del value["ci95"], value["marks"]
    validate(old)
    assert "| not ranked: flannel (no interval recorded), kindnet (no interval recorded) |" in render_md.render(old)


def test_validation_refuses_a_ranking_of_an_unknown_column(tmp_path):
    doc = _write(tmp_path, {"flannel": _route([9.0, 9.1, 9.2]), "kindnet": _route([6.0, 6.2, 6.1])})
    bad = copy.deepcopy(doc)
    _row(bad)["ranking"]["faster"] = [["flannel", "weave"]]
    with pytest.raises(ValueError, match="ranks a column it does not have"):
        validate(bad)
