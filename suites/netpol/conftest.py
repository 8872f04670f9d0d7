"""The NetworkPolicy suite's probe matrix: namespaces x, y, z with pods a, b, c, each serving TCP
and UDP on ports 80 and 81, spread so every row has same-node and cross-node pairs."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from kubernetes import client

from cnimatrix.netpol import cases as catalog
from cnimatrix.netpol.matrix import Table, Target
from cnimatrix.probe.engine import Outcome, PodExecutor, ProbeResult, converge, many
from cnimatrix.pytest_plugin import state_key
from cnimatrix.stats import latency_summary
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace

PROBE_TIMEOUT_S = 1.5   # a denied probe costs this much; an allowed one answers in milliseconds
DEFAULT_POD_CIDR = "10.244.0.0/16"  # kind's default podSubnet


@dataclass
class MatrixEnv:
    namespaces: dict[str, Namespace]            # logical name (x) -> the run's namespace
    ips: dict[str, str] = field(default_factory=dict)           # x/a -> pod IP
    service_ips: dict[str, str] = field(default_factory=dict)   # x/a -> ClusterIP of svc-a in x
    nodes: dict[str, str] = field(default_factory=dict)         # x/a -> node
    pod_cidr: str = DEFAULT_POD_CIDR
    effects: list[float] = field(default_factory=list)   # seconds from a change to its matrix, every case
    # One API client per concurrent exec: the client's stream() swaps its request method while a
    # websocket is open, so a client shared between threads sends plain calls down that path.
    exec_clients: dict[str, client.ApiClient] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        return {logical: ns.name for logical, ns in self.namespaces.items()}

    def real(self, ref: str) -> tuple[Namespace, str]:
        """'x/a' -> (the run's namespace x, 'a'); 'x' -> (namespace x, '')."""
        logical, _, name = ref.partition("/")
        return self.namespaces[logical], name

    def executor(self, pod: str) -> PodExecutor:
        ns, name = self.real(pod)
        api = self.exec_clients.get(pod)
        if api is None:
            api = self.exec_clients[pod] = ns.cluster.api()
        return PodExecutor(api, ns.name, name, "cont-80")

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return next(iter(self.namespaces.values())).cluster.kubectl(*args, input=input)

    # --- state of the matrix ----------------------------------------------------------------

    def reset(self) -> None:
        """No policies, and only the matrix's own labels, as every case expects to start from."""
        for logical, ns in self.namespaces.items():
            ns.cluster.kubectl("delete", "networkpolicy", "--all", "-n", ns.name, "--wait=true")
            self.set_namespace_labels(logical, {**{k: None for k in self._extra_labels(ns)}, "ns": logical})
            for pod in catalog.POD_NAMES:
                current = ns.core.read_namespaced_pod(pod, ns.name).metadata.labels or {}
                self.set_pod_labels(f"{logical}/{pod}", {**{k: None for k in current if k != "pod"}, "pod": pod})

    @staticmethod
    def _extra_labels(ns: Namespace) -> list[str]:
        labels = ns.core.read_namespace(ns.name).metadata.labels or {}
        keep = {"ns", "kubernetes.io/metadata.name", "app.kubernetes.io/managed-by", "cnimatrix/purpose"}
        return [k for k in labels if k not in keep]

    def set_pod_labels(self, pod: str, labels: dict) -> None:
        ns, name = self.real(pod)
        ns.core.patch_namespaced_pod(name, ns.name, {"metadata": {"labels": labels}})

    def set_namespace_labels(self, logical: str, labels: dict) -> None:
        ns = self.namespaces[logical]
        ns.core.patch_namespace(ns.name, {"metadata": {"labels": labels}})

    def apply_policy(self, policy: dict) -> None:
        rendered = catalog.render(policy, catalog.placeholders(self.ips, self.pod_cidr, self.names))
        doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", **rendered}
        self.kubectl("apply", "-f", "-", input=json.dumps(doc))

    def delete_policy(self, ref: str) -> None:
        ns, name = self.real(ref)
        ns.cluster.kubectl("delete", "networkpolicy", name, "-n", ns.name, "--wait=true")

    # --- probing ------------------------------------------------------------------------------

    def observe(self, targets: tuple[Target, ...], through_service: bool = False) -> dict[Target, Table]:
        """Every pod probes every pod (or its Service) on every target, all sources at once: one
        exec per source, whose probes run concurrently in one process (probe engine `many`)."""
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


def allowed(result: ProbeResult) -> bool | None:
    """A probe that answered is allowed; refused or timed out is denied (a CNI may reject or drop);
    a probe that never ran (the exec was cut short) is no answer."""
    if result.ok:
        return True
    if result.outcome is Outcome.ERROR and result.reply.startswith("no result line"):
        return None
    return False


def placement(nodes: list[str]) -> dict[str, str]:
    """Pod -> node, rotating per namespace so each row mixes same-node and cross-node pairs."""
    return {f"{ns}/{pod}": nodes[(i + j) % len(nodes)]
            for j, ns in enumerate(catalog.NAMESPACES) for i, pod in enumerate(catalog.POD_NAMES)}


@pytest.fixture(scope="package")
def netpol(request, cluster, cni, make_namespace):
    env = MatrixEnv(namespaces={logical: make_namespace(f"netpol-{logical}") for logical in catalog.NAMESPACES})
    env.pod_cidr = (cni.kind_config.get("networking") or {}).get("podSubnet", DEFAULT_POD_CIDR)
    nodes, workers, control = cluster.node_roles()
    env.nodes = placement(sorted(nodes))
    for logical, ns in env.namespaces.items():
        env.set_namespace_labels(logical, {"ns": logical})
        for pod in catalog.POD_NAMES:
            ns.apply("netpol/pods", pod=pod, node=env.nodes[f"{logical}/{pod}"])
    for logical, ns in env.namespaces.items():
        for info in ns.wait_pods_ready("pod", len(catalog.POD_NAMES), timeout_s=180):
            env.ips[f"{logical}/{info.name}"] = info.ip
        for pod in catalog.POD_NAMES:
            env.service_ips[f"{logical}/{pod}"] = ns.service(f"svc-{pod}").spec.cluster_ip
    metrics = request.config.stash[state_key].metrics.setdefault("netpol", {})
    metrics["matrix_connected_s"] = wait_matrix_up(env)
    apply_requested_breakage(request, "netpol", cluster, {"ns": env.namespaces["x"].name})
    yield env
    if env.effects:  # the probe round (~2 s) bounds the resolution of these figures
        metrics["time_to_effect_s"] = {k: round(v / 1000, 2) if k != "count" else v
                                       for k, v in latency_summary(e * 1000 for e in env.effects).items()}


def wait_matrix_up(env: MatrixEnv, deadline_s: float = 180) -> float:
    """Before any policy: every pod must reach every pod, steadily, or no case can be judged.
    (Seen on Calico: pods a few seconds old lost one cross-node path for ~45 s after the first
    full round succeeded, so one round is not enough.) Returns the seconds it took."""
    def judge(tables) -> tuple[bool, str]:
        missing = [f"{s}->{d} {t}" for t, table in tables.items() for (s, d), ok in table.cells.items() if not ok]
        return not missing, f"{len(missing)} probes fail without any policy, e.g. {', '.join(missing[:5])}"

    conv = converge(lambda: env.observe(catalog.DEFAULT_TARGETS), judge, deadline_s=deadline_s, stable=3, interval_s=0)
    if not conv.ok:
        pytest.fail(f"the probe matrix is not steadily connected without any policy: {conv.reason} "
                    f"(after {conv.count} rounds)")
    return conv.settle_s
