"""testkit.background: jobs beside the tests, held quiet around `alone` tests, and the run order."""
from __future__ import annotations

import contextlib
import importlib
import threading
from types import SimpleNamespace

import pytest

from cnimatrix.testkit import background
from cnimatrix.testkit.ahead import Ahead
from cnimatrix.testkit.background import Job, Jobs
from cnimatrix.testkit.record import TestRecord
from cnimatrix.testkit.timeline import Step, timeline


def test_a_job_hands_back_what_its_set_up_returned():
    job = Job("x", lambda: 42)
    assert job.value(5) == 42
    assert job.took_s is not None and job.started_s >= 0


def test_a_job_hands_its_error_to_whoever_waits_even_a_pytest_failure():
    job = Job("x", lambda: pytest.fail("matrix not connected"))
    with pytest.raises(pytest.fail.Exception, match="matrix not connected"):
        job.value(5)


def test_value_times_out_while_the_set_up_runs():
    gate = threading.Event()
    job = Job("x", lambda: gate.wait(5))
    with pytest.raises(TimeoutError, match="still setting up"):
        job.value(0.05)
    gate.set()
    assert job.value(5) is True


def test_quiet_waits_for_the_set_up_then_holds_what_keeps_running():
    gate, held = threading.Event(), []

    @contextlib.contextmanager
    def hold(value, timeout_s):
        held.append(("in", value))
        yield
        held.append(("out", value))

    job = Job("x", lambda: gate.wait(5) and "pool", quiet=hold)
    entered = threading.Event()

    def alone():
        with job.quiet(timeout_s=5):
            entered.set()
    thread = threading.Thread(target=alone)
    thread.start()
    assert not entered.wait(0.2)          # the set-up still runs: the alone test waits
    gate.set()
    thread.join(5)
    assert entered.is_set() and held == [("in", "pool"), ("out", "pool")]


def test_quiet_after_a_failed_set_up_holds_nothing():
    held = []
    job = Job("x", lambda: 1 / 0, quiet=lambda value, timeout_s: held.append(value) or contextlib.nullcontext())
    with job.quiet(timeout_s=5):
        pass
    assert held == []


def test_close_stops_what_keeps_running_once_and_never_after_a_failed_set_up():
    closed = []
    job = Job("x", lambda: "pool", close=closed.append)
    job.value(5)
    job.close()
    job.close()
    assert closed == ["pool"]
    failed = Job("y", lambda: 1 / 0, close=closed.append)
    with pytest.raises(ZeroDivisionError):
        failed.value(5)
    failed.close()
    assert closed == ["pool"]


def test_start_all_starts_each_offered_job_once_and_remembers_a_declined_one():
    calls = []
    jobs = Jobs(offered={"a": lambda r: calls.append("a") or Job("a", lambda: "A"), "b": lambda r: calls.append("b")})
    jobs.start_all(request=None)
    jobs.start_all(request=None)
    assert calls == ["a", "b"]
    assert set(jobs.started) == {"a"} and jobs.declined == {"b"}
    assert jobs.started["a"].value(5) == "A"


def test_jobs_quiet_holds_every_started_job():
    held = []
    quiet = lambda name: (lambda value, timeout_s: contextlib.nullcontext(held.append(name)))
    jobs = Jobs(started={"a": Job("a", lambda: 1, quiet=quiet("a")), "b": Job("b", lambda: 2, quiet=quiet("b"))})
    with jobs.quiet():
        assert sorted(held) == ["a", "b"]


def test_an_ahead_pool_started_in_the_background_runs_without_being_asked():
    ran = threading.Event()
    pool = Ahead(["s0"], ["a"], lambda slot, key: ran.set())
    assert not ran.wait(0.1)       # nothing asked, nothing started
    pool.start()
    assert ran.wait(5)
    assert pool.result("a").slot == 0


# --- the run order -----------------------------------------------------------------------------

class Item:
    def __init__(self, suite: str, name: str, alone: bool = False, disruptive: bool = False):
        self.name, self.fspath = name, f"/repo/suites/{suite}/test_{suite}.py"
        self.marks = {"suite": SimpleNamespace(args=(suite,))}
        if alone or disruptive:
            self.marks[background.ALONE] = SimpleNamespace(args=())
        if disruptive:
            self.marks[background.DISRUPTIVE] = SimpleNamespace(args=())

    def get_closest_marker(self, name):
        return self.marks.get(name)


def ordered(items, offered_suites=(), cni="calico", offered=True, breakage=None):
    options = {"--cni": cni, "breakage": breakage}
    config = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: options.get(name, 2))
    if offered:
        config.stash[background.jobs_key] = Jobs(suites=set(offered_suites))
    background.pytest_collection_modifyitems(None, config, items)
    return [i.name for i in items]


