"""Service churn over UDP (issue 28, item 3, first part). One client socket sends to a Service
every 100 ms from the same source port, so its datagrams follow one conntrack entry; then the
Service's backends change. Each case reports how long until only live backends answered (the
staleness) and fails beyond the bound, with the translating node's conntrack entries as evidence.
Each change runs two ways (churn_checks.UdpVia): from a client pod to the ClusterIP, and from the
outside client to a NodePort on the node without the backends (cases named nodeport-<change>).
cnimatrix.day2.churn holds the judgement; the figures go to metrics.day2.udp_staleness."""
from __future__ import annotations

import time

import pytest
from churn_checks import UdpPath, UdpVia
from day2_checks import token, wait_for

from cnimatrix.day2 import churn
from cnimatrix.probe.udp_stream import Stream
from cnimatrix.testkit.run import run_metrics
from cnimatrix.testkit.timeouts import deadline

pytestmark = [pytest.mark.suite("day2"), pytest.mark.requires("udp_services")]

BASELINE = 10          # datagrams answered before the change: the Service works and one backend holds the entry
STREAM_MAX_S = 180     # a stream's own limit: a case that hangs must not leave it running
STREAM_INTERVAL_S = 0.1  # run_stream's default: one datagram every 100 ms


def answered(box: Stream) -> int:
    return sum(1 for d in box.datagrams if d.answered)


def current_backend(box: Stream) -> str:
    return next(d.reply for d in reversed(box.datagrams) if d.answered)


def judge_case(request, record, via: UdpVia, case: str, box: Stream, live: set[str], changed_at: float, path: UdpPath,
               watched_s: float) -> None:
    seen = churn.staleness(list(box.datagrams), live, changed_at)
    figures = {**seen.to_dict(), "bound_s": churn.STALENESS_BOUND_S}
    record.metrics["staleness"] = figures
    run_metrics(request, "day2").setdefault("udp_staleness", {})[case] = figures
    ok, reason = churn.reaches_live_within(churn.STALENESS_BOUND_S, f"{case} ({path.what}, client port {box.source_port})")(seen)
    if not ok:
        record.metrics["conntrack"] = via.conntrack(path)
        reason += f"; conntrack on {path.node}: " + " | ".join(record.metrics["conntrack"][:3])
        starved = churn.starved(list(box.datagrams), changed_at, watched_s, STREAM_INTERVAL_S)
        reason = f"{starved}; {reason}" if starved else reason
    assert ok, reason


def churn_case(request, record, via: UdpVia, change_name: str, path: UdpPath, change) -> None:
    """Stream to the Service along `path`; once it answered BASELINE datagrams, `change(backend answering)`
    returns (live backends, epoch seconds the change is judged from); then wait until only live
    backends answer and stay so (churn.HOLD in a row) or the bound passes, and judge."""
    started, case = time.monotonic(), via.case(change_name)
    with via.streaming(path, STREAM_MAX_S) as box:
        if not wait_for(lambda: answered(box) >= BASELINE, deadline("steady")):
            pytest.fail(f"the UDP Service ({path.what}) answered {answered(box)}/{len(box.datagrams)} datagrams before any "
                        f"change{': ' + box.socket_note() if box.socket_note() else ''}", pytrace=False)
        record.metrics["connect_failures"] = box.connect_failures
        live, changed_at = change(current_backend(box))
        wait_for(lambda: churn.settled(list(box.datagrams), live, changed_at),
                 max(0.0, changed_at + churn.STALENESS_BOUND_S + 2 - time.time()))
        watched_s = time.time() - changed_at
    record.waited(time.monotonic() - started, len(box.datagrams))
    judge_case(request, record, via, case, box, live, changed_at, path, watched_s)


def backend_deleted(request, record, via: UdpVia) -> None:
    env, group = via.env, f"del-{token()}"
    backends = [f"{group}-a", f"{group}-b"]
    for name in backends:
        env.backend(name, group)
    path = via.create(group, group)
    env.wait_ready(*backends)

    def change(talking_to: str):
        changed_at = time.time()
        env.delete_pod(talking_to)
        return set(backends) - {talking_to}, changed_at

    churn_case(request, record, via, "backend-deleted", path, change)


def endpoint_replaced(request, record, via: UdpVia) -> None:
    env, group = via.env, f"rep-{token()}"
    old, new = f"{group}-old", f"{group}-new"
    env.backend(old, group)
    path = via.create(group, group)
    env.wait_ready(old)

    def change(talking_to: str):   # judged from when the replacement is Ready: before that the Service has no endpoint
        deleted_at = time.time()
        env.delete_pod(old)
        env.backend(new, group)
        ready_at = env.wait_ready(new, timeout_s=deadline("slow"))
        record.metrics["replacement_ready_after_s"] = round(ready_at - deleted_at, 3)
        return {new}, ready_at

    churn_case(request, record, via, "endpoint-replaced", path, change)


def service_recreated(request, record, via: UdpVia) -> None:
    env, group = via.env, f"rec-{token()}"
    old, new = f"{group}-a", f"{group}-b"
    env.backend(old, f"{group}-a")
    env.backend(new, f"{group}-b")
    path = via.create(group, f"{group}-a")
    env.wait_ready(old, new)

    def change(talking_to: str):   # the old backend stays up: a stale entry shows as its answers
        env.delete_service(group)
        recreated_at, refused = via.recreate(group, f"{group}-b", like=path)
        record.metrics["recreate_refusals"] = refused
        return {new}, recreated_at

    churn_case(request, record, via, "service-recreated", path, change)


@pytest.mark.title("UDP churn: a client keeps reaching a live backend after the one it was talking to is deleted")
def test_udp_backend_deleted(udp_churn, record, request):
    backend_deleted(request, record, UdpVia(udp_churn))


@pytest.mark.title("UDP churn: a client reaches the new backend after the Service's only endpoint is replaced")
def test_udp_endpoint_replaced(udp_churn, record, request):
    endpoint_replaced(request, record, UdpVia(udp_churn))


@pytest.mark.title("UDP churn: a client reaches the new backend after its Service is deleted and recreated at the same ClusterIP")
def test_udp_service_recreated(udp_churn, record, request):
    service_recreated(request, record, UdpVia(udp_churn))


@pytest.mark.title("UDP churn via a NodePort from outside: an outside client keeps reaching a live backend after the one it was talking to is deleted")
def test_udp_nodeport_backend_deleted(udp_nodeport: UdpVia, record, request):
    backend_deleted(request, record, udp_nodeport)


@pytest.mark.title("UDP churn via a NodePort from outside: an outside client reaches the new backend after the Service's only endpoint is replaced")
def test_udp_nodeport_endpoint_replaced(udp_nodeport: UdpVia, record, request):
    endpoint_replaced(request, record, udp_nodeport)


@pytest.mark.title("UDP churn via a NodePort from outside: an outside client reaches the new backend after its Service is deleted and recreated with the same nodePort")
def test_udp_nodeport_service_recreated(udp_nodeport: UdpVia, record, request):
    service_recreated(request, record, udp_nodeport)
