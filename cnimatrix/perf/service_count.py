"""The Service-count curve: what connection set-up to one Service costs while N other Services
exist, and how long the Nth takes to be programmed (metrics.perf.service_count, and its
programming times as the growth curve "service_count").

The other Services have no selector: each comes with a hand-made EndpointSlice naming one real
pod, so every node carries the rules for N Services without N pods. Steps are cumulative: each
adds fillers up to N - 1, then one more Service at a chosen ClusterIP, timed to its first answer
(the growth waiter), then the connection figures are taken. Pure: the suite renders the objects
from manifests/workloads/perf/count-service.yaml and passes them in.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cnimatrix.perf.datapath import LoopRun
from cnimatrix.perf.figures import loop_figures, spread
from cnimatrix.perf.growth import CURVES_BY_ID

CURVE = CURVES_BY_ID["service_count"]
POOL = 16                 # concurrent API calls while filling: enough to keep the API server busy, not flooded
CONNECTION_FIGURES = ("crr_p50_us", "crr_p99_us", "crr_per_s")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Step:
    """One step: after it, `n` other Services exist; `fillers` are the filler indexes it creates
    (the last of its n is the timed Service, `timed_name(n)`)."""

    n: int
    fillers: range


def plan(steps: Sequence[int]) -> list[Step]:
    """Steps (positive, increasing) into what each creates: fillers up to n - 1 Services in place,
    counting the earlier steps' fillers and timed Services, which all stay."""
    out, in_place, made = [], 0, 0
    for n in steps:
        if n <= in_place:
            raise ValueError(f"steps must increase: {n} after {in_place}")
        count = n - 1 - in_place
        out.append(Step(n, range(made, made + count)))
        made += count
        in_place = n
    return out


def filler_name(index: int) -> str:
    return f"filler-{index:05d}"


def timed_name(n: int) -> str:
    return f"timed-{n}"


def address_type(ip: str) -> str:
    """An EndpointSlice's addressType for a pod IP."""
    return "IPv6" if ":" in ip else "IPv4"


def named(template: Sequence[Mapping], name: str, cluster_ip: str | None = None) -> tuple[dict, dict]:
    """(Service, EndpointSlice) for `name` from the rendered template (a Service and its slice,
    rendered once: 5000 renders and YAML parses would cost more than the API calls). Without
    `cluster_ip` the API server picks one."""
    by_kind = {doc["kind"]: doc for doc in template}
    service, endpoints = copy.deepcopy(by_kind["Service"]), copy.deepcopy(by_kind["EndpointSlice"])
    service["metadata"]["name"] = name
    if cluster_ip:
        service["spec"]["clusterIP"] = cluster_ip
    else:
        service["spec"].pop("clusterIP", None)
    endpoints["metadata"]["name"] = f"{name}-1"
    endpoints["metadata"].setdefault("labels", {})[SERVICE_NAME_LABEL] = name
    return service, endpoints


def progress_due(done: int, total: int, last_said: int, share: float = 0.1) -> bool:
    """Whether a progress line is due after `done` of `total`: every `share` of the way, and at the end."""
    if done >= total:
        return done > last_said
    return done - last_said >= max(1, int(total * share))


def progress_line(what: str, done: int, total: int, elapsed_s: float) -> str:
    rate = f", {done / elapsed_s:.0f}/s" if elapsed_s > 0 and done else ""
    return f"[perf] service count: {what} {done}/{total} ({elapsed_s:.0f} s{rate})"


def connection_figures(runs: Sequence[LoopRun | None]) -> dict[str, dict]:
    """figure -> spread over the runs of the crr loop (p50, p99, rate); figures no run gave are left out."""
    per_run = [loop_figures("crr", run) for run in runs]
    out = {}
    for figure in CONNECTION_FIGURES:
        found = spread([figures[figure] for figures in per_run if figure in figures])
        if found:
            out[figure] = found
    return out


@dataclass
class CountPoint:
    """One step measured: N other Services, the Nth's programming time, the connection figures."""

    n: int
    programmed_s: float | None = None       # the Nth Service created -> its first correct answer
    setup_s: float | None = None            # creating this step's fillers (API time, not the measure)
    created: int = 0                        # fillers this step created
    service: dict = field(default_factory=dict)   # connection figures through the measured ClusterIP
    pod: dict = field(default_factory=dict)       # ... straight to its backend pod (no Service in the way)
    detail: dict = field(default_factory=dict)
    problem: str = ""

    def record(self) -> dict:
        out = {"n": self.n, "programmed_s": self.programmed_s, "setup_s": self.setup_s, "created": self.created,
               "service": self.service, "pod": self.pod}
        if self.detail:
            out["detail"] = self.detail
        if self.problem:
            out["problem"] = self.problem
        return out

    def growth_point(self) -> dict:
        """The point of the growth curve "service_count" (cnimatrix.perf.growth.Point.record's shape)."""
        out = {"n": self.n, "s": self.programmed_s, "setup_s": self.setup_s}
        if self.problem:
            out["problem"] = self.problem
        return out


def count_record(points: Sequence[CountPoint], steps: Sequence[int], **extra) -> dict:
    """metrics.perf.service_count: the steps asked for, each step measured, and what was measured."""
    return {"steps": list(steps), "points": [p.record() for p in points], **extra}


def growth_record(points: Sequence[CountPoint], **extra) -> dict:
    """metrics.perf.growth.service_count: the Nth Service's programming time at each step."""
    return {"title": CURVE.title, "unit": CURVE.unit, "steps": [p.n for p in points],
            "points": [p.growth_point() for p in points], **extra}
