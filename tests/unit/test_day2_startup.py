"""Startup isolation: the window over a new pod's attempts, its judgements, the label change's time to deny."""
from __future__ import annotations

from cnimatrix.day2 import startup
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.timeline import Flip, Sample

T0 = 1_700_000_000.0


def samples(*outcomes: Outcome, start: float = T0, step: float = 0.1) -> list[Sample]:
    return [Sample(start + i * step, outcome, 1.0) for i, outcome in enumerate(outcomes)]


def test_no_answer_means_no_window_and_isolated():
    seen = startup.window(samples(*[Outcome.TIMEOUT] * 28, Outcome.REFUSED, Outcome.REFUSED))
    assert (seen.attempts, seen.admitted, seen.refused, seen.window_s, seen.watched_s) == (30, 0, 2, None, 2.9)
    ok, reason = startup.isolated_from_start("ingress")(seen)
    assert ok and "0/30 answered" in reason and "2 refused" in reason


def test_answers_in_the_first_moments_are_the_window_and_fail():
    seen = startup.window(samples(Outcome.TIMEOUT, Outcome.OK, Outcome.OK, Outcome.TIMEOUT, Outcome.OK, *[Outcome.TIMEOUT] * 20))
    assert (seen.admitted, seen.first_admitted_s, seen.window_s) == (3, 0.1, 0.4)
    ok, reason = startup.isolated_from_start("ingress to 10.0.0.5")(seen)
    assert not ok and "3/25 denied attempts answered" in reason and "0.100 s to 0.400 s" in reason


def test_an_answer_to_the_very_first_attempt_is_a_zero_window_that_still_fails():
    seen = startup.window(samples(Outcome.OK, *[Outcome.TIMEOUT] * 15))
    assert seen.window_s == 0.0
    assert not startup.isolated_from_start("egress")(seen)[0]


def test_targets_merge_in_sending_order():
    tcp = samples(*[Outcome.TIMEOUT] * 10, start=T0 + 0.05)
    udp = samples(Outcome.OK, *[Outcome.TIMEOUT] * 9)
    seen = startup.window(tcp + udp)
    assert (seen.attempts, seen.window_s, seen.watched_s) == (20, 0.0, 0.95)


def test_too_few_attempts_prove_nothing():
    ok, reason = startup.isolated_from_start("egress")(startup.window(samples(*[Outcome.TIMEOUT] * 3)))
    assert not ok and "only 3 attempt(s)" in reason
    assert not startup.isolated_from_start("egress")(startup.window([]))[0]


def test_the_open_twin_must_be_answered():
    ok, _ = startup.open_path_answers("twin")(startup.window(samples(*[Outcome.TIMEOUT] * 4, *[Outcome.OK] * 10)))
    assert ok
    ok, reason = startup.open_path_answers("twin")(startup.window(samples(*[Outcome.TIMEOUT] * 30, Outcome.OK)))
    assert not ok and "1/31 answered" in reason and "nothing proven" in reason


def test_label_change_time_to_deny_is_the_slowest_path():
    seconds, reason = startup.time_to_deny([Flip(10, 0, 0.3, 0.4, 0), Flip(10, 0, 0.2, 1.25, 1)])
    assert seconds == 1.25 and "1 flap" in reason


def test_label_change_never_denied_or_never_reachable_has_no_time():
    seconds, reason = startup.time_to_deny([Flip(10, 0, 0.3, 0.4, 0), Flip(10, 0, None, None, 0)])
    assert seconds is None and "never held" in reason
    seconds, reason = startup.time_to_deny([Flip(10, 8, 0.0, 0.1, 0)])
    assert seconds is None and "not answering before" in reason
    assert startup.time_to_deny([])[0] is None
