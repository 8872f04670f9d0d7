"""The Service-count curve: connection set-up through one ClusterIP while N other Services exist
(100, 1000, 5000; CNIMATRIX_PERF_SERVICES sets the steps), and how long the Nth takes to answer.

The others are selector-less Services, each with a hand-made EndpointSlice naming one real pod
(cnimatrix/perf/service_count.py), created through the API in a bounded pool in their own
namespace, deleted with it at the end. At each step: the fillers, the last one timed to its first
answer (the whole batch is then in force), the Nth timed the same way (the growth waiter), then
the crr loop a few times through the perf Service's ClusterIP and straight to its backend pod.
Also measured once before any is in place. Goes to metrics.perf.service_count and, the Nth's
times, metrics.perf.growth.service_count. A test fails only when a step could not be measured.
"""
from __future__ import annotations

import copy
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from kubernetes import client

from cnimatrix.perf.datapath import RR_PORT, MeasurementError, loop_command, parse_loop, stalled_line
from cnimatrix.perf.growth import steps_for
from cnimatrix.perf.service_count import (CURVE, POOL, CountPoint, address_type, connection_figures, count_record,
                                          filler_name, growth_record, named, plan, progress_due, progress_line, timed_name)
from fixtures.workloads import render
from growth_checks import free_service_ip, service_cidr, time_change

pytestmark = [pytest.mark.suite("perf"), pytest.mark.alone]   # measurements: nothing else runs meanwhile

PROGRAM_DEADLINE_S = 300   # a full iptables sync of 5000 Services takes seconds on a loaded host; a batch, more
CONNECTION_RUNS = 3        # crr runs per path and step: enough for an interval
TEARDOWN_S = 600           # bound on the namespace's deletion once its Services are gone


def say(line: str) -> None:
    print(line, file=sys.__stderr__, flush=True)   # past pytest's capture: the long steps show progress


def pooled_api(cluster) -> client.ApiClient:
    """An API client whose connection pool holds the creating pool's connections (the default holds
    5 per core and drops the rest after each call)."""
    config = copy.deepcopy(cluster.api().configuration)
    config.connection_pool_maxsize = POOL
    return client.ApiClient(config)


def pooled(one, names: list[str], what: str) -> list[str]:
    """one(name) for every name, POOL at a time, with progress lines; the non-empty answers (errors)."""
    errors, said, started = [], 0, time.monotonic()
    with ThreadPoolExecutor(max_workers=POOL) as pool:
        for done, error in enumerate(pool.map(one, names), 1):
            if error:
                errors.append(error)
            if progress_due(done, len(names), said):
                say(progress_line(what, done, len(names), time.monotonic() - started))
                said = done
    return errors


def create_fillers(api: client.ApiClient, namespace: str, template: list[dict], names: list[str]) -> list[str]:
    """Each name's EndpointSlice, then its Service, POOL at a time; the errors, one line each."""
    core, discovery = client.CoreV1Api(api), client.DiscoveryV1Api(api)

    def one(name: str) -> str:
        service, endpoints = named(template, name)
        try:
            discovery.create_namespaced_endpoint_slice(namespace, endpoints)
            core.create_namespaced_service(namespace, service)
            return ""
        except client.ApiException as exc:   # said as the step's problem
            return f"{name}: {exc.status} {exc.reason}"

    return pooled(one, names, "Services created")


def crr_run(executor, host: str, settings) -> tuple[object | None, str]:
    try:
        return parse_loop(executor.sh(loop_command("crr", host, RR_PORT, settings), settings.crr_budget_s + 30), "crr"), ""
    except MeasurementError as exc:
        return None, str(exc)
    except Exception as exc:  # the exec itself broke: the run is missing, say why
        return None, f"exec into {executor.name} failed: {type(exc).__name__}: {exc}"[:300]


def measure_connections(perf, point: CountPoint, service_ip: str, pod_ip: str) -> None:
    """The crr loop, alternating through the ClusterIP and straight to the pod, CONNECTION_RUNS each."""
    executor = perf.ns.executor("client-a")
    runs: dict[str, list] = {"service": [], "pod": []}
    problems = []
    for _ in range(CONNECTION_RUNS):
        for path, host in (("service", service_ip), ("pod", pod_ip)):
            run, problem = crr_run(executor, host, perf.settings)
            runs[path].append(run)
            if run is not None and run.stalls:
                problem = stalled_line("crr", run)
            if problem:
                problems.append(f"{path}: {problem}")
    point.service, point.pod = connection_figures(runs["service"]), connection_figures(runs["pod"])
    if not point.service:
        point.problem = f"no connection figure through the ClusterIP {service_ip}: " + "; ".join(problems[:2])
    elif problems:
        point.detail["connection_problems"] = sorted(set(problems))[:5]


def time_one(perf, api, namespace: str, template: list[dict], name: str, ip: str):
    """Create `name` at ClusterIP `ip` (its EndpointSlice first), timed to its first answer."""
    service, endpoints = named(template, name, ip)
    client.DiscoveryV1Api(api).create_namespaced_endpoint_slice(namespace, endpoints)
    core = client.CoreV1Api(api)
    return time_change(perf.ns.executor("client-a"), ip, 80, ["count-target"],
                       lambda: core.create_namespaced_service(namespace, service), deadline_s=PROGRAM_DEADLINE_S)


