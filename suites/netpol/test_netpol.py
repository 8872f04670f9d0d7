"""NetworkPolicy suite: every case of manifests/netpol/cases, judged as a reachability matrix.

Each case runs on a namespace set of its own (x, y, z with pods a, b, c), several cases at once,
ahead of their tests (policy_cases.py runs one; the `cases_ahead` fixture schedules them); the
test takes its case's run and gives the verdict.

A CNI that declares NetworkPolicy not enforced still runs every case: where it lets denied
traffic through, the case is reported "not enforced (declared)", never passed; where it enforces
anyway, that is flagged. A CNI that declares enforcement and lets denied traffic through fails.
"""
from __future__ import annotations

import time

import pytest
from policy_cases import DECLARED, FAILED, NOT_ENFORCED, case_key, engine_of

from cnimatrix.netpol import cases as catalog
from cnimatrix.testkit import declared

pytestmark = pytest.mark.suite("netpol")

CASES = catalog.load_all()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=pytest.mark.title(f"{c.category}: {c.description}"))
                                  for c in CASES])
def test_policy_case(cases_ahead, not_enforced, record, request, case):
    verdict_of(cases_ahead, case, not_enforced, record, request)


def verdict_of(cases_ahead, case, not_enforced, record, request, **metrics) -> None:
    """Take the case's run from the pool and give its verdict; a not-enforced run observed the
    declaration of its kind's capability (networkpolicy, cluster_network_policy)."""
    asked = time.monotonic()
    done = cases_ahead.result(case_key(case))
    run = done.value
    record.absorb(run.record, waited_s=time.monotonic() - asked)
    record.metrics.update(namespace_set=done.slot, ran_s=done.took_s, **metrics)
    for name, text in run.attachments:
        attach(name, text)
    if run.verdict == NOT_ENFORCED:
        not_enforced(run.reason, engine_of(case).capability)
    if run.verdict == DECLARED:
        declared.observed(request, record, run.gap, run.reason, not_enforced=False)
    if run.verdict == FAILED:
        pytest.fail(run.reason, pytrace=False)


def attach(name: str, text: str) -> None:
    try:
        import allure
    except ImportError:
        return
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
