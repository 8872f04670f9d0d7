"""Suites' worlds made ahead: a suite's package fixture (its namespace, pods and Services) built in
the background while the suites before it run, so that its tests find their pods up instead of
waiting for them in turn (issue 25: 3-4 min of a run went to these waits).

A suite offers its world at collection (`offer`); with --concurrency above 1 one background job
(testkit.background, "worlds") makes every offered world one after another, in the order the run
uses them: every world's pods at once would starve the tests running meanwhile. The fixture asks
for its world (`world`): it waits for the one made ahead, or, if the job has not reached it yet or
never started, makes it itself (then the job skips it). Not under --break: a control's breakage is
applied as its world is made, right before the checks it was written for.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest

from cnimatrix.testkit import background
from cnimatrix.testkit.run import run_state

JOB = "worlds"


@dataclass(frozen=True)
class Planned:
    name: str
    fixture: str                   # the package fixture that returns the world
    build: Callable[..., Any]      # build(request, *needs' values)
    needs: tuple[str, ...]         # session fixtures build takes, resolved on pytest's thread


@dataclass
class Worlds:
    planned: dict[str, Planned] = field(default_factory=dict)
    made: dict[str, Future] = field(default_factory=dict)     # taken by the job (made or being made)
    in_turn: set[str] = field(default_factory=set)            # made by their fixture instead
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, name: str) -> Future | None:
        """The job's claim on a world: a Future to fill, or None if its fixture made it already."""
        with self.lock:
            if name in self.in_turn:
                return None
            self.made[name] = Future()
            return self.made[name]

    def claim(self, name: str) -> Future | None:
        """The fixture's: the job's Future for the world, or None (then the fixture makes it)."""
        with self.lock:
            if name in self.made:
                return self.made[name]
            self.in_turn.add(name)
            return None


worlds_key = pytest.StashKey[Worlds]()


def uses(items, fixture: str) -> list[int]:
    return [i for i, item in enumerate(items) if fixture in getattr(item, "fixturenames", ())]


def offer(config, items, name: str, fixture: str, build: Callable[..., Any], needs: tuple[str, ...]) -> None:
    """Plan `fixture`'s world to be made ahead (see the module's text)."""
    if not config.getoption("--cni") or config.getoption("breakage") or config.getoption("--concurrency") <= 1:
        return
    if not uses(items, fixture):
        return
    worlds = config.stash.setdefault(worlds_key, Worlds())
    first = not worlds.planned
    worlds.planned[name] = Planned(name, fixture, build, needs)
    if first:
        background.offer(config, JOB, start)


def start(request) -> background.Job | None:
    """Start the job: the planned worlds still used, in the order their first test runs."""
    worlds = request.config.stash[worlds_key]
    first_use = {p.name: uses(request.session.items, p.fixture) for p in worlds.planned.values()}
    order = sorted((p for p in worlds.planned.values() if first_use[p.name]), key=lambda p: first_use[p.name][0])
    if not order:
        return None
    values = {n: request.getfixturevalue(n) for p in order for n in p.needs}
    since = run_state(request).started

    def prepare() -> None:
        for plan in order:
            future = worlds.take(plan.name)
            if future is None:
                continue
            began = time.monotonic()
            try:
                future.set_result(plan.build(request, *(values[n] for n in plan.needs)))
            except BaseException as exc:  # pytest.skip and the like: its fixture raises it
                future.set_exception(exc)
            background.record(request, f"{plan.name}: set-up", began - since, time.monotonic() - began)
    return background.job(request, JOB, prepare)


def world(request, name: str, build: Callable[..., Any], *values) -> Any:
    """The world made ahead (waiting for it), else `build(request, *values)` now."""
    worlds = request.config.stash.get(worlds_key, None)
    # claimed even before the job starts (an `alone` test first): the job must then skip it, not make it twice
    future = worlds.claim(name) if worlds is not None else None
    if future is None:
        return build(request, *values)
    return future.result()
