"""The Service suite's workloads: web backends over both workers, one client per node, Services."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cnimatrix.probe.converge import converge
from cnimatrix.probe.executors import PodExecutor
from cnimatrix.probe.probes import http
from cnimatrix.testkit import worlds
from cnimatrix.testkit.run import run_state
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace, PodInfo
from service_checks import solo_name

BACKENDS = 4  # two per worker with the default cluster shape


@dataclass
class ServiceEnv:
    ns: Namespace
    nodes: dict[str, str]                 # node name -> InternalIP
    workers: list[str]
    control_plane: list[str]
    clients: dict[str, str] = field(default_factory=dict)   # node name -> client pod

    def backends(self) -> list[PodInfo]:
        return self.ns.pods("app=web")

    def ready_backends(self) -> list[PodInfo]:
        return [p for p in self.backends() if p.ready]

    def client(self, node: str) -> PodExecutor:
        return self.ns.executor(self.clients[node])

    def cluster_ip(self, service: str) -> str:
        return self.ns.service(service).spec.cluster_ip

    def node_port(self, service: str, port_name: str = "http") -> int:
        return next(p.node_port for p in self.ns.service(service).spec.ports if p.name == port_name)

    def restore_backends(self) -> None:
        self.ns.scale("web", BACKENDS)
        self.ns.wait_deployment("web")


def wait_programmed(env: ServiceEnv, deadline_s: float = 60) -> dict:
    """Ready endpoints are not yet Service rules on every node: wait until the web Service answers
    every client once, so steady-state checks start from a programmed cluster. Time-to-effect is
    recorded per client; a client that never gets there is left for the checks to report."""
    target = f"{env.cluster_ip('web')}:80/hostname"
    settled = {}
    for node in env.clients:
        conv = converge(lambda: http(env.client(node), [target] * 8), lambda rs: (all(r.ok for r in rs), ""),
                        deadline_s=deadline_s, stable=1, interval_s=0.5)
        settled[node] = conv.settle_s
    return settled


def pytest_collection_modifyitems(session, config, items):
    worlds.offer(config, items, "service world", "svc", make_svc, ("cluster", "make_namespace"))


@pytest.fixture(scope="package")
def svc(request, cluster, make_namespace) -> ServiceEnv:
    """Made in the background while earlier suites run (testkit.worlds), or now."""
    return worlds.world(request, "service world", make_svc, cluster, make_namespace)


def make_svc(request, cluster, make_namespace) -> ServiceEnv:
    ns = make_namespace("svc", suite="service")
    nodes, workers, control = cluster.node_roles()
    if len(workers) < 2:
        pytest.skip(f"the Service suite needs 2 worker nodes, the cluster has {len(workers)}")
    env = ServiceEnv(ns=ns, nodes=nodes, workers=workers, control_plane=control)
    ns.apply("service/backends", replicas=BACKENDS)
    ns.apply("service/services")
    for node in nodes:
        env.clients[node] = f"client-{node}"
        ns.apply("common/client", name=env.clients[node], node=node)
        ns.apply("service/solo", name=solo_name(node), node=node)
    ns.wait_deployment("web", timeout_s=180)
    ns.wait_pods_ready("role=solo", len(nodes), timeout_s=180)
    ns.wait_pods_ready("app=client", len(nodes), timeout_s=180)
    run_state(request).metrics["service_programmed_s"] = wait_programmed(env)
    apply_requested_breakage(request, "service", cluster, {"ns": ns.name, "victim_ip": env.ready_backends()[0].ip})
    return env
