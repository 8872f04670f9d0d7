"""Benchmark: warm image check, and kind cluster create -> Ready -> delete, N times.

Goals (issue 2): warm `make images` <= 60 s, create-to-Ready <= 90 s on 2 cores. Results are
appended to bench/results/cluster_lifecycle.jsonl; nothing here asserts, it measures.

    .venv/bin/python bench/cluster_lifecycle.py --cni calico --runs 3
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
from cnimatrix import versions as V  # noqa: E402
from cnimatrix.cluster import kind  # noqa: E402
from cnimatrix.stats import percentile  # noqa: E402


def warm_images_s(cni: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "cnimatrix.images", "--cni", cni], cwd=REPO,
                   env={**os.environ, "OFFLINE": "1"}, check=True, capture_output=True)
    return round(time.monotonic() - started, 1)


def lifecycle(cni, workdir: Path) -> dict:
    cluster = kind.create("cnimatrix-bench", cni, workdir, image=V.NODE_IMAGE)
    try:
        load_s = kind.load_images(cluster, list(cni.install.images), workdir)  # offline: the CNI's images
        started = time.monotonic()
        kind.install_cni(cluster, cni)
        ready_s = kind.wait_ready(cluster, cni)
        cni_s = round(time.monotonic() - started, 1)
    finally:
        deleted = time.monotonic()
        cluster.delete()
    return {"create_s": cluster.timings["cluster_create"], "images_load_s": load_s, "cni_ready_s": cni_s, "wait_ready_s": ready_s,
            "create_to_ready_s": round(cluster.timings["cluster_create"] + load_s + cni_s, 1),
            "delete_s": round(time.monotonic() - deleted, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cni", default="calico")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cni = catalog.load(args.cni)
    runs = [lifecycle(cni, REPO / "reports" / "bench") for _ in range(args.runs)]
    ready = [r["create_to_ready_s"] for r in runs]
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(), "cpus": os.cpu_count(),
        "cni": cni.name, "kubernetes": V.KUBERNETES, "kind": V.KIND, "warm_images_s": warm_images_s(cni.name),
        "runs": runs, "create_to_ready_s": {"min": min(ready), "p50": percentile(ready, 50), "max": max(ready)},
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out = REPO / "bench" / "results" / "cluster_lifecycle.jsonl"
    with out.open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
