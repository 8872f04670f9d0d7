"""The probe engine's pure parts: parsing batched probe output, classifying failures, converging."""
import itertools
import time

import pytest

from cnimatrix.probe.engine import Outcome, classify_http, classify_udp, converge, parse_lines


@pytest.mark.parametrize("rc, text, outcome", [
    (0, "web-1", Outcome.OK),
    (7, "curl: (7) Failed to connect to 10.96.0.10 port 80 after 1 ms: Connection refused", Outcome.REFUSED),
    (28, "curl: (28) Connection timed out after 2001 milliseconds", Outcome.TIMEOUT),
    (6, "curl: (6) Could not resolve host: web", Outcome.DNS),
    (7, "curl: (7) Failed to connect to 10.0.0.1 port 80: No route to host", Outcome.ERROR),
    (56, "curl: (56) Recv failure: Connection reset by peer", Outcome.ERROR),
])
def test_classify_http(rc, text, outcome):
    assert classify_http(rc, text) is outcome


@pytest.mark.parametrize("rc, text, outcome", [
    (0, "web-1", Outcome.OK),
    (124, "", Outcome.TIMEOUT),
    (1, "dd: error reading 'standard input': Connection refused", Outcome.REFUSED),
    (1, "bash: line 1: web: Temporary failure in name resolution", Outcome.DNS),
    (0, "", Outcome.ERROR),  # an empty datagram is no answer we can judge
])
def test_classify_udp(rc, text, outcome):
    assert classify_udp(rc, text) is outcome


def test_parse_lines_keeps_order_and_marks_missing_probes():
    output = "noise\n@@2\t7\t1500\tcurl: (7) Connection refused\n@@1\t0\t2500\tweb-1\n"
    results = parse_lines(output, ["a", "b", "c"], classify_http)
    assert [r.target for r in results] == ["a", "b", "c"]
    assert [r.outcome for r in results] == [Outcome.OK, Outcome.REFUSED, Outcome.ERROR]
    assert results[0].ms == 2.5 and results[0].reply == "web-1"
    assert "no result line" in results[2].reply


def test_parse_lines_ignores_malformed_and_out_of_range_lines():
    results = parse_lines("@@x\t0\t1\tbad\n@@9\t0\t1\tfar\n@@1\t0\t1\n", ["a"], classify_http)
    # only the well-formed line for target 1 counts: a connection that answered with an empty body
    assert results[0].outcome is Outcome.OK and results[0].reply == ""


def test_converge_needs_a_stable_streak():
    values = iter([False, True, False, True, True, True])
    conv = converge(lambda: next(values), lambda v: (v, str(v)), deadline_s=5, stable=3, interval_s=0)
    assert conv.ok and conv.count == 6
    assert conv.flapped  # a match was lost once before it held
    assert conv.lost is conv.attempts[2]
    assert conv.settle_s is not None


def test_converge_times_out_with_the_last_reason():
    counter = itertools.count()
    conv = converge(lambda: next(counter), lambda v: (False, f"seen {v}"), deadline_s=0.2, stable=1, interval_s=0.05)
    assert not conv.ok and conv.count >= 2
    assert conv.reason == f"seen {conv.last}"
    assert conv.settle_s is None


def test_converge_lets_a_streak_under_way_finish_after_the_deadline():
    # Slow rounds (a loaded host): the first match lands just before the deadline.
    def slow():
        time.sleep(0.08)
        return True
    conv = converge(slow, lambda v: (v, "ok"), deadline_s=0.1, stable=3, interval_s=0)
    assert conv.ok and conv.count == 3


def test_converge_ends_at_the_first_miss_after_the_deadline():
    values = iter([False, True, True, False, True, True, True])

    def slow():
        time.sleep(0.05)
        return next(values)
    conv = converge(slow, lambda v: (v, str(v)), deadline_s=0.12, stable=3, interval_s=0)
    assert not conv.ok and conv.count == 4 and conv.flapped


def test_converge_first_try_is_not_flapping():
    conv = converge(lambda: 1, lambda v: (True, "ok"), deadline_s=1, stable=2, interval_s=0)
    assert conv.ok and conv.count == 2 and not conv.flapped
    assert all(a.matched for a in conv.attempts)


def test_converge_lets_observation_errors_through():
    def boom():
        raise RuntimeError("exec failed")
    with pytest.raises(RuntimeError, match="exec failed"):
        converge(boom, lambda v: (True, ""), deadline_s=1, stable=1, interval_s=0)


