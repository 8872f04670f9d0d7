"""Graceful termination (issue 28, item 3). Backends that drain when deleted (a preStop sleep keeps
them terminating and serving) on worker2:
- in-flight: a client on worker sends one slow request through a ClusterIP with two such backends;
  the one whose log shows it is deleted while it works, and the request must still complete;
- terminating fallback (KEP-1669): an outside client's new connections to worker2's NodePort of an
  externalTrafficPolicy Local Service, whose only local endpoint is deleted (draining) while a ready
  one stays on worker, must be answered by the terminating local endpoint.
cnimatrix.day2.graceful holds the judgements; the figures go to metrics.day2 (inflight_request,
terminating_fallback)."""
from __future__ import annotations

import pytest
from day2_checks import token, wait_for
from graceful_checks import GracefulWorld

from cnimatrix.day2 import graceful
from cnimatrix.probe.probes import http
from cnimatrix.service.judges import reaches_each_of
from cnimatrix.testkit import expect
from cnimatrix.testkit.cells import node_id
from cnimatrix.testkit.run import run_metrics
from cnimatrix.testkit.timeouts import deadline

pytestmark = pytest.mark.suite("day2")

WORK_S = 8.0             # the in-flight request's time at the backend: its delete lands early in it
IN_FLIGHT_DRAIN_S = 30.0  # the deleted backend serves this long after its delete: past the request's end
FALLBACK_DRAIN_S = 60.0  # long enough for the EndpointSlice to show the drain and the probes to settle
FALLBACK_WATCH_S = 20.0  # new connections must be answered from the terminating endpoint within this
PROBES = 5               # per round, from the outside client to the node whose endpoint drains


@pytest.mark.title("graceful termination: an in-flight request through a ClusterIP completes while its backend is deleted and drains")
def test_inflight_request_completes_while_backend_terminates(graceful_world: GracefulWorld, record, request):
    env, group = graceful_world, f"if-{token()}"
    backends = [f"{group}-a", f"{group}-b"]
    for name in backends:
        env.backend(name, group, env.far, IN_FLIGHT_DRAIN_S)
    try:
        service_ip = env.cluster_ip(group, group)
        env.wait_ready(*backends)
        if not wait_for(lambda: env.reach(f"{service_ip}:8080/hostname"), deadline("change"), interval_s=0.5):   # a new Service
            pytest.fail(f"the ClusterIP {service_ip}:8080 never answered before the request: nothing proven", pytrace=False)
        seen = env.in_flight(service_ip, backends, WORK_S, accept_within_s=WORK_S / 2)
    finally:
        env.delete_now(*backends)
    record.metrics["inflight_request"] = run_metrics(request, "day2")["inflight_request"] = seen.to_dict()
    ok, reason = graceful.completes_in_flight(f"{node_id(env.near)} -> ClusterIP {service_ip}:8080")(seen)
    assert ok, reason


@pytest.mark.title("graceful termination: externalTrafficPolicy Local keeps answering new connections on a node whose only endpoint is terminating (KEP-1669)")
@pytest.mark.requires("terminating_endpoints")
def test_local_nodeport_answers_from_its_terminating_endpoint(graceful_world: GracefulWorld, outside_client, record, request):
    env, group = graceful_world, f"etp-{token()}"
    local, remote = f"{group}-local", f"{group}-remote"
    env.backend(local, group, env.far, FALLBACK_DRAIN_S)
    env.backend(remote, group, env.near, FALLBACK_DRAIN_S)    # ready throughout, on the other node
    sent: list = []

    def probe():
        results = http(outside_client, [target] * PROBES, timeout_s=2.0)
        sent.extend(results)
        return results

    try:
        port = env.local_node_port(group, group)
        target = f"{env.far_ip}:{port}/hostname"
        what = f"outside -> {node_id(env.far)} {env.far_ip}:{port}"
        env.wait_ready(local, remote)
        expect(record, "local-ready", lambda: http(outside_client, [target] * PROBES, timeout_s=2.0), reaches_each_of({local}),
               timeout="change", stable=2, what=f"{what} before the delete")   # a new Service: its rules may lag
        env.ns.core.delete_namespaced_pod(local, env.ns.name)   # drains FALLBACK_DRAIN_S
        if not wait_for(lambda: env.endpoint_draining(group, local), deadline("change"), interval_s=0.5):
            pytest.fail(f"the EndpointSlice never showed {local} serving and terminating: nothing proven", pytrace=False)
        expect(record, "terminating-local", probe, graceful.answered_by_terminating(what, local),
               timeout=FALLBACK_WATCH_S, stable=3, what=f"{what} with its only endpoint terminating",
               then=lambda _: keep_fallback(request, record, graceful.fallback(sent, local)))
        assert env.still_terminating(local), f"{local} was gone before the check ended: its drain did not cover it"
    finally:
        env.delete_now(local, remote)


def keep_fallback(request, record, seen: graceful.Fallback) -> None:
    record.metrics["terminating_fallback"] = run_metrics(request, "day2")["terminating_fallback"] = seen.to_dict()
