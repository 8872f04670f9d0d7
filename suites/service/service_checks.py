"""What the Service suite's scenarios observe: placements, targets, ready backends and the probes
sent to them. The judges they are held to are in cnimatrix/service/judges.py."""
from __future__ import annotations

from cnimatrix.cluster.roles import by_role
from cnimatrix.probe.executors import each
from cnimatrix.probe.probes import http, many
from cnimatrix.stats import min_requests_for
from cnimatrix.testkit.cells import node_id

def placed(svc, where: str) -> str:
    """The node a parametrized placement id (a node role: cnimatrix/cluster/roles.py) stands for."""
    return by_role(svc.workers, svc.control_plane)[where]


# --- observations ---------------------------------------------------------------------------

def hostname_target(svc, service: str) -> str:
    return f"{svc.cluster_ip(service)}:80/hostname"


def ready_names(svc) -> set[str]:
    return {p.name for p in svc.ready_backends()}


def solo_name(node: str) -> str:
    """The hairpin pod on `node`, and its Service."""
    return f"solo-{node_id(node)}"


def placed_backends(svc) -> dict[str, str]:
    """Ready backend -> "IP on node", for verdicts that say which backend misbehaved."""
    return {p.name: f"{p.ip} on {node_id(p.node)}" for p in svc.ready_backends()}


def http_at_once(executor, targets: list[str]) -> list:
    """HTTP GETs, all at once, through the client's kept prober (probes.many): the hundreds of
    requests a narrow fault needs cost one request line, not a curl process each."""
    return many(executor, targets, [])[0]


def udp_at_once(executor, targets: list[str]) -> list:
    """'hostname' datagrams, each from a new socket (so a new flow for the balancer), all at once."""
    return many(executor, [], targets)[1]


def from_every_client(svc, send, targets: dict[str, list[str]]) -> dict[tuple[str, str], list]:
    """`send(client, probes)` from the client on every node at once, all `targets` (label ->
    probes) in one batch per client; the results as cells {(client's node, target label): results}."""
    batch = [probe for probes in targets.values() for probe in probes]
    sent = dict(zip(svc.nodes, each(lambda node: send(svc.client(node), batch), list(svc.nodes))))
    cells = {}
    for node, results in sent.items():
        results = iter(results)
        for target, probes in targets.items():
            cells[(node_id(node), target)] = [next(results) for _ in probes]
    return cells


def local_backends(svc, node: str) -> set[str]:
    return {p.name for p in svc.ready_backends() if p.node == node}


def ready_and_answers(svc, target: str):
    """The ready backends, then requests to `target` from the client on every node: per client
    enough to reach each of one backend more than are ready, so one node still sending to a
    backend no longer ready (or not yet to a new one) is seen with p > 1 - 1e-6."""
    ready = ready_names(svc)
    n = min_requests_for(len(ready) + 1)
    cells = from_every_client(svc, http_at_once, {target: [target] * n})
    return ready, [r for results in cells.values() for r in results]


def headless_answers(svc, client, name: str):
    """Ready pod IPs (-> pod name), what `name` resolves to for the client's libc, and each
    resolved IP's hostname answer."""
    ready = {p.ip: p.name for p in svc.ready_backends()}
    resolved = set(client.sh(f"getent ahostsv4 {name} | awk '{{print $1}}' | sort -u", timeout_s=20).split())
    answers = http(client, [f"{ip}:8080/hostname" for ip in sorted(resolved)])
    return ready, resolved, answers
