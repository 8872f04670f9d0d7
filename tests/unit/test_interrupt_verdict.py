"""An interrupt that a client library turned into its own exception (seen: the Kubernetes client's
exec raised ApiException(0) "SIGINT received", and the run went on) must stop the run and leave the
scenario not-run, not failed; without an interrupt the same failure is a failure."""
from types import SimpleNamespace

import pytest

from cnimatrix.testkit import plugin
from cnimatrix.testkit.run import RunState


def _report_for(run_status: str):
    state = RunState(run_status=run_status, run_reason="SIGINT received" if run_status == "interrupted" else "")
    config = SimpleNamespace(stash={plugin.state_key: state}, getoption=lambda name: "flannel" if name == "--cni" else True)
    session = SimpleNamespace(shouldstop=False)
    item = SimpleNamespace(config=config, session=session, stash=pytest.Stash(), nodeid="suites/service/test_x.py::test_y",
                           name="test_y", fspath="suites/service/test_x.py", get_closest_marker=lambda name: None,
                           function=None, location=("suites/service/test_x.py", 1, "test_y"))
    crash = SimpleNamespace(message="kubernetes.client.exceptions.ApiException: (0) Reason: SIGINT received")
    report = SimpleNamespace(when="call", duration=1.0, failed=True, passed=False, skipped=False, outcome="failed",
                             longrepr=SimpleNamespace(reprcrash=crash))
    hook = plugin.pytest_runtest_makereport(item, None)
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(SimpleNamespace(get_result=lambda: report))
    return state.results[item.nodeid], session


def test_a_failure_raised_by_an_interrupt_stops_the_run_and_stays_not_run():
    entry, session = _report_for("interrupted")
    assert entry["outcome"] == "not-run" and session.shouldstop == "SIGINT received"


def test_the_same_failure_without_an_interrupt_is_a_failure():
    state_entry, session = _report_for("completed")
    assert state_entry["outcome"] == "failed" and not session.shouldstop
