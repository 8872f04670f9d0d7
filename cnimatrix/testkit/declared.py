"""Declared gaps: a capability the CNI (or an add-on) says it lacks, with evidence. The scenario
still runs, and this module is the one way its verdict is given: a failure is the declaration
observed (reported skipped, or not-enforced, with the evidence and what was seen), a pass is
flagged works-despite-declared, so a wrong declaration shows in the report."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NoReturn

import pytest

from cnimatrix.cni.catalog import UNSUPPORTED_HERE, effective
from cnimatrix.testkit.record import failure_text

NOT_SUPPORTED = frozenset({"unsupported", "not-enforced", UNSUPPORTED_HERE})
WORKS_DESPITE_DECLARED = "works-despite-declared"

declared_key = pytest.StashKey[dict]()  # {capability, status, evidence} behind a scenario's verdict
# A gap the plugin judges when the call ends (a `requires` capability the CNI declares it lacks).
gap_key = pytest.StashKey[dict]()


def gap(capability: str, status: str, evidence: str) -> dict:
    """A declaration as summary.json's `declared` field holds it (evidence on one line)."""
    return {"capability": capability, "status": status, "evidence": " ".join(str(evidence).split())}


def cni_gaps(cni, kernel_features: Mapping[str, bool], capabilities: Iterable[str]) -> list[dict]:
    """The capabilities among `capabilities` the CNI declares missing on this host, in order."""
    found = []
    for name in capabilities:
        status, evidence = effective(cni.capability(name), kernel_features)
        if status in NOT_SUPPORTED:
            found.append(gap(name, status, evidence))
    return found


def run_under(node, declared: dict) -> None:
    """Judge this scenario's call under `declared` when it ends (see `judge_call`)."""
    node.stash[gap_key] = declared


def reason(owner: str, declared: dict, seen: str) -> str:
    return f"{owner} declares {declared['capability']} {declared['status']}; observed: {seen}"


def observed(request, record, declared: dict, seen: str, owner: str | None = None,
             not_enforced: bool | None = None) -> NoReturn:
    """The scenario failed the way `declared` says: report it so, now (skipped, or not-enforced)."""
    request.node.stash[declared_key] = declared
    record.not_enforced = declared["status"] == "not-enforced" if not_enforced is None else not_enforced
    pytest.skip(reason(owner or request.config.getoption("--cni"), declared, seen))


def worked(record) -> None:
    """The scenario passed although a capability it needs is declared missing."""
    if WORKS_DESPITE_DECLARED not in record.flags:
        record.flags.append(WORKS_DESPITE_DECLARED)


def judge_call(item, report, record) -> None:
    """For a scenario run under a gap (`run_under`): a failed call becomes the declaration
    observed, a passed one is flagged. Called by the plugin on each report."""
    declared = item.stash.get(gap_key, None)
    if declared is None or report.when != "call":
        return
    item.stash[declared_key] = declared
    if report.failed:
        seen = failure_text(report).splitlines()[0][:300]
        text = reason(item.config.getoption("--cni"), declared, seen)
        report.outcome, report.longrepr = "skipped", (str(item.fspath), item.location[1], f"Skipped: {text}")
        record.not_enforced = declared["status"] == "not-enforced"
    elif report.passed:
        worked(record)
