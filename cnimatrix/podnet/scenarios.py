"""The pod network suite's scenarios as data, and the pure judgements behind its checks.

Nothing here talks to a cluster: the suite (suites/podnet) observes, these functions say what
the observation means, and tests/unit/test_podnet.py pins them down.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

import yaml

from cnimatrix.probe.outcomes import fields
from cnimatrix.stats import latency_summary


@dataclass(frozen=True)
class Reach:
    """Packets between pods and nodes without any Service: from every node's `source` to the
    `target` on the same node or on every other node, over TCP, UDP and ICMP."""

    id: str
    title: str
    source: str   # "pod", or "host": a hostNetwork pod, which is the node's own network stack
    target: str   # "pod", or "host": the node's IP, served by that node's hostNetwork pod
    where: str    # "same": on the source's node; "other": on every other node


REACH = (
    Reach("pod-pod-same-node", "A pod reaches a pod on its own node over TCP, UDP and ICMP", "pod", "pod", "same"),
    Reach("pod-pod-other-nodes", "A pod reaches pods on every other node over TCP, UDP and ICMP", "pod", "pod", "other"),
    Reach("pod-own-node", "A pod reaches its own node's IP over TCP, UDP and ICMP", "pod", "host", "same"),
    Reach("pod-other-nodes", "A pod reaches every other node's IP over TCP, UDP and ICMP", "pod", "host", "other"),
    Reach("node-pod-same-node", "A node (a hostNetwork pod) reaches pods on itself over TCP, UDP and ICMP", "host", "pod", "same"),
    Reach("node-pod-other-nodes", "A node (a hostNetwork pod) reaches pods on every other node over TCP, UDP and ICMP",
          "host", "pod", "other"),
)


def pairs(reach: Reach, nodes: list[str]) -> list[tuple[str, str]]:
    """(source node, target node) for every node: itself, or each of the others."""
    return [(a, b) for a in nodes for b in nodes if (a == b) == (reach.where == "same")]


@dataclass(frozen=True)
class Payload:
    """Large payloads between pods: from every node to the server pod on every other node ("pod",
    every ordered pair of nodes), or from the other nodes to the anchor through its ClusterIP."""

    id: str
    via: str      # "pod" or "clusterip"


PAYLOADS = (Payload("pod-to-pod", "pod"), Payload("clusterip", "clusterip"))

# Ports and sizes the workloads (manifests/workloads/podnet) are rendered with.
HOST_HTTP, HOST_UDP = 28080, 28081   # what the hostNetwork pods serve on each node's IP
HOST_PORT = 18080                    # the anchor pod's hostPort (TCP and UDP)
BLOB_BYTES = 4 * 1024 * 1024         # the anchor's large file
OUTSIDE_HTTP, OUTSIDE_UDP = 8080, 8081

IPV4_UDP_ICMP_HEADERS = 28   # 20 bytes IPv4 + 8 bytes UDP (or ICMP echo) header


def payload_for_mtu(mtu: int) -> int:
    """The UDP (or ICMP echo) payload whose IPv4 packet is exactly `mtu` bytes."""
    return mtu - IPV4_UDP_ICMP_HEADERS


def route_mtu(route_get: str, device_mtu: int) -> int:
    """The MTU a pod's packets to one destination get: its device's, unless the route says less.
    Some CNIs (Cilium) leave eth0 at the node's MTU and put the tunnel's on the routes
    (`ip -o route get` then prints `mtu 1450`, or `cache mtu 1450`). A path MTU the kernel learned
    from an ICMP "too big" (`cache expires 590sec mtu 1450`) is not the CNI's configuration: a pod
    MTU above what the path carries only works while those ICMPs get through, so it is ignored."""
    configured = re.sub(r"\bexpires \d+sec mtu \d+", "", route_get)
    found = re.search(r"\bmtu (?:lock )?(\d+)", configured)
    return min(device_mtu, int(found.group(1))) if found else device_mtu


def pod_subnets(cluster_configuration: str, kind_config: dict) -> list[str]:
    """The pod CIDR(s) of kubeadm's ClusterConfiguration (YAML, as in the kubeadm-config
    ConfigMap), else of the CNI's kind config (networking.podSubnet); none when neither says."""
    subnet = (yaml.safe_load(cluster_configuration) or {}).get("networking", {}).get("podSubnet")
    subnet = subnet or kind_config.get("networking", {}).get("podSubnet")
    return [c.strip() for c in subnet.split(",")] if subnet else []


