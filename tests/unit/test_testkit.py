"""The testkit's pure parts: timeouts, the capability vocabulary, expect, and the declared-gap verdict."""
from types import SimpleNamespace

import pytest

from cnimatrix.cni import catalog
from cnimatrix.testkit.declared import declared_key, gap_key, judge_call as judge_declared_gap
from cnimatrix.testkit.record import TestRecord
from cnimatrix.testkit import TIMEOUTS, UnknownCapability, VOCABULARY, check_known, deadline, expect


def test_named_timeouts_come_from_the_one_table():
    assert deadline("steady") == TIMEOUTS["steady"] and deadline("change") == TIMEOUTS["change"]
    assert deadline(7) == 7.0


@pytest.mark.parametrize("bad", ["stedy", 0, -1])
def test_an_unknown_or_non_positive_timeout_is_refused(bad):
    with pytest.raises(ValueError):
        deadline(bad)


def test_a_misspelt_capability_is_refused_with_the_known_names():
    with pytest.raises(UnknownCapability, match="'hairpn'.*hairpin"):
        check_known(["hairpn"], "suites/service/test_service.py::test_hairpin")


def test_known_capabilities_pass():
    check_known(["hairpin", "udp_services"], "here")  # no exception


def test_every_capability_a_cni_file_declares_is_in_the_vocabulary():
    for cni in catalog.load_all():
        check_known(cni.capabilities, f"cnis/{cni.name}.yaml")
    assert "networkpolicy" in VOCABULARY


def test_expect_passes_and_records_the_settle_time():
    rec = TestRecord()
    seen = iter([False, True, True])
    expect(rec, "thing", lambda: next(seen), lambda v: (v, "state"), timeout=5, stable=2, interval_s=0)
    assert rec.attempts == 3 and "thing" in rec.metrics["settle_s"]
    assert rec.flaky  # a steady-state expectation that missed first is flaky


def test_expect_after_a_change_is_not_flaky_for_settling_misses():
    rec = TestRecord()
    seen = iter([False, True, True])
    expect(rec, "scale", lambda: next(seen), lambda v: (v, "state"), timeout=5, stable=2, interval_s=0, steady=False)
    assert not rec.flaky


def test_expect_fails_with_what_it_last_saw():
    rec = TestRecord()
    with pytest.raises(AssertionError, match=r"the thing: 3 ready \(after \d+ attempts\)"):
        expect(rec, "t", lambda: 3, lambda v: (False, f"{v} ready"), timeout=0.2, interval_s=0.05, what="the thing")
    assert rec.attempts >= 1


def _item(gap):
    stash = pytest.Stash()
    if gap:
        stash[gap_key] = gap
    return SimpleNamespace(stash=stash, fspath="suites/x.py", location=("suites/x.py", 3, "t"),
                           config=SimpleNamespace(getoption=lambda name: "flannel"))


def _report(outcome):
    crash = SimpleNamespace(message="AssertionError: hairpin: 5/5 failed")
    return SimpleNamespace(when="call", outcome=outcome, failed=outcome == "failed", passed=outcome == "passed",
                           longrepr=SimpleNamespace(reprcrash=crash))


GAP = {"capability": "hairpin", "status": "unsupported", "evidence": "no hairpin on the bridge"}


def test_a_failure_under_a_declared_gap_is_reported_as_the_declaration_observed():
    item, report, rec = _item(GAP), _report("failed"), TestRecord()
    judge_declared_gap(item, report, rec)
    assert report.outcome == "skipped" and item.stash[declared_key] == GAP
    assert "declares hairpin unsupported" in report.longrepr[2] and "observed: AssertionError" in report.longrepr[2]
    assert not rec.flags


def test_a_pass_under_a_declared_gap_is_flagged_works_despite_declared():
    item, report, rec = _item(GAP), _report("passed"), TestRecord()
    judge_declared_gap(item, report, rec)
    assert report.outcome == "passed" and rec.flags == ["works-despite-declared"]


def test_a_not_enforced_declaration_marks_the_record():
    rec = TestRecord()
    judge_declared_gap(_item({**GAP, "status": "not-enforced"}), _report("failed"), rec)
    assert rec.not_enforced


def test_without_a_gap_a_failure_stays_a_failure():
    item, report = _item(None), _report("failed")
    judge_declared_gap(item, report, TestRecord())
    assert report.outcome == "failed" and declared_key not in item.stash


def test_expect_runs_then_before_the_verdict_even_when_it_fails():
    rec, kept = TestRecord(), []
    with pytest.raises(AssertionError):
        expect(rec, "t", lambda: 5, lambda v: (False, "no"), timeout=0.1, interval_s=0.05, then=lambda c: kept.append(c.last))
    assert kept == [5]


def _in_suite(name):
    return SimpleNamespace(get_closest_marker=lambda marker: SimpleNamespace(args=(name,)) if marker == "suite" else None)


def test_a_suite_ends_where_the_next_test_is_another_suites():
    from cnimatrix.testkit.plugin import suite_ends
    assert suite_ends(_in_suite("podnet"), _in_suite("service"))


def test_a_suite_goes_on_while_the_next_test_is_its_own_and_the_last_test_leaves_it_to_the_session():
    from cnimatrix.testkit.plugin import suite_ends
    assert not suite_ends(_in_suite("netpol"), _in_suite("netpol"))
    assert not suite_ends(_in_suite("gateway"), None)
