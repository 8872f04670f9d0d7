"""Student's t intervals over repetitions (cnimatrix.confidence), checked against textbook values and by hand."""
from __future__ import annotations

import math

import pytest

from cnimatrix.confidence import Interval, mean_interval, relative_half_width, t_critical, t_within

# Two-sided 95% critical values of Student's t, as printed in every statistics table.
TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}


@pytest.mark.parametrize("dof, expected", sorted(TABLE.items()))
def test_t_critical_matches_the_table(dof, expected):
    assert t_critical(dof) == pytest.approx(expected, abs=6e-4)


def test_t_critical_approaches_the_normal_quantile():
    assert t_critical(5000) == pytest.approx(1.95996, abs=1e-3)
    assert t_critical(9, confidence=0.90) == pytest.approx(1.833, abs=6e-4)   # another level, from the table


@pytest.mark.parametrize("t", [0.3, 1.0, 4.303, 20.0])
def test_t_within_agrees_with_closed_forms(t):
    assert t_within(t, 1) == pytest.approx(2 / math.pi * math.atan(t))      # Cauchy
    assert t_within(t, 2) == pytest.approx(t / math.sqrt(2 + t * t))
    assert t_within(t, 3) > t_within(t, 2) and t_within(t, 3) < 1


def test_t_within_of_nothing_and_bad_degrees_of_freedom():
    assert t_within(0.0, 4) == 0.0
    with pytest.raises(ValueError, match="degree of freedom"):
        t_within(1.0, 0)
    with pytest.raises(ValueError, match="confidence"):
        t_critical(3, confidence=1.0)


def test_mean_interval_by_hand():
    # 1, 2, 3: mean 2, sample standard deviation 1, t(2 dof) 4.3027 -> 2 -/+ 4.3027 / sqrt(3) = 2 -/+ 2.4841
    found = mean_interval([1.0, 2.0, 3.0])
    assert found.mean == 2.0 and found.half_width == pytest.approx(2.4841, abs=1e-4)
    assert (found.low, found.high) == pytest.approx((-0.4841, 4.4841), abs=1e-4)
    # 10, 12: mean 11, s = sqrt(2), t(1 dof) 12.7062 -> 11 -/+ 12.7062 * sqrt(2) / sqrt(2)
    assert mean_interval([10.0, 12.0]).half_width == pytest.approx(12.7062, abs=1e-4)
    # ten values 0.95 and 1.05 alternating: s = 0.0527, t(9 dof) 2.2622 -> half-width 0.0377
    assert mean_interval([0.95, 1.05] * 5).half_width == pytest.approx(0.0377, abs=1e-4)


def test_mean_interval_needs_two_values_and_is_a_point_without_spread():
    assert mean_interval([]) is None and mean_interval([3.0]) is None
    assert mean_interval([2.0, 2.0, 2.0]) == Interval(2.0, 2.0, 2.0, 0.0)


def test_relative_half_width():
    assert relative_half_width(0.1, 2.0) == 0.05 and relative_half_width(0.1, -2.0) == 0.05
    assert relative_half_width(0.0, 0.0) == 0.0 and math.isinf(relative_half_width(0.1, 0.0))
