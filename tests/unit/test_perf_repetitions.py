"""The datapath stopping rule (cnimatrix.perf.repetitions): enough once every ratio's 95% interval is
within +-10% of its median, else repeat until the repetition or time cap. Clock readings are passed
in, so nothing here waits or times anything."""
from __future__ import annotations

import pytest

from cnimatrix.perf.datapath import ORDER, Settings
from cnimatrix.perf.repetitions import (CONVERGED, NO_FIGURES, REPETITION_CAP, TIME_CAP, decide, relative_width,
                                        watched_ratios)

SETTINGS = Settings(min_reps=3, max_reps=6, budget_s=300.0, target_relative_half_width=0.10)
# 0.98, 1.0, 1.02: mean 1, s 0.02, t(2 dof) 4.3027 -> half-width 0.0497, +-5% of the median 1.0
NARROW = [0.98, 1.0, 1.02]
# 0.5, 1.0, 2.0: mean 1.1667, s 0.7638, half-width 1.8973, +-190% of the median 1.0
WIDE = [0.5, 1.0, 2.0]


def test_relative_width_by_hand():
    assert relative_width(NARROW) == pytest.approx(0.0497, abs=1e-4)
    assert relative_width(WIDE) == pytest.approx(1.8973, abs=1e-4)
    assert relative_width([1.0]) == float("inf")


def test_stops_once_every_ratio_is_within_the_target():
    decision = decide({"pod-same-node.tcp_1_gbps": NARROW, "cluster-ip.rr_p50_us": [2.0, 2.0, 2.0]}, 3, 90.0, 30.0, SETTINGS)
    assert decision.stop and decision.reason == CONVERGED and decision.repetitions == 3
    assert decision.widest == "pod-same-node.tcp_1_gbps" and decision.widest_relative_half_width == pytest.approx(0.0497, abs=1e-4)
    assert "within +-10%" in decision.detail and "+-5%" in decision.detail


def test_repeats_while_one_ratio_is_wide_and_the_caps_are_far():
    decision = decide({"pod-same-node.tcp_1_gbps": NARROW, "node-port.udp_jitter_ms": WIDE}, 3, 90.0, 30.0, SETTINGS)
    assert not decision.stop and decision.reason is None
    assert decision.widest == "node-port.udp_jitter_ms" and "+-190%" in decision.detail


def test_narrow_ratios_still_wait_for_the_minimum_repetitions():
    decision = decide({"pod-same-node.tcp_1_gbps": [1.0, 1.0]}, 2, 60.0, 30.0, SETTINGS)
    assert not decision.stop and decision.detail == "2 of at least 3 repetitions"


def test_hits_the_repetition_cap():
    decision = decide({"pod-same-node.tcp_1_gbps": WIDE * 2}, 6, 180.0, 30.0, SETTINGS)
    assert decision.stop and decision.reason == REPETITION_CAP
    assert decision.detail.startswith("6 repetitions, the cap; widest: pod-same-node.tcp_1_gbps at +-")


def test_hits_the_time_cap_when_another_repetition_would_pass_the_budget():
    wide = {"pod-same-node.tcp_1_gbps": WIDE}
    assert decide(wide, 4, 269.0, 30.0, SETTINGS).stop is False         # 269 + 30 ends within 300 s
    decision = decide(wide, 4, 271.0, 30.0, SETTINGS)                    # 271 + 30 would not
    assert decision.stop and decision.reason == TIME_CAP
    assert "another of up to 30 s would pass the 300 s budget" in decision.detail


def test_stops_when_nothing_was_measured():
    decision = decide({}, 3, 90.0, 30.0, SETTINGS)
    assert decision.stop and decision.reason == NO_FIGURES and decision.widest is None


def test_a_single_value_is_never_narrow_enough():
    decision = decide({"node-port.tcp_1_gbps": [1.0], "pod-same-node.tcp_1_gbps": NARROW}, 3, 90.0, 30.0, SETTINGS)
    assert not decision.stop and decision.widest == "node-port.tcp_1_gbps"
    assert decision.widest_relative_half_width is None and "with a single value" in decision.detail


def test_the_record_says_why_and_how_wide():
    record = decide({"pod-same-node.tcp_1_gbps": NARROW}, 3, 90.0, 30.0, SETTINGS).record(SETTINGS)
    assert record == {"reason": CONVERGED, "detail": record["detail"], "target_relative_half_width": 0.1,
                      "widest": "pod-same-node.tcp_1_gbps", "widest_relative_half_width": 0.0497}


def test_watched_ratios_are_every_routes_ratios_to_its_baseline():
    reps = {route: [{"tcp_1_gbps": 2.0, "rr_p50_us": 40.0}, None, {"tcp_1_gbps": 4.0, "rr_p50_us": 40.0}] for route in ORDER}
    reps["pod-same-node"] = [{"tcp_1_gbps": 1.0}, {"tcp_1_gbps": 1.0}, {"tcp_1_gbps": 1.0}]
    reps["node-port"] = [None, None, None]          # a route that never gave a figure is left out
    watched = watched_ratios(reps)
    assert watched["pod-same-node.tcp_1_gbps"] == [0.5, 0.25]      # the second repetition has no baseline
    assert watched["cluster-ip.rr_p50_us"] == [1.0, 1.0]
    assert "pod-same-node.rr_p50_us" not in watched and not any(k.startswith("node-port.") for k in watched)
    assert not any(k.startswith("host-") for k in watched)          # baselines have no ratio
