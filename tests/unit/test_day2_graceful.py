"""Graceful termination: the in-flight request across its backend's deletion, and new connections
to a node whose only local endpoint is terminating (each verdict with its failing twin)."""
from __future__ import annotations

from cnimatrix.day2 import graceful
from cnimatrix.probe.outcomes import Outcome, ProbeResult

T0 = 1_700_000_000.0
REPLY = '{"output":"if-1a2b3c-a\\n"}'


def in_flight(outcome: str = "ok", reply: str = REPLY, accepted: float | None = T0, terminating: float | None = T0 + 1.0,
              backend: str = "if-1a2b3c-a") -> graceful.InFlight:
    return graceful.InFlight(backend, accepted, terminating, 8.0, outcome, reply, 8.3)


def test_a_request_answered_by_its_deleted_backend_completes():
    seen = in_flight()
    assert seen.left_at_delete_s == 7.0 and seen.completed
    ok, reason = graceful.completes_in_flight("worker -> ClusterIP")(seen)
    assert ok and "completed by the terminating if-1a2b3c-a after 8.30 s (7.00 s after its delete)" in reason
    assert seen.to_dict()["completed"] is True


def test_a_request_cut_when_its_backend_terminates_fails_with_how():
    seen = in_flight("timeout", "curl: (28) Operation timed out")
    ok, reason = graceful.completes_in_flight("worker -> ClusterIP")(seen)
    assert not ok and "in-flight request was cut: timeout after 8.30 s" in reason and "7.00 s of its work left" in reason


def test_a_delete_after_the_work_was_done_proves_nothing():
    ok, reason = graceful.completes_in_flight("c")(in_flight(terminating=T0 + 7.5))
    assert not ok and "0.50 s of work left" in reason and "nothing proven" in reason


def test_a_request_no_backend_logged_or_no_delete_proves_nothing():
    assert "no backend's log showed the request" in graceful.completes_in_flight("c")(in_flight(accepted=None, backend=""))[1]
    assert "was never deleted" in graceful.completes_in_flight("c")(in_flight(terminating=None))[1]


def test_an_answer_from_another_backend_is_not_the_in_flight_one():
    ok, reason = graceful.completes_in_flight("c")(in_flight(reply='{"output":"if-1a2b3c-b\\n"}'))
    assert not ok and "not by if-1a2b3c-a" in reason


def probes(*replies: str | None) -> list[ProbeResult]:
    return [ProbeResult("172.18.0.4:31000/hostname", Outcome.OK if r else Outcome.TIMEOUT, 3.0, r or "timed out")
            for r in replies]


def test_new_connections_answered_by_the_terminating_local_endpoint_pass():
    ok, reason = graceful.answered_by_terminating("via worker2", "etp-local")(probes(*["etp-local"] * 5))
    assert ok and "5/5 answered by the terminating etp-local" in reason
    assert graceful.fallback(probes("etp-local", None), "etp-local").to_dict() == {
        "attempts": 2, "by_terminating": 1, "elsewhere": 0, "failed": 1}


def test_new_connections_dropped_without_a_ready_local_endpoint_fail():
    ok, reason = graceful.answered_by_terminating("via worker2", "etp-local")(probes(None, None, "etp-local"))
    assert not ok and "2/3 new connections not answered {'timeout': 2}: no fallback to the terminating etp-local" in reason


def test_an_answer_from_the_other_node_is_forwarding_local_traffic():
    ok, reason = graceful.answered_by_terminating("via worker2", "etp-local")(probes("etp-remote", "etp-local"))
    assert not ok and "1/2 answered by ['etp-remote']" in reason and "despite externalTrafficPolicy Local" in reason


def test_the_log_line_with_the_marker_says_when_the_server_had_the_request():
    log = ("2026-12-07T12:00:00.5Z 2026/12/07 12:00:00 GET /hostname\n"
           "2026-12-07T12:00:01.123456789Z 2026/12/07 12:00:01 GET /shell?cmd=echo inflight-1a2b3c;sleep 8;hostname\n")
    assert abs(graceful.logged_at(log, "inflight-1a2b3c") - 1796644801.123456789) < 1e-6
    assert graceful.logged_at("2026-12-07T13:00:01+01:00 GET /shell?cmd=echo m", "m") == 1796644801.0
    assert graceful.logged_at(log, "inflight-ffffff") is None
