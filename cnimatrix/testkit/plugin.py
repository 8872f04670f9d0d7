"""The pytest plugin (conftest.py loads it): the CNI under test, per-test records, and the per-CNI results.

It adds `--cni`, `--existing-kubeconfig` and `--results-dir`, labels every test with its CNI
for Allure, lets tests record attempts/flakiness/metrics through the `record` fixture, and at the
end writes `<results-dir>/summary.json` (schema: cnimatrix/results/summary.schema.json).
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from cnimatrix import hostload
from cnimatrix import versions as V
from cnimatrix.cni.shapes import DEFAULT_IP_FAMILY, DEFAULT_PROXY_MODE, IP_FAMILIES, PROXY_MODES
from cnimatrix.results import RunSummary, TestResult, cluster_policy_report, rfc3339, write_summary
from cnimatrix.results.summary import SUITES
from cnimatrix.testkit import declared, evidence
from cnimatrix.testkit.capabilities import UnknownCapability, check_known
from cnimatrix.testkit.record import TestRecord, failure_text
from cnimatrix.testkit.run import RunState, results_dir, state_key
from cnimatrix.testkit.timeline import timeline

record_key = pytest.StashKey[TestRecord]()


# NetworkPolicy cases at once, one namespace set each. Calico here (bench/results/runs.jsonl): 1 set 721 s,
# 0 flaky; 2 sets 422 s, 1 flaky of 82; 3 sets 371 s, 6 flaky (probes starved at load 29 on 2 cores).
DEFAULT_CONCURRENCY = 2


def pytest_addoption(parser):
    group = parser.getgroup("cnimatrix")
    group.addoption("--cni", default=None, help="CNI under test (a file in cnis/); enables the suites")
    group.addoption("--existing-kubeconfig", default=None,
                    help="run against this existing cluster instead of creating a kind cluster")
    group.addoption("--results-dir", default=None, help="where summary.json goes (default reports/<cni>)")
    group.addoption("--workers", type=int, default=2, help="kind worker nodes (default 2)")
    group.addoption("--cluster", default=None, help="kind cluster name (default cnimatrix-<cni>[-<shape>])")
    group.addoption("--ip-family", default=DEFAULT_IP_FAMILY, choices=IP_FAMILIES, help="the cluster's IP family")
    group.addoption("--proxy-mode", default=DEFAULT_PROXY_MODE, choices=PROXY_MODES, help="kube-proxy's mode")
    group.addoption("--no-evidence", dest="evidence", action="store_false", default=True,
                    help="do not collect evidence from the cluster when a scenario fails")
    group.addoption("--break", dest="breakage", default=None,
                    help="negative control: break the cluster this way (manifests/breakages) once workloads are up")
    group.addoption("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                    help=f"scenarios run at once where a suite allows it, each on its own namespaces (the "
                         f"NetworkPolicy cases; default {DEFAULT_CONCURRENCY}; 1 runs them one at a time)")


def pytest_configure(config):
    config.stash[state_key] = RunState()
    config.addinivalue_line("markers", "title(text): one-line description of a scenario")
    if config.getoption("--cni"):
        # A CI runner's timeout sends SIGTERM: stop the way Ctrl-C does, so fixtures tear the
        # cluster down and the summary is still written.
        def interrupt(signum, frame):
            state = config.stash[state_key]
            state.run_status, state.run_reason = "interrupted", f"{signal.Signals(signum).name} received"
            raise KeyboardInterrupt(state.run_reason)
        signal.signal(signal.SIGTERM, interrupt)
        # A run started in the background inherits SIGINT ignored; Ctrl-C forwarded by `cnimatrix run`
        # must still stop it.
        signal.signal(signal.SIGINT, interrupt)
        state = config.stash[state_key]
        state.load = hostload.Sampler().start()
        note = hostload.warning(state.load.samples[0], hostload.cpus())
        if note:
            print(f"cnimatrix: warning: {note}", flush=True)


def pytest_collection_modifyitems(session, config, items):
    """A misspelt capability must not silently run (or skip) a scenario: stop at collection."""
    for item in items:
        for marker in item.iter_markers("requires"):
            try:
                check_known(marker.args, item.nodeid)
            except UnknownCapability as exc:
                raise pytest.UsageError(str(exc)) from None


def pytest_collection_finish(session):
    """Every scenario selected for this run (after -k): what did not run gets reported as not-run."""
    state = session.config.stash[state_key]
    for item in session.items:
        state.items[item.nodeid] = (suite_of(item), title_of(item))


def suite_of(item) -> str:
    marker = item.get_closest_marker("suite")
    if marker:
        return marker.args[0]
    parts = Path(str(item.fspath)).parts
    if "suites" in parts:
        name = parts[parts.index("suites") + 1]
        if name in SUITES:
            return name
    return "service"


def title_of(item) -> str:
    marker = item.get_closest_marker("title")
    if marker:
        return marker.args[0]
    doc = (getattr(item, "function", None).__doc__ or "").strip() if getattr(item, "function", None) else ""
    return doc.splitlines()[0] if doc else item.name


@pytest.fixture
def record(request) -> TestRecord:
    """Per-test record of attempts, flakiness and measurements."""
    rec = TestRecord()
    request.node.stash[record_key] = rec
    return rec


def _allure_labels(item, state: RunState) -> None:
    try:
        import allure
    except ImportError:
        return
    # The option, not state.cni: the first test's setup runs before the cni fixture has loaded it.
    name = item.config.getoption("--cni")
    allure.dynamic.label("cni", name)
    allure.dynamic.parent_suite(name)
    allure.dynamic.suite(suite_of(item))
    allure.dynamic.title(title_of(item))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    state = item.config.stash[state_key]
    if item.config.getoption("--cni"):
        state.current_suite = suite_of(item)
        _allure_labels(item, state)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a suite's last test (its package fixtures torn down), delete the namespaces it made:
    their pods would only load the cluster under the suites that follow."""
    yield
    config = item.config
    if not config.getoption("--cni") or config.getoption("--keep-cluster") or not suite_ends(item, nextitem):
        return
    for ns in config.stash[state_key].suite_namespaces.pop(suite_of(item), []):
        try:
            ns.delete()
        except Exception as exc:  # the session's own clean-up tries again; say why this one failed
            print(f"cnimatrix: namespace {ns.name} not deleted after its suite: {exc}", file=sys.stderr, flush=True)