# --- addressing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PodAddresses:
    name: str          # namespace/name
    node: str
    ips: tuple[str, ...]


def address_problems(pods: list[PodAddresses], cluster_cidrs: list[str],
                     node_cidrs: dict[str, list[str]] | None = None) -> list[str]:
    """What is wrong with the pods' addresses: none at all, outside the cluster's pod CIDR,
    outside their node's podCIDR (only when `node_cidrs` is given: the CNI declares it uses
    them) or held by two pods at once."""
    networks = [ipaddress.ip_network(c) for c in cluster_cidrs]
    problems = []
    owners: dict[str, list[str]] = {}
    for pod in pods:
        if not pod.ips:
            problems.append(f"{pod.name} on {pod.node} has no address")
        for ip in pod.ips:
            owners.setdefault(ip, []).append(pod.name)
            address = ipaddress.ip_address(ip)
            same_family = [n for n in networks if n.version == address.version]
            if same_family and not any(address in n for n in same_family):
                problems.append(f"{pod.name} {ip} is outside the cluster pod CIDR {', '.join(cluster_cidrs)}")
            if node_cidrs is not None:
                own = [ipaddress.ip_network(c) for c in node_cidrs.get(pod.node, [])]
                own = [n for n in own if n.version == address.version]
                if not own:
                    problems.append(f"{pod.node} has no podCIDR for {pod.name} {ip}")
                elif not any(address in n for n in own):
                    problems.append(f"{pod.name} {ip} is outside {pod.node}'s podCIDR {', '.join(node_cidrs[pod.node])}")
    problems += [f"{ip} is held by {len(names)} pods at once: {', '.join(sorted(names))}"
                 for ip, names in sorted(owners.items()) if len(names) > 1]
    return problems


# --- answers --------------------------------------------------------------------------------

def source_ip(reply: str) -> str:
    """The address in netexec's clientip answer ('172.18.0.3:41234' -> '172.18.0.3')."""
    return reply.strip().rsplit(":", 1)[0].strip("[]")


def mismatches(results, expected: dict[str, str]) -> list[str]:
    """Probes that failed or were answered by someone else: `expected` maps target -> reply."""
    bad = []
    for r in results:
        if not r.ok:
            bad.append(f"{r.target}: {r.outcome.value} {r.reply[:80]!r}")
        elif expected.get(r.target) is not None and r.reply != expected[r.target]:
            bad.append(f"{r.target}: answered {r.reply[:60]!r}, expected {expected[r.target]!r}")
    return bad


def wrong_answers(observed, expected: dict[str, dict[str, str]], label=str) -> list[str]:
    """`mismatches` of each source's results, told from where: `observed` is (source, results)
    pairs, `expected` maps each source to its target -> reply."""
    return [f"from {label(source)}: {line}" for source, results in observed for line in mismatches(results, expected[source])]


def answered_as(expected: dict[str, dict[str, str]], *, label=str, most: int = 6, fine: str = "every probe answered as expected"):
    """Judge: every source's probes answered, each by who `expected` says; a failure names the
    sources that were fine too, so a fault of one node reads as one."""
    def judge(observed):
        bad = wrong_answers(observed, expected, label)
        if not bad:
            return True, fine
        spared = [label(source) for source, results in observed if not mismatches(results, expected[source])]
        return False, "; ".join(bad[:most]) + (f" (and {len(bad) - most} more)" if len(bad) > most else "") \
            + f"; fine: {', '.join(f'from {s}' for s in spared) or 'none'}"
    return judge


def addresses_fine(cluster_cidrs: list[str], node_cidrs: dict[str, list[str]] | None = None):
    """Judge: no `address_problems` among the pods observed."""
    def judge(pods):
        problems = address_problems(pods, cluster_cidrs, node_cidrs)
        return not problems, "; ".join(problems[:5]) or f"{len(pods)} pods fine"
    return judge


