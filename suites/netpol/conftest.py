"""The NetworkPolicy suite's fixtures: the probe matrix (matrix.py) and its copies.

There are `--concurrency` copies of it (namespace sets); the policy cases run ahead of their tests,
one per set at a time (`cases_ahead`). A case only touches its own set's policies and labels, and
probes only its own set's pods, so what one set's policies select in another set never shows.
The other scenarios (`netpol`: established connections, node traffic) take set 0 with no case
running. With --concurrency above 1 the sets are made and the cases started in the background,
beside the other suites (testkit.background), and the suite's tests run last."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from matrix import DEFAULT_POD_CIDR, MatrixEnv, wait_matrix_up
from policy_cases import case_key, engine_of, run_case

from cnimatrix.cluster import kind
from cnimatrix.netpol import cases as catalog
from cnimatrix.netpol import timing
from cnimatrix.netpol.enforcement import placement
from cnimatrix.probe.executors import PodExecutor
from cnimatrix.stats import latency_summary
from cnimatrix.testkit import background, declared
from cnimatrix.testkit.ahead import Ahead
from cnimatrix.testkit.run import run_metrics, run_state
from cnimatrix.testkit.timeouts import deadline
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace


def make_set(make_namespace, index: int, pod_cidr: str, nodes: list[str]) -> MatrixEnv:
    """Namespace set `index`: x, y and z with their pods applied (set 0 keeps the plain names)."""
    prefix = "netpol" if index == 0 else f"netpol{index}"
    env = MatrixEnv(namespaces={logical: make_namespace(f"{prefix}-{logical}", suite="netpol") for logical in catalog.NAMESPACES},
                    prefix=prefix)
    env.pod_cidr, env.nodes = pod_cidr, placement(nodes)
    for logical, ns in env.namespaces.items():
        env.set_namespace_labels(logical, {"ns": logical})
        for pod in catalog.POD_NAMES:
            ns.apply("netpol/pods", pod=pod, node=env.nodes[f"{logical}/{pod}"])
    return env


def wait_set_ready(env: MatrixEnv) -> None:
    for logical, ns in env.namespaces.items():
        for info in ns.wait_pods_ready("pod", len(catalog.POD_NAMES), timeout_s=180):
            env.ips[f"{logical}/{info.name}"] = info.ip
        for pod in catalog.POD_NAMES:
            env.service_ips[f"{logical}/{pod}"] = ns.service(f"svc-{pod}").spec.cluster_ip


CASE_TESTS = ("test_policy_case", "test_cluster_policy_case")   # the tests whose cases run ahead on the sets


def selected_cases(session) -> list:
    """The policy cases (NetworkPolicy and cluster-wide) this run selected, in test order."""
    return [item.callspec.params["case"] for item in session.items
            if getattr(item, "originalname", "") in CASE_TESTS and hasattr(item, "callspec")]


def prepare_sets(request, cluster, cni, make_namespace) -> list[MatrixEnv]:
    """--concurrency namespace sets (no more than the selected policy cases need), connected."""
    count = max(1, min(request.config.getoption("--concurrency"), len(selected_cases(request.session))))
    pod_cidr = (cni.kind_config.get("networking") or {}).get("podSubnet", DEFAULT_POD_CIDR)
    nodes, _, _ = cluster.node_roles()
    sets = [make_set(make_namespace, i, pod_cidr, sorted(nodes)) for i in range(count)]
    for env in sets:
        wait_set_ready(env)
    metrics = run_metrics(request, "netpol")
    metrics["namespace_sets"] = count
    with ThreadPoolExecutor(max_workers=count) as pool:   # every set steadily connected, at once
        metrics["matrix_connected_s"] = max(pool.map(wait_matrix_up, sets))
    apply_requested_breakage(request, "netpol", cluster, {"ns": sets[0].namespaces["x"].name, "pod_cidr": pod_cidr,
                                                          "z_namespaces": " ".join(env.namespaces["z"].name for env in sets)})
    return sets


def case_pool(session, sets: list[MatrixEnv], cni, kernel_features) -> Ahead:
    """The selected policy cases, in test order, to run ahead on the namespace sets (testkit.ahead)."""
    cases = {case_key(case): case for case in selected_cases(session)}   # keyed by name: cases are not hashable
    pool = Ahead(sets, list(cases), lambda env, key: run_case(
        env, cases[key], enforces(cni, engine_of(cases[key]).capability),
        declared.cni_gaps(cni, kernel_features, cases[key].requires), check=pool.check, networkpolicy_enforced=enforces(cni)))
    return pool


def pytest_collection_modifyitems(session, config, items):
    """With --concurrency above 1 the suite's set-up and policy cases run in the background from the
    first test that tolerates company (testkit.background), beside the other suites."""
    if config.getoption("--cni") and any(getattr(item, "originalname", "") in CASE_TESTS for item in items):
        background.offer(config, "netpol", start_in_background, suite="netpol")


def start_in_background(request) -> background.Job | None:
    if not selected_cases(request.session):
        return None   # deselected meanwhile (-k): the suite's own fixtures do what is left
    cluster, cni = request.getfixturevalue("cluster"), request.getfixturevalue("cni")
    make_namespace, kernel_features = request.getfixturevalue("make_namespace"), request.getfixturevalue("kernel_features")

    def prepare() -> tuple[list[MatrixEnv], Ahead]:
        sets = prepare_sets(request, cluster, cni, make_namespace)
        pool = case_pool(request.session, sets, cni, kernel_features)
        pool.start()
        return sets, pool
    return background.job(request, "netpol", prepare, quiet=lambda value, timeout_s: value[1].quiet(timeout_s),
                          close=lambda value: close_pool(value[1]))


def close_pool(pool: Ahead) -> None:
    still = pool.close(timeout_s=deadline("policy") + 30)
    if still:
        kind.say(f"netpol: {len(still)} case(s) still running at the end, left to stop: {', '.join(still)}")


@pytest.fixture(scope="package")
def matrix_sets(request, cluster, cni, make_namespace) -> list[MatrixEnv]:
    """The namespace sets: made in the background (testkit.background), or here."""
    job = background.claim(request, "netpol")
    sets = job.value()[0] if job else prepare_sets(request, cluster, cni, make_namespace)
    yield sets
    metrics = run_metrics(request, "netpol")
    effects = [e for env in sets for e in env.effects]
    if effects:  # the probe round (~2 s) bounds the resolution of these figures
        metrics["time_to_effect_s"] = {k: round(v / 1000, 2) if k != "count" else v
                                       for k, v in latency_summary(e * 1000 for e in effects).items()}
    live_updates = [u for env in sets for u in env.live_updates]
    if live_updates:  # the 100 ms watch of each live-update step
        metrics["live_update"] = timing.summary(live_updates, [g for env in sets for g in env.watch_spacing_ms])
    if sets[0].established:
        metrics["established_connection"] = sets[0].established
    if sets[0].node_traffic:
        metrics["node_traffic"] = sets[0].node_traffic


@pytest.fixture(scope="package")
def cases_ahead(request, matrix_sets, cni, kernel_features):
    """The selected policy cases run ahead on the namespace sets: started in the background, or here."""
    job = background.started(request, "netpol")
    pool = job.value()[1] if job else case_pool(request.session, matrix_sets, cni, kernel_features)
    yield pool
    close_pool(pool)
    done = [f.result() for f in pool.futures.values() if f.done() and f.exception() is None]
    if done:
        first = min(d.started_s for d in done)
        background.record(request, "netpol: policy cases" if job else "netpol: policy cases (in turn)",
                          pool.started_at - run_state(request).started + first,
                          max(d.started_s + d.took_s for d in done) - first)


@pytest.fixture
def netpol(matrix_sets, cases_ahead):
    """Namespace set 0, with no policy case running meanwhile (a scenario that needs the matrix to itself)."""
    with cases_ahead.quiet(timeout_s=deadline("policy") * 4):
        yield matrix_sets[0]


def enforces(cni, capability: str = "networkpolicy") -> bool:
    """The CNI declares NetworkPolicy (or `capability`) enforced (else a fail-open result is reported as declared)."""
    return cni.capability(capability).status == "enforced"


@pytest.fixture
def enforcing(cni) -> bool:
    return enforces(cni)


@pytest.fixture
def not_enforced(cni, record, request):
    """`not_enforced(seen, capability="networkpolicy")`: report the scenario as the CNI's declaration
    of that capability observed (not enforced, whatever word the CNI declares it with), and stop it."""
    def observed(seen: str, capability: str = "networkpolicy"):
        status = cni.capability(capability)
        declared.observed(request, record, declared.gap(capability, status.status, status.evidence), seen, not_enforced=True)
    return observed


@pytest.fixture
def declared_gaps(cni, kernel_features):
    """`declared_gaps(case)`: the capabilities the case requires that this CNI declares missing here."""
    return lambda case: declared.cni_gaps(cni, kernel_features, case.requires)


HOST_PORT = 19080   # what the hostNetwork pods serve; clear of kubelet, kube-proxy, etcd and NodePorts


@dataclass
class Hosts:
    """One hostNetwork pod per node (namespace labelled ns=host): the nodes as clients and servers."""

    ns: Namespace
    pods: dict[str, str]        # node -> pod
    ips: dict[str, str]         # node -> InternalIP
    port: int = HOST_PORT

    def executor(self, node: str) -> PodExecutor:
        return self.ns.executor(self.pods[node], "agnhost")


@pytest.fixture(scope="package")
def hosts(cluster, make_namespace, matrix_sets) -> Hosts:
    ns = make_namespace("netpol-host")
    ns.core.patch_namespace(ns.name, {"metadata": {"labels": {"ns": "host"}}})
    ns.wait_default_service_account()
    ips, _, _ = cluster.node_roles()
    pods = {node: f"host-{i}" for i, node in enumerate(sorted(ips))}
    for node, pod in pods.items():
        ns.apply("netpol/host-pod", name=pod, node=node, port=HOST_PORT)
    ns.wait_pods_ready("role=host-client", len(pods), timeout_s=120)
    return Hosts(ns, pods, ips)
