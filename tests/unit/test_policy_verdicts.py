"""suites/netpol/policy_cases.run_case's verdicts, on a scripted matrix (the observations a cluster
would give, round by round): passed, not-enforced (fail-open steadily), failed (allowed traffic
blocked), and a starved round absorbed rather than judged."""
from __future__ import annotations

import sys
from pathlib import Path

from cnimatrix.netpol import cases as catalog
from cnimatrix.netpol import cluster_cases
from cnimatrix.netpol.reachability import Table, expected
from cnimatrix.testkit import settle

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "suites" / "netpol"))
from policy_cases import FAILED, NOT_ENFORCED, PASSED, run_case  # noqa: E402

CASE = next(c for c in catalog.load_all() if c.name == "deny-all-namespace")


def want_tables(case) -> dict:
    state = catalog.states(case)[0]
    return {t: expected(state.policies, state.namespaces, state.pods, t) for t in case.targets}


def all_allowed(case) -> dict:
    tables = {}
    for t in case.targets:
        table = Table(catalog.MATRIX_PODS, t)
        for src in catalog.MATRIX_PODS:
            for dst in catalog.MATRIX_PODS:
                table.record(src, dst, True)
        tables[t] = table
    return tables


def with_blocked(tables: dict, src: str, dst: str) -> dict:
    """The same observation with one cell denied (an allowed probe that timed out)."""
    out = {}
    for t, table in tables.items():
        copy = Table(table.pods, t, dict(table.cells))
        copy.record(src, dst, False)
        out[t] = copy
    return out


class ScriptedMatrix:
    """Stands in for MatrixEnv: policies and labels go nowhere, each round is the next scripted
    observation (the last one repeats), convergence is testkit's own with short deadlines."""

    def __init__(self, rounds: list[dict]):
        self.rounds, self.ips, self.pod_cidr, self.effects = list(rounds), dict(catalog.SAMPLE_IPS), catalog.SAMPLE_POD_CIDR, []
        self.nodes = {}

    def reset(self):
        pass

    def set_namespace_labels(self, *args):
        pass

    def set_pod_labels(self, *args):
        pass

    def apply_policy(self, *args):
        pass

    def apply_cluster_policy(self, *args):
        pass

    def observe(self, targets, through_service=False, check=lambda: None):
        return self.rounds.pop(0) if len(self.rounds) > 1 else self.rounds[0]

    def settle(self, record, name, observe, judge, enforced):
        return settle(record, name, observe, judge, timeout=3.0 if enforced else 0.5, stable=3, interval_s=0, steady=False)


def same_node_pair() -> tuple[str, str]:
    return "y/a", "y/b"   # allowed by deny-all-namespace (it denies into x only)


def test_the_expected_matrix_passes_on_an_enforcing_cni():
    run = run_case(ScriptedMatrix([want_tables(CASE)]), CASE, enforcing=True, gaps=[])
    assert run.verdict == PASSED, run.reason


def test_steady_fail_open_on_a_cni_without_enforcement_is_not_enforced():
    run = run_case(ScriptedMatrix([all_allowed(CASE)]), CASE, enforcing=False, gaps=[])
    assert run.verdict == NOT_ENFORCED and "expected denied, observed allowed" in run.reason


def test_a_starved_round_before_a_steady_fail_open_is_absorbed_not_judged():
    starved = with_blocked(all_allowed(CASE), *same_node_pair())
    run = run_case(ScriptedMatrix([starved, all_allowed(CASE)]), CASE, enforcing=False, gaps=[])
    assert run.verdict == NOT_ENFORCED, run.reason


def test_allowed_traffic_blocked_for_good_fails_even_without_enforcement():
    blocked = with_blocked(all_allowed(CASE), *same_node_pair())
    run = run_case(ScriptedMatrix([blocked]), CASE, enforcing=False, gaps=[])
    assert run.verdict == FAILED and "y/a -> y/b" in run.reason


def test_an_enforcing_cni_that_lets_denied_traffic_through_fails():
    run = run_case(ScriptedMatrix([all_allowed(CASE)]), CASE, enforcing=True, gaps=[])
    assert run.verdict == FAILED


def test_the_case_under_test_denies_something():
    assert any(t.denied() for t in want_tables(CASE).values())   # else the verdicts above prove nothing


# A cluster-wide case whose policies change nothing the NetworkPolicy alone would not decide.
SILENT = next(c for c in cluster_cases.load_all() if c.name == "admin-pass-then-networkpolicy-deny-is-final")


def cluster_tables(case, ignoring: bool) -> dict:
    state = cluster_cases.states(case)[0]
    table = cluster_cases.ignoring_cluster_policies if ignoring else cluster_cases.expected_table
    return {t: table(state, t) for t in case.targets}


def test_the_silent_case_really_expects_what_the_networkpolicy_alone_shows():
    assert all(cluster_tables(SILENT, False)[t].cells == cluster_tables(SILENT, True)[t].cells for t in SILENT.targets)


def test_a_case_that_cannot_tell_is_not_enforced_never_passed_on_a_cni_without_support():
    run = run_case(ScriptedMatrix([cluster_tables(SILENT, True)]), SILENT, enforcing=False, gaps=[])
    assert run.verdict == NOT_ENFORCED and "cannot tell" in run.reason


def test_the_same_observation_passes_where_the_cni_declares_support():
    run = run_case(ScriptedMatrix([cluster_tables(SILENT, True)]), SILENT, enforcing=True, gaps=[])
    assert run.verdict == PASSED, run.reason


def test_a_telling_case_matched_on_a_cni_without_support_still_passes_flagged():
    telling = next(c for c in cluster_cases.load_all() if c.name == "peers-namespace-expression")
    assert any(cluster_tables(telling, False)[t].cells != cluster_tables(telling, True)[t].cells for t in telling.targets)
    run = run_case(ScriptedMatrix([cluster_tables(telling, False)]), telling, enforcing=False, gaps=[])
    assert run.verdict == PASSED and run.record.flags, run.reason
