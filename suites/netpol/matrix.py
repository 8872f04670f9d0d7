"""The NetworkPolicy suite's probe matrix: namespaces x, y, z with pods a, b, c, each serving TCP
and UDP on ports 80 and 81, spread so every row has same-node and cross-node pairs; probing it
(every pod to every pod, at once) and watching the cells a live change flips."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from kubernetes import client

from cnimatrix.cluster import policy_crds
from cnimatrix.netpol import cases as catalog
from cnimatrix.netpol import timing
from cnimatrix.netpol.reachability import Table, Target
from cnimatrix.probe import timeline
from cnimatrix.probe.converge import Convergence, converge
from cnimatrix.probe.executors import PodExecutor
from cnimatrix.probe.outcomes import Outcome, ProbeResult
from cnimatrix.probe.probes import many
from cnimatrix.testkit import settle
from cnimatrix.testkit.timeouts import deadline
from fixtures.workloads import Namespace

# A denied probe costs this much; an allowed one answers in milliseconds. Just above the first TCP
# SYN retransmission (1 s), so one lost SYN still counts as answered.
PROBE_TIMEOUT_S = 1.2
# Live changes: a probe per watched cell every 100 ms, 0.9 s to answer (a TCP SYN is resent after
# 1 s: a later answer would be dated to the first SYN), done after 10 in a row, or when the watch
# timeout passes (the matrix rounds still time a slower change).
WATCH = {"interval_s": 0.1, "timeout_s": 0.9, "hold": 10, "deadline_s": deadline("watch")}
DEFAULT_POD_CIDR = "10.244.0.0/16"  # kind's default podSubnet
SET_LABEL = "cnimatrix.io/netpol-set"   # on a set's ClusterNetworkPolicies: reset() deletes that set's own


@dataclass
class MatrixEnv:
    STABLE_ROUNDS: ClassVar[int] = 3   # rounds in a row a matrix must show: one can be lucky (see wait_matrix_up)

    namespaces: dict[str, Namespace]            # logical name (x) -> the run's namespace
    ips: dict[str, str] = field(default_factory=dict)           # x/a -> pod IP
    service_ips: dict[str, str] = field(default_factory=dict)   # x/a -> ClusterIP of svc-a in x
    nodes: dict[str, str] = field(default_factory=dict)         # x/a -> node
    pod_cidr: str = DEFAULT_POD_CIDR
    effects: list[float] = field(default_factory=list)   # seconds from a change to its matrix, every case
    live_updates: list[dict] = field(default_factory=list)  # per live-update step: timing.step_figures
    established: dict[str, dict] = field(default_factory=dict)     # scenario -> what the open connection did
    node_traffic: dict[str, dict] = field(default_factory=dict)    # scenario -> probe -> observed
    watch_spacing_ms: list[float] = field(default_factory=list)
    side_executors: dict[str, PodExecutor] = field(default_factory=dict)   # for probes that overlap a round
    prefix: str = "netpol"      # the set's name: its namespaces' prefix, and its cluster policies' (cluster-scoped)

    @property
    def names(self) -> dict[str, str]:
        return {logical: ns.name for logical, ns in self.namespaces.items()}

    def real(self, ref: str) -> tuple[Namespace, str]:
        """'x/a' -> (the run's namespace x, 'a'); 'x' -> (namespace x, '')."""
        logical, _, name = ref.partition("/")
        return self.namespaces[logical], name

    def executor(self, pod: str, side: bool = False) -> PodExecutor:
        """An exec into a matrix pod's cont-80; `side` for one that runs while a matrix round uses the
        pod. The namespace keeps one executor (one API client) per pod and container, and execs from
        two threads must not share a client, so the side one has a client of its own."""
        ns, name = self.real(pod)
        if not side:
            return ns.executor(name, "cont-80")
        if pod not in self.side_executors:
            self.side_executors[pod] = PodExecutor(ns.cluster.api(), ns.name, name, "cont-80")
        return self.side_executors[pod]

    def settle(self, record, name: str, observe, judge, enforced: bool) -> Convergence:
        """Probe rounds back to back until `judge` holds STABLE_ROUNDS in a row, within the policy
        timeout; where a capability the case needs is declared missing (not `enforced`), a glance (the
        gap is reported, not waited for). Every round follows a change, so only a match lost again
        counts as flaky."""
        return settle(record, name, observe, judge, timeout="policy" if enforced else "glance",
                      stable=self.STABLE_ROUNDS, interval_s=0, steady=False)

    # --- state of the matrix ----------------------------------------------------------------

    def reset(self) -> None:
        """No policies (this set's cluster policies included), and only the matrix's own labels, as
        every case expects to start from. Through the API, touching only what differs: kubectl per
        call would cost ~0.3 s each."""
        self.delete_cluster_policies()
        for logical, ns in self.namespaces.items():
            self.networking(ns).delete_collection_namespaced_network_policy(ns.name)
            labels = ns.core.read_namespace(ns.name).metadata.labels or {}
            extra = {k: None for k in labels if k not in _KEEP_NAMESPACE_LABELS}
            if extra or labels.get("ns") != logical:
                self.set_namespace_labels(logical, {**extra, "ns": logical})
            for pod in ns.core.list_namespaced_pod(ns.name).items:
                current = pod.metadata.labels or {}
                if pod.metadata.name in catalog.POD_NAMES and current != {"pod": pod.metadata.name}:
                    self.set_pod_labels(f"{logical}/{pod.metadata.name}",
                                        {**{k: None for k in current if k != "pod"}, "pod": pod.metadata.name})

    @staticmethod
    def networking(ns: Namespace) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(ns.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(next(iter(self.namespaces.values())).api)

    def cluster_policy_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def apply_cluster_policy(self, policy: dict) -> None:
        """Create or replace a ClusterNetworkPolicy, named and labelled as this set's."""
        mapping = catalog.placeholders(self.ips, self.pod_cidr, self.names)
        doc = catalog.render(policy, mapping)
        name = self.cluster_policy_name(doc["metadata"]["name"])
        doc["metadata"] = {**doc["metadata"], "name": name, "labels": {**doc["metadata"].get("labels", {}), SET_LABEL: self.prefix}}
        args = (policy_crds.GROUP, policy_crds.VERSION, policy_crds.PLURAL)
        try:
            self.custom.create_cluster_custom_object(*args, doc)
        except client.ApiException as exc:
            if exc.status != 409:
                raise
            current = self.custom.get_cluster_custom_object(*args, name)
            doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.custom.replace_cluster_custom_object(*args, name, doc)

    def delete_cluster_policy(self, name: str) -> None:
        self.custom.delete_cluster_custom_object(policy_crds.GROUP, policy_crds.VERSION, policy_crds.PLURAL,
                                                 self.cluster_policy_name(name))

    def delete_cluster_policies(self) -> None:
        """This set's ClusterNetworkPolicies, if the cluster has the CRD at all."""
        try:
            self.custom.delete_collection_cluster_custom_object(policy_crds.GROUP, policy_crds.VERSION, policy_crds.PLURAL,
                                                                label_selector=f"{SET_LABEL}={self.prefix}")
        except client.ApiException as exc:
            if exc.status != 404:
                raise

    def set_pod_labels(self, pod: str, labels: dict) -> None:
        ns, name = self.real(pod)
        ns.core.patch_namespaced_pod(name, ns.name, {"metadata": {"labels": labels}})

    def set_namespace_labels(self, logical: str, labels: dict) -> None:
        ns = self.namespaces[logical]
        ns.core.patch_namespace(ns.name, {"metadata": {"labels": labels}})

    def apply_policy(self, policy: dict, extra: dict[str, str] | None = None) -> None:
        """Create the policy, or replace the one of that name (as `kubectl apply` would, in one call)."""
        mapping = {**catalog.placeholders(self.ips, self.pod_cidr, self.names), **(extra or {})}
        doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", **catalog.render(policy, mapping)}
        ns = next(n for n in self.namespaces.values() if n.name == doc["metadata"]["namespace"])
        api = self.networking(ns)
        try:
            api.create_namespaced_network_policy(ns.name, doc)
        except client.ApiException as exc:
            if exc.status != 409:
                raise
            current = api.read_namespaced_network_policy(doc["metadata"]["name"], ns.name)
            doc["metadata"] = {**doc["metadata"], "resourceVersion": current.metadata.resource_version}
            api.replace_namespaced_network_policy(doc["metadata"]["name"], ns.name, doc)

    def delete_policy(self, ref: str) -> None:
        ns, name = self.real(ref)
        self.networking(ns).delete_namespaced_network_policy(name, ns.name)

    # --- probing ------------------------------------------------------------------------------

    def watch_cells(self, cells: list[timing.Cell], through_service: bool = False) -> ChangeWatch:
        return ChangeWatch(self, cells, through_service)

    @staticmethod
    def probe(requests: list[tuple[str, PodExecutor, str]]) -> list[ProbeResult]:
        """One HTTP GET of /hostname per (source, its executor, host:port); sources in parallel."""
        groups: dict[str, list[int]] = {}
        for index, (source, _, _) in enumerate(requests):
            groups.setdefault(source, []).append(index)

        def run(source: str) -> tuple[list[int], list[ProbeResult]]:
            indexes = groups[source]
            results, _ = many(requests[indexes[0]][1], [f"{requests[i][2]}/hostname" for i in indexes], [],
                              timeout_s=PROBE_TIMEOUT_S)
            return indexes, results

        found: dict[int, ProbeResult] = {}
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            for indexes, results in pool.map(run, groups):
                found.update(zip(indexes, results))
        return [found[i] for i in range(len(requests))]

    def observe(self, targets: tuple[Target, ...], through_service: bool = False, check=lambda: None) -> dict[Target, Table]:
        """Every pod probes every pod (or its Service) on every target, all sources at once: one
        request per source to the prober kept running in it, whose probes run concurrently in one
        process (`probes.many`). `check()` first: it raises when the run is stopping."""
        check()
        address = self.service_ips if through_service else self.ips
        cells = [(dst, t) for t in targets for dst in catalog.MATRIX_PODS]
        tcp = [(dst, t) for dst, t in cells if t.protocol == "TCP"]
        udp_cells = [(dst, t) for dst, t in cells if t.protocol == "UDP"]

        def run(src: str) -> list[tuple[str, str, Target, ProbeResult]]:
            http_results, udp_results = many(self.executor(src), [f"{address[d]}:{t.port}/hostname" for d, t in tcp],
                                             [f"{address[d]}:{t.port}" for d, t in udp_cells], timeout_s=PROBE_TIMEOUT_S)
            return [(src, d, t, r) for (d, t), r in zip(tcp + udp_cells, http_results + udp_results)]

        tables = {t: Table(catalog.MATRIX_PODS, t) for t in targets}
        outcomes: dict[str, int] = {}
        with ThreadPoolExecutor(max_workers=len(catalog.MATRIX_PODS)) as pool:
            for batch in pool.map(run, catalog.MATRIX_PODS):
                for src, dst, target, result in batch:
                    tables[target].record(src, dst, allowed(result))
                    outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
        self.last_outcomes = outcomes
        return tables


_KEEP_NAMESPACE_LABELS = {"ns", "kubernetes.io/metadata.name", "app.kubernetes.io/managed-by", "cnimatrix/purpose"}


class ChangeWatch:
    """Watchers for the cells a live change flips: probing before the change, read after it."""

    def __init__(self, env: MatrixEnv, cells: list[timing.Cell], through_service: bool = False):
        address = env.service_ips if through_service else env.ips
        self.env, self.groups = env, {}
        for src, dst, target, want in cells:
            path = "/hostname" if target.protocol == "TCP" else ""
            self.groups.setdefault(src, []).append(
                timeline.WatchTarget(f"{address[dst]}:{target.port}{path}", target.protocol, want))
        self.results: dict[str, timeline.Watch | BaseException] = {}
        self.threads: list[threading.Thread] = []

    def start(self, timeout_s: float = 30) -> bool:
        """Start one watcher per source pod; True once every one of them probes."""
        events = []
        for src, targets in self.groups.items():
            ready = threading.Event()
            thread = threading.Thread(target=self._run, args=(src, targets, ready), daemon=True)
            thread.start()
            self.threads.append(thread)
            events.append(ready)
        return all(event.wait(timeout_s) for event in events)

    def _run(self, src: str, targets: list[timeline.WatchTarget], ready: threading.Event) -> None:
        try:
            self.results[src] = timeline.watch(self.env.executor(src, side=True), targets, ready=ready, **WATCH)
        except Exception as exc:  # reported as an unmeasured step, never as the case's verdict
            self.results[src] = exc

    def finish(self, changed_at: float) -> tuple[list[timeline.Flip], list[float], str]:
        """Per watched cell when it flipped, the probe spacing achieved, and any watcher error."""
        for thread in self.threads:
            thread.join(WATCH["deadline_s"] + 60)
        flips, gaps, errors = [], [], []
        for src, targets in self.groups.items():
            result = self.results.get(src)
            if not isinstance(result, timeline.Watch):
                errors.append(f"watcher in {src}: {result or 'did not finish'}")
                continue
            for target, samples in zip(targets, result.samples):
                flips.append(timeline.flip(samples, target.want, changed_at, WATCH["hold"]))
                gaps.extend(timeline.spacing_ms(samples))
        return flips, gaps, "; ".join(errors)


def allowed(result: ProbeResult) -> bool | None:
    """A probe that answered is allowed; refused or timed out is denied (a CNI may reject or drop);
    a probe that never ran (the exec was cut short) is no answer."""
    if result.ok:
        return True
    if result.outcome is Outcome.ERROR and result.reply.startswith("no result line"):
        return None
    return False


def wait_matrix_up(env: MatrixEnv, deadline_s: float = 180) -> float:
    """Before any policy: every pod must reach every pod, steadily, or no case can be judged.
    (Seen on Calico: pods a few seconds old lost one cross-node path for ~45 s after the first
    full round succeeded, so one round is not enough.) Returns the seconds it took."""
    def judge(tables) -> tuple[bool, str]:
        missing = [f"{s}->{d} {t}" for t, table in tables.items() for (s, d), ok in table.cells.items() if not ok]
        return not missing, f"{len(missing)} probes fail without any policy, e.g. {', '.join(missing[:5])}"

    # No record: the fixture's wait is no scenario's check (its time goes to matrix_connected_s).
    conv = converge(lambda: env.observe(catalog.DEFAULT_TARGETS), judge, deadline_s=deadline_s, stable=env.STABLE_ROUNDS,
                    interval_s=0)
    if not conv.ok:
        misses = [a for a in conv.attempts if not a.matched]
        last = misses[-1].reason if misses else conv.reason
        pytest.fail(f"the probe matrix is not steadily connected without any policy: {len(misses)} of {conv.count} "
                    f"rounds had failures; the last such round: {last}")
    return conv.settle_s
