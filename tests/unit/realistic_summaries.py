"""Two summaries shaped the way the suites write them (every run-level metrics block, the per-test
metrics of every suite), built with the writers' own pure helpers where there is one, so the
typed results and the comparison are checked against what a run really leaves.

calico: every suite ran, NetworkPolicy enforced, a negative control applied, its timeline recorded; flannel: NetworkPolicy
not enforced (its growth curve declared), the add-ons failed to install, no DNS answer timed.
"""
from __future__ import annotations

from typing import Any

from cnimatrix import hostload
from cnimatrix.netpol import timing
from cnimatrix.perf.datapath import ALL_ROUTES, ORDER, Settings
from cnimatrix.perf.figures import route_summary
from cnimatrix.perf.growth import CURVES_BY_ID, Point, curve_record
from cnimatrix.podnet.scenarios import Round, SetupSample, setup_summary
from cnimatrix.results import RunSummary, TestResult
from cnimatrix.stats import latency_summary
from cnimatrix.testkit.timeline import Step, timeline

COMMIT = "0123456789abcdef0123456789abcdef01234567"
K8S = "v1.37.1"
NODES = ("cnimatrix-control-plane", "cnimatrix-worker", "cnimatrix-worker2")
KUBE_PROXY = "daemonset/kube-system/kube-proxy"


def _window(pace: float, pods: int = 3) -> dict[str, Any]:
    """One component's figures over one window, as cnimatrix.perf.cgroups.window returns them."""
    return {"pods": pods, "wall_s": 10.0, "cpu_s": round(0.4 * pace, 3), "cores": round(0.04 * pace, 4) if pods else None,
            "peak_mib": round(42.0 * pace, 1), "usage_mib": 40.0, "peak_scope": "window", "unread": [] if pods else ["uid-1"]}


def _reps(route_id: str, pace: float) -> list[dict[str, float] | None]:
    base = 1.0 if ALL_ROUTES[route_id].is_baseline else 0.8 / pace
    reps: list[dict[str, float] | None] = []
    for i, wobble in enumerate((0.9, 1.0, 1.1)):
        if route_id == "node-port" and i == 2:
            reps.append(None)  # a repetition that gave nothing
            continue
        reps.append({"tcp_1_gbps": round(10 * base * wobble, 3), "tcp_n_gbps": round(14 * base * wobble, 3),
                     "udp_gbps": 0.05, "udp_loss_pct": 0.0, "udp_jitter_ms": round(0.02 / base * wobble, 4),
                     "rr_p50_us": round(40 / base * wobble, 1), "rr_p99_us": round(90 / base * wobble, 1),
                     "rr_count": 2000.0})
    return reps


