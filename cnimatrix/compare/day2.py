"""The day-2 table of the comparison: per CNI, the startup isolation windows, the time a label
change took to isolate a running pod, the UDP staleness after each Service change, what an
agent restart and a node restart did to traffic to that node, graceful termination, PreferSameNode and
loadBalancerSourceRanges (each summary's metrics.day2). One row per figure, one column per CNI; a
column whose run has no such figure shows a dash, never a zero."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnimatrix.results.metrics import (AgentRestart, Day2Metrics, InFlightRequest, NodeRestart, SameNodeRequests, SourceRanges,
                                       StartupWindow, TerminatingFallback, UdpStaleness)
from cnimatrix.results.metrics.day2 import RestartConnection

DIRECTIONS = ("ingress", "egress")
CHANGES = ("backend-deleted", "endpoint-replaced", "service-recreated")
UDP_CASES = CHANGES + tuple(f"nodeport-{c}" for c in CHANGES)   # a client pod to a ClusterIP, then outside to a NodePort
MISSING = "—"


def startup_text(window: StartupWindow | None) -> str:
    """'isolated (0/52)' or '0.42 s window (7/52 admitted)'."""
    if window is None or window.attempts is None:
        return MISSING
    if not window.admitted:
        return f"isolated (0/{window.attempts})"
    return f"{window.window_s or 0:.2f} s window ({window.admitted}/{window.attempts} admitted)"


def staleness_text(seen: UdpStaleness | None) -> str:
    """'0.31 s' or 'never (bound 10 s, 95 stale)'."""
    if seen is None:
        return MISSING
    if seen.settled_s is None:
        return f"never (bound {seen.bound_s or 0:g} s, {seen.stale or 0} stale, {seen.silent or 0} unanswered)"
    return f"{seen.settled_s:.2f} s" + (f" ({seen.stale} stale)" if seen.stale else "")


def held_text(held: RestartConnection | None) -> str:
    """'survived, 0.30 s gap' or 'reset at 4.10 s'."""
    if held is None or held.fate is None:
        return MISSING
    if held.fate == "reset":
        return f"{held.how or 'reset'} at {held.ended_after_s or 0:.2f} s"
    return f"{held.fate}, {held.longest_gap_s or 0:.2f} s gap"


def restart_texts(seen: AgentRestart | None) -> tuple[str, str, str]:
    """(established connection, new connections, denied ingress) during the agent restart:
    'survived, 0.30 s gap' or 'reset at 4.10 s'; '1.20 s outage (12/300 failed)'; 'denied (0/300)'
    or '2.10 s fail-open (21/300 admitted)'."""
    seen = seen or AgentRestart()
    new, denied = seen.new_connections, seen.denied_ingress
    new_text = MISSING if new is None or new.outage_s is None else f"{new.outage_s:.2f} s outage ({new.failed}/{new.attempts} failed)"
    if denied is None or denied.attempts is None:
        denied_text = MISSING
    elif not denied.admitted:
        denied_text = f"denied (0/{denied.attempts})"
    else:
        denied_text = f"{denied.window_s or 0:.2f} s fail-open ({denied.admitted}/{denied.attempts} admitted)"
    return held_text(seen.connection), new_text, denied_text


def node_restart_texts(seen: NodeRestart | None) -> tuple[str, str, str, str]:
    """(established connection, the pod at its current address, new connections to the Service,
    denied ingress) across the node restart: 'reset at 1.20 s'; '41.30 s (node Ready 18.20 s, agent
    Ready 30.10 s, new IP)' or 'never (bound 180 s, no new address)'; 'answering from 43.10 s (420/600 failed)' or 'not
    recovered (bound 180 s, ...)'; 'denied (0/600 old IP, 0/200 new IP)' or 'fail-open (...)'."""
    seen = seen or NodeRestart()
    pod, svc, denied = seen.backend, seen.service, seen.denied_ingress
    if pod is None or pod.attempts is None:
        pod_text = MISSING
    elif pod.answered_again_s is None:
        pod_text = f"never (bound {pod.bound_s or 0:g} s{', no new address' if pod.new_ip is None else ''})"
    else:
        agent = f", agent Ready {_seconds(seen.agent_ready_after_s)}" if seen.agent_ready_after_s is not None else ""
        pod_text = (f"{pod.answered_again_s:.2f} s (node Ready {_seconds(seen.ready_after_s)}{agent}, "
                    f"{'new' if pod.ip_changed else 'same'} IP)")
    if svc is None or svc.attempts is None:
        svc_text = MISSING
    elif svc.recovered_after_s is None:
        svc_text = f"not recovered (bound {svc.bound_s or 0:g} s, {svc.failed}/{svc.attempts} failed)"
    else:
        svc_text = f"answering from {svc.recovered_after_s:.2f} s ({svc.failed}/{svc.attempts} failed)"
    if denied is None or denied.at_old is None or denied.at_old.attempts is None:
        denied_text = MISSING
    else:
        old, new = denied.at_old, denied.at_new
        at_new = "no new address" if new is None else f"{new.admitted or 0}/{new.attempts} {'new' if denied.ip_changed else 'same'} IP"
        admitted = (old.admitted or 0) + ((new.admitted or 0) if new else 0)
        denied_text = f"{'fail-open' if admitted else 'denied'} ({old.admitted or 0}/{old.attempts} old IP, {at_new})"
    return held_text(seen.connection), pod_text, svc_text, denied_text


