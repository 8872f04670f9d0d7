"""The perf suite's figures (metrics.perf): the datapath against the host network, what the CNI's
pods cost, and the growth curves; and the per-test copies of them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnimatrix.results.metrics.common import Spread, TestMetrics
from cnimatrix.results.typed import Record, fact

_FIGURES = "Figure (e.g. tcp_1_gbps, rr_p50_us) -> its spread over the repetitions."


@dataclass(frozen=True)
class PerfHost(Record):
    """How busy the machine was around the perf suite (absolute figures depend on it)."""

    cpus: int | None = fact("The machine's cores.", minimum=0)
    load_at_start: list[float] | None = fact("1, 5 and 15-minute load averages when the suite started.")
    load_at_end: list[float] | None = fact("... when it ended.")


@dataclass(frozen=True)
class RouteFigures(Record):
    """One route over the repetitions (cnimatrix.perf.figures.route_summary): its figures and, against its hostNetwork baseline, their ratios."""

    title: str | None = fact("What the route is.")
    baseline: str | None = fact("The hostNetwork route it is compared with; null for a baseline itself.", nullable=True)
    figures: dict[str, Spread] | None = fact(_FIGURES)
    service_count: ServiceCount | None = fact("The Service-count test's record (metrics.perf.service_count).")
    ratios: dict[str, Spread] | None = fact("Figure -> this route's over its baseline's, repetition by repetition.")
    problems: list[str] | None = fact("Why runs gave no figure (at most 10).")


@dataclass(frozen=True)
class RepetitionStop(Record):
    """Why the datapath repetitions stopped (cnimatrix.perf.repetitions.Decision.record)."""

    reason: str | None = fact("converged (every ratio's interval within the target), repetition-cap, time-cap or no-figures.")
    detail: str | None = fact("The same in words, with the widest interval.")
    target_relative_half_width: float | None = fact("The target: an interval's half-width over its median (0.1: +-10%).",
                                                    minimum=0)
    widest: str | None = fact("route.figure whose ratio had the widest interval relative to its median.")
    widest_relative_half_width: float | None = fact("That width; absent when that ratio had a single value.", minimum=0)


@dataclass(frozen=True)
class DatapathLoad(Record):
    """The host's 1-minute load through the datapath phase, sampled after every measurement set (cnimatrix.perf.plausibility.host_load)."""

    cpus: int | None = fact("The machine's cores.", minimum=0)
    samples: int | None = fact("Load samples taken.", minimum=0)
    load_1m_max: float | None = fact("Largest sample.", minimum=0)
    above_cores_share: float | None = fact("Share of the samples above the core count.", minimum=0)
    limit: float | None = fact("The load a phase may reach: the cores plus the measured pair (cnimatrix.perf.plausibility.OWN_TASKS).",
                               minimum=0)
    above_limit_share: float | None = fact("Share of the samples above the limit (above 0.2 marks every figure noisy; "
                                           "absent in summaries made before the limit, judged on above_cores_share).",
                                           minimum=0)
    settle_s: float | None = fact("Seconds waited before the phase for the 1-minute load to come down to the core count.",
                                  minimum=0)
    load_at_phase_start: float | None = fact("The 1-minute load when the phase started.", minimum=0)


@dataclass(frozen=True)
class Datapath(Record):
    """metrics.perf.datapath: every route, measured repetition by repetition right after its baseline."""

    routes: dict[str, RouteFigures] | None = fact("Route id (cnimatrix.perf.datapath) -> its figures.")
    wall_s: float | None = fact("Seconds the repetitions took.", minimum=0)
    repetitions: int | None = fact("Repetitions made; absent in summaries made before the stopping rule (3).", minimum=0)
    stop: RepetitionStop | None = fact("Why the repetitions stopped.")
    load: DatapathLoad | None = fact("How loaded the host was meanwhile.")


@dataclass(frozen=True)
class CostWindow(Record):
    """What a group of pods used over one window (cnimatrix.perf.cgroups.window)."""

    pods: int | None = fact("Pods whose cgroups could be read.", minimum=0)
    wall_s: float | None = fact("The window's length in seconds.", minimum=0)
    cpu_s: float | None = fact("CPU seconds the pods used.", minimum=0)
    cores: float | None = fact("CPU seconds per second of the window; null for an empty window.", nullable=True, minimum=0)
    peak_mib: float | None = fact("Sum of the pods' memory peaks, MiB.", minimum=0)
    usage_mib: float | None = fact("Sum of the pods' memory use at the end, MiB.", minimum=0)
    peak_scope: str | None = fact("What the peak covers: window, or since the pod started.")
    unread: list[str] | None = fact("Pods (uids) whose cgroups could not be read.")


