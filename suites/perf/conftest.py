"""The perf suite's workloads: perf servers (iperf3 and a TCP echo) as pods and as hostNetwork
pods on both workers, a client pod and the Service in front of the second worker's pod server,
an outside client on the kind network, and the datapath measurements every test reads."""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field

import pytest
import yaml
from kubernetes import client, utils

from cnimatrix import hostload
from cnimatrix.perf import cgroups, plausibility, repetitions
from cnimatrix.perf.datapath import (ALL_ROUTES, ECHO_SERVER, HOST_IPERF_PORT, HOST_RR_PORT, IPERF_PORT, NODE_IPERF_PORT,
                                     NODE_RR_PORT, ORDER, RR_PORT, Route, Settings, parse_set, set_script)
from cnimatrix.perf.figures import loop_figures, route_summary
from cnimatrix.probe.executors import ContainerExecutor
from cnimatrix.testkit import outside
from cnimatrix.testkit.run import run_metrics
from fixtures.workloads import Namespace, render

KIND_LABEL = "io.x-k8s.kind.cluster"


@dataclass
class PerfEnv:
    cluster: object
    cni: object
    ns: Namespace
    nodes: dict[str, str]                # node name -> InternalIP
    workers: list[str]
    settings: Settings
    outside: ContainerExecutor | None = None
    metrics: dict = field(default_factory=dict)    # metrics.perf

    @property
    def node_a(self) -> str:
        return self.workers[0]

    @property
    def node_b(self) -> str:
        return self.workers[1]

    def pod_ip(self, name: str, namespace: str | None = None) -> str:
        return self.ns.core.read_namespaced_pod(name, namespace or self.ns.name).status.pod_ip

    def create(self, manifest: str, namespace: str | None = None, **params) -> None:
        """Create a manifest's objects through the API (kubectl per object costs a process each)."""
        for doc in yaml.safe_load_all(render(manifest, **params)):
            if doc:
                utils.create_from_dict(self.cluster.api(), doc, namespace=namespace or self.ns.name)

    def node_exec(self, node: str, script: str, timeout_s: float = 60) -> str:
        """A shell script inside a kind node's container (the node's own view: its cgroups)."""
        proc = subprocess.run(["docker", "exec", node, "sh", "-c", script], capture_output=True, text=True, timeout=timeout_s)
        return proc.stdout


def kind_cluster_of(node: str) -> str | None:
    """The kind cluster a node container belongs to, or None when the node is no container here."""
    out = subprocess.run(["docker", "inspect", "--format", f'{{{{index .Config.Labels "{KIND_LABEL}"}}}}', node],
                         capture_output=True, text=True)
    return out.stdout.strip() or None if out.returncode == 0 else None


