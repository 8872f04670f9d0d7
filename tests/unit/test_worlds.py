"""Suites' worlds made ahead (cnimatrix/testkit/worlds.py): the order they are made in, the hand-over
between the background job and a fixture, and when nothing is made ahead."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from cnimatrix.testkit import background, worlds
from cnimatrix.testkit.run import RunState, run_state, state_key


class Item:
    def __init__(self, *fixturenames: str):
        self.fixturenames = fixturenames


def config_with(**options):
    defaults = {"--cni": "calico", "breakage": None, "--concurrency": 2}
    config = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name: {**defaults, **options}.get(name))
    config.stash[state_key] = RunState()
    return config


class Request:
    """What the job asks of the request that starts it: the session's items and session fixtures."""

    def __init__(self, config, items):
        self.config, self.session = config, SimpleNamespace(items=items)

    def getfixturevalue(self, name):
        return f"<{name}>"


def run_job(config, items):
    request = Request(config, items)
    config.stash[background.jobs_key].start_all(request)
    job = background.started(config, worlds.JOB)
    job.value(10)
    return request, job


def test_worlds_are_made_one_after_another_in_the_order_the_run_uses_them():
    config, made = config_with(), []
    items = [Item("iso"), Item("svc")]   # as collected
    worlds.offer(config, items, "day2", "iso", lambda r, c: made.append(("day2", c)) or "iso-world", ("cluster",))
    worlds.offer(config, items, "service", "svc", lambda r, c: made.append(("service", c)) or "svc-world", ("cluster",))
    run_order = [Item("podnet"), Item("svc"), Item("svc"), Item("iso")]   # as background ordered them
    request, _ = run_job(config, run_order)
    assert made == [("service", "<cluster>"), ("day2", "<cluster>")]
    assert worlds.world(request, "service", lambda r, c: "made now", "x") == "svc-world"
    assert [b["name"] for b in run_state(request).background] == ["service: set-up", "day2: set-up"]


def test_a_world_its_fixture_asked_for_first_is_made_there_and_skipped_by_the_job():
    config, made = config_with(), []
    items = [Item("svc"), Item("iso")]
    gate = threading.Event()
    worlds.offer(config, items, "service", "svc", lambda r: gate.wait(10) and made.append("service by job"), ())
    worlds.offer(config, items, "day2", "iso", lambda r: made.append("day2 by job"), ())
    request = Request(config, items)
    config.stash[background.jobs_key].start_all(request)
    # the job is still making the service world: day2's fixture asks first and makes its own
    assert worlds.world(request, "day2", lambda r: made.append("day2 in turn") or "mine") == "mine"
    gate.set()
    background.started(config, worlds.JOB).value(10)
    assert made == ["day2 in turn", "service by job"]


def test_a_world_its_fixture_made_before_the_job_started_is_not_made_again():
    """An `alone` test asks for its world before any test that starts the background jobs."""
    config, made = config_with(), []
    items = [Item("iso"), Item("svc")]
    worlds.offer(config, items, "day2", "iso", lambda r: made.append("day2 by job"), ())
    worlds.offer(config, items, "service", "svc", lambda r: made.append("service by job"), ())
    request = Request(config, items)
    assert worlds.world(request, "day2", lambda r: made.append("day2 in turn") or "mine") == "mine"
    config.stash[background.jobs_key].start_all(request)
    background.started(config, worlds.JOB).value(10)
    assert made == ["day2 in turn", "service by job"]


def test_a_world_that_failed_ahead_fails_its_fixture_with_the_same_error():
    config = config_with()
    items = [Item("svc")]

    def skipped(request):
        pytest.skip("the Service suite needs 2 worker nodes")
    worlds.offer(config, items, "service", "svc", skipped, ())
    request, _ = run_job(config, items)
    with pytest.raises(pytest.skip.Exception, match="2 worker nodes"):
        worlds.world(request, "service", lambda r: "made now")


@pytest.mark.parametrize("options", [{"breakage": "node-route-removed"}, {"--concurrency": 1}, {"--cni": None}],
                         ids=["negative control", "concurrency 1", "no cni"])
def test_nothing_is_made_ahead_under_a_control_without_concurrency_or_without_a_cni(options):
    config = config_with(**options)
    worlds.offer(config, [Item("svc")], "service", "svc", lambda r: "ahead", ())
    assert background.jobs_key not in config.stash
    assert worlds.world(Request(config, []), "service", lambda r: "made now") == "made now"


def test_the_twin_a_plain_run_offers_the_job():
    config = config_with()
    worlds.offer(config, [Item("svc")], "service", "svc", lambda r: "ahead", ())
    assert worlds.JOB in config.stash[background.jobs_key].offered
    worlds.offer(config, [Item("svc")], "dns", "dnsenv", lambda r: "ahead", ())   # dnsenv unused: not planned
    assert list(config.stash[worlds.worlds_key].planned) == ["service"]
