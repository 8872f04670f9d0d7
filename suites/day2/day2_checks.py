"""What observes the cluster for the day-2 scenarios: pods made for one scenario, the moment a new
pod's IP shows, an init container's attempts, and a CNI agent pod restarted under traffic (the UDP
churn world is in churn_checks.py)."""
from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from kubernetes import client, watch

from cnimatrix.cluster.kind import ClusterError
from cnimatrix.datafiles import ReadinessRule
from cnimatrix.day2.restart import Restart
from cnimatrix.probe import timeline
from cnimatrix.probe.executors import PodExecutor
from cnimatrix.probe.probes import many
from cnimatrix.probe.timeline import Exchange, Sample, Watch, WatchTarget
from fixtures.workloads import Namespace, pod_ready

UDP_PORT = 8081


def paths(ip: str) -> list[WatchTarget]:
    """The two paths to a netexec pod a deny-all covers (both denied): TCP 8080 and UDP 8081."""
    return [WatchTarget(f"{ip}:8080/hostname", "TCP", False), WatchTarget(f"{ip}:{UDP_PORT}", "UDP", False)]


def token() -> str:
    return secrets.token_hex(3)


def wait_named_ready(ns: Namespace, selector: str, names, timeout_s: float = 180) -> float:
    """Wait until every named pod (among those `selector` picks) is Ready; epoch seconds when that was seen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready = {p.name for p in ns.pods(selector) if p.ready}
        if set(names) <= ready:
            return time.time()
        time.sleep(0.2)
    raise ClusterError(f"pods {', '.join(names)} in {ns.name} not Ready within {timeout_s:.0f} s")


def delete_now(ns: Namespace, *names: str) -> None:
    """Delete the pods with no grace period (gone already is fine)."""
    for name in names:
        try:
            ns.core.delete_namespaced_pod(name, ns.name, grace_period_seconds=0)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


@dataclass
class Isolation:
    ns: Namespace
    near: str            # the prober's and server's node
    far: str             # the guarded and new pods' node
    server_ip: str
    guarded_in_ip: str
    guarded_out_ip: str

    def prober(self, side: bool = False) -> PodExecutor:
        """The prober's executor; `side` gives a second one for a thread beside the first."""
        return self.ns.executor("prober", "client" if side else None)

    def reach(self, executor: PodExecutor, ip: str) -> tuple[list, list]:
        """One probe per path to a netexec pod (TCP answered with a body, UDP with its name)."""
        return many(executor, [f"{ip}:8080/hostname"], [f"{ip}:{UDP_PORT}"], timeout_s=1.0)

    def new_pod(self, name: str, labels: str, probe: str | None = None) -> None:
        """A pod on the far node; with `probe`, the init container runs it first (new-pod.yaml)."""
        if probe is None:
            self.ns.apply("day2/netexec", name=name, node=self.far, labels=labels)
        else:
            self.ns.apply("day2/new-pod", name=name, node=self.far, labels=labels, probe=json.dumps(probe))

    def delete_pods(self, *names: str) -> None:
        delete_now(self.ns, *names)

    def pod_ip_when_shown(self, name: str, timeout_s: float) -> tuple[str, float]:
        """Watch the pod until the API shows its IP: (IP, epoch seconds it was seen)."""
        stream = watch.Watch()
        try:
            for event in stream.stream(self.ns.core.list_namespaced_pod, self.ns.name,
                                       field_selector=f"metadata.name={name}", timeout_seconds=int(timeout_s)):
                pod = event["object"]
                if pod.status is not None and pod.status.pod_ip:
                    return pod.status.pod_ip, time.time()
        finally:
            stream.stop()
        raise ClusterError(f"pod {self.ns.name}/{name} got no IP within {timeout_s:.0f} s")

    def init_attempts(self, name: str, targets: int) -> Watch:
        log = self.ns.core.read_namespaced_pod_log(name, self.ns.name, container="first-packets")
        return timeline.parse_watch(log, targets)

    def label(self, name: str, labels: dict[str, str]) -> None:
        self.ns.core.patch_namespaced_pod(name, self.ns.name, {"metadata": {"labels": labels}})


