"""The NetworkPolicy suite's figures: time-to-effect of policy changes (one matrix round, and the
100 ms watch of live updates), established connections and node traffic; run level and per test."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnimatrix.results.metrics.common import LatencySummary, TestMetrics
from cnimatrix.results.typed import Record, fact


@dataclass(frozen=True)
class LiveUpdate(Record):
    """metrics.netpol.live_update: over the live-update steps, the times the 100 ms watch saw (cnimatrix.netpol.timing.summary)."""

    steps: int | None = fact("Live-update steps watched.", minimum=0)
    resolution_ms: LatencySummary | None = fact("Spacing of the watch's probes in ms (p50, p99, max); null without probes.",
                                                nullable=True)
    first_flip_s: LatencySummary | None = fact("Seconds until the first watched pair took its new verdict for good.")
    all_flipped_s: LatencySummary | None = fact("Seconds until every watched pair had.")
    matrix_converged_s: LatencySummary | None = fact("Seconds until the whole matrix converged (one round's resolution).")
    unmeasured: list[str] | None = fact("Why a step gave no time, one note per such step.")


@dataclass(frozen=True)
class LiveStep(Record):
    """One live-update step of a policy case as the 100 ms watch saw it (cnimatrix.netpol.timing.step_figures)."""

    watched: int | None = fact("Pairs watched across the change.", minimum=0)
    matrix_converged_s: float | None = fact("Seconds until the whole matrix converged; null when it did not.", nullable=True)
    first_flip_s: float | None = fact("Seconds until the first watched pair flipped for good; null when unmeasured.", nullable=True)
    all_flipped_s: float | None = fact("Seconds until every watched pair had; null when unmeasured.", nullable=True)
    flaps: int | None = fact("Times a watched pair went back to its old verdict.", minimum=0)
    early: int | None = fact("Probes before the change that already showed the new verdict.", minimum=0)
    note: str | None = fact("Why a time is missing.")


@dataclass(frozen=True)
class EstablishedConnection(Record):
    """What a deny did to a connection opened before it (cnimatrix.probe.timeline.connection_fate)."""

    client: str | None = fact("The client pod (namespace/name).")
    server: str | None = fact("The server pod (namespace/name).")
    same_node: bool | None = fact("Client and server ran on the same node.")
    behaviour: str | None = fact("kept, cut, broken-before (failed before any policy), inconclusive, or what a CNI without enforcement shows.")
    how: str | None = fact("For cut: stalled, reset, closed or bad.", nullable=True)
    cut_after_s: float | None = fact("Seconds from the change to the first failed exchange.", nullable=True)
    kept_for_s: float | None = fact("Seconds the connection kept answering after new connections were denied.", nullable=True)
    exchanges_after_change: int | None = fact("Answered exchanges sent after the change.", minimum=0)
    new_connections_denied_after_s: float | None = fact("Seconds until new connections were denied.", nullable=True)
    watch_error: str | None = fact("Why the 100 ms watch of new connections failed.", nullable=True)


@dataclass(frozen=True)
class NetpolMetrics(Record):
    """metrics.netpol: the NetworkPolicy suite's run-level figures."""

    matrix_connected_s: float | None = fact("Seconds until every pod reached every other before any policy (the slowest set).",
                                            nullable=True, minimum=0)
    namespace_sets: int | None = fact("Copies of the x, y, z matrix; that many policy cases ran at once (--concurrency).",
                                      minimum=1)
    time_to_effect_s: LatencySummary | None = fact("Seconds from a policy change until the matrix converged, over every change (one probe round, ~2 s, of resolution).")
    live_update: LiveUpdate | None = fact("The 100 ms watch of the pairs live changes flip.")
    established_connection: dict[str, EstablishedConnection] | None = fact("Scenario -> what the deny did to its open connection.")
    node_traffic: dict[str, dict[str, str]] | None = fact("Scenario -> probe label -> what was observed (node traffic under policies).")


@dataclass(frozen=True)
class MatrixState(Record):
    """One state of a policy case: whether the reachability matrix converged to the expectation."""

    state: str | None = fact("The state's title.")
    converged: bool | None = fact("The observed matrix matched the expected one.")
    attempts: int | None = fact("Probe rounds made.", minimum=0)
    tables: list[dict[str, Any]] | None = fact("Per target: expected, observed and difference matrices (cnimatrix.netpol.matrix.to_json).")


@dataclass(frozen=True)
class NodeTrafficProbe(Record):
    """One probe of a node-traffic scenario."""

    expect: str | None = fact("allowed, denied, or recorded (reported, not judged).")
    observed: str | None = fact("What the stable rounds saw.")
    why: str | None = fact("Why that is expected.")


@dataclass(frozen=True)
class NodeTraffic(Record):
    """A node-traffic scenario: traffic between pods and their own or another node under policies."""

    own_node: str | None = fact("The node of the pods under policy.")
    other_node: str | None = fact("Another node.")
    probes: dict[str, NodeTrafficProbe] | None = fact("Probe label -> expectation and observation.")


@dataclass(frozen=True)
class NetpolTestMetrics(TestMetrics):
    """A NetworkPolicy test's metrics."""

    category: str | None = fact("The policy case's category.")
    features: list[str] | None = fact("The policy features the case exercises.")
    targets: list[str] | None = fact("Port/protocol targets probed.")
    tier: str | None = fact("A cluster-wide case's tiers: admin, baseline or admin+baseline.")
    namespace_set: int | None = fact("The namespace set the case ran on (0: the first), beside cases on the others.", minimum=0)
    ran_s: float | None = fact("Seconds the case took on its set; the test's own duration is what it waited for it.",
                               minimum=0)
    live_update: dict[str, LiveStep] | None = fact("State -> the 100 ms watch of the change into it.")
    matrices: list[MatrixState] | None = fact("Each state of the case, in order.")
    time_to_effect_s: dict[str, float | None] | None = fact("State -> seconds until its matrix converged; null when it did not.")
    established_connection: EstablishedConnection | None = fact("What the deny did to the open connection.")
    node_traffic: NodeTraffic | None = fact("The node-traffic scenario's probes.")
