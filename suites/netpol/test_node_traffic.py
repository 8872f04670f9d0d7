"""NetworkPolicy and the nodes: manifests/netpol/node-traffic.yaml.

hostNetwork pods on every node stand for the nodes. Each scenario applies its policies, waits
until its pod-to-pod control probes show them in force (3 rounds in a row), and meanwhile probes
node traffic: `allowed`/`denied` probes are asserted (Kubernetes is clear there: a pod isolated
for ingress still admits its own node); `recorded` probes report what the CNI did in those stable
rounds, without a verdict.
"""
from __future__ import annotations

import pytest

from cnimatrix.netpol import scenarios
from cnimatrix.netpol.reachability import word
from cnimatrix.testkit import declared

pytestmark = pytest.mark.suite("netpol")

SCENARIOS = scenarios.load_node_traffic()


def endpoints(env, hosts, scenario: scenarios.NodeTraffic) -> tuple[dict, dict, dict]:
    """The nodes node/own and node/other stand for, and executors and addresses of every name a
    probe uses (matrix pods serve port 80, hostNetwork pods hosts.port)."""
    own = env.nodes[scenario.pod]
    nodes = {"node/own": own, "node/other": next(node for node in sorted(hosts.pods) if node != own)}
    executors = {ref: hosts.executor(node) for ref, node in nodes.items()}
    addresses = {ref: f"{hosts.ips[node]}:{hosts.port}" for ref, node in nodes.items()}
    for probe in scenario.probes:
        for ref in (probe.src, probe.dst):
            if ref not in nodes:
                executors[ref], addresses[ref] = env.executor(ref), f"{env.ips[ref]}:80"
    return nodes, executors, addresses


def reading(rounds: list[list], index: int) -> str:
    """What one probe showed over the stable rounds: allowed, denied (refused/timeout) or mixed."""
    results = [r[index] for r in rounds]
    if all(r.ok for r in results):
        return "allowed"
    if not any(r.ok for r in results):
        how = sorted({r.outcome.value for r in results})
        return f"denied ({'/'.join(how)})"
    return f"mixed ({sum(r.ok for r in results)}/{len(results)} allowed)"


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name, marks=pytest.mark.title(f"node traffic: {s.description}"))
                                      for s in SCENARIOS])
def test_node_traffic(netpol, hosts, enforcing, not_enforced, declared_gaps, record, request, scenario):
    env, gaps = netpol, declared_gaps(scenario)
    env.reset()
    nodes, executors, addresses = endpoints(env, hosts, scenario)
    for policy in scenario.policies:
        env.apply_policy(policy, {"node_ip:own": hosts.ips[nodes["node/own"]], "node_ip:other": hosts.ips[nodes["node/other"]]})
    requests = [(p.src, executors[p.src], addresses[p.dst]) for p in scenario.probes]
    rounds: list[list] = []

    def observe():
        rounds.append(env.probe(requests))
        return rounds[-1]

    def wrong(results) -> list[tuple]:
        return [(p, r) for p, r in zip(scenario.probes, results) if p.expect != "recorded" and (p.expect == "allowed") != r.ok]

    def judge(results) -> tuple[bool, str]:
        text = [f"{p.src} -> {p.dst}: expected {p.expect}, observed {word(r.ok)} ({r.outcome.value})" for p, r in wrong(results)]
        return not text, "; ".join(text) or "every asserted probe as expected"

    conv = env.settle(record, "policies in force", observe, judge, enforced=enforcing and not gaps)
    stable = rounds[-env.STABLE_ROUNDS:]
    observed = {p.label: {"expect": p.expect, "observed": reading(stable, i), "why": p.why}
                for i, p in enumerate(scenario.probes)}
    record.metrics["node_traffic"] = {"own_node": nodes["node/own"], "other_node": nodes["node/other"], "probes": observed}
    env.node_traffic[scenario.name] = {label: o["observed"] for label, o in observed.items()}
    for probe in scenario.probes:
        if probe.expect == "recorded":
            record.flags.append(f"{probe.label}-{observed[probe.label]['observed'].split(' ')[0]}")
    if conv.ok:
        if not enforcing or gaps:  # every scenario has a control its policies deny
            declared.worked(record)
        return
    # A pod-to-pod control relies on a capability the CNI declares missing, with evidence (a wrong
    # node probe is still a failure).
    if enforcing and gaps and conv.last and all(p in scenario.controls for p, _ in wrong(conv.last)):
        declared.observed(request, record, gaps[0], conv.reason, not_enforced=False)
    # Not enforced: only traffic the policies deny got through (a denied own-node probe is a fault).
    if not enforcing and conv.last and all(p.expect == "denied" and r.ok for p, r in wrong(conv.last)):
        not_enforced(f"{conv.reason}; node traffic: {env.node_traffic[scenario.name]}")
    pytest.fail(f"{conv.reason} (after {conv.count} rounds)", pytrace=False)
