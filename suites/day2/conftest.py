"""The day-2 suite's worlds, one namespace each, made ahead in the background (testkit.worlds) or
when a scenario first asks for it:

isolation: a prober and an open server on worker, two pods already guarded by deny-all policies
(manifests/workloads/day2/policies.yaml) on worker2, the prober's watch kept open so it can aim at a
new pod the moment its IP is known. Breakages with `world: isolation` apply here (their placeholders
name the guarded pods).

udp_churn: one UDP client on worker; each scenario makes its own backends (on worker2) and Service.
Breakages with `world: udp-churn` apply here ($client_ip, $client_node).

udp_nodeport: the same namespace reached from the run's outside client through a NodePort on worker's
address (suites/day2/churn_checks.py says why that node). Breakages with `world: udp-nodeport` apply
here ($outside_ip, $nodeport_node, $nodeport_ip).

agent_restart: two clients on worker (one holds a connection, one probes new ones), a server on
worker2 behind a ClusterIP, and a pod on worker2 under the deny-all ingress policy; the CNI agent
pod on worker2 is what its scenarios restart (suites/day2/test_agent_restart.py). Breakages with
`world: agent-restart` apply here ($guarded_ip, $backend_ip, $holder_ip, $prober_ip, and the agent pod
on worker2 as $agent_namespace and $agent_pod).

node-restart: the agent restart's world, whose node worker2 the node restart scenarios restart
(suites/day2/test_node_restart.py). Breakages with `world: node-restart` apply just before the
restart command, not when the world is made ($agent_namespace, $agent_daemonset, $agent_pod,
$backend_ip, $guarded_ip).

graceful: one client on worker; each scenario makes its own draining backends and Service
(suites/day2/test_graceful_termination.py). Breakages with `world: graceful` apply here ($ns,
$client_ip, $client_node).

same-node: a client and a backend on each worker behind a PreferSameNode ClusterIP. Breakages with
`world: same-node` apply here ($cluster_ip, $worker_backend_ip, $worker2_backend_ip).

source-ranges: a backend on worker2 behind two MetalLB LoadBalancers, one admitting only the run's
outside client, and a second outside client. Breakages with `world: source-ranges` apply here
($ranged_ip, $open_ip, $backend_ip, $listed_ip, $other_ip)."""
from __future__ import annotations

import pytest
from churn_checks import UdpChurn, UdpVia
from day2_checks import AgentRestartWorld, Isolation
from graceful_checks import GracefulWorld
from traffic_checks import SameNodeWorld, SourceRangesWorld

from cnimatrix.addons.catalog import ServiceRef
from cnimatrix.addons.install import wait_address
from cnimatrix.cluster.roles import by_role
from cnimatrix.day2 import restart
from cnimatrix.probe import timeline
from cnimatrix.testkit import outside, worlds
from cnimatrix.testkit.cells import node_id
from fixtures.cluster import apply_requested_breakage
from fixtures.outside import address_of

SERVER_LABELS = "{role: server, isolate: none}"


def placement(cluster) -> tuple[str, str]:
    """(worker, worker2): the prober and server on one, the pods under test on the other, so
    their packets cross nodes as most traffic does."""
    _, workers, control = cluster.node_roles()
    roles = by_role(workers, control)
    if "worker2" not in roles:
        pytest.skip(f"the day-2 suite needs 2 worker nodes, the cluster has {len(workers)}")
    return roles["worker"], roles["worker2"]


def pytest_collection_modifyitems(session, config, items):
    """The worlds without add-ons are made ahead, in the background (testkit.worlds)."""
    for name, fixture, build in (("day2 isolation", "isolation", make_isolation), ("day2 udp-churn", "udp_churn", make_udp_churn),
                                 ("day2 graceful", "graceful_world", make_graceful_world),
                                 ("day2 same-node", "same_node_world", make_same_node_world)):
        worlds.offer(config, items, name, fixture, build, ("cluster", "make_namespace"))
    worlds.offer(config, items, "day2 agent-restart", "agent_restart_world", make_agent_restart_world,
                 ("cluster", "cni", "make_namespace"))


@pytest.fixture(scope="package")
def isolation(request, cluster, make_namespace) -> Isolation:
    return worlds.world(request, "day2 isolation", make_isolation, cluster, make_namespace)


