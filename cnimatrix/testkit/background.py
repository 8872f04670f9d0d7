"""Work that runs beside the tests: a suite's set-up and scenarios (the NetworkPolicy cases), or the
add-ons, so that their waits overlap the other suites' tests instead of adding to them.

A fixture module or suite offers a job at collection (`offer`). The first test that tolerates
company starts every offered job from its fixture request (`start(request) -> Job | None`), in
the autouse fixture below. A test marked `alone` needs the nodes to itself (it measures the
cluster's own speed: pod set-up time, throughput): around its set-up, call and teardown every
started job is held quiet (`Job.quiet`: its set-up finished and nothing of it running). Tests
that use a job's work wait for it (`Job.value`), and get its error if it failed.

The suites offering jobs run last and the suites with `alone` tests first, so the jobs have the
longest stretch to overlap (`pytest_collection_modifyitems`). With `--concurrency 1` nothing is
offered and every suite runs in its own turn, as before.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cnimatrix.testkit.plugin import suite_of
from cnimatrix.testkit.run import run_state

ALONE = "alone"
# A `disruptive` test (also `alone`) leaves the cluster changed for whatever follows: a node
# restart gives every pod on that node a new sandbox and maybe a new address. It runs last in its
# suite, and that suite last, so no other suite's world lives through it.
DISRUPTIVE = "disruptive"
QUIET_TIMEOUT_S = 600   # a job's set-up, or its scenarios under way, finishing before an `alone` test


class Job:
    """`prepare()` run on a thread of its own; then, optionally, a part that keeps running
    (`quiet(value, timeout_s)` holds it still, `close(value)` stops it)."""

    def __init__(self, name: str, prepare: Callable[[], Any],
                 quiet: Callable[[Any, float], contextlib.AbstractContextManager] | None = None,
                 close: Callable[[Any], None] | None = None, since: float | None = None):
        self.name = name
        self._prepare, self._quiet, self._close = prepare, quiet, close
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._closed = False
        self.since = time.monotonic() if since is None else since   # the run's start: started_s counts from it
        self.started = time.monotonic()
        self.took_s: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"background-{name}")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._prepare()
        except BaseException as exc:  # handed to the tests that wait for it (pytest.fail raises BaseException)
            self._error = exc
        finally:
            self.took_s = round(time.monotonic() - self.started, 3)
            self._done.set()

    @property
    def started_s(self) -> float:
        return round(self.started - self.since, 3)

    def value(self, timeout_s: float | None = None) -> Any:
        """What prepare returned, once it has; raise what it raised."""
        if not self._done.wait(timeout_s):
            raise TimeoutError(f"{self.name}: still setting up in the background after {timeout_s} s")
        if self._error is not None:
            raise self._error
        return self._value

    @contextlib.contextmanager
    def quiet(self, timeout_s: float = QUIET_TIMEOUT_S) -> Iterator[None]:
        if not self._done.wait(timeout_s):
            raise TimeoutError(f"{self.name}: still setting up in the background after {timeout_s} s")
        if self._error is not None or self._quiet is None or self._closed:
            yield
            return
        with self._quiet(self._value, timeout_s):
            yield

    def close(self) -> None:
        """Stop what keeps running (once); a prepare still under way is left to end on its own
        (its thread is a daemon: the session's clean-up follows)."""
        if self._closed:
            return
        self._closed = True
        if self._done.is_set() and self._error is None and self._close is not None:
            self._close(self._value)


@dataclass
class Jobs:
    offered: dict[str, Callable[[Any], Job | None]] = field(default_factory=dict)
    suites: set[str] = field(default_factory=set)      # suites whose own scenarios run as a job
    started: dict[str, Job] = field(default_factory=dict)
    declined: set[str] = field(default_factory=set)    # offered, but start said there was nothing to do

    def start_all(self, request) -> None:
        for name, start in list(self.offered.items()):
            if name in self.started or name in self.declined:
                continue
            job = start(request)
            if job is None:
                self.declined.add(name)
            else:
                self.started[name] = job

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for job in list(self.started.values()):
                stack.enter_context(job.quiet())
            yield

    def close_all(self) -> None:
        for job in self.started.values():
            job.close()


jobs_key = pytest.StashKey[Jobs]()
_held_key = pytest.StashKey[contextlib.ExitStack]()


def offer(config, name: str, start: Callable[[Any], Job | None], suite: str | None = None) -> None:
    """Offer a job: `start(request)` is called at the first test that tolerates company and returns
    the started Job, or None when there is nothing to do. `suite`: the job runs that suite's scenarios
    (the suite is then ordered last). Only with --concurrency above 1."""
    if config.getoption("--concurrency") <= 1:
        return
    jobs = config.stash.setdefault(jobs_key, Jobs())
    jobs.offered[name] = start
    if suite:
        jobs.suites.add(suite)


def started(holder, name: str) -> Job | None:
    """The started job of that name, or None (not offered, declined, or --concurrency 1)."""
    config = getattr(holder, "config", holder)
    jobs = config.stash.get(jobs_key, None)
    return jobs.started.get(name) if jobs else None


def claim(holder, name: str) -> Job | None:
    """The started job of that name; or None, and then it never starts: the caller does its work
    in turn (a test needed it before any test that tolerates company began)."""
    jobs = getattr(holder, "config", holder).stash.get(jobs_key, None)
    if jobs is None:
        return None
    if name not in jobs.started:
        jobs.declined.add(name)
    return jobs.started.get(name)


def record(holder, name: str, started_s: float, seconds: float) -> None:
    """A stretch of background work for metrics.timeline.background."""
    run_state(holder).background.append({"name": name, "started_s": round(started_s, 3), "seconds": round(seconds, 3)})


def job(request, name: str, prepare: Callable[[], Any], **kwargs) -> Job:
    """A Job timed against the run's start (for metrics.timeline.background)."""
    return Job(name, prepare, since=run_state(request).started, **kwargs)


# --- the pytest side -------------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", f"{ALONE}: needs the nodes to itself; nothing runs in the background meanwhile")
    config.addinivalue_line("markers", f"{DISRUPTIVE}: changes the cluster for what follows (a node restart): last in its suite, its suite last")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Suites with an `alone` test first (those tests first in them), suites run as jobs after the
    others, a suite with a `disruptive` test last (that test last in it); each suite's tests stay together.
    Not under `--break`: a negative control's checks run in the order its breakage was written
    for, right after it is applied (an agent a liveness probe restarts repairs it within minutes)."""
    jobs = config.stash.get(jobs_key, None)
    if not config.getoption("--cni") or jobs is None or config.getoption("breakage"):
        return
    with_alone = {suite_of(item) for item in items if item.get_closest_marker(ALONE)}
    with_disruptive = {suite_of(item) for item in items if item.get_closest_marker(DISRUPTIVE)}
    first_of: dict[str, int] = {}
    for index, item in enumerate(items):
        first_of.setdefault(suite_of(item), index)

    def rank(indexed: tuple[int, Any]) -> tuple[int, int, int, int]:
        # A suite's tests stay together: its package fixtures and namespaces end with its last test
        # (two suites with alone tests once ran podnet, day2, podnet: podnet's namespace was gone).
        index, item = indexed
        suite = suite_of(item)
        group = (3 if suite in with_disruptive else 0 if suite in with_alone else 2 if suite in jobs.suites else 1)
        within = 2 if item.get_closest_marker(DISRUPTIVE) else 0 if item.get_closest_marker(ALONE) else 1
        return group, first_of[suite], within, index

    items[:] = [item for _, item in sorted(enumerate(items), key=rank)]


@pytest.fixture(scope="session")
def background_jobs(request) -> Iterator[Jobs]:
    """The run's jobs; stopped when the session ends (before the cluster goes: requested after it)."""
    jobs = request.config.stash.setdefault(jobs_key, Jobs())
    yield jobs
    jobs.close_all()
    for job_ in jobs.started.values():
        if job_.took_s is not None:
            record(request, f"{job_.name}: set-up", job_.started_s, job_.took_s)


@pytest.fixture(autouse=True)
def _start_background(request):
    """Start the offered jobs at the first test that tolerates company."""
    jobs = request.config.stash.get(jobs_key, None)
    if jobs is None or not jobs.offered or request.node.get_closest_marker(ALONE):
        return
    if len(jobs.started) + len(jobs.declined) < len(jobs.offered):
        request.getfixturevalue("background_jobs").start_all(request)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    jobs = item.config.stash.get(jobs_key, None)
    if jobs is not None and jobs.started and item.get_closest_marker(ALONE):
        stack = contextlib.ExitStack()
        stack.enter_context(jobs.quiet())
        item.stash[_held_key] = stack
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    stack = item.stash.get(_held_key, None)
    if stack is not None:
        stack.close()
