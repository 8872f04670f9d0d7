"""Pod network suite: the CNI's own job, checked with real packets and no Services in between
(except where a ClusterIP is the point): addresses, reachability between pods and nodes over TCP,
UDP and ICMP, hostPort, masquerade on the way out, payloads at the MTU and beyond, the IP
lifecycle and set-up time, and the agnhost fixture the checks run in.
"""
from __future__ import annotations

import hashlib
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client

from cnimatrix import upstream
from cnimatrix.podnet.lifecycle import ANSWER_WAIT_S, START_DEADLINE_S
from cnimatrix import versions as V
from cnimatrix.podnet.scenarios import (AGNHOST_FILES, AGNHOST_TOOLS, BLOB_BYTES, HOST_HTTP, HOST_PORT, HOST_UDP,
                                        OUTSIDE_HTTP, OUTSIDE_UDP, PAYLOADS, REACH, PodAddresses, address_problems,
                                        mismatches, pairs, payload_for_mtu, source_ip)
from cnimatrix.probe.outcomes import fields
from cnimatrix.probe.probes import datagram, download, http, many, ping, udp
from cnimatrix.testkit import TIMEOUTS, expect

pytestmark = pytest.mark.suite("podnet")

# Each round probes from every node at once: three steady (two) change deadlines of the table are
# long enough for two such rounds when two cores are shared by several clusters.
STEADY_S = 3 * TIMEOUTS["steady"]
CHANGE_S = 2 * TIMEOUTS["change"]


def each(run, items: list) -> list:
    """run(item) for every item at once, results in order; each item execs through its own
    executor (PodnetEnv.exec_in), never one another thread uses."""
    with ThreadPoolExecutor(max_workers=max(len(items), 1)) as pool:
        return list(pool.map(run, items))


def short(node: str) -> str:
    return node.rsplit("-", 1)[-1] if node.count("-") >= 2 else node


def all_pod_addresses(podnet) -> list[PodAddresses]:
    """Every running pod on the pod network, in every namespace."""
    found = []
    for pod in client.CoreV1Api(podnet.cluster.api()).list_pod_for_all_namespaces().items:
        if pod.spec.host_network or pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
            continue
        ips = tuple(p.ip for p in pod.status.pod_ips or []) or ((pod.status.pod_ip,) if pod.status.pod_ip else ())
        found.append(PodAddresses(f"{pod.metadata.namespace}/{pod.metadata.name}", pod.spec.node_name, ips))
    return found


@pytest.mark.title("Every pod has an address inside the cluster's pod CIDR, and no two pods share one")
def test_addresses_in_cluster_cidr_and_unique(podnet, record):
    if not podnet.cluster_cidrs:
        pytest.fail("the cluster's pod CIDR is unknown (no kubeadm-config, no podSubnet in the CNI's kind config)")
    observe = lambda: all_pod_addresses(podnet)
    judge = lambda pods: (not (p := address_problems(pods, podnet.cluster_cidrs)), "; ".join(p[:5]) or f"{len(pods)} pods fine")
    expect(record, "addresses", observe, judge, timeout=STEADY_S, stable=1,
           what=f"pod addresses in {', '.join(podnet.cluster_cidrs)}",
           then=lambda conv: record.metrics.update(pods=len(conv.last or [])))


@pytest.mark.title("Every pod's address lies inside its node's podCIDR")
@pytest.mark.requires("node_pod_cidr")
def test_addresses_in_node_pod_cidr(podnet, record):
    node_cidrs = {n.metadata.name: list(n.spec.pod_cidrs or ([n.spec.pod_cidr] if n.spec.pod_cidr else []))
                  for n in client.CoreV1Api(podnet.cluster.api()).list_node().items}
    observe = lambda: all_pod_addresses(podnet)
    judge = lambda pods: (not (p := address_problems(pods, podnet.cluster_cidrs, node_cidrs)), "; ".join(p[:5]) or "fine")
    record.metrics["node_pod_cidrs"] = node_cidrs
    expect(record, "node-podcidr", observe, judge,
           timeout=STEADY_S, stable=1, what="pod addresses in node podCIDRs")


def ready_sandboxes(podnet, node: str, pod: str) -> list[str]:
    out = subprocess.run(["docker", "exec", node, "crictl", "--timeout", "50s", "pods", "--namespace", podnet.ns.name, "--name", f"^{pod}$",
                          "--state", "ready", "-q"], capture_output=True, text=True, timeout=60)
    return out.stdout.split()