@dataclass(frozen=True)
class Cost(Record):
    """metrics.perf.cost: the CNI's pods (and kube-proxy), accounted from the nodes' cgroups, idle and under load."""

    components: dict[str, dict[str, int]] | None = fact("Component (kind/namespace/name) -> node -> its pods there.")
    idle: dict[str, CostWindow] | None = fact("Component -> its figures while the cluster idled.")
    throughput: dict[str, CostWindow] | None = fact("Component -> its figures while the datapath was measured.")


@dataclass(frozen=True)
class GrowthPoint(Record):
    """One step of a growth curve: N in place, then the change, and how long until its first answer."""

    n: int | None = fact("N, the count already in place.", minimum=0)
    s: float | None = fact("Seconds from the change to the first correct answer; null when unmeasured.", nullable=True)
    setup_s: float | None = fact("Seconds putting the N in place took (not the measure).", nullable=True)
    detail: dict[str, Any] | None = fact("The step's own parts (e.g. created_to_start_s).")
    problem: str | None = fact("Why the step is unmeasured.")


@dataclass(frozen=True)
class GrowthCurve(Record):
    """metrics.perf.growth.<curve>: a time-to-effect measured at growing N (cnimatrix.perf.growth.curve_record)."""

    title: str | None = fact("What is timed.")
    unit: str | None = fact("What N counts.")
    steps: list[int] | None = fact("The N asked for.")
    points: list[GrowthPoint] | None = fact("The steps measured, in order.")
    declared: str | None = fact("The CNI's declared status that left the curve unmeasured (e.g. not-enforced).")
    peer: str | None = fact("What the new pod's first packet went to.")
    service_cidr: str | None = fact("The Service CIDR the fixed ClusterIPs came from.")


@dataclass(frozen=True)
class ServiceCountPoint(Record):
    """One step of the Service-count curve (cnimatrix.perf.service_count.CountPoint.record)."""

    n: int | None = fact("Other Services in place (0: the reference, before any).", minimum=0)
    programmed_s: float | None = fact("Seconds from creating the Nth Service to its first correct answer; null at 0 or "
                                      "when unmeasured.", nullable=True)
    setup_s: float | None = fact("Seconds creating this step's other Services took, until the last answered.", nullable=True)
    created: int | None = fact("Services this step created before the Nth.", minimum=0)
    service: dict[str, Spread] | None = fact("crr_p50_us, crr_p99_us, crr_per_s through the measured ClusterIP, over the runs.")
    pod: dict[str, Spread] | None = fact("The same straight to its backend pod (no Service in the way).")
    detail: dict[str, Any] | None = fact("batch_in_force_s (the batch's last Service created to its first answer), "
                                         "cluster_ip and tries of the Nth, connection_problems.")
    problem: str | None = fact("Why the step is unmeasured.")


@dataclass(frozen=True)
class ServiceCount(Record):
    """metrics.perf.service_count: connection set-up through one ClusterIP while N other (selector-less) Services exist."""

    steps: list[int] | None = fact("The N asked for (CNIMATRIX_PERF_SERVICES).")
    points: list[ServiceCountPoint] | None = fact("The reference, then each step measured, in order.")
    measured: str | None = fact("What the connection figures go through.")
    runs: int | None = fact("crr runs per path and step.", minimum=0)
    teardown_s: float | None = fact("Seconds deleting the Services (their namespace) took.", minimum=0)


@dataclass(frozen=True)
class PerfMetrics(Record):
    """metrics.perf: the perf suite's run-level figures."""

    settings: dict[str, float] | None = fact("How long and how hard (cnimatrix.perf.datapath.Settings).")
    host: PerfHost | None = fact("How busy the machine was.")
    suite_s: float | None = fact("Seconds the suite took.", minimum=0)
    datapath: Datapath | None = fact("The routes against the host network.")
    cost: Cost | None = fact("What the CNI's pods cost.")
    growth: dict[str, GrowthCurve] | None = fact("Curve id (cnimatrix.perf.growth.CURVES) -> its points.")
    service_count: ServiceCount | None = fact("Connection set-up through one ClusterIP with N other Services in place.")


@dataclass(frozen=True)
class PerfTestMetrics(Cost, GrowthCurve, TestMetrics):
    """A perf test's metrics: the part of metrics.perf the test judged (the cost test's are the cost record, a growth test's its curve record)."""

    repetitions: list[dict[str, float] | None] | None = fact("Each repetition's figures of the route (null: it gave none).")
    host_same_node: dict[str, Spread] | None = fact(_FIGURES, key="host-same-node")
    host_cross_node: dict[str, Spread] | None = fact(_FIGURES, key="host-cross-node")
    outside_to_node: dict[str, Spread] | None = fact(_FIGURES, key="outside-to-node")
    baseline: str | None = fact("The route's hostNetwork baseline.", nullable=True)
    ratios: dict[str, Spread] | None = fact("Figure -> the route's over its baseline's.")
    figures: dict[str, Spread] | None = fact(_FIGURES)
    service_count: ServiceCount | None = fact("The Service-count test's record (metrics.perf.service_count).")
