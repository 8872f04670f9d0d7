"""weighted_verdict: a weighted split judged by a chi-square goodness-of-fit test."""
import pytest

from cnimatrix.stats import weighted_verdict


def test_a_split_that_follows_the_weights_passes():
    verdict = weighted_verdict({"webapp": 148, "api": 52}, {"webapp": 3, "api": 1})
    assert verdict.ok and verdict.p_value > 0.5 and "expected {api: 50, webapp: 150}" in verdict.reason


def test_an_even_split_is_not_three_to_one():
    verdict = weighted_verdict({"webapp": 100, "api": 100}, {"webapp": 3, "api": 1})
    assert not verdict.ok and "does not follow the weights" in verdict.reason and verdict.p_value < 1e-10


def test_missing_and_unexpected_backends():
    assert weighted_verdict({"webapp": 200}, {"webapp": 3, "api": 1}).missing == ["api"]
    verdict = weighted_verdict({"webapp": 150, "api": 45, "other": 5}, {"webapp": 3, "api": 1})
    assert not verdict.ok and verdict.unexpected == ["other"]


def test_too_few_requests_and_bad_weights_are_caller_errors():
    with pytest.raises(ValueError, match="send at least 20"):
        weighted_verdict({"webapp": 12, "api": 4}, {"webapp": 3, "api": 1})
    with pytest.raises(ValueError):
        weighted_verdict({"a": 10}, {"a": 0})