@pytest.mark.title("A pod whose sandbox is restarted gets its network set up again and talks both ways at its address")
def test_restarted_pod_gets_connectivity(podnet, record):
    if not podnet.cluster.kind_nodes:
        pytest.skip("stops a pod sandbox with crictl inside the node: only on kind clusters cnimatrix created")
    node, peer_node = podnet.workers[0], podnet.anchor_node
    podnet.ns.apply("podnet/restart", node=node)
    podnet.ns.wait_pods_ready("app=restart", 1, timeout_s=180)
    before = podnet.on("restart", node)
    old = ready_sandboxes(podnet, node, "restart")
    assert len(old) == 1, f"expected one ready sandbox for pod restart on {node}, crictl says {old}"
    stopped = subprocess.run(["docker", "exec", node, "crictl", "--timeout", "110s", "stopp", old[0]], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, f"crictl stopp {old[0][:12]} on {node}: {stopped.stderr.strip()[-300:]}"
    peer = podnet.client(peer_node)
    server = podnet.on("server", peer_node)

    def observe():
        sandboxes = ready_sandboxes(podnet, node, "restart")
        pods = [p for p in podnet.ns.pods("app=restart") if p.ready]
        if not pods or not sandboxes or sandboxes == old:
            return sandboxes, None, [], []
        ip = pods[0].ip
        inbound = many(peer, [f"{ip}:8080/hostname"], [f"{ip}:8081"])
        outbound = many(podnet.exec_in("restart"), [f"{server.ip}:8080/hostname"], [f"{server.ip}:8081"])
        return sandboxes, ip, inbound[0] + inbound[1] + ping(peer, [ip]), outbound[0] + outbound[1]

    def judge(obs):
        sandboxes, ip, inbound, outbound = obs
        if ip is None:
            return False, f"waiting for a new ready sandbox (ready: {sandboxes}, stopped: {old})"
        expected = {r.target: "restart" for r in inbound if ":" in r.target}
        expected |= {r.target: server.name for r in outbound}
        bad = mismatches(inbound + outbound, expected)
        return not bad, f"at {ip}: " + ("; ".join(bad[:4]) or "answers both ways")

    expect(record, "restart", observe, judge, timeout=CHANGE_S, stable=2, steady=False,
           what=f"pod restart on {node} after its sandbox {old[0][:12]} was stopped",
           then=lambda conv: record.metrics.update(addresses={"before": before.ip, "after": conv.last[1] if conv.last else None}))


def reach_targets(podnet, reach, names: dict[str, str]) -> dict[str, tuple[list[str], list[str], list[str], dict]]:
    """Per source node: TCP and UDP targets, ICMP addresses and who must answer each."""
    plan: dict[str, tuple[list[str], list[str], list[str], dict]] = {}
    for src, dst in pairs(reach, podnet.node_names):
        tcp, udps, icmp, expected = plan.setdefault(src, ([], [], [], {}))
        if reach.target == "pod":
            server = podnet.on("server", dst)
            ip, http_port, udp_port, name = server.ip, 8080, 8081, server.name
        else:
            ip, http_port, udp_port, name = podnet.nodes[dst], HOST_HTTP, HOST_UDP, names[dst]
        tcp.append(f"{ip}:{http_port}/hostname")
        udps.append(f"{ip}:{udp_port}")
        icmp.append(ip)
        expected[f"{ip}:{http_port}/hostname"] = expected[f"{ip}:{udp_port}"] = name
    return plan


@pytest.mark.parametrize("reach", [pytest.param(r, id=r.id, marks=pytest.mark.title(r.title)) for r in REACH])
def test_reachability(podnet, record, reach):
    names = {n: podnet.host(n).sh("hostname", timeout_s=20).strip() for n in podnet.node_names} if reach.target == "host" else {}
    plan = reach_targets(podnet, reach, names)

    executors = {src: podnet.executor(reach.source, src) for src in plan}

    def probe(src: str):
        tcp, udps, icmp, _ = plan[src]
        executor = executors[src]
        tcp_results, udp_results = many(executor, tcp, udps)
        return src, tcp_results + udp_results + ping(executor, icmp)

    observe = lambda: each(probe, list(plan))

    def judge(observed):
        bad = [f"from {short(src)}: {line}" for src, results in observed for line in mismatches(results, plan[src][3])]
        return not bad, "; ".join(bad[:6]) or "every probe answered by its target"

    record.metrics["probes_per_round"] = sum(len(t) + len(u) + len(i) for t, u, i, _ in plan.values())
    expect(record, reach.id, observe, judge,
           timeout=STEADY_S, stable=2, what=reach.id)


@pytest.mark.title("A pod's hostPort answers on its node's IP from the other nodes, from pods on them and from outside the cluster")
@pytest.mark.requires("host_port")
def test_host_port(podnet, record):
    anchor = podnet.anchor()
    address = podnet.nodes[anchor.node]
    sources = [(f"node {short(n)}", podnet.host(n)) for n in podnet.node_names if n != anchor.node]
    sources += [(f"pod on {short(n)}", podnet.client(n)) for n in podnet.node_names if n != anchor.node]
    if podnet.outside is not None:
        sources.append(("outside", podnet.outside))
    tcp, udp_target = f"{address}:{HOST_PORT}/hostname", f"{address}:{HOST_PORT}"

    observe = lambda: each(lambda source: (source[0], sum(many(source[1], [tcp], [udp_target]), [])), sources)

    def judge(observed):
        bad = [f"from {label}: {line}" for label, results in observed
               for line in mismatches(results, {tcp: anchor.name, udp_target: anchor.name})]
        return not bad, "; ".join(bad[:6]) or "answered by the anchor pod"

    expect(record, "hostport", observe, judge,
           timeout=STEADY_S, stable=2, what=f"hostPort {HOST_PORT} of {anchor.name} on {anchor.node} ({address})")


@pytest.mark.title("A pod's request leaving the cluster arrives from its node's address, not the pod's (masquerade)")
@pytest.mark.requires("egress_masquerade")
def test_egress_masquerade(podnet, record):
    if podnet.outside is None:
        pytest.skip("needs a server outside the cluster on the node network: only for kind clusters cnimatrix created")
    clients = {n: podnet.on("client", n) for n in podnet.node_names}

    def probe(node: str):
        return node, (http(podnet.client(node), [f"{podnet.outside_ip}:{OUTSIDE_HTTP}/clientip"] * 2)
                      + udp(podnet.client(node), [f"{podnet.outside_ip}:{OUTSIDE_UDP}"], payload="clientip"))

    observe = lambda: dict(each(probe, list(clients)))

    def judge(observed):
        bad = []
        for node, results in observed.items():
            for r in results:
                if not r.ok:
                    bad.append(f"from {clients[node].name} ({clients[node].ip}): {r.outcome.value} {r.reply[:80]!r}")
                elif source_ip(r.reply) != podnet.nodes[node]:
                    bad.append(f"from {clients[node].name} ({clients[node].ip}): seen as {source_ip(r.reply)}, "
                               f"node {node} is {podnet.nodes[node]}")
        return not bad, "; ".join(bad[:4]) or "seen from the node addresses"

    expect(record, "masquerade", observe, judge,
           timeout=STEADY_S, stable=2, what=f"requests to {podnet.outside_ip} outside the cluster")


def payload_target(podnet, via: str, port: int, path: str = "") -> str:
    address = podnet.anchor().ip if via == "pod" else podnet.cluster_ip("anchor")
    return f"{address}:{port}{path}"


@pytest.mark.title("A multi-megabyte HTTP response arrives intact across nodes")
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.id for p in PAYLOADS])
def test_large_transfer_across_nodes(podnet, record, payload):
    sources = [n for n in podnet.node_names if n != podnet.anchor_node]
    digest = http(podnet.client(sources[0]), [f"{podnet.anchor().ip}:8090/data/blob.sha256"])[0]
    assert digest.ok and len(digest.reply) == 64, f"the anchor's digest of its file: {digest.outcome.value} {digest.reply[:80]!r}"
    target = payload_target(podnet, payload.via, 8090, "/data/blob")

    observe = lambda: each(lambda node: (node, download(podnet.client(node), [target])[0]), sources)

    def judge(observed):
        bad = []
        for node, r in observed:
            got = fields(r.reply)
            if not r.ok or got.get("sha256") != digest.reply:
                bad.append(f"from {short(node)}: {r.outcome.value} {got.get('bytes', '?')} bytes, sha256 {got.get('sha256', '')[:12]} "
                           f"(want {BLOB_BYTES} bytes, {digest.reply[:12]}) {r.reply[:100]!r}")
        return not bad, "; ".join(bad) or "every byte arrived"

    def transfer_times(conv) -> None:
        if conv.last:
            record.metrics["transfer_ms"] = {short(n): r.ms for n, r in conv.last}

    expect(record, payload.id, observe, judge, timeout=CHANGE_S, stable=2, what=f"{BLOB_BYTES} bytes from {target}",
           then=transfer_times)