def make_isolation(request, cluster, make_namespace) -> Isolation:
    near, far = placement(cluster)
    ns = make_namespace("day2-iso", suite="day2")
    ns.wait_default_service_account()
    ns.apply("common/client", name="prober", node=near)
    ns.apply("day2/netexec", name="server", node=near, labels=SERVER_LABELS)
    ns.apply("day2/netexec", name="guarded-in", node=far, labels="{isolate: ingress}")
    ns.apply("day2/netexec", name="guarded-out", node=far, labels="{isolate: egress}")
    ns.wait_pods_ready("app=client", 1, timeout_s=180)
    pods = {p.name: p for p in ns.wait_pods_ready("isolate", 3, timeout_s=180)}
    ns.apply("day2/policies")
    env = Isolation(ns, near, far, server_ip=pods["server"].ip, guarded_in_ip=pods["guarded-in"].ip,
                    guarded_out_ip=pods["guarded-out"].ip)
    timeline.warm_watch(env.prober())
    apply_requested_breakage(request, "day2", cluster, {"ns": ns.name, "server_ip": env.server_ip,
                                                        "ingress_sentinel_ip": env.guarded_in_ip,
                                                        "egress_sentinel_ip": env.guarded_out_ip}, world="isolation")
    return env


def one_client_world(request, cluster, make_namespace, purpose: str, client: str, world: str):
    """A namespace with one client pod on worker, then the requested breakage of `world` ($ns,
    $client_ip, $client_node): (namespace, worker, worker2)."""
    near, far = placement(cluster)
    ns = make_namespace(purpose, suite="day2")
    ns.wait_default_service_account()
    ns.apply("common/client", name=client, node=near)
    client_ip = ns.wait_pods_ready("app=client", 1, timeout_s=180)[0].ip
    apply_requested_breakage(request, "day2", cluster, {"ns": ns.name, "client_ip": client_ip, "client_node": near}, world=world)
    return ns, near, far


@pytest.fixture(scope="package")
def udp_churn(request, cluster, make_namespace) -> UdpChurn:
    return worlds.world(request, "day2 udp-churn", make_udp_churn, cluster, make_namespace)


def make_udp_churn(request, cluster, make_namespace) -> UdpChurn:
    ns, near, far = one_client_world(request, cluster, make_namespace, "day2-udp", "udp-client", world="udp-churn")
    return UdpChurn(ns, cluster, near, far)


@pytest.fixture(scope="package")
def udp_nodeport(request, cluster, udp_churn, outside_client) -> UdpVia:
    node_ip = cluster.node_roles()[0][udp_churn.near]
    apply_requested_breakage(request, "day2", cluster, {"ns": udp_churn.ns.name, "outside_ip": address_of(outside_client),
                                                        "nodeport_node": udp_churn.near, "nodeport_ip": node_ip},
                             world="udp-nodeport")
    return UdpVia(udp_churn, outside_client, node_ip)


@pytest.fixture(scope="package")
def agent_restart_world(request, cluster, cni, make_namespace) -> AgentRestartWorld:
    return worlds.world(request, "day2 agent-restart", make_agent_restart_world, cluster, cni, make_namespace)


def make_agent_restart_world(request, cluster, cni, make_namespace) -> AgentRestartWorld:
    near, far = placement(cluster)
    ns = make_namespace("day2-restart", suite="day2")
    ns.wait_default_service_account()
    for name in ("holder", "prober"):
        ns.apply("common/client", name=name, node=near)
    ns.apply("day2/netexec", name="backend", node=far, labels="{restart: backend}")
    ns.apply("day2/netexec", name="guarded", node=far, labels="{isolate: ingress}")
    ns.apply("day2/policies")
    ns.apply("day2/restart-service", name="backend", selector="backend")
    clients = {p.name: p.ip for p in ns.wait_pods_ready("app=client", 2, timeout_s=180)}
    backend = ns.wait_pods_ready("restart=backend", 1, timeout_s=180)[0]
    guarded = ns.wait_pods_ready("isolate=ingress", 1, timeout_s=180)[0]
    env = AgentRestartWorld(ns, cluster, near, far, backend_ip=backend.ip, cluster_ip=ns.service("backend").spec.cluster_ip,
                            guarded_ip=guarded.ip)
    agent_namespace, agent_pod = env.agent_pod_named(restart.agent_daemonset(cni.readiness))
    apply_requested_breakage(request, "day2", cluster, {"ns": ns.name, "guarded_ip": guarded.ip, "backend_ip": backend.ip,
                                                        "holder_ip": clients["holder"], "prober_ip": clients["prober"],
                                                        "agent_namespace": agent_namespace, "agent_pod": agent_pod},
                             world="agent-restart")
    return env


