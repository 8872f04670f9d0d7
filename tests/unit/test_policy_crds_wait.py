"""The cluster-wide policy CRD's wait: polled until Established, patient with a CRD that has no
status conditions yet (where `kubectl wait` failed at once), and bounded."""
from __future__ import annotations

import pytest

from cnimatrix.cluster import policy_crds


class Answers:
    """A stand-in cluster whose `kubectl get` gives the condition's status from a script."""

    def __init__(self, *states: str):
        self.states, self.calls = list(states), []

    def kubectl(self, *args: str, check: bool = True) -> str:
        self.calls.append(args)
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def test_a_crd_without_conditions_yet_is_waited_for_until_established():
    cluster = Answers("", "False", "True")
    policy_crds.wait_established(cluster, policy_crds.CRD, timeout_s=5, poll_s=0)
    assert len(cluster.calls) == 3 and cluster.calls[0][:2] == ("get", f"crd/{policy_crds.CRD}")


def test_a_crd_never_established_fails_at_the_bound_with_what_it_saw():
    with pytest.raises(policy_crds.NotEstablished, match="not Established within 0.05 s \\(condition: none yet\\)"):
        policy_crds.wait_established(Answers(""), policy_crds.CRD, timeout_s=0.05, poll_s=0.01)
