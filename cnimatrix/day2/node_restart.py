"""Node restart: what restarting one node (its kind container, `docker restart -t 10`) does to
traffic to that node, seen from a client on another node. The agent restart's world and probe
loops (cnimatrix.day2.restart holds the figures both read: held connection, new connections,
fail-open admissions); this module adds what a restart of the whole node brings.

From one restart, the 100 ms loops started before the command and stopped a settle period after
the node and its pods were back:
- the held TCP connection to the backend: its fate is reported, not judged (a node restart tears
  down every socket of the node's pods, so a reset is what is expected);
- the backend pod answering again at its current address: its sandbox is new after the restart
  and its IP may be too, so the address the API shows once it is back is probed as well;
- new connections to a ClusterIP whose only backend is that pod: when they answered again for good;
- a pod there under a deny-all ingress policy: an answered attempt at its old address (while that
  address is still its own) or at its current one is a fail-open admission.
Times are epoch seconds; kind nodes share the test's clock (see cnimatrix.probe.timeline).
"""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.day2 import restart
from cnimatrix.day2.restart import MIN_BEFORE, FailOpen, NewConnections
from cnimatrix.probe.timeline import Exchange, Sample

# From the restart command, for the node's pods and the Service to answer again. The container's
# stop (10 s grace) and start, the kubelet's start, the CNI agent's start (its images are on the
# node, so seconds to a minute rather than the catalog's 180-300 s first install), and the
# kubelet's sandbox retries about 10 s apart while the CNI is not ready yet fit well inside it;
# a node whose pods need longer is down for its users, not restarting.
NODE_BOUND_S = 180.0
STEADY_S = 10.0     # the Service answering without a miss this long at the end: recovered, not flapping
MIN_AFTER = 20      # attempts at the guarded pod's current address: 2 s of rounds at 100 ms at least


@dataclass(frozen=True)
class NodeRestart:
    """The restart itself: the command, and the Node's Ready condition as polled around it."""

    node: str
    command: str
    restarted_at: float         # the command was run
    returned_at: float          # it returned: the container had stopped and started again
    not_ready_at: float | None  # first poll that showed the node not Ready (None: none did)
    ready_at: float | None      # Ready again, a status the restarted kubelet posted (None: not within the bound)
    observed_until: float       # the probe loops were told to stop here
    agent: str = ""             # the node's CNI agent pod (the catalog's first readiness DaemonSet), "" when none
    agent_ready_at: float | None = None     # Ready again with every container restarted (None: not seen while observed)

    def as_restart(self) -> restart.Restart:
        """The agent restart's figures (connection, new_connections, fail_open) read from the command on."""
        return restart.Restart(f"node {self.node}", self.node, self.restarted_at, self.ready_at, self.observed_until)

    def after(self, moment: float | None) -> float | None:
        return _round(moment - self.restarted_at) if moment is not None else None

    def to_dict(self) -> dict:
        return {"node": self.node, "command": self.command, "command_s": self.after(self.returned_at),
                "not_ready_after_s": self.after(self.not_ready_at), "ready_after_s": self.after(self.ready_at),
                "observed_s": self.after(self.observed_until), "agent": self.agent,
                "agent_ready_after_s": self.after(self.agent_ready_at)}

    def agent_note(self) -> str:
        """When the node's CNI agent was Ready again: a fail-open before it points at the agent's start."""
        if not self.agent:
            return ""
        if self.agent_ready_at is None:
            return f"its CNI agent {self.agent} not seen Ready again while observed"
        return f"its CNI agent {self.agent} Ready again {self.after(self.agent_ready_at):.2f} s after the command"


@dataclass(frozen=True)
class PodReturn:
    """One pod of the restarted node as the API showed it."""

    name: str
    old_ip: str
    new_ip: str | None          # its new sandbox's IP as the API showed it, and probed from then (None: none shown)
    back_at: float | None       # first poll where it was Ready with every container started after the restart

    @property
    def changed(self) -> bool | None:
        return None if self.new_ip is None else self.new_ip != self.old_ip

    def ips(self) -> dict:
        return {"old_ip": self.old_ip, "new_ip": self.new_ip, "ip_changed": self.changed}

    def where(self) -> str:
        if self.new_ip is None:
            return f"old IP {self.old_ip}, no new one shown"
        return f"IP {self.new_ip} (was {self.old_ip})" if self.changed else f"IP {self.new_ip} (unchanged)"


def held_connection(exchanges: list[Exchange], connect_error: str, node: NodeRestart) -> dict:
    """The held connection's figures (restart.connection) from the command on, reported without a
    bound: a node restart tears down the pod's sockets, so a reset is expected, not judged."""
    figures = restart.connection(exchanges, connect_error, node.as_restart()).to_dict()
    figures.pop("bound_s")
    return figures