@pytest.fixture(scope="package")
def before_node_restart(request, cluster, cni, agent_restart_world):
    """What the node restart calls just before its restart command: the requested breakage of world
    node-restart, so that a control acts on the restart itself (the agent restart's scenarios, in
    the same world, run untouched before it)."""
    env = agent_restart_world

    def apply() -> None:
        rule = restart.agent_daemonset(cni.readiness)
        _, agent_pod = env.agent_pod_named(rule)
        apply_requested_breakage(request, "day2", cluster, {"ns": env.ns.name, "agent_namespace": rule.namespace if rule else "",
                                                            "agent_daemonset": rule.name if rule else "", "agent_pod": agent_pod,
                                                            "backend_ip": env.backend_ip, "guarded_ip": env.guarded_ip},
                                 world="node-restart")
    return apply


@pytest.fixture(scope="package")
def graceful_world(request, cluster, make_namespace) -> GracefulWorld:
    return worlds.world(request, "day2 graceful", make_graceful_world, cluster, make_namespace)


def make_graceful_world(request, cluster, make_namespace) -> GracefulWorld:
    ns, near, far = one_client_world(request, cluster, make_namespace, "day2-graceful", "client", world="graceful")
    return GracefulWorld(ns, near, far, far_ip=cluster.node_roles()[0][far])


@pytest.fixture(scope="package")
def same_node_world(request, cluster, make_namespace) -> SameNodeWorld:
    return worlds.world(request, "day2 same-node", make_same_node_world, cluster, make_namespace)


def make_same_node_world(request, cluster, make_namespace) -> SameNodeWorld:
    workers = placement(cluster)
    ns = make_namespace("day2-same-node", suite="day2")
    ns.wait_default_service_account()
    for node in workers:
        ns.apply("common/client", name=f"client-{node_id(node)}", node=node)
        ns.apply("day2/netexec", name=f"sn-{node_id(node)}", node=node, labels="{same-node: backend}")
    ns.apply("day2/same-node-service", name="same-node")
    clients = {p.node: p.name for p in ns.wait_pods_ready("app=client", 2, timeout_s=180)}
    backends = ns.wait_pods_ready("same-node=backend", 2, timeout_s=180)
    env = SameNodeWorld(ns, "same-node", ns.service("same-node").spec.cluster_ip, clients, {p.name: p.node for p in backends})
    ips = {f"{node_id(p.node)}_backend_ip": p.ip for p in backends}
    apply_requested_breakage(request, "day2", cluster, {"ns": ns.name, "cluster_ip": env.cluster_ip, **ips}, world="same-node")
    return env


@pytest.fixture(scope="package")
def source_ranges_world(request, cluster, make_namespace, addons, outside_client) -> SourceRangesWorld:
    _, far = placement(cluster)
    ns = make_namespace("day2-ranges")
    ns.wait_default_service_account()
    ns.apply("day2/netexec", name="lb-backend", node=far, labels="{source-ranges: backend}")
    backend = ns.wait_pods_ready("source-ranges=backend", 1, timeout_s=180)[0]
    other = outside.start(cluster.name, f"{cluster.name}-control-plane", "day2-other-outside")
    try:
        listed_ip, other_ip = address_of(outside_client), address_of(other)
        ns.apply("day2/source-range-services", allowed=f"{listed_ip}/32")
        (ranged_ip, _), (open_ip, _) = (wait_address(cluster, ServiceRef(ns.name, name)) for name in ("ranged", "open"))
        apply_requested_breakage(request, "day2", cluster, {"ns": ns.name, "ranged_ip": ranged_ip, "open_ip": open_ip,
                                                            "backend_ip": backend.ip, "listed_ip": listed_ip, "other_ip": other_ip},
                                 world="source-ranges")
        yield SourceRangesWorld(ns, outside_client, other, listed_ip, other_ip, ranged_ip, open_ip)
    finally:
        outside.stop(other)