def wait_ready(ns: Namespace, names: list[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    missing = names
    while time.monotonic() < deadline:
        ready = {p.name for p in ns.pods("app") if p.ready}
        missing = [n for n in names if n not in ready]
        if not missing:
            return
        time.sleep(1)
    raise AssertionError(f"perf workloads not ready within {timeout_s:.0f}s: {', '.join(missing)}")


@pytest.fixture(scope="package")
def perf(request, cluster, cni, make_namespace) -> PerfEnv:
    started = time.monotonic()
    nodes, workers, _ = cluster.node_roles()
    if len(workers) < 2:
        pytest.skip(f"the perf suite needs 2 worker nodes, the cluster has {len(workers)}")
    ns = make_namespace("perf")
    env = PerfEnv(cluster=cluster, cni=cni, ns=ns, nodes=nodes, workers=workers, settings=Settings())
    echo = json.dumps(ECHO_SERVER)
    for role, node in (("a", env.node_a), ("b", env.node_b)):
        env.create("perf/server", name=f"server-{role}", role=f"server-{role}", node=node, host_network="false",
                   iperf_port=IPERF_PORT, rr_port=RR_PORT, echo=echo)
        env.create("perf/server", name=f"host-{role}", role=f"host-{role}", node=node, host_network="true",
                   iperf_port=HOST_IPERF_PORT, rr_port=HOST_RR_PORT, echo=echo)
    env.create("common/client", name="client-a", node=env.node_a)
    env.create("perf/policy-pods", node_a=env.node_a, node_b=env.node_b)   # for the growth curves, started now
    env.create("perf/backends")
    env.create("perf/service", iperf_port=IPERF_PORT, rr_port=RR_PORT, node_iperf_port=NODE_IPERF_PORT,
               node_rr_port=NODE_RR_PORT)
    wait_ready(ns, ["server-a", "server-b", "host-a", "host-b", "client-a", "policy-target", "policy-probe", "policy-canary"])
    kind_name = kind_cluster_of(env.node_a)
    if kind_name:
        env.outside = outside.start(kind_name, env.node_a, "perf-outside")
    env.metrics = run_metrics(request, "perf")
    env.metrics["settings"] = vars(env.settings)
    # Absolute figures depend on what else the machine runs: say how busy it was.
    env.metrics["host"] = {"cpus": os.cpu_count(), "load_at_start": [round(v, 1) for v in os.getloadavg()]}
    yield env
    env.metrics["host"]["load_at_end"] = [round(v, 1) for v in os.getloadavg()]
    env.metrics["suite_s"] = round(time.monotonic() - started, 1)
    if env.outside is not None:
        outside.stop(env.outside)


# --- cost: the CNI's pods (and kube-proxy) in the nodes' cgroup accounting -----------------------

@dataclass
class Accounting:
    """The pods of each component, per node, and readings at the start and end of a window."""

    env: PerfEnv
    pods: dict[str, dict[str, list[str]]] = field(default_factory=dict)   # component -> node -> pod UIDs
    problems: list[str] = field(default_factory=list)

    @classmethod
    def discover(cls, env: PerfEnv) -> "Accounting":
        core = client.CoreV1Api(env.cluster.api())
        has_proxy = any(d.metadata.name == "kube-proxy" for d in
                        client.AppsV1Api(env.cluster.api()).list_namespaced_daemon_set("kube-system").items)
        found = cls(env)
        for component in cgroups.components(env.cni.readiness, has_proxy):
            kind = component.name.split("/")[0]
            for pod in core.list_namespaced_pod(component.namespace).items:
                if cgroups.owned_by(pod.metadata.name, component.workload, kind) and pod.status.phase == "Running":
                    found.pods.setdefault(component.name, {}).setdefault(pod.spec.node_name, []).append(pod.metadata.uid)
        return found

    def read(self, reset_peak: bool) -> tuple[dict[str, cgroups.Reading], float]:
        readings: dict[str, cgroups.Reading] = {}
        by_node: dict[str, list[str]] = {}
        for per_node in self.pods.values():
            for node, uids in per_node.items():
                by_node.setdefault(node, []).extend(uids)
        for node, uids in by_node.items():
            found, _ = cgroups.parse_readings(self.env.node_exec(node, cgroups.read_script(uids, reset_peak)))
            readings.update(found)
        return readings, time.monotonic()

    def windows(self, start: tuple[dict, float], end: tuple[dict, float]) -> dict[str, dict]:
        wall = end[1] - start[1]
        out = {}
        for component, per_node in self.pods.items():
            uids = [u for us in per_node.values() for u in us]
            out[component] = cgroups.window({u: start[0].get(u) for u in uids}, {u: end[0].get(u) for u in uids}, wall)
        return out


# --- the datapath measurements every datapath test reads --------------------------------------

IDLE_S = 10   # the idle window: long enough for a few of the agents' periodic syncs to show
SETTLE_MAX_S = 300   # how long the phase waits for the host's load to come down first (a cluster just made sits at 10+)


def settle(cores: int) -> float:
    """Wait until the 1-minute load is at most the core count (at most SETTLE_MAX_S); the seconds waited.
    The load average lags a minute behind: without this the phase starts on the tail of the cluster's
    creation or the workloads' start, and its first samples say the host was busy with those."""
    started = time.monotonic()
    while hostload.load_1m() > cores and time.monotonic() - started < SETTLE_MAX_S:
        time.sleep(5)
    return round(time.monotonic() - started, 1)


@dataclass
class Datapath:
    reps: dict[str, list[dict | None]] = field(default_factory=dict)     # route -> figures per repetition
    problems: dict[str, list[str]] = field(default_factory=dict)        # route -> what went wrong, per run
    cost: dict = field(default_factory=dict)
    cost_problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def endpoint(perf, route: Route) -> tuple[object | None, str, int, int]:
    """(executor, host, iperf3 port, echo port) of a route; executor None when it cannot run here."""
    client = {"pod": lambda: perf.ns.executor("client-a"), "host": lambda: perf.ns.executor("host-a", "iperf3"),
              "outside": lambda: perf.outside}[route.client]()
    target = route.target
    if target in ("node-a", "node-b"):
        node = perf.node_a if target == "node-a" else perf.node_b
        return client, perf.nodes[node], HOST_IPERF_PORT, HOST_RR_PORT
    if target in ("pod-a", "pod-b"):
        return client, perf.pod_ip(f"server-{target[-1]}"), IPERF_PORT, RR_PORT
    if target == "cluster-ip":
        return client, perf.ns.service("perf").spec.cluster_ip, IPERF_PORT, RR_PORT
    return client, perf.nodes[perf.node_b], NODE_IPERF_PORT, NODE_RR_PORT


def measure_set(perf, route: Route) -> tuple[dict | None, list[str]]:
    executor, host, iperf_port, rr_port = endpoint(perf, route)
    if executor is None:
        return None, ["no outside client: the nodes are not containers on this host"]
    script = set_script(host, iperf_port, rr_port, perf.settings)
    budget = 3 * (perf.settings.seconds + 25) + perf.settings.rr_budget_s + perf.settings.crr_budget_s + 40
    try:
        output = executor.sh(script, timeout_s=budget)
    except Exception as exc:  # the exec itself broke: the figures are missing, say why
        return None, [f"exec into {executor.name} failed: {type(exc).__name__}: {exc}"[:300]]
    figures, loops, problems = parse_set(output)
    for mode, run in loops.items():
        figures.update(loop_figures(mode, run))
    return (figures or None), problems


@pytest.fixture(scope="package")
def datapath(perf) -> Datapath:
    """Idle window, then repetitions of every route inside the throughput window until the stopping
    rule (cnimatrix.perf.repetitions) says the ratios are narrow enough or a cap is hit."""
    result = Datapath()
    settle_s = settle(hostload.cpus())
    phase_start_load = hostload.load_1m()
    accounting = Accounting.discover(perf)
    if not accounting.pods:
        result.cost_problems.append(f"no running pods found for {', '.join(r.name for r in perf.cni.readiness)}")
    idle_start = accounting.read(reset_peak=True)
    time.sleep(IDLE_S)
    idle_end = accounting.read(reset_peak=False)
    busy_start = accounting.read(reset_peak=True)
    started = time.monotonic()
    rep_seconds: list[float] = []
    load_samples: list[float] = []
    while True:   # until the stopping rule says the ratios' intervals are narrow enough, or a cap is hit
        rep_started = time.monotonic()
        for route_id in ORDER:
            figures, problems = measure_set(perf, ALL_ROUTES[route_id])
            result.reps.setdefault(route_id, []).append(figures)
            result.problems.setdefault(route_id, []).extend(problems)
            load_samples.append(hostload.load_1m())
        rep_seconds.append(time.monotonic() - rep_started)
        decision = repetitions.decide(repetitions.watched_ratios(result.reps), len(rep_seconds),
                                      time.monotonic() - started, max(rep_seconds), perf.settings)
        if decision.stop:
            break
    result.wall_s = round(time.monotonic() - started, 1)
    busy_end = accounting.read(reset_peak=False)
    result.cost = {"components": {c: {n: len(u) for n, u in per_node.items()} for c, per_node in accounting.pods.items()},
                   "idle": accounting.windows(idle_start, idle_end),
                   "throughput": accounting.windows(busy_start, busy_end)}
    load = {**plausibility.host_load(load_samples, hostload.cpus()), "settle_s": settle_s,
            "load_at_phase_start": phase_start_load}
    noisy = plausibility.overloaded_host(load)
    routes = {}
    for route_id in ORDER:
        route = ALL_ROUTES[route_id]
        baseline = result.reps.get(route.baseline) if route.baseline else None
        routes[route_id] = {"title": route.title, "baseline": route.baseline,
                            **route_summary(result.reps[route_id], baseline, noisy),
                            "problems": sorted(set(result.problems[route_id]))[:10]}
    perf.metrics["datapath"] = {"routes": routes, "wall_s": result.wall_s, "repetitions": decision.repetitions,
                                "stop": decision.record(perf.settings), "load": load}
    perf.metrics["cost"] = result.cost
    return result


