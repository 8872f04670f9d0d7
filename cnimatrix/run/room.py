"""How many clusters the host has room for at once (`make matrix`), from what earlier runs measured.

Every run records its cluster's footprint (metrics.host.cluster: mean cores kept busy, peak working
set). A matrix runs clusters side by side only when the largest footprint of the chosen CNIs fits
that many times in SHARE of the host's cores and available memory; a CNI never measured here, or
too little room, means one cluster at a time. Timing-sensitive checks fail on a starved host, so
the rule errs towards one.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cnimatrix.results.metrics import ClusterFootprint, HostLoad, RunMetrics

SHARE = 0.75     # of the host's cores and available memory the clusters may take together


@dataclass(frozen=True)
class Room:
    clusters: int
    why: str


def clusters_at_once(cores: int, memory_mib: int, footprints: Mapping[str, ClusterFootprint | None],
                     share: float = SHARE) -> Room:
    """The clusters to run at once for these CNIs (name -> its measured footprint, or None)."""
    count = len(footprints)
    if count <= 1:
        return Room(1, "one CNI")
    unmeasured = sorted(name for name, f in footprints.items() if not f or not f.cores_mean or not f.memory_peak_mib)
    if unmeasured:
        return Room(1, f"one cluster at a time: no footprint measured here for {', '.join(unmeasured)} "
                       "(each run records one in metrics.host.cluster)")
    need_cores = max(f.cores_mean for f in footprints.values())
    need_mib = max(f.memory_peak_mib for f in footprints.values())
    by_cores = math.floor(cores * share / need_cores)
    by_memory = math.floor(memory_mib * share / need_mib)
    clusters = max(1, min(by_cores, by_memory, count))
    limit = "cores" if by_cores <= by_memory else "memory"
    sizing = (f"each cluster measured at up to {need_cores:g} cores and {need_mib} MiB; {int(share * 100)}% of the "
              f"host's {cores} cores and {memory_mib} MiB available fits {min(by_cores, by_memory)} (bound by {limit})")
    return Room(clusters, f"{'one cluster at a time' if clusters == 1 else f'{clusters} clusters at once'}: {sizing}")


def footprint_of(summary_path: Path) -> ClusterFootprint | None:
    """The cluster footprint a completed run recorded, or None."""
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or (summary.get("run") or {}).get("status") != "completed":
        return None
    return (RunMetrics.from_dict(summary.get("metrics")).host or HostLoad()).cluster


def available_mib(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0