def perf_block(pace: float, policies_enforced: bool, name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """metrics.perf, and the growth curve records the growth tests copy into their own metrics."""
    reps = {route_id: _reps(route_id, pace) for route_id in ORDER}
    routes = {}
    for route_id in ORDER:
        route = ALL_ROUTES[route_id]
        baseline = reps[route.baseline] if route.baseline else None
        routes[route_id] = {"title": route.title, "baseline": route.baseline, **route_summary(reps[route_id], baseline),
                            "problems": ["exec into client-a failed: timeout"] if route_id == "node-port" else []}
    cni_component = f"daemonset/kube-system/{name}-node"
    cost = {"components": {cni_component: {NODES[1]: 1, NODES[2]: 1}, KUBE_PROXY: {NODES[1]: 1, NODES[2]: 1}},
            "idle": {cni_component: _window(pace), KUBE_PROXY: _window(1.0)},
            "throughput": {cni_component: _window(pace * 2), KUBE_PROXY: _window(1.0, pods=0)}}
    growth = {
        "service_backends": curve_record(CURVES_BY_ID["service_backends"],
                                         [Point(10, round(0.3 * pace, 3), 9.0), Point(30, round(0.45 * pace, 3), 20.0),
                                          Point(60, None, 41.0, problem="no answer within 60 s")],
                                         service_cidr="10.96.0.0/16"),
        "namespaces": curve_record(CURVES_BY_ID["namespaces"],
                                   [Point(1, 0.9, 2.0, {"created_to_start_s": 0.5, "start_to_answer_s": 0.4,
                                                        "unanswered_pings": 1}),
                                    Point(10, round(1.2 * pace, 3), 14.0)],
                                   peer="the pod server on the second worker (ICMP echo)"),
    }
    if policies_enforced:
        growth["network_policies"] = curve_record(CURVES_BY_ID["network_policies"],
                                                  [Point(10, 0.05, 3.0), Point(100, 0.04, 12.0)])
    else:
        growth["network_policies"] = curve_record(CURVES_BY_ID["network_policies"], [], declared="not-enforced")
    block = {"settings": vars(Settings()), "host": {"cpus": 2, "load_at_start": [3.1, 2.5, 2.0], "load_at_end": [4.2, 3.0, 2.2]},
             "datapath": {"routes": routes, "wall_s": 69.9}, "cost": cost, "growth": growth, "suite_s": 228.9}
    return block, reps


def netpol_block(enforced: bool) -> dict[str, Any]:
    steps = [{"watched": 4, "matrix_converged_s": 2.1, "first_flip_s": 0.3, "all_flipped_s": 0.8, "flaps": 0, "early": 0},
             {"watched": 2, "matrix_converged_s": 4.0, "first_flip_s": 0.6, "all_flipped_s": None, "flaps": 1, "early": 0,
              "note": "1 watched cell(s) did not hold the new verdict before the watch ended"},
             {"watched": 0, "matrix_converged_s": 1.9, "first_flip_s": None, "all_flipped_s": None, "flaps": 0, "early": 0,
              "note": "no cell changes verdict"}]
    block: dict[str, Any] = {"matrix_connected_s": 1.014,
                             "time_to_effect_s": {k: round(v / 1000, 2) if k != "count" else v
                                                  for k, v in latency_summary([830.0, 4090.0, 27560.0, 2100.0]).items()}}
    if enforced:
        block["live_update"] = timing.summary(steps, [98.0, 101.5, 120.0])
    block["established_connection"] = {"deny-ingress-same-node": _established(enforced)}
    block["node_traffic"] = {"own-node-allowed": {"own-node-to-pod": "allowed (answered)"}}
    return block


def _established(enforced: bool) -> dict[str, Any]:
    return {"client": "x/a", "server": "x/b", "same_node": True, "behaviour": "kept" if enforced else "never-denied",
            "how": None, "cut_after_s": None, "kept_for_s": 3.2 if enforced else None, "exchanges_after_change": 31,
            "new_connections_denied_after_s": 0.4 if enforced else None, "watch_error": None}


def podnet_block() -> dict[str, Any]:
    samples = [SetupSample(f"churn-{i}", 10.0 + i, 10.4 + i, 11.0 + i, 11.2 + i + i / 10) for i in range(5)]
    samples.append(SetupSample("churn-5", 20.0, None, 21.0, 21.5))
    rounds = [Round(created=10, node=NODES[1], running=10, addressed=10, answered=10, ipam_before=3, ipam_peak=13, ipam_after=3),
              Round(created=10, node=NODES[2], running=10, addressed=10, answered=9, ipam_before=3, ipam_peak=13, ipam_after=4,
                    others_after=1)]
    return {"mtu": {"pod": dict.fromkeys(NODES, 1450), "pod_route_to_anchor": dict.fromkeys(NODES, 1450),
                    "node": dict.fromkeys(NODES, 1500), "tunnels": {n: {"vxlan.calico": 1450} for n in NODES}},
            "ip_lifecycle": {"nodes": [*NODES[1:], NODES[0]], "batch": 10, "accounting": "IPAM block (calicoctl ipam show)",
                             "rounds": [vars(r) for r in rounds]},
            "setup": {"peer": "a server pod on another node (ICMP echo)",
                      "clock": "scheduled and sandbox: first seen by a pod watch; start and answer: inside the pod",
                      **setup_summary(samples), "notes": ["one pod was first seen after it ran"]}}


def _t(test_id: str, suite: str, title: str, outcome: str = "passed", metrics: dict | None = None, **extra) -> TestResult:
    return TestResult(test_id, suite, title, outcome, 2.5, attempts=extra.pop("attempts", 3), metrics=metrics or {}, **extra)


def tests_for(cni: str, enforced: bool, perf: dict[str, Any], reps: dict[str, list]) -> list[TestResult]:
    """One or two scenarios per suite, each carrying the per-test metrics its test records."""
    netpol_declared = None if enforced else {"capability": "networkpolicy", "status": "not-enforced",
                                             "evidence": "flannel has no NetworkPolicy controller"}
    policy_case = {"category": "ingress", "features": ["podSelector", "ports"], "targets": ["80/TCP", "81/UDP"],
                   "matrices": [{"state": "initial", "converged": True, "attempts": 3, "tables": [{"target": "80/TCP",
                                 "pods": ["x/a", "x/b"], "mismatches": 0}]}],
                   "time_to_effect_s": {"initial": 0.8, "after update": 2.3 if enforced else None},
                   "settle_s": {"initial": 0.8, "after update": 2.3}}
    if enforced:
        policy_case["live_update"] = {"after update": {"watched": 4, "matrix_converged_s": 2.1, "first_flip_s": 0.3,
                                                       "all_flipped_s": 0.8, "flaps": 0, "early": 0}}
    routes = {r: {"baseline": ALL_ROUTES[r].baseline, "ratios": perf["datapath"]["routes"][r]["ratios"],
                  "figures": perf["datapath"]["routes"][r]["figures"], "repetitions": reps[r]}
              for r in ("pod-cross-node", "node-port")}
    tests = [
        _t("suites/service/test_service.py::test_clusterip_spreads_over_all_backends[same-node]", "service",
           "ClusterIP reaches every ready backend, evenly, from a client on each node",
           metrics={"requests_per_round": 120, "settle_s": {"spread": 1.2}}),
        _t("suites/service/test_service.py::test_endpoints_follow_scaling", "service",
           "Endpoints follow scale-up and scale-down: traffic reaches exactly the ready backends",
           metrics={"settle_s": {"scale-up": 2.1, "scale-down": 3.4 if enforced else 4.4}}),
        _t("suites/service/test_service.py::test_readiness_flip", "service",
           "A backend that turns unready stops getting traffic, and gets it again when ready",
           outcome="failed" if not enforced else "passed", message="backend web-1 still answered" if not enforced else "",
           metrics={"host_load_1m": 7.25} if not enforced else {}),
        _t("suites/dns/test_dns.py::test_headless_follows_ready_endpoints", "dns",
           "A headless Service answers exactly the ready pod IPs and follows scaling and readiness",
           metrics={"pods_ready_s": {"scale-up": 4.2, "scale-down": 1.0}, "settle_s": {"initial": 0.1, "scale-up": 1.5}}),
        _t("suites/dns/test_dns.py::test_deleted_service_stops_resolving", "dns",
           "A deleted Service stops resolving; recreated, it resolves to its new ClusterIP",
           metrics={"ips": {"first": "10.96.10.4", "second": "10.96.77.9"}, "settle_s": {"created": 0.2}}),
        _t("suites/dns/test_dns.py::test_resolution_latency", "dns",
           "Resolution latency p50/p99 from every worker (measured, reported in summary.json)",
           metrics={"p50_ms": 0.21, "p99_ms": 1.73} if enforced else {"p50_ms": None, "p99_ms": None},
           outcome="passed" if enforced else "failed", message="" if enforced else "400 of 400 lookups failed"),
        _t("suites/netpol/test_netpol.py::test_policy_case[ingress-ports]", "netpol", "ingress: allow one port",
           outcome="passed" if enforced else "not-enforced", metrics=policy_case, declared=netpol_declared),
        _t("suites/netpol/test_established.py::test_established_connection[deny-ingress-same-node]", "netpol",
           "established connection: deny ingress on the same node", metrics={"established_connection": _established(enforced)},
           flags=("established-connection-kept",) if enforced else ()),
        _t("suites/netpol/test_node_traffic.py::test_node_traffic[own-node-allowed]", "netpol",
           "node traffic: the own node reaches its pods", metrics={"node_traffic": {
               "own_node": NODES[1], "other_node": NODES[2],
               "probes": {"own-node-to-pod": {"expect": "recorded", "observed": "allowed (answered)", "why": "kubelet probes"}}},
               "settle_s": {"policies in force": 0.4}}, flags=("own-node-to-pod-allowed",)),
        _t("suites/ingress/test_ingress.py::test_routing[host]", "ingress", "Host-based routing",
           metrics={"time_to_effect_s": {"host": 1.25}, "settle_s": {"host": 1.1}}),
        _t("suites/gateway/test_gateway.py::test_weighted_split", "gateway",
           "Weighted backends split requests 3:1 between two Services (chi-square, alpha 1e-3)",
           metrics={"split": {"webapp": 301, "api": 99}, "time_to_effect_s": {"weighted": 2.0}}),
        _t("suites/podnet/test_podnet.py::test_addresses_in_cluster_cidr_and_unique", "podnet",
           "Every pod has an address inside the cluster's pod CIDR, and no two pods share one", metrics={"pods": 14}),
        _t("suites/podnet/test_podnet.py::test_addresses_in_node_pod_cidr", "podnet",
           "Every pod's address lies inside its node's podCIDR",
           metrics={"node_pod_cidrs": {n: [f"10.244.{i}.0/24"] for i, n in enumerate(NODES)}}),
        _t("suites/podnet/test_podnet.py::test_restarted_pod_gets_connectivity", "podnet",
           "A pod whose sandbox is restarted gets its network set up again and talks both ways at its address",
           metrics={"addresses": {"worker": {"before": "10.244.1.5", "after": "10.244.1.9"}, "worker2": {"before": "10.244.2.4", "after": None}}, "settle_s": {"restarted": 6.0}}),
        _t("suites/podnet/test_podnet.py::test_reachability[pod-to-pod]", "podnet", "Pod to pod across nodes",
           metrics={"probes_per_round": 18}),
        _t("suites/podnet/test_podnet.py::test_large_transfer_across_nodes[pod]", "podnet",
           "A multi-megabyte HTTP response arrives intact across nodes", metrics={"transfer_ms": {"worker": 120, "worker2": 98}}),
        _t("suites/podnet/test_podnet.py::test_ip_lifecycle_no_leak", "podnet",
           "Pods created and deleted in batches on one node all get an address, and the IPAM gets every one back",
           metrics=dict(podnet_block()["ip_lifecycle"])),
        _t("suites/podnet/test_podnet.py::test_pod_network_setup_time", "podnet",
           "Every new pod's first packet is answered; pod network set-up time p50/p99 is reported",
           metrics={k: podnet_block()["setup"].get(k) for k in ("count", "scheduled_to_answer_s")}),
        _t("suites/podnet/test_podnet.py::test_agnhost_fixture_fidelity", "podnet",
           "The agnhost fixture image carries what upstream agnhost's tests rely on", metrics={"tools": {"curl": "0", "dig": "0"}}),
        _t("suites/perf/test_datapath.py::test_host_network_baselines", "perf",
           "The hostNetwork baselines (node to itself, node to node, outside to node) are measured",
           metrics={b: perf["datapath"]["routes"][b]["figures"] for b in ("host-same-node", "host-cross-node", "outside-to-node")}),
        *[_t(f"suites/perf/test_datapath.py::test_route_against_host_network[{r}]", "perf", ALL_ROUTES[r].title,
             metrics=routes[r]) for r in routes],
        _t("suites/perf/test_datapath.py::test_cni_cost_idle_and_under_load", "perf",
           "CPU seconds and peak memory of the CNI's pods (and kube-proxy) are read from the nodes' cgroups",
           metrics=dict(perf["cost"]), outcome="failed", message="no cgroup accounting for: throughput: kube-proxy"),
        *[_t(f"suites/perf/test_growth.py::test_growth_{curve}", "perf", CURVES_BY_ID[curve].title,
             metrics=dict(perf["growth"][curve]), outcome="skipped" if "declared" in perf["growth"][curve] else "passed",
             message="NetworkPolicy declared not-enforced" if "declared" in perf["growth"][curve] else "")
          for curve in ("service_backends", "network_policies", "namespaces")],
    ]
    return tests


def timeline_block() -> dict[str, Any]:
    """metrics.timeline as the plugin writes it: the run phases, each suite's reports, the wall time."""
    run = {"cluster_create": 21.5, "images_load": 54.9, "cni_ready": 29.9, "addons_ready": 35.4, "cluster_delete": 6.2}
    steps = [Step("podnet", "setup", 110.0, nested_s=106.3), Step("podnet", "call", 240.0, waits_s=180.5, rounds=96),
             Step("podnet", "teardown", 4.0), Step("service", "setup", 12.0), Step("service", "call", 95.0, waits_s=60.0, rounds=40),
             Step("ingress", "setup", 50.0, nested_s=35.4), Step("ingress", "call", 70.0, waits_s=41.0, rounds=30),
             Step("perf", "call", 900.0, waits_s=12.0, rounds=8), Step("perf", "teardown", 9.0, nested_s=6.2)]
    return timeline(run, steps, 2467.0).to_dict()


def day2_block(enforced: bool) -> dict[str, Any]:
    """metrics.day2 as the day-2 suite writes it: a CNI that enforces isolates from the start."""
    leak = {"attempts": 58, "admitted": 7, "refused": 2, "window_s": 0.61, "first_admitted_s": 0.0, "watched_s": 3.8}
    held = {"attempts": 62, "admitted": 0, "refused": 3, "window_s": None, "first_admitted_s": None, "watched_s": 6.1}
    stale = {"settled_s": None, "last_stale_s": 11.9, "stale": 120, "silent": 0, "before": 12, "answered_before": 12,
             "old_backends": ["rec-1a2b3c-a"], "bound_s": 10.0}
    return {"startup_isolation": {"ingress": {**(held if enforced else leak), "lag_s": 0.21}, "egress": held if enforced else leak},
            "label_time_to_deny_s": 0.84 if enforced else None,
            "udp_staleness": {"backend-deleted": {"settled_s": 1.2, "last_stale_s": None, "stale": 0, "silent": 11, "before": 12,
                                                  "answered_before": 12, "old_backends": ["del-1a2b3c-a"], "bound_s": 10.0},
                              "service-recreated": stale}}


def summaries() -> dict[str, dict[str, Any]]:
    """column -> summary document, as the plugin writes it."""
    docs = {}
    for cni, version, enforced, pace in (("calico", "v3.30.3", True, 1.0), ("flannel", "v0.28.4", False, 1.3)):
        perf, reps = perf_block(pace, enforced, cni)
        metrics: dict[str, Any] = {
            "host": hostload.summarize([1.2, 3.5, 9.0, 2.2] if enforced else [0.4], 2),
            "service_programmed_s": {NODES[0]: 0.6, NODES[1]: 0.4, NODES[2]: None if not enforced else 0.5},
            "dns": {"name": "web.cnimatrix-dns-1.svc.cluster.local.", "lookups_per_node": 200, "failures": 0 if enforced else 400,
                    "latency_ms": latency_summary([0.1, 0.21, 0.3, 1.73, 3.0]) if enforced else None,
                    "per_node": {NODES[1]: latency_summary([0.1, 0.21, 0.3]) if enforced else None,
                                 NODES[2]: latency_summary([1.73, 3.0]) if enforced else None}},
            "netpol": netpol_block(enforced),
            "podnet": podnet_block(),
            "perf": perf,
            "day2": day2_block(enforced),
        }
        if enforced:
            metrics["addons"] = {"metallb": {"version": "v0.15.2", "install_s": 21.4},
                                 "traefik": {"version": "v3.5.0", "install_s": 14.0},
                                 "addresses": {"traefik/traefik": "172.18.255.200", "traefik/traefik-local": "172.18.255.201"},
                                 "address_pool": "172.18.255.200-172.18.255.250"}
            metrics["ingress"] = {"time_to_effect_s": {"default-backend": 2.5, "host": 1.25}}
            metrics["gateway"] = {"gateway_programmed_s": 3.2, "time_to_effect_s": {"weighted": 2.0}}
            metrics["breakage"] = {"name": "netpol-agent-stopped", "must_fail": ["suites/netpol/test_netpol.py::test_policy_case"]}
            metrics["timeline"] = timeline_block()
        else:
            metrics["addons"] = {"metallb": {"version": "v0.15.2"}, "traefik": {"version": "v3.5.0"},
                                 "error": "traefik/traefik: no LoadBalancer address within 120 s"}
        summary = RunSummary(
            cni_name=cni, cni_version=version, kubernetes_version=K8S, kind_version="v0.33.0",
            node_image=f"kindest/node:{K8S}", offline=True, cluster_name=f"cnimatrix-{cni}", cluster_nodes=3,
            cluster_existing=False, started_at="2026-11-22T10:00:00Z", finished_at="2026-11-22T10:41:07Z",
            timings_s={"cluster_create": 21.5, "cni_ready": 29.9 * pace, "suites": 1503.7, "images_load": 54.9},
            tests=tests_for(cni, enforced, perf, reps), metrics=metrics, diagnostics=None, cnimatrix_commit=COMMIT)
        docs[cni] = summary.to_dict()
    return docs
