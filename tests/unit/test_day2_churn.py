"""UDP churn: staleness from one client socket's datagrams around a change, and its judgement."""
from __future__ import annotations

from cnimatrix.day2 import churn
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.udp_stream import Datagram

T0 = 1_700_000_000.0
CHANGE = T0 + 1.0


def stream(*replies: str | None) -> list[Datagram]:
    """One datagram per 100 ms from T0; None is unanswered."""
    return [Datagram(i + 1, T0 + i * 0.1, Outcome.OK if r else Outcome.TIMEOUT, r or "") for i, r in enumerate(replies)]


def test_settles_on_the_live_backend_after_a_silent_gap():
    seen = churn.staleness(stream(*["a"] * 10, None, None, *["b"] * 12), {"b"}, CHANGE, hold=10)
    assert (seen.before, seen.answered_before, seen.old_backends, seen.stale, seen.silent) == (10, 10, ("a",), 0, 2)
    assert seen.settled_s == 0.2 and seen.last_stale_s is None
    ok, reason = churn.reaches_live_within(10, "backend-deleted")(seen)
    assert ok and "0.20 s" in reason


def test_a_stale_entry_keeps_the_old_backend_answering():
    seen = churn.staleness(stream(*["a"] * 10, *["a"] * 30), {"b"}, CHANGE, hold=10)
    assert seen.stale == 30 and seen.settled_s is None and seen.last_stale_s == 2.9
    ok, reason = churn.reaches_live_within(10, "service-recreated")(seen)
    assert not ok and "never answered by a live backend alone" in reason and "30 stale" in reason and "before: a" in reason


def test_settled_beyond_the_bound_fails_with_the_time():
    seen = churn.staleness(stream(*["a"] * 10, *["a"] * 5, *["b"] * 10), {"b"}, CHANGE, hold=10)
    assert seen.settled_s == 0.5
    ok, reason = churn.reaches_live_within(0.3, "endpoint-replaced")(seen)
    assert not ok and "0.50 s after the change, bound 0.3 s" in reason


def test_a_live_answer_then_a_stale_one_is_not_settled():
    seen = churn.staleness(stream(*["a"] * 10, *["b"] * 5, "a", *["b"] * 5), {"b"}, CHANGE, hold=10)
    assert seen.settled_s is None and seen.stale == 1


def test_no_answer_before_the_change_proves_nothing():
    seen = churn.staleness(stream(*[None] * 10, *["b"] * 10), {"b"}, CHANGE, hold=10)
    ok, reason = churn.reaches_live_within(10, "backend-deleted")(seen)
    assert not ok and "nothing proven" in reason


def test_settled_wants_the_last_hold_datagrams_live():
    assert churn.settled(stream(*["a"] * 10, *["b"] * 10), {"b"}, CHANGE, hold=10)
    assert not churn.settled(stream(*["a"] * 10, *["b"] * 9), {"b"}, CHANGE, hold=10)
    assert not churn.settled(stream(*["a"] * 10, *["b"] * 9, None), {"b"}, CHANGE, hold=10)


def test_a_starved_stream_is_said_to_be_unmeasured():
    """13 datagrams in the 12 s watched after the change (one every 100 ms makes 120): the gap may
    be the client's, and the failure says so (seen at load 49)."""
    samples = stream(*["a"] * 10, *[None] * 13)
    reason = churn.starved(samples, CHANGE, watched_s=12.0, interval_s=0.1)
    assert reason == ("not measured: the client sent 13 datagram(s) in the 12.0 s watched after the change, "
                      "where one every 100 ms makes 120")


def test_a_stream_at_its_pace_is_not_starved():
    samples = stream(*["a"] * 10, *[None] * 100)    # 100 in the 10 s watched: on pace
    assert churn.starved(samples, CHANGE, watched_s=10.0, interval_s=0.1) == ""
    assert churn.starved(samples, CHANGE, watched_s=0.0, interval_s=0.1) == ""
