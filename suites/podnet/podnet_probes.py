"""What the pod network suite's scenarios observe: the pods' addresses, probe plans and the probes
run from every node at once, a restarted sandbox, MTUs. The judges are pure, in
cnimatrix/podnet/scenarios.py."""
from __future__ import annotations

import hashlib
import subprocess

from kubernetes import client

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.podnet.scenarios import (AGNHOST_FILES, HOST_HTTP, HOST_PORT, HOST_UDP, OUTSIDE_HTTP, OUTSIDE_UDP,
                                        PodAddresses, pairs, payload_for_mtu, tunnel_mtus)
from cnimatrix.probe.probes import datagram, download, http, many, ping, udp
from cnimatrix.testkit.cells import node_id


def other_nodes(podnet) -> list[str]:
    """The nodes other than the anchor's, where cross-node clients run."""
    return [n for n in podnet.node_names if n != podnet.anchor_node]


# --- addresses -------------------------------------------------------------------------------

def all_pod_addresses(podnet) -> list[PodAddresses]:
    """Every running pod on the pod network, in every namespace."""
    found = []
    for pod in client.CoreV1Api(podnet.cluster.api()).list_pod_for_all_namespaces().items:
        if pod.spec.host_network or pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
            continue
        ips = tuple(p.ip for p in pod.status.pod_ips or []) or ((pod.status.pod_ip,) if pod.status.pod_ip else ())
        found.append(PodAddresses(f"{pod.metadata.namespace}/{pod.metadata.name}", pod.spec.node_name, ips))
    return found


def node_pod_cidrs(podnet) -> dict[str, list[str]]:
    """Node -> its podCIDR(s), as the API shows them."""
    return {n.metadata.name: list(n.spec.pod_cidrs or ([n.spec.pod_cidr] if n.spec.pod_cidr else []))
            for n in client.CoreV1Api(podnet.cluster.api()).list_node().items}


# --- a restarted sandbox ---------------------------------------------------------------------

