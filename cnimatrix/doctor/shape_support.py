"""What this host offers the cluster shapes (cnimatrix/cni/shapes.py): kube-proxy's nftables mode (kernel
options and release) and IPv6 (the kernel's switch, Docker's kind network).

Standard library only, like the rest of the doctor. Deciding is pure (``nftables_lacking``,
``ipv6_lacking``, ``lines``); ``shape_host_status`` reads the machine. `cnimatrix run` refuses a shape
the host lacks with the same words (cnimatrix/preflight.py).
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from typing import Mapping

from cnimatrix.doctor.kernel import NFTABLES_PROXY_IPV6_SYMBOLS, NFTABLES_PROXY_SYMBOLS, short_symbol

# kube-proxy refuses nftables mode on older kernels (k8s.io/kubernetes v1.37.1 pkg/util/kernel/constants.go).
NFTABLES_MIN_RELEASE = (5, 13)
IPV6_SWITCH = "/proc/sys/net/ipv6/conf/all/disable_ipv6"
KIND_NETWORK = "kind"   # the Docker network kind puts every cluster on (created on first use)
DOCKER_TIMEOUT_S = 30


@dataclass
class ShapeHostStatus:
    ipv6_disabled: str | None = None   # the IPV6_SWITCH value ("0": on); None: no such file (no IPv6 in the kernel)
    kind_network: bool = False         # whether Docker has a network named kind
    kind_subnets: list[str] = field(default_factory=list)
    docker_error: str | None = None    # why the kind network could not be read


def release_of(text: str) -> tuple[int, int] | None:
    """(major, minor) of a kernel release such as 6.18.44-fc; None when it does not start so."""
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def nftables_lacking(release: str, features: Mapping[str, bool | None], ipv6: bool = False) -> list[str]:
    """What this kernel lacks for kube-proxy's nftables mode (IPv6 too when `ipv6`); options whose
    presence is unknown are not counted."""
    lacking = []
    version = release_of(release)
    if version is not None and version < NFTABLES_MIN_RELEASE:
        lacking.append(f"kernel {release} (kube-proxy wants {'.'.join(map(str, NFTABLES_MIN_RELEASE))} or later)")
    symbols = NFTABLES_PROXY_SYMBOLS + (NFTABLES_PROXY_IPV6_SYMBOLS if ipv6 else ())
    return lacking + [short_symbol(s) for s in symbols if features.get(s) is False]


def ipv6_subnets(subnets: list[str]) -> list[str]:
    return [s for s in subnets if ":" in s]


def ipv6_switch_lacking(status: ShapeHostStatus) -> list[str]:
    """The kernel's side: IPv6 there and switched on."""
    if status.ipv6_disabled is None:
        return [f"IPv6 in the kernel (no {IPV6_SWITCH})"]
    return [] if status.ipv6_disabled == "0" else [f"IPv6 switched on ({IPV6_SWITCH} is {status.ipv6_disabled})"]


def kind_network_lacking(status: ShapeHostStatus) -> list[str]:
    """Docker's side: kind adds IPv6 only when it creates its network, never to one that exists."""
    if status.kind_network and not ipv6_subnets(status.kind_subnets):
        return ["an IPv6 subnet on Docker's kind network (remove it, `docker network rm kind`, while no cluster "
                "uses it, and kind makes it anew with one)"]
    return []


def ipv6_lacking(status: ShapeHostStatus, release: str, features: Mapping[str, bool | None],
                 proxy_mode: str = "iptables") -> list[str]:
    """What this host lacks for an IPv6 or dual-stack kind cluster (with kube-proxy in `proxy_mode`)."""
    lacking = ipv6_switch_lacking(status) + kind_network_lacking(status)
    if proxy_mode == "nftables":
        lacking += nftables_lacking(release, features, ipv6=True)
    return lacking


def lines(release: str, features: Mapping[str, bool | None], status: ShapeHostStatus) -> list[tuple[str, str, str]]:
    """(status, subject, message) lines for `make doctor`: kube-proxy's nftables mode, then IPv6."""
    nft = nftables_lacking(release, features)
    known = all(features.get(s) is not None for s in NFTABLES_PROXY_SYMBOLS)
    if nft:
        found = [("warn", "proxy nftables", f"no {', '.join(nft)}: --proxy-mode nftables cannot run here")]
    elif not known:
        found = [("warn", "proxy nftables", "unknown: kernel config unreadable (needs "
                  + ", ".join(short_symbol(s) for s in NFTABLES_PROXY_SYMBOLS) + ")")]
    else:
        found = [("ok", "proxy nftables", f"kernel {release}: {', '.join(short_symbol(s) for s in NFTABLES_PROXY_SYMBOLS)}")]
    v6_nft = [s for s in nftables_lacking(release, features, ipv6=True) if s not in nft]
    switch = ipv6_switch_lacking(status)
    found.append(("warn" if switch or v6_nft else "ok", "ipv6 kernel",
                  "; ".join(switch or ["net.ipv6 on"]) + (f"; nftables lacks {', '.join(v6_nft)} for IPv6" if v6_nft else "")))
    if status.docker_error:
        found.append(("warn", "ipv6 docker", f"kind network unknown: {status.docker_error}"))
    elif not status.kind_network:
        found.append(("info", "ipv6 docker", "no kind network yet: kind creates it with an IPv6 subnet when Docker "
                                             "lets it (else IPv4 only, without a word)"))
    elif ipv6_subnets(status.kind_subnets):
        found.append(("ok", "ipv6 docker", f"kind network has IPv6 subnet {', '.join(ipv6_subnets(status.kind_subnets))}"))
    else:
        found.append(("warn", "ipv6 docker", "kind network has no IPv6 subnet, and kind never adds one: remove it "
                                             "(docker network rm kind) while no cluster uses it"))
    return found


# --------------------------------------------------------------------------- reading the host


def kind_network_subnets() -> tuple[bool, list[str], str | None]:
    """(whether Docker has the kind network, its subnets, why it could not be read)."""
    try:
        proc = subprocess.run(["docker", "network", "inspect", KIND_NETWORK, "--format", "{{json .IPAM.Config}}"],
                              capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, [], f"docker network inspect: {exc}"
    if proc.returncode != 0:
        said = proc.stderr.strip()
        return (False, [], None) if "No such network" in said or "not found" in said else (False, [], said[:200] or "failed")
    try:
        config = json.loads(proc.stdout or "null") or []
    except ValueError:
        return True, [], "unreadable answer from docker network inspect"
    return True, [c.get("Subnet", "") for c in config if isinstance(c, dict) and c.get("Subnet")], None


def shape_host_status(docker_reachable: bool = True) -> ShapeHostStatus:
    try:
        with open(IPV6_SWITCH, encoding="ascii") as handle:
            disabled: str | None = handle.read().strip()
    except OSError:
        disabled = None
    if not docker_reachable:
        return ShapeHostStatus(disabled, docker_error="Docker is not reachable")
    exists, subnets, error = kind_network_subnets()
    return ShapeHostStatus(disabled, exists, subnets, error)
