"""The day-2 suite's figures: isolation from a new pod's first packet, time for a label change to
isolate a running pod, UDP staleness after Service churn, traffic to a node while its CNI agent
restarts and while the node itself restarts, graceful termination, PreferSameNode and loadBalancerSourceRanges (run level and per test)."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.metrics.common import TestMetrics
from cnimatrix.results.typed import Record, fact


@dataclass(frozen=True)
class StartupWindow(Record):
    """Probes on a new pod's denied path from its first instant (cnimatrix.day2.startup.Window)."""

    attempts: int | None = fact("Probes sent on the denied path.", minimum=0)
    admitted: int | None = fact("Of those, answered: denied packets that got through.", minimum=0)
    refused: int | None = fact("Refused (a CNI's reject or a server not yet listening): not judged.", minimum=0)
    window_s: float | None = fact("Seconds from the first probe to the last admitted one (null: none admitted).",
                                  nullable=True, minimum=0)
    first_admitted_s: float | None = fact("Seconds from the first probe to the first admitted one.", nullable=True, minimum=0)
    watched_s: float | None = fact("Seconds from the first probe to the last.", minimum=0)
    lag_s: float | None = fact("Ingress: seconds from the API showing the pod's IP to the first probe.", nullable=True)


@dataclass(frozen=True)
class UdpStaleness(Record):
    """One UDP client socket around one Service change (cnimatrix.day2.churn.Staleness)."""

    settled_s: float | None = fact("Seconds from the change until live backends alone answered (null: never).", nullable=True)
    last_stale_s: float | None = fact("Seconds from the change to the last answer from a backend no longer behind the Service.",
                                      nullable=True)
    stale: int | None = fact("Datagrams answered by such a backend after the change.", minimum=0)
    silent: int | None = fact("Datagrams not answered after the change.", minimum=0)
    before: int | None = fact("Datagrams sent before the change.", minimum=0)
    answered_before: int | None = fact("Of those, answered.", minimum=0)
    old_backends: list[str] | None = fact("Who answered before the change.")
    bound_s: float | None = fact("The bound settled_s is judged against.")


@dataclass(frozen=True)
class RestartConnection(Record):
    """One established TCP connection across the agent or node restart (cnimatrix.day2.restart.Connection). The
    restart is the agent pod's delete or the node's restart command, here and in the two records below."""

    fate: str | None = fact("survived, stalled (a request waited over 2 s, answered or not), reset (gone: see how), not-open.")
    how: str | None = fact("reset: reset, closed or bad (a wrong answer); not-open: the connect error.", nullable=True)
    answered_before: int | None = fact("Requests answered before the restart.", minimum=0)
    exchanges: int | None = fact("Requests sent in all (one at a time, every 100 ms).", minimum=0)
    longest_gap_s: float | None = fact("Longest time between answered requests, to the end if the last one was unanswered.",
                                       nullable=True, minimum=0)
    ended_after_s: float | None = fact("Seconds from the restart to the exchange that found the connection gone.", nullable=True)
    answering_at_end: bool | None = fact("Whether its last request was answered.")
    bound_s: float | None = fact("The bound longest_gap_s is judged against (none for a node restart: its fate is reported).")


@dataclass(frozen=True)
class RestartNewConnections(Record):
    """New TCP connections to a ClusterIP whose only backend is on the restarted node (cnimatrix.day2.restart.NewConnections)."""

    attempts: int | None = fact("Attempts (connect, request, answer; 0.9 s timeout) from the restart on.", minimum=0)
    failed: int | None = fact("Of those, not answered.", minimum=0)
    answered_before: int | None = fact("Attempts answered before the restart.", minimum=0)
    outage_s: float | None = fact("The longest run of failed attempts: its first to the next answered one (or the end).",
                                  nullable=True, minimum=0)
    outage_from_s: float | None = fact("Seconds from the restart to that run's first attempt.", nullable=True)
    answering_at_end: bool | None = fact("Whether the last attempt was answered.")
    bound_s: float | None = fact("The bound outage_s is judged against (a node restart's: recovered_after_s).")


@dataclass(frozen=True)
class RestartFailOpen(Record):
    """Attempts on a pod of the restarted node under a deny-all ingress policy (cnimatrix.day2.restart.FailOpen)."""

    attempts: int | None = fact("Attempts from the restart on.", minimum=0)
    admitted: int | None = fact("Of those, answered: denied connections that got through.", minimum=0)
    admitted_before: int | None = fact("Answered before the restart (the deny was not in force).", minimum=0)
    first_admitted_s: float | None = fact("Seconds from the restart to the first admitted attempt.", nullable=True)
    window_s: float | None = fact("Seconds from the first admitted attempt to the last (null: none).", nullable=True, minimum=0)


