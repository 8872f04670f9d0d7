"""Cluster-wide policy in the comparison: per CNI, how the ClusterNetworkPolicy cases of each tier
fared (suites/netpol/test_cluster_netpol.py, each test's metrics.tier).

Teams choosing a CNI for admin policy ask "does it enforce the Admin tier, the Baseline tier,
both together?": one row per tier answers that at a glance, the per-case cells stay in the
NetworkPolicy suite's table. A column without such cases says so, never a zero.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.results.cluster_policy_report import CASE_TEST

TIERS = ("admin", "baseline", "admin+baseline")
STATUSES = ("passed", "flaky", "failed", "not-enforced", "not-supported", "error")
NOT_RUN = "no cluster-wide cases run"
_FROM_OUTCOME = {"passed": "passed", "failed": "failed", "skipped": "not-supported", "error": "error",
                 "not-enforced": "not-enforced"}


def entry(column: str, tests: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """One column: per tier, how many of its cases ended in each status."""
    counts: dict[str, dict[str, int]] = {}
    for test in tests or []:
        tier = (test.get("metrics") or {}).get("tier")
        status = _FROM_OUTCOME.get(test.get("outcome", ""))
        if CASE_TEST not in test.get("id", "") or tier not in TIERS or status is None:
            continue
        if status == "passed" and test.get("flaky"):
            status = "flaky"
        counts.setdefault(tier, dict.fromkeys(STATUSES, 0))[status] += 1
    return {"column": column, "recorded": bool(counts), "tiers": {t: counts[t] for t in TIERS if t in counts}}


def section(columns: Sequence[str], tests: Sequence[Sequence[Mapping[str, Any]] | None]) -> list[dict[str, Any]] | None:
    """comparison.json `cluster_policy`: one entry per column, or None when no column ran such cases."""
    entries = [entry(column, found) for column, found in zip(columns, tests)]
    return entries if any(e["recorded"] for e in entries) else None


def cell(counts: Mapping[str, int] | None) -> str:
    """'5/5 passed', '3/5 passed, 2 failed', '5 not enforced (declared)'."""
    if not counts:
        return "—"
    total = sum(counts.values())
    good = counts["passed"] + counts["flaky"]
    if good == total:
        return f"{good}/{total} passed" + (f" ({counts['flaky']} flaky)" if counts["flaky"] else "")
    if counts["not-enforced"] + counts["not-supported"] == total:
        return f"{total} not enforced (declared)"
    parts = [f"{good}/{total} passed"]
    parts += [f"{counts[s]} {s.replace('-', ' ')}" for s in ("failed", "error", "not-enforced", "not-supported") if counts[s]]
    return ", ".join(parts)


def rows(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(tier, one text per column) for both renderings."""
    tiers = [t for t in TIERS if any(t in e["tiers"] for e in entries)]
    return [(tier, [cell(e["tiers"].get(tier)) if e["recorded"] else NOT_RUN for e in entries]) for tier in tiers]


NOTE = ("ClusterNetworkPolicy (network-policy-api v1alpha2) cases by the tiers their policies use; each case is in "
        "the NetworkPolicy suite's table. Not enforced (declared): the CNI declares no support, and it showed the "
        "NetworkPolicies' verdict alone.")
