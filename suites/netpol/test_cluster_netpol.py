"""Cluster-wide policy: every case of manifests/netpol/cluster-cases (network-policy-api's
ClusterNetworkPolicy, v1alpha2: Admin and Baseline tiers around NetworkPolicy), judged as a
reachability matrix on the NetworkPolicy suite's namespace sets, run ahead beside its cases.

The expected matrices come from the cluster policy engine (cnimatrix/netpol/cluster_policy.py);
cells the API leaves undefined (equal priorities that disagree) are shown, not judged. A CNI that
declares cluster_network_policy not enforced still runs every case: where it shows what the
NetworkPolicies alone would, the case is reported "not enforced (declared)", never passed.
"""
from __future__ import annotations

import pytest
from test_netpol import verdict_of

from cnimatrix.netpol import cluster_cases

pytestmark = pytest.mark.suite("netpol")

CASES = cluster_cases.load_all()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=pytest.mark.title(f"cluster {c.category}: {c.description}"))
                                  for c in CASES])
def test_cluster_policy_case(cases_ahead, not_enforced, record, request, case):
    verdict_of(cases_ahead, case, not_enforced, record, request, tier=tiers(case))


def tiers(case) -> str:
    """admin, baseline or admin+baseline: the tiers the case's cluster policies use, at any step."""
    found = {p["spec"]["tier"] for p in case.cluster_policies}
    found |= {s.body["spec"]["tier"] for s in case.steps if s.action == "apply_cluster_policy"}
    return "+".join(sorted(t.lower() for t in found))
