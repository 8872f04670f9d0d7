"""How the time to catch up grows with the cluster: a new Service over N ready backends, one more
NetworkPolicy with N in place, a pod in a new namespace with N namespaces of workloads.

Run in this order: policies (API objects only), namespaces (a pod each), backends last, so no
curve's set-up is slowed by another's pods going away. Each step puts N in place (not timed as the measure; its set-up time is kept beside it), then
makes one change and times the first correct answer: a waiter in a client pod starts before the
change and tries a new connection every 20 ms (cnimatrix/perf/growth.py). The curves go to
metrics.perf.growth. A test fails only when a step could not be measured, and says why.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from kubernetes import client

from cnimatrix.perf.growth import CURVES_BY_ID, Point, curve_record, seconds_between, steps_for
from cnimatrix.probe.converge import Convergence, converge
from cnimatrix.probe.outcomes import parse_first_answer
from cnimatrix.probe.probes import many
from cnimatrix.probe.programs import FIRST_ANSWER_SCRIPT
from cnimatrix.testkit import declared
from cnimatrix.testkit.timeouts import deadline
from fixtures.workloads import pod_ready, render
from growth_checks import WAIT_ANSWER_S, free_service_ip, service_cidr, time_change

pytestmark = [pytest.mark.suite("perf"), pytest.mark.alone]   # measurements: nothing else runs meanwhile



def record_curve(perf, record, curve_id: str, points: list[Point], **extra) -> dict:
    curve = CURVES_BY_ID[curve_id]
    doc = curve_record(curve, points, **extra)
    perf.metrics.setdefault("growth", {})[curve_id] = doc
    record.metrics.update(doc)
    record.attempts += len(points)
    return doc


def unmeasured(points: list[Point]) -> list[str]:
    return [f"N={p.n}: {p.problem}" for p in points if p.seconds is None]


# --- (b) one more NetworkPolicy with N in place ----------------------------------------------------

def policy_body(name: str, peer: str) -> dict:
    return yaml.safe_load(render("perf/policy", name=name, peer=peer))


def reach_target(perf, pod: str, target_ip: str, change, deadline_s: float = WAIT_ANSWER_S):
    """`time_change` from `pod` to policy-target's server."""
    return time_change(perf.ns.executor(pod), target_ip, 8080, ["policy-target"], change, deadline_s)


def wait_denied(perf, target_ip: str, enforced: bool) -> Convergence:
    """policy-probe denied, twice in a row. A CNI that declares no enforcement gets a glance (it is
    reported, not waited for). Not recorded: this readies a step, the curve is what is measured."""
    def observe() -> tuple[bool, str]:
        tcp, _ = many(perf.ns.executor("policy-probe"), [f"{target_ip}:8080/hostname"] * 2, [], timeout_s=1.5)
        answered = [r for r in tcp if r.ok]
        return not answered, f"{len(answered)} of {len(tcp)} probes answered"
    return converge(observe, lambda seen: seen, deadline_s=deadline("steady" if enforced else "glance"), stable=2,
                    interval_s=0.5)


def time_policy_step(perf, create, point: Point, fillers: int, target_ip: str, enforced: bool, started: float) -> bool:
    """With the step's fillers made: the canary, then one more policy, timed. False ends the curve (the
    point's problem says why; none when a CNI that declares no enforcement let the probe through)."""
    # The probe must be denied before the canary is timed (then the canary's first answer says the
    # whole batch is in force), and again before the measured policy lands.
    conv = wait_denied(perf, target_ip, enforced)
    if conv.ok or not fillers:
        in_force_s, canary = reach_target(perf, "policy-canary", target_ip, lambda: create("canary", "policy-canary"))
        point.detail = {"canary_in_force_s": in_force_s if fillers else None}
        if in_force_s is None:
            point.problem = f"the canary policy (the {point.n}th) never admitted its client: {canary}"
            return False
        conv = wait_denied(perf, target_ip, enforced)
    point.setup_s = round(time.monotonic() - started, 1)
    if not conv.ok:
        if enforced:   # else reported as declared
            point.problem = f"policy-probe still reaches the target with {point.n} policies that admit only others ({conv.reason})"
        return False
    point.seconds, got = reach_target(perf, "policy-probe", target_ip, lambda: create("allow-probe", "policy-probe"))
    point.detail["tries"] = got.tries if got else None
    if point.seconds is None:
        point.problem = f"the policy admitting policy-probe never took effect ({got.source if got else 'waiter broke'})"
    return True


