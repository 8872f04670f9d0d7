"""Run-level blocks that belong to no suite: how loaded the host was, the add-ons, the negative control."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.typed import Record, fact, rest


@dataclass(frozen=True)
class ClusterFootprint(Record):
    """metrics.host.cluster: what the kind cluster's node containers cost the host (cnimatrix.cluster.footprint)."""

    samples: int | None = fact("Readings of the node containers' cgroups, one per load sample.", minimum=0)
    note: str | None = fact("Why there are no figures (no cgroup found, too few samples).")
    nodes: int | None = fact("Node containers measured.", minimum=0)
    wall_s: float | None = fact("Seconds from the first reading (the cluster just created) to the last (before its deletion).", minimum=0)
    cpu_s: float | None = fact("CPU seconds the node containers used in that time.", minimum=0)
    cores_mean: float | None = fact("cpu_s / wall_s: cores the cluster kept busy on average.", minimum=0)
    memory_peak_mib: int | None = fact("Largest total working set (usage less inactive file cache) of the node containers.", minimum=0)


@dataclass(frozen=True)
class HostLoad(Record):
    """metrics.host: the host's 1-minute load average sampled through the run (cnimatrix.hostload.summarize); timing-sensitive outcomes of an overloaded run are suspect."""

    cpus: int | None = fact("Cores the run could use.", minimum=0)
    samples: int | None = fact("Load samples taken (every 5 s); 0 leaves out the figures below.", minimum=0)
    load_1m_mean: float | None = fact("Mean of the samples.", minimum=0)
    load_1m_max: float | None = fact("Largest sample.", minimum=0)
    overloaded_share: float | None = fact("Share of the samples above overloaded_above.", minimum=0)
    overloaded_above: float | None = fact("The load called overloaded: 4 per core.", minimum=0)
    cluster: ClusterFootprint | None = fact("The kind cluster's own CPU and memory through the run.")


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
    must_pass: list[str] | None = fact("Scenarios a narrow breakage does not touch: they must still pass.")
    hits: str | None = fact("What a narrow breakage hits: the node, backend or cell, by name and address.")


@dataclass(frozen=True)
class ImagePulls(Record):
    """metrics.images: how the images not in the node image reached the nodes (cnimatrix/registry/pull_path.py)."""

    via: str | None = fact("registry: pulled from the local registry through containerd mirrors (offline default); import: docker save | ctr import (IMAGES_VIA=import); mirror: pulled through REGISTRY_MIRROR; upstream: pulled from the official registries.")
    pulls: dict[str, int] | None = fact("Image -> manifest pulls the registry answered (one per node that runs it).")
    not_from_registry: list[str] | None = fact("'node: image' pairs a node runs without having pulled them from the registry (the pull path did not hold).")


@dataclass(frozen=True)
class TimelinePhase(Record):
    """One stretch of the run's wall time (metrics.timeline.phases[]): a run-level phase (cluster_create, images_load, cni_ready, addons_ready, cluster_delete), one part of a suite ("<suite>: setup", "<suite>: convergence waits", "<suite>: checks", "<suite>: teardown"), or "other"."""

    name: str | None = fact("The phase: a timings_s name, \"<suite>: <part>\", or \"other\".", required=True)
    seconds: float | None = fact("Wall-clock seconds it took.", minimum=0, required=True)

    @property
    def suite(self) -> str | None:
        """The suite of a suite's part; None for a run-level phase and for "other"."""
        return self.name.partition(": ")[0] if self.name and ": " in self.name else None

    @property
    def part(self) -> str:
        """"setup", "convergence waits", "checks" or "teardown" for a suite's part, else the name itself."""
        return (self.name or "").partition(": ")[2] or (self.name or "")


@dataclass(frozen=True)
class SuiteTime(Record):
    """metrics.timeline.suites.<suite>: where one suite's time went, in seconds, and its probe rounds."""

    setup_s: float | None = fact("Its tests' fixture set-up (pytest's setup durations), less the run-level phases that ran inside it.", minimum=0)
    waits_s: float | None = fact("Its test calls' time inside settle/expect, waiting for an expectation to converge.", minimum=0)
    checks_s: float | None = fact("The rest of its test calls: steps, changes and probe rounds outside a convergence wait.", minimum=0)
    teardown_s: float | None = fact("Its tests' fixture teardown, less the run-level phases that ran inside it (cluster_delete).", minimum=0)
    rounds: int | None = fact("Convergence attempts (probe rounds) its settle/expect calls made.", minimum=0)


@dataclass(frozen=True)
class BackgroundWork(Record):
    """metrics.timeline.background[]: work that ran beside the tests (--concurrency above 1), overlapping the phases."""

    name: str | None = fact("What ran: \"<job>: set-up\" (the add-ons, a suite's workloads) or \"<suite>: policy cases\".", required=True)
    started_s: float | None = fact("Seconds from the start of the run to its start.", minimum=0, required=True)
    seconds: float | None = fact("Wall-clock seconds it took.", minimum=0, required=True)


@dataclass(frozen=True)
class Timeline(Record):
    """metrics.timeline: where the run's wall time went (cnimatrix.testkit.timeline), phases in run order adding up to total_s."""

    total_s: float | None = fact("Wall-clock seconds from the start of the run to the summary.", minimum=0)
    phases: list[TimelinePhase] | None = fact(
        "The run-level phases that ran, then four parts per suite in the order the suites ran, then cluster_delete "
        "(when measured) and other (collection, reporting, evidence, what no phase covers); their seconds add up to total_s.")
    suites: dict[str, SuiteTime] | None = fact("Suite -> its parts' seconds and probe rounds.")
    background: list[BackgroundWork] | None = fact(
        "Work that ran beside the tests (testkit.background), each stretch timed from the run's start; not in the phases, "
        "whose tests waited for it only where they needed it.")
