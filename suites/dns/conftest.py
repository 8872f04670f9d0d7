"""The DNS suite's workloads: Services, headless names, a StatefulSet, clients in two namespaces."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from kubernetes import client

from cnimatrix.probe.executors import PodExecutor
from cnimatrix.testkit import worlds
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace, PodInfo, pod_ready


@dataclass
class DnsEnv:
    ns: Namespace                 # where the named things live
    other: Namespace              # a second namespace, for cross-namespace lookups
    domain: str                   # the cluster domain, read from a client's resolv.conf
    dns_ip: str                   # the cluster DNS Service IP
    clients: dict[str, str] = field(default_factory=dict)   # node -> client pod in ns
    workers: list[str] = field(default_factory=list)
    core: client.CoreV1Api | None = None

    def dns_replicas(self) -> dict[str, str]:
        """The ready pods behind the cluster DNS Service: name -> pod IP."""
        pods = self.core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items
        return {p.metadata.name: p.status.pod_ip for p in pods if p.status.pod_ip and pod_ready(p)}

    def fqdn(self, name: str, ns: Namespace | None = None) -> str:
        return f"{name}.{(ns or self.ns).name}.svc.{self.domain}"

    def client(self, node: str | None = None) -> PodExecutor:
        return self.ns.executor(self.clients[node or self.workers[0]])

    def other_client(self) -> PodExecutor:
        return self.other.executor("client-other")

    def ready(self, selector: str = "app=web") -> list[PodInfo]:
        return [p for p in self.ns.pods(selector) if p.ready]

    def cluster_ip(self, service: str) -> str:
        return self.ns.service(service).spec.cluster_ip


def cluster_domain(executor: PodExecutor, namespace: str) -> str:
    """The first search entry of a ClusterFirst pod is '<ns>.svc.<cluster domain>'."""
    for line in executor.sh("cat /etc/resolv.conf", timeout_s=20).splitlines():
        if line.startswith("search "):
            first = line.split()[1]
            prefix = f"{namespace}.svc."
            if first.startswith(prefix):
                return first[len(prefix):]
    raise AssertionError(f"no '{namespace}.svc.<domain>' search entry in the client's resolv.conf")


def pytest_collection_modifyitems(session, config, items):
    worlds.offer(config, items, "dns world", "dnsenv", make_dnsenv, ("cluster", "make_namespace"))


@pytest.fixture(scope="package")
def dnsenv(request, cluster, make_namespace) -> DnsEnv:
    """Made in the background while earlier suites run (testkit.worlds), or now."""
    return worlds.world(request, "dns world", make_dnsenv, cluster, make_namespace)


def make_dnsenv(request, cluster, make_namespace) -> DnsEnv:
    core = client.CoreV1Api(cluster.api())
    nodes, workers, _ = cluster.node_roles()
    ns, other = make_namespace("dns", suite="dns"), make_namespace("dns-other", suite="dns")
    clients = {}
    for node in sorted(nodes):
        clients[node] = f"client-{node}"
        ns.apply("common/client", name=clients[node], node=node)
    other.apply("common/client", name="client-other", node=workers[0] if workers else sorted(nodes)[0])
    ns.wait_pods_ready("app=client", len(nodes), timeout_s=180)
    other.wait_pods_ready("app=client", 1, timeout_s=180)
    domain = cluster_domain(ns.executor(clients[sorted(nodes)[0]]), ns.name)
    dns_service = core.read_namespaced_service("kube-dns", "kube-system")
    env = DnsEnv(ns=ns, other=other, domain=domain, dns_ip=dns_service.spec.cluster_ip, clients=clients,
                 workers=workers or sorted(nodes), core=core)
    ns.apply("dns/workloads", ns=ns.name, domain=domain)
    ns.wait_deployment("web", timeout_s=180)
    ns.wait_pods_ready("app=named", 1, timeout_s=180)
    ns.wait_pods_ready("app=db", 2, timeout_s=180)
    apply_requested_breakage(request, "dns", cluster, {"ns": ns.name, "domain": domain, "dns_ip": env.dns_ip})
    return env
