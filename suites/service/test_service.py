"""Service suite: what Kubernetes promises about Services, checked with real traffic.

Each test is one named scenario: its title says what a working cluster does, its body sends the
probes (observations in service_checks.py) and holds them to the judges of
cnimatrix/service/judges.py.
"""
from __future__ import annotations

import pytest

from cnimatrix.probe.probes import http
from cnimatrix.service.judges import (all_answered_by_itself, echo_then_hostnames, external_local_check, gets_no_traffic,
                                      gets_traffic_again, none_answered, reaches_each_of, resolves_to_ready_pods, spread_over,
                                      sticky_to_one_of, traffic_matches_ready)
from cnimatrix.stats import min_requests_for
from cnimatrix.testkit import expect
from cnimatrix.testkit.cells import each_cell, node_id
from fixtures.outside import address_of
from service_checks import (from_every_client, headless_answers, hostname_target, http_at_once, local_backends, placed,
                            placed_backends, ready_and_answers, ready_names, solo_name, udp_at_once)

pytestmark = pytest.mark.suite("service")


@pytest.mark.title("ClusterIP reaches every ready backend, evenly, from a client on each node")
@pytest.mark.parametrize("where", ["control-plane", "worker", "worker2"])
def test_clusterip_spreads_over_all_backends(svc, record, where):
    node = placed(svc, where)
    ready = ready_names(svc)
    n = min_requests_for(len(ready))
    target = hostname_target(svc, "web")
    expect(record, "spread", lambda: http(svc.client(node), [target] * n), spread_over(ready, placed_backends(svc)),
           timeout="steady", stable=2, what=f"ClusterIP from {node}")
    record.metrics["requests_per_round"] = n


@pytest.mark.title("NodePort on every node's IP reaches every ready backend, from a client on every node")
def test_nodeport_on_every_node(svc, record):
    port = svc.node_port("web-nodeport")
    ready = ready_names(svc)
    # Per (client, node IP) cell enough requests to reach every backend (p of missing one < 1e-6):
    # a backend unreachable through one node's NodePort, or from one client, is then seen.
    n = min_requests_for(len(ready))
    targets = {f"{node_id(node)} {ip}:{port}": [f"{ip}:{port}/hostname"] * n for node, ip in svc.nodes.items()}
    expect(record, "nodeport", lambda: from_every_client(svc, http_at_once, targets), each_cell(reaches_each_of(ready, placed_backends(svc)), "client -> node cells"),
           timeout="steady", stable=2, what=f"NodePort {port}")
    record.metrics["requests_per_round"] = n * len(targets) * len(svc.nodes)


@pytest.mark.title("sessionAffinity ClientIP sends every request of a client to one backend")
@pytest.mark.requires("session_affinity")
def test_session_affinity_client_ip(svc, record):
    target = hostname_target(svc, "web-affinity")
    sticky = sticky_to_one_of(ready_names(svc))
    for node in svc.nodes:
        expect(record, f"affinity-{node_id(node)}", lambda: http(svc.client(node), [target] * 20), sticky,
               timeout="steady", stable=2, what=f"affinity from {node}")


@pytest.mark.title("Endpoints follow scale-up and scale-down: traffic reaches exactly the ready backends")
def test_endpoints_follow_scaling(svc, record):
    target = hostname_target(svc, "web")
    try:
        for replicas, label in ((6, "scale-up"), (2, "scale-down")):
            svc.ns.scale("web", replicas)
            expect(record, label, lambda: ready_and_answers(svc, target), traffic_matches_ready(replicas),
                   timeout="change", stable=3, what=f"{label} to {replicas}")
    finally:
        svc.restore_backends()


@pytest.mark.title("A backend that turns unready stops getting traffic, and gets it again when ready")
def test_readiness_flip(svc, record):
    victim = svc.ready_backends()[0]
    target = hostname_target(svc, "web")
    flip = svc.ns.executor(victim.name, "netexec")
    observe = lambda: ready_and_answers(svc, target)
    try:
        flip.sh("touch /tmp/unready", timeout_s=20)
        expect(record, "unready", observe, gets_no_traffic(victim.name),
               timeout="change", stable=3, what="after the readiness flip to unready")
    finally:
        flip.sh("rm -f /tmp/unready", timeout_s=20)
    expect(record, "ready-again", observe, gets_traffic_again(victim.name),
           timeout="change", stable=2, what="after the readiness flip back to ready")