def record_mtus(podnet) -> dict:
    """The MTU each node's pods got, the nodes' own and their tunnel devices', once per run."""
    if "mtu" not in podnet.metrics:
        tunnels = {}
        for node in podnet.node_names:
            lines = podnet.host(node).sh("ip -o -d link show | grep -E ' (vxlan|geneve|ipip|wireguard) ' || true", timeout_s=20)
            tunnels[node] = {line.split(":")[1].strip().split("@")[0]: int(line.split(" mtu ")[1].split()[0])
                             for line in lines.splitlines() if " mtu " in line}
        anchor_ip = podnet.anchor().ip
        podnet.metrics["mtu"] = {"pod": {n: podnet.mtu(podnet.client(n)) for n in podnet.node_names},
                                 "pod_route_to_anchor": {n: podnet.mtu_to(podnet.client(n), anchor_ip) for n in podnet.node_names},
                                 "node": {n: podnet.mtu(podnet.host(n)) for n in podnet.node_names},
                                 "tunnels": tunnels}
    return podnet.metrics["mtu"]


@pytest.mark.title("Packets the size of the pod MTU (UDP, and ICMP to pods) cross nodes intact without fragmenting")
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.id for p in PAYLOADS])
def test_packets_at_pod_mtu_across_nodes(podnet, record, payload):
    mtus = record_mtus(podnet)
    record.metrics["mtu"] = mtus
    sources = [n for n in podnet.node_names if n != podnet.anchor_node]
    udp_target = payload_target(podnet, payload.via, 8081 if payload.via == "pod" else 81)
    anchor_ip = podnet.anchor().ip

    def probe(node: str):
        executor = podnet.client(node)
        # read again (the MTU is what is under test), toward this destination: a route may say less than eth0
        size = payload_for_mtu(podnet.mtu_to(executor, udp_target.split(":")[0]))
        results = datagram(executor, [udp_target], size)
        if payload.via == "pod":
            results += ping(executor, [anchor_ip], size=size, dont_fragment=True)
        return node, size, results

    observe = lambda: each(probe, sources)

    def judge(observed):
        bad = []
        for node, size, results in observed:
            for r in results:
                got = fields(r.reply)
                if not r.ok or (":" in r.target and (got.get("intact") != "1" or got.get("bytes") != str(size - 5))):
                    bad.append(f"from {short(node)} ({size} + 28 bytes) to {r.target}: {r.outcome.value} {r.reply[:100]!r}")
        return not bad, "; ".join(bad) or "every packet arrived whole"

    expect(record, payload.id, observe, judge,
           timeout=STEADY_S, stable=2, what=f"packets at the pod MTU to {udp_target}")


