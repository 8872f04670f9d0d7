"""Where the matrix's policies are enforced, and what one node enforcing nothing opens."""
import re

from cnimatrix.netpol import cases, enforcement
from cnimatrix.netpol.reachability import Target, expected

PLACED = enforcement.placement(enforcement.SAMPLE_NODES)
TCP80 = Target(80, "TCP")


def deny_ingress(namespace: str, pod: str | None = None) -> dict:
    selector = {"matchLabels": {"pod": pod}} if pod else {}
    return {"metadata": {"name": "deny", "namespace": namespace},
            "spec": {"podSelector": selector, "policyTypes": ["Ingress"]}}


def deny_egress(namespace: str, pod: str) -> dict:
    return {"metadata": {"name": "deny-out", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": {"pod": pod}}, "policyTypes": ["Egress"]}}


def tables(policies, node):
    pods, namespaces = cases.matrix_pods(cases.SAMPLE_IPS), cases.matrix_namespaces()
    return (expected(policies, namespaces, pods, TCP80),
            enforcement.unenforced_on(node, PLACED, policies, namespaces, pods, TCP80))


def test_placement_rotates_each_namespace_over_the_nodes():
    assert [PLACED[f"x/{p}"] for p in "abc"] == ["control-plane", "worker", "worker2"]
    assert [PLACED[f"y/{p}"] for p in "abc"] == ["worker", "worker2", "control-plane"]
    assert [PLACED[f"z/{p}"] for p in "abc"] == ["worker2", "control-plane", "worker"]


def test_ingress_denied_on_a_node_that_enforces_nothing_opens_and_elsewhere_holds():
    want, got = tables([deny_ingress("x", "a")], "control-plane")   # x/a runs on the control plane
    assert want.get("y/a", "x/a") is False and got.get("y/a", "x/a") is True
    want, got = tables([deny_ingress("x", "a")], "worker2")
    assert got.cells == want.cells


def test_egress_is_the_source_nodes_side():
    # x/b (worker) may not send; x/a's node (control plane) bypassed changes nothing for it
    want, got = tables([deny_egress("x", "b")], "control-plane")
    assert want.get("x/b", "x/a") is False and got.get("x/b", "x/a") is False
    want, got = tables([deny_egress("x", "b")], "worker")
    assert got.get("x/b", "x/a") is True and got.get("x/a", "x/b") is True


def test_a_cell_denied_on_both_sides_stays_denied_when_one_side_is_bypassed():
    # y/b (worker2) -> x/a (control plane): ingress of x/a and egress of y/b both deny
    policies = [deny_ingress("x", "a"), deny_egress("y", "b")]
    _, got = tables(policies, "worker2")
    assert got.get("y/b", "x/a") is False
    _, got = tables(policies, "control-plane")
    assert got.get("y/b", "x/a") is False and got.get("y/a", "x/a") is True


def test_a_pod_to_itself_stays_allowed():
    _, got = tables([deny_ingress("x"), deny_egress("x", "a")], "worker")
    assert got.get("x/a", "x/a") is True


def test_nodes_seen_by_the_catalog():
    """Every node is held to account by some cases: a namespace-wide deny sees all three, a case on
    x/a alone only the control plane's, an allow-all case none."""
    known = {case.name: case for case in cases.load_all()}
    assert enforcement.nodes_seen(known["deny-ingress-namespace"]) == enforcement.SAMPLE_NODES
    assert enforcement.nodes_seen(known["egress-to-pod-selector"]) == ("control-plane",)
    assert enforcement.nodes_seen(known["allow-all-both-directions"]) == ()
    for node in enforcement.SAMPLE_NODES:
        assert sum(enforcement.sees_unenforced(case, node) for case in known.values()) >= 16, node


def test_unenforced_cells_say_the_state_and_the_cell():
    known = {case.name: case for case in cases.load_all()}
    found = enforcement.unenforced_cells(known["deny-all-one-pod"], "worker", PLACED)
    assert found and all(re.fullmatch(r"initial: [xyz]/[abc] -> [xyz]/[abc] 8[01]/(TCP|UDP)", line) for line in found)
    assert enforcement.unenforced_cells(known["deny-all-one-pod"], "worker2", PLACED) == []
