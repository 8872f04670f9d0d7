"""Scenarios run ahead, concurrently, on separate copies of their workloads.

A suite whose scenarios spend most of their time waiting on the cluster (a policy to take effect,
a probe to time out) and touch only their own namespaces can run several at once: one copy of its
workloads per slot (a "namespace set"), scenarios started in test order as slots free up. pytest
still runs the tests one by one; each test asks for its scenario's result (`Ahead.result`), which
starts it if it has not started yet, and waits for it. Verdicts are given in the test, from the
result, so reporting stays where it is.

A scenario that needs the cluster to itself takes `Ahead.quiet()`: no scenario starts meanwhile
and every running one has finished.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
S = TypeVar("S")
R = TypeVar("R")


class Stopped(Exception):
    """The pool is closing (the run was interrupted or stopped): scenarios stop at their next step."""


@dataclass
class Done(Generic[R]):
    """A scenario's result and where it ran: the slot, when it started and how long it took."""

    value: R
    slot: int
    started_s: float
    took_s: float


class Ahead(Generic[K, S, R]):
    """Runs `run(slot, key)` for the keys in `order`, at most one per slot at a time, in order."""

    def __init__(self, slots: Sequence[S], order: Sequence[K], run: Callable[[S, K], R]):
        if not slots:
            raise ValueError("at least one slot is needed")
        self.slots, self.order, self.run = list(slots), list(order), run
        self.futures: dict[K, Future] = {}
        self.free = list(range(len(self.slots)))
        self.next = 0                          # index in `order` of the next key to start
        self.lock = threading.Condition()
        self.stopping = threading.Event()
        self.held = 0                           # quiet() sections open: nothing starts meanwhile
        self.started_at = time.monotonic()

    @property
    def busy(self) -> int:
        return len(self.slots) - len(self.free)

    def result(self, key: K) -> Done[R]:
        """Start `key` (and, as slots allow, the keys after it), wait for it, return its result or
        raise what it raised. A key not in `order` runs now, alone in the slots it is given."""
        with self.lock:
            if key not in self.futures and key not in self.order[self.next:]:
                self.order.insert(self.next, key)
            self._fill()
            while key not in self.futures:     # every slot busy with earlier keys
                if self.stopping.is_set():
                    raise Stopped("the run is stopping")
                self.lock.wait()
                self._fill()
            future = self.futures[key]
        return future.result()

    def start(self) -> None:
        """Start keys in order now, as slots allow, without waiting for any (a pool run in the background)."""
        with self.lock:
            self._fill()

    def _fill(self) -> None:
        """Start keys in order while a slot is free (caller holds the lock)."""
        while self.free and self.next < len(self.order) and not self.held and not self.stopping.is_set():
            key = self.order[self.next]
            self.next += 1
            if key in self.futures:
                continue
            slot = self.free.pop(0)
            future: Future = Future()
            self.futures[key] = future
            threading.Thread(target=self._work, args=(slot, key, future), daemon=True,
                             name=f"ahead-{slot}").start()

    def _work(self, slot: int, key: K, future: Future) -> None:
        started = time.monotonic()
        try:
            if self.stopping.is_set():
                raise Stopped("the run is stopping")
            value = self.run(self.slots[slot], key)
        except BaseException as exc:  # handed to the test that asks: it reports it
            future.set_exception(exc)
        else:
            future.set_result(Done(value, slot, round(started - self.started_at, 3), round(time.monotonic() - started, 3)))
        finally:
            with self.lock:
                self.free.append(slot)
                self.free.sort()
                self._fill()
                self.lock.notify_all()

    @contextmanager
    def quiet(self, timeout_s: float | None = None):
        """Hold off new scenarios and wait for the running ones: the block has the cluster's
        namespace sets to itself."""
        with self.lock:
            self.held += 1
            if not self.lock.wait_for(lambda: self.busy == 0, timeout=timeout_s):
                self.held -= 1
                raise TimeoutError(f"{self.busy} scenario(s) still running after {timeout_s} s")
        try:
            yield
        finally:
            with self.lock:
                self.held -= 1
                self._fill()

    def close(self, timeout_s: float = 120) -> list[K]:
        """Stop: nothing new starts, running scenarios are told to stop (`Stopped` from `check`)
        and waited for up to timeout_s. Returns the keys still running after that."""
        self.stopping.set()
        deadline = time.monotonic() + timeout_s
        with self.lock:
            self.lock.wait_for(lambda: self.busy == 0, timeout=max(0.0, deadline - time.monotonic()))
            return [k for k, f in self.futures.items() if not f.done()]

    def check(self) -> None:
        """Called by a scenario between its steps: raise Stopped once the pool is closing."""
        if self.stopping.is_set():
            raise Stopped("the run is stopping")
