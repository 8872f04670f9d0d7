"""What observes the cluster for the traffic-steering scenarios: requests from a client on each
worker to a PreferSameNode Service and the node hints its EndpointSlice carries, and two outside
clients' requests to LoadBalancer addresses with and without loadBalancerSourceRanges."""
from __future__ import annotations

from dataclasses import dataclass


from cnimatrix.day2.same_node import SameNodeCell
from cnimatrix.day2.source_ranges import RangeCell
from cnimatrix.probe.executors import ContainerExecutor
from cnimatrix.probe.probes import http
from cnimatrix.testkit.cells import node_id
from fixtures.workloads import Namespace


@dataclass
class SameNodeWorld:
    ns: Namespace
    service: str
    cluster_ip: str
    clients: dict[str, str]     # node -> the client pod there
    backends: dict[str, str]    # backend pod -> its node

    def node_hints(self) -> dict[str, list[str]]:
        """Endpoint (pod) -> the nodes its EndpointSlice hints it for (empty: no hint)."""
        return {e.target_ref.name: [n.name for n in ((e.hints.for_nodes if e.hints else None) or [])]
                for e in self.ns.endpoints(self.service) if e.target_ref is not None}

    def hinted_for_own_node(self) -> bool:
        hints = self.node_hints()
        return set(hints) == set(self.backends) and all(hints[pod] == [node] for pod, node in self.backends.items())

    def from_each_client(self, requests: int) -> dict[str, SameNodeCell]:
        """Client node -> its requests to the ClusterIP, with the backends on that node."""
        cells = {}
        for node, pod in self.clients.items():
            local = frozenset(b for b, where in self.backends.items() if where == node)
            cells[node_id(node)] = SameNodeCell(local, tuple(http(self.ns.executor(pod), [f"{self.cluster_ip}:8080/hostname"] * requests)))
        return cells


@dataclass
class SourceRangesWorld:
    ns: Namespace
    listed: ContainerExecutor   # the outside client the ranged Service's loadBalancerSourceRanges names
    other: ContainerExecutor    # another outside client, on the same network
    listed_ip: str
    other_ip: str
    ranged_ip: str              # the LoadBalancer address that admits only the listed client
    open_ip: str                # the one that admits every source (the positive twin)

    def clients(self) -> dict[str, tuple[ContainerExecutor, bool]]:
        """Label -> (client, whether the ranges list it)."""
        return {f"listed {self.listed_ip}": (self.listed, True), f"other {self.other_ip}": (self.other, False)}

    def probe(self, requests: int) -> dict[tuple[str, str], RangeCell]:
        """(client, Service) -> its requests, admitted where the Service lists it or lists nothing."""
        cells = {}
        for who, (executor, listed) in self.clients().items():
            for what, ip, admits in ((f"ranged {self.ranged_ip}", self.ranged_ip, listed), (f"open {self.open_ip}", self.open_ip, True)):
                cells[(who, what)] = RangeCell(admits, tuple(http(executor, [f"{ip}:8080/hostname"] * requests, timeout_s=2.0)))
        return cells

    def reach_open(self) -> bool:
        """Both clients answered through the open address: MetalLB announces it and the path works."""
        return all(r.ok for executor, _ in self.clients().values() for r in http(executor, [f"{self.open_ip}:8080/hostname"], timeout_s=2.0))
