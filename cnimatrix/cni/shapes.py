"""A run's shape: beside its CNI, the cluster's IP family and kube-proxy's mode (issue 26).

A CNI file declares under `shapes:`, for each IP family and each kube-proxy mode, a status
(supported, unsupported, untested) with its evidence and what that shape changes: a kind config
fragment, Helm chart values, patches to the upstream manifest (`patches.py`). `resolve` turns the
shape a run asks for into those changes and what the run records, or refuses it with the evidence
(`ShapeRefused`). The default shape (IPv4, iptables kube-proxy) names no folder or cluster of its
own, so runs made before shapes existed line up with runs made in it now.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnimatrix.cni import patches
from cnimatrix.datafiles import DataParser

IP_FAMILIES = ("ipv4", "ipv6", "dual")
PROXY_MODES = ("iptables", "nftables")   # what a run may ask for
STATUSES = ("supported", "unsupported", "untested")
DEFAULT_IP_FAMILY = "ipv4"
DEFAULT_PROXY_MODE = "iptables"
# What a run records as its proxy mode when the CNI serves Services itself (kind's kubeProxyMode: none).
NO_KUBE_PROXY = "none"
# Each axis: its command-line flag and the kind config key (under networking) that sets it.
AXES = {"ip_family": ("--ip-family", "ipFamily"), "proxy_mode": ("--proxy-mode", "kubeProxyMode")}
FAMILY_NAMES = {"ipv4": "IPv4", "ipv6": "IPv6", "dual": "dual-stack"}


class ShapeRefused(ValueError):
    """The CNI does not run in the shape asked for; the message is one line with the evidence."""


@dataclass(frozen=True)
class Shape:
    ip_family: str = DEFAULT_IP_FAMILY
    proxy_mode: str = DEFAULT_PROXY_MODE

    def __post_init__(self) -> None:
        if self.ip_family not in IP_FAMILIES:
            raise ValueError(f"unknown IP family {self.ip_family!r} (one of {', '.join(IP_FAMILIES)})")
        if self.proxy_mode not in (*PROXY_MODES, NO_KUBE_PROXY):
            raise ValueError(f"unknown kube-proxy mode {self.proxy_mode!r} (one of {', '.join(PROXY_MODES)})")

    @property
    def distinct(self) -> tuple[str, ...]:
        """What sets it apart from the default, family first: it names the shape's folder, cluster and
        column. A CNI without kube-proxy has no mode to tell apart."""
        family = (self.ip_family,) if self.ip_family != DEFAULT_IP_FAMILY else ()
        mode = (self.proxy_mode,) if self.proxy_mode not in (DEFAULT_PROXY_MODE, NO_KUBE_PROXY) else ()
        return family + mode

    def folder(self, cni: str) -> str:
        """reports/<folder>: the CNI's name, then the shape's distinct parts (flannel-nftables)."""
        return "-".join((cni, *self.distinct))

    def cluster_name(self, cni: str) -> str:
        return f"cnimatrix-{self.folder(cni)}"

    def column(self, cni: str) -> str:
        """How the comparison names a run of this shape (flannel/nftables)."""
        return "/".join((cni, *self.distinct))

    def describe(self) -> str:
        proxy = "kube-proxy replaced by the CNI" if self.proxy_mode == NO_KUBE_PROXY else f"{self.proxy_mode} kube-proxy"
        return f"{FAMILY_NAMES[self.ip_family]}, {proxy}"

    def to_dict(self) -> dict[str, str]:
        return {"ip_family": self.ip_family, "proxy_mode": self.proxy_mode}


DEFAULT = Shape()


def split_folder(name: str) -> tuple[str, Shape]:
    """The CNI and shape a reports folder or a column is named for: flannel-nftables and flannel/nftables
    give (flannel, IPv4 with nftables); a name without a shape's parts is the default shape."""
    words = name.replace("/", "-").split("-")
    mode = words.pop() if len(words) > 1 and words[-1] in PROXY_MODES[1:] else DEFAULT_PROXY_MODE
    family = words.pop() if len(words) > 1 and words[-1] in IP_FAMILIES[1:] else DEFAULT_IP_FAMILY
    return "-".join(words), Shape(family, mode)


@dataclass(frozen=True)
class Changes:
    """What a shape changes: merged into the CNI's kind config and chart values, applied to its manifests."""

    kind_config: dict[str, Any] = field(default_factory=dict)
    chart_values: dict[str, Any] = field(default_factory=dict)
    manifest_patches: tuple[patches.ManifestPatch, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.kind_config or self.chart_values or self.manifest_patches)

    def then(self, other: Changes) -> Changes:
        return Changes(deep_merge(self.kind_config, other.kind_config), deep_merge(self.chart_values, other.chart_values),
                       self.manifest_patches + other.manifest_patches)


