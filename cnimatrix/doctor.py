"""Host readiness report: can this machine run kind clusters, and which CNIs can run on it.

Run ``python -m cnimatrix.doctor`` for a one-screen summary, or ``--json`` for the same data as
JSON. ``collect()`` returns the report for other code; ``kernel_features()`` is the kernel gate
that CNI capability checks use.

The parsing and deciding parts are pure functions of text and values (``parse_kernel_config``,
``decode_capabilities``, ``cgroup_mode``, ``cni_verdicts`` ...) so they can be tested without the
host; ``collect()`` is the only place that reads the machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

GIB = 1024**3
DISK_WARN_BYTES = 20 * GIB
DISK_FAIL_BYTES = 5 * GIB
MEMORY_WARN_BYTES = 8 * GIB
CPU_WARN_COUNT = 4

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

# Kernel symbols the suite cares about: symbol -> (what it rules in, what its absence rules out).
KERNEL_FEATURES: dict[str, tuple[str, str]] = {
    "CONFIG_NFT_QUEUE": (
        "kindnet NetworkPolicy enforceable (kube-network-policies nfqueue)",
        "kindnet cannot enforce NetworkPolicy (kube-network-policies nfqueue)",
    ),
    "CONFIG_NETFILTER_XT_TARGET_NFQUEUE": (
        "iptables -j NFQUEUE target (no substitute for the nftables queue)",
        "no iptables -j NFQUEUE target",
    ),
    "CONFIG_OPENVSWITCH": (
        "Open vSwitch datapath: Antrea, Kube-OVN possible",
        "no Open vSwitch datapath: Antrea, Kube-OVN ruled out",
    ),
    "CONFIG_GENEVE": (
        "Geneve: Antrea/Kube-OVN default tunnels, Cilium geneve mode",
        "no Geneve: Antrea, Kube-OVN tunnels and Cilium geneve mode ruled out",
    ),
    "CONFIG_IP_VS": (
        "IPVS: kube-proxy ipvs mode, kube-router service proxy",
        "no IPVS: kube-proxy ipvs mode, kube-router service proxy ruled out",
    ),
    "CONFIG_IP_SCTP": (
        "SCTP: SCTP Service/NetworkPolicy checks run",
        "no SCTP: SCTP Service/NetworkPolicy checks skipped",
    ),
    "CONFIG_NET_IPIP": (
        "IPIP: Calico IPIP encapsulation possible",
        "no IPIP: Calico must use VXLAN encapsulation",
    ),
    "CONFIG_VXLAN": (
        "VXLAN: Flannel, Calico VXLAN, Cilium VXLAN tunnels",
        "no VXLAN: Flannel, Calico VXLAN, Cilium VXLAN ruled out",
    ),
    "CONFIG_BPF_SYSCALL": (
        "bpf() syscall: Cilium eBPF datapath",
        "no bpf() syscall: Cilium ruled out",
    ),
    "CONFIG_BPF_JIT": (
        "BPF JIT: Cilium's programs run compiled",
        "no BPF JIT: Cilium ruled out",
    ),
    "CONFIG_NET_CLS_BPF": (
        "tc BPF classifier: Cilium attaches its datapath to devices",
        "no tc BPF classifier: Cilium ruled out",
    ),
    "CONFIG_NET_SCH_INGRESS": (
        "tc ingress/clsact qdisc: Cilium's device hooks",
        "no clsact qdisc: Cilium ruled out",
    ),
    "CONFIG_CGROUP_BPF": (
        "cgroup BPF: Cilium socket load-balancing (kube-proxy replacement)",
        "no cgroup BPF: Cilium socket load-balancing ruled out",
    ),
    "CONFIG_NET_SCH_FQ": (
        "fq qdisc: Cilium bandwidth manager",
        "no fq qdisc: Cilium bandwidth manager off",
    ),
    "CONFIG_NETKIT": (
        "netkit devices: Cilium netkit datapath mode",
        "no netkit: Cilium uses veth pairs",
    ),
    "CONFIG_DEBUG_INFO_BTF": (
        "BTF type info: Cilium eBPF programs",
        "no BTF type info: Cilium ruled out",
    ),
    "CONFIG_IP_SET": (
        "ipset: kube-router and Calico NetworkPolicy",
        "no ipset: kube-router and Calico ruled out",
    ),
    "CONFIG_NF_TABLES": (
        "nftables: kube-proxy nftables mode, kindnet nft rules",
        "no nftables: kube-proxy nftables mode, kindnet nft rules ruled out",
    ),
    "CONFIG_WIREGUARD": (
        "WireGuard: encryption variants possible",
        "no WireGuard: encryption variants skipped",
    ),
    "CONFIG_BRIDGE": (
        "Linux bridge: Docker's kind network",
        "no Linux bridge: Docker's kind network cannot exist",
    ),
    "CONFIG_VETH": (
        "veth pairs: node and pod interfaces",
        "no veth: no container networking at all",
    ),
}


@dataclass(frozen=True)
class CniRequirement:
    """Host needs of one CNI as cnimatrix deploys it (from its catalog entry's `host` block).

    ``required``: without any of these the CNI does not run.
    ``limits``: without these it runs but loses something the suite tests (status warn).
    ``variants``: without these only an optional mode is unavailable (status stays ok).
    ``offline_reason``: set when its images cannot be built without registries (online only).
    """

    required: tuple[str, ...]
    limits: Mapping[str, str] = field(default_factory=dict)
    variants: Mapping[str, str] = field(default_factory=dict)
    mode: str = ""
    offline_reason: str | None = None


# Every kind cluster needs these, whatever the CNI.
BASE_REQUIREMENTS: tuple[str, ...] = ("CONFIG_BRIDGE", "CONFIG_VETH")


def catalog_requirements() -> dict[str, CniRequirement]:
    """The requirements of every CNI in the catalog (cnis/*.yaml). The catalog needs PyYAML, which
    the rest of the doctor does not: without it the table is empty and the screen says so."""
    from cnimatrix.cni import catalog  # imports yaml

    return {c.name: CniRequirement(required=c.host.requires_kernel, limits=c.host.limits, variants=c.host.variants,
                                   mode=c.host.mode, offline_reason=c.offline_reason)
            for c in catalog.load_all()}


V1_CONTROLLERS = frozenset({
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "misc",
    "net_cls", "net_prio", "perf_event", "pids", "rdma",
})


# --------------------------------------------------------------------------------------------
# Report data


@dataclass
class Line:
    status: str  # ok | warn | FAIL | info | skip
    subject: str
    message: str


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


@dataclass
class KernelStatus:
    release: str
    source: str | None  # file the config was read from, None when unknown
    modules: bool | None
    values: dict[str, str | None] = field(default_factory=dict)  # symbol -> y/m/n/None
    features: dict[str, bool | None] = field(default_factory=dict)


@dataclass
class CniVerdict:
    name: str
    runs: bool | None  # None: kernel config unknown
    status: str
    missing_required: list[str] = field(default_factory=list)
    missing_limits: list[str] = field(default_factory=list)
    missing_variants: list[str] = field(default_factory=list)
    message: str = ""
    online_only: bool = False  # its images cannot be built on a host without registries


@dataclass
class Report:
    hostname: str
    os_name: str
    machine: str
    docker: DockerStatus
    capabilities: CapabilityStatus
    cgroup: CgroupStatus
    disks: list[DiskStatus]
    memory_total_bytes: int | None
    memory_available_bytes: int | None
    cpus: int | None
    kernel: KernelStatus
    cnis: list[CniVerdict]
    lines: list[Line] = field(default_factory=list)

    @property
    def docker_usable(self) -> bool:
        return docker_usable(self.docker, self.capabilities)

    @property
    def disk_ok(self) -> bool:
        return all(d.status != "FAIL" for d in self.disks)

    @property
    def exit_code(self) -> int:
        return 0 if self.docker_usable and self.disk_ok else 1

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["docker_usable"] = self.docker_usable
        data["disk_ok"] = self.disk_ok
        data["exit_code"] = self.exit_code
        if self.capabilities.mask is not None:
            data["capabilities"]["mask"] = f"{self.capabilities.mask:016x}"
        return data


# --------------------------------------------------------------------------------------------
# Pure parsing and deciding


def parse_kernel_config(text: str) -> dict[str, str]:
    """Map each CONFIG_ symbol to its value: ``y``, ``m``, ``n`` (``is not set``) or the raw
    string/number value. Comments and blank lines are ignored."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# CONFIG_") and line.endswith(" is not set"):
            values[line[2:-len(" is not set")].strip()] = "n"
        elif line.startswith("CONFIG_") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def modules_supported(config: Mapping[str, str] | None) -> bool | None:
    if config is None:
        return None
    return config.get("CONFIG_MODULES") == "y"


def symbol_present(config: Mapping[str, str] | None, symbol: str) -> bool | None:
    """True when built in (=y) or a module (=m, only possible with CONFIG_MODULES=y); False when
    not set or not mentioned; None when the config is unknown."""
    if config is None:
        return None
    value = config.get(symbol)
    if value == "y":
        return True
    if value == "m":
        return bool(modules_supported(config))
    return False


def features_from_config(
    config: Mapping[str, str] | None, symbols: Iterable[str] = KERNEL_FEATURES
) -> dict[str, bool | None]:
    return {symbol: symbol_present(config, symbol) for symbol in symbols}


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


def cni_verdict(name: str, req: CniRequirement, features: Mapping[str, bool | None]) -> CniVerdict:
    required = list(BASE_REQUIREMENTS) + [s for s in req.required if s not in BASE_REQUIREMENTS]
    if any(features.get(s) is None for s in required):
        needs = ", ".join(_short(s) for s in req.required) or "bridge, veth"
        return CniVerdict(name, None, "warn", message=f"unknown: kernel config unreadable (needs {needs})")
    missing = [s for s in required if not features.get(s)]
    if missing:
        return CniVerdict(name, False, "skip", missing_required=missing,
                          message="cannot run: no " + ", ".join(_short(s) for s in missing))
    lost = [s for s in req.limits if not features.get(s)]
    absent_variants = [s for s in req.variants if not features.get(s)]
    parts = [f"without {_short(s)}: {req.limits[s]}" for s in lost]
    if absent_variants:
        parts.append("no " + " or ".join(req.variants[s] for s in absent_variants))
    if req.offline_reason:  # its first clause; the catalog entry has the whole evidence
        first = " ".join(req.offline_reason.split()).split(";")[0].rstrip(". ")
        parts.append(f"online only, its images cannot be built offline ({first})")
    head = "runs" + (f" ({req.mode})" if req.mode else "")
    message = head + ("; " + "; ".join(parts) if parts else "")
    return CniVerdict(name, True, "warn" if lost or req.offline_reason else "ok", missing_limits=lost,
                      missing_variants=absent_variants, message=message, online_only=bool(req.offline_reason))


def cni_verdicts(features: Mapping[str, bool | None],
                 table: Mapping[str, CniRequirement] | None = None) -> list[CniVerdict]:
    """One verdict per CNI of `table` (default: the catalog)."""
    if table is None:
        table = catalog_requirements()
    return [cni_verdict(name, req, features) for name, req in table.items()]


def _short(symbol: str) -> str:
    return symbol[len("CONFIG_"):] if symbol.startswith("CONFIG_") else symbol


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / GIB:.1f} GiB"


def build_lines(report: Report) -> list[Line]:
    """The screen, as (status, subject, message) lines, derived from the collected data only."""
    d, caps, cg, k = report.docker, report.capabilities, report.cgroup, report.kernel
    lines: list[Line] = []
    add = lambda status, subject, message: lines.append(Line(status, subject, message))  # noqa: E731

    os_name = d.operating_system or report.os_name
    add("info", "host", f"{report.hostname}: {os_name}, kernel {k.release}, {report.machine}")

    # Docker engine
    if not d.reachable:
        add("FAIL", "docker", f"daemon not reachable: {d.error}")
    else:
        client = f" (client {d.client_version})" if d.client_version else ""
        add("ok", "docker", f"daemon reachable, server {d.server_version}{client}")
        if d.wrapper_default and d.wrapper_executable is False:
            add("FAIL", "docker runtime", f"default {WRAPPER_RUNTIME} but {d.wrapper_path} is not executable")
        elif d.wrapper_default:
            add("ok", "docker runtime", f"default {WRAPPER_RUNTIME} ({d.wrapper_path})")
        else:
            registered = "registered, not default" if d.wrapper_registered else "not registered"
            status = "FAIL" if caps.missing else "info"
            add(status, "docker runtime", f"default {d.default_runtime}; {WRAPPER_RUNTIME} {registered}")
        add("info", "docker cgroups", f"driver {d.cgroup_driver}, cgroup v{d.cgroup_version}")
        backing = f" on {d.backing_filesystem}" if d.backing_filesystem else ""
        add("info", "docker storage", f"{d.storage_driver}{backing}, root {d.root_dir}")

    # Capabilities
    if caps.mask is None:
        add("warn", "capabilities", "CapBnd not found in /proc/self/status")
    else:
        total = caps.last_cap + 1
        head = f"{len(caps.present)} of {total} in bounding set (CapBnd {caps.mask:#x})"
        if not caps.missing:
            add("ok", "capabilities", f"{head}, none missing")
        else:
            handled = d.wrapper_default or not d.reachable
            add("warn" if handled else "FAIL", "capabilities",
                f"{head}; missing {', '.join(caps.missing)}")
            if not d.reachable:
                add("warn", "capabilities",
                    f"plain docker run --privileged fails on these; is {WRAPPER_RUNTIME} the default runtime?")
            elif d.wrapper_default:
                add("info", "capabilities",
                    f"plain docker run --privileged fails on these; {WRAPPER_RUNTIME} drops them")
            else:
                add("FAIL", "capabilities",
                    f"privileged kind nodes fail: make {WRAPPER_RUNTIME} the default runtime (make setup)")

    # cgroup mode
    if cg.mode == "v2":
        add("ok", "cgroup mode", f"v2 (cgroup2fs at {CGROUP_ROOT})")
    elif cg.mode in ("v1", "hybrid"):
        where = f", cgroup2 at {cg.unified_mount}" if cg.mode == "hybrid" else ""
        add("warn", "cgroup mode",
            f"{cg.mode}: {cg.root_fstype or '?'} root, {len(cg.v1_controllers)} v1 controllers{where}")
        add("info", "kubelet", ">= 1.35 needs failCgroupV1: false on cgroup v1 (cnimatrix sets it)")
    else:
        add("warn", "cgroup mode", f"unknown: no cgroup mounts found under {CGROUP_ROOT}")

    # Disks
    first_device: dict[int, str] = {}
    for disk in report.disks:
        where = disk.checked_path
        if disk.checked_path != disk.requested_path:
            where = f"{disk.checked_path} ({disk.requested_path} absent)"
        if disk.free_bytes is None:
            add(disk.status, disk.label, f"cannot stat {where}: {disk.error}")
            continue
        same = ""
        if disk.device is not None:
            if disk.device in first_device:
                same = f", same filesystem as {first_device[disk.device]}"
            else:
                first_device[disk.device] = disk.checked_path
        limit = {"FAIL": f" (< {_gib(DISK_FAIL_BYTES)})", "warn": f" (< {_gib(DISK_WARN_BYTES)})"}.get(disk.status, "")
        add(disk.status, disk.label, f"{_gib(disk.free_bytes)} free{limit} at {where}{same}")

    # Memory and CPU
    if report.memory_total_bytes is None:
        add("warn", "memory", "unknown (/proc/meminfo unreadable)")
    else:
        status = "warn" if report.memory_total_bytes < MEMORY_WARN_BYTES else "ok"
        add(status, "memory", f"{_gib(report.memory_total_bytes)} total, "
            f"{_gib(report.memory_available_bytes)} available")
    if report.cpus is None:
        add("warn", "cpu", "unknown")
    elif report.cpus < CPU_WARN_COUNT:
        add("warn", "cpu", f"{report.cpus} usable; multi-node clusters will be slow, run one at a time")
    else:
        add("ok", "cpu", f"{report.cpus} usable")

    # Kernel
    if k.source is None:
        add("warn", "kernel config", "unknown: no /proc/config.gz or /boot/config-" + k.release)
    elif k.modules:
        add("info", "kernel config", f"{k.source}; modules supported (=m features must be loadable)")
    else:
        add("info", "kernel config", f"{k.source}; CONFIG_MODULES not set: only =y counts, nothing loadable")
    # Absent or unknown features one line each (they rule things out); present ones together,
    # so the screen stays one screen as the catalog's list grows.
    present_symbols = []
    for symbol, (rules_in, rules_out) in KERNEL_FEATURES.items():
        present = k.features.get(symbol)
        value = k.values.get(symbol)
        if present is None:
            add("warn", _short(symbol), f"{'?':<4} unknown: {rules_in}")
        elif present:
            present_symbols.append(f"{_short(symbol)}={value}")
        else:
            shown = "=m" if value == "m" else "off"
            add("warn", _short(symbol), f"{shown:<4} {rules_out}")
    if present_symbols:
        add("ok", "kernel features", ", ".join(present_symbols))

    # Verdict
    for verdict in report.cnis:
        add(verdict.status, f"cni {verdict.name}", verdict.message)
    if not report.cnis:
        add("warn", "cni catalog", "not read (PyYAML missing): run `make setup`, then `make doctor` again")
    runnable = [v.name + (" (online only)" if v.online_only else "") for v in report.cnis if v.runs]
    problems = []
    if not report.docker_usable:
        problems.append("Docker not usable")
    if not report.disk_ok:
        problems.append(f"disk below {_gib(DISK_FAIL_BYTES)}")
    cni_part = f"{len(runnable)} of {len(report.cnis)} CNIs run: {', '.join(runnable) or 'none'}"
    if k.source is None:
        cni_part = "CNI support unknown (no kernel config)"
    if problems:
        add("FAIL", "verdict", f"not ready: {', '.join(problems)}; {cni_part}")
    else:
        add("ok", "verdict", f"ready; {cni_part}")
    return lines


STATUS_COLOURS = {"ok": "32", "warn": "33", "FAIL": "1;31", "info": "36", "skip": "90"}


def format_lines(lines: Sequence[Line], colour: bool = False, max_subject: int = 28) -> str:
    width = min(max((len(line.subject) for line in lines), default=0), max_subject)
    out = []
    for line in lines:
        marker = f"{line.status:<4}"
        if colour and line.status in STATUS_COLOURS:
            marker = f"\033[{STATUS_COLOURS[line.status]}m{marker}\033[0m"
        out.append(f"{marker}  {line.subject:<{width}}  {line.message}".rstrip())
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Reading the host


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def read_kernel_config(release: str | None = None) -> tuple[str | None, str | None]:
    """(source path, config text) from /proc/config.gz, else /boot/config-<release>; (None, None)
    when neither is readable."""
    release = release or platform.release()
    try:
        with gzip.open("/proc/config.gz", "rt", encoding="utf-8", errors="replace") as handle:
            return "/proc/config.gz", handle.read()
    except (OSError, EOFError):
        pass
    boot = f"/boot/config-{release}"
    text = _read_text(boot)
    return (boot, text) if text is not None else (None, None)


def kernel_status() -> KernelStatus:
    release = platform.release()
    source, text = read_kernel_config(release)
    config = parse_kernel_config(text) if text is not None else None
    symbols = list(KERNEL_FEATURES)
    return KernelStatus(
        release=release,
        source=source,
        modules=modules_supported(config),
        values={s: (config.get(s, "n") if config is not None else None) for s in ["CONFIG_MODULES", *symbols]},
        features=features_from_config(config, symbols),
    )


def kernel_features() -> dict[str, bool | None]:
    """CONFIG_ symbol -> True (=y, or =m with module support), False (absent), None (kernel config
    unknown), for every symbol in KERNEL_FEATURES plus CONFIG_MODULES."""
    source, text = read_kernel_config()
    config = parse_kernel_config(text) if text is not None else None
    features = {"CONFIG_MODULES": modules_supported(config)}
    features.update(features_from_config(config, KERNEL_FEATURES))
    return features


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
    mask = parse_capbnd(_read_text("/proc/self/status") or "")
    raw_last = (_read_text("/proc/sys/kernel/cap_last_cap") or "").strip()
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


def _catalog_verdicts(features: Mapping[str, bool | None]) -> list[CniVerdict]:
    try:
        return cni_verdicts(features)
    except ImportError:
        return []


def collect() -> Report:
    """Read the host and Docker, and build the full report (lines included)."""
    docker = docker_status()
    caps = capability_status()
    cgroup = cgroup_mode(parse_mounts(_read_text("/proc/self/mounts") or ""))
    root = docker.root_dir or (DOCKER_ROOT_FALLBACK if os.path.exists(DOCKER_ROOT_FALLBACK) else "/")
    disks = [measure_disk("disk docker root", root), measure_disk("disk cache", CACHE_DIR)]
    meminfo = parse_meminfo(_read_text("/proc/meminfo") or "")
    try:
        cpus: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    kernel = kernel_status()
    try:
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        os_name = platform.system()
    report = Report(
        hostname=platform.node(),
        os_name=os_name,
        machine=platform.machine(),
        docker=docker,
        capabilities=caps,
        cgroup=cgroup,
        disks=disks,
        memory_total_bytes=meminfo.get("MemTotal"),
        memory_available_bytes=meminfo.get("MemAvailable"),
        cpus=cpus,
        kernel=kernel,
        cnis=_catalog_verdicts(kernel.features),
    )
    report.lines = build_lines(report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnimatrix.doctor",
        description="Host readiness for kind clusters and which CNIs can run here.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = collect()
    if args.json:
        text = json.dumps(report.to_dict(), indent=2)
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = format_lines(report.lines, colour=colour)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # e.g. piped into head: the reader left, the verdict still stands
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
