"""Synthetic summaries (built through cnimatrix.results) for the comparison's tests and for
previewing the page without clusters: `python -m cnimatrix.compare.samples DIR` writes them.

Four columns with results plus one asked for without any, so that every cell status, a
disagreement, a stale run (another commit), a version 1 file (stale: no commit, old Kubernetes),
an interrupted run, declared evidence, a flag and every kind of measurement appear.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cnimatrix.perf.figures import spread as spread_of
from cnimatrix.perf.plausibility import faster_than_host
from cnimatrix.results import RunSummary, TestResult, read_summary, write_summary, write_text_atomic
from cnimatrix.testkit.timeline import Step, timeline

NETPOL_NOT_ENFORCED = {"capability": "networkpolicy", "status": "not-enforced",
                       "evidence": "Flannel only moves packets between nodes; it has no NetworkPolicy controller."}
INGRESS_UNSUPPORTED = {"capability": "ingress", "status": "unsupported",
                       "evidence": "No ingress controller is installed with this CNI <by design> & on purpose."}
FAILURE = "backend web-2 got 0 of 120 responses | checked from worker2\nTraceback (most recent call last): ..."

# (id, suite, title) shared by every CNI, so rows match by id
SCENARIOS = [
    ("suites/service/test_service.py::test_clusterip_spread", "service", "ClusterIP reaches every backend"),
    ("suites/service/test_service.py::test_scale_up", "service", "Endpoints follow scale-up"),
    ("suites/service/test_service.py::test_udp", "service", "UDP Service"),
    ("suites/dns/test_dns.py::test_fqdn", "dns", "A record for the FQDN"),
    ("suites/dns/test_dns.py::test_latency", "dns", "Resolution latency"),
    ("suites/netpol/test_netpol.py::test_default_deny", "netpol", "Default deny blocks ingress"),
    ("suites/netpol/test_netpol.py::test_allow_namespace", "netpol", "Allow from a namespace"),
    ("suites/ingress/test_ingress.py::test_host", "ingress", "Host-based routing"),
    ("suites/podnet/test_podnet.py::test_pod_to_pod", "podnet", "Pod to pod across nodes"),
    ("suites/perf/test_perf.py::test_throughput", "perf", "Pod to pod throughput"),
]

# column -> outcome per scenario (same order); "flaky" means passed after retries
OUTCOMES = {
    "flannel": ["passed", "passed", "passed", "passed", "flaky", "not-enforced", "passed+works", "skipped",
                "passed", "passed"],
    "kindnet": ["failed", "passed", "error", "passed", "passed", "passed", "passed", "skipped", "passed", "passed"],
    "cilium": ["passed", "passed", "passed", "passed", "passed", "not-run", "not-run", "not-run", "not-run",
               "not-run"],
}


def _test(index: int, outcome: str, pace: float = 1.0) -> TestResult:
    test_id, suite, title = SCENARIOS[index]
    extra: dict[str, Any] = {}
    if outcome == "flaky":
        extra = {"outcome": "passed", "attempts": 4, "flaky": True, "message": "latency: matched only after 1 miss"}
    elif outcome == "passed+works":
        extra = {"outcome": "passed", "declared": NETPOL_NOT_ENFORCED, "flags": ("works-despite-declared",)}
    elif outcome == "not-enforced":
        extra = {"outcome": outcome, "attempts": 5, "message": "traffic from the denied pod still got through",
                 "declared": NETPOL_NOT_ENFORCED}
    elif outcome == "skipped":
        extra = {"outcome": outcome, "attempts": 0, "message": "ingress declared unsupported",
                 "declared": INGRESS_UNSUPPORTED}
    elif outcome == "failed":
        extra = {"outcome": outcome, "attempts": 6, "message": FAILURE}
    elif outcome == "error":
        extra = {"outcome": outcome, "message": "fixture timed out waiting for the UDP backend"}
    elif outcome == "not-run":
        extra = {"outcome": outcome, "attempts": 0, "message": ""}
    if suite == "service" and "scale" in test_id and outcome == "passed":
        extra["metrics"] = {"settle_s": {"worker": round(1.8 * pace, 2), "worker2": round(2.4 * pace, 2)}}
    return TestResult(test_id, suite, title, **{"outcome": outcome, "duration_s": 1.5, **extra})


def _perf(pace: float, policies: bool) -> dict[str, Any]:
    """metrics.perf as the perf suite writes it (two routes, cost, growth curves)."""
    def spread(median: float) -> dict[str, Any]:
        return spread_of([median * f for f in (0.9, 1.0, 1.2)])

    def route(baseline: str | None, gbps: float, p50: float) -> dict[str, Any]:
        doc = {"title": "t", "baseline": baseline, "figures": {"tcp_1_gbps": spread(gbps), "rr_p50_us": spread(p50)},
               "ratios": {}, "problems": []}
        if baseline:
            doc["ratios"] = {"tcp_1_gbps": spread(round(0.8 / pace, 3)), "rr_p50_us": spread(round(1.5 * pace, 3))}
            if pace > 1:   # a pod faster than its host network: marked suspect, shown greyed and not ranked
                faster = spread(1.3)
                doc["ratios"]["tcp_n_gbps"] = {**faster, "marks": [faster_than_host("tcp_n_gbps", faster["median"])]}
        return doc

    window = {"pods": 3, "wall_s": 10.0, "cpu_s": round(0.4 * pace, 3), "cores": round(0.04 * pace, 4), "peak_mib": 42.0,
              "usage_mib": 40.0, "peak_scope": "window", "unread": []}
    growth = {"service_backends": {"title": "t", "unit": "ready backends", "steps": [10, 50],
                                   "points": [{"n": 10, "s": round(0.3 * pace, 3), "setup_s": 9.0},
                                              {"n": 50, "s": round(0.6 * pace, 3), "setup_s": 30.0}]},
              "network_policies": ({"title": "t", "unit": "NetworkPolicies", "steps": [10],
                                    "points": [{"n": 10, "s": 1.1, "setup_s": 3.0}]} if policies
                                   else {"title": "t", "unit": "NetworkPolicies", "steps": [], "points": [],
                                         "declared": "not-enforced"})}
    growth["service_count"] = {"title": "t", "unit": "Services", "steps": [100, 1000],
                               "points": [{"n": 100, "s": round(0.8 * pace, 3), "setup_s": 4.0},
                                          {"n": 1000, "s": round(2.5 * pace, 3), "setup_s": 30.0}]}
    count_points = [{"n": n, "programmed_s": None if n == 0 else round(0.8 * pace, 3), "created": max(n - 1, 0),
                     "service": {"crr_p50_us": spread(round(300 * pace * (1 + n / 500), 1)), "crr_per_s": spread(2500.0)},
                     "pod": {"crr_p50_us": spread(250.0)}} for n in (0, 100, 1000)]
    return {"datapath": {"routes": {"host-cross-node": route(None, 2.0, 40.0),
                                    "pod-cross-node": route("host-cross-node", 1.6, 60.0)}, "wall_s": 100.0},
            "cost": {"idle": {"daemonset/kube-system/cni": window, "daemonset/kube-system/kube-proxy": window},
                     "throughput": {"daemonset/kube-system/cni": window}},
            "growth": growth, "service_count": {"steps": [100, 1000], "points": count_points, "runs": 3}}


def summaries(commit: str, kubernetes: str) -> dict[str, dict[str, Any]]:
    """column -> summary document."""
    def summary(cni: str, version: str, **fields: Any) -> RunSummary:
        base = dict(cni_name=cni, cni_version=version, kubernetes_version=kubernetes, kind_version="v0.33.0",
                    node_image=f"kindest/node:{kubernetes}", offline=True, cluster_name=f"cnimatrix-{cni}",
                    cluster_nodes=3, cluster_existing=False, started_at="2026-11-20T10:00:00Z",
                    finished_at="2026-11-20T10:03:12Z", cnimatrix_commit=commit,
                    tests=[_test(i, o, pace=len(cni) / 6) for i, o in enumerate(OUTCOMES[cni])])
        return RunSummary(**{**base, **fields})

    latency = {"count": 400, "min": 0.1, "p50": 0.21, "p90": 0.9, "p99": 1.73, "max": 3.0, "mean": 0.4}
    docs = {
        "flannel": summary("flannel", "v0.28.4", timings_s={"cluster_create": 41.2, "cni_ready": 12.6, "suites": 130.0},
                           metrics={"dns": {"latency_ms": latency}, "perf": _perf(1.0, policies=False)}).to_dict(),
        "kindnet": summary("kindnet", "v20260820-69b56db7", offline=False,
                           timings_s={"cluster_create": 35.0, "cni_ready": 4.5, "suites": 120.0},
                           metrics={"dns": {"latency_ms": {**latency, "p50": 0.35, "p99": 2.4}},
                                    "netpol": {"time_to_effect_s": {"p50": 0.8, "p99": 1.9}},
                                    "perf": _perf(1.2, policies=True)}).to_dict(),
        "cilium": summary("cilium", "v1.16.0", cnimatrix_commit="f" * 40, run_status="interrupted",
                          run_reason="SIGTERM during the netpol suite",
                          timings_s={"cluster_create": 44.0, "cni_ready": None, "suites": 60.0}).to_dict(),
    }
    # A version 1 file, as written before run status and commits were recorded.
    old = summary("flannel", "v0.27.0", kubernetes_version="v1.36.0", node_image="kindest/node:v1.36.0",
                  tests=[_test(i, o) for i, o in enumerate(["passed"] * 4 + ["failed"])],
                  timings_s={"cluster_create": 60.0, "cni_ready": 15.0, "suites": 100.0}).to_dict()
    for key in ("cnimatrix_commit", "run"):
        del old[key]
    for key in ("not-enforced", "not-run"):
        del old["counts"][key]
    old["schema_version"] = 1
    docs["flannel-v0.27"] = old
    return docs


def write_samples(reports_dir: str | Path, commit: str, kubernetes: str) -> dict[str, dict[str, Any]]:
    """Write every sample under reports_dir/<column>/summary.json; returns them by column."""
    docs = summaries(commit, kubernetes)
    for column, doc in docs.items():
        path = Path(reports_dir) / column / "summary.json"
        if doc["schema_version"] == 1:  # write_summary writes only the current version
            write_text_atomic(path, json.dumps(doc, indent=2) + "\n")
        else:
            write_summary(path, doc)
    return docs


# What the plugin leaves for a failed scenario (cnimatrix/testkit/evidence.py writes more, README.txt last).
EVIDENCE_FILES = {"pods.txt": "NAME    READY   STATUS    RESTARTS   AGE\nweb-2   0/1     Running   0          2m\n",
                  "README.txt": "evidence collected within 20 s; namespaces: svc-a\n"}


def write_evidence(reports_dir: str | Path, column: str, test_id: str,
                   files: dict[str, str] | None = EVIDENCE_FILES) -> str:
    """Give a failed test of a sample summary (current format) an evidence folder, as a run leaves
    one: `reports_dir/<column>/evidence/<name>/` with `files`, named by the test's `evidence`.
    With files=None the summary names the folder but it is not there. Returns the name."""
    path = Path(reports_dir) / column / "summary.json"
    doc = read_summary(path)
    name = f"evidence/{test_id.rpartition('::')[2]}"  # the sample ids are plain names
    for test in doc["tests"]:
        if test["id"] == test_id:
            test["evidence"] = name
    write_summary(path, doc)
    for file, text in (files or {}).items():
        write_text_atomic(path.parent / name / file, text)
    return name


def sample_timeline(pace: float = 1.0) -> dict[str, Any]:
    """metrics.timeline as the plugin writes it for a short run of three suites (`pace` scales the suites)."""
    run = {"cluster_create": 41.2, "images_load": 18.0, "cni_ready": 12.6 * pace, "cluster_delete": 6.5}
    steps = [Step("podnet", "setup", 80.0 + 12.6 * pace, nested_s=59.2 + 12.6 * pace),
             Step("podnet", "call", 30.0 * pace, waits_s=18.0 * pace, rounds=20), Step("podnet", "teardown", 2.0),
             Step("service", "setup", 9.0), Step("service", "call", 40.0 * pace, waits_s=31.0 * pace, rounds=34),
             Step("netpol", "setup", 14.0), Step("netpol", "call", 55.0 * pace, waits_s=25.0 * pace, rounds=48),
             Step("netpol", "teardown", 9.5, nested_s=6.5)]
    return timeline(run, steps, 190.0 + 120.0 * pace).to_dict()


def write_timeline(reports_dir: str | Path, column: str, pace: float = 1.0) -> dict[str, Any]:
    """Give a sample summary (current format) a `metrics.timeline`, as a run now writes one (the
    samples themselves have none: their comparison stays as it was). Returns the timeline."""
    path = Path(reports_dir) / column / "summary.json"
    doc = read_summary(path)
    doc["metrics"]["timeline"] = sample_timeline(pace)
    write_summary(path, doc)
    return doc["metrics"]["timeline"]


if __name__ == "__main__":
    from cnimatrix import versions
    from cnimatrix.results import current_commit

    if len(sys.argv) != 2:
        sys.exit("usage: python -m cnimatrix.compare.samples REPORTS_DIR")
    written = write_samples(sys.argv[1], current_commit(), versions.KUBERNETES)
    write_evidence(sys.argv[1], "kindnet", SCENARIOS[0][0])  # the failed ClusterIP scenario links what it left
    print(f"wrote {', '.join(written)} under {sys.argv[1]}; then: python -m cnimatrix.compare --reports "
          f"{sys.argv[1]} {' '.join(written)} calico  (a catalog CNI without results: a not-run column)")
