"""Node restart (issue 28, item 2, second part). The agent restart's world: worker2's kind container
is restarted once (`docker restart -t 10`), while a client on worker keeps one TCP connection to the
backend on worker2 busy, opens new connections to a ClusterIP whose only backend is that one, and
knocks on a pod there that a deny-all ingress policy guards, each every 100 ms. The pods get new
sandboxes, and their IPs may change: each is probed at its new address too, from the moment the API
shows it until a settle period after the node and both pods are back. Three scenarios judge that
one restart: the backend answered again at its address, the Service recovered, and no denied
connection got through. The held connection's fate is reported, not judged (a node restart resets
it). cnimatrix.day2.node_restart holds the judgements; the figures go to metrics.day2.node_restart."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from day2_checks import AgentRestartWorld
from node_restart_checks import NodeRestartSeen, observe_node_restart, pods_not_ready, save_agent_log

from cnimatrix.cluster import kind
from cnimatrix.cluster.kind import ClusterError
from cnimatrix.day2 import node_restart, restart
from cnimatrix.day2.node_restart import NODE_BOUND_S, STEADY_S
from cnimatrix.testkit import declared
from cnimatrix.testkit.run import results_dir, run_metrics
from cnimatrix.testkit.timeouts import deadline

# A node restart disturbs everything on worker2: nothing runs beside it, and it runs last (disruptive):
# no other suite's world lives through it.
pytestmark = [pytest.mark.suite("day2"), pytest.mark.alone, pytest.mark.disruptive]

BASELINE_S = 2.0        # probes before the command: the paths worked (and the deny held) beforehand
SETTLE_S = 20.0         # after the node and both pods are back, the Service answering this long in a row ends the observation (STEADY_S of it judged)
PROBE_TIMEOUT_S = 0.9   # a new connection's connect + answer; under 1 s (see timeline.watch)
STALL_MARK_S = 2.0      # a held request unanswered this long is marked stalled (the fate)


@pytest.fixture(scope="module")
def node_restarted(request, agent_restart_world: AgentRestartWorld, cluster, cni, kernel_features,
                   before_node_restart) -> Iterator[NodeRestartSeen]:
    """The one restart the three scenarios judge."""
    env = agent_restart_world
    if not cluster.kind_nodes:
        pytest.skip("restarts a node's kind container with docker: only on kind clusters cnimatrix created")
    if env.far not in cluster.node_containers():
        pytest.fail(f"no running container {env.far} among the cluster's kind nodes: nothing to restart", pytrace=False)
    problem = env.settled(not declared.cni_gaps(cni, kernel_features, ["networkpolicy"]), deadline("steady"), deadline("policy"))
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        seen = observe_node_restart(env, before_node_restart, baseline_s=BASELINE_S, settle_s=SETTLE_S, bound_s=NODE_BOUND_S,
                                    probe_timeout_s=PROBE_TIMEOUT_S, stall_mark_s=STALL_MARK_S,
                                    agent=restart.agent_daemonset(cni.readiness))
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    seen_log = save_agent_log(cluster, seen.restart.agent, results_dir(request) / "evidence")
    run_metrics(request, "day2").setdefault("node_restart", {})["agent_log"] = seen_log
    # whatever probes this world afterwards aims at the pods' current addresses
    env.backend_ip, env.guarded_ip = seen.backend.new_ip or env.backend_ip, seen.guarded.new_ip or env.guarded_ip
    yield seen
    if request.config.getoption("breakage"):
        return   # a negative control's cluster goes with its run; its pods there may never be Ready
    # the session's clean-up and evidence find worker2's pods running again
    waiting = pods_not_ready(env.ns.core, env.far, NODE_BOUND_S)
    if waiting:
        kind.say(f"day2: after the node restart, pods on {env.far} still not Ready: {', '.join(waiting[:8])}")


def report(request, record, seen: NodeRestartSeen, part: str, figures: dict) -> None:
    """The restart's own figures (with the held connection's fate) and this scenario's part, on the
    test and in metrics.day2."""
    shared = {**seen.restart.to_dict(), "connection": node_restart.held_connection(seen.exchanges, seen.connect_error, seen.restart)}
    run_metrics(request, "day2").setdefault("node_restart", {}).update({**shared, part: figures})
    record.metrics["node_restart"] = {**shared, part: figures}


def came_back(seen: NodeRestartSeen) -> None:
    """First in every scenario: a node that never came back fails each of them with that one line."""
    ok, reason = node_restart.node_back(seen.restart, NODE_BOUND_S)
    assert ok, reason


def broken_loop(seen: NodeRestartSeen) -> str:
    return f" ({seen.watch_error})" if seen.watch_error else ""


@pytest.mark.title("node restart, pods answer again: after its node's kind container restarts, a pod there answers at its current address within 180 s")
def test_pod_answers_again_after_node_restart(node_restarted, record, request):
    seen = node_restarted
    figures = node_restart.pod_answers(seen.to_backend, seen.backend_now, seen.backend, seen.restart)
    report(request, record, seen, "backend", figures.to_dict())
    came_back(seen)
    ok, reason = node_restart.answers_again(NODE_BOUND_S, f"worker -> backend pod on {seen.restart.node}")(figures)
    assert ok, reason + broken_loop(seen)


@pytest.mark.title("node restart, Service recovers: new TCP connections to a ClusterIP whose only backend is on the restarted node answer again within 180 s of the restart and keep answering")
def test_service_recovers_from_node_restart(node_restarted, record, request, agent_restart_world):
    seen = node_restarted
    figures = node_restart.service_recovery(seen.to_service, seen.restart)
    report(request, record, seen, "service", figures.to_dict())
    came_back(seen)
    what = f"worker -> ClusterIP {agent_restart_world.cluster_ip}:8080"
    ok, reason = node_restart.service_recovers(NODE_BOUND_S, STEADY_S, what)(figures)
    assert ok, reason + broken_loop(seen)


@pytest.mark.title("node restart, NetworkPolicy: no connection a deny-all ingress policy covers is admitted to a pod on the node while it restarts, at its old address or its current one")
@pytest.mark.requires("networkpolicy")
def test_no_fail_open_during_node_restart(node_restarted, record, request):
    seen = node_restarted
    figures = node_restart.denied_across(seen.to_guarded, seen.guarded_now, seen.to_service, seen.guarded, seen.restart)
    report(request, record, seen, "denied_ingress", figures.to_dict())
    came_back(seen)
    open_path = restart.new_connections(seen.to_service, seen.restart.as_restart())
    ok, reason = node_restart.stays_denied(f"worker -> guarded pod on {seen.restart.node}", open_path)(figures)
    assert ok, reason + broken_loop(seen)