def seen_from_nodes(clients: dict, node_ips: dict[str, str]):
    """Judge over {node: results} of clientip probes from each node's client pod (`clients`: node
    -> pod with name and ip): every probe answered, and from its node's address (masquerade)."""
    def judge(observed):
        bad = []
        for node, results in observed.items():
            pod = clients[node]
            for r in results:
                if not r.ok:
                    bad.append(f"from {pod.name} ({pod.ip}): {r.outcome.value} {r.reply[:80]!r}")
                elif source_ip(r.reply) != node_ips[node]:
                    bad.append(f"from {pod.name} ({pod.ip}): seen as {source_ip(r.reply)}, node {node} is {node_ips[node]}")
        return not bad, "; ".join(bad[:4]) or "seen from the node addresses"
    return judge


def answers_both_ways(stopped: list[str], server: str, name: str = "restart"):
    """Judge over (ready sandboxes, pod IP, inbound results, outbound results) of a restarted pod:
    a new sandbox and address, answering as `name` inbound and reaching `server` outbound."""
    def judge(obs):
        sandboxes, ip, inbound, outbound = obs
        if ip is None:
            return False, f"waiting for a new ready sandbox (ready: {sandboxes}, stopped: {stopped})"
        expected = {r.target: name for r in inbound if ":" in r.target}
        expected |= {r.target: server for r in outbound}
        bad = mismatches(inbound + outbound, expected)
        return not bad, f"at {ip}: " + ("; ".join(bad[:4]) or "answers both ways")
    return judge


def arrived_whole(digests: dict[str, str], size: int):
    """Judge over (path, download result) pairs, a path such as "worker -> worker2": each
    download whole, with the digest its server gave (`digests` by path); a failure names the
    paths that were fine too."""
    def judge(observed):
        bad, fine = [], []
        for path, r in observed:
            got, digest = fields(r.reply), digests[path]
            if not r.ok or got.get("sha256") != digest:
                bad.append(f"{path}: {r.outcome.value} {got.get('bytes', '?')} bytes, sha256 {got.get('sha256', '')[:12]} "
                           f"(want {size} bytes, {digest[:12]}) {r.reply[:100]!r}")
            else:
                fine.append(path)
        return not bad, ("; ".join(bad) + f"; fine: {', '.join(fine) or 'none'}") if bad else "every byte arrived"
    return judge


def intact_at_size(observed) -> tuple[bool, str]:
    """Judge over (path, payload size, results), a path such as "worker -> worker2": every packet
    answered, and every datagram (a target with a port) echoed as arrived intact with all its bytes
    (the size less the 5-byte header); a failure names the paths that were fine too."""
    def whole(r, size: int) -> bool:
        got = fields(r.reply)
        return r.ok and (":" not in r.target or (got.get("intact") == "1" and got.get("bytes") == str(size - 5)))

    bad, fine = [], []
    for path, size, results in observed:
        wrong = [r for r in results if not whole(r, size)]
        bad += [f"{path} ({size} + 28 bytes) to {r.target}: {r.outcome.value} {r.reply[:100]!r}" for r in wrong]
        if not wrong:
            fine.append(path)
    return not bad, ("; ".join(bad) + f"; fine: {', '.join(fine) or 'none'}") if bad else "every packet arrived whole"


def tunnel_mtus(ip_link: str) -> dict[str, int]:
    """Device -> MTU from `ip -o -d link show` lines (those of tunnel devices, as grepped)."""
    return {line.split(":")[1].strip().split("@")[0]: int(line.split(" mtu ")[1].split()[0])
            for line in ip_link.splitlines() if " mtu " in line}


# --- IP lifecycle ----------------------------------------------------------------------------

def parse_count(text: str) -> int:
    """The one number an IPAM accounting command prints."""
    words = text.split()
    if len(words) != 1 or not words[0].isdigit():
        raise ValueError(f"expected one number, got {text.strip()[:120]!r}")
    return int(words[0])


