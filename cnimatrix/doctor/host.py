"""What this machine offers a kind cluster: the Docker engine, the capability bounding set, the
cgroup layout, disk, memory and CPU (the kernel's configuration is in ``kernel``).

The parsing and deciding parts are pure functions of text and values (``decode_capabilities``,
``cgroup_mode``, ``docker_status_from_info`` ...) so they can be tested without the host; the
functions after "Reading the host" are the only ones that read the machine.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

GIB = 1024**3
DISK_WARN_BYTES = 20 * GIB
DISK_FAIL_BYTES = 5 * GIB

WRAPPER_RUNTIME = "cnimatrix-runc"
CACHE_DIR = "/var/cache/cnimatrix"
DOCKER_ROOT_FALLBACK = "/var/lib/docker"
CGROUP_ROOT = "/sys/fs/cgroup"
DOCKER_TIMEOUT_S = 30

# Capability numbers from linux/capability.h, index == bit number.
CAP_NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


V1_CONTROLLERS = frozenset({
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "misc",
    "net_cls", "net_prio", "perf_event", "pids", "rdma",
})


@dataclass
class DockerStatus:
    reachable: bool
    error: str | None = None
    server_version: str | None = None
    client_version: str | None = None
    default_runtime: str | None = None
    runtimes: dict[str, str | None] = field(default_factory=dict)
    wrapper_registered: bool = False
    wrapper_default: bool = False
    wrapper_path: str | None = None
    wrapper_executable: bool | None = None
    cgroup_driver: str | None = None
    cgroup_version: str | None = None
    storage_driver: str | None = None
    backing_filesystem: str | None = None
    root_dir: str | None = None
    operating_system: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class CapabilityStatus:
    mask: int | None
    last_cap: int
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class CgroupStatus:
    mode: str  # v1 | v2 | hybrid | unknown
    root_fstype: str | None = None
    unified_mount: str | None = None
    v1_controllers: list[str] = field(default_factory=list)


@dataclass
class DiskStatus:
    label: str
    requested_path: str
    checked_path: str
    free_bytes: int | None
    total_bytes: int | None
    status: str
    device: int | None = None
    error: str | None = None



def parse_capbnd(status_text: str) -> int | None:
    """The CapBnd mask from the text of /proc/<pid>/status."""
    for line in status_text.splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split(":", 1)[1].strip(), 16)
    return None


def cap_name(bit: int) -> str:
    return CAP_NAMES[bit] if bit < len(CAP_NAMES) else f"CAP_{bit}"


def decode_capabilities(mask: int, last_cap: int | None = None) -> tuple[list[str], list[str]]:
    """Split capabilities 0..last_cap into (present, missing) names by the bounding mask.

    ``last_cap`` is /proc/sys/kernel/cap_last_cap; without it, all capabilities this module
    knows plus any higher bit set in the mask are considered."""
    if last_cap is None:
        last_cap = max(len(CAP_NAMES) - 1, mask.bit_length() - 1)
    present = [cap_name(bit) for bit in range(last_cap + 1) if mask >> bit & 1]
    missing = [cap_name(bit) for bit in range(last_cap + 1) if not mask >> bit & 1]
    return present, missing


def _unescape_mount_field(value: str) -> str:
    # /proc/*/mounts escapes space, tab, newline and backslash as \ooo octal.
    out, i = [], 0
    while i < len(value):
        octal = value[i + 1:i + 4]
        if value[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_mounts(text: str) -> list[tuple[str, str, str]]:
    """(mountpoint, fstype, options) from the text of /proc/self/mounts, in mount order."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            mounts.append((_unescape_mount_field(parts[1]), parts[2], parts[3]))
    return mounts


