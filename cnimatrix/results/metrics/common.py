"""Shapes several suites share: a latency summary, a value with its spread over repetitions, and
what every test's metrics may carry."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnimatrix.results.typed import Record, fact, rest


@dataclass(frozen=True)
class LatencySummary(Record):
    """count/min/p50/p90/p99/max/mean of a set of measurements (cnimatrix.stats.latency_summary), in the unit its key names."""

    count: int | None = fact("How many measurements.", minimum=0)
    min: float | None = fact("The smallest.")
    p50: float | None = fact("The median.")
    p90: float | None = fact("The 90th percentile.")
    p99: float | None = fact("The 99th percentile.")
    max: float | None = fact("The largest.")
    mean: float | None = fact("The arithmetic mean.")


@dataclass(frozen=True)
class ConfidenceInterval(Record):
    """A 95% confidence interval of a figure over its repetitions (cnimatrix.perf.figures.interval: Student's t of the mean)."""

    low: float | None = fact("Lower end.")
    high: float | None = fact("Upper end.")
    relative_half_width: float | None = fact("Half the width over the figure's median (0.1: within +-10%); absent when the median is 0.",
                                             minimum=0)


@dataclass(frozen=True)
class FigureMark(Record):
    """Why a figure should not be ranked (cnimatrix.perf.plausibility)."""

    kind: str | None = fact("suspect (implausible as measured) or noisy (measured on an overloaded host).")
    reason: str | None = fact("What was seen, in one line.")


@dataclass(frozen=True)
class Spread(Record):
    """A figure over the repetitions (cnimatrix.perf.figures.spread): median, range, count, the values themselves, their interval and any plausibility marks."""

    median: float | None = fact("Median over the repetitions.")
    min: float | None = fact("Smallest repetition.")
    max: float | None = fact("Largest repetition.")
    n: int | None = fact("Repetitions that gave the figure.", minimum=0)
    values: list[float] | None = fact("Each repetition's value, in order.")
    ci95: ConfidenceInterval | None = fact("Its 95% interval; absent with fewer than two values and in summaries made before intervals.")
    marks: list[FigureMark] | None = fact("Plausibility marks; absent when the figure is plausible.")

    @property
    def complete(self) -> bool:
        """Median, min and max are all there (a spread the comparison can show)."""
        return None not in (self.median, self.min, self.max)


@dataclass(frozen=True)
class TestMetrics(Record):
    """A test's own measurements (tests[].metrics): what the plugin records for every test, and each suite's own keys; keys not declared here are kept as written."""

    __test__ = False  # not a pytest test class despite the name

    settle_s: dict[str, float] | None = fact("Time-to-effect figures: convergence name -> seconds until the expectation held.")
    host_load_1m: float | None = fact("The host's 1-minute load average when the test failed.", minimum=0)
    extra: dict[str, Any] | None = rest("A suite's further per-test detail, not declared (yet).")