def in_flight_text(seen: InFlightRequest | None) -> str:
    """'completed (8.31 s, 7.00 s after its delete)' or 'cut: timeout after 28.00 s'."""
    if seen is None or seen.outcome is None:
        return MISSING
    if seen.completed:
        return f"completed ({seen.request_s or 0:.2f} s, {seen.left_at_delete_s or 0:.2f} s after its delete)"
    return f"cut: {seen.outcome} after {seen.request_s or 0:.2f} s"


def fallback_text(seen: TerminatingFallback | None) -> str:
    """'answered 15/15 by it' or '0/15 answered (15 failed)'."""
    if seen is None or not seen.attempts:
        return MISSING
    if seen.by_terminating == seen.attempts:
        return f"answered {seen.attempts}/{seen.attempts} by it"
    return (f"{seen.by_terminating or 0}/{seen.attempts} answered by it"
            + "".join(f", {n} {what}" for n, what in ((seen.failed, "failed"), (seen.elsewhere, "forwarded")) if n))


def same_node_text(cells: dict[str, SameNodeRequests] | None) -> str:
    """'same node 42/42' or 'same node 23/42 (19 other node)', over every client node."""
    if not cells:
        return MISSING
    requests = sum(c.requests or 0 for c in cells.values())
    same, other, failed = (sum(getattr(c, k) or 0 for c in cells.values()) for k in ("same_node", "other_node", "failed"))
    extra = ", ".join(f"{n} {what}" for n, what in ((other, "other node"), (failed, "failed")) if n)
    return f"same node {same}/{requests}" + (f" ({extra})" if extra else "")


def source_ranges_text(seen: SourceRanges | None) -> str:
    """'listed 5/5, other 0/5' with what kept the other out, or 'other admitted 5/5'."""
    if seen is None or seen.other is None or seen.listed is None:
        return MISSING
    listed, other = seen.listed, seen.other
    if other.answered:
        return f"other admitted {other.answered}/{other.attempts} (listed {listed.answered}/{listed.attempts})"
    how = {(True, False): "refused", (False, True): "dropped"}.get((bool(other.refused), bool(other.timed_out)), "kept out")
    return f"listed {listed.answered}/{listed.attempts}, other {how} 0/{other.attempts}"


def rows(metrics: Sequence[Day2Metrics | None]) -> list[tuple[str, list[str]]]:
    """(figure, one text per column) for both renderings."""
    blocks = [m or Day2Metrics() for m in metrics]
    out = [(f"startup isolation, {d}", [startup_text((b.startup_isolation or {}).get(d)) for b in blocks]) for d in DIRECTIONS]
    out.append(("label change to deny", [_seconds(b.label_time_to_deny_s) for b in blocks]))
    out += [(f"UDP staleness, {c}", [staleness_text((b.udp_staleness or {}).get(c)) for b in blocks]) for c in UDP_CASES]
    restarts = [restart_texts(b.agent_restart) for b in blocks]
    out += [(f"agent restart, {what}", [texts[i] for texts in restarts])
            for i, what in enumerate(("established TCP", "new connections", "denied ingress"))]
    nodes = [node_restart_texts(b.node_restart) for b in blocks]
    out += [(f"node restart, {what}", [texts[i] for texts in nodes])
            for i, what in enumerate(("established TCP", "pod answers again", "Service outage", "denied ingress"))]
    out.append(("in-flight request, backend deleted", [in_flight_text(b.inflight_request) for b in blocks]))
    out.append(("eTP Local, only endpoint terminating", [fallback_text(b.terminating_fallback) for b in blocks]))
    out.append(("trafficDistribution PreferSameNode", [same_node_text(b.same_node) for b in blocks]))
    out.append(("loadBalancerSourceRanges", [source_ranges_text(b.source_ranges) for b in blocks]))
    return out


def _seconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f} s"


def section(columns: Sequence[str], metrics: Sequence[Day2Metrics | None]) -> list[dict[str, Any]] | None:
    """comparison.json `day2`: one row per figure with a text per column, or None when no column ran the suite."""
    if not any(m is not None for m in metrics):
        return None
    return [{"figure": figure, "cells": dict(zip(columns, texts))} for figure, texts in rows(metrics)]


NOTE = ("Startup isolation: probes on a new pod's denied path from its first instant (window: first probe to the last "
        "one answered). Label change: seconds until a relabelled running pod was denied. UDP staleness: seconds until "
        "one client socket was answered by live backends alone after the change (nodeport-: from the outside client to a "
        "NodePort on worker, the backends on worker2). Agent restart: the CNI agent pod on "
        "worker2 deleted; an established connection's fate and longest gap, new connections' longest outage, denied "
        "connections admitted meanwhile. Node restart: worker2's kind container restarted; the connection's fate, when "
        "its pod answered again at its current address (and whether its IP changed), when new connections to the "
        "ClusterIP answered again for good, denied connections admitted at the guarded pod's old or current address. "
        "In-flight request: a slow request whose backend was deleted (draining) while it worked. eTP Local: new connections through the node whose only endpoint was terminating, answered by it "
        "(KEP-1669). PreferSameNode: requests from each worker answered on its own node. loadBalancerSourceRanges: the "
        "listed outside client's and another's requests to the ranged address. From each summary's metrics.day2; — where "
        "a run has no figure, or the deny never held (the scenario's cell says which).")
