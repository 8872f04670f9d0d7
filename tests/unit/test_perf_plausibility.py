"""Plausibility marks (cnimatrix.perf.plausibility) and where route_summary puts them: each mark
next to its positive twin, a plausible figure that stays unmarked."""
from __future__ import annotations

from cnimatrix.perf.figures import route_summary
from cnimatrix.perf.plausibility import (NOISY, SUSPECT, THROUGHPUT_FIGURES, baseline_moved, faster_than_host, host_load,
                                         in_words, overloaded_host)


def test_the_throughput_figures_are_the_gbit_ones():
    assert THROUGHPUT_FIGURES == ("tcp_1_gbps", "tcp_n_gbps", "udp_gbps")


def test_a_throughput_ratio_above_1_1_is_suspect():
    found = faster_than_host("tcp_1_gbps", 1.55)
    assert found["kind"] == SUSPECT and "1.55x the host network's (above 1.1x)" in found["reason"]
    assert faster_than_host("udp_gbps", 1.11)["kind"] == SUSPECT


def test_a_throughput_ratio_up_to_1_1_and_any_latency_ratio_are_not():
    assert faster_than_host("tcp_1_gbps", 1.1) is None and faster_than_host("tcp_n_gbps", 0.57) is None
    assert faster_than_host("rr_p50_us", 2.5) is None       # slower than the host: plausible for latency
    assert faster_than_host("udp_jitter_ms", 40.0) is None


def test_a_baseline_that_moved_more_than_2x_is_suspect():
    found = baseline_moved("tcp_1_gbps", [2.0, 0.9, 2.5])
    assert found["kind"] == SUSPECT
    assert found["reason"] == ("the hostNetwork baseline's TCP throughput, 1 stream moved 2.8x between repetitions "
                               "(0.9-2.5 Gbit/s)")


def test_a_baseline_within_2x_is_not_and_zeros_or_gaps_do_not_count():
    assert baseline_moved("tcp_1_gbps", [1.0, 2.0, 1.5]) is None          # exactly 2x: not more
    assert baseline_moved("rr_p50_us", [40.0, None, 0.0, 60.0]) is None   # the zero has no ratio, None no value
    assert baseline_moved("rr_p50_us", [40.0]) is None


def test_load_above_the_cores_and_the_measured_pair_for_more_than_a_fifth_of_the_phase_is_noisy():
    load = host_load([1.0, 4.5, 5.0, 2.5, 3.9], cores=2)              # 2 of 5 samples above 2 cores + 2
    assert load == {"cpus": 2, "samples": 5, "load_1m_max": 5.0, "above_cores_share": 0.8, "limit": 4,
                    "above_limit_share": 0.4}
    found = overloaded_host(load)
    assert found["kind"] == NOISY
    assert found["reason"] == ("host load above 4 (2 cores + the measured pair) for 40% of the datapath phase "
                               "(more than 20%; max 5)")


def test_a_quiet_host_or_one_busy_fifth_is_not_noisy():
    assert overloaded_host(host_load([1.0, 4.5, 1.0, 1.5, 1.9], cores=2)) is None      # exactly a fifth
    assert overloaded_host(host_load([4.0, 4.0], cores=2)) is None                    # at the limit, not above
    assert overloaded_host(host_load([2.3, 3.2, 2.7], cores=2)) is None               # the measured pair alone
    assert overloaded_host(host_load([], cores=2)) is None


def test_a_record_made_before_the_limit_is_judged_against_the_cores():
    found = overloaded_host({"cpus": 2, "samples": 5, "load_1m_max": 3.0, "above_cores_share": 0.4})
    assert found["kind"] == NOISY
    assert found["reason"] == "host load above its 2 cores for 40% of the datapath phase (more than 20%; max 3)"
    assert overloaded_host({"cpus": 2, "samples": 5, "load_1m_max": 3.0, "above_cores_share": 0.2}) is None


BASE = [{"tcp_1_gbps": 2.0, "rr_p50_us": 40.0}, {"tcp_1_gbps": 2.2, "rr_p50_us": 42.0}, {"tcp_1_gbps": 2.1, "rr_p50_us": 41.0}]


def test_route_summary_marks_an_implausible_ratio_and_leaves_a_plausible_one():
    faster = [{"tcp_1_gbps": 3.0, "rr_p50_us": 80.0}, {"tcp_1_gbps": 3.3, "rr_p50_us": 84.0}, {"tcp_1_gbps": 3.2, "rr_p50_us": 82.0}]
    ratios = route_summary(faster, BASE)["ratios"]
    assert [m["kind"] for m in ratios["tcp_1_gbps"]["marks"]] == [SUSPECT]
    assert "marks" not in ratios["rr_p50_us"]                              # twice the latency: plausible
    plausible = route_summary([{"tcp_1_gbps": 1.0}, {"tcp_1_gbps": 1.1}, {"tcp_1_gbps": 1.0}], BASE)
    assert "marks" not in plausible["ratios"]["tcp_1_gbps"] and "marks" not in plausible["figures"]["tcp_1_gbps"]


def test_route_summary_marks_ratios_over_a_moving_baseline_and_the_baseline_itself():
    moving = [{"tcp_1_gbps": 1.0}, {"tcp_1_gbps": 3.0}, {"tcp_1_gbps": 2.0}]
    route = [{"tcp_1_gbps": 0.5}, {"tcp_1_gbps": 1.5}, {"tcp_1_gbps": 1.0}]
    ratio = route_summary(route, moving)["ratios"]["tcp_1_gbps"]
    assert ratio["median"] == 0.5 and [m["kind"] for m in ratio["marks"]] == [SUSPECT]
    assert "moved 3.0x" in ratio["marks"][0]["reason"]
    baseline = route_summary(moving, None)["figures"]["tcp_1_gbps"]
    assert baseline["marks"][0]["reason"].startswith("its TCP throughput, 1 stream moved 3.0x")
    assert "marks" not in route_summary(BASE, None)["figures"]["tcp_1_gbps"]   # a steady baseline


def test_route_summary_marks_every_figure_noisy_on_an_overloaded_host():
    noisy = overloaded_host(host_load([9.0, 9.0, 1.0], cores=2))
    summary = route_summary(BASE, BASE, noisy)
    assert all(s["marks"] == [noisy] for part in ("figures", "ratios") for s in summary[part].values())
    assert all("marks" not in s for s in route_summary(BASE, BASE, None)["ratios"].values())


def test_marks_in_words_name_each_reason_once():
    noisy = {"kind": NOISY, "reason": "host load above its 2 cores"}
    spreads = {"tcp_1_gbps": {"marks": [faster_than_host("tcp_1_gbps", 1.5), noisy]}, "rr_p50_us": {"marks": [noisy]},
               "udp_gbps": {"median": 1.0}}
    words = in_words(spreads)
    assert words.startswith("suspect (tcp_1_gbps): TCP throughput, 1 stream at 1.50x")
    assert words.endswith("; noisy (tcp_1_gbps, rr_p50_us): host load above its 2 cores")
    assert in_words({"udp_gbps": {"median": 1.0}}) is None
