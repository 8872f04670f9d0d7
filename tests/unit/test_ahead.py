"""testkit.ahead: scenarios run ahead on separate slots, in order, at most one per slot."""
from __future__ import annotations

import threading
import time

import pytest

from cnimatrix.testkit.ahead import Ahead, Stopped


class Gate:
    """A run function whose calls block until released, recording what ran where and how many at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running, self.most, self.calls = 0, 0, []
        self.release = threading.Event()

    def __call__(self, slot, key):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.calls.append((slot, key))
        self.release.wait(5)
        with self.lock:
            self.running -= 1
        if key == "boom":
            raise ValueError("boom failed")
        return f"{key}@{slot}"


def test_results_come_back_in_any_order_asked():
    gate = Gate()
    gate.release.set()
    pool = Ahead(["s0", "s1"], ["a", "b", "c"], gate)
    assert pool.result("a").value in ("a@s0", "a@s1")
    assert pool.result("c").value.startswith("c@")
    assert pool.result("b").value.startswith("b@")


def test_at_most_one_scenario_per_slot_and_keys_start_in_order():
    gate = Gate()
    pool = Ahead(["s0", "s1"], ["a", "b", "c", "d"], gate)
    waiter = threading.Thread(target=pool.result, args=("a",))
    waiter.start()
    time.sleep(0.2)
    assert [k for _, k in gate.calls] == ["a", "b"]       # two slots: a and b started, c waits
    gate.release.set()
    waiter.join(5)
    assert pool.result("d").value.startswith("d@")
    assert gate.most == 2
    assert [k for _, k in gate.calls] == ["a", "b", "c", "d"]


def test_a_single_slot_runs_serially():
    gate = Gate()
    gate.release.set()
    pool = Ahead(["only"], ["a", "b", "c"], gate)
    for key in ("a", "b", "c"):
        assert pool.result(key).value == f"{key}@only"
    assert gate.most == 1


def test_an_exception_reaches_the_test_that_asks_and_frees_the_slot():
    gate = Gate()
    gate.release.set()
    pool = Ahead(["s0"], ["boom", "after"], gate)
    with pytest.raises(ValueError, match="boom failed"):
        pool.result("boom")
    assert pool.result("after").value == "after@s0"


def test_a_key_not_in_the_order_still_runs():
    gate = Gate()
    gate.release.set()
    pool = Ahead(["s0"], ["a"], gate)
    assert pool.result("extra").value == "extra@s0"
    assert pool.result("a").value == "a@s0"


def test_quiet_waits_for_running_scenarios_and_holds_off_new_ones():
    gate = Gate()
    pool = Ahead(["s0", "s1"], ["a", "b", "c"], gate)
    threading.Thread(target=pool.result, args=("a",), daemon=True).start()
    time.sleep(0.2)
    assert pool.busy == 2
    with pytest.raises(TimeoutError, match="2 scenario"):
        with pool.quiet(timeout_s=0.2):
            pass
    gate.release.set()
    with pool.quiet(timeout_s=5):
        assert pool.busy == 0
        started = len(gate.calls)
        time.sleep(0.1)
        assert len(gate.calls) == started            # nothing new started inside the quiet block
    assert pool.result("c").value.startswith("c@")


def test_without_quiet_scenarios_do_start_ahead():
    """The twin of the quiet test: outside a quiet block, the keys after the asked one start."""
    gate = Gate()
    gate.release.set()
    pool = Ahead(["s0", "s1"], ["a", "b", "c"], gate)
    pool.result("a")
    time.sleep(0.2)
    assert {k for _, k in gate.calls} == {"a", "b", "c"}


def test_close_stops_new_scenarios_and_tells_the_asker():
    gate = Gate()
    pool = Ahead(["s0"], ["a", "b"], gate)
    threading.Thread(target=pool.result, args=("a",), daemon=True).start()
    time.sleep(0.1)
    assert pool.close(timeout_s=0.1) == ["a"]       # a is still running: named, not waited for forever
    gate.release.set()
    with pytest.raises(Stopped):
        pool.result("b")
    with pytest.raises(Stopped):
        pool.check()
    assert [k for _, k in gate.calls] == ["a"]


def test_check_passes_while_the_pool_runs():
    pool = Ahead(["s0"], [], lambda slot, key: key)
    pool.check()                                      # no exception: not stopping


def test_no_slot_is_an_error():
    with pytest.raises(ValueError, match="at least one slot"):
        Ahead([], ["a"], lambda slot, key: key)
