"""Pod network suite: the CNI's own job, checked with real packets and no Services in between
(except where a ClusterIP is the point): addresses, reachability between pods and nodes over TCP,
UDP and ICMP, hostPort, masquerade on the way out, payloads at the MTU and beyond, the IP
lifecycle and set-up time, and the agnhost fixture the checks run in. The observations are in
podnet_probes.py, the judges in cnimatrix/podnet/scenarios.py.
"""
from __future__ import annotations

import pytest

from cnimatrix import versions as V
from cnimatrix.podnet.lifecycle import ANSWER_WAIT_S, START_DEADLINE_S
from cnimatrix.podnet.scenarios import (BLOB_BYTES, HOST_PORT, PAYLOADS, REACH, addresses_fine, agnhost_check_script,
                                        agnhost_problems, agnhost_seen, answered_as, answers_both_ways, arrived_whole,
                                        intact_at_size, seen_from_nodes)
from cnimatrix.probe.executors import each
from cnimatrix.testkit import TIMEOUTS, expect
from cnimatrix.testkit.cells import each_cell, node_id
from podnet_probes import (all_pod_addresses, digests_of, downloads, host_names, host_port_answers, host_port_sources,
                           keep_transfer_times, mtu_sized, node_pod_cidrs, outside_clientip, payload_paths, probes_in,
                           reach_targets, record_mtus, restarted_answers, stop_sandbox, tcp_udp_icmp, upstream_digests)

pytestmark = pytest.mark.suite("podnet")

# Each round probes from every node at once: three steady (two) change deadlines of the table are
# long enough for two such rounds when two cores are shared by several clusters.
STEADY_S = 3 * TIMEOUTS["steady"]
CHANGE_S = 2 * TIMEOUTS["change"]


@pytest.mark.title("Every pod has an address inside the cluster's pod CIDR, and no two pods share one")
def test_addresses_in_cluster_cidr_and_unique(podnet, record):
    if not podnet.cluster_cidrs:
        pytest.fail("the cluster's pod CIDR is unknown (no kubeadm-config, no podSubnet in the CNI's kind config)")
    expect(record, "addresses", lambda: all_pod_addresses(podnet), addresses_fine(podnet.cluster_cidrs),
           timeout=STEADY_S, stable=1, what=f"pod addresses in {', '.join(podnet.cluster_cidrs)}",
           then=lambda conv: record.metrics.update(pods=len(conv.last or [])))


@pytest.mark.title("Every pod's address lies inside its node's podCIDR")
@pytest.mark.requires("node_pod_cidr")
def test_addresses_in_node_pod_cidr(podnet, record):
    node_cidrs = node_pod_cidrs(podnet)
    record.metrics["node_pod_cidrs"] = node_cidrs
    expect(record, "node-podcidr", lambda: all_pod_addresses(podnet), addresses_fine(podnet.cluster_cidrs, node_cidrs),
           timeout=STEADY_S, stable=1, what="pod addresses in node podCIDRs")


@pytest.mark.title("A pod whose sandbox is restarted gets its network set up again and talks both ways at its address, on every node")
def test_restarted_pod_gets_connectivity(podnet, record):
    if not podnet.cluster.kind_nodes:
        pytest.skip("stops a pod sandbox with crictl inside the node: only on kind clusters cnimatrix created")
    nodes = podnet.node_names
    # each node's restarted pod talks with a client and a server on the next node: one CNI ADD per node
    peer_of = {node: nodes[(i + 1) % len(nodes)] for i, node in enumerate(nodes)}
    names = {node: f"restart-{node_id(node)}" for node in nodes}
    for node in nodes:
        podnet.ns.apply("podnet/restart", node=node, name=names[node])
    podnet.ns.wait_pods_ready("app=restart", len(nodes), timeout_s=180)
    before = {node_id(n): podnet.on("restart", n).ip for n in nodes}
    old = dict(zip(nodes, each(lambda n: stop_sandbox(podnet, n, names[n]), nodes)))
    peers = {n: (podnet.client(peer_of[n]), podnet.on("server", peer_of[n])) for n in nodes}
    judges = {node_id(n): answers_both_ways(old[n], peers[n][1].name, names[n]) for n in nodes}

    def observe():
        found = each(lambda n: restarted_answers(podnet, n, names[n], old[n], *peers[n]), nodes)
        return {node_id(n): (node_id(n), obs) for n, obs in zip(nodes, found)}
    expect(record, "restart", observe, each_cell(lambda pair: judges[pair[0]](pair[1]), "nodes"),
           timeout=CHANGE_S, stable=2, steady=False,
           what=f"a pod restarted on each of {len(nodes)} nodes after its sandbox was stopped",
           then=lambda conv: record.metrics.update(addresses={
               node: {"before": ip, "after": conv.last[node][1][1] if conv.last and node in conv.last else None}
               for node, ip in before.items()}))


@pytest.mark.parametrize("reach", [pytest.param(r, id=r.id, marks=pytest.mark.title(r.title)) for r in REACH])
def test_reachability(podnet, record, reach):
    plan = reach_targets(podnet, reach, host_names(podnet) if reach.target == "host" else {})
    executors = {src: podnet.executor(reach.source, src) for src in plan}
    observe = lambda: each(lambda src: (src, tcp_udp_icmp(executors[src], *plan[src][:3])), list(plan))
    record.metrics["probes_per_round"] = probes_in(plan)
    expect(record, reach.id, observe, answered_as({src: p[3] for src, p in plan.items()}, label=node_id, fine="every probe answered by its target"),
           timeout=STEADY_S, stable=2, what=reach.id)


