"""The IP lifecycle batches of the pod network suite: pods created and deleted, each round on the
next node (so a fault in one node's CNI ADD/DEL or IPAM shows), each pod timing its own network
set-up, and the node's IPAM count before, at the peak and after each batch.

The batch is the `churn` Deployment (manifests/workloads/podnet/churn.yaml) in the suite's
namespace; its pods run cnimatrix.probe.programs.FIRST_ANSWER_SCRIPT.
"""
from __future__ import annotations

import math
import string
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kubernetes import client, watch

from cnimatrix.cluster.kind import tool
from cnimatrix.podnet.scenarios import PodAddresses, Round, SetupSample, address_problems, parse_count
from cnimatrix.probe.converge import converge
from cnimatrix.probe.outcomes import FirstAnswer, parse_first_answer

# 20 pods a round: a leak or a failing ADD shows in any batch, and on this 2-core host each pod
# more only queues behind the others in kubelet and runc (40 took ~140 s a round, scheduled to
# sandbox p50 59 s: the host's queue, not the CNI; the run's longest part with nothing beside it)
ROUNDS, BATCH = 3, 20
START_DEADLINE_S = 600   # for a whole batch to be running: a 2-core host shared by several clusters is slow
ANSWER_WAIT_S = 90       # for a running pod's first packet to be answered
GONE_DEADLINE_S = 300
SELECTOR = "app=churn"
READ_INTERVAL_S = 2      # between IPAM readings


@dataclass
class Lifecycle:
    nodes: list[str]         # round i runs on nodes[i % len(nodes)]
    accounting: str
    rounds: list[Round] = field(default_factory=list)
    samples: list[SetupSample] = field(default_factory=list)
    address_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    broken: str = ""         # why the rounds stopped short of an observation (e.g. the IPAM count unreadable)


class CountUnread(RuntimeError):
    """The CNI's own IPAM accounting gave no count (e.g. its agent on the node not answering)."""


def ipam_counter(cluster, cni, node: str) -> tuple[Callable[[], int], str]:
    """How many addresses the IPAM holds on `node`: by the CNI's own accounting (catalog
    ipam_count) where it declares one, else the distinct pod IPs the API shows on the node."""
    spec = cni.ipam_count
    if spec is not None and not (spec.where == "node" and not cluster.kind_nodes):
        def count() -> int:
            if spec.where == "node":
                args = ["docker", "exec", node, "sh", "-c", spec.command]
            else:
                kubectl = f"{tool('kubectl')} --kubeconfig {cluster.kubeconfig}"
                args = ["sh", "-c", string.Template(spec.command).substitute(kubectl=kubectl, node=node)]
            try:
                return parse_count(subprocess.run(args, capture_output=True, text=True, timeout=60).stdout)
            except ValueError as exc:
                raise CountUnread(f"on {node}: {exc}") from exc
        return count, f"{cni.name}'s own ({spec.where}: {' '.join(spec.command.split())})"
    core = client.CoreV1Api(cluster.api())

    def seen() -> int:
        pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
        return len({p.status.pod_ip for p in pods if not p.spec.host_network and p.status.pod_ip})
    return seen, "addresses seen: distinct pod IPs on the node, per the API (no IPAM accounting declared)"


def other_pods(core: client.CoreV1Api, node: str, namespace: str) -> Callable[[], int]:
    """Distinct addresses the API shows for pods on `node` other than the batch's."""
    def count() -> int:
        pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
        return len({p.status.pod_ip for p in pods
                    if p.status.pod_ip and not p.spec.host_network and p.status.phase not in ("Succeeded", "Failed")
                    and not (p.metadata.namespace == namespace and (p.metadata.labels or {}).get("app") == "churn")})
    return count


def steady_reading(read: Callable[[], tuple[int, int]], deadline_s: float = 60, refresh_s: float = 0) -> tuple[int, int]:
    """A reading once those two seconds apart agree over more than `refresh_s` (at least three of
    them), else the last one at the deadline. A count served from a cache refreshed every
    `refresh_s` can sit unchanged and stale for that long: agreeing across it, it is current."""
    needed = 3 + math.ceil(refresh_s / READ_INTERVAL_S)
    values: list[tuple[int, int]] = []
    converge(lambda: values.append(read()) or values[-needed:],
             lambda last: (len(last) == needed and len(set(last)) == 1, f"{last}"),
             deadline_s=deadline_s + needed * READ_INTERVAL_S, stable=1, interval_s=READ_INTERVAL_S)
    return values[-1]


