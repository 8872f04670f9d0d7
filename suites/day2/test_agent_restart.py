"""Agent restart (issue 28, item 2, first part). The CNI's agent pod on worker2 (the first DaemonSet
of the catalog's readiness rules) is deleted once, while a client on worker keeps one TCP
connection to a server on worker2 busy, opens new connections to a ClusterIP whose only backend is
there, and knocks on a pod there that a deny-all ingress policy guards, each every 100 ms. The
probes run from just before the delete until the new agent pod is Ready plus a settle period.
Three scenarios judge that one restart: the connection neither reset nor stalled, new connections
recovered, and no denied connection got through. cnimatrix.day2.restart holds the judgements;
the figures go to metrics.day2.agent_restart."""
from __future__ import annotations

import pytest
from day2_checks import AgentRestartWorld, RestartSeen

from cnimatrix.day2 import restart
from cnimatrix.testkit import declared
from cnimatrix.testkit.run import run_metrics
from cnimatrix.testkit.timeouts import deadline

# Deleting the agent disturbs whatever else runs on worker2 (the NetworkPolicy cases in the
# background), and their load would blur the outage: nothing runs beside these.
pytestmark = [pytest.mark.suite("day2"), pytest.mark.alone]

BASELINE_S = 2.0        # probes before the delete: the paths worked (and the deny held) beforehand
SETTLE_S = 20.0         # after the new agent pod is Ready: it may program the node for a while yet
OBSERVE_BOUND_S = 240.0  # from the delete: an agent that never comes back ends the observation here
PROBE_TIMEOUT_S = 0.9   # a new connection's connect + answer; under 1 s (see timeline.watch)
STALL_MARK_S = 2.0      # a held request unanswered this long is marked stalled (the fate)


@pytest.fixture(scope="module")
def restarted(agent_restart_world: AgentRestartWorld, cni, kernel_features) -> RestartSeen:
    """The one restart the three scenarios judge."""
    env = agent_restart_world
    rule = restart.agent_daemonset(cni.readiness)
    if rule is None:
        pytest.skip(f"the {cni.name} catalog entry names no DaemonSet among its readiness rules: no agent to restart")
    problem = env.settled(not declared.cni_gaps(cni, kernel_features, ["networkpolicy"]), deadline("steady"), deadline("policy"))
    if problem:
        pytest.fail(problem, pytrace=False)
    return env.observe_restart(rule, baseline_s=BASELINE_S, settle_s=SETTLE_S, bound_s=OBSERVE_BOUND_S,
                               probe_timeout_s=PROBE_TIMEOUT_S, stall_mark_s=STALL_MARK_S)


def report(request, record, seen: RestartSeen, part: str, figures: dict) -> None:
    """The restart's own figures and this scenario's part, on the test and in metrics.day2."""
    block = run_metrics(request, "day2").setdefault("agent_restart", {})
    block.update(seen.restart.to_dict())
    block[part] = figures
    record.metrics["agent_restart"] = {**seen.restart.to_dict(), part: figures}


def came_back(seen: RestartSeen) -> None:
    ok, reason = restart.restart_completed(seen.restart, OBSERVE_BOUND_S)
    assert ok, reason


@pytest.mark.title("agent restart, established connection: a TCP connection to a pod on the node whose CNI agent restarts is neither reset nor stalled over 10 s")
def test_connection_survives_agent_restart(restarted, record, request):
    seen = restarted
    held = restart.connection(seen.exchanges, seen.connect_error, seen.restart)
    report(request, record, seen, "connection", held.to_dict())
    ok, reason = restart.connection_survives(restart.STALL_BOUND_S, f"worker -> {seen.restart.node} held connection")(held)
    assert ok, reason
    came_back(seen)


@pytest.mark.title("agent restart, new connections: new TCP connections to a ClusterIP whose only backend is on the node whose CNI agent restarts fail for at most 15 s")
def test_new_connections_recover_from_agent_restart(restarted, record, request, agent_restart_world):
    seen = restarted
    figures = restart.new_connections(seen.to_service, seen.restart)
    report(request, record, seen, "new_connections", figures.to_dict())
    ok, reason = restart.outage_within(restart.OUTAGE_BOUND_S, f"worker -> ClusterIP {agent_restart_world.cluster_ip}:8080")(figures)
    assert ok, reason + (f" ({seen.watch_error})" if seen.watch_error else "")
    came_back(seen)


@pytest.mark.title("agent restart, NetworkPolicy: no connection a deny-all ingress policy covers is admitted to a pod on the node while its CNI agent restarts")
@pytest.mark.requires("networkpolicy")
def test_no_fail_open_during_agent_restart(restarted, record, request, agent_restart_world):
    seen = restarted
    figures = restart.fail_open(seen.to_guarded, seen.restart)
    report(request, record, seen, "denied_ingress", figures.to_dict())
    open_path = restart.new_connections(seen.to_service, seen.restart)
    ok, reason = restart.denied_throughout(f"worker -> guarded pod {agent_restart_world.guarded_ip}:8080", open_path)(figures)
    assert ok, reason + (f" ({seen.watch_error})" if seen.watch_error else "")
    came_back(seen)