DIG_ANSWER = """@@1
- type: MESSAGE
  message:
    type: RECURSIVE_RESPONSE
    query_time: !!timestamp 2026-11-21T08:23:31.280Z
    response_message_data:
      status: NOERROR
      ANSWER_SECTION:
        - 'alias.ns.svc.cluster.local. 5 IN CNAME web.ns.svc.cluster.local.'
        - 'web.ns.svc.cluster.local. 5 IN A 10.96.4.2'
@@2
- type: MESSAGE
  message:
    response_message_data:
      status: NXDOMAIN
@@3
- type: DIG_ERROR
  message: |
    no servers could be reached
"""


def test_parse_dig_reads_answers_rcodes_and_transport_failures():
    from cnimatrix.probe.engine import parse_dig

    alias, missing, unreachable, absent = parse_dig(DIG_ANSWER, [("alias", "A"), ("nope", "A"), ("x", "A"), ("y", "SRV")])
    assert alias.ok and alias.status == "NOERROR"
    assert alias.values("CNAME") == {"web.ns.svc.cluster.local."} and alias.values() == {"10.96.4.2"}
    assert missing.ok and missing.status == "NXDOMAIN" and not missing.records
    assert unreachable.outcome is Outcome.TIMEOUT and "no servers" in unreachable.error
    assert absent.outcome is Outcome.ERROR


class CannedExecutor:
    name = "canned"

    def __init__(self, output: str):
        self.output, self.scripts = output, []

    def sh(self, script: str, timeout_s: float) -> str:
        self.scripts.append(script)
        return self.output


def test_many_splits_tcp_and_udp_lines_and_classifies_each():
    from cnimatrix.probe.engine import Outcome, many

    out = "\n".join([
        "@@1\t0\t1200\tpod-a", "@@2\t7\t300\tconnect: Connection refused", "@@3\t28\t1500000\ttimed out after 1.5 s",
        "@@4\t0\t900\tpod-b", "@@5\t1\t200\trecv: Connection refused",  # index 6 (UDP) never reported
    ])
    executor = CannedExecutor(out)
    tcp, udp_results = many(executor, ["10.0.0.1:80/hostname", "10.0.0.2:80/hostname", "10.0.0.3:80/hostname"],
                            ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], timeout_s=1.5)
    assert [r.outcome for r in tcp] == [Outcome.OK, Outcome.REFUSED, Outcome.TIMEOUT]
    assert tcp[0].reply == "pod-a" and tcp[0].ms == 1.2
    assert [r.outcome for r in udp_results] == [Outcome.OK, Outcome.REFUSED, Outcome.ERROR]
    assert udp_results[0].target == "10.0.0.1:80" and udp_results[0].reply == "pod-b"
    assert udp_results[2].reply.startswith("no result line")
    # one exec for all of them, with every target and the timeout on the command line
    assert len(executor.scripts) == 1
    assert "'t|10.0.0.3:80/hostname'" in executor.scripts[0] and "'u|10.0.0.2:80'" in executor.scripts[0]
    assert " 1.5 " in executor.scripts[0]


def test_many_with_nothing_to_probe_runs_nothing():
    from cnimatrix.probe.engine import many

    executor = CannedExecutor("")
    assert many(executor, [], []) == ([], []) and executor.scripts == []


def test_a_flaky_change_names_the_round_that_lost_its_match():
    """For a change the settling misses are expected; the note must also say what the lost round saw."""
    from cnimatrix.pytest_plugin import TestRecord
    from cnimatrix.probe.engine import Attempt, Convergence

    rounds = [(False, "6 ready backends, waiting for 2"), (True, "ok"), (False, "answered by a terminating pod"),
              (True, "ok"), (True, "ok"), (True, "ok")]
    attempts = [Attempt(float(i), m, r) for i, (m, r) in enumerate(rounds)]
    conv = Convergence(ok=True, attempts=attempts, flapped=True, lost=attempts[2])
    record = TestRecord()
    record.convergence("scale-down", conv, steady=False)
    assert record.flaky
    assert record.notes == ["scale-down: matched only after 2 miss(es), first: 6 ready backends, waiting for 2; "
                            "match lost at 2.0 s: answered by a terminating pod"]
    steady = TestRecord()
    steady.convergence("udp", Convergence(ok=True, attempts=[Attempt(0.0, False, "p=0.0005"), Attempt(1.0, True, "ok")]))
    assert steady.notes == ["udp: matched only after 1 miss(es), first: p=0.0005"]