def test_alone_suites_first_their_alone_tests_first_job_suites_last():
    items = [Item("podnet", "addresses"), Item("podnet", "lifecycle", alone=True), Item("service", "spread"),
             Item("netpol", "case-a"), Item("netpol", "case-b"), Item("dns", "names"), Item("gateway", "route")]
    assert ordered(items, {"netpol"}) == ["lifecycle", "addresses", "spread", "names", "route", "case-a", "case-b"]


def test_two_suites_with_alone_tests_stay_each_in_one_piece():
    """Each suite's package fixtures and namespaces end after its last test: suites never interleave."""
    items = [Item("podnet", "addresses"), Item("podnet", "lifecycle", alone=True), Item("day2", "churn"),
             Item("day2", "restart", alone=True), Item("service", "spread")]
    assert ordered(items) == ["lifecycle", "addresses", "restart", "churn", "spread"]


def test_a_disruptive_test_runs_last_in_its_suite_and_its_suite_last():
    """A node restart changes every pod on the node: no other suite's world may live through it."""
    items = [Item("podnet", "addresses"), Item("day2", "churn"), Item("day2", "node-restart", disruptive=True),
             Item("day2", "agent-restart", alone=True), Item("netpol", "case-a"), Item("service", "spread")]
    assert ordered(items, {"netpol"}) == ["addresses", "spread", "case-a", "agent-restart", "churn", "node-restart"]
    without = [Item("podnet", "addresses"), Item("day2", "churn"), Item("day2", "agent-restart", alone=True),
               Item("netpol", "case-a"), Item("service", "spread")]   # the twin: without it, day2 comes first
    assert ordered(without, {"netpol"}) == ["agent-restart", "churn", "addresses", "spread", "case-a"]


def test_without_jobs_or_without_a_cni_the_order_stays():
    names = ["addresses", "lifecycle", "case-a", "spread"]
    make = lambda: [Item("podnet", "addresses"), Item("podnet", "lifecycle", alone=True), Item("netpol", "case-a"), Item("service", "spread")]
    assert ordered(make(), offered=False) == names
    assert ordered(make(), {"netpol"}, cni=None) == names
    assert ordered(make(), {"netpol"}, breakage="node-route-removed") == names   # a negative control: as written
    assert ordered(make(), {"netpol"}) != names   # the twin: with both, it changes


def test_offer_needs_concurrency_above_one():
    config = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: 1)
    background.offer(config, "netpol", lambda r: None, suite="netpol")
    assert background.jobs_key not in config.stash
    config = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: 2)
    background.offer(config, "netpol", lambda r: None, suite="netpol")
    assert config.stash[background.jobs_key].suites == {"netpol"}


# --- the timeline and the declared-gap cap ------------------------------------------------------

def test_background_work_is_kept_beside_the_phases_in_start_order():
    steps = [Step("service", "call", 10.0)]
    line = timeline({"cluster_create": 5.0}, steps, 20.0, [{"name": "netpol: policy cases", "started_s": 9.0, "seconds": 30.0},
                                                          {"name": "addons: set-up", "started_s": 6.0, "seconds": 4.0}])
    assert [b.name for b in line.background] == ["addons: set-up", "netpol: policy cases"]
    assert sum(p.seconds for p in line.phases) == line.total_s == 20.0   # the phases still add up to the wall time
    assert timeline({}, steps, 20.0).background is None


def test_a_wait_under_a_declared_gap_is_capped_and_one_without_is_not(monkeypatch):
    expect_module = importlib.import_module("cnimatrix.testkit.expect")   # the package exports the function by that name
    asked = []
    monkeypatch.setattr(expect_module, "converge", lambda observe, judge, deadline_s, stable, interval_s:
                        asked.append(deadline_s) or SimpleNamespace(count=1, ok=False, attempts=[], reason="no", last=None))
    monkeypatch.setattr(TestRecord, "convergence", lambda self, name, conv, steady=True: None)
    plain, gapped = TestRecord(), TestRecord(under_gap=True)
    expect_module.settle(plain, "x", lambda: 1, lambda v: (False, ""), timeout=90)
    expect_module.settle(gapped, "x", lambda: 1, lambda v: (False, ""), timeout=90)
    expect_module.settle(gapped, "x", lambda: 1, lambda v: (False, ""), timeout=5)
    assert asked == [90.0, 20.0, 5.0]


def test_a_job_claimed_before_it_started_never_starts_and_one_started_is_handed_over():
    config = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: 2)
    calls = []
    background.offer(config, "addons", lambda request: calls.append("addons") or Job("addons", lambda: "installed"))
    assert background.claim(config, "addons") is None          # a test needs it first: it installs in turn
    config.stash[background.jobs_key].start_all(request=None)
    assert calls == [] and background.started(config, "addons") is None
    other = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: 2)
    background.offer(other, "addons", lambda request: Job("addons", lambda: "installed"))
    other.stash[background.jobs_key].start_all(request=None)
    assert background.claim(other, "addons").value(5) == "installed"
