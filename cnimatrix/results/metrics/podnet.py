"""The pod network suite's figures: MTUs, the IP lifecycle and pod network set-up time (run level), and per test."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.metrics.common import LatencySummary, TestMetrics
from cnimatrix.results.typed import Record, fact


@dataclass(frozen=True)
class PodnetMtu(Record):
    """The MTUs the pods and nodes got, read once per run: node -> MTU in bytes."""

    pod: dict[str, int] | None = fact("Node -> its pods' eth0 MTU.")
    pod_route_to_anchor: dict[str, int] | None = fact("Node -> the MTU its pods' route to the anchor pod allows.")
    node: dict[str, int] | None = fact("Node -> its own eth0 MTU.")
    tunnels: dict[str, dict[str, int]] | None = fact("Node -> tunnel device (vxlan, geneve, ipip, wireguard) -> its MTU.")


@dataclass(frozen=True)
class LifecycleRound(Record):
    """One batch of the IP lifecycle (cnimatrix.podnet.scenarios.Round): pods created on a node, then deleted."""

    node: str | None = fact("The node the batch ran on.")
    created: int | None = fact("Pods created.", minimum=0)
    running: int | None = fact("Pods that started within the deadline.", minimum=0)
    addressed: int | None = fact("Pods that got an address.", minimum=0)
    answered: int | None = fact("Pods whose first packet was answered.", minimum=0)
    ipam_before: int | None = fact("Addresses the IPAM held on the node before the batch.", nullable=True)
    ipam_peak: int | None = fact("... with the batch running.", nullable=True)
    ipam_after: int | None = fact("... after the batch was deleted.", nullable=True)
    others_before: int | None = fact("Addresses other pods held on the node at the first reading.")
    others_peak: int | None = fact("... at the second.")
    others_after: int | None = fact("... at the third.")


@dataclass(frozen=True)
class IpLifecycle(Record):
    """metrics.podnet.ip_lifecycle: batches of pods, each round on the next node, and whether the IPAM got every address back."""

    nodes: list[str] | None = fact("The nodes the batches ran on, one round on each in turn.")
    batch: int | None = fact("Pods per batch.", minimum=0)
    accounting: str | None = fact("How the IPAM's addresses were counted (the CNI's own command, or the pod IPs the API shows).")
    rounds: list[LifecycleRound] | None = fact("Each batch, in order.")


@dataclass(frozen=True)
class PodSetup(Record):
    """metrics.podnet.setup: how long a new pod's network took to set up, per phase (cnimatrix.podnet.scenarios.setup_summary), in seconds."""

    peer: str | None = fact("What the new pods' first packet went to.")
    clock: str | None = fact("Where each moment was seen.")
    count: int | None = fact("Pods timed.", minimum=0)
    scheduled_to_sandbox_s: LatencySummary | None = fact("From scheduled to the sandbox ready.", nullable=True)
    scheduled_to_answer_s: LatencySummary | None = fact("From scheduled to the first packet answered.", nullable=True)
    start_to_answer_s: LatencySummary | None = fact("From the pod's first command to its first packet answered.", nullable=True)
    notes: list[str] | None = fact("What was odd about the samples.")


@dataclass(frozen=True)
class PodnetMetrics(Record):
    """metrics.podnet: the pod network suite's run-level figures."""

    mtu: PodnetMtu | None = fact("The MTUs, read by the first MTU test.")
    ip_lifecycle: IpLifecycle | None = fact("The batches of the IP lifecycle test.")
    setup: PodSetup | None = fact("Pod network set-up time over those batches.")


@dataclass(frozen=True)
class PodnetTestMetrics(TestMetrics):
    """A pod network test's metrics (the lifecycle and set-up tests copy their run-level block's keys)."""

    pods: int | None = fact("Pods whose addresses were checked.", minimum=0)
    node_pod_cidrs: dict[str, list[str]] | None = fact("Node -> its podCIDRs.")
    addresses: dict[str, dict[str, str | None]] | None = fact("Node -> its restarted pod's address before and after (null: none seen).")
    probes_per_round: int | None = fact("Probes per reachability round.", minimum=0)
    transfer_ms: dict[str, float] | None = fact("Path (\"worker -> worker2\", \"worker -> anchor ClusterIP\") -> milliseconds the large download took.")
    mtu: PodnetMtu | None = fact("The MTUs the packets were sized for.")
    nodes: list[str] | None = fact("The lifecycle's nodes, one round on each in turn.")
    batch: int | None = fact("Pods per lifecycle batch.", minimum=0)
    accounting: str | None = fact("How the IPAM's addresses were counted.")
    rounds: list[LifecycleRound] | None = fact("The lifecycle's batches.")
    count: int | None = fact("Pods whose set-up was timed.", minimum=0)
    scheduled_to_answer_s: LatencySummary | None = fact("Seconds from scheduled to the first packet answered.", nullable=True)
    tools: dict[str, str] | None = fact("Tool or file of the fixture image -> its exit status or sha256.")
