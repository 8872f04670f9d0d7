"""The day-2 suite's figures: isolation from a new pod's first packet, time for a label change to
isolate a running pod, and UDP staleness after Service churn (run level and per test)."""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.results.metrics.common import TestMetrics
from cnimatrix.results.typed import Record, fact


@dataclass(frozen=True)
class StartupWindow(Record):
    """Probes on a new pod's denied path from its first instant (cnimatrix.day2.startup.Window)."""

    attempts: int | None = fact("Probes sent on the denied path.", minimum=0)
    admitted: int | None = fact("Of those, answered: denied packets that got through.", minimum=0)
    refused: int | None = fact("Refused (a CNI's reject or a server not yet listening): not judged.", minimum=0)
    window_s: float | None = fact("Seconds from the first probe to the last admitted one (null: none admitted).",
                                  nullable=True, minimum=0)
    first_admitted_s: float | None = fact("Seconds from the first probe to the first admitted one.", nullable=True, minimum=0)
    watched_s: float | None = fact("Seconds from the first probe to the last.", minimum=0)
    lag_s: float | None = fact("Ingress: seconds from the API showing the pod's IP to the first probe.", nullable=True)


@dataclass(frozen=True)
class UdpStaleness(Record):
    """One UDP client socket around one Service change (cnimatrix.day2.churn.Staleness)."""

    settled_s: float | None = fact("Seconds from the change until live backends alone answered (null: never).", nullable=True)
    last_stale_s: float | None = fact("Seconds from the change to the last answer from a backend no longer behind the Service.",
                                      nullable=True)
    stale: int | None = fact("Datagrams answered by such a backend after the change.", minimum=0)
    silent: int | None = fact("Datagrams not answered after the change.", minimum=0)
    before: int | None = fact("Datagrams sent before the change.", minimum=0)
    answered_before: int | None = fact("Of those, answered.", minimum=0)
    old_backends: list[str] | None = fact("Who answered before the change.")
    bound_s: float | None = fact("The bound settled_s is judged against.")


@dataclass(frozen=True)
class Day2Metrics(Record):
    """metrics.day2: the day-2 suite's run-level figures."""

    startup_isolation: dict[str, StartupWindow] | None = fact("Direction (ingress, egress) -> the new pod's denied path.")
    label_time_to_deny_s: float | None = fact(
        "Seconds from the label patch that brought a running pod under a deny policy until every probe to it was denied (null: never).",
        nullable=True)
    udp_staleness: dict[str, UdpStaleness] | None = fact(
        "Change (backend-deleted, endpoint-replaced, service-recreated) -> what one UDP client socket saw.")


@dataclass(frozen=True)
class Day2TestMetrics(TestMetrics):
    """A day-2 test's metrics."""

    startup: StartupWindow | None = fact("The new pod's denied path.")
    open_twin: StartupWindow | None = fact("The same probes on a path no policy covers (the positive twin).")
    time_to_deny_s: float | None = fact("Seconds from the label patch until the deny held.", nullable=True)
    staleness: UdpStaleness | None = fact("What the UDP client saw around the change.")
    conntrack: list[str] | None = fact("The client node's conntrack entries for the ClusterIP when the check failed.")