@dataclass(frozen=True)
class AgentRestart(Record):
    """The CNI agent pod on worker2 deleted while a client on worker talks to that node (cnimatrix.day2.restart)."""

    agent: str | None = fact("The agent's DaemonSet, namespace/name: the first DaemonSet of the CNI's readiness rules.")
    node: str | None = fact("The node whose agent pod was deleted.")
    ready_after_s: float | None = fact("Seconds from the delete until the new agent pod there was Ready (null: not within the bound).",
                                       nullable=True)
    observed_s: float | None = fact("Seconds the probes ran after the delete (until Ready plus a settle period, bounded).")
    connection: RestartConnection | None = fact("The established connection.")
    new_connections: RestartNewConnections | None = fact("New connections to the ClusterIP.")
    denied_ingress: RestartFailOpen | None = fact("Connections a deny-all ingress policy covers.")


@dataclass(frozen=True)
class NodeRestartAddress(Record):
    """A pod of the restarted node: its IP before and after (cnimatrix.day2.node_restart.PodReturn)."""

    old_ip: str | None = fact("Its IP before the restart.")
    new_ip: str | None = fact("Its new sandbox's IP as the API showed it, probed from then (null: none shown within the bound).",
                               nullable=True)
    ip_changed: bool | None = fact("Whether the new sandbox brought a new IP.", nullable=True)


@dataclass(frozen=True)
class NodeRestartPod(NodeRestartAddress):
    """The backend pod on the restarted node, at its current address (cnimatrix.day2.node_restart.PodAnswers)."""

    ready_after_s: float | None = fact("Seconds from the restart command until it was Ready again with every container "
                                       "started anew (null: not within the bound).", nullable=True)
    answered_before: int | None = fact("Probes at its old address answered before the restart.", minimum=0)
    attempts: int | None = fact("Probes at its current address once the command returned.", minimum=0)
    answered_again_s: float | None = fact("Seconds from the restart command to the first of those answered (null: none).",
                                          nullable=True)
    answering_at_end: bool | None = fact("Whether the last of them was answered.")
    bound_s: float | None = fact("The bound answered_again_s is judged against.")


@dataclass(frozen=True)
class NodeRestartService(RestartNewConnections):
    """New connections to the ClusterIP across the node restart (cnimatrix.day2.node_restart.ServiceRecovery)."""

    recovered_after_s: float | None = fact("Seconds from the restart command to the first of the final run of answered "
                                           "attempts (null: the last one failed); judged against bound_s.", nullable=True)
    steady_s: float | None = fact("How long that run lasted, to the end of the observation.", nullable=True, minimum=0)


@dataclass(frozen=True)
class NodeRestartDenied(NodeRestartAddress):
    """The pod under a deny-all ingress policy across the node restart (cnimatrix.day2.node_restart.DeniedAcross)."""

    at_old: RestartFailOpen | None = fact("At its old address (when it changed, only until the restart command returned).")
    at_new: RestartFailOpen | None = fact("At its current address from when the API showed it (null: none shown).", nullable=True)
    open_answered: int | None = fact("New connections to the ClusterIP from the same client answered while at_new was probed.", minimum=0)


@dataclass(frozen=True)
class NodeRestart(Record):
    """worker2's kind container restarted while a client on worker talks to that node (cnimatrix.day2.node_restart)."""

    node: str | None = fact("The node whose container was restarted.")
    command: str | None = fact("The restart command, run from the test process.")
    command_s: float | None = fact("Seconds the command took (the container stopped and started again).")
    not_ready_after_s: float | None = fact("Seconds from the command until the Node was first seen not Ready (null: never).",
                                           nullable=True)
    ready_after_s: float | None = fact("Seconds from the command until the Node was Ready again (null: not within the bound).",
                                       nullable=True)
    observed_s: float | None = fact("Seconds the probes ran after the command.")
    agent: str | None = fact("The node's CNI agent pod, namespace/name (the catalog's first readiness DaemonSet; empty: none).")
    agent_ready_after_s: float | None = fact("Seconds from the command until that pod was Ready again with every container "
                                             "restarted (null: not seen while the probes ran).", nullable=True)
    agent_log: str | None = fact("That pod's log since the restart, every container with timestamps: a file under the run's "
                                 "results (evidence/...), or why there is none.")
    connection: RestartConnection | None = fact("The established connection to the backend (its fate reported, not judged).")
    backend: NodeRestartPod | None = fact("The backend pod answering again at its current address.")
    service: NodeRestartService | None = fact("New connections to the ClusterIP.")
    denied_ingress: NodeRestartDenied | None = fact("Connections a deny-all ingress policy covers.")


@dataclass(frozen=True)
class InFlightRequest(Record):
    """A slow request through a ClusterIP whose backend is deleted (draining) while it works (cnimatrix.day2.graceful.InFlight)."""

    completed: bool | None = fact("Whether its answer came back, from the backend that was deleted.")
    outcome: str | None = fact("The client's outcome: ok, timeout, refused, error.")
    backend: str | None = fact("The backend whose log showed the request (null: none did).", nullable=True)
    request_s: float | None = fact("Seconds the client waited for the answer.", minimum=0)
    work_s: float | None = fact("Seconds the backend works on the request before it answers.", minimum=0)
    left_at_delete_s: float | None = fact("Seconds of that work left when the API answered the delete.", nullable=True)


