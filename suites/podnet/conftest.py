"""The pod network suite's workloads: on every node a client pod, a netexec server pod and a
hostNetwork pod (the node's own stack); an anchor pod on the last worker with hostPorts, a large
file and a ClusterIP Service; and, for kind clusters, a netexec container outside the cluster."""
from __future__ import annotations

import json
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import yaml
from kubernetes import client

from cnimatrix.cluster.kind import HELPER_LABEL, tool
from cnimatrix.podnet.scenarios import (BLOB_BYTES, HOST_HTTP, HOST_PORT, HOST_UDP, OUTSIDE_HTTP, OUTSIDE_UDP, PodAddresses,
                                        Round, SetupSample, address_problems, parse_count, setup_summary)
from cnimatrix.probe.engine import FIRST_ANSWER_SCRIPT, ContainerExecutor, FirstAnswer, PodExecutor, converge, parse_first_answer
from cnimatrix.pytest_plugin import state_key
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import DEFAULTS, Namespace, PodInfo



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
        return self.ns.executor(f"client-{node}")

    def host(self, node: str) -> PodExecutor:
        return self.ns.executor(self.on("host", node).name)

    def executor(self, kind: str, node: str) -> PodExecutor:
        return self.client(node) if kind == "pod" else self.host(node)

    def anchor(self) -> PodInfo:
        return self.on("anchor", self.anchor_node)

    def cluster_ip(self, service: str) -> str:
        return self.ns.service(service).spec.cluster_ip

    def mtu(self, executor, device: str = "eth0") -> int:
        return int(executor.sh(f"cat /sys/class/net/{device}/mtu", timeout_s=20).strip())


def cluster_pod_cidrs(core: client.CoreV1Api, cni) -> list[str]:
    """The cluster's pod CIDR as kubeadm was told (kind), else as the CNI's kind config says."""
    try:
        config = core.read_namespaced_config_map("kubeadm-config", "kube-system").data or {}
        subnet = (yaml.safe_load(config.get("ClusterConfiguration", "")) or {}).get("networking", {}).get("podSubnet")
    except client.ApiException:
        subnet = None
    subnet = subnet or cni.kind_config.get("networking", {}).get("podSubnet")
    return [c.strip() for c in subnet.split(",")] if subnet else []


def start_outside(cluster) -> tuple[ContainerExecutor, str]:
    """A netexec container on the nodes' Docker network, labelled so that deleting the cluster
    (or `make clean`) removes it too: the world outside the cluster, as far as pods can tell."""
    network = subprocess.run(["docker", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                              f"{cluster.name}-control-plane"], capture_output=True, text=True).stdout.split()
    name = f"{cluster.name}-podnet-outside"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", name, "--label", f"{HELPER_LABEL}={cluster.name}",
                    "--network", network[0] if network else "kind", "--entrypoint", "/agnhost", DEFAULTS["agnhost"],
                    "netexec", f"--http-port={OUTSIDE_HTTP}", f"--udp-port={OUTSIDE_UDP}"], check=True, capture_output=True)
    outside = ContainerExecutor(name)
    address = outside.sh("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1", timeout_s=20).split()
    return outside, address[0]


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
    ns.apply("podnet/servers")
    ns.apply("podnet/host", host_http=HOST_HTTP, host_udp=HOST_UDP)
    ns.apply("podnet/anchor", node=env.anchor_node, host_port=HOST_PORT, blob_bytes=BLOB_BYTES)
    ns.wait_pods_ready("app=client", len(nodes), timeout_s=180)
    ns.wait_pods_ready("app=server", len(nodes), timeout_s=180)
    ns.wait_pods_ready("app=host", len(nodes), timeout_s=180)
    ns.wait_deployment("anchor", timeout_s=180)
    if not cluster.existing:
        env.outside, env.outside_ip = start_outside(cluster)
    request.config.stash[state_key].metrics["podnet"] = env.metrics
    apply_requested_breakage(request, "podnet", cluster, {"ns": ns.name, "fidelity_pod": f"client-{workers[0]}"})
    yield env
    if env.outside is not None:
        subprocess.run(["docker", "rm", "-f", env.outside.container], capture_output=True)


# --- IP lifecycle and set-up time: batches of pods on one node ---------------------------------

ROUNDS, BATCH = 3, 40
SETUP_DEADLINE_S = 240    # for a whole batch to be up and answered, on a loaded 2-core host
GONE_DEADLINE_S = 180


@dataclass
class Lifecycle:
    node: str
    accounting: str
    deadline_s: float
    rounds: list[Round] = field(default_factory=list)
    samples: list[SetupSample] = field(default_factory=list)
    address_problems: list[str] = field(default_factory=list)


def ipam_counter(env: PodnetEnv, node: str) -> tuple[Callable[[], int], str]:
    """How many addresses the IPAM holds on `node`: by the CNI's own accounting (catalog
    ipam_count) where it declares one, else the distinct pod IPs the API shows on the node."""
    spec = env.cni.ipam_count
    if spec is not None and not (spec.where == "node" and env.cluster.existing):
        def count() -> int:
            if spec.where == "node":
                args = ["docker", "exec", node, "sh", "-c", spec.command]
            else:
                kubectl = f"{tool('kubectl')} --kubeconfig {env.cluster.kubeconfig}"
                args = ["sh", "-c", string.Template(spec.command).substitute(kubectl=kubectl, node=node)]
            return parse_count(subprocess.run(args, capture_output=True, text=True, timeout=60).stdout)
        return count, f"{env.cni.name}'s own ({spec.where}: {' '.join(spec.command.split())})"
    core = client.CoreV1Api(env.cluster.api())

    def seen() -> int:
        pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
        return len({p.status.pod_ip for p in pods if not p.spec.host_network and p.status.pod_ip})
    return seen, "addresses seen: distinct pod IPs on the node, per the API (no IPAM accounting declared)"


