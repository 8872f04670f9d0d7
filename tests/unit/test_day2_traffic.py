"""trafficDistribution PreferSameNode and loadBalancerSourceRanges: their cells' verdicts, each with
its failing twin."""
from __future__ import annotations

from cnimatrix.day2.same_node import SameNodeCell, same_node_only
from cnimatrix.day2.source_ranges import RangeCell, admitted_or_kept_out
from cnimatrix.probe.outcomes import Outcome, ProbeResult


def probes(*replies: str | Outcome) -> tuple[ProbeResult, ...]:
    """A reply is an answer; an Outcome is a probe that got none."""
    return tuple(ProbeResult("10.96.0.20:8080/hostname", r, 2000.0, "no answer") if isinstance(r, Outcome)   # Outcome is a str too
                 else ProbeResult("10.96.0.20:8080/hostname", Outcome.OK, 1.0, r) for r in replies)


def test_every_request_answered_on_the_clients_node_passes():
    cell = SameNodeCell(frozenset({"sn-worker"}), probes(*["sn-worker"] * 21))
    ok, reason = same_node_only(cell)
    assert ok and reason == "21/21 answered on the client's node"
    assert cell.to_dict() == {"requests": 21, "same_node": 21, "other_node": 0, "failed": 0}


def test_requests_spread_to_the_other_node_fail_with_the_count():
    cell = SameNodeCell(frozenset({"sn-worker"}), probes(*["sn-worker"] * 12, *["sn-worker2"] * 9))
    ok, reason = same_node_only(cell)
    assert not ok and "9/21 answered on another node (sn-worker2 9)" in reason and "same node (sn-worker): 12" in reason


def test_failed_requests_and_a_node_without_backends_fail():
    ok, reason = same_node_only(SameNodeCell(frozenset({"sn-worker"}), probes("sn-worker", Outcome.TIMEOUT)))
    assert not ok and "1/2 failed (timeout" in reason
    assert "nothing to prefer" in same_node_only(SameNodeCell(frozenset(), probes("sn-worker")))[1]


def test_the_listed_client_answered_and_the_other_kept_out_pass():
    assert admitted_or_kept_out(RangeCell(True, probes(*["lb-backend"] * 5))) == (True, "5/5 answered")
    ok, reason = admitted_or_kept_out(RangeCell(False, probes(*[Outcome.TIMEOUT] * 4, Outcome.REFUSED)))
    assert ok and reason == "0/5 answered (refused 1, timeout 4)"
    assert RangeCell(False, probes(Outcome.TIMEOUT, Outcome.REFUSED)).to_dict() == {
        "attempts": 2, "answered": 0, "refused": 1, "timed_out": 1}


def test_an_unlisted_client_answered_fails_as_ranges_not_enforced():
    ok, reason = admitted_or_kept_out(RangeCell(False, probes(Outcome.TIMEOUT, "lb-backend")))
    assert not ok and "1/2 answered ('lb-backend'): the source ranges did not keep this client out" in reason


def test_an_admitted_client_left_unanswered_fails():
    ok, reason = admitted_or_kept_out(RangeCell(True, probes("lb-backend", Outcome.TIMEOUT)))
    assert not ok and "1/2 unanswered (timeout" in reason and "for a client it admits" in reason