@dataclass(frozen=True)
class TerminatingFallback(Record):
    """New connections through an externalTrafficPolicy Local NodePort whose node's only endpoint is terminating (cnimatrix.day2.graceful.Fallback)."""

    attempts: int | None = fact("New connections tried while it drained.", minimum=0)
    by_terminating: int | None = fact("Answered by the terminating endpoint (the KEP-1669 fallback).", minimum=0)
    elsewhere: int | None = fact("Answered by another endpoint (forwarded off the node).", minimum=0)
    failed: int | None = fact("Not answered.", minimum=0)


@dataclass(frozen=True)
class SameNodeRequests(Record):
    """A client's requests to a PreferSameNode ClusterIP (cnimatrix.day2.same_node.SameNodeCell)."""

    requests: int | None = fact("Requests in the last round.", minimum=0)
    same_node: int | None = fact("Answered by a backend on the client's node.", minimum=0)
    other_node: int | None = fact("Answered by a backend on another node.", minimum=0)
    failed: int | None = fact("Not answered.", minimum=0)


@dataclass(frozen=True)
class SourceRangeClient(Record):
    """One outside client's requests to a LoadBalancer address with loadBalancerSourceRanges (cnimatrix.day2.source_ranges.RangeCell)."""

    attempts: int | None = fact("Requests in the last round.", minimum=0)
    answered: int | None = fact("Answered.", minimum=0)
    refused: int | None = fact("Refused.", minimum=0)
    timed_out: int | None = fact("Timed out (dropped).", minimum=0)


@dataclass(frozen=True)
class SourceRanges(Record):
    """A LoadBalancer whose loadBalancerSourceRanges list one outside client."""

    listed: SourceRangeClient | None = fact("The listed client (answered where enforced).")
    other: SourceRangeClient | None = fact("Another outside client (kept out where enforced).")


@dataclass(frozen=True)
class Day2Metrics(Record):
    """metrics.day2: the day-2 suite's run-level figures."""

    startup_isolation: dict[str, StartupWindow] | None = fact("Direction (ingress, egress) -> the new pod's denied path.")
    label_time_to_deny_s: float | None = fact(
        "Seconds from the label patch that brought a running pod under a deny policy until every probe to it was denied (null: never).",
        nullable=True)
    udp_staleness: dict[str, UdpStaleness] | None = fact(
        "Case -> what one UDP client socket saw: the change (backend-deleted, endpoint-replaced, service-recreated) from a "
        "pod to a ClusterIP, or prefixed nodeport- from the outside client to a NodePort on a node without the backends.")
    agent_restart: AgentRestart | None = fact("Traffic to a node while its CNI agent pod restarts.")
    node_restart: NodeRestart | None = fact("Traffic to a node while its kind container restarts.")
    inflight_request: InFlightRequest | None = fact("A request in flight while its backend terminates.")
    terminating_fallback: TerminatingFallback | None = fact(
        "New connections on a node whose only externalTrafficPolicy Local endpoint terminates.")
    same_node: dict[str, SameNodeRequests] | None = fact("Client node (worker, worker2) -> its requests to a PreferSameNode ClusterIP.")
    source_ranges: SourceRanges | None = fact("A LoadBalancer with loadBalancerSourceRanges, from the listed and another outside client.")


@dataclass(frozen=True)
class Day2TestMetrics(TestMetrics):
    """A day-2 test's metrics."""

    startup: StartupWindow | None = fact("The new pod's denied path.")
    open_twin: StartupWindow | None = fact("The same probes on a path no policy covers (the positive twin).")
    time_to_deny_s: float | None = fact("Seconds from the label patch until the deny held.", nullable=True)
    staleness: UdpStaleness | None = fact("What the UDP client saw around the change.")
    conntrack: list[str] | None = fact("The translating node's conntrack entries for the Service's address and port when the "
                                       "check failed (the client's node for a ClusterIP, the node sent to for a NodePort).")
    agent_restart: AgentRestart | None = fact("The agent restart and the part of it this test judges.")
    node_restart: NodeRestart | None = fact("The node restart and the part of it this test judges.")
    inflight_request: InFlightRequest | None = fact("The in-flight request and its backend's deletion.")
    terminating_fallback: TerminatingFallback | None = fact("New connections while the node's only local endpoint drained.")
    same_node: dict[str, SameNodeRequests] | None = fact("Client node -> its requests to the PreferSameNode ClusterIP.")
    source_ranges: SourceRanges | None = fact("The listed and the other outside client's requests to the ranged address.")