@pytest.mark.title("A headless Service resolves to exactly the ready pod IPs, each answering as itself")
def test_headless_service(svc, record):
    name = f"web-headless.{svc.ns.name}.svc"
    observe = lambda: {f"from {node_id(node)}": headless_answers(svc, svc.client(node), name) for node in svc.nodes}
    expect(record, "headless", observe, each_cell(resolves_to_ready_pods(name), "clients"),
           timeout="steady", stable=2, what="headless Service")


@pytest.mark.title("A pod reaches itself through its own Service (hairpin), on every node")
@pytest.mark.requires("hairpin")
def test_hairpin(svc, record):
    pods = {f"on {node_id(node)}": solo_name(node) for node in svc.nodes}
    observe = lambda: {cell: (pod, http(svc.ns.executor(pod), [hostname_target(svc, pod)] * 5)) for cell, pod in pods.items()}
    answered_by_itself = lambda seen: all_answered_by_itself(seen[0])(seen[1])
    expect(record, "hairpin", observe, each_cell(answered_by_itself, "nodes"),
           timeout="steady", stable=2, what="hairpin through each node's solo pod")


@pytest.mark.title("A multi-port Service sends each port to its named targetPort")
def test_multiport_named_target_ports(svc, record):
    ip = svc.cluster_ip("web")
    ready = ready_names(svc)
    n = min_requests_for(len(ready))   # per port and client: every backend's port is reached
    targets = {"ports": [f"{ip}:80/echo?msg=cnimatrix-http"] * n + [f"{ip}:9376/"] * n}
    expect(record, "multiport", lambda: from_every_client(svc, http_at_once, targets),
           each_cell(echo_then_hostnames("cnimatrix-http", n, ready), "clients"),
           timeout="steady", stable=2, what="multi-port Service")


@pytest.mark.title("A UDP Service answers from every ready backend, to a client on every node")
@pytest.mark.requires("udp_services")
def test_udp_service(svc, record):
    ready = ready_names(svc)
    target = f"{svc.cluster_ip('web')}:81"
    n = min_requests_for(len(ready))
    # Each datagram comes from a new source port, so kube-proxy balances them like new flows; from
    # every node, so a backend one node cannot reach over UDP is seen.
    expect(record, "udp", lambda: from_every_client(svc, udp_at_once, {target: [target] * n}),
           each_cell(reaches_each_of(ready, placed_backends(svc)), "client cells"),
           timeout=60, stable=2, what="UDP Service")
    record.metrics["requests_per_round"] = n * len(svc.nodes)


@pytest.mark.title("internalTrafficPolicy Local keeps traffic on the client's node and drops it where no backend runs")
def test_internal_traffic_policy_local(svc, record):
    target = hostname_target(svc, "web-itp-local")
    for node in svc.workers:
        local = local_backends(svc, node)
        expect(record, f"local-{node_id(node)}", lambda: http(svc.client(node), [target] * min_requests_for(len(local))), spread_over(local),
               timeout="steady", stable=2, what=f"internalTrafficPolicy Local from {node} (local backends {sorted(local)})")
    for node in svc.control_plane:
        expect(record, f"no-local-{node_id(node)}", lambda: http(svc.client(node), [target] * 3, timeout_s=2), none_answered,
               timeout="steady", stable=1, what=f"internalTrafficPolicy Local from {node}")


@pytest.mark.title("externalTrafficPolicy Local: outside clients reach only node-local backends, keep their source IP, and nodes without backends drop")
def test_external_traffic_policy_local(svc, outside_client, record):
    port = svc.node_port("web-etp-local")
    client_ip = address_of(outside_client)
    for node, ip in svc.nodes.items():
        local = local_backends(svc, node)
        targets, judge = external_local_check(ip, port, local, client_ip)
        expect(record, f"etp-{node_id(node)}", lambda: http(outside_client, targets), judge,
               timeout="steady", stable=2, what=f"externalTrafficPolicy Local via {node} ({ip}:{port}, local backends {sorted(local)})")