@dataclass
class Round:
    """One batch of the IP lifecycle: pods created on a node, then deleted."""

    created: int
    node: str = ""           # where the batch ran
    running: int = 0         # pods that started within the deadline
    addressed: int = 0       # pods that got an address
    answered: int = 0        # pods whose first packet was answered
    ipam_before: int | None = None
    ipam_peak: int | None = None
    ipam_after: int | None = None
    # Addresses other pods held on the node at the same readings: the IPAM counts the whole node,
    # and a pod of another scenario ending (or starting) there moves its count by one.
    others_before: int = 0
    others_peak: int = 0
    others_after: int = 0

    def problems(self) -> list[str]:
        found = []
        if self.running != self.created:
            found.append(f"{self.created - self.running} of {self.created} pods were not running by the deadline")
        if self.addressed < self.running:
            found.append(f"{self.running - self.addressed} of {self.running} running pods have no address")
        if self.answered < self.running:
            found.append(f"{self.running - self.answered} of {self.running} running pods never had a packet answered")
        if None not in (self.ipam_before, self.ipam_peak):
            held, others = self.ipam_peak - self.ipam_before, self.others_peak - self.others_before
            if held != self.addressed + others:
                found.append(f"the IPAM held {held} more addresses with {self.addressed} new pods addressed"
                             + (f" and {others:+d} other pods' on the node" if others else ""))
        if None not in (self.ipam_before, self.ipam_after):
            held, others = self.ipam_after - self.ipam_before, self.others_after - self.others_before
            if held != others:
                found.append(f"the IPAM holds {self.ipam_after} addresses after the pods went, {self.ipam_before} before"
                             + (f" (other pods' on the node: {others:+d})" if others else "") + " (leak)")
        return found


# --- set-up time ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SetupSample:
    """One pod's network set-up, in seconds on one clock (kind nodes share the host's)."""

    pod: str
    scheduled: float             # bound to its node (first seen by a watch)
    sandbox: float | None        # PodReadyToStartContainers (first seen by a watch), if seen
    started: float               # its first command ran
    answered: float              # its first packet was answered


def setup_summary(samples: list[SetupSample]) -> dict:
    """p50/p99 (and the rest of latency_summary) of each phase, in seconds."""
    if not samples:
        return {"count": 0}
    phases = {
        "scheduled_to_sandbox_s": [s.sandbox - s.scheduled for s in samples if s.sandbox is not None],
        "scheduled_to_answer_s": [s.answered - s.scheduled for s in samples],
        "start_to_answer_s": [s.answered - s.started for s in samples],
    }
    return {"count": len(samples), **{name: latency_summary(values) if values else None for name, values in phases.items()}}


# --- the fixture image ------------------------------------------------------------------------

# What upstream agnhost's image carries besides the binary and tests rely on (its Dockerfile in
# test/images/agnhost): each must run, in a shell, without error.
AGNHOST_TOOLS = {
    "curl": "curl --version",
    "dig": "dig -v",
    "nc": "command -v nc",
    "wget": "wget --version",
    "socat": "socat -V",
    "iperf": "command -v iperf",
    "iperf3": "iperf3 --version",
    "coredns": "/coredns -version",
}
# Files in the image -> the same file in the k8s.io/kubernetes module (porter's TLS pair).
AGNHOST_FILES = {
    "/localhost.crt": "test/images/agnhost/porter/localhost.crt",
    "/localhost.key": "test/images/agnhost/porter/localhost.key",
}


def agnhost_check_script() -> str:
    """A shell script printing '@@<tool> <exit code>' for each tool and '@@<path> <sha256>' for each file."""
    script = "; ".join(f"({command}) >/dev/null 2>&1; echo \"@@{name} $?\"" for name, command in AGNHOST_TOOLS.items())
    return script + "; " + "; ".join(f"echo \"@@{path} $(sha256sum < {path} 2>/dev/null | cut -c1-64)\"" for path in AGNHOST_FILES)


def agnhost_seen(output: str) -> dict[str, str]:
    """What `agnhost_check_script` printed: tool -> exit code, path -> sha256."""
    return dict(line[2:].split(" ", 1) for line in output.splitlines() if line.startswith("@@") and " " in line)


def agnhost_problems(seen: dict[str, str], upstream_digests: dict[str, str | None]) -> list[str]:
    """Tools that did not run, files missing (or empty), and files unlike upstream's where its digest is known."""
    problems = [name for name in AGNHOST_TOOLS if seen.get(name) != "0"]
    for path, upstream_path in AGNHOST_FILES.items():
        want = upstream_digests.get(path)
        if len(seen.get(path, "")) != 64 or seen[path] == EMPTY_SHA256:
            problems.append(f"{path} missing")
        elif want and seen[path] != want:
            problems.append(f"{path} differs from upstream's {upstream_path}")
    return problems


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
