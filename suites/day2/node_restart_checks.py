"""What observes the node restart (suites/day2/test_node_restart.py) in the agent restart's world:
the far node's kind container restarted with the docker CLI from the test process (as breakages and
evidence reach kind nodes), the Node's Ready condition and the far node's two pods polled through
the API, and the agent restart's 100 ms loops from the near node's clients, plus a loop at each
pod's new address from the moment the API shows it."""
from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from day2_checks import AgentRestartWorld, keep_result, loop_results
from kubernetes import client

from cnimatrix.datafiles import ReadinessRule
from cnimatrix.cluster.kind import ClusterError
from cnimatrix.day2.node_restart import NodeRestart, PodReturn
from cnimatrix.probe import timeline
from cnimatrix.probe.timeline import Exchange, Sample, WatchTarget
from fixtures.workloads import pod_ready

STOP_GRACE_S = 10   # docker restart -t: the node's init gets this long to stop before it is killed
POLL_S = 0.5
BACKEND, GUARDED = "backend", "guarded"     # the world's pods on the far node (suites/day2/conftest.py)


@dataclass(frozen=True)
class NodeRestartSeen:
    """One node restart and what the clients' loops saw around it."""

    restart: NodeRestart
    backend: PodReturn
    guarded: PodReturn
    exchanges: list[Exchange]       # the held connection to the backend's old address
    connect_error: str
    to_service: list[Sample]        # new connections to the ClusterIP
    to_backend: list[Sample]        # to the backend's old address
    to_guarded: list[Sample]        # to the guarded pod's old address
    backend_now: list[Sample]       # at the backend's new address, from when the API showed it
    guarded_now: list[Sample]       # at the guarded pod's, the same
    watch_error: str = ""


def restart_container(node: str) -> None:
    """`docker restart` of the node's container; returns once it has started again. The container
    keeps its address on the kind network, so the Node keeps its InternalIP."""
    proc = subprocess.run(["docker", "restart", "-t", str(STOP_GRACE_S), node], capture_output=True, text=True,
                          timeout=STOP_GRACE_S + 120)
    if proc.returncode != 0:
        raise ClusterError(f"docker restart {node} failed: {proc.stderr.strip()[:300]}")


AGENT_LOG_BYTES = 4_000_000   # Felix logs about 170 kB from its start to its first dataplane update


def save_agent_log(cluster, agent: str, folder: Path) -> str:
    """The restarted node's CNI agent pod's log since its containers restarted, every container with
    timestamps, into `folder`: a fail-open or a slow return is read against what the agent did when
    (Canal's flanneld routes before Felix's first update, docs/known-limits.md). Returns the file's
    name under the run's results, or why there is none."""
    if not agent:
        return "no agent pod named"
    namespace, _, pod = agent.partition("/")
    text = cluster.kubectl("logs", "-n", namespace, pod, "--all-containers", "--prefix", "--timestamps", check=False)
    if not text.strip():
        return f"no log from {agent}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"node-restart-agent-{pod}.log"
    path.write_text(text[:AGENT_LOG_BYTES])
    return f"{folder.name}/{path.name}"


def node_ready(core: client.CoreV1Api, name: str) -> tuple[bool, float | None]:
    """(the Node's Ready condition is True, its last heartbeat in epoch seconds)."""
    node = core.read_node(name)
    ready = next((c for c in (node.status.conditions or []) if c.type == "Ready"), None)
    if ready is None:
        return False, None
    return ready.status == "True", ready.last_heartbeat_time.timestamp() if ready.last_heartbeat_time else None


def back_since(pod: client.V1Pod, since: float) -> bool:
    """Ready with every container started after `since`: the API's times are whole seconds, and an
    old status stays Ready until the restarted kubelet posts a new one."""
    statuses = (pod.status.container_statuses if pod.status else None) or []
    started = [s.state.running.started_at for s in statuses if s.state and s.state.running and s.state.running.started_at]
    return pod_ready(pod) and bool(statuses) and len(started) == len(statuses) and all(t.timestamp() >= int(since) for t in started)


def pods_not_ready(core: client.CoreV1Api, node: str, timeout_s: float) -> list[str]:
    """Wait until every pod on `node` is Ready again (ended ones and those being deleted aside):
    the tests after the restart find the node as they expect. Those still not Ready at `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
        waiting = [f"{p.metadata.namespace}/{p.metadata.name}" for p in pods if p.metadata.deletion_timestamp is None
                   and (p.status.phase if p.status else "") not in ("Succeeded", "Failed") and not pod_ready(p)]
        if not waiting or time.monotonic() > deadline:
            return waiting
        time.sleep(1)


@dataclass
class Comeback:
    """The Node and the two pods, polled from the restart command on."""

    restarted_at: float
    old_ips: dict[str, str]
    returned_at: float = 0.0
    not_ready_at: float | None = None
    ready_at: float | None = None
    shown: dict[str, tuple[str, float]] = field(default_factory=dict)   # pod -> (its new sandbox's IP, when the API showed it)
    back: dict[str, float] = field(default_factory=dict)                # pod -> when it was Ready again
    agent: ReadinessRule | None = None      # the CNI agent's DaemonSet, whose pod on the node is watched too
    agent_pod: str = ""
    agent_ready_at: float | None = None

    def poll_agent(self, env: AgentRestartWorld) -> None:
        """When the node's CNI agent pod was Ready again with every container restarted: its
        readiness says its datapath and policy are programmed (Felix: in sync), so a fail-open
        before it is the agent's start."""
        if self.agent is None or self.agent_ready_at is not None:
            return
        try:
            for pod in env.agent_pods(self.agent):
                self.agent_pod = f"{pod.metadata.namespace}/{pod.metadata.name}"
                if pod.metadata.deletion_timestamp is None and back_since(pod, self.restarted_at):
                    self.agent_ready_at = time.time()
        except (client.ApiException, ClusterError):
            pass    # as poll: retried at the next look

    def poll(self, core: client.CoreV1Api, env: AgentRestartWorld) -> bool:
        """One look; whether the node and both pods are back."""
        now = time.time()
        try:
            if self.ready_at is None:
                ready, beat = node_ready(core, env.far)
                if not ready and self.not_ready_at is None:
                    self.not_ready_at = now
                # Ready from the restarted kubelet: after a NotReady, or a heartbeat posted since the command returned
                if ready and (self.not_ready_at is not None or (beat is not None and beat >= int(self.returned_at))):
                    self.ready_at = now
            for pod in core.list_namespaced_pod(env.ns.name).items:
                name, ip = pod.metadata.name, pod.status.pod_ip if pod.status else None
                if name not in self.old_ips or not ip:
                    continue
                again = back_since(pod, self.restarted_at)
                # another IP is the new sandbox's at once; the same one only once the pod is back (the old status shows it too)
                if name not in self.shown and (ip != self.old_ips[name] or again):
                    self.shown[name] = (ip, now)
                if again and name not in self.back:
                    self.back[name] = now
        except client.ApiException:
            pass    # the API server is on another node; one failed look is retried at the next
        self.poll_agent(env)
        return self.ready_at is not None and len(self.back) == len(self.old_ips)

    def pod(self, name: str) -> PodReturn:
        ip, _ = self.shown.get(name, (None, None))
        return PodReturn(name, self.old_ips[name], ip, self.back.get(name))


