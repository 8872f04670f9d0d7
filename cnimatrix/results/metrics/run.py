"""Run-level blocks that belong to no suite: how loaded the host was, the add-ons, the negative control."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.typed import Record, fact, rest


@dataclass(frozen=True)
class HostLoad(Record):
    """metrics.host: the host's 1-minute load average sampled through the run (cnimatrix.hostload.summarize); timing-sensitive outcomes of an overloaded run are suspect."""

    cpus: int | None = fact("Cores the run could use.", minimum=0)
    samples: int | None = fact("Load samples taken (every 5 s); 0 leaves out the figures below.", minimum=0)
    load_1m_mean: float | None = fact("Mean of the samples.", minimum=0)
    load_1m_max: float | None = fact("Largest sample.", minimum=0)
    overloaded_share: float | None = fact("Share of the samples above overloaded_above.", minimum=0)
    overloaded_above: float | None = fact("The load called overloaded: 4 per core.", minimum=0)


@dataclass(frozen=True)
class AddonInstall(Record):
    """One add-on of the run: its version, and how long it took to install and become ready."""

    version: str | None = fact("The version its addons/<name>.yaml pins.")
    install_s: float | None = fact("Seconds to install it and see it ready; absent when the install failed.", minimum=0)


@dataclass(frozen=True)
class Addons(Record):
    """metrics.addons: the cluster add-ons (addons/*.yaml) the ingress and gateway suites installed, by name, and what they were given."""

    installed: dict[str, AddonInstall] | None = rest("Add-on name -> its version and install time.")
    error: str | None = fact("Why installing the add-ons failed (then the suites that need them error).")
    addresses: dict[str, str] | None = fact("LoadBalancer Service (namespace/name) -> the address it got.")
    address_pool: str | None = fact("The LoadBalancer address range handed to the add-ons (first-last).", nullable=True)


@dataclass(frozen=True)
class Breakage(Record):
    """metrics.breakage: the negative control (`--break`) applied to this run, whose scenarios must fail."""

    name: str | None = fact("The breakage's name (manifests/breakages).")
    must_fail: list[str] | None = fact("Scenarios (test ids or their prefixes) the breakage must make fail.")
