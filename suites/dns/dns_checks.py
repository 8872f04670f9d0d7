"""What the DNS suite's scenarios observe: dig and libc lookups, resolv.conf, scaling and readiness
steps. The judges they are held to are in cnimatrix/dns/judges.py."""
from __future__ import annotations

import time
from contextlib import contextmanager

from cnimatrix.probe.probes import dns, resolve_latencies
from cnimatrix.stats import latency_summary
from cnimatrix.testkit import deadline


# --- observations ---------------------------------------------------------------------------

def lookup(executor, exact: list[str], searched: list[str], tcp: bool = False) -> list:
    """A records of `exact` names as given, then of `searched` names through the search list."""
    return (dns(executor, [(name, "A") for name in exact], tcp=tcp)
            + dns(executor, [(name, "A") for name in searched], tcp=tcp, search=True))


def libc_lookup(executor, names: list[str]) -> list[set[str]]:
    """IPv4 addresses the client's libc resolver returns for each name (search list, ndots)."""
    script = "; echo @@; ".join(f"getent ahostsv4 {name} | awk '{{print $1}}' | sort -u" for name in names)
    return [set(part.split()) for part in executor.sh(script, timeout_s=30 * len(names)).split("@@")]


def resolv_conf(executor) -> list[list[str]]:
    """The words of each line of the pod's /etc/resolv.conf, comments and blank lines left out."""
    return [line.split() for line in executor.sh("cat /etc/resolv.conf", timeout_s=20).splitlines()
            if line.strip() and not line.startswith("#")]


def headless_answer(dnsenv, name: str):
    """The ready web pods' IPs, and the A answer for `name`."""
    return {p.ip for p in dnsenv.ready()}, dns(dnsenv.client(), [(name, "A")])[0]


def srv_answers(dnsenv, web: str, headless: str):
    """The ready pod IPs; SRV answers for the web Service's two named ports and the headless
    Service's http port; and the A answers for the headless SRV targets."""
    ready = {p.ip for p in dnsenv.ready()}
    answers = dns(dnsenv.client(), [(f"_http._tcp.{web}", "SRV"), (f"_echo._udp.{web}", "SRV"),
                                    (f"_http._tcp.{headless}", "SRV")])
    targets = sorted({data.split()[3] for _, t, data in answers[2].records if t == "SRV"})
    resolved = dns(dnsenv.client(), [(t, "A") for t in targets])
    return ready, answers, resolved


def scale_until_ready(dnsenv, record, replicas: int, label: str) -> None:
    """Scale web and wait for its pods (the cluster's work, not DNS's), timed in pods_ready_s."""
    dnsenv.ns.scale("web", replicas)
    started = time.monotonic()
    dnsenv.ns.wait_deployment("web", timeout_s=deadline("slow"))
    record.metrics.setdefault("pods_ready_s", {})[label] = round(time.monotonic() - started, 1)


@contextmanager
def unready(ns, pod: str):
    """The pod's readiness probe fails while inside the block."""
    flip = ns.executor(pod, "netexec")
    flip.sh("touch /tmp/unready", timeout_s=20)
    try:
        yield
    finally:
        flip.sh("rm -f /tmp/unready", timeout_s=20)


def lookup_latencies(dnsenv, name: str, lookups: int) -> tuple[dict, int]:
    """`lookups` libc resolutions of `name` from every node's client: the metrics block (latency
    over all, per node, failures per node) and how many were answered."""
    per_node, all_times, failed_on = {}, [], {}
    for node in dnsenv.clients:
        times, failed = resolve_latencies(dnsenv.client(node), name, lookups)
        failed_on[node] = failed
        all_times += times
        per_node[node] = latency_summary(times) if times else None
    metrics = {"name": name, "lookups_per_node": lookups, "failures": sum(failed_on.values()),
               "failures_per_node": failed_on,
               "latency_ms": latency_summary(all_times) if all_times else None, "per_node": per_node}
    return metrics, len(all_times)
