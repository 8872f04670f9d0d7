"""Datapath performance against the host network, and what the CNI's own pods cost.

Each repetition measures every route right after its hostNetwork baseline (iperf3 TCP with 1 and
4 streams, UDP at a fixed rate, TCP request/response on one connection and with a new connection
per request), so ratios compare like with like on
a shared machine; repetitions go on until every ratio's 95% interval is within +-10% of its median
or a cap is hit, and implausible figures are marked suspect, those of an overloaded host noisy. The
CNI's pods (and kube-proxy) are accounted from the nodes' cgroups while the cluster idles and while
the throughput runs. Figures are reported, never judged against a fixed value: a test fails only
when its measurement could not be made.
"""
from __future__ import annotations

import pytest

from cnimatrix.perf.datapath import ALL_ROUTES, BASELINES, KINDS, ROUTES
from cnimatrix.perf.plausibility import in_words

pytestmark = [pytest.mark.suite("perf"), pytest.mark.alone]   # measurements: nothing else runs meanwhile

def missing_kinds(result, route_id: str) -> list[str]:
    """Measurements that gave no figure in any repetition (tcp_1, tcp_n, udp, rr, crr)."""
    keys = {"tcp_1": "tcp_1_gbps", "tcp_n": "tcp_n_gbps", "udp": "udp_gbps", "rr": "rr_p50_us", "crr": "crr_p50_us"}
    reps = [r for r in result.reps.get(route_id, []) if r]
    return [kind for kind in KINDS if not any(keys[kind] in r for r in reps)]


def report_route(result, route_id: str, record) -> None:
    reps = result.reps.get(route_id, [])
    record.attempts += len(reps)
    record.metrics["repetitions"] = [r for r in reps]
    problems = sorted(set(result.problems.get(route_id, [])))
    missing = missing_kinds(result, route_id)
    if problems and not missing:
        record.notes.append(f"{len(problems)} run(s) gave no figure: {problems[0][:200]}")
    assert not missing, (f"{ALL_ROUTES[route_id].title}: no figure for {', '.join(missing)} in "
                         f"{len(reps)} repetition(s), so the datapath could not be measured: " + "; ".join(problems[:3]))


@pytest.mark.title("The hostNetwork baselines (node to itself, node to node, outside to node) are measured")
def test_host_network_baselines(perf, datapath, record):
    missing = {b.id: missing_kinds(datapath, b.id) for b in BASELINES}
    for baseline in BASELINES:
        record.metrics[baseline.id] = perf.metrics["datapath"]["routes"][baseline.id]["figures"]
    bad = {k: v for k, v in missing.items() if v}
    assert not bad, ("hostNetwork baselines could not be measured: "
                     + "; ".join(f"{k}: no {', '.join(v)} ({(datapath.problems[k] or ['?'])[0][:160]})" for k, v in bad.items()))


@pytest.mark.parametrize("route", [pytest.param(r, id=r.id, marks=pytest.mark.title(f"{r.title}: throughput, UDP loss "
                                                                                    "request/response and connect/request/"
                                                                                    "response latency against the host network"))
                                   for r in ROUTES])
def test_route_against_host_network(perf, datapath, record, route):
    summary = perf.metrics["datapath"]["routes"][route.id]
    record.metrics.update({"baseline": route.baseline, "ratios": summary["ratios"], "figures": summary["figures"]})
    marked = in_words(summary["ratios"])
    if marked:   # reported, not failed: the comparison leaves these ratios unranked
        record.notes.append(f"ratios marked {marked}"[:400])
    report_route(datapath, route.id, record)


@pytest.mark.title("CPU seconds and peak memory of the CNI's pods (and kube-proxy) are read from the nodes' cgroups, idle and under load")
def test_cni_cost_idle_and_under_load(perf, datapath, record):
    cost = datapath.cost
    record.metrics.update(cost)
    assert not datapath.cost_problems, "; ".join(datapath.cost_problems)
    unread = [f"{window}: {component} ({len(w['unread'])} pod(s))" for window in ("idle", "throughput")
              for component, w in cost[window].items() if w["unread"] or not w["pods"]]
    assert not unread, ("no cgroup accounting for: " + ", ".join(unread)
                        + " (the node's /sys/fs/cgroup has no pod<uid> cgroup with cpuacct.usage or cpu.stat)")
