"""The doctor's report: the collected facts, the one-screen summary derived from them, and the
command line (``python -m cnimatrix.doctor [--json]``).

``build_lines`` and ``format_lines`` derive the screen from a ``Report`` alone; ``collect()``
reads the host (through ``host`` and ``kernel``) and decides the CNIs (``fit``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Sequence

from cnimatrix.doctor import host, shape_support
from cnimatrix.doctor.fit import CniVerdict, catalog_verdicts
from cnimatrix.doctor.host import (
    CGROUP_ROOT,
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    GIB,
    WRAPPER_RUNTIME,
    CapabilityStatus,
    CgroupStatus,
    DiskStatus,
    DockerStatus,
    docker_usable,
)
from cnimatrix.doctor.kernel import KERNEL_FEATURES, KernelStatus, kernel_status, short_symbol

MEMORY_WARN_BYTES = 8 * GIB
CPU_WARN_COUNT = 4


@dataclass
class Line:
    status: str  # ok | warn | FAIL | info | skip
    subject: str
    message: str


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
    shape_host: shape_support.ShapeHostStatus | None = None   # None: not read
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
            add("warn", short_symbol(symbol), f"{'?':<4} unknown: {rules_in}")
        elif present:
            present_symbols.append(f"{short_symbol(symbol)}={value}")
        else:
            shown = "=m" if value == "m" else "off"
            add("warn", short_symbol(symbol), f"{shown:<4} {rules_out}")
    if present_symbols:
        add("ok", "kernel features", ", ".join(present_symbols))
    # The cluster shapes beside the CNI (cnimatrix run --proxy-mode / --ip-family)
    if report.shape_host is not None:
        for line in shape_support.lines(k.release, k.features, report.shape_host):
            add(*line)

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



def collect() -> Report:
    """Read the host and Docker, and build the full report (lines included)."""
    docker = host.docker_status()
    kernel = kernel_status()
    meminfo = host.read_meminfo()
    report = Report(
        hostname=platform.node(),
        os_name=host.os_pretty_name(),
        machine=platform.machine(),
        docker=docker,
        capabilities=host.capability_status(),
        cgroup=host.cgroup_status(),
        disks=host.measure_disks(docker.root_dir),
        memory_total_bytes=meminfo.get("MemTotal"),
        memory_available_bytes=meminfo.get("MemAvailable"),
        cpus=host.usable_cpus(),
        kernel=kernel,
        cnis=catalog_verdicts(kernel.features),
        shape_host=shape_support.shape_host_status(docker.reachable),
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
