"""Agent restart: the established connection's fate and gap, the new-connection outage, fail-open
admissions on a denied path, and their verdicts (each with its failing twin)."""
from __future__ import annotations

from cnimatrix.datafiles import ReadinessRule
from cnimatrix.day2 import restart
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.timeline import Exchange, Sample

T0 = 1_700_000_000.0
DELETED = T0 + 2.0      # 20 probes at 100 ms before the delete
RESTART = restart.Restart("kube-system/calico-node", "worker2", DELETED, DELETED + 12.0, DELETED + 32.0)


def exchanges(*states: str, late: dict[int, float] | None = None) -> list[Exchange]:
    late = late or {}
    return [Exchange(i + 1, T0 + i * 0.1, state, late.get(i)) for i, state in enumerate(states)]


def samples(*outcomes: Outcome) -> list[Sample]:
    return [Sample(T0 + i * 0.1, outcome, 1.0) for i, outcome in enumerate(outcomes)]


OK, TIMEOUT, REFUSED = Outcome.OK, Outcome.TIMEOUT, Outcome.REFUSED
WHOLE = 320             # probes from T0 to the end of the observation (DELETED + 30 s)


def test_the_agent_is_the_first_daemonset_among_the_readiness_rules():
    rules = [ReadinessRule("Deployment", "kube-system", "operator"), ReadinessRule("DaemonSet", "kube-system", "cilium"),
             ReadinessRule("DaemonSet", "kube-system", "envoy")]
    assert restart.agent_daemonset(rules).name == "cilium"
    assert restart.agent_daemonset(rules[:1]) is None


def test_a_connection_answered_throughout_survived_and_passes():
    seen = restart.connection(exchanges(*["ok"] * WHOLE), "", RESTART)
    assert (seen.fate, seen.answered_before, seen.answering_at_end, seen.longest_gap_s) == ("survived", 20, True, 0.1)
    ok, reason = restart.connection_survives(10, "client -> server")(seen)
    assert ok and "survived" in reason


def test_a_reset_connection_fails_naming_when():
    seen = restart.connection(exchanges(*["ok"] * 50, "reset"), "", RESTART)
    assert (seen.fate, seen.how, seen.ended_after_s, seen.answering_at_end) == ("reset", "reset", 3.0, False)
    ok, reason = restart.connection_survives(10, "client -> server")(seen)
    assert not ok and "connection reset 3.00 s after the agent pod was deleted" in reason


def stalled_once(answered_at: float) -> list[Exchange]:
    """30 answered, one answered late at `answered_at`, then 10 more sent from then on (the loop
    sends nothing while a request waits)."""
    before = exchanges(*["ok"] * 30)
    stalled = Exchange(31, T0 + 3.0, "stalled", answered_at)
    return [*before, stalled, *(Exchange(32 + i, answered_at + 0.1 * (i + 1), "ok") for i in range(10))]


def test_a_stall_answered_late_within_the_bound_passes_and_beyond_it_fails():
    short = restart.connection(stalled_once(T0 + 7.0), "", RESTART)
    assert (short.fate, short.longest_gap_s) == ("stalled", 4.1)     # last answer T0+2.9, the late one T0+7.0
    assert restart.connection_survives(10, "c")(short)[0]
    long = restart.connection(stalled_once(T0 + 17.0), "", RESTART)
    ok, reason = restart.connection_survives(10, "c")(long)
    assert long.longest_gap_s == 14.1 and not ok and "stalled, no answer for 14.10 s" in reason


def test_a_stall_still_unanswered_at_the_end_counts_to_the_end():
    seen = restart.connection(exchanges(*["ok"] * 30, "stalled"), "", RESTART)
    assert seen.longest_gap_s == 31.1 and not seen.answering_at_end       # last answer at T0+2.9, end at T0+34
    assert not restart.connection_survives(40, "c")(seen)[0], "unanswered at the end fails even within the bound"


