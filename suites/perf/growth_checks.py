"""What the growth curves and the Service-count curve observe in the cluster: the waiter run in a
client pod around a change (cnimatrix/perf/growth.py), and free ClusterIPs to aim it at."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import yaml
from kubernetes import client

from cnimatrix.perf.growth import fixed_service_ip, parse_waiter, seconds_between, waiter_script

WAIT_ANSWER_S = 120       # a change that shows no answer in this long was not measured
DEFAULT_SERVICE_CIDR = "10.96.0.0/16"   # kubeadm's (and kind's) default


def start_waiter(executor, host: str, port: int, expected: list[str], deadline_s: float = WAIT_ANSWER_S):
    """Run the waiter in the background; returns once it is trying (and a way to get its answer)."""
    ready = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(executor.sh, waiter_script(host, port, expected, deadline_s=deadline_s),
                         deadline_s + 60, lambda line: ready.set() if line.startswith("@@waiting") else None)
    if not ready.wait(60):
        pool.shutdown(wait=False)
        raise AssertionError(f"the waiter in {executor.name} did not start within 60 s")

    def answer():
        try:
            return parse_waiter(future.result(timeout=deadline_s + 90))
        finally:
            pool.shutdown(wait=False)
    return answer


def time_change(executor, host: str, port: int, expected: list[str], change, deadline_s: float = WAIT_ANSWER_S):
    """(seconds from the change to the first answer from `expected`, the waiter's Answer)."""
    answer = start_waiter(executor, host, port, expected, deadline_s)
    stamp = time.time_ns()
    change()
    got = answer()
    return (seconds_between(stamp, got.at_ns) if got else None), got


def service_cidr(core: client.CoreV1Api) -> str:
    try:
        config = core.read_namespaced_config_map("kubeadm-config", "kube-system").data or {}
        subnet = (yaml.safe_load(config.get("ClusterConfiguration", "")) or {}).get("networking", {}).get("serviceSubnet")
    except client.ApiException:
        subnet = None
    return (subnet or DEFAULT_SERVICE_CIDR).split(",")[0].strip()


def free_service_ip(core: client.CoreV1Api, cidr: str, start: int) -> tuple[str, int]:
    taken = {s.spec.cluster_ip for s in core.list_service_for_all_namespaces().items}
    index = start
    while fixed_service_ip(cidr, index) in taken:
        index += 1
    return fixed_service_ip(cidr, index), index