def cgroup_mode(mounts: Sequence[tuple[str, str, str]], root: str = CGROUP_ROOT) -> CgroupStatus:
    """Decide the cgroup layout from (mountpoint, fstype, options) tuples.

    cgroup2 mounted at the root -> v2; v1 hierarchies under the root together with a cgroup2 mount
    below it (systemd's ``unified``) -> hybrid; v1 hierarchies only -> v1."""
    root = root.rstrip("/")
    root_fstype = None
    for mountpoint, fstype, _ in mounts:
        if mountpoint.rstrip("/") == root:
            root_fstype = fstype  # the last mount on a path is the visible one
    if root_fstype == "cgroup2":
        return CgroupStatus(mode="v2", root_fstype="cgroup2fs")
    below = [(m, t, o) for m, t, o in mounts if m == root or m.startswith(root + "/")]
    v1 = [(m, o) for m, t, o in below if t == "cgroup"]
    unified = next((m for m, t, _ in below if t == "cgroup2"), None)
    controllers = sorted({opt for _, o in v1 for opt in o.split(",") if opt in V1_CONTROLLERS})
    if not v1:
        return CgroupStatus(mode="unknown", root_fstype=root_fstype, unified_mount=unified)
    mode = "hybrid" if unified else "v1"
    return CgroupStatus(mode=mode, root_fstype=root_fstype, unified_mount=unified,
                        v1_controllers=controllers)


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo fields in bytes (kB values converted)."""
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            factor = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
            values[name.strip()] = int(parts[0]) * factor
    return values


def disk_status(free_bytes: int | None, warn: int = DISK_WARN_BYTES, fail: int = DISK_FAIL_BYTES) -> str:
    if free_bytes is None:
        return "warn"
    if free_bytes < fail:
        return "FAIL"
    if free_bytes < warn:
        return "warn"
    return "ok"


def nearest_existing(path: str, exists: Callable[[str], bool] = os.path.exists) -> str:
    """The path itself if it exists, else its closest existing ancestor (``/`` at worst)."""
    current = os.path.abspath(path)
    while not exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def docker_status_from_info(info: Mapping | None, error: str | None = None,
                            executable: Callable[[str], bool] | None = None) -> DockerStatus:
    """Summarise the JSON of ``docker info --format '{{json .}}'``. The daemon is reachable only
    when the JSON carries a server version and no server errors."""
    if not info:
        return DockerStatus(reachable=False, error=error or "docker info returned nothing")
    client = info.get("ClientInfo") or {}
    server_errors = info.get("ServerErrors") or []
    if server_errors or not info.get("ServerVersion"):
        return DockerStatus(reachable=False, client_version=client.get("Version"),
                            error="; ".join(server_errors) or error or "no server version reported")
    runtimes = {name: (spec or {}).get("path") for name, spec in (info.get("Runtimes") or {}).items()}
    wrapper_path = runtimes.get(WRAPPER_RUNTIME)
    wrapper_executable = None
    if wrapper_path and executable is not None:
        wrapper_executable = executable(wrapper_path)
    backing = next((v for k, v in (info.get("DriverStatus") or []) if k == "Backing Filesystem"), None)
    return DockerStatus(
        reachable=True,
        server_version=info.get("ServerVersion"),
        client_version=client.get("Version"),
        default_runtime=info.get("DefaultRuntime"),
        runtimes=runtimes,
        wrapper_registered=WRAPPER_RUNTIME in runtimes,
        wrapper_default=info.get("DefaultRuntime") == WRAPPER_RUNTIME,
        wrapper_path=wrapper_path,
        wrapper_executable=wrapper_executable,
        cgroup_driver=info.get("CgroupDriver"),
        cgroup_version=info.get("CgroupVersion"),
        storage_driver=info.get("Driver"),
        backing_filesystem=backing,
        root_dir=info.get("DockerRootDir"),
        operating_system=info.get("OperatingSystem"),
        warnings=list(info.get("Warnings") or []),
    )


def docker_usable(docker: DockerStatus, caps: CapabilityStatus) -> bool:
    """kind needs privileged containers: the daemon must answer, and when the bounding set lacks
    capabilities the default runtime must be the wrapper that drops them (and must exist)."""
    if not docker.reachable:
        return False
    if docker.wrapper_default and docker.wrapper_executable is False:
        return False
    if caps.missing and not docker.wrapper_default:
        return False
    return True



# --------------------------------------------------------------------------------------------
# Reading the host


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def docker_status() -> DockerStatus:
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{json .}}"], capture_output=True,
                              text=True, timeout=DOCKER_TIMEOUT_S, check=False)
    except FileNotFoundError:
        return DockerStatus(reachable=False, error="docker CLI not found on PATH")
    except subprocess.TimeoutExpired:
        return DockerStatus(reachable=False, error=f"docker info timed out after {DOCKER_TIMEOUT_S}s")
    info = None
    try:
        info = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        pass
    error = " ".join(proc.stderr.split())[:200] or f"docker info exited {proc.returncode}"
    status = docker_status_from_info(info, error, executable=lambda p: os.access(p, os.X_OK))
    if proc.returncode != 0 and status.reachable:
        status = DockerStatus(reachable=False, error=error)
    return status


def capability_status() -> CapabilityStatus:
    mask = parse_capbnd(read_text("/proc/self/status") or "")
    raw_last = (read_text("/proc/sys/kernel/cap_last_cap") or "").strip()
    last_cap = int(raw_last) if raw_last.isdigit() else None
    if mask is None:
        return CapabilityStatus(mask=None, last_cap=last_cap if last_cap is not None else len(CAP_NAMES) - 1)
    present, missing = decode_capabilities(mask, last_cap)
    return CapabilityStatus(mask=mask, last_cap=len(present) + len(missing) - 1,
                            present=present, missing=missing)


def measure_disk(label: str, path: str) -> DiskStatus:
    checked = nearest_existing(path)
    try:
        usage = shutil.disk_usage(checked)
        device = os.stat(checked).st_dev
    except OSError as exc:
        return DiskStatus(label, path, checked, None, None, "warn", error=exc.strerror or str(exc))
    return DiskStatus(label, path, checked, usage.free, usage.total, disk_status(usage.free), device)



def measure_disks(docker_root: str | None) -> list[DiskStatus]:
    """Free space where Docker keeps images and containers, and where cnimatrix caches builds."""
    root = docker_root or (DOCKER_ROOT_FALLBACK if os.path.exists(DOCKER_ROOT_FALLBACK) else "/")
    return [measure_disk("disk docker root", root), measure_disk("disk cache", CACHE_DIR)]


def cgroup_status() -> CgroupStatus:
    return cgroup_mode(parse_mounts(read_text("/proc/self/mounts") or ""))


def read_meminfo() -> dict[str, int]:
    return parse_meminfo(read_text("/proc/meminfo") or "")


def usable_cpus() -> int | None:
    """The CPUs this process may run on (its affinity), else all the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def os_pretty_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        return platform.system()
