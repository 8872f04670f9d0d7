"""The front door's ways in (cnimatrix/ingress/frontdoor.py): which entries a check goes through,
and which entry a response came back from, so a wrong round names the replica that misbehaved."""
from cnimatrix.ingress.frontdoor import Entry, FrontDoor
from cnimatrix.ingress.routing import ok
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.web import Request, Response

PORTS = {"http": 80, "https": 443}


def door() -> FrontDoor:
    return FrontDoor(client=None, client_ip="172.18.0.9",
                     lb=Entry("lb", "172.18.254.1", PORTS), lb_local=Entry("lb-local", "172.18.254.2", PORTS),
                     node_ports=[Entry("nodeport-worker", "172.18.0.3", {"http": 30080, "https": 30443})],
                     replicas=[Entry("replica-worker", "172.18.0.3", {"http": 31080, "https": 31443}),
                               Entry("replica-worker2", "172.18.0.4", {"http": 31080, "https": 31443})])


def test_each_goes_through_the_load_balancer_and_every_replica_and_all_adds_the_node_ports():
    front = door()
    assert [e.name for e in front.entries("each")] == ["lb", "replica-worker", "replica-worker2"]
    assert [e.name for e in front.entries("all")] == ["lb", "nodeport-worker", "replica-worker", "replica-worker2"]
    assert [e.name for e in front.entries("lb")] == ["lb"]


def test_a_response_is_told_by_its_address_and_port():
    front = door()
    same_node = lambda port: Response(Request("172.18.0.3", port, "/"), Outcome.OK, 1.0, 200)
    assert front.entry_of(same_node(30080)) == "nodeport-worker"
    assert front.entry_of(same_node(31443)) == "replica-worker"
    assert front.entry_of(Response(Request("10.0.0.1", 80, "/"), Outcome.OK, 1.0, 200)) == "10.0.0.1:80"


def test_a_replica_that_times_out_is_named_in_the_round_verdict():
    front = door()
    check = ok("api", "/api", "example.com")
    sent = [check] * 3
    answered = '{"service": "api", "pod": "api-1", "path": "/api", "host": "example.com", "headers": {}}'
    responses = [Response(Request("172.18.254.1", 80, "/api", "example.com"), Outcome.OK, 1.0, 200, body=answered),
                 Response(Request("172.18.0.3", 31080, "/api", "example.com"), Outcome.OK, 1.0, 200, body=answered),
                 Response(Request("172.18.0.4", 31080, "/api", "example.com"), Outcome.TIMEOUT, 5000.0, error="timed out")]
    verdict = front.judge(sent, responses)
    assert not verdict.ok
    assert verdict.reason.startswith("1/3 wrong: via replica-worker2: 1/1 wrong")
    assert verdict.reason.endswith("; fine: lb, replica-worker")
