"""Benchmark: warm image check, and kind cluster create -> Ready -> delete, N times.

Goals (issue 2): warm `make images` <= 60 s, create-to-Ready <= 90 s on 2 cores. Issue 31: the
two offline ways images reach the nodes, `--via registry` (pushed to the local registry, pulled by
the nodes: the path online runs take) and `--via import` (docker save | ctr import), or `--via both`
alternating them run by run so that a drifting host load hits both alike. Results are appended to
bench/results/cluster_lifecycle.jsonl with the host's load; nothing here asserts, it measures.

    .venv/bin/python bench/cluster_lifecycle.py --cni calico --runs 3 --via both
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix import cni as catalog  # noqa: E402
from cnimatrix import hostload  # noqa: E402
from cnimatrix import versions as V  # noqa: E402
from cnimatrix.cluster import kind  # noqa: E402
from cnimatrix.registry import audit, pull_path  # noqa: E402
from cnimatrix.stats import percentile  # noqa: E402


def warm_images_s(cni: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "cnimatrix.images", "--cni", cni], cwd=REPO,
                   env={**os.environ, "OFFLINE": "1"}, check=True, capture_output=True)
    return round(time.monotonic() - started, 1)


def lifecycle(cni, workdir: Path, via: str = "import") -> dict:
    """One cluster: create, get the CNI's images to the nodes `via` import or the registry, install, Ready."""
    images = list(cni.install.images)
    pull = pull_path.choose(True, images, {"IMAGES_VIA": via})
    load_before = hostload.load_1m()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cluster = kind.create("cnimatrix-bench", cni, workdir, image=V.NODE_IMAGE, pull=pull)
    pulls = {}
    try:
        # import: save and import into every node; registry: start it and push what it lacks (warm: nothing)
        load_s = kind.load_images(cluster, images, workdir) if via == "import" else kind.push_images(images)["seconds"]
        started = time.monotonic()
        kind.install_cni(cluster, cni)
        ready_s = kind.wait_ready(cluster, cni)
        cni_s = round(time.monotonic() - started, 1)
        if via == "registry":
            pulls = audit.audit(cluster.api(), cluster.node_containers(), images, since)
    finally:
        deleted = time.monotonic()
        cluster.delete()
    return {"via": via, "create_s": cluster.timings["cluster_create"], "images_load_s": load_s, "cni_ready_s": cni_s, "wait_ready_s": ready_s,
            "create_to_ready_s": round(cluster.timings["cluster_create"] + load_s + cni_s, 1),
            "delete_s": round(time.monotonic() - deleted, 1), "load_1m_before": round(load_before, 2),
            "load_1m_after": round(hostload.load_1m(), 2), **({"pulls": sum(pulls["pulls"].values()),
                                                               "not_from_registry": pulls["not_from_registry"]} if pulls else {})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cni", default="calico")
    parser.add_argument("--runs", type=int, default=3, help="clusters per way")
    parser.add_argument("--via", choices=("import", "registry", "both"), default="import")
    args = parser.parse_args()
    cni = catalog.load(args.cni)
    ways = ["import", "registry"] if args.via == "both" else [args.via]
    runs = [lifecycle(cni, REPO / "reports" / "bench", via) for _ in range(args.runs) for via in ways]
    ready = [r["create_to_ready_s"] for r in runs]
    by_way = {via: [r["create_to_ready_s"] for r in runs if r["via"] == via] for via in ways}
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(), "cpus": os.cpu_count(),
        "cni": cni.name, "kubernetes": V.KUBERNETES, "kind": V.KIND, "warm_images_s": warm_images_s(cni.name),
        "runs": runs, "create_to_ready_s": {"min": min(ready), "p50": percentile(ready, 50), "max": max(ready)},
        "create_to_ready_by_way_s": {via: {"min": min(v), "p50": percentile(v, 50), "max": max(v)} for via, v in by_way.items()},
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out = REPO / "bench" / "results" / "cluster_lifecycle.jsonl"
    with out.open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
