"""The host kernel's configuration: which CONFIG_ symbols the suite cares about, and whether this
kernel has them.

``kernel_features()`` is the kernel gate that CNI capability checks and the matrix use. Parsing
and deciding are pure functions of text (``parse_kernel_config``, ``symbol_present``); only
``read_kernel_config`` reads the machine.
"""
from __future__ import annotations

import gzip
import platform
from dataclasses import dataclass, field
from typing import Iterable, Mapping

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
        "bpf() syscall: Cilium and Calico eBPF datapaths",
        "no bpf() syscall: Cilium and Calico eBPF ruled out",
    ),
    "CONFIG_BPF_JIT": (
        "BPF JIT: Cilium's programs run compiled",
        "no BPF JIT: Cilium ruled out",
    ),
    "CONFIG_NET_CLS_BPF": (
        "tc BPF classifier: Cilium and Calico eBPF attach their datapaths to devices",
        "no tc BPF classifier: Cilium and Calico eBPF ruled out",
    ),
    "CONFIG_NET_SCH_INGRESS": (
        "tc ingress/clsact qdisc: Cilium's and Calico eBPF's device hooks",
        "no clsact qdisc: Cilium and Calico eBPF ruled out",
    ),
    "CONFIG_CGROUP_BPF": (
        "cgroup BPF: Cilium socket load-balancing, Calico eBPF connect-time load balancing",
        "no cgroup BPF: Cilium socket load-balancing and Calico eBPF ruled out",
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


# What kube-proxy's nftables mode programs, as kernel options (k8s.io/kubernetes v1.37.1
# pkg/proxy/nftables/proxier.go): its own table in the ip family, ct state and status matches, DNAT,
# masquerade, "fib daddr type local", numgen random endpoint picks, reject for Services without endpoints.
NFTABLES_PROXY_SYMBOLS = ("CONFIG_NF_TABLES", "CONFIG_NF_TABLES_IPV4", "CONFIG_NFT_CT", "CONFIG_NFT_NAT", "CONFIG_NFT_MASQ",
                          "CONFIG_NFT_FIB_IPV4", "CONFIG_NFT_NUMGEN", "CONFIG_NFT_REJECT", "CONFIG_NFT_REJECT_IPV4")
# The same in the ip6 family, for IPv6 and dual-stack clusters.
NFTABLES_PROXY_IPV6_SYMBOLS = ("CONFIG_NF_TABLES_IPV6", "CONFIG_NFT_FIB_IPV6", "CONFIG_NFT_REJECT_IPV6")
# Read with KERNEL_FEATURES, for the cluster shapes (doctor/shape_support.py) rather than for a CNI.
SHAPE_SYMBOLS = (*NFTABLES_PROXY_SYMBOLS, *NFTABLES_PROXY_IPV6_SYMBOLS)


@dataclass
class KernelStatus:
    release: str
    source: str | None  # file the config was read from, None when unknown
    modules: bool | None
    values: dict[str, str | None] = field(default_factory=dict)  # symbol -> y/m/n/None
    features: dict[str, bool | None] = field(default_factory=dict)


def short_symbol(symbol: str) -> str:
    """NET_IPIP for CONFIG_NET_IPIP: how the screen names a symbol."""
    return symbol[len("CONFIG_"):] if symbol.startswith("CONFIG_") else symbol


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
    try:
        with open(boot, encoding="utf-8", errors="replace") as handle:
            return boot, handle.read()
    except OSError:
        return None, None


def kernel_status() -> KernelStatus:
    release = platform.release()
    source, text = read_kernel_config(release)
    config = parse_kernel_config(text) if text is not None else None
    symbols = [*KERNEL_FEATURES, *(s for s in SHAPE_SYMBOLS if s not in KERNEL_FEATURES)]
    return KernelStatus(
        release=release,
        source=source,
        modules=modules_supported(config),
        values={s: (config.get(s, "n") if config is not None else None) for s in ["CONFIG_MODULES", *symbols]},
        features=features_from_config(config, symbols),
    )


def kernel_features() -> dict[str, bool | None]:
    """CONFIG_ symbol -> True (=y, or =m with module support), False (absent), None (kernel config
    unknown), for every symbol in KERNEL_FEATURES and SHAPE_SYMBOLS plus CONFIG_MODULES."""
    status = kernel_status()
    return {"CONFIG_MODULES": status.modules, **status.features}
