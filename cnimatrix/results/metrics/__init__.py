"""Typed summary.json metrics: one record per suite's block (and per suite's test metrics), read
with `RunMetrics.from_dict(doc["metrics"])` and `test_metrics(test)`. Their JSON Schema fragments
are generated into summary.schema.json (`python -m cnimatrix.results.metrics.schema --write`).

A key a summary lacks reads as None (older files, suites that did not run); see
cnimatrix.results.typed for the rules. Run-level blocks are closed: a new key is declared here
before a suite writes it. Test metrics are open: a scenario's further detail is kept as written.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnimatrix.results.metrics.common import ConfidenceInterval, FigureMark, LatencySummary, Spread, TestMetrics
from cnimatrix.results.metrics.day2 import (AgentRestart, Day2Metrics, Day2TestMetrics, InFlightRequest, NodeRestart, SameNodeRequests,
                                           SourceRanges, StartupWindow, TerminatingFallback, UdpStaleness)
from cnimatrix.results.metrics.dns import DnsMetrics, DnsTestMetrics
from cnimatrix.results.metrics.ingress import GatewayMetrics, GatewayTestMetrics, IngressMetrics, IngressTestMetrics
from cnimatrix.results.metrics.netpol import LiveUpdate, NetpolMetrics, NetpolTestMetrics
from cnimatrix.results.metrics.perf import (Cost, CostWindow, Datapath, DatapathLoad, GrowthCurve, PerfHost, PerfMetrics,
                                           PerfTestMetrics, RepetitionStop, RouteFigures, ServiceCount, ServiceCountPoint)
from cnimatrix.results.metrics.podnet import PodnetMetrics, PodnetTestMetrics
from cnimatrix.results.metrics.run import Addons, BackgroundWork, Breakage, ImagePulls, ClusterFootprint, HostLoad, SuiteTime, Timeline, TimelinePhase
from cnimatrix.results.metrics.service import ServiceTestMetrics
from cnimatrix.results.typed import Record, fact


@dataclass(frozen=True)
class RunMetrics(Record):
    """Run-level measurements (metrics), one block per suite and for the run itself; a block is absent when nothing wrote it."""

    host: HostLoad | None = fact("How loaded the host was during the run.")
    addons: Addons | None = fact("The cluster add-ons installed for the ingress and gateway suites.")
    breakage: Breakage | None = fact("The negative control applied, if any.")
    images: ImagePulls | None = fact("Where the nodes got the CNI's images (offline runs through the local registry).")
    service_programmed_s: dict[str, float | None] | None = fact(
        "Node -> seconds until the Service suite's web Service answered a client there (null: never).")
    dns: DnsMetrics | None = fact("The DNS suite's resolution latency.")
    netpol: NetpolMetrics | None = fact("The NetworkPolicy suite's time-to-effect and connection figures.")
    ingress: IngressMetrics | None = fact("The Ingress suite's time-to-effect figures.")
    gateway: GatewayMetrics | None = fact("The Gateway API suite's figures.")
    podnet: PodnetMetrics | None = fact("The pod network suite's MTUs, IP lifecycle and set-up time.")
    day2: Day2Metrics | None = fact("The day-2 suite's startup isolation, UDP staleness, agent and node restart, graceful termination and traffic steering figures.")
    perf: PerfMetrics | None = fact("The perf suite's datapath, cost and growth figures.")
    timeline: Timeline | None = fact("Where the run's wall time went, phase by phase and per suite.")


# suite -> the record of its tests' metrics (every suite of results.suites has one)
TEST_METRICS: dict[str, type[TestMetrics]] = {
    "service": ServiceTestMetrics, "dns": DnsTestMetrics, "netpol": NetpolTestMetrics, "ingress": IngressTestMetrics,
    "gateway": GatewayTestMetrics, "podnet": PodnetTestMetrics, "day2": Day2TestMetrics, "perf": PerfTestMetrics,
}


def test_metrics(test: Mapping[str, Any]) -> TestMetrics:
    """A test entry's metrics, as its suite's record (the common record for an unknown suite)."""
    return TEST_METRICS.get(test.get("suite"), TestMetrics).from_dict(test.get("metrics"))


test_metrics.__test__ = False  # not a pytest test despite the name

__all__ = [
    "TEST_METRICS", "Addons", "AgentRestart", "Breakage", "ImagePulls", "ClusterFootprint", "ConfidenceInterval", "Cost", "CostWindow", "Datapath", "DatapathLoad",
    "Day2Metrics", "Day2TestMetrics", "DnsMetrics", "FigureMark", "GatewayMetrics", "GrowthCurve", "HostLoad", "InFlightRequest", "IngressMetrics",
    "LatencySummary", "LiveUpdate", "NodeRestart", "SameNodeRequests", "SourceRanges", "TerminatingFallback",
    "NetpolMetrics", "PerfHost", "PerfMetrics", "BackgroundWork", "PodnetMetrics", "RepetitionStop", "RouteFigures", "RunMetrics", "ServiceCount", "ServiceCountPoint",
    "Spread", "StartupWindow", "SuiteTime", "TestMetrics", "Timeline", "TimelinePhase", "UdpStaleness",
    "test_metrics",
]