@pytest.mark.title("One more NetworkPolicy takes effect, timed at each step of policies already selecting the pod (10, 100, 300)")
def test_growth_network_policies(perf, cni, record, request):
    net = client.NetworkingV1Api(perf.cluster.api())
    ready = perf.ns.wait_pods_ready("app=perf-policy", 3, timeout_s=180)
    target_ip = next(p.ip for p in ready if p.name == "policy-target")
    # Before any policy the probe must get through, or nothing after can be timed.
    seconds, got = reach_target(perf, "policy-probe", target_ip, lambda: None, deadline_s=deadline("steady"))
    assert seconds is not None, f"policy-probe cannot reach policy-target ({target_ip}:8080) with no policy in place: {got}"
    enforced = cni.capability("networkpolicy").status == "enforced"
    points, fillers = [], 0

    def create(name: str, peer: str):
        net.create_namespaced_network_policy(perf.ns.name, policy_body(name, peer))

    try:
        for n in steps_for(CURVES_BY_ID["network_policies"]):
            point = Point(n)
            points.append(point)
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=4) as pool:   # n in place: n - 1 fillers and the canary
                list(pool.map(lambda i: create(f"filler-{i}", f"nobody-{i}"), range(fillers, n - 1)))
            fillers = max(fillers, n - 1)
            if not time_policy_step(perf, create, point, fillers, target_ip, enforced, started):
                break
            for name in ("allow-probe", "canary"):
                net.delete_namespaced_network_policy(name, perf.ns.name)
    finally:
        net.delete_collection_namespaced_network_policy(perf.ns.name)
    if not enforced and points and points[-1].seconds is None and not points[-1].problem:
        status = cni.capability("networkpolicy")
        record_curve(perf, record, "network_policies", [], declared=status.status)
        declared.observed(request, record, declared.gap("networkpolicy", status.status, status.evidence),
                          f"policy-probe reached the target through {points[-1].n} policies that admit only others; "
                          "nothing to time", not_enforced=True)
    record_curve(perf, record, "network_policies", points)
    bad = unmeasured(points)
    assert not bad, "time for one more NetworkPolicy to take effect not measured: " + "; ".join(bad)


# --- (c) a pod in a new namespace, with N namespaces of workloads ---------------------------------

def fill_namespace(perf, make_namespace, name: str, script: str, peer: str = "") -> tuple[object, int]:
    """A new namespace with its workload; returns it and when its pod was asked for (ns clock)."""
    ns = make_namespace("perf-ns")
    ns.wait_default_service_account()
    stamp = time.time_ns()
    perf.create("perf/namespace-pod", namespace=ns.name, name=name, role=name, script=json.dumps(script), peer=peer)
    return ns, stamp


def ready_namespace_pods(perf) -> int:
    pods = client.CoreV1Api(perf.cluster.api()).list_pod_for_all_namespaces(label_selector="app=perf-namespace").items
    return sum(1 for p in pods if pod_ready(p))


def first_answer(perf, ns, pod: str, timeout_s: float):
    core = client.CoreV1Api(perf.cluster.api())
    until = time.monotonic() + timeout_s
    while time.monotonic() < until:
        try:
            found = parse_first_answer(core.read_namespaced_pod_log(pod, ns.name, container="main") or "")
        except client.ApiException:
            found = None
        if found:
            return found
        time.sleep(0.5)
    return None