@pytest.mark.title("Pods created and deleted in batches on one node all get an address, and the IPAM gets every one back")
def test_ip_lifecycle_no_leak(podnet, lifecycle, record):
    record.metrics.update(podnet.metrics["ip_lifecycle"])
    problems = [f"round {i + 1}: {p}" for i, r in enumerate(lifecycle.rounds) for p in r.problems()]
    problems += lifecycle.address_problems
    assert not problems, "; ".join(problems[:6])


@pytest.mark.title("Every new pod's first packet is answered; pod network set-up time p50/p99 is reported")
def test_pod_network_setup_time(podnet, lifecycle, record):
    setup = podnet.metrics["setup"]
    record.metrics.update({k: setup.get(k) for k in ("count", "scheduled_to_answer_s")})
    unanswered = [f"round {i + 1}: {r.created - r.answered} of {r.created} ({r.running} running)"
                  for i, r in enumerate(lifecycle.rounds) if r.answered != r.created]
    assert not unanswered, (f"pods whose first packet was not answered ({ANSWER_WAIT_S}s after they ran, "
                            f"{START_DEADLINE_S}s for all to run): {'; '.join(unanswered)}")


@pytest.mark.title("The agnhost fixture image carries what upstream agnhost's tests rely on")
def test_agnhost_fixture_fidelity(podnet, record):
    executor = podnet.client(podnet.workers[0])
    script = "; ".join(f"({command}) >/dev/null 2>&1; echo \"@@{name} $?\"" for name, command in AGNHOST_TOOLS.items())
    script += "; " + "; ".join(f"echo \"@@{path} $(sha256sum < {path} 2>/dev/null | cut -c1-64)\"" for path in AGNHOST_FILES)
    seen = dict(line[2:].split(" ", 1) for line in executor.sh(script, timeout_s=60).splitlines() if line.startswith("@@") and " " in line)
    missing = [name for name in AGNHOST_TOOLS if seen.get(name) != "0"]
    wrong = []
    for path, upstream_path in AGNHOST_FILES.items():
        try:
            want = hashlib.sha256(upstream.module_file("k8s.io/kubernetes", V.KUBERNETES, upstream_path).read_bytes()).hexdigest()
        except upstream.UpstreamError as exc:
            want = None
            record.notes.append(f"{path}: not compared with upstream ({exc})")
        if len(seen.get(path, "")) != 64 or seen[path] == hashlib.sha256(b"").hexdigest():
            wrong.append(f"{path} missing")
        elif want and seen[path] != want:
            wrong.append(f"{path} differs from upstream's {upstream_path}")
    record.metrics["tools"] = seen
    assert not missing and not wrong, f"agnhost {V.AGNHOST} here lacks: {', '.join(missing + wrong)}"