@contextmanager
def watching(executor: PodExecutor, targets: list[WatchTarget], **kwargs):
    """The probe engine's 100 ms watch in a thread; yields a dict that holds "watch" once it ended
    (the block waits for the loop to probe before it goes on)."""
    ready, box = threading.Event(), {}
    thread = threading.Thread(daemon=True, target=lambda: box.update(watch=timeline.watch(executor, targets, ready=ready, **kwargs)))
    thread.start()
    ready.wait(60)
    try:
        yield box
    finally:
        thread.join(kwargs.get("deadline_s", 30) + 60)


def wait_for(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll until `condition` holds or `timeout_s`; whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


@dataclass(frozen=True)
class RestartSeen:
    """One agent restart and what the client's loops saw around it."""

    restart: Restart
    exchanges: list[Exchange]       # the held connection
    connect_error: str              # why it never opened ("" when it did), or why its loop gave nothing
    to_service: list[Sample]        # new connections to the ClusterIP
    to_guarded: list[Sample]        # new connections the deny-all ingress policy covers
    watch_error: str = ""


@dataclass
class AgentRestartWorld:
    ns: Namespace
    cluster: object
    near: str            # the clients' node
    far: str             # the node whose agent restarts: the backend and the guarded pod
    backend_ip: str
    cluster_ip: str
    guarded_ip: str

    def reach(self, address: str) -> bool:
        """One HTTP probe from the prober (its kept-open probe server, not the loops' executors)."""
        tcp, _ = many(self.ns.executor("prober"), [address], [], timeout_s=1.0)
        return bool(tcp) and tcp[0].ok

    def agent_pods(self, rule: ReadinessRule) -> list[client.V1Pod]:
        """The DaemonSet's pods on the far node, by the DaemonSet's own selector."""
        daemonset = self.ns.apps.read_namespaced_daemon_set(rule.name, rule.namespace)
        labels = (daemonset.spec.selector.match_labels or {}) if daemonset.spec.selector else {}
        if not labels:
            raise ClusterError(f"DaemonSet {rule.namespace}/{rule.name} has no matchLabels selector to find its pods by")
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return self.ns.core.list_namespaced_pod(rule.namespace, label_selector=selector,
                                                field_selector=f"spec.nodeName={self.far}").items

    def agent_pod_named(self, rule: ReadinessRule | None) -> tuple[str, str]:
        """(namespace, name) of the one running agent pod on the far node, for a breakage that acts
        when it stops; ("", "") when there is none to name (the restart scenarios say why)."""
        try:
            running = [p for p in self.agent_pods(rule) if p.metadata.deletion_timestamp is None] if rule else []
        except (client.ApiException, ClusterError):
            running = []
        return (rule.namespace, running[0].metadata.name) if len(running) == 1 else ("", "")

    def agent_ready_since(self, rule: ReadinessRule, old_uid: str, timeout_s: float) -> float | None:
        """Epoch seconds a pod of the DaemonSet other than the deleted one was Ready on the far node
        (None: not within `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for pod in self.agent_pods(rule):
                if pod.metadata.uid != old_uid and pod.metadata.deletion_timestamp is None and pod_ready(pod):
                    return time.time()
            time.sleep(0.5)
        return None

    def settled(self, enforced: bool, steady_s: float, policy_s: float) -> str:
        """Wait for the state a restart is observed from: the ClusterIP answering and, where the CNI
        enforces policy, the deny in force. Why not, or "" once it holds."""
        service = f"{self.cluster_ip}:8080/hostname"
        if not wait_for(lambda: self.reach(service), steady_s, interval_s=0.5):
            return f"the ClusterIP {service} never answered before the restart: nothing to observe"
        if enforced:   # a CNI that declares no enforcement never gets there
            wait_for(lambda: not self.reach(f"{self.guarded_ip}:8080/hostname"), policy_s, interval_s=0.5)
        return ""

    @contextmanager
    def probing(self, targets: list[WatchTarget], *, limit_s: float, probe_timeout_s: float, stall_mark_s: float):
        """The two loops from the clients, every 100 ms: the holder's one connection to the backend
        and the prober's new connections to `targets`. Yields a dict once both probe (its "stop":
        the file that ends them, for further loops in those pods to end with them); on leaving, the
        file is made in both pods, the two loops are joined, and `loop_results(box)` reads them."""
        stop = f"/tmp/cnimatrix-restart-{token()}"
        held, probing, box = threading.Event(), threading.Event(), {"stop": stop}
        loops = [
            threading.Thread(daemon=True, target=keep_result, args=(box, "hold", lambda: timeline.hold_connection(
                self.ns.executor("holder", "client"), f"{self.backend_ip}:8080", stop, interval_s=0.1,
                stall_s=stall_mark_s, max_s=limit_s, ready=held))),
            threading.Thread(daemon=True, target=keep_result, args=(box, "watch", lambda: timeline.watch(
                self.ns.executor("prober", "client"), targets, interval_s=0.1, timeout_s=probe_timeout_s,
                hold=10**9, deadline_s=limit_s, ready=probing, stop_file=stop))),   # hold: never ends by itself
        ]
        for loop in loops:
            loop.start()
        try:
            held.wait(60)
            probing.wait(60)
            yield box
        finally:
            for pod in ("holder", "prober"):   # an exec of its own: the pods' other sessions may all be running loops
                PodExecutor(self.ns.cluster.api(), self.ns.name, pod).sh(f"touch {stop}", timeout_s=30)
            for loop in loops:
                loop.join(60)

    def observe_restart(self, rule: ReadinessRule, *, baseline_s: float, settle_s: float, bound_s: float,
                        probe_timeout_s: float, stall_mark_s: float) -> RestartSeen:
        """Start both loops from the clients, let them run `baseline_s`, delete the agent pod on the
        far node, and stop the loops `settle_s` after its replacement is Ready, or `bound_s` after
        the delete at the latest."""
        running = [p for p in self.agent_pods(rule) if p.metadata.deletion_timestamp is None]
        if len(running) != 1:
            raise ClusterError(f"{len(running)} pods of DaemonSet {rule.namespace}/{rule.name} on {self.far}, expected 1")
        old = running[0]
        targets = [WatchTarget(f"{self.cluster_ip}:8080/hostname", "TCP", True),
                   WatchTarget(f"{self.guarded_ip}:8080/hostname", "TCP", False)]
        # the loops' own end, should the stop file never come
        with self.probing(targets, limit_s=baseline_s + bound_s + 60, probe_timeout_s=probe_timeout_s,
                          stall_mark_s=stall_mark_s) as box:
            time.sleep(baseline_s)
            deleted_at = time.time()   # before the call: the kubelet may act before the API call returns
            self.ns.core.delete_namespaced_pod(old.metadata.name, rule.namespace)
            ready_at = self.agent_ready_since(rule, old.metadata.uid, bound_s)
            end = deleted_at + bound_s if ready_at is None else min(ready_at + settle_s, deleted_at + bound_s)
            time.sleep(max(0.0, end - time.time()))
            observed_until = time.time()
        exchanges, connect_error, (to_service, to_guarded), watch_error = loop_results(box, len(targets))
        return RestartSeen(Restart(f"{rule.namespace}/{rule.name}", self.far, deleted_at, ready_at, observed_until),
                           exchanges, connect_error, to_service, to_guarded, watch_error)


def loop_results(box: dict, targets: int) -> tuple[list[Exchange], str, list[list[Sample]], str]:
    """What `probing`'s loops saw: the held connection's exchanges, why it never opened (or why its
    loop gave nothing), the watch's samples per target, and why the watch broke ("" when it did not)."""
    exchanges, connect_error = box.get("hold", ([], box.get("hold_error", "the connection loop gave no output")))
    watched = box.get("watch")
    return exchanges, connect_error, watched.samples if watched else [[] for _ in range(targets)], box.get("watch_error", "")


def keep_result(box: dict, key: str, run: Callable[[], object]) -> None:
    """Run a loop on a thread and keep its result, or what broke it, for the caller."""
    try:
        box[key] = run()
    except Exception as exc:   # noqa: BLE001 - reported with the scenario's figures, not lost with the thread
        box[f"{key}_error"] = f"{type(exc).__name__}: {exc}"
