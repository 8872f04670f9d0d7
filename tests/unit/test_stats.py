import math

import pytest

from cnimatrix.stats import (
    chi_square_sf,
    latency_summary,
    min_requests_for,
    percentile,
    spread_verdict,
    sticky_verdict,
)


# --------------------------------------------------------------------------- percentile


def test_percentile_single_value_is_that_value_for_every_q():
    assert [percentile([7.5], q) for q in (0, 50, 100)] == [7.5, 7.5, 7.5]


def test_percentile_extremes_are_min_and_max():
    values = [5, 1, 9, 3]
    assert percentile(values, 0) == 1
    assert percentile(values, 100) == 9


def test_percentile_interpolates_between_closest_ranks():
    # rank = (n-1) * q/100 = 1.5 -> halfway between 2 and 3
    assert percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)
    # rank = 3 * 0.9 = 2.7 -> 3 + 0.7 * (4 - 3)
    assert percentile([1, 2, 3, 4], 90) == pytest.approx(3.7)


def test_percentile_does_not_depend_on_input_order():
    values = [10, 0, 30, 20, 40]
    assert percentile(values, 25) == percentile(sorted(values), 25) == 10


def test_percentile_accepts_a_generator():
    assert percentile((x for x in range(11)), 30) == pytest.approx(3.0)


def test_percentile_rejects_empty_input():
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


@pytest.mark.parametrize("q", [-0.1, 100.1, float("nan")])
def test_percentile_rejects_out_of_range_q(q):
    with pytest.raises(ValueError):
        percentile([1, 2], q)


def test_latency_summary_keys_and_rounding():
    summary = latency_summary([1.23456, 2, 3, 4, 10])
    assert list(summary) == ["count", "min", "p50", "p90", "p99", "max", "mean"]
    assert summary["count"] == 5
    assert summary["min"] == 1.235
    assert summary["p50"] == 3.0
    assert summary["p90"] == pytest.approx(7.6)
    assert summary["max"] == 10.0
    assert summary["mean"] == 4.047


def test_latency_summary_rejects_empty_input():
    with pytest.raises(ValueError):
        latency_summary([])


# --------------------------------------------------------------------------- chi-square


@pytest.mark.parametrize(
    ("x", "dof", "expected"),
    [
        (3.841, 1, 0.05),
        (6.635, 1, 0.01),
        (5.991, 2, 0.05),
        (11.07, 5, 0.05),
        (18.307, 10, 0.05),
        (4.865, 10, 0.9),
    ],
)
def test_chi_square_sf_matches_table_critical_values(x, dof, expected):
    assert chi_square_sf(x, dof) == pytest.approx(expected, abs=2e-4)


@pytest.mark.parametrize("dof", [1, 2, 7, 50])
def test_chi_square_sf_at_zero_is_one(dof):
    assert chi_square_sf(0, dof) == 1.0