def steady_for(answers: Callable[[], bool], hold_s: float, until: float) -> None:
    """Return once `answers()` has held true for `hold_s` in a row (a miss starts over), or at `until`."""
    since = None
    while time.time() < until:
        now = time.time()
        if answers():
            since = now if since is None else since
            if now - since >= hold_s:
                return
        else:
            since = None
        time.sleep(POLL_S)


def observe_node_restart(env: AgentRestartWorld, before: Callable[[], None], *, baseline_s: float, settle_s: float,
                         bound_s: float, probe_timeout_s: float, stall_mark_s: float,
                         agent: ReadinessRule | None = None) -> NodeRestartSeen:
    """Start the loops, let them run `baseline_s`, call `before` (the requested breakage of world
    node-restart), restart the far node's container, and poll until the node is Ready again and
    both pods are back, `bound_s` after the command at the latest. Each pod is probed at its new
    address from the moment the API shows it (the backend from the holder's second session, the
    guarded pod from the prober's), until the ClusterIP has answered `settle_s` without a miss after
    the last came back (`bound_s` after the command at the latest); then all stop. The Service may
    lag its pods: kube-router's routes to the node's new pod addresses came 19 s after them.
    `agent`: the CNI agent's DaemonSet, whose pod on the node is watched until Ready again."""
    targets = [WatchTarget(f"{env.cluster_ip}:8080/hostname", "TCP", True),
               WatchTarget(f"{env.backend_ip}:8080/hostname", "TCP", True),
               WatchTarget(f"{env.guarded_ip}:8080/hostname", "TCP", False)]
    limit_s = baseline_s + bound_s + settle_s + 120     # the loops' own end, should the stop file never come
    seen = Comeback(0.0, {BACKEND: env.backend_ip, GUARDED: env.guarded_ip}, agent=agent)
    aimed: dict[str, threading.Thread] = {}
    now_box: dict = {}

    def aim(name: str, ip: str, stop: str) -> None:
        executor = env.ns.executor("holder" if name == BACKEND else "prober")
        target = [WatchTarget(f"{ip}:8080/hostname", "TCP", name == BACKEND)]
        aimed[name] = threading.Thread(daemon=True, target=keep_result, args=(now_box, name, lambda: timeline.watch(
            executor, target, interval_s=0.1, timeout_s=probe_timeout_s, hold=10**9, deadline_s=limit_s, stop_file=stop)))
        aimed[name].start()

    with env.probing(targets, limit_s=limit_s, probe_timeout_s=probe_timeout_s, stall_mark_s=stall_mark_s) as box:
        time.sleep(baseline_s)
        before()
        seen.restarted_at = time.time()
        restart_container(env.far)
        seen.returned_at = time.time()
        while True:
            done = seen.poll(env.ns.core, env)
            for name, (ip, _) in seen.shown.items():
                if name not in aimed:
                    aim(name, ip, box["stop"])
            if done or time.time() >= seen.restarted_at + bound_s:
                break
            time.sleep(POLL_S)
        if aimed:
            steady_for(lambda: seen.poll_agent(env) or env.reach(f"{env.cluster_ip}:8080/hostname"), settle_s,
                       seen.restarted_at + bound_s)
        observed_until = time.time()
    for thread in aimed.values():
        thread.join(60)
    exchanges, connect_error, (to_service, to_backend, to_guarded), watch_error = loop_results(box, len(targets))
    now = {name: now_box[name].samples[0] if name in now_box else [] for name in (BACKEND, GUARDED)}
    errors = [watch_error] + [f"{name}'s second loop: {now_box[f'{name}_error']}" for name in aimed if f"{name}_error" in now_box]
    command = f"docker restart -t {STOP_GRACE_S} {env.far}"
    return NodeRestartSeen(NodeRestart(env.far, command, seen.restarted_at, seen.returned_at, seen.not_ready_at, seen.ready_at,
                                       observed_until, seen.agent_pod, seen.agent_ready_at),
                           seen.pod(BACKEND), seen.pod(GUARDED), exchanges, connect_error, to_service, to_backend, to_guarded,
                           now[BACKEND], now[GUARDED], "; ".join(e for e in errors if e))