def ready_sandboxes(podnet, node: str, pod: str) -> list[str]:
    out = subprocess.run(["docker", "exec", node, "crictl", "--timeout", "50s", "pods", "--namespace", podnet.ns.name, "--name", f"^{pod}$",
                          "--state", "ready", "-q"], capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def stop_sandbox(podnet, node: str, pod: str) -> list[str]:
    """Stop the pod's one ready sandbox with crictl inside the node; the stopped sandbox's id, as a list."""
    old = ready_sandboxes(podnet, node, pod)
    assert len(old) == 1, f"expected one ready sandbox for pod {pod} on {node}, crictl says {old}"
    stopped = subprocess.run(["docker", "exec", node, "crictl", "--timeout", "110s", "stopp", old[0]], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, f"crictl stopp {old[0][:12]} on {node}: {stopped.stderr.strip()[-300:]}"
    return old


def restarted_answers(podnet, node: str, name: str, old: list[str], peer, server):
    """The restart pod `name`'s ready sandboxes on `node`; once a new one is ready, its address,
    what it answered the peer client (TCP, UDP, ICMP) and what the server answered it (TCP, UDP)."""
    sandboxes = ready_sandboxes(podnet, node, name)
    pods = [p for p in podnet.ns.pods("app=restart") if p.ready and p.name == name]
    if not pods or not sandboxes or sandboxes == old:
        return sandboxes, None, [], []
    ip = pods[0].ip
    inbound = many(peer, [f"{ip}:8080/hostname"], [f"{ip}:8081"])
    outbound = many(podnet.exec_in(name), [f"{server.ip}:8080/hostname"], [f"{server.ip}:8081"])
    return sandboxes, ip, inbound[0] + inbound[1] + ping(peer, [ip]), outbound[0] + outbound[1]


# --- reachability ----------------------------------------------------------------------------

def host_names(podnet) -> dict[str, str]:
    """Node -> the hostname its hostNetwork pod answers with."""
    return {n: podnet.host(n).sh("hostname", timeout_s=20).strip() for n in podnet.node_names}


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


def probes_in(plan) -> int:
    return sum(len(t) + len(u) + len(i) for t, u, i, _ in plan.values())


def tcp_udp_icmp(executor, tcp: list[str], udps: list[str], icmp: list[str]) -> list:
    tcp_results, udp_results = many(executor, tcp, udps)
    return tcp_results + udp_results + ping(executor, icmp)


def host_port_sources(podnet, anchor_node: str) -> list[tuple[str, object]]:
    """(label, executor) of every node and a pod on it, other than the anchor's, and of the
    server outside the cluster where there is one."""
    sources = [(f"node {node_id(n)}", podnet.host(n)) for n in podnet.node_names if n != anchor_node]
    sources += [(f"pod on {node_id(n)}", podnet.client(n)) for n in podnet.node_names if n != anchor_node]
    if podnet.outside is not None:
        sources.append(("outside", podnet.outside))
    return sources


def host_port_answers(executor, address: str) -> list:
    return sum(many(executor, [f"{address}:{HOST_PORT}/hostname"], [f"{address}:{HOST_PORT}"]), [])


def outside_clientip(podnet, node: str) -> list:
    """From the node's client pod, what the server outside the cluster saw as its source (TCP twice, UDP)."""
    return (http(podnet.client(node), [f"{podnet.outside_ip}:{OUTSIDE_HTTP}/clientip"] * 2)
            + udp(podnet.client(node), [f"{podnet.outside_ip}:{OUTSIDE_UDP}"], payload="clientip"))


# --- payloads --------------------------------------------------------------------------------

def payload_paths(podnet, via: str, port: int, path: str = "") -> dict[str, list[tuple[str, str]]]:
    """Source node -> [(path label, target)]: through pod IPs every ordered pair of nodes (the
    server pod on each other node), through the ClusterIP the other nodes to the anchor."""
    if via == "pod":
        servers = {node: podnet.on("server", node).ip for node in podnet.node_names}
        return {src: [(f"{node_id(src)} -> {node_id(dst)}", f"{ip}:{port}{path}") for dst, ip in servers.items() if dst != src]
                for src in podnet.node_names}
    target = f"{podnet.cluster_ip('anchor')}:{port}{path}"
    return {src: [(f"{node_id(src)} -> anchor ClusterIP", target)] for src in other_nodes(podnet)}


def digests_of(podnet, paths: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """Each path's expected SHA-256: what its server says of its own file (blob.sha256 beside it)."""
    asker = podnet.client(next(iter(paths)))
    targets = sorted({target + ".sha256" for pairs in paths.values() for _, target in pairs})
    said = dict(zip(targets, http(asker, targets)))
    for target, r in said.items():
        assert r.ok and len(r.reply) == 64, f"the digest of {target}: {r.outcome.value} {r.reply[:80]!r}"
    return {label: said[target + ".sha256"].reply for pairs in paths.values() for label, target in pairs}


def downloads(podnet, src: str, pairs: list[tuple[str, str]]) -> list:
    """The source's client downloads every target of its pairs: [(path label, result)]."""
    return list(zip([label for label, _ in pairs], download(podnet.client(src), [t for _, t in pairs])))


def keep_transfer_times(record):
    """`then` for expect: each path's download time from the last observation, in transfer_ms."""
    def then(conv) -> None:
        if conv.last:
            record.metrics["transfer_ms"] = {path: r.ms for path, r in conv.last}
    return then


def record_mtus(podnet) -> dict:
    """The MTU each node's pods got, the nodes' own and their tunnel devices', once per run."""
    if "mtu" not in podnet.metrics:
        tunnels = {}
        for node in podnet.node_names:
            lines = podnet.host(node).sh("ip -o -d link show | grep -E ' (vxlan|geneve|ipip|wireguard) ' || true", timeout_s=20)
            tunnels[node] = tunnel_mtus(lines)
        anchor_ip = podnet.anchor().ip
        podnet.metrics["mtu"] = {"pod": {n: podnet.mtu(podnet.client(n)) for n in podnet.node_names},
                                 "pod_route_to_anchor": {n: podnet.mtu_to(podnet.client(n), anchor_ip) for n in podnet.node_names},
                                 "node": {n: podnet.mtu(podnet.host(n)) for n in podnet.node_names},
                                 "tunnels": tunnels}
    return podnet.metrics["mtu"]


def mtu_sized(podnet, node: str, label: str, udp_target: str, with_ping: bool):
    """From the node's client: a datagram the size of its MTU toward `udp_target` (read again: the
    MTU is what is under test, and a route may say less than eth0), and with `with_ping` an ICMP echo as
    large to the same address without fragmenting."""
    executor = podnet.client(node)
    address = udp_target.split(":")[0]
    size = payload_for_mtu(podnet.mtu_to(executor, address))
    results = datagram(executor, [udp_target], size)
    if with_ping:
        results += ping(executor, [address], size=size, dont_fragment=True)
    return label, size, results


# --- the fixture image -----------------------------------------------------------------------

def upstream_digests(record) -> dict[str, str | None]:
    """Path -> sha256 of the same file in upstream's k8s.io/kubernetes module (None, with a note,
    where it cannot be had)."""
    digests = {}
    for path, upstream_path in AGNHOST_FILES.items():
        try:
            digests[path] = hashlib.sha256(upstream.module_file("k8s.io/kubernetes", V.KUBERNETES, upstream_path).read_bytes()).hexdigest()
        except upstream.UpstreamError as exc:
            digests[path] = None
            record.notes.append(f"{path}: not compared with upstream ({exc})")
    return digests
