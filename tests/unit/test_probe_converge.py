"""Converging on an expectation: stable streaks, deadlines, flapping, and how a record reports them."""
import itertools
import time

import pytest

from cnimatrix.probe.converge import converge


def test_converge_needs_a_stable_streak():
    values = iter([False, True, False, True, True, True])
    conv = converge(lambda: next(values), lambda v: (v, str(v)), deadline_s=5, stable=3, interval_s=0)
    assert conv.ok and conv.count == 6
    assert conv.flapped  # a match was lost once before it held
    assert conv.lost is conv.attempts[2]
    assert conv.settle_s is not None


def test_converge_times_out_with_the_last_reason():
    counter = itertools.count()
    conv = converge(lambda: next(counter), lambda v: (False, f"seen {v}"), deadline_s=0.2, stable=1, interval_s=0.05)
    assert not conv.ok and conv.count >= 2
    assert conv.reason == f"seen {conv.last}"
    assert conv.settle_s is None


def test_converge_lets_a_streak_under_way_finish_after_the_deadline():
    # Slow rounds (a loaded host): the first match lands just before the deadline.
    def slow():
        time.sleep(0.08)
        return True
    conv = converge(slow, lambda v: (v, "ok"), deadline_s=0.1, stable=3, interval_s=0)
    assert conv.ok and conv.count == 3


def test_converge_ends_at_the_first_miss_after_the_deadline():
    values = iter([False, True, True, False, True, True, True])

    def slow():
        time.sleep(0.05)
        return next(values)
    conv = converge(slow, lambda v: (v, str(v)), deadline_s=0.12, stable=3, interval_s=0)
    assert not conv.ok and conv.count == 4 and conv.flapped


def test_converge_first_try_is_not_flapping():
    conv = converge(lambda: 1, lambda v: (True, "ok"), deadline_s=1, stable=2, interval_s=0)
    assert conv.ok and conv.count == 2 and not conv.flapped
    assert all(a.matched for a in conv.attempts)


def test_converge_lets_observation_errors_through():
    def boom():
        raise RuntimeError("exec failed")
    with pytest.raises(RuntimeError, match="exec failed"):
        converge(boom, lambda v: (True, ""), deadline_s=1, stable=1, interval_s=0)



def test_a_flaky_change_names_the_round_that_lost_its_match():
    """For a change the settling misses are expected; the note must also say what the lost round saw."""
    from cnimatrix.testkit.record import TestRecord
    from cnimatrix.probe.converge import Attempt, Convergence

    rounds = [(False, "6 ready backends, waiting for 2"), (True, "ok"), (False, "answered by a terminating pod"),
              (True, "ok"), (True, "ok"), (True, "ok")]
    attempts = [Attempt(float(i), m, r) for i, (m, r) in enumerate(rounds)]
    conv = Convergence(ok=True, attempts=attempts, flapped=True, lost=attempts[2])
    record = TestRecord()
    record.convergence("scale-down", conv, steady=False)
    assert record.flaky
    assert record.notes == ["scale-down: matched only after 2 miss(es), first: 6 ready backends, waiting for 2; "
                            "match lost at 2.0 s: answered by a terminating pod"]
    steady = TestRecord()
    steady.convergence("udp", Convergence(ok=True, attempts=[Attempt(0.0, False, "p=0.0005"), Attempt(1.0, True, "ok")]))
    assert steady.notes == ["udp: matched only after 1 miss(es), first: p=0.0005"]
