"""Cluster-wide policy: every case of manifests/netpol/cluster-cases (network-policy-api's
ClusterNetworkPolicy, v1alpha2: Admin and Baseline tiers around NetworkPolicy), judged as a
reachability matrix on the NetworkPolicy suite's namespace sets, run ahead beside its cases.

The expected matrices come from the cluster policy engine (cnimatrix/netpol/cluster_policy.py);
cells the API leaves undefined (equal priorities that disagree) are shown, not judged. A CNI that
declares cluster_network_policy not enforced still runs every case: where it shows what the
NetworkPolicies alone would, the case is reported "not enforced (declared)", never passed.
"""
from __future__ import annotations

import time

import pytest
from policy_cases import DECLARED, FAILED, NOT_ENFORCED
from test_netpol import attach

from cnimatrix.netpol import cluster_cases
from cnimatrix.testkit import declared

pytestmark = pytest.mark.suite("netpol")

CASES = cluster_cases.load_all()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=pytest.mark.title(f"cluster {c.category}: {c.description}"))
                                  for c in CASES])
def test_cluster_policy_case(cases_ahead, not_enforced, record, request, case):
    asked = time.monotonic()
    done = cases_ahead.result(f"cluster/{case.name}")
    run = done.value
    record.absorb(run.record, waited_s=time.monotonic() - asked)
    record.metrics.update(namespace_set=done.slot, ran_s=done.took_s, tier=tiers(case))
    for name, text in run.attachments:
        attach(name, text)
    if run.verdict == NOT_ENFORCED:
        not_enforced(run.reason, "cluster_network_policy")
    if run.verdict == DECLARED:
        declared.observed(request, record, run.gap, run.reason, not_enforced=False)
    if run.verdict == FAILED:
        pytest.fail(run.reason, pytrace=False)


def tiers(case) -> str:
    """admin, baseline or admin+baseline: the tiers the case's cluster policies use, at any step."""
    found = {p["spec"]["tier"] for p in case.cluster_policies}
    found |= {s.body["spec"]["tier"] for s in case.steps if s.action == "apply_cluster_policy"}
    return "+".join(sorted(t.lower() for t in found))
