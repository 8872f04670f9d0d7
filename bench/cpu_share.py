"""Where a run's CPU goes, from the host's cgroup v1 CPU accounting (issue 25: on this 2-core host a
run is CPU-bound, so its time follows the CPU its parts use, not how they overlap).

    python bench/cpu_share.py sample OUT.jsonl [--every 15]   # beside a run; stop it with Ctrl-C / kill
    python bench/cpu_share.py summary OUT.jsonl                # the run's CPU by part

Every sample holds the host's total CPU time and that of every cgroup under Docker's (each kind node
container, and in it kubelet's pod slices, up to 7 levels down). The summary adds up the growth
between samples: the static pods (API server, etcd, controllers, scheduler), the other pods (the
CNI's agents, kube-proxy, CoreDNS, the suites' workloads), the nodes' own processes outside any pod
(kubelet, containerd and its shims, runc, the CNI plugin binaries), and what ran outside Docker (the
harness, kubectl, dockerd). A cgroup that appears or goes between two samples counts from the next.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable

ROOT = "/sys/fs/cgroup/cpuacct"
STATIC = "static pods (API server, etcd, controllers, scheduler)"
PODS = "other pods (CNI agents, kube-proxy, CoreDNS, workloads)"
NODE = "nodes outside pods (kubelet, containerd, shims, runc, CNI plugins; the registry)"
HOST = "outside Docker (harness, kubectl, dockerd)"
PARTS = (STATIC, PODS, NODE, HOST)


def read_sample(root: str = ROOT) -> dict:
    cgroups: dict[str, int] = {}
    base = f"{root}/docker"
    for folder, subfolders, _ in os.walk(base):
        if folder[len(base):].count("/") > 7:
            subfolders[:] = []
            continue
        try:
            with open(f"{folder}/cpuacct.usage") as f:
                cgroups[folder[len(base):]] = int(f.read())
        except OSError:
            pass
    with open(f"{root}/cpuacct.usage") as f:
        total = int(f.read())
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"t": time.time(), "load": load, "root": total, "cg": cgroups}


def part_of(path: str) -> str | None:
    """The part a cgroup's own line counts toward, or None (a container's total, or a slice within a pod)."""
    if re.search(r"pod[0-9a-f]{32}\.slice$", path):   # a static pod: kubelet names it by a hash, not a UID
        return STATIC
    if re.search(r"pod[0-9a-f_]{36}\.slice$", path):
        return PODS
    return None


def summarize(samples: Iterable[dict]) -> tuple[float, float, Counter]:
    """(wall seconds, CPU seconds, CPU seconds per part) over consecutive samples."""
    shares: Counter = Counter()
    wall = cpu = 0.0
    previous = None
    for sample in samples:
        if previous is not None:
            wall += sample["t"] - previous["t"]
            cpu += (sample["root"] - previous["root"]) / 1e9
            docker = 0.0
            for path, used in sample["cg"].items():
                if not path:
                    continue   # Docker's own cgroup: the containers' sum
                container = "/" + path.split("/")[1]
                if container not in previous["cg"] or container not in sample["cg"]:
                    continue   # the container came or went: none of it counts in this stretch
                grown = (used - previous["cg"].get(path, used)) / 1e9
                if grown < 0:
                    continue
                if path.count("/") == 1:   # a container's whole
                    docker += grown
                elif part_of(path):
                    shares[part_of(path)] += grown
            shares[HOST] += (sample["root"] - previous["root"]) / 1e9 - docker
            shares[NODE] += docker
        previous = sample
    shares[NODE] -= shares[STATIC] + shares[PODS]
    return wall, cpu, shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("sample", "summary"))
    parser.add_argument("file")
    parser.add_argument("--every", type=float, default=15, help="seconds between samples (sample)")
    args = parser.parse_args(argv)
    if args.action == "sample":
        if not os.path.exists(f"{ROOT}/cpuacct.usage"):
            print(f"cpu_share: no cgroup v1 CPU accounting at {ROOT}", file=sys.stderr)
            return 2
        with open(args.file, "a") as out:
            while True:
                out.write(json.dumps(read_sample()) + "\n")
                out.flush()
                time.sleep(args.every)
    try:
        with open(args.file) as f:
            samples = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as exc:
        print(f"cpu_share: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    wall, cpu, shares = summarize(samples)
    if not wall:
        print(f"cpu_share: {args.file} holds fewer than two samples", file=sys.stderr)
        return 2
    print(f"{wall:.0f} s wall, {cpu:.0f} CPU-seconds ({cpu / wall * 100:.0f}% of one core)")
    for part in PARTS:
        print(f"  {shares[part]:7.0f} CPU-s  {shares[part] / cpu * 100:5.1f}%  {part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