def current_samples(old: list[Sample], new: list[Sample], pod: PodReturn, since: float) -> list[Sample]:
    """Probes at the pod's current address sent from `since` on: the second loop's, and the first
    loop's too when the address did not change."""
    kept = new + (old if pod.changed is False else [])
    return sorted((s for s in kept if s.sent >= since), key=lambda s: s.sent)


@dataclass(frozen=True)
class PodAnswers:
    """The backend at its current address after the restart."""

    pod: PodReturn
    node_ready_after_s: float | None
    ready_after_s: float | None         # the pod Ready again, from the command
    answered_before: int                # at its old address before the command
    attempts: int                       # at its current address once the command returned
    answered_again_s: float | None      # from the command to the first of those answered
    answering_at_end: bool

    def to_dict(self) -> dict:
        return {**self.pod.ips(), "ready_after_s": self.ready_after_s, "answered_before": self.answered_before,
                "attempts": self.attempts, "answered_again_s": self.answered_again_s,
                "answering_at_end": self.answering_at_end, "bound_s": NODE_BOUND_S}


def pod_answers(old: list[Sample], new: list[Sample], pod: PodReturn, node: NodeRestart) -> PodAnswers:
    """The command's return is the line: the node's network was gone by then, so an answer after
    it is the pod answering again."""
    now = current_samples(old, new, pod, node.returned_at)
    first = next((s for s in now if s.allowed), None)
    return PodAnswers(pod, node.after(node.ready_at), node.after(pod.back_at),
                      sum(1 for s in old if s.sent < node.restarted_at and s.allowed), len(now),
                      node.after(first.sent) if first else None, bool(now) and now[-1].allowed)


def answers_again(bound_s: float, what: str):
    """Judge PodAnswers: answered before the restart, back and answering at its current address
    within `bound_s` of the command, and still answering at the end."""
    def judge(seen: PodAnswers) -> tuple[bool, str]:
        if seen.answered_before < MIN_BEFORE:
            return False, f"{what}: {seen.answered_before} probe(s) answered before the restart (want {MIN_BEFORE}): nothing proven"
        times = (f"node Ready after {_s(seen.node_ready_after_s)}, pod Ready after {_s(seen.ready_after_s)}, "
                 f"{seen.pod.where()}")
        if seen.pod.new_ip is None:
            return False, f"{what}: no new sandbox's address shown within {bound_s:g} s of the restart command ({times})"
        if seen.answered_again_s is None:
            return False, f"{what}: never answered at its current address ({seen.attempts} probes; {times})"
        if seen.answered_again_s > bound_s:
            return False, f"{what}: answered again only {seen.answered_again_s:.2f} s after the restart command (bound {bound_s:g} s; {times})"
        if not seen.answering_at_end:
            return False, f"{what}: answered again after {seen.answered_again_s:.2f} s but not at the end ({times})"
        return True, f"{what}: answered again {seen.answered_again_s:.2f} s after the restart command ({times})"
    return judge


@dataclass(frozen=True)
class ServiceRecovery:
    """New connections to the ClusterIP from the command on."""

    new: NewConnections             # the agent restart's figures, from the command
    recovered_after_s: float | None     # the command to the first of the final run of answers (None: the last failed)
    steady_s: float | None          # that run, to the end of the observation

    def to_dict(self) -> dict:
        return {**self.new.to_dict(), "bound_s": NODE_BOUND_S, "recovered_after_s": self.recovered_after_s,
                "steady_s": self.steady_s}


def service_recovery(samples: list[Sample], node: NodeRestart) -> ServiceRecovery:
    after = sorted((s for s in samples if s.sent >= node.restarted_at), key=lambda s: s.sent)
    last_failed = max((i for i, s in enumerate(after) if not s.allowed), default=-1)
    run = after[last_failed + 1:]
    return ServiceRecovery(restart.new_connections(samples, node.as_restart()), node.after(run[0].sent) if run else None,
                           _round(max(node.observed_until, run[-1].sent) - run[0].sent) if run else None)


