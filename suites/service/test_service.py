"""Service suite: what Kubernetes promises about Services, checked with real traffic.

Each test is one named scenario: its title says what a working cluster does, its body sends the
probes and judges them through the shared probes.
"""
from __future__ import annotations

from collections import Counter

import pytest

from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.probes import http, udp
from cnimatrix.stats import min_requests_for, spread_verdict, sticky_verdict
from cnimatrix.testkit import expect
from fixtures.outside import address_of

pytestmark = pytest.mark.suite("service")


def hostnames(results) -> Counter:
    return Counter(r.reply for r in results if r.ok)


def failures(results) -> str:
    bad = Counter(f"{r.outcome.value}" for r in results if not r.ok)
    sample = next((r.reply for r in results if not r.ok), "")
    return f"{dict(bad)} e.g. {sample[:120]!r}" if bad else ""


def spread_judge(expected: set[str]):
    def judge(results):
        if any(not r.ok for r in results):
            return False, f"{sum(not r.ok for r in results)}/{len(results)} probes failed: {failures(results)}"
        verdict = spread_verdict(hostnames(results), expected)
        return verdict.ok, verdict.reason or f"spread ok, p={verdict.p_value:.3g}"
    return judge


def node_id(node: str) -> str:
    return node.split("-", 2)[-1] if node.count("-") >= 2 else node


# Client placements by role, never by node name: the ids stay those of kind's default shape.
PLACEMENTS = {"control-plane": ("control_plane", 0), "worker": ("workers", 0), "worker2": ("workers", 1)}


@pytest.mark.title("ClusterIP reaches every ready backend, evenly, from a client on each node")
@pytest.mark.parametrize("where", ["control-plane", "worker", "worker2"])
def test_clusterip_spreads_over_all_backends(svc, record, where):
    role, index = PLACEMENTS[where]
    node = getattr(svc, role)[index]
    ready = {p.name for p in svc.ready_backends()}
    n = min_requests_for(len(ready))
    target = f"{svc.cluster_ip('web')}:80/hostname"
    expect(record, "spread", lambda: http(svc.client(node), [target] * n), spread_judge(ready),
           timeout="steady", stable=2, what=f"ClusterIP from {node}")
    record.metrics["requests_per_round"] = n


@pytest.mark.title("NodePort answers on every node's IP, from backends of the Service")
def test_nodeport_on_every_node(svc, record):
    port = svc.node_port("web-nodeport")
    ready = {p.name for p in svc.ready_backends()}
    targets = [f"{ip}:{port}/hostname" for ip in svc.nodes.values() for _ in range(5)]

    def judge(results):
        bad = [r for r in results if not r.ok or r.reply not in ready]
        return not bad, f"{len(bad)}/{len(results)} bad: " + "; ".join(f"{r.target} {r.outcome.value} {r.reply[:60]!r}" for r in bad[:3])

    expect(record, "nodeport", lambda: http(svc.client(svc.workers[0]), targets), judge,
           timeout="steady", stable=2, what=f"NodePort {port}")


@pytest.mark.title("sessionAffinity ClientIP sends every request of a client to one backend")
@pytest.mark.requires("session_affinity")
def test_session_affinity_client_ip(svc, record):
    target = f"{svc.cluster_ip('web-affinity')}:80/hostname"
    ready = {p.name for p in svc.ready_backends()}

    def judge(results):
        if any(not r.ok for r in results):
            return False, f"probes failed: {failures(results)}"
        ok, reason = sticky_verdict([r.reply for r in results])
        return ok and results[0].reply in ready, reason or "sticky"

    for node in svc.workers:
        expect(record, f"affinity-{node_id(node)}", lambda: http(svc.client(node), [target] * 20), judge,
               timeout="steady", stable=2, what=f"affinity from {node}")


