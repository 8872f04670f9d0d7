"""What a kind cluster costs the host while it runs: CPU time and memory of its node containers.

Read from the containers' cgroups (v1 cpuacct/memory, or v2), sampled beside the host load; the
figures say how many clusters the host has room for (`make matrix`). Memory is the working set
(usage less inactive file cache, as the kubelet counts it): the page cache of images and logs is
given back under pressure, so it does not stop a second cluster.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def container_ids(names: list[str]) -> list[str]:
    """Full Docker IDs of the named containers (missing ones left out)."""
    if not names:
        return []
    proc = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", *names], capture_output=True, text=True)
    return proc.stdout.split()


def cgroup_dirs(container_id: str, root: Path = CGROUP_ROOT) -> tuple[Path, Path] | None:
    """(cpu dir, memory dir) of a container under the cgroupfs or systemd driver, v1 or v2; None
    when neither is found (the footprint is then not measured)."""
    for cpu, mem in ((root / "cpuacct" / "docker" / container_id, root / "memory" / "docker" / container_id),
                     (root / "docker" / container_id, root / "docker" / container_id),
                     (root / "system.slice" / f"docker-{container_id}.scope",) * 2):
        if cpu.is_dir() and mem.is_dir():
            return cpu, mem
    return None


def cpu_seconds(cpu_dir: Path) -> float:
    """CPU time the cgroup has used so far (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec)."""
    v1 = cpu_dir / "cpuacct.usage"
    if v1.exists():
        return int(v1.read_text()) / 1e9
    return _stat(cpu_dir / "cpu.stat").get("usage_usec", 0) / 1e6


def working_set_bytes(mem_dir: Path) -> int:
    """Memory in use less the inactive file cache (v1 memory.usage_in_bytes, v2 memory.current)."""
    v1 = mem_dir / "memory.usage_in_bytes"
    usage = int((v1 if v1.exists() else mem_dir / "memory.current").read_text())
    stat = _stat(mem_dir / "memory.stat")
    inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
    return max(usage - inactive, 0)


def _stat(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, number = line.partition(" ")
        if number.strip().isdigit():
            values[key] = int(number)
    return values


@dataclass
class Footprint:
    """Samples of one cluster's node containers: CPU used between the first and last sample, and the
    largest total working set seen."""

    dirs: dict[str, tuple[Path, Path]] = field(default_factory=dict)   # container id -> cgroup dirs
    first_cpu: dict[str, float] = field(default_factory=dict)
    last_cpu: dict[str, float] = field(default_factory=dict)
    first_at: float | None = None
    last_at: float | None = None
    peak_bytes: int = 0
    samples: int = 0
    unmeasured: str = ""

    @classmethod
    def of(cls, names: list[str], root: Path = CGROUP_ROOT) -> Footprint:
        found = {cid: cgroup_dirs(cid, root) for cid in container_ids(names)}
        footprint = cls(dirs={cid: d for cid, d in found.items() if d is not None})
        if not footprint.dirs:
            footprint.unmeasured = "no cgroup of the node containers found" if names else "no node containers"
        return footprint

    def sample(self, now: float | None = None) -> None:
        """One reading; a container gone (the cluster being deleted) keeps its last reading."""
        now = time.monotonic() if now is None else now
        total, read = 0, 0
        for cid, (cpu_dir, mem_dir) in self.dirs.items():
            try:
                cpu, mem = cpu_seconds(cpu_dir), working_set_bytes(mem_dir)
            except (OSError, ValueError):
                continue
            self.first_cpu.setdefault(cid, cpu)
            self.last_cpu[cid] = cpu
            total, read = total + mem, read + 1
        if read:
            self.first_at = self.first_at if self.first_at is not None else now
            self.last_at, self.peak_bytes, self.samples = now, max(self.peak_bytes, total), self.samples + 1

    def summary(self) -> dict:
        """metrics.host.cluster: cpu_s, cores_mean (CPU time over the sampled wall time), memory_peak_mib."""
        if self.samples < 2 or self.first_at is None or self.last_at is None or self.last_at <= self.first_at:
            return {"samples": self.samples, "note": self.unmeasured or "too few samples to tell"}
        cpu = sum(self.last_cpu[c] - self.first_cpu[c] for c in self.last_cpu)
        wall = self.last_at - self.first_at
        return {"samples": self.samples, "nodes": len(self.dirs), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                "cores_mean": round(cpu / wall, 2), "memory_peak_mib": round(self.peak_bytes / 2**20)}