@dataclass(frozen=True)
class Declaration:
    """What a CNI declares about one family or one mode. `not_wired`: why cnimatrix refuses it although the
    CNI may run so (what is missing, naming the issue); drop it once the changes are written."""

    status: str
    evidence: str
    changes: Changes = field(default_factory=Changes)
    not_wired: str = ""


@dataclass(frozen=True)
class Declarations:
    """A CNI file's `shapes:`. `kube_proxy_replaced` (evidence) instead of `proxy_modes`: the CNI serves
    Services itself and the cluster runs no kube-proxy, so no mode applies."""

    ip_families: Mapping[str, Declaration]
    proxy_modes: Mapping[str, Declaration]
    kube_proxy_replaced: str = ""


@dataclass(frozen=True)
class Untested:
    axis: str
    value: str
    evidence: str


@dataclass(frozen=True)
class Resolved:
    """A shape a CNI runs in: the shape recorded, the changes it makes, and which of its declarations
    are untested (the run goes ahead and the summary says so)."""

    shape: Shape
    changes: Changes = field(default_factory=Changes)
    untested: tuple[Untested, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """summary.json's `shape`."""
        doc: dict[str, Any] = self.shape.to_dict()
        if self.untested:
            doc["untested"] = [{"axis": u.axis, "value": u.value, "evidence": u.evidence} for u in self.untested]
        return doc

    def describe(self) -> str:
        """e.g. "IPv4, nftables kube-proxy; declared untested: proxy mode nftables"."""
        untested = ", ".join(f"{u.axis.replace('_', ' ')} {u.value}" for u in self.untested)
        return self.shape.describe() + (f"; declared untested: {untested}" if untested else "")


def deep_merge(base: Mapping[str, Any], fragment: Mapping[str, Any]) -> dict[str, Any]:
    """`fragment` merged into a copy of `base`: mappings merge, everything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in fragment.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- resolving


def _admit(cni: str, axis: str, value: str, declared: Declaration, where: str) -> Untested | None:
    """Refuse a value the CNI declares unsupported or cnimatrix has not wired; an untested one runs, noted."""
    flag = AXES[axis][0]
    if declared.status == "unsupported":
        raise ShapeRefused(f"{cni} does not run with {flag} {value}: {where} declares it unsupported: "
                           f"{one_line(declared.evidence)}")
    if declared.not_wired:
        raise ShapeRefused(f"{flag} {value} is not wired for {cni} yet: {one_line(declared.not_wired)}")
    return Untested(axis, value, one_line(declared.evidence)) if declared.status == "untested" else None


def resolve(cni: str, declared: Declarations | None, asked: Shape, where: str = "its file") -> Resolved:
    """The shape `cni` runs in when `asked`, with its changes; ShapeRefused when it does not run so.
    A file that declares no shapes runs the default shape only."""
    if asked.proxy_mode == NO_KUBE_PROXY:
        raise ShapeRefused("--proxy-mode none is no choice: a CNI that replaces kube-proxy says so in its file")
    if declared is None:
        if asked == DEFAULT:
            return Resolved(asked)
        raise ShapeRefused(f"{cni} declares no shapes ({where}): it runs only as {DEFAULT.describe()}")
    family = declared.ip_families[asked.ip_family]
    notes = [_admit(cni, "ip_family", asked.ip_family, family, where)]
    changes = family.changes
    if declared.kube_proxy_replaced:
        if asked.proxy_mode != DEFAULT_PROXY_MODE:
            raise ShapeRefused(f"{cni} replaces kube-proxy, so --proxy-mode {asked.proxy_mode} does not apply: "
                               f"{one_line(declared.kube_proxy_replaced)}")
        recorded = Shape(asked.ip_family, NO_KUBE_PROXY)
    else:
        mode = declared.proxy_modes[asked.proxy_mode]
        notes.append(_admit(cni, "proxy_mode", asked.proxy_mode, mode, where))
        changes = changes.then(mode.changes)
        recorded = asked
    return Resolved(recorded, changes, tuple(note for note in notes if note))


# --------------------------------------------------------------------------- reading a CNI file


_TOP_KEYS = {"ip_families", "proxy_modes", "kube_proxy_replaced"}
_ENTRY_KEYS = {"status", "evidence", "not_wired", "kind_config", "chart_values", "manifest_patches"}


def parse(parser: DataParser, value: Any, where: str, source: str) -> Declarations | None:
    """A CNI file's `shapes:` (None when it has none); `source` is its install source, which decides the
    changes a shape may make (chart values for helm, manifest patches for manifests)."""
    if value is None:
        return None
    data = parser.mapping(value, where, _TOP_KEYS)
    replaced = parser.text(data, "kube_proxy_replaced", where) if "kube_proxy_replaced" in data else ""
    if replaced and "proxy_modes" in data:
        raise parser.fail(f"{where}.proxy_modes", "a CNI that replaces kube-proxy (kube_proxy_replaced) has no proxy modes")
    families = _axis(parser, data.get("ip_families"), f"{where}.ip_families", "ip_family", source)
    modes = {} if replaced else _axis(parser, data.get("proxy_modes"), f"{where}.proxy_modes", "proxy_mode", source)
    return Declarations(families, modes, replaced)


def _axis(parser: DataParser, value: Any, where: str, axis: str, source: str) -> dict[str, Declaration]:
    names = IP_FAMILIES if axis == "ip_family" else PROXY_MODES
    if value is None:
        raise parser.fail(where, f"is required: declare each of {', '.join(names)}")
    data = parser.mapping(value, where, set(names))
    missing = [name for name in names if name not in data]
    if missing:
        raise parser.fail(where, f"must declare each of {', '.join(names)} (missing {', '.join(missing)})")
    return {name: _entry(parser, data[name], f"{where}.{name}", axis, name, source) for name in names}


def _entry(parser: DataParser, value: Any, at: str, axis: str, name: str, source: str) -> Declaration:
    data = parser.mapping(value, at, _ENTRY_KEYS)
    status = parser.choice(data, "status", at, STATUSES)
    if "chart_values" in data and source != "helm":
        raise parser.fail(f"{at}.chart_values", f"only applies to source=helm, not {source}")
    changes = Changes(
        kind_config=copy.deepcopy(parser.mapping(data.get("kind_config") or {}, f"{at}.kind_config")),
        chart_values=copy.deepcopy(parser.mapping(data.get("chart_values") or {}, f"{at}.chart_values")),
        manifest_patches=patches.parse_field(parser, data, at, source),
    )
    declared = Declaration(status, parser.text(data, "evidence", at), changes,
                           parser.text(data, "not_wired", at) if "not_wired" in data else "")
    _check_changes(parser, at, axis, name, declared)
    return declared


def _check_changes(parser: DataParser, at: str, axis: str, name: str, declared: Declaration) -> None:
    """A shape that runs must make kind build it (a mistake would run the default shape under another name)."""
    key = AXES[axis][1]
    networking = declared.changes.kind_config.get("networking") or {}
    sets = networking.get(key) if isinstance(networking, Mapping) else None
    if declared.status == "unsupported" and declared.changes:
        raise parser.fail(at, "an unsupported shape never runs: drop its kind_config, chart_values and manifest_patches")
    if sets is not None and sets != name:
        raise parser.fail(f"{at}.kind_config.networking.{key}", f"is {sets!r}, not {name!r}")
    default = DEFAULT_IP_FAMILY if axis == "ip_family" else DEFAULT_PROXY_MODE
    if name != default and declared.status != "unsupported" and not declared.not_wired and sets != name:
        raise parser.fail(f"{at}.kind_config", f"must set networking.{key}: {name} (kind builds {default} otherwise)")


def check_base_kind_config(parser: DataParser, kind_config: Mapping[str, Any], declared: Declarations | None) -> None:
    """The family and the proxy mode are the shape's to set, not the CNI's fragment; only a CNI that
    replaces kube-proxy sets kubeProxyMode there, to none."""
    if declared is None:  # a file from before shapes: its fragment stays as it is
        return
    networking = kind_config.get("networking") or {}
    if "ipFamily" in networking:
        raise parser.fail("kind_config.networking.ipFamily", "is the shape's to set (shapes.ip_families)")
    mode = networking.get("kubeProxyMode")
    if declared.kube_proxy_replaced and mode != NO_KUBE_PROXY:
        raise parser.fail("shapes.kube_proxy_replaced", "needs kind_config.networking.kubeProxyMode: none "
                                                        "(kind would run kube-proxy beside the CNI)")
    if mode is not None and not declared.kube_proxy_replaced:
        raise parser.fail("kind_config.networking.kubeProxyMode", "is the shape's to set (shapes.proxy_modes); only a "
                                                                  "CNI that replaces kube-proxy sets none here")