def suite_ends(item, nextitem) -> bool:
    """The next test is another suite's (at the very end the session's clean-up deletes what is left)."""
    return nextitem is not None and suite_of(nextitem) != suite_of(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    config = item.config
    if not config.getoption("--cni"):
        return
    state = config.stash[state_key]
    rec = item.stash.get(record_key, None)
    if item.stash.get(declared.gap_key, None) is not None:
        rec = item.stash.setdefault(record_key, TestRecord())  # a pass must be able to carry its flag
        declared.judge_call(item, report, rec)
    entry = state.results.setdefault(item.nodeid, {
        # not-run until a verdict arrives: an interrupt inside the test leaves it so
        "id": item.nodeid, "suite": suite_of(item), "title": title_of(item), "outcome": "not-run",
        "duration_s": 0.0, "attempts": 0, "flaky": False, "message": "", "metrics": {}})
    if report.when == "call":  # setup time includes shared fixtures (the cluster itself)
        entry["duration_s"] = round(report.duration, 3)
    state.timeline.add(item.nodeid, entry["suite"], report.when, report.duration, state.timings,
                       waits_s=rec.waits_s if rec is not None else 0.0, rounds=rec.rounds if rec is not None else 0)
    if state.run_status == "interrupted":
        # A client library can turn the interrupt into its own exception (the Kubernetes client's
        # exec returns it as ApiException(0)): the scenario was stopped, not judged (it stays
        # not-run), and the run must still stop.
        item.session.shouldstop = state.run_reason
        return
    if rec is not None:
        entry["attempts"], entry["metrics"] = rec.attempts, dict(rec.metrics)
    declaration = item.stash.get(declared.declared_key, None)
    if declaration:
        entry["declared"] = declaration
    if rec is not None and rec.flags:
        entry["flags"] = sorted(set(rec.flags))
    if report.skipped:
        entry.update(outcome="not-enforced" if rec is not None and rec.not_enforced else "skipped",
                     message=_skip_reason(report))
    elif report.failed:
        # a teardown failure after a failed call keeps the call's verdict
        if entry["outcome"] not in ("failed", "error"):
            entry.update(outcome="failed" if report.when == "call" else "error", message=failure_text(report))
            if report.when == "call":
                attach_evidence(item, state, entry)
            load = hostload.load_1m()  # was the host starved of CPU when it failed?
            entry["metrics"]["host_load_1m"] = load
            if rec is not None:
                rec.metrics["host_load_1m"] = load
    elif report.when == "call" and entry["outcome"] == "not-run":
        entry["outcome"] = "passed"
        entry["flaky"] = bool(rec and rec.flaky)
        entry["message"] = "; ".join(rec.notes) if rec and rec.notes else ""
    _mark_known_issue(entry, getattr(state.cni, "known_issue", lambda _: None)(item.name))


def attach_evidence(item, state: RunState, entry: dict) -> None:
    """Collect what the cluster shows for a failed scenario (bounded), keep it beside summary.json
    and attach it to the scenario in Allure."""
    if state.cluster is None or not item.config.getoption("evidence"):
        return
    name = evidence.safe_name(item.nodeid)
    try:
        files = evidence.collect(state.cluster, state.cni, results_dir(item.config) / "evidence" / name)
    except Exception as exc:  # evidence must never turn a failure into an error
        entry["message"] += f" [evidence not collected: {exc}]"
        return
    entry["evidence"] = f"evidence/{name}"
    try:
        import allure
    except ImportError:
        return
    for path in files:
        allure.attach.file(str(path), name=f"evidence: {path.name}", attachment_type=allure.attachment_type.TEXT)


def _mark_known_issue(entry: dict, known) -> None:
    """A failure an upstream bug report explains links it (still a failure); a scenario listed
    there that passes is flagged, so a fixed bug does not stay listed unnoticed."""
    if known is None:
        return
    if entry["outcome"] in ("failed", "error"):
        entry["known_issue"] = {"issue": known.issue, "summary": known.summary}
    elif entry["outcome"] == "passed":
        entry["flags"] = sorted({*entry.get("flags", []), "known-issue-not-seen"})


def _skip_reason(report) -> str:
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)[:500]


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("--cni"):
        return
    state = config.stash[state_key]
    if state.cni is None:
        return  # the CNI never loaded: nothing ran, the error was already reported
    folder = results_dir(config)
    if exitstatus == pytest.ExitCode.INTERRUPTED and state.run_status == "completed":
        state.run_status, state.run_reason = "interrupted", "interrupted (SIGINT)"
    for entry in state.results.values():
        if entry["outcome"] == "not-run":  # interrupted inside the test: its probes judged nothing
            entry.update(attempts=0, flaky=False, message=state.run_reason or "not run")
    for nodeid, (suite, title) in state.items.items():
        if nodeid not in state.results:  # interrupted, or the cluster never came up
            state.results[nodeid] = {"id": nodeid, "suite": suite, "title": title, "outcome": "not-run", "duration_s": 0.0,
                                     "attempts": 0, "flaky": False, "message": state.run_reason or "not run"}
    if state.run_status == "completed" and any(r["outcome"] == "not-run" for r in state.results.values()):
        state.run_status, state.run_reason = "interrupted", "the run stopped before every scenario ran"
    if state.load is not None:
        state.metrics["host"] = state.load.stop()
        if state.footprint is not None:
            state.metrics["host"]["cluster"] = state.footprint.summary()
    wall_s = time.monotonic() - state.started
    state.metrics["timeline"] = timeline(state.timings, state.timeline.steps, wall_s, state.background).to_dict()
    suites_s = wall_s - sum(v for v in state.timings.values() if v)
    timings = {"cluster_create": None, "cni_ready": None, **state.timings, "suites": round(max(suites_s, 0.0), 1)}
    cluster = state.cluster
    summary = RunSummary(
        cni_name=state.cni.name, cni_version=state.cni.version, kubernetes_version=state.kubernetes_version,
        kind_version=V.KIND, node_image=state.node_image, offline=state.offline,
        cluster_name=getattr(cluster, "name", "none"), cluster_nodes=getattr(cluster, "node_count", 0),
        cluster_existing=bool(getattr(cluster, "existing", False)),
        started_at=state.started_at, finished_at=rfc3339(), timings_s=timings,
        tests=[TestResult(**entry) for entry in state.results.values()], metrics=state.metrics, diagnostics=state.diagnostics,
        cnimatrix_commit=state.commit, run_status=state.run_status, run_reason=state.run_reason,
        cni_source=_cni_source(state.cni) if state.offline else None,
        shape=state.shape.to_dict() if state.shape else None,
    )
    path = write_summary(folder / "summary.json", summary)
    # The cluster-wide cases also in network-policy-api's ConformanceReport shape, to share upstream.
    cluster_policy_report.write(summary.to_dict(), folder, getattr(state.cni.install, "module", None))
    _allure_environment(config, summary)
    counts = summary.to_dict()["counts"]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        extra = "".join(f", {counts[k]} {k}" for k in ("not-enforced", "not-run") if counts.get(k))
        column = state.shape.shape.column(state.cni.name) if state.shape else state.cni.name
        reporter.write_line(f"cnimatrix: {column}: {counts['passed']} passed ({counts['flaky']} flaky), "
                            f"{counts['failed']} failed, {counts['skipped']} skipped, {counts['error']} errors{extra} -> {path}"
                            + (f" [{state.run_status}: {state.run_reason}]" if state.run_status != "completed" else ""))


def _cni_source(cni) -> str | None:
    """An offline build names the pinned upstream source its images came from."""
    install = cni.install
    return f"{install.module}@{install.version}" if install.source in ("module", "helm") else None


def _allure_environment(config, summary: RunSummary) -> None:
    """Allure shows environment.properties per results folder: one CNI's run environment."""
    alluredir = getattr(config.option, "allure_report_dir", None)
    if not alluredir:
        return
    folder = Path(alluredir)
    folder.mkdir(parents=True, exist_ok=True)
    props = {
        "cni": summary.cni_name, "cni.version": summary.cni_version, "kubernetes": summary.kubernetes_version,
        "kind": summary.kind_version, "node.image": summary.node_image, "offline": str(summary.offline).lower(),
        "cluster.nodes": str(summary.cluster_nodes), "cluster.existing": str(summary.cluster_existing).lower(),
        **({"ip.family": summary.shape["ip_family"], "proxy.mode": summary.shape["proxy_mode"]} if summary.shape else {}),
    }
    (folder / "environment.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