@pytest.mark.title("A pod in a new namespace gets its first answer across nodes, timed at each step of namespaces of workloads (1, 10, 30)")
def test_growth_namespaces(perf, make_namespace, record):
    peer = perf.pod_ip("server-b")
    points, in_place = [], 0     # namespaces of workloads so far (each step's newcomer stays and counts)
    serve = "exec /agnhost netexec --http-port=8080"
    for n in steps_for(CURVES_BY_ID["namespaces"]):
        point = Point(n)
        points.append(point)
        started = time.monotonic()
        def fill(_) -> str:
            try:
                fill_namespace(perf, make_namespace, "fill", serve)
                return ""
            except (client.ApiException, ValueError) as exc:   # said as the step's problem
                return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"

        with ThreadPoolExecutor(max_workers=4) as pool:
            errors = [e for e in pool.map(fill, range(in_place, n)) if e]
        in_place = max(in_place, n)
        if errors:
            point.problem = f"{len(errors)} namespace workload(s) could not be created: {errors[0]}"
            break
        until = time.monotonic() + 120 + 2 * n
        while ready_namespace_pods(perf) < in_place and time.monotonic() < until:
            time.sleep(2)
        point.setup_s = round(time.monotonic() - started, 1)
        if ready_namespace_pods(perf) < in_place:
            point.problem = f"only {ready_namespace_pods(perf)} of {in_place} namespace workloads ready after {point.setup_s:.0f} s"
            break
        ns, stamp = fill_namespace(perf, make_namespace, "newcomer", FIRST_ANSWER_SCRIPT, peer)
        in_place += 1
        got = first_answer(perf, ns, "newcomer", WAIT_ANSWER_S)
        if got is None:
            point.problem = f"the new namespace's pod printed no first answer from {peer} within {WAIT_ANSWER_S} s"
            break
        point.seconds = seconds_between(stamp, got.answered_ns)
        point.detail = {"created_to_start_s": seconds_between(stamp, got.start_ns),
                        "start_to_answer_s": seconds_between(got.start_ns, got.answered_ns), "unanswered_pings": got.tries}
    record_curve(perf, record, "namespaces", points, peer="the pod server on the second worker (ICMP echo)")
    bad = unmeasured(points)
    assert not bad, "time to a new namespace's first answer not measured: " + "; ".join(bad)


# --- (a) a new Service over N ready backends ------------------------------------------------------

def wait_backends(perf, n: int, timeout_s: float) -> list[str]:
    until = time.monotonic() + timeout_s
    ready = []
    while time.monotonic() < until:
        ready = [p.name for p in perf.ns.pods("app=perf-backend") if p.ready]
        if len(ready) == n:
            return ready
        time.sleep(2)
    return ready


@pytest.mark.title("A new Service answers through its ClusterIP, timed at each step of ready backends behind it (10, 30, 60)")
def test_growth_service_backends(perf, record):
    core = client.CoreV1Api(perf.cluster.api())
    cidr = service_cidr(core)
    executor = perf.ns.executor("client-a")
    points, index = [], 0
    try:
        for n in steps_for(CURVES_BY_ID["service_backends"]):
            point = Point(n)
            points.append(point)
            started = time.monotonic()
            perf.ns.scale("backends", n)
            names = wait_backends(perf, n, timeout_s=120 + 2 * n)
            point.setup_s = round(time.monotonic() - started, 1)
            if len(names) != n:
                point.problem = f"only {len(names)} of {n} backends ready after {point.setup_s:.0f} s"
                break
            ip, index = free_service_ip(core, cidr, index)
            body = yaml.safe_load(render("perf/growth-service", name=f"growth-{n}", cluster_ip=ip))
            point.seconds, got = time_change(executor, ip, 80, names,
                                             lambda: core.create_namespaced_service(perf.ns.name, body))
            point.detail = {"cluster_ip": ip, "tries": got.tries if got else None, "answered_by": got.source if got else None}
            if point.seconds is None:
                point.problem = f"no answer through {ip}:80 within {WAIT_ANSWER_S} s ({got.source if got else 'waiter broke'})"
            core.delete_namespaced_service(f"growth-{n}", perf.ns.name)
            index += 1
    finally:
        perf.ns.scale("backends", 0)
    record_curve(perf, record, "service_backends", points, service_cidr=cidr)
    bad = unmeasured(points)
    assert not bad, "time to a new Service's first answer not measured: " + "; ".join(bad)
