"""Which CNIs this host can run: each catalog entry's host needs (the catalog's own ``HostNeeds``)
against the kernel's features.

``cni_verdict`` decides from values only. The catalog needs PyYAML, which the rest of the doctor
does not (``make doctor`` runs on the system python3 to explain a host ``make setup`` cannot fix),
so it is imported only when the catalog's verdicts are asked for: without it ``catalog_verdicts``
has none and the screen says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

from cnimatrix.doctor.kernel import short_symbol

if TYPE_CHECKING:  # annotations only: importing the catalog imports yaml
    from cnimatrix.cni.catalog import Cni, HostNeeds

# Every kind cluster needs these, whatever the CNI.
BASE_REQUIREMENTS: tuple[str, ...] = ("CONFIG_BRIDGE", "CONFIG_VETH")


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


def cni_verdict(name: str, host: HostNeeds, features: Mapping[str, bool | None],
                offline_reason: str | None = None) -> CniVerdict:
    """Whether CNI `name`, needing `host`, runs on a kernel with `features`. `offline_reason`: the
    catalog's reason its images cannot be built without registries, if so (it runs online only)."""
    required = list(BASE_REQUIREMENTS) + [s for s in host.requires_kernel if s not in BASE_REQUIREMENTS]
    if any(features.get(s) is None for s in required):
        needs = ", ".join(short_symbol(s) for s in host.requires_kernel) or "bridge, veth"
        return CniVerdict(name, None, "warn", message=f"unknown: kernel config unreadable (needs {needs})")
    missing = [s for s in required if not features.get(s)]
    if missing:
        return CniVerdict(name, False, "skip", missing_required=missing,
                          message="cannot run: no " + ", ".join(short_symbol(s) for s in missing))
    lost = [s for s in host.limits if not features.get(s)]
    absent_variants = [s for s in host.variants if not features.get(s)]
    parts = [f"without {short_symbol(s)}: {host.limits[s]}" for s in lost]
    if absent_variants:
        parts.append("no " + " or ".join(host.variants[s] for s in absent_variants))
    if offline_reason:  # its first clause; the catalog entry has the whole evidence
        first = " ".join(offline_reason.split()).split(";")[0].rstrip(". ")
        parts.append(f"online only, its images cannot be built offline ({first})")
    head = "runs" + (f" ({host.mode})" if host.mode else "")
    message = head + ("; " + "; ".join(parts) if parts else "")
    return CniVerdict(name, True, "warn" if lost or offline_reason else "ok", missing_limits=lost,
                      missing_variants=absent_variants, message=message, online_only=bool(offline_reason))


def cni_verdicts(features: Mapping[str, bool | None], cnis: Iterable[Cni] | None = None) -> list[CniVerdict]:
    """One verdict per entry of `cnis` (default: the whole catalog, which raises ImportError
    without PyYAML)."""
    if cnis is None:
        from cnimatrix.cni import catalog

        cnis = catalog.load_all()
    return [cni_verdict(cni.name, cni.host, features, cni.offline_reason) for cni in cnis]


def catalog_verdicts(features: Mapping[str, bool | None]) -> list[CniVerdict]:
    """The catalog's verdicts, or none when PyYAML is missing (the report then says so)."""
    try:
        return cni_verdicts(features)
    except ImportError:
        return []