def delete_services(api: client.ApiClient, namespace: str) -> list[str]:
    """Every Service of the namespace, POOL at a time; the errors, one line each. The namespace
    controller deletes Services one by one (they have no delete-collection), which took past
    600 s for 5000 on a loaded host; EndpointSlices it deletes as a collection."""
    core = client.CoreV1Api(api)
    names = [s.metadata.name for s in core.list_namespaced_service(namespace).items]

    def one(name: str) -> str:
        try:
            core.delete_namespaced_service(name, namespace)
            return ""
        except client.ApiException as exc:
            return "" if exc.status == 404 else f"{name}: {exc.status} {exc.reason}"

    return pooled(one, names, "Services deleted")


def remove(ns, api: client.ApiClient) -> tuple[float, bool, list[str]]:
    """Delete the namespace's Services, then the namespace, and wait for it to be gone:
    (seconds, gone, errors deleting Services)."""
    started = time.monotonic()
    errors = delete_services(api, ns.name)
    ns.delete()
    said = started
    while time.monotonic() - started < TEARDOWN_S:
        try:
            ns.core.read_namespace(ns.name)
        except client.ApiException as exc:
            if exc.status == 404:
                return round(time.monotonic() - started, 1), True, errors
            raise
        if time.monotonic() - said >= 15:
            say(f"[perf] service count: deleting namespace {ns.name} ({time.monotonic() - started:.0f} s)")
            said = time.monotonic()
        time.sleep(2)
    return round(time.monotonic() - started, 1), False, errors


@pytest.mark.title("Connection set-up through one ClusterIP and the time the Nth Service takes to answer, "
                   "at each step of other Services in place (100, 1000, 5000)")
def test_service_count(perf, make_namespace, record):
    steps = steps_for(CURVE)
    ns = make_namespace("perf-count")
    ns.wait_default_service_account()
    perf.create("perf/count-target", namespace=ns.name, node=perf.node_b)
    target_ip = ns.wait_pods_ready("app=perf-count", 1, timeout_s=180)[0].ip
    template = [d for d in yaml.safe_load_all(render("perf/count-service", name="template", address=target_ip,
                                                     address_type=address_type(target_ip))) if d]
    api = pooled_api(perf.cluster)
    core = client.CoreV1Api(api)
    cidr = service_cidr(core)
    measured_ip, pod_ip = perf.ns.service("perf").spec.cluster_ip, perf.pod_ip("server-b")
    reference = CountPoint(0)
    measure_connections(perf, reference, measured_ip, pod_ip)
    points, ip_index = [reference], 0
    try:
        for step in plan(steps):
            point = CountPoint(step.n)
            points.append(point)
            started = time.monotonic()
            names = [filler_name(i) for i in step.fillers]
            errors = create_fillers(api, ns.name, template, names[:-1])
            point.created = len(names) - len(errors)
            if errors:
                point.problem = f"{len(errors)} of {len(names) - 1} Services could not be created: {errors[0]}"
                break
            if names:   # the batch's last, timed: once it answers, the whole batch is in force
                ip, ip_index = free_service_ip(core, cidr, ip_index)
                in_force_s, got = time_one(perf, api, ns.name, template, names[-1], ip)
                ip_index += 1
                point.detail["batch_in_force_s"] = in_force_s
                if in_force_s is None:
                    point.problem = f"the batch's last Service ({ip}) never answered ({got.source if got else 'waiter broke'})"
                    break
            point.setup_s = round(time.monotonic() - started, 1)
            say(f"[perf] service count: {step.n - 1} in place after {point.setup_s:.0f} s; timing the {step.n}th")
            ip, ip_index = free_service_ip(core, cidr, ip_index)
            point.programmed_s, got = time_one(perf, api, ns.name, template, timed_name(step.n), ip)
            ip_index += 1
            point.detail.update({"cluster_ip": ip, "tries": got.tries if got else None})
            if point.programmed_s is None:
                point.problem = f"the {step.n}th Service ({ip}) never answered ({got.source if got else 'waiter broke'})"
                break
            measure_connections(perf, point, measured_ip, pod_ip)
    finally:
        teardown_s, gone, delete_errors = remove(ns, api)
        api.close()
    doc = count_record(points, steps, measured="the perf Service's ClusterIP (crr loop to its echo port), and its "
                                               "backend pod straight", runs=CONNECTION_RUNS, teardown_s=teardown_s)
    perf.metrics["service_count"] = doc
    perf.metrics.setdefault("growth", {})["service_count"] = growth_record(points[1:], service_cidr=cidr)
    record.metrics.update(growth_record(points[1:], service_cidr=cidr))
    record.metrics["service_count"] = doc
    record.attempts += len(points)
    if delete_errors:
        record.notes.append(f"{len(delete_errors)} Services not deleted one by one: {delete_errors[0]}")
    if not gone:
        record.notes.append(f"namespace {ns.name} still there after {teardown_s:.0f} s of deletion")
    bad = [f"N={p.n}: {p.problem}" for p in points if p.problem]
    assert not bad, "Service-count curve not measured: " + "; ".join(bad)
