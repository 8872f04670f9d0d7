"""The Ingress and Gateway API suites' figures (both reach the cluster through the add-ons' front door)."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.metrics.common import TestMetrics
from cnimatrix.results.typed import Record, fact

_EFFECTS = "Change name -> seconds from making the change until every check held (cnimatrix.ingress.frontdoor)."


@dataclass(frozen=True)
class IngressMetrics(Record):
    """metrics.ingress: the Ingress suite's time-to-effect figures."""

    time_to_effect_s: dict[str, float] | None = fact(_EFFECTS)


@dataclass(frozen=True)
class GatewayMetrics(Record):
    """metrics.gateway: when the Gateway was programmed, and the suite's time-to-effect figures."""

    gateway_programmed_s: float | None = fact("Seconds until the controller accepted and programmed the Gateway.",
                                              nullable=True, minimum=0)
    time_to_effect_s: dict[str, float] | None = fact(_EFFECTS)


@dataclass(frozen=True)
class IngressTestMetrics(TestMetrics):
    """An Ingress test's metrics."""

    time_to_effect_s: dict[str, float] | None = fact(_EFFECTS)


@dataclass(frozen=True)
class GatewayTestMetrics(TestMetrics):
    """A Gateway API test's metrics."""

    time_to_effect_s: dict[str, float] | None = fact(_EFFECTS)
    split: dict[str, int] | None = fact("Backend Service -> requests it answered (the weighted split).")
