"""What observes the cluster for the graceful-termination scenarios: draining backends made per
scenario (manifests/workloads/day2/draining-netexec.yaml), which backend's log shows a request,
the delete that starts a drain, and an endpoint's conditions in its EndpointSlice."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from day2_checks import delete_now, keep_result, token, wait_named_ready
from kubernetes import client

from cnimatrix.day2.graceful import InFlight, logged_at
from cnimatrix.probe.probes import http
from fixtures.workloads import Namespace

ANSWER_SLACK_S = 20.0    # the client waits this much past the backend's work before it gives up


@dataclass
class GracefulWorld:
    ns: Namespace
    near: str            # the client's node (and the other node of the NodePort's backends)
    far: str             # the node of the backends that are deleted, probed through its NodePort
    far_ip: str

    def backend(self, name: str, group: str, node: str, drain_s: float) -> None:
        """A draining netexec labelled graceful=`group`: once deleted it serves `drain_s` more
        seconds (preStop), within a grace period 30 s longer."""
        self.ns.apply("day2/draining-netexec", name=name, node=node, labels=f"{{graceful: {group}}}",
                      drain_s=f"{drain_s:g}", grace_s=f"{drain_s + 30:g}")

    def cluster_ip(self, name: str, group: str) -> str:
        self.ns.apply("day2/graceful-service", name=name, selector=group)
        return self.ns.service(name).spec.cluster_ip

    def local_node_port(self, name: str, group: str) -> int:
        self.ns.apply("day2/local-nodeport", name=name, selector=group)
        return self.ns.service(name).spec.ports[0].node_port

    def wait_ready(self, *names: str, timeout_s: float = 180) -> float:
        return wait_named_ready(self.ns, "graceful", names, timeout_s)

    def reach(self, address: str) -> bool:
        """One HTTP probe from the client."""
        return all(r.ok for r in http(self.ns.executor("client"), [address], timeout_s=1.0))

    def accepted_by(self, names: list[str], marker: str, timeout_s: float) -> tuple[str, float | None]:
        """The backend whose log shows `marker`, and when it logged it ("", None: none within `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name in names:
                at = logged_at(self.ns.core.read_namespaced_pod_log(name, self.ns.name, timestamps=True), marker)
                if at is not None:
                    return name, at
            time.sleep(0.2)
        return "", None

    def in_flight(self, service_ip: str, backends: list[str], work_s: float, accept_within_s: float) -> InFlight:
        """Send one request through the ClusterIP that keeps its backend busy `work_s`; once a
        backend's log shows it, delete that backend (it drains), then wait for the answer."""
        marker = f"inflight-{token()}"
        target = f"{service_ip}:8080/shell?cmd=echo%20{marker}%3Bsleep%20{work_s:g}%3Bcat%20/etc/hostname"   # /etc/hostname: the pod's name, kubelet-mounted in every image
        box: dict = {}
        started = time.monotonic()
        executor = self.ns.executor("client", "client")   # its own API client: the main thread probes too
        sender = threading.Thread(daemon=True, target=keep_result,
                                  args=(box, "answer", lambda: http(executor, [target], timeout_s=work_s + ANSWER_SLACK_S)))
        sender.start()
        backend, accepted_at, terminating_at = "", None, None
        try:
            backend, accepted_at = self.accepted_by(backends, marker, accept_within_s)
            if backend:
                self.ns.core.delete_namespaced_pod(backend, self.ns.name)   # its own grace period: it drains
                terminating_at = time.time()
        finally:
            sender.join(work_s + ANSWER_SLACK_S + 60)
        answer = (box.get("answer") or [None])[0]
        if answer is None:
            return InFlight(backend, accepted_at, terminating_at, work_s, "error",
                            box.get("answer_error", "the request gave no result"), time.monotonic() - started)
        return InFlight(backend, accepted_at, terminating_at, work_s, answer.outcome.value, answer.reply, answer.ms / 1000)

    def endpoint_draining(self, service: str, pod: str) -> bool:
        """Whether the Service's EndpointSlices show the pod's endpoint serving and terminating."""
        for endpoint in self.ns.endpoints(service):
            if endpoint.target_ref is not None and endpoint.target_ref.name == pod:
                conditions = endpoint.conditions
                return conditions is not None and bool(conditions.serving) and bool(conditions.terminating)
        return False

    def still_terminating(self, pod: str) -> bool:
        try:
            return self.ns.core.read_namespaced_pod(pod, self.ns.name).metadata.deletion_timestamp is not None
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise

    def delete_now(self, *names: str) -> None:
        """End the scenario's pods, draining or not: nothing keeps sleeping after it."""
        delete_now(self.ns, *names)
