"""The pod network suite's scenarios as data, and the pure judgements behind its checks.

Nothing here talks to a cluster: the suite (suites/podnet) observes, these functions say what
the observation means, and tests/unit/test_podnet.py pins them down.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

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
    """Large payloads from clients on other nodes to the anchor pod, at its own IP or through its
    ClusterIP."""

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