@pytest.mark.title("Endpoints follow scale-up and scale-down: traffic reaches exactly the ready backends")
def test_endpoints_follow_scaling(svc, record):
    target = f"{svc.cluster_ip('web')}:80/hostname"

    def observe_against(expected_count):
        def observe():
            ready = {p.name for p in svc.ready_backends()}
            n = min_requests_for(max(len(ready), 1))
            return ready, http(svc.client(svc.workers[0]), [target] * n)

        def judge(obs):
            ready, results = obs
            if len(ready) != expected_count:
                return False, f"{len(ready)} ready backends, waiting for {expected_count}"
            if any(not r.ok for r in results):
                return False, f"probes failed: {failures(results)}"
            seen = set(hostnames(results))
            if seen != ready:
                return False, f"answered by {sorted(seen)}, ready are {sorted(ready)}"
            return True, "traffic matches the ready set"
        return observe, judge

    try:
        for replicas, label in ((6, "scale-up"), (2, "scale-down")):
            svc.ns.scale("web", replicas)
            observe, judge = observe_against(replicas)
            expect(record, label, observe, judge,
                   timeout="change", stable=3, what=f"{label} to {replicas}")
    finally:
        svc.restore_backends()


@pytest.mark.title("A backend that turns unready stops getting traffic, and gets it again when ready")
def test_readiness_flip(svc, record):
    victim = svc.ready_backends()[0]
    target = f"{svc.cluster_ip('web')}:80/hostname"
    flip = svc.ns.executor(victim.name, "netexec")

    def observe():
        ready = {p.name for p in svc.ready_backends()}
        return ready, http(svc.client(svc.workers[0]), [target] * min_requests_for(4))

    def judge_without(obs):
        ready, results = obs
        if victim.name in ready:
            return False, f"{victim.name} still Ready"
        if any(not r.ok for r in results):
            return False, f"probes failed: {failures(results)}"
        hits = hostnames(results)[victim.name]
        return hits == 0, f"unready {victim.name} answered {hits} of {len(results)}"

    def judge_with(obs):
        ready, results = obs
        hits = hostnames(results)[victim.name]
        return victim.name in ready and hits > 0 and all(r.ok for r in results), \
            f"{victim.name} ready={victim.name in ready}, answered {hits}; {failures(results)}"

    try:
        flip.sh("touch /tmp/unready", timeout_s=20)
        expect(record, "unready", observe, judge_without,
               timeout="change", stable=3, what="after the readiness flip to unready")
    finally:
        flip.sh("rm -f /tmp/unready", timeout_s=20)
    expect(record, "ready-again", observe, judge_with,
           timeout="change", stable=2, what="after the readiness flip back to ready")


@pytest.mark.title("A headless Service resolves to exactly the ready pod IPs, each answering as itself")
def test_headless_service(svc, record):
    name = f"web-headless.{svc.ns.name}.svc"
    client = svc.client(svc.workers[0])

    def observe():
        ready = {p.ip: p.name for p in svc.ready_backends()}
        resolved = set(client.sh(f"getent ahostsv4 {name} | awk '{{print $1}}' | sort -u", timeout_s=20).split())
        answers = http(client, [f"{ip}:8080/hostname" for ip in sorted(resolved)])
        return ready, resolved, answers

    def judge(obs):
        ready, resolved, answers = obs
        if resolved != set(ready):
            return False, f"{name} -> {sorted(resolved)}, ready pod IPs {sorted(ready)}"
        wrong = [a for a in answers if not a.ok or a.reply != ready[a.target.split(':')[0]]]
        return not wrong, f"{len(wrong)} pod IPs did not answer as their pod: {failures(wrong) or [a.reply for a in wrong]}"

    expect(record, "headless", observe, judge,
           timeout="steady", stable=2, what="headless Service")


@pytest.mark.title("A pod reaches itself through its own Service (hairpin)")
@pytest.mark.requires("hairpin")
def test_hairpin(svc, record):
    pod = svc.ns.pods("app=solo")[0]
    targets = [f"{svc.cluster_ip('solo')}:80/hostname"] * 5

    def judge(results):
        bad = [r for r in results if not r.ok or r.reply != pod.name]
        return not bad, f"{len(bad)}/{len(results)} hairpin requests failed: {failures(bad) or [r.reply for r in bad]}"

    expect(record, "hairpin", lambda: http(svc.ns.executor(pod.name), targets), judge,
           timeout="steady", stable=2, what=f"hairpin from {pod.name}")