def _sf_even_dof(x, dof):
    # Closed form for even dof: e^(-x/2) * sum_{i<dof/2} (x/2)^i / i!
    half = x / 2
    return math.exp(-half) * sum(half**i / math.factorial(i) for i in range(dof // 2))


@pytest.mark.parametrize("dof", [2, 4, 10, 40, 100])
@pytest.mark.parametrize("scale", [0.05, 0.5, 1.0, 1.5, 3.0])
def test_chi_square_sf_agrees_with_closed_form_for_even_dof(dof, scale):
    # Covers both the series branch (x < dof+2) and the continued-fraction branch.
    x = dof * scale
    assert chi_square_sf(x, dof) == pytest.approx(_sf_even_dof(x, dof), rel=1e-9)


@pytest.mark.parametrize("x", [0.001, 0.5, 2.0, 10.0, 60.0])
def test_chi_square_sf_agrees_with_erfc_for_one_dof(x):
    assert chi_square_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9)


def test_chi_square_sf_is_decreasing_in_x():
    values = [chi_square_sf(x, 3) for x in (0.5, 1, 2, 4, 8, 16)]
    assert values == sorted(values, reverse=True)


def test_chi_square_sf_rejects_non_positive_dof():
    with pytest.raises(ValueError):
        chi_square_sf(1.0, 0)


# --------------------------------------------------------------------------- spread


def test_spread_ok_on_even_split():
    verdict = spread_verdict({"web-0": 20, "web-1": 20, "web-2": 20}, {"web-0", "web-1", "web-2"})
    assert verdict.ok
    assert verdict.total == 60
    assert verdict.dof == 2
    assert verdict.chi2 == 0.0
    assert verdict.p_value == pytest.approx(1.0)
    assert verdict.missing == [] and verdict.unexpected == []
    assert "60 responses" in verdict.reason


def test_spread_ok_on_ordinary_random_variation():
    verdict = spread_verdict({"a": 25, "b": 18, "c": 17}, ["a", "b", "c"])
    assert verdict.ok, verdict.reason
    assert verdict.p_value > 0.3


def test_spread_fails_on_missing_backend():
    verdict = spread_verdict({"web-0": 30, "web-1": 30}, ["web-0", "web-1", "web-2"])
    assert not verdict.ok
    assert verdict.missing == ["web-2"]
    assert verdict.reason == "backend web-2 got 0 of 60 responses"
    assert verdict.counts == {"web-0": 30, "web-1": 30, "web-2": 0}


def test_spread_fails_on_skewed_split():
    verdict = spread_verdict({"a": 90, "b": 5, "c": 5}, ["a", "b", "c"])
    assert not verdict.ok
    assert verdict.missing == []
    assert verdict.p_value < 1e-3
    assert verdict.reason.startswith("p=")
    assert "< alpha=0.001" in verdict.reason
    assert "{a: 90, b: 5, c: 5} is not uniform" in verdict.reason


def test_spread_fails_on_unexpected_backend():
    verdict = spread_verdict({"a": 20, "b": 20, "old-pod": 4}, ["a", "b"])
    assert not verdict.ok
    assert verdict.unexpected == ["old-pod"]
    assert verdict.total == 44
    assert "old-pod" in verdict.reason and "4 of 44" in verdict.reason


def test_spread_reports_every_problem_on_one_line():
    verdict = spread_verdict({"a": 40, "zombie": 3}, ["a", "b"])
    assert not verdict.ok
    assert verdict.missing == ["b"] and verdict.unexpected == ["zombie"]
    assert "\n" not in verdict.reason
    assert "backend b got 0 of 43" in verdict.reason and "zombie" in verdict.reason


def test_spread_alpha_controls_strictness():
    counts = {"a": 30, "b": 18, "c": 12}  # p ~ 0.012
    assert spread_verdict(counts, ["a", "b", "c"]).ok
    assert not spread_verdict(counts, ["a", "b", "c"], alpha=0.05).ok


def test_spread_single_backend_needs_only_presence():
    assert spread_verdict({"solo": 5}, ["solo"]).ok


def test_spread_needs_enough_samples():
    with pytest.raises(ValueError, match="at least 15"):
        spread_verdict({"a": 5, "b": 4, "c": 5}, ["a", "b", "c"])


@pytest.mark.parametrize(
    ("counts", "expected"),
    [({"a": -1, "b": 30}, ["a", "b"]), ({"a": 3.5, "b": 30}, ["a", "b"]), ({"a": 30}, [])],
)
def test_spread_rejects_bad_input(counts, expected):
    with pytest.raises(ValueError):
        spread_verdict(counts, expected)


def test_min_requests_for_small_counts():
    assert min_requests_for(1) == 5
    assert 30 <= min_requests_for(3) <= 48


def test_min_requests_for_is_monotonic_and_meets_both_bounds():
    previous = 0
    for k in range(1, 31):
        n = min_requests_for(k)
        assert n > previous
        assert n >= 5 * k
        assert k * (1 - 1 / k) ** n < 1e-6
        previous = n


def test_min_requests_for_is_the_smallest_such_n():
    for k in range(2, 20):
        n = min_requests_for(k)
        if n > 5 * k:  # when not held up by the chi-square floor, n-1 must be too few
            assert k * (1 - 1 / k) ** (n - 1) >= 1e-6


def test_min_requests_for_rejects_zero():
    with pytest.raises(ValueError):
        min_requests_for(0)


# --------------------------------------------------------------------------- sticky


def test_sticky_ok_when_all_identical():
    ok, reason = sticky_verdict(["web-1"] * 10)
    assert ok
    assert "web-1" in reason


def test_sticky_fails_when_backends_differ():
    ok, reason = sticky_verdict(["web-1", "web-1", "web-2"])
    assert not ok
    assert "2 backends" in reason and "web-2: 1" in reason


def test_sticky_fails_on_empty_list_or_blank_response():
    assert sticky_verdict([]) == (False, "no responses were received")
    ok, reason = sticky_verdict(["web-1", ""])
    assert not ok and "did not name a backend" in reason
