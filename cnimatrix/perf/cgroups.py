"""CPU seconds and peak memory of pods, from their node's cgroup accounting.

A kind node is a container: `docker exec` into it and read the pod's cgroup, which the kubelet
names after the pod UID (systemd driver: ...-pod<uid with underscores>.slice; cgroupfs driver:
pod<uid>). On cgroup v1 (this host) CPU is cpuacct.usage (ns) and the memory high-water mark is
memory.max_usage_in_bytes, which can be reset at the start of a window (writing 0 sets it to the
current usage), so the peak is the window's own. On cgroup v2 CPU is cpu.stat usage_usec and the
peak is memory.peak, whose reset applies to the writer's file only: there the peak is since the
pod started, and the reading says so.
"""
from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_READ = r"""
for uid in UIDS; do
  u=$(printf '%s' "$uid" | tr - _)
  for dir in $(find /sys/fs/cgroup -maxdepth 7 -type d \( -name "*pod${u}.slice" -o -name "pod${uid}" \) 2>/dev/null); do
    for file in cpuacct.usage cpu.stat memory.max_usage_in_bytes memory.peak memory.usage_in_bytes memory.current; do
      [ -f "$dir/$file" ] || continue
      if [ "$RESET" = 1 ] && [ "$file" = memory.max_usage_in_bytes ]; then echo 0 > "$dir/$file" 2>/dev/null && echo "@@$uid reset 1"; fi
      if [ "$file" = cpu.stat ]; then echo "@@$uid cpu.stat.usage_usec $(awk '$1 == "usage_usec" {print $2}' "$dir/$file")"
      else echo "@@$uid $file $(cat "$dir/$file")"; fi
    done
  done
done
echo "@@now $(date +%s%N)"
"""


def read_script(uids: Sequence[str], reset_peak: bool) -> str:
    """Print '@@<uid> <file> <value>' for each pod's CPU and memory files (and '@@now <ns>');
    with `reset_peak`, reset each v1 memory high-water mark first."""
    return f"RESET={1 if reset_peak else 0}\n" + _READ.replace("UIDS", " ".join(shlex.quote(u) for u in uids))


@dataclass(frozen=True)
class Reading:
    """One pod's accounting at one moment."""

    cpu_ns: int | None
    peak_bytes: int | None
    usage_bytes: int | None
    peak_resettable: bool     # v1: the peak can be a window's own


def parse_readings(output: str) -> tuple[dict[str, Reading], int | None]:
    """uid -> Reading, and the node's clock (ns) at the end of the reading."""
    raw: dict[str, dict[str, str]] = {}
    now = None
    for line in output.splitlines():
        if not line.startswith("@@"):
            continue
        words = line[2:].split()
        if words[:1] == ["now"] and len(words) == 2 and words[1].isdigit():
            now = int(words[1])
        elif len(words) == 3:
            raw.setdefault(words[0], {}).setdefault(words[1], words[2])   # the first cgroup found wins

    def number(files: Mapping[str, str], *names: str, scale: int = 1) -> int | None:
        for name in names:
            value = files.get(name, "")
            if value.isdigit():
                return int(value) * scale
        return None

    readings = {}
    for uid, files in raw.items():
        cpu = number(files, "cpuacct.usage")
        if cpu is None:
            cpu = number(files, "cpu.stat.usage_usec", scale=1000)
        readings[uid] = Reading(cpu_ns=cpu, peak_bytes=number(files, "memory.max_usage_in_bytes", "memory.peak"),
                                usage_bytes=number(files, "memory.usage_in_bytes", "memory.current"),
                                peak_resettable="memory.max_usage_in_bytes" in files)
    return readings, now


MIB = 1024 * 1024


def window(start: Mapping[str, Reading], end: Mapping[str, Reading], wall_s: float) -> dict:
    """CPU seconds, cores (CPU s per wall s) and peak MiB of a group of pods over one window; the
    peak is the sum of the pods' peaks (an upper bound of the group's)."""
    cpu_s, peak, usage, pods, resettable = 0.0, 0, 0, 0, True
    missing = []
    for uid in sorted(set(start) | set(end)):
        first, last = start.get(uid), end.get(uid)
        if first is None or last is None or first.cpu_ns is None or last.cpu_ns is None:
            missing.append(uid)
            continue
        pods += 1
        cpu_s += max(last.cpu_ns - first.cpu_ns, 0) / 1e9
        peak += last.peak_bytes or 0
        usage += last.usage_bytes or 0
        resettable = resettable and last.peak_resettable
    return {"pods": pods, "wall_s": round(wall_s, 2), "cpu_s": round(cpu_s, 3),
            "cores": round(cpu_s / wall_s, 4) if wall_s > 0 else None,
            "peak_mib": round(peak / MIB, 1), "usage_mib": round(usage / MIB, 1),
            "peak_scope": "window" if resettable else "since the pod started", "unread": missing}


@dataclass(frozen=True)
class Component:
    """Pods counted together: the CNI's workload (from its readiness rules) or kube-proxy."""

    name: str          # e.g. "daemonset/kube-flannel/kube-flannel-ds"
    namespace: str
    workload: str      # pods named <workload>-<suffix>


def components(rules: Sequence, kube_proxy: bool) -> list[Component]:
    """What to account: every DaemonSet/Deployment the CNI's readiness rules name, plus
    kube-proxy when the cluster runs it."""
    found = [Component(f"{r.kind.lower()}/{r.namespace}/{r.name}", r.namespace, r.name) for r in rules
             if r.kind in ("DaemonSet", "Deployment")]
    if kube_proxy:
        found.append(Component("daemonset/kube-system/kube-proxy", "kube-system", "kube-proxy"))
    return found


def owned_by(pod_name: str, workload: str, kind: str) -> bool:
    """A DaemonSet's pods are <name>-<5 chars>; a Deployment's <name>-<hash>-<5 chars>."""
    rest = pod_name.removeprefix(f"{workload}-")
    if rest == pod_name:
        return False
    parts = rest.split("-")
    return len(parts) == (2 if kind == "deployment" else 1) and all(p.isalnum() for p in parts)