@pytest.mark.title("A multi-port Service sends each port to its named targetPort")
def test_multiport_named_target_ports(svc, record):
    ip = svc.cluster_ip("web")
    ready = {p.name for p in svc.ready_backends()}
    targets = [f"{ip}:80/echo?msg=cnimatrix-http"] * 5 + [f"{ip}:9376/"] * 5

    def judge(results):
        http_port, hostname_port = results[:5], results[5:]
        bad = [r for r in http_port if not r.ok or r.reply != "cnimatrix-http"]
        bad += [r for r in hostname_port if not r.ok or r.reply not in ready]
        return not bad, "; ".join(f"{r.target}: {r.outcome.value} {r.reply[:60]!r}" for r in bad[:4])

    expect(record, "multiport", lambda: http(svc.client(svc.workers[1]), targets), judge,
           timeout="steady", stable=2, what="multi-port Service")


@pytest.mark.title("A UDP Service answers from every ready backend")
@pytest.mark.requires("udp_services")
def test_udp_service(svc, record):
    ready = {p.name for p in svc.ready_backends()}
    target = f"{svc.cluster_ip('web')}:81"
    n = min_requests_for(len(ready))
    # Each datagram comes from a new source port, so kube-proxy balances them like new flows.
    expect(record, "udp", lambda: udp(svc.client(svc.workers[0]), [target] * n), spread_judge(ready),
           timeout=60, stable=2, what="UDP Service")


@pytest.mark.title("internalTrafficPolicy Local keeps traffic on the client's node and drops it where no backend runs")
def test_internal_traffic_policy_local(svc, record):
    target = f"{svc.cluster_ip('web-itp-local')}:80/hostname"
    for node in svc.workers:
        local = {p.name for p in svc.ready_backends() if p.node == node}
        expect(record, f"local-{node_id(node)}", lambda: http(svc.client(node), [target] * min_requests_for(len(local))), spread_judge(local),
               timeout="steady", stable=2, what=f"internalTrafficPolicy Local from {node} (local backends {sorted(local)})")
    for node in svc.control_plane:
        def judge(results):
            answered = [r for r in results if r.ok]
            return not answered, f"{len(answered)}/{len(results)} answered from a node without local backends: {[r.reply for r in answered][:3]}"
        expect(record, f"no-local-{node_id(node)}", lambda: http(svc.client(node), [target] * 3, timeout_s=2), judge,
               timeout="steady", stable=1, what=f"internalTrafficPolicy Local from {node}")


@pytest.mark.title("externalTrafficPolicy Local: outside clients reach only node-local backends, keep their source IP, and nodes without backends drop")
def test_external_traffic_policy_local(svc, outside_client, record):
    port = svc.node_port("web-etp-local")
    client_ip = address_of(outside_client)
    for node, ip in svc.nodes.items():
        local = {p.name for p in svc.ready_backends() if p.node == node}
        if local:
            def judge(results, local=local):
                names = [r for r in results if r.target.endswith("/hostname")]
                sources = [r for r in results if r.target.endswith("/clientip")]
                bad = [r for r in names if not r.ok or r.reply not in local]
                bad += [r for r in sources if not r.ok or r.reply.rsplit(":", 1)[0] != client_ip]
                return not bad, "; ".join(f"{r.target}: {r.outcome.value} {r.reply[:60]!r}" for r in bad[:4])
            targets = [f"{ip}:{port}/hostname"] * 10 + [f"{ip}:{port}/clientip"] * 3
        else:
            def judge(results):
                answered = [r for r in results if r.ok or r.outcome is Outcome.REFUSED]
                return not answered, f"{len(answered)} of {len(results)} got an answer from a node without local backends"
            targets = [f"{ip}:{port}/hostname"] * 3
        expect(record, f"etp-{node_id(node)}", lambda: http(outside_client, targets), judge,
               timeout="steady", stable=2, what=f"externalTrafficPolicy Local via {node} ({ip}:{port}, local backends {sorted(local)})")
