"""Upstream bug reports named in the catalog: parsed, stamped on failures only, shown in the comparison."""

import copy
import re
from pathlib import Path

import pytest

from cnimatrix.cni import CniDataError, KnownIssue, catalog, load, load_file
from cnimatrix.compare import model, present, render_html, render_md
from cnimatrix.compare.load import Run
from cnimatrix.netpol import cases
from cnimatrix.testkit.plugin import _mark_known_issue
from tests.unit.test_podnet import write

URL = "https://github.com/cilium/cilium/issues/48703"
ISSUE = KnownIssue(issue=URL, summary="policyTypes ignored", scenarios=("test_policy_case[update-policy-types]",))


def test_known_issues_parse_and_look_up(tmp_path):
    cni = load_file(write(tmp_path, f"known_issues:\n  - {{issue: '{URL}', summary: s, scenarios: [test_a, 'test_b[x]']}}\n"))
    assert cni.known_issue("test_b[x]").issue == URL
    assert cni.known_issue("test_c") is None
    assert load_file(write(tmp_path, "")).known_issues == ()


@pytest.mark.parametrize("extra, problem", [
    ("known_issues: {}\n", "known_issues: must be a list"),
    ("known_issues: [{issue: 'http://x/1', summary: s, scenarios: [test_a]}]\n", "issue: must be the upstream report's https URL"),
    (f"known_issues: [{{issue: '{URL}', summary: s, scenarios: []}}]\n", "scenarios: must be a non-empty list"),
    (f"known_issues: [{{issue: '{URL}', summary: s, scenarios: [a_test]}}]\n", "scenarios: must be a non-empty list"),
    (f"known_issues: [{{issue: '{URL}', scenarios: [test_a]}}]\n", "summary: is required"),
    (f"known_issues: [{{issue: '{URL}', summary: s, scenarios: [test_a], fixed_in: v2}}]\n", "unknown field"),
])
def test_bad_known_issues_are_one_clear_error(tmp_path, extra, problem):
    with pytest.raises(CniDataError, match=problem):
        load_file(write(tmp_path, extra))


def test_shipped_known_issues_name_real_scenarios():
    policy_cases = {c.name for c in cases.load_all()}
    suites = "\n".join(p.read_text() for p in Path("suites").rglob("test_*.py"))
    for name in catalog.known():
        for known in load(name).known_issues:
            for scenario in known.scenarios:
                function, _, param = scenario.partition("[")
                assert f"def {function}(" in suites, scenario
                if function == "test_policy_case":
                    assert param.rstrip("]") in policy_cases, scenario


def test_failure_links_the_issue_and_stays_a_failure():
    entry = {"outcome": "failed", "message": "initial: 10 cell(s) differ"}
    _mark_known_issue(entry, ISSUE)
    assert entry["outcome"] == "failed" and entry["known_issue"] == {"issue": URL, "summary": "policyTypes ignored"}


def test_pass_of_a_listed_scenario_is_flagged_and_others_untouched():
    passed = {"outcome": "passed", "flags": ["works-despite-declared"]}
    _mark_known_issue(passed, ISSUE)
    assert passed["flags"] == ["known-issue-not-seen", "works-despite-declared"] and "known_issue" not in passed
    skipped = {"outcome": "skipped"}
    _mark_known_issue(skipped, ISSUE)
    assert skipped == {"outcome": "skipped"}
    failed = {"outcome": "failed"}
    _mark_known_issue(failed, None)
    assert failed == {"outcome": "failed"}


def test_issue_ref_is_short_for_github_and_whole_otherwise():
    assert present.issue_ref(URL) == "cilium/cilium#48703"
    assert present.issue_ref("https://bugs.example.org/42") == "https://bugs.example.org/42"


def summary_with(test: dict) -> dict:
    return {"schema_version": 2, "cni": {"name": "cilium", "version": "v1.20.2"}, "kubernetes_version": "v1.37.1",
            "kind_version": "v0.33.0", "node_image": "kindest/node:v1.37.1", "offline": True,
            "started_at": "2026-11-22T00:00:00Z", "finished_at": "2026-11-22T00:10:00Z", "timings_s": {},
            "tests": [test], "metrics": {}}


def test_comparison_cells_carry_the_issue_on_failures_only():
    base = {"id": "suites/netpol/test_netpol.py::test_policy_case[update-policy-types]", "suite": "netpol",
            "title": "t", "outcome": "failed", "duration_s": 1.0, "attempts": 1, "flaky": False,
            "message": "initial: 10 cell(s) differ", "metrics": {}, "known_issue": {"issue": URL, "summary": "s"}}
    cell = model.cell(base, Run(column="cilium", doc=summary_with(base)))
    assert cell["status"] == "failed" and cell["known_issue"]["issue"] == URL
    passed = {**copy.deepcopy(base), "outcome": "passed"}
    assert "known_issue" not in model.cell(passed, Run(column="cilium", doc=summary_with(passed)))


def test_renderings_link_the_issue():
    cell = {"status": "failed", "reason": "initial: 10 cell(s) differ", "declared": None, "flags": [],
            "known_issue": {"issue": URL, "summary": "policyTypes ignored"}}
    assert "(known upstream: cilium/cilium#48703)" in render_md.cell_text(cell)
    row = {"id": "t", "cells": {"cilium": cell}}
    html = render_html.cell_html("cilium", row)
    assert re.search(rf'<a href="{re.escape(URL)}" data-known-issue="{re.escape(URL)}">cilium/cilium#48703</a>', html)
    assert "known upstream issue" in present.hover(cell)


def test_summary_keeps_the_known_issue_through_its_schema():
    from cnimatrix.results import TestResult, validate
    from tests.unit.test_results import make_summary
    linked = TestResult(id="suites/netpol/test_netpol.py::test_policy_case[update-policy-types]", suite="netpol", title="t",
                        outcome="failed", duration_s=1.0, message="differ", known_issue={"issue": URL, "summary": "s"})
    doc = make_summary(tests=[linked]).to_dict()
    validate(doc)
    assert doc["tests"][0]["known_issue"] == {"issue": URL, "summary": "s"}
    assert TestResult.from_dict(doc["tests"][0]) == linked
    bad = copy.deepcopy(doc)
    bad["tests"][0]["known_issue"]["issue"] = "not a url"
    with pytest.raises(ValueError):
        validate(bad)