@pytest.mark.title("A pod's hostPort answers on its node's IP from the other nodes, from pods on them and from outside the cluster")
@pytest.mark.requires("host_port")
def test_host_port(podnet, record):
    anchor = podnet.anchor()
    address = podnet.nodes[anchor.node]
    sources = host_port_sources(podnet, anchor.node)
    expected = {label: {f"{address}:{HOST_PORT}/hostname": anchor.name, f"{address}:{HOST_PORT}": anchor.name} for label, _ in sources}
    observe = lambda: each(lambda source: (source[0], host_port_answers(source[1], address)), sources)
    expect(record, "hostport", observe, answered_as(expected, fine="answered by the anchor pod"),
           timeout=STEADY_S, stable=2, what=f"hostPort {HOST_PORT} of {anchor.name} on {anchor.node} ({address})")


@pytest.mark.title("A pod's request leaving the cluster arrives from its node's address, not the pod's (masquerade)")
@pytest.mark.requires("egress_masquerade")
def test_egress_masquerade(podnet, record):
    if podnet.outside is None:
        pytest.skip("needs a server outside the cluster on the node network: only for kind clusters cnimatrix created")
    clients = {n: podnet.on("client", n) for n in podnet.node_names}
    observe = lambda: dict(each(lambda node: (node, outside_clientip(podnet, node)), list(clients)))
    expect(record, "masquerade", observe, seen_from_nodes(clients, podnet.nodes),
           timeout=STEADY_S, stable=2, what=f"requests to {podnet.outside_ip} outside the cluster")


@pytest.mark.title("A multi-megabyte HTTP response arrives intact between every pair of nodes")
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.id for p in PAYLOADS])
def test_large_transfer_across_nodes(podnet, record, payload):
    paths = payload_paths(podnet, payload.via, 8090, "/data/blob")
    digests = digests_of(podnet, paths)
    observe = lambda: [pair for pairs in each(lambda src: downloads(podnet, src, paths[src]), list(paths)) for pair in pairs]
    expect(record, payload.id, observe, arrived_whole(digests, BLOB_BYTES),
           timeout=CHANGE_S, stable=2, what=f"{BLOB_BYTES} bytes over {len(digests)} paths", then=keep_transfer_times(record))


@pytest.mark.title("Packets the size of the pod MTU (UDP, and ICMP to pods) cross between every pair of nodes intact without fragmenting")
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.id for p in PAYLOADS])
def test_packets_at_pod_mtu_across_nodes(podnet, record, payload):
    record.metrics["mtu"] = record_mtus(podnet)
    paths = payload_paths(podnet, payload.via, 8081 if payload.via == "pod" else 81)
    sized = lambda src: [mtu_sized(podnet, src, label, target, with_ping=payload.via == "pod") for label, target in paths[src]]
    observe = lambda: [path for paths_of in each(sized, list(paths)) for path in paths_of]
    expect(record, payload.id, observe, intact_at_size,
           timeout=STEADY_S, stable=2, what=f"packets at the pod MTU over {sum(map(len, paths.values()))} paths")


@pytest.mark.alone   # pod set-up time is the CNI's own: nothing else runs meanwhile
@pytest.mark.title("Pods created and deleted in batches, a round on each node, all get an address, and the IPAM gets every one back")
def test_ip_lifecycle_no_leak(podnet, lifecycle, record):
    record.metrics.update(podnet.metrics["ip_lifecycle"])
    assert not lifecycle.broken, f"not observed: {lifecycle.broken}"
    problems = [f"round {i + 1} on {node_id(r.node)}: {p}" for i, r in enumerate(lifecycle.rounds) for p in r.problems()]
    problems += lifecycle.address_problems
    assert not problems, "; ".join(problems[:6])


@pytest.mark.alone   # pod set-up time is the CNI's own: nothing else runs meanwhile
@pytest.mark.title("Every new pod's first packet is answered; pod network set-up time p50/p99 is reported")
def test_pod_network_setup_time(podnet, lifecycle, record):
    setup = podnet.metrics["setup"]
    record.metrics.update({k: setup.get(k) for k in ("count", "scheduled_to_answer_s")})
    assert not lifecycle.broken, f"not observed: {lifecycle.broken}"
    unanswered = [f"round {i + 1} on {node_id(r.node)}: {r.created - r.answered} of {r.created} ({r.running} running)"
                  for i, r in enumerate(lifecycle.rounds) if r.answered != r.created]
    assert not unanswered, (f"pods whose first packet was not answered ({ANSWER_WAIT_S}s after they ran, "
                            f"{START_DEADLINE_S}s for all to run): {'; '.join(unanswered)}")


@pytest.mark.title("The agnhost fixture image carries what upstream agnhost's tests rely on")
def test_agnhost_fixture_fidelity(podnet, record):
    seen = agnhost_seen(podnet.client(podnet.workers[0]).sh(agnhost_check_script(), timeout_s=60))
    problems = agnhost_problems(seen, upstream_digests(record))
    record.metrics["tools"] = seen
    assert not problems, f"agnhost {V.AGNHOST} here lacks: {', '.join(problems)}"