def service_recovers(bound_s: float, steady_s: float, what: str):
    """Judge ServiceRecovery: answered before the restart, answering for good within `bound_s` of
    the command, and for at least `steady_s` without a miss to the end."""
    def judge(seen: ServiceRecovery) -> tuple[bool, str]:
        new = seen.new
        if new.answered_before < MIN_BEFORE:
            return False, f"{what}: {new.answered_before} attempt(s) answered before the restart (want {MIN_BEFORE}): nothing proven"
        if not new.attempts:
            return False, f"{what}: no attempt after the restart command: nothing proven"
        tally = f"{new.failed}/{new.attempts} failed, longest outage {new.outage_s or 0:.2f} s"
        if seen.recovered_after_s is None:
            return False, f"{what}: not answering at the end of the observation ({tally})"
        if seen.recovered_after_s > bound_s:
            return False, (f"{what}: answering for good only {seen.recovered_after_s:.2f} s after the restart command "
                           f"(bound {bound_s:g} s; {tally})")
        if (seen.steady_s or 0) < steady_s:
            return False, (f"{what}: answering from {seen.recovered_after_s:.2f} s, only {seen.steady_s or 0:.2f} s "
                           f"without a miss before the observation ended (want {steady_s:g} s; {tally})")
        return True, f"{what}: answering for good {seen.recovered_after_s:.2f} s after the restart command ({tally})"
    return judge


@dataclass(frozen=True)
class DeniedAcross:
    """Attempts at the guarded pod across the restart, at its old and its current address. When its
    IP changed, the old address counts only until the command returned: after that it may be
    another pod's new one."""

    pod: PodReturn
    at_old: FailOpen
    at_new: FailOpen | None     # current address once the API showed it (None: none shown)
    open_answered: int          # the open path (the ClusterIP) from the same client, answered meanwhile
    agent_note: str = ""        # when the node's CNI agent was Ready again (NodeRestart.agent_note)

    def to_dict(self) -> dict:
        return {**self.pod.ips(), "at_old": self.at_old.to_dict(), "at_new": self.at_new.to_dict() if self.at_new else None,
                "open_answered": self.open_answered}

    def when_agent(self) -> str:
        return f" ({self.agent_note})" if self.agent_note else ""


def denied_across(old: list[Sample], new: list[Sample], open_path: list[Sample], pod: PodReturn, node: NodeRestart) -> DeniedAcross:
    """`open_path`: the same client's probes of a path no policy covers; those answered while `new`
    ran show the silence at the current address is the deny's."""
    mine = old if pod.changed is False else [s for s in old if s.sent < node.returned_at]
    since = new[0].sent if new else float("inf")
    return DeniedAcross(pod, restart.fail_open(mine, node.as_restart()),
                        restart.fail_open(new, node.as_restart()) if pod.new_ip is not None else None,
                        sum(1 for s in open_path if s.sent >= since and s.allowed), node.agent_note())


def stays_denied(what: str, open_path: NewConnections):
    """Judge DeniedAcross: the open path from the same client answered (before the restart, and
    while the current address was probed), the deny held before the restart, no attempt was
    admitted at either address, and its current address was tried for several rounds."""
    def judge(seen: DeniedAcross) -> tuple[bool, str]:
        old, new = seen.at_old, seen.at_new
        if open_path.answered_before < MIN_BEFORE:
            return False, (f"{what}: the open path from the same client answered {open_path.answered_before} attempt(s) "
                           f"before the restart: nothing proven")
        if old.admitted_before:
            return False, f"{what}: {old.admitted_before} attempt(s) admitted before the restart: the deny was not in force"
        if old.admitted:
            return False, (f"fail-open during node restart: {what} at its old address {seen.pod.old_ip}: {old.admitted}/{old.attempts} "
                           f"denied attempts answered, from {old.first_admitted_s:.2f} s after the restart command, over {old.window_s:.2f} s"
                           f"{seen.when_agent()}")
        if new is None:
            return False, f"{what}: no new address shown within the bound ({seen.pod.where()}): the deny there is not proven"
        if new.admitted:
            return False, (f"fail-open after node restart: {what} at its current {seen.pod.where()}: {new.admitted}/{new.attempts} "
                           f"denied attempts answered, from {new.first_admitted_s:.2f} s after the restart command, over {new.window_s:.2f} s"
                           f"{seen.when_agent()}")
        if new.attempts < MIN_AFTER or seen.open_answered < MIN_BEFORE:
            return False, (f"{what}: {new.attempts} attempt(s) at its current address (want {MIN_AFTER}), the open path from "
                           f"the same client answered {seen.open_answered} meanwhile (want {MIN_BEFORE}): nothing proven")
        return True, f"{what}: 0/{old.attempts} answered at its old address, 0/{new.attempts} at its current {seen.pod.where()}"
    return judge


def node_back(node: NodeRestart, bound_s: float) -> tuple[bool, str]:
    """Whether the node was Ready again within the bound: the figures of a node that never came back
    are no restart's."""
    went = f"NotReady seen {node.after(node.not_ready_at):.2f} s after it" if node.not_ready_at is not None else "NotReady never seen"
    if node.ready_at is None:
        return False, f"node {node.node} not Ready again within {bound_s:g} s of `{node.command}` ({went})"
    return True, f"node {node.node} Ready again {node.after(node.ready_at):.2f} s after `{node.command}` ({went})"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
