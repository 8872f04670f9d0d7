"""Reading probe output: classifying failures, parsing batched result lines and dig's YAML, and
`many`'s mixed TCP/UDP lines."""
import pytest

from cnimatrix.probe.outcomes import Outcome, classify_http, classify_udp, parse_lines


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
    from cnimatrix.probe.outcomes import parse_dig

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

    def ask(self, server: str, request: str, timeout_s: float) -> str:
        self.scripts.append(request)
        return self.output


def test_many_splits_tcp_and_udp_lines_and_classifies_each():
    from cnimatrix.probe.outcomes import Outcome
    from cnimatrix.probe.probes import many

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
    # one request for all of them: the timeout, then every target
    assert executor.scripts == ["1.5 t|10.0.0.1:80/hostname t|10.0.0.2:80/hostname t|10.0.0.3:80/hostname "
                                "u|10.0.0.1:80 u|10.0.0.2:80 u|10.0.0.3:80"]


def test_many_refuses_a_target_with_whitespace():
    from cnimatrix.probe.probes import many

    with pytest.raises(ValueError, match="whitespace"):
        many(CannedExecutor(""), ["10.0.0.1:80/a b"], [])


def test_many_with_nothing_to_probe_runs_nothing():
    from cnimatrix.probe.probes import many

    executor = CannedExecutor("")
    assert many(executor, [], []) == ([], []) and executor.scripts == []
