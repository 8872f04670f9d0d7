"""The DNS suite's figures: resolution latency (run level), and per test."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.metrics.common import LatencySummary, TestMetrics
from cnimatrix.results.typed import Record, fact


@dataclass(frozen=True)
class DnsMetrics(Record):
    """metrics.dns: resolution latency of one Service name, looked up from a client on every node."""

    name: str | None = fact("The name looked up (a fully qualified Service name).")
    lookups_per_node: int | None = fact("Lookups made from each node.", minimum=0)
    failures: int | None = fact("Lookups that got no answer.", minimum=0)
    failures_per_node: dict[str, int] | None = fact("Node -> lookups from it that got no answer.")
    latency_ms: LatencySummary | None = fact("Milliseconds per answered lookup, all nodes together; null when none was answered.",
                                             nullable=True)
    per_node: dict[str, LatencySummary | None] | None = fact("Node -> its own latency summary (null: no answer there).")


@dataclass(frozen=True)
class DnsTestMetrics(TestMetrics):
    """A DNS test's metrics."""

    pods_ready_s: dict[str, float] | None = fact("Scaling step -> seconds until its pods were ready (the cluster's work, not DNS's).")
    ips: dict[str, str] | None = fact("The ClusterIPs a deleted and recreated Service had: first, second.")
    p50_ms: float | None = fact("Median resolution latency (null: no lookup answered).", nullable=True)
    p99_ms: float | None = fact("99th percentile resolution latency (null: no lookup answered).", nullable=True)
