"""The Service suite's figures: when the Service rules were programmed (run level), and per test."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.metrics.common import TestMetrics
from cnimatrix.results.typed import fact

# metrics.service_programmed_s is a plain map (node -> seconds until the web Service answered a
# client there, null when it never did), declared on RunMetrics.


@dataclass(frozen=True)
class ServiceTestMetrics(TestMetrics):
    """A Service test's metrics."""

    requests_per_round: int | None = fact("Requests sent per observation round (the spread and coverage checks, all their cells together).", minimum=0)