def test_a_connection_that_never_opened_or_never_answered_proves_nothing():
    never = restart.connection([], "connect: Connection timed out", RESTART)
    ok, reason = restart.connection_survives(10, "c")(never)
    assert never.fate == "not-open" and not ok and "never opened" in reason
    late_start = restart.connection([Exchange(1, DELETED + 1, "ok")], "", RESTART)
    assert "nothing proven" in restart.connection_survives(10, "c")(late_start)[1]


def test_new_connections_that_always_answered_have_no_outage():
    seen = restart.new_connections(samples(*[OK] * WHOLE), RESTART)
    assert (seen.attempts, seen.failed, seen.answered_before, seen.outage_s, seen.answering_at_end) == (300, 0, 20, 0.0, True)
    assert restart.outage_within(15, "to 10.96.0.10")(seen)[0]


def test_the_outage_is_the_longest_failed_run_up_to_the_next_answer():
    outcomes = [OK] * 25 + [TIMEOUT] * 30 + [OK] * 10 + [REFUSED] * 5 + [OK] * 10
    seen = restart.new_connections(samples(*outcomes), RESTART)
    assert (seen.failed, seen.outage_s, seen.outage_from_s) == (35, 3.0, 0.5)
    assert restart.outage_within(15, "to 10.96.0.10")(seen)[0]
    long = restart.new_connections(samples(*[OK] * 25, *[TIMEOUT] * 200, *[OK] * 95), RESTART)
    ok, reason = restart.outage_within(15, "to 10.96.0.10")(long)
    assert long.outage_s == 20.0 and not ok and "failed for 20.00 s from 0.50 s after the delete" in reason


def test_failures_to_the_end_are_an_outage_to_the_end():
    seen = restart.new_connections(samples(*[OK] * 25, *[TIMEOUT] * 50), RESTART)
    assert seen.outage_s == 31.5 and not seen.answering_at_end    # T0+2.5 to the end, T0+34


def test_no_denied_attempt_admitted_passes():
    open_path = restart.new_connections(samples(*[OK] * WHOLE), RESTART)
    seen = restart.fail_open(samples(*[TIMEOUT] * WHOLE), RESTART)
    assert (seen.attempts, seen.admitted, seen.window_s) == (300, 0, None)
    ok, reason = restart.denied_throughout("to guarded 10.244.2.7", open_path)(seen)
    assert ok and "0/300 answered" in reason


def test_an_admitted_denied_attempt_during_the_restart_fails_open():
    open_path = restart.new_connections(samples(*[OK] * WHOLE), RESTART)
    outcomes = [TIMEOUT] * 40 + [OK, TIMEOUT, OK, OK] + [TIMEOUT] * 276
    seen = restart.fail_open(samples(*outcomes), RESTART)
    assert (seen.admitted, seen.first_admitted_s, seen.window_s) == (3, 2.0, 0.3)
    ok, reason = restart.denied_throughout("to guarded", open_path)(seen)
    assert not ok and reason.startswith("fail-open during agent restart") and "3/300" in reason


def test_a_deny_not_in_force_before_or_a_silent_open_path_proves_nothing():
    open_path = restart.new_connections(samples(*[OK] * WHOLE), RESTART)
    leaky = restart.fail_open(samples(OK, *[TIMEOUT] * (WHOLE - 1)), RESTART)
    assert "not in force" in restart.denied_throughout("g", open_path)(leaky)[1]
    dead = restart.new_connections(samples(*[TIMEOUT] * WHOLE), RESTART)
    quiet = restart.fail_open(samples(*[TIMEOUT] * WHOLE), RESTART)
    ok, reason = restart.denied_throughout("g", dead)(quiet)
    assert not ok and "nothing proven" in reason


def test_the_restart_completed_only_with_a_ready_agent():
    assert restart.restart_completed(RESTART, 240) == (True, "the new kube-system/calico-node pod on worker2 was Ready 12.00 s after the delete")
    never = restart.Restart("kube-system/calico-node", "worker2", DELETED, None, DELETED + 240)
    ok, reason = restart.restart_completed(never, 240)
    assert not ok and "not Ready within 240 s" in reason
    assert never.to_dict() == {"agent": "kube-system/calico-node", "node": "worker2", "ready_after_s": None, "observed_s": 240.0}
