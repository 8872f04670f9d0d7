"""What observes the cluster for the UDP churn scenarios (suites/day2/test_udp_churn.py): backends
and a UDP Service made per case, one UDP socket streaming to it, and the conntrack entries of the
node that translates the stream.

A case reaches its Service one of two ways (UdpVia): from the client pod on worker to the ClusterIP,
whose entry lives on worker; or from the outside client (the run's container on the kind network) to
the NodePort on worker's address, with the backends on worker2. The NodePort is worker's, the node
without the backends, on purpose: as behind an outside load balancer that picks any node
(externalTrafficPolicy Cluster), worker translates and masquerades the datagrams and forwards them
across nodes, so the entry under test lives on a node where no endpoint ever ran. A proxy that
cleans up only after endpoints of its own node would pass on worker2 and is caught here; and both
ways' entries live on the same node (worker)."""
from __future__ import annotations

import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from day2_checks import UDP_PORT, token, wait_named_ready
from kubernetes import client

from cnimatrix.cluster.kind import ClusterError
from cnimatrix.probe.executors import ContainerExecutor, Executor
from cnimatrix.probe.udp_stream import Stream, run_stream
from fixtures.workloads import Namespace


@dataclass
class UdpChurn:
    ns: Namespace
    cluster: object
    near: str            # the client pod's node, and the node whose NodePort the outside client sends to
    far: str             # the backends' node

    def backend(self, name: str, group: str) -> None:
        self.ns.apply("day2/netexec", name=name, node=self.far, labels=f"{{churn: {group}}}")

    def service(self, name: str, group: str, cluster_ip: str = "", node_port: int | None = None) -> client.V1Service:
        """Create the Service and return it as the API has it: a ClusterIP one, or with `node_port`
        a NodePort one (0: the API picks the port). An explicit ClusterIP or nodePort reuses it."""
        self.ns.apply("day2/udp-service", name=name, selector=group, cluster_ip=cluster_ip,
                      type="ClusterIP" if node_port is None else "NodePort", node_port=node_port or 0)
        return self.ns.service(name)

    def wait_ready(self, *names: str, timeout_s: float = 180) -> float:
        return wait_named_ready(self.ns, "churn", names, timeout_s)

    def delete_pod(self, name: str) -> None:
        self.ns.core.delete_namespaced_pod(name, self.ns.name)

    def delete_service(self, name: str, timeout_s: float = 60) -> None:
        """Delete it and wait until the API no longer has it."""
        self.ns.core.delete_namespaced_service(name, self.ns.name)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.ns.service(name)
            except client.ApiException as exc:
                if exc.status == 404:
                    return
                raise
            time.sleep(0.1)
        raise ClusterError(f"Service {self.ns.name}/{name} still there {timeout_s:.0f} s after its deletion")


@dataclass(frozen=True)
class UdpPath:
    """Where one case's datagrams go, and the node whose conntrack table holds their entry."""

    ip: str              # the ClusterIP, or the node address the NodePort is sent to
    port: int            # 8081, or the NodePort
    node: str            # the node that translates the datagrams
    what: str            # how a failure names the path

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass
class UdpVia:
    """How a churn case reaches its Service: from the client pod to the ClusterIP (`outside` None),
    or from the outside client to the NodePort on `node_ip`, the address of `env.near`."""

    env: UdpChurn
    outside: ContainerExecutor | None = None
    node_ip: str = ""

    def case(self, change: str) -> str:
        """The case's name in metrics.day2.udp_staleness."""
        return change if self.outside is None else f"nodeport-{change}"

    def create(self, name: str, group: str, like: UdpPath | None = None) -> UdpPath:
        """The Service in front of `group`; with `like`, at that earlier path's address (its
        ClusterIP, or its nodePort)."""
        if self.outside is None:
            ip = self.env.service(name, group, cluster_ip=like.ip if like else "").spec.cluster_ip
            return UdpPath(ip, UDP_PORT, self.env.near, f"ClusterIP {ip}:{UDP_PORT}")
        port = self.env.service(name, group, node_port=like.port if like else 0).spec.ports[0].node_port
        return UdpPath(self.node_ip, port, self.env.near, f"NodePort {self.node_ip}:{port} from outside")

    def recreate(self, name: str, group: str, like: UdpPath, timeout_s: float = 30) -> tuple[float, int]:
        """Create it again at `like`'s address; the ClusterIP or nodePort may stay allocated a
        moment after the deletion, so a refusal naming the allocation is retried until `timeout_s`.
        Returns (epoch seconds it was accepted, refusals before that)."""
        deadline, refused = time.monotonic() + timeout_s, 0
        while True:
            try:
                self.create(name, group, like)
                return time.time(), refused
            except ClusterError as exc:
                if "allocated" not in str(exc) or time.monotonic() > deadline:
                    raise
                refused += 1
                time.sleep(0.2)

    def sender(self, side: bool = False) -> Executor:
        """Where the stream runs; `side`: an executor for the stream's own thread (a pod's exec
        client is not shared between threads; the container's `docker exec` holds no state)."""
        if self.outside is not None:
            return self.outside
        return self.env.ns.executor("udp-client", "client" if side else None)

    @contextmanager
    def streaming(self, path: UdpPath, max_s: float):
        """One UDP socket sending to `path` while the block runs; yields the Stream as it fills."""
        stop, box = f"/tmp/cnimatrix-udp-{token()}", Stream([], None)
        thread = threading.Thread(daemon=True, target=run_stream, args=(self.sender(side=True), path.address, stop, box),
                                  kwargs={"max_s": max_s})
        thread.start()
        try:
            yield box
        finally:
            self.sender().sh(f"touch {stop}", timeout_s=30)
            thread.join(60)

    def conntrack(self, path: UdpPath) -> list[str]:
        """The translating node's conntrack entries for the path's address and port (kind nodes
        carry conntrack), or why there are none to show."""
        if not getattr(self.env.cluster, "kind_nodes", False):
            return ["no node access on a cluster cnimatrix did not create: see the CNI's diagnostics"]
        proc = subprocess.run(["docker", "exec", path.node, "conntrack", "-L", "-p", "udp", "--orig-dst", path.ip,
                               "--dport", str(path.port)], capture_output=True, text=True, timeout=60)
        lines = [line for line in proc.stdout.splitlines() if line.strip()][:20]
        if proc.returncode != 0 and not lines:
            return [f"conntrack -L failed: {proc.stderr.strip()[:200]}"]
        return lines or ["no entry (a CNI that translates Services in eBPF keeps its own table: see its diagnostics)"]
