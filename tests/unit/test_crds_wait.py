"""The CRD wait (the cluster-wide policy CRD, add-ons' CRDs): polled until Established, patient with
a CRD that has no status conditions yet (where `kubectl wait` failed at once), and bounded."""
from __future__ import annotations

import pytest

from cnimatrix.cluster import crds, policy_crds


class Answers:
    """A stand-in cluster whose `kubectl get` gives the condition's status from a script."""

    def __init__(self, *states: str):
        self.states, self.calls = list(states), []

    def kubectl(self, *args: str, check: bool = True) -> str:
        self.calls.append(args)
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def test_a_crd_without_conditions_yet_is_waited_for_until_established():
    cluster = Answers("", "False", "True")
    crds.wait_established(cluster, [policy_crds.CRD], timeout_s=5, poll_s=0)
    assert len(cluster.calls) == 3 and cluster.calls[0][:2] == ("get", f"crd/{policy_crds.CRD}")


def test_a_crd_never_established_fails_at_the_bound_with_what_it_saw():
    with pytest.raises(crds.NotEstablished, match="not Established within 0.05 s \\(condition: none yet\\)"):
        crds.wait_established(Answers(""), [policy_crds.CRD], timeout_s=0.05, poll_s=0.01)


def test_several_crds_are_each_waited_for_and_only_those_still_waiting_are_named():
    cluster = Answers("True", "", "True")   # a at once; b after one more look
    crds.wait_established(cluster, ["a.example.com", "b.example.com"], timeout_s=5, poll_s=0)
    assert [c[1] for c in cluster.calls] == ["crd/a.example.com", "crd/b.example.com", "crd/b.example.com"]
    with pytest.raises(crds.NotEstablished) as raised:
        crds.wait_established(Answers("True", "False"), ["a.example.com", "b.example.com"], timeout_s=0.05, poll_s=0.01)
    assert str(raised.value) == "CRD b.example.com not Established within 0.05 s (condition: False)"
