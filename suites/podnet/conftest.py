"""The pod network suite's workloads: on every node a client pod, a netexec server pod and a
hostNetwork pod (the node's own stack); an anchor pod on the last worker with hostPorts, a large
file and a ClusterIP Service; and, for kind clusters, a netexec container outside the cluster."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from kubernetes import client

from cnimatrix.podnet.lifecycle import BATCH, CountUnread, Lifecycle, ipam_counter, run_rounds
from cnimatrix.podnet.scenarios import (BLOB_BYTES, HOST_HTTP, HOST_PORT, HOST_UDP, OUTSIDE_HTTP, OUTSIDE_UDP, pod_subnets, route_mtu,
                                        setup_summary)
from cnimatrix.probe.executors import ContainerExecutor, PodExecutor
from cnimatrix.probe.programs import FIRST_ANSWER_SCRIPT
from cnimatrix.testkit import outside
from cnimatrix.testkit.run import run_metrics
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace, PodInfo


@dataclass
class PodnetEnv:
    cluster: object
    cni: object
    ns: Namespace
    nodes: dict[str, str]              # node name -> InternalIP
    workers: list[str]
    cluster_cidrs: list[str]           # the cluster's pod CIDR(s)
    outside: ContainerExecutor | None = None
    outside_ip: str | None = None
    metrics: dict = field(default_factory=dict)   # run-level metrics.podnet

    def exec_in(self, pod: str) -> PodExecutor:
        return self.ns.executor(pod)

    @property
    def node_names(self) -> list[str]:
        return sorted(self.nodes)

    @property
    def anchor_node(self) -> str:
        return self.workers[-1]

    def on(self, app: str, node: str) -> PodInfo:
        found = [p for p in self.ns.pods(f"app={app}") if p.node == node]
        if not found:
            raise AssertionError(f"no running {app} pod on {node}")
        return found[0]

    def client(self, node: str) -> PodExecutor:
        return self.exec_in(f"client-{node}")

    def host(self, node: str) -> PodExecutor:
        return self.exec_in(self.on("host", node).name)

    def executor(self, kind: str, node: str) -> PodExecutor:
        return self.client(node) if kind == "pod" else self.host(node)

    def anchor(self) -> PodInfo:
        return self.on("anchor", self.anchor_node)

    def cluster_ip(self, service: str) -> str:
        return self.ns.service(service).spec.cluster_ip

    def mtu(self, executor, device: str = "eth0") -> int:
        return int(executor.sh(f"cat /sys/class/net/{device}/mtu", timeout_s=20).strip())

    def mtu_to(self, executor, destination: str) -> int:
        """The MTU toward `destination`: the device's, or the route's where that is smaller."""
        out = executor.sh(f"cat /sys/class/net/eth0/mtu; ip -o route get {destination}", timeout_s=20)
        device, _, route = out.strip().partition("\n")
        return route_mtu(route, int(device))


def cluster_pod_cidrs(core: client.CoreV1Api, cni) -> list[str]:
    """The cluster's pod CIDR as kubeadm was told (kind), else as the CNI's kind config says."""
    try:
        config = core.read_namespaced_config_map("kubeadm-config", "kube-system").data or {}
    except client.ApiException:
        config = {}
    return pod_subnets(config.get("ClusterConfiguration", ""), cni.kind_config)


def start_outside(cluster) -> tuple[ContainerExecutor, str]:
    """A netexec server outside the cluster: the world outside, as far as pods can tell."""
    server = outside.start(cluster.name, f"{cluster.name}-control-plane", "podnet-outside",
                           "netexec", f"--http-port={OUTSIDE_HTTP}", f"--udp-port={OUTSIDE_UDP}")
    return server, outside.address_of(server)


@pytest.fixture(scope="package")
def podnet(request, cluster, cni, make_namespace) -> PodnetEnv:
    core = client.CoreV1Api(cluster.api())
    nodes, workers, _ = cluster.node_roles()
    if len(workers) < 2:
        pytest.skip(f"the pod network suite needs 2 worker nodes, the cluster has {len(workers)}")
    ns = make_namespace("podnet")
    env = PodnetEnv(cluster=cluster, cni=cni, ns=ns, nodes=nodes, workers=workers, cluster_cidrs=cluster_pod_cidrs(core, cni))
    for node in env.node_names:
        ns.apply("common/client", name=f"client-{node}", node=node)
    ns.apply("podnet/servers", blob_bytes=BLOB_BYTES)
    ns.apply("podnet/host", host_http=HOST_HTTP, host_udp=HOST_UDP)
    ns.apply("podnet/anchor", node=env.anchor_node, host_port=HOST_PORT, blob_bytes=BLOB_BYTES)
    ns.wait_pods_ready("app=client", len(nodes), timeout_s=180)
    ns.wait_pods_ready("app=server", len(nodes), timeout_s=180)
    ns.wait_pods_ready("app=host", len(nodes), timeout_s=180)
    ns.wait_deployment("anchor", timeout_s=180)
    if cluster.kind_nodes:
        env.outside, env.outside_ip = start_outside(cluster)
    env.metrics = run_metrics(request, "podnet")
    apply_requested_breakage(request, "podnet", cluster, {"ns": ns.name, "fidelity_pod": f"client-{workers[0]}"})
    yield env
    if env.outside is not None:
        outside.stop(env.outside)


# --- IP lifecycle and set-up time: batches of pods, a round per node ---------------------------------

@pytest.fixture(scope="package")
def lifecycle(podnet) -> Lifecycle:
    """ROUNDS batches of BATCH pods, each round on the next node, workers first (cnimatrix/podnet/lifecycle.py);
    their counts go to metrics.podnet.ip_lifecycle, their set-up times to metrics.podnet.setup."""
    core = client.CoreV1Api(podnet.cluster.api())
    nodes = [*podnet.workers, *(n for n in podnet.node_names if n not in podnet.workers)]
    counters = {node: ipam_counter(podnet.cluster, podnet.cni, node) for node in nodes}
    result = Lifecycle(nodes=nodes, accounting=counters[nodes[0]][1])
    # each batch pings a server on another node: its first answer needs the node's pod network both ways
    peer_of = {node: podnet.on("server", nodes[(i + 1) % len(nodes)]).ip for i, node in enumerate(nodes)}

    def place(node: str) -> None:
        podnet.ns.apply("podnet/churn", node=node, peer=peer_of[node], script=json.dumps(FIRST_ANSWER_SCRIPT))
    try:
        refresh_s = podnet.cni.ipam_count.refresh_s if podnet.cni.ipam_count else 0
        run_rounds(podnet.ns, core, {n: c for n, (c, _) in counters.items()}, place, podnet.cluster_cidrs, result,
                   refresh_s=refresh_s)
    except CountUnread as exc:   # both lifecycle scenarios fail on it
        result.broken = f"round {len(result.rounds) + 1}: the IPAM count could not be read ({result.accounting}): {exc}"
    finally:
        podnet.ns.scale("churn", 0)   # a round that broke off leaves no batch behind
    podnet.metrics["ip_lifecycle"] = {"nodes": nodes, "batch": BATCH, "accounting": result.accounting,
                                      "rounds": [vars(r) for r in result.rounds]}
    podnet.metrics["setup"] = {"peer": "a server pod on another node (ICMP echo)",
                               "clock": "scheduled and sandbox: first seen by a pod watch; start and answer: inside the pod",
                               **setup_summary(result.samples), "notes": result.notes}
    return result