class FirstSeen:
    """When a watch on the batch first saw each pod bound to a node, its sandbox ready
    (PodReadyToStartContainers) and running, on this host's clock. The API's own stamps for these
    are whole seconds (this Kubernetes' scheduler writes core/v1 events, without eventTime); a
    watch is late only by its delivery delay. A watch the server ends is resumed."""

    def __init__(self, core: client.CoreV1Api, namespace: str):
        self.scheduled: dict[str, float] = {}
        self.sandbox: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.resumed = 0
        self._core, self._namespace = core, namespace
        self._watch = watch.Watch()
        self._stopped = threading.Event()
        self._since = core.list_namespaced_pod(namespace, label_selector=SELECTOR).metadata.resource_version
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stopped.is_set():
            try:
                for event in self._watch.stream(self._core.list_namespaced_pod, self._namespace, label_selector=SELECTOR,
                                                resource_version=self._since, timeout_seconds=60):
                    self._see(event["object"])
            except Exception as exc:  # the server cut the watch: resume where it was (or relist, once expired)
                if self._stopped.is_set():
                    return
                self.resumed += 1
                time.sleep(1)
                if isinstance(exc, client.ApiException) and exc.status == 410:
                    self._since = self._core.list_namespaced_pod(self._namespace, label_selector=SELECTOR).metadata.resource_version

    def _see(self, pod) -> None:
        now, name = time.time(), pod.metadata.name
        self._since = pod.metadata.resource_version
        if pod.spec.node_name:
            self.scheduled.setdefault(name, now)
        if any(c.type == "PodReadyToStartContainers" and c.status == "True" for c in pod.status.conditions or []):
            self.sandbox.setdefault(name, now)
        if pod.status.phase == "Running":
            self.running.setdefault(name, now)

    def stop(self) -> None:
        self._stopped.set()
        self._watch.stop()
        self._thread.join(timeout=1)   # a watch with no events left ends at its 60 s server-side timeout


def batch_up(namespace, core: client.CoreV1Api, seen: FirstSeen) -> tuple[dict, dict[str, FirstAnswer]]:
    """Scale the batch up and read each pod's first-answer line, until every pod has answered or
    has been running ANSWER_WAIT_S without (or START_DEADLINE_S is over)."""
    namespace.scale("churn", BATCH)
    deadline, pods, answers = time.monotonic() + START_DEADLINE_S, {}, {}
    while time.monotonic() < deadline:
        pods = {p.metadata.name: p for p in core.list_namespaced_pod(namespace.name, label_selector=SELECTOR).items
                if p.metadata.deletion_timestamp is None}
        for name, pod in pods.items():
            if name not in answers and pod.status.phase == "Running":
                try:
                    found = parse_first_answer(core.read_namespaced_pod_log(name, namespace.name, container="probe", tail_lines=5))
                except client.ApiException:
                    found = None
                if found:
                    answers[name] = found
        waited_out = [n for n in pods if n not in answers and time.time() - seen.running.get(n, time.time()) > ANSWER_WAIT_S]
        if len(pods) == BATCH and len(answers) + len(waited_out) == BATCH:
            break
        time.sleep(2)
    return pods, answers


def batch_gone(namespace, core: client.CoreV1Api) -> None:
    namespace.scale("churn", 0)
    deadline = time.monotonic() + GONE_DEADLINE_S
    while core.list_namespaced_pod(namespace.name, label_selector=SELECTOR).items:
        if time.monotonic() > deadline:
            raise AssertionError(f"churn pods still present {GONE_DEADLINE_S}s after scaling to 0")
        time.sleep(2)


def run_rounds(namespace, core: client.CoreV1Api, counts: Mapping[str, Callable[[], int]], place: Callable[[str], None],
               cluster_cidrs: list[str], result: Lifecycle, refresh_s: float = 0) -> None:
    """ROUNDS batches, each on the next of `result.nodes` (`place` points the batch at a node, `counts`
    reads each node's IPAM); stops after one whose pods did not all start and answer (the next would
    only wait as long again). Each IPAM reading is paired with the other pods' addresses on the node."""
    for index in range(ROUNDS):
        node = result.nodes[index % len(result.nodes)]
        count, others = counts[node], other_pods(core, node, namespace.name)

        def read(count=count, others=others) -> tuple[int, int]:
            return count(), others()
        place(node)
        before = steady_reading(read, refresh_s=refresh_s)
        batch = Round(created=BATCH, node=node, ipam_before=before[0], others_before=before[1])
        seen = FirstSeen(core, namespace.name)
        try:
            pods, answers = batch_up(namespace, core, seen)
        finally:
            seen.stop()
        batch.running = sum(1 for p in pods.values() if p.status.phase == "Running")
        batch.addressed = sum(1 for p in pods.values() if p.status.pod_ip)
        batch.answered = len(answers)
        batch.ipam_peak, batch.others_peak = steady_reading(read, deadline_s=30, refresh_s=refresh_s)
        result.address_problems += address_problems(
            [PodAddresses(name, p.spec.node_name, (p.status.pod_ip,)) for name, p in pods.items() if p.status.pod_ip], cluster_cidrs)
        result.samples += [SetupSample(name, seen.scheduled[name], seen.sandbox.get(name), a.start_ns / 1e9, a.answered_ns / 1e9)
                           for name, a in answers.items() if name in seen.scheduled]
        if seen.resumed:
            result.notes.append(f"round {len(result.rounds) + 1}: the pod watch was resumed {seen.resumed} time(s)")
        batch_gone(namespace, core)
        batch_only = before[0] - before[1]
        conv = converge(read, lambda v: (v[0] - v[1] == batch_only, f"{v[0]} held with {v[1]} other pods', {before[0]} with {before[1]} before"),
                        deadline_s=90, stable=3 + math.ceil(refresh_s / READ_INTERVAL_S), interval_s=READ_INTERVAL_S)
        batch.ipam_after, batch.others_after = conv.last
        result.rounds.append(batch)
        if batch.answered < batch.created:
            break
