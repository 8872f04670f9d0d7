"""Isolation from a pod's first packet (issue 28, item 1). With deny-all policies already in force
(shown on the pods they already guard), a new pod they select is probed from its first instant:
by its own init container (egress) and by a prober aimed at its IP from when the API shows it
(ingress). Any answered probe is a denied packet that passed. A label change that brings a
running pod under the deny is timed instead: it may take a moment, it must end denied.
The figures go to metrics.day2; cnimatrix.day2.startup holds the judgements."""
from __future__ import annotations

import time

import pytest
from day2_checks import Isolation, paths, token, watching

from cnimatrix.day2 import startup
from cnimatrix.probe import timeline
from cnimatrix.probe.timeline import WatchTarget
from cnimatrix.testkit.expect import expect
from cnimatrix.testkit.run import run_metrics
from cnimatrix.testkit.timeouts import deadline

pytestmark = [pytest.mark.suite("day2"), pytest.mark.requires("networkpolicy")]

INTERVAL_S, PROBE_TIMEOUT_S = 0.1, 0.5   # the watch's pace; a timeout under 1 s (see timeline.watch)
HOLD = 30                                # denied probes in a row that end a watch: 3 s after any leak
STARTUP_DEADLINE_S = 10.0                # a whole startup watch, leaks included
BEFORE_CHANGE_S = 1.0                    # answered probes before a label change, to show it was reachable


def guarded(env: Isolation, executor, ip: str, what: str):
    """Observe: the guarded pod's paths (denied) and the server's (answered) from `executor`."""
    def observe():
        tcp, udp = env.reach(executor, ip)
        open_tcp, open_udp = env.reach(env.prober(), env.server_ip)
        return [*tcp, *udp], [*open_tcp, *open_udp]

    def judge(seen) -> tuple[bool, str]:
        denied, open_ = seen
        leaks = [f"{r.target} {r.outcome.value}" for r in denied if r.ok]
        shut = [f"{r.target} {r.outcome.value}" for r in open_ if not r.ok]
        if shut:
            return False, f"the open server did not answer the prober ({', '.join(shut)}): nothing proven"
        return not leaks, f"{what}: " + (f"answered: {', '.join(leaks)}" if leaks else "denied, the open server answered")
    return observe, judge


def verdict(request, record, direction: str, isolated: list, open_: list, what: str, twin_what: str,
            lag_s: float | None = None) -> None:
    """Record the new pod's window (samples of its denied paths) and its open twin's, then judge:
    first that the twin was answered (else the silence proves nothing), then that nothing passed."""
    seen, twin = startup.window(isolated), startup.window(open_)
    figures = {**seen.to_dict(), **({"lag_s": lag_s} if lag_s is not None else {})}
    record.metrics.update(startup=figures, open_twin=twin.to_dict())
    run_metrics(request, "day2").setdefault("startup_isolation", {})[direction] = figures
    for judge, window in ((startup.open_path_answers(twin_what), twin), (startup.isolated_from_start(what), seen)):
        ok, reason = judge(window)
        assert ok, reason


@pytest.mark.title("startup isolation, ingress: a new pod under a deny-all ingress policy answers no probe from when its IP shows")
def test_new_pod_ingress_isolated(isolation, record, request):
    env = isolation
    observe, judge = guarded(env, env.prober(), env.guarded_in_ip, "ingress to the pod already guarded")
    expect(record, "deny in place", observe, judge, timeout="policy", stable=2)
    name = f"new-in-{token()}"
    try:
        env.new_pod(name, "{isolate: ingress}")
        ip, seen_at = env.pod_ip_when_shown(name, deadline("slow"))
        open_path = WatchTarget(f"{env.server_ip}:8080/hostname", "TCP", True)
        watched = timeline.watch_asked(env.prober(), [*paths(ip), open_path], interval_s=INTERVAL_S,
                                       timeout_s=PROBE_TIMEOUT_S, hold=HOLD, deadline_s=STARTUP_DEADLINE_S)
    finally:
        env.delete_pods(name)
    isolated = watched.samples[0] + watched.samples[1]
    first = min((s.sent for s in isolated), default=None)   # how long after the IP showed probing began
    verdict(request, record, "ingress", isolated, watched.samples[2], f"ingress to the new pod {ip}",
            "the prober to the open server", lag_s=round(first - seen_at, 3) if first is not None else None)


@pytest.mark.title("startup isolation, egress: a new pod under a deny-all egress policy gets no answer from its init container's first packet on")
def test_new_pod_egress_isolated(isolation, record, request):
    env = isolation
    observe, judge = guarded(env, env.ns.executor("guarded-out"), env.server_ip, "egress from the pod already guarded")
    expect(record, "deny in place", observe, judge, timeout="policy", stable=2)
    batch = token()
    isolated, twin_pod = f"new-out-{batch}", f"new-open-{batch}"
    watch = dict(interval_s=INTERVAL_S, timeout_s=PROBE_TIMEOUT_S, deadline_s=STARTUP_DEADLINE_S)
    try:   # the twin: the same first packets from a pod no policy selects, which must be answered
        env.new_pod(isolated, f"{{isolate: egress, batch: '{batch}'}}", timeline.watch_script(paths(env.server_ip), hold=HOLD, **watch))
        env.new_pod(twin_pod, f"{{isolate: none, batch: '{batch}'}}", timeline.watch_script(
            [WatchTarget(t.address, t.protocol, True) for t in paths(env.server_ip)], hold=10, **watch))
        env.ns.wait_pods_ready(f"batch={batch}", 2, timeout_s=deadline("slow"))
        attempts, open_attempts = env.init_attempts(isolated, 2), env.init_attempts(twin_pod, 2)
    finally:
        env.delete_pods(isolated, twin_pod)
    verdict(request, record, "egress", attempts.samples[0] + attempts.samples[1], open_attempts.samples[0] + open_attempts.samples[1],
            f"egress from the new pod to {env.server_ip}", "the unisolated twin's init container to the server")


@pytest.mark.title("label change: a running pod relabelled under a deny-all ingress policy is denied within the policy deadline")
def test_label_change_isolates_running_pod(isolation, record, request):
    env = isolation
    batch = token()
    name = f"late-{batch}"
    try:
        env.new_pod(name, f"{{isolate: none, batch: '{batch}'}}")
        ip = env.ns.wait_pods_ready(f"batch={batch}", 1, timeout_s=deadline("slow"))[0].ip
        # Under a declared gap (no enforcement) the deny never holds: watch long enough to see that, no longer.
        with watching(env.prober(side=True), paths(ip), interval_s=INTERVAL_S, timeout_s=PROBE_TIMEOUT_S,
                      hold=HOLD, deadline_s=deadline("declared" if record.under_gap else "policy")) as box:
            time.sleep(BEFORE_CHANGE_S)
            changed_at = time.time()   # before the patch: the policy agent may see it before the API call returns
            env.label(name, {"isolate": "ingress"})
    finally:
        env.delete_pods(name)
    watched = box.get("watch")
    flips = [timeline.flip(samples, False, changed_at, HOLD) for samples in watched.samples] if watched else []
    seconds, reason = startup.time_to_deny(flips)
    record.metrics["time_to_deny_s"] = seconds
    run_metrics(request, "day2")["label_time_to_deny_s"] = seconds
    assert seconds is not None, f"ingress to {name} ({ip}) after its label change: {reason}"