def steady_count(count: Callable[[], int], deadline_s: float = 60) -> int:
    """The count once three readings two seconds apart agree (else the last reading at the deadline)."""
    values: list[int] = []
    converge(lambda: values.append(count()) or values[-3:], lambda last: (len(last) == 3 and len(set(last)) == 1, f"{last}"),
                    deadline_s=deadline_s, stable=1, interval_s=2)
    return values[-1]


def scheduled_times(env: PodnetEnv) -> dict[str, float]:
    """When the scheduler bound each pod: its Scheduled event (microsecond event time)."""
    times = {}
    for event in client.EventsV1Api(env.cluster.api()).list_namespaced_event(env.ns.name).items:
        stamp = event.event_time or event.deprecated_first_timestamp
        if event.reason == "Scheduled" and event.regarding is not None and stamp is not None:
            times[event.regarding.name] = stamp.timestamp()
    return times


def condition_time(pod, kind: str) -> float | None:
    found = next((c for c in pod.status.conditions or [] if c.type == kind and c.status == "True"), None)
    return found.last_transition_time.timestamp() if found and found.last_transition_time else None


def batch_up(env: PodnetEnv, core: client.CoreV1Api) -> tuple[dict, dict[str, FirstAnswer]]:
    """Scale the batch up and read each pod's first-answer line, until all are in or the deadline."""
    env.ns.scale("churn", BATCH)
    deadline, pods, answers = time.monotonic() + SETUP_DEADLINE_S, {}, {}
    while time.monotonic() < deadline:
        pods = {p.metadata.name: p for p in core.list_namespaced_pod(env.ns.name, label_selector="app=churn").items
                if p.metadata.deletion_timestamp is None}
        for name, pod in pods.items():
            if name not in answers and pod.status.phase == "Running":
                try:
                    found = parse_first_answer(core.read_namespaced_pod_log(name, env.ns.name, container="probe", tail_lines=5))
                except client.ApiException:
                    found = None
                if found:
                    answers[name] = found
        if len(pods) == BATCH and len(answers) == BATCH:
            break
        time.sleep(2)
    return pods, answers


def batch_gone(env: PodnetEnv, core: client.CoreV1Api) -> None:
    env.ns.scale("churn", 0)
    deadline = time.monotonic() + GONE_DEADLINE_S
    while core.list_namespaced_pod(env.ns.name, label_selector="app=churn").items:
        if time.monotonic() > deadline:
            raise AssertionError(f"churn pods still present {GONE_DEADLINE_S}s after scaling to 0")
        time.sleep(2)


@pytest.fixture(scope="package")
def lifecycle(podnet) -> Lifecycle:
    """ROUNDS batches of BATCH pods on the first worker, each timing its own network set-up; the
    IPAM's count before, at the peak and after each batch is gone. Stops after a batch that
    never came up whole (the next would only wait as long again)."""
    core = client.CoreV1Api(podnet.cluster.api())
    node, peer = podnet.workers[0], podnet.on("server", podnet.anchor_node).ip
    count, accounting = ipam_counter(podnet, node)
    result = Lifecycle(node=node, accounting=accounting, deadline_s=SETUP_DEADLINE_S)
    podnet.ns.apply("podnet/churn", node=node, peer=peer, script=json.dumps(FIRST_ANSWER_SCRIPT))
    for _ in range(ROUNDS):
        batch = Round(created=BATCH, ipam_before=steady_count(count))
        pods, answers = batch_up(podnet, core)
        batch.addressed = sum(1 for p in pods.values() if p.status.pod_ip)
        batch.answered = len(answers)
        batch.ipam_peak = count()
        result.address_problems += address_problems(
            [PodAddresses(name, p.spec.node_name, (p.status.pod_ip,) if p.status.pod_ip else ()) for name, p in pods.items()],
            podnet.cluster_cidrs)
        bound = scheduled_times(podnet)
        result.samples += [SetupSample(name, bound[name], condition_time(pods[name], "PodReadyToStartContainers"),
                                       a.start_ns / 1e9, a.answered_ns / 1e9) for name, a in answers.items() if name in bound]
        batch_gone(podnet, core)
        before = batch.ipam_before
        conv = converge(count, lambda v: (v == before, f"{v} held, {before} before"), deadline_s=90, stable=3, interval_s=2)
        batch.ipam_after = conv.last
        result.rounds.append(batch)
        if batch.answered < batch.created:
            break
    podnet.metrics["ip_lifecycle"] = {"node": node, "batch": BATCH, "accounting": accounting,
                                      "rounds": [vars(r) for r in result.rounds]}
    podnet.metrics["setup"] = {"peer": "a server pod on another node (ICMP echo)", **setup_summary(result.samples)}
    return result
