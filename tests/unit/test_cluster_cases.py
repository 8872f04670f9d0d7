"""The ClusterNetworkPolicy case catalog: it loads, its spot checks agree with the cluster policy
engine, every case can fail, and a bad case file says which file, case and field."""

import pytest

from cnimatrix.netpol import cases as C
from cnimatrix.netpol import cluster_cases as CC
from cnimatrix.netpol.cluster_policy import validate_cluster_policy, verdict
from cnimatrix.netpol.semantics import EGRESS, INGRESS, policy_types, validate
from tests.unit.case_files import write_cases

CASES = CC.load_all()
BY_NAME = {case.name: case for case in CASES}
ids = [case.name for case in CASES]
LIVE = [c for c in CASES if c.steps]


def cells(state, targets):
    return {t: CC.expected_table(state, t).cells for t in targets}


def judged(state, targets):
    """Every cell but a pod to itself (not judged on a cluster), as (target, src, dst, expected)."""
    return [(t, src, dst, allowed) for t, table in cells(state, targets).items()
            for (src, dst), allowed in table.items() if src != dst]


# --- the catalog as a whole ----------------------------------------------------------------------

def test_catalog_is_large_and_names_are_unique():
    assert len(CASES) >= 25
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


def test_names_are_not_shared_with_the_networkpolicy_cases():
    assert not {case.name for case in CASES} & {case.name for case in C.load_all()}


def test_every_category_file_contributes():
    files = sorted(p.stem for p in CC.CLUSTER_CASES.glob("*.yaml"))
    assert sorted({case.category for case in CASES}) == files
    assert {"admin-tier", "baseline-tier", "pass", "priority", "with-networkpolicy", "ports", "peers",
            "live-updates"} <= set(files)


def test_every_feature_tag_is_used():
    assert {feature for case in CASES for feature in case.features} == CC.FEATURES


def test_the_catalog_covers_the_semantics():
    """Each kind of rule the brief names appears in some case."""
    def has(feature, *more):
        return any({feature, *more} <= set(case.features) for case in CASES)
    assert has("admin", "deny", "network-policy") and has("admin", "accept", "network-policy")
    assert has("admin", "pass", "network-policy") and has("admin", "pass", "baseline")
    assert has("baseline", "deny") and has("baseline", "network-policy")
    assert has("priority") and has("rule-order") and has("subject-pods") and has("subject-namespaces")
    assert has("pod-peer") and has("namespace-peer") and has("named-port") and has("port-range") and has("udp")
    assert has("networks", "egress") and has("ingress") and has("egress")


# --- per case --------------------------------------------------------------------------------------

def keys_in(value, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(keys_in(v, key) for v in value.values())
    if isinstance(value, list):
        return any(keys_in(v, key) for v in value)
    return False


def all_policies(case):
    """(cluster policies, NetworkPolicies) as the case and its steps write them."""
    return ([*case.cluster_policies, *(s.body for s in case.steps if s.action == "apply_cluster_policy")],
            [*case.policies, *(s.body for s in case.steps if s.action == "apply")])


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_features_match_what_the_case_does(case):
    cluster, policies = all_policies(case)
    rules = [rule for p in cluster for key in ("ingress", "egress") for rule in p["spec"].get(key, [])]
    actions = {rule["action"] for rule in rules}
    subjects = {kind for p in cluster for kind in p["spec"]["subject"]}
    steps = {s.action.split("_")[0] for s in case.steps}
    implied = {
        "admin": any(p["spec"]["tier"] == "Admin" for p in cluster),
        "baseline": any(p["spec"]["tier"] == "Baseline" for p in cluster),
        "accept": "Accept" in actions, "deny": "Deny" in actions, "pass": "Pass" in actions,
        "ingress": any("ingress" in p["spec"] for p in cluster) or any(INGRESS in policy_types(p) for p in policies),
        "egress": any("egress" in p["spec"] for p in cluster) or any(EGRESS in policy_types(p) for p in policies),
        "subject-namespaces": "namespaces" in subjects, "subject-pods": "pods" in subjects,
        "namespace-peer": any(keys_in(r.get("from", r.get("to")), "namespaces") for r in rules),
        "pod-peer": any(keys_in(r.get("from", r.get("to")), "pods") for r in rules),
        "networks": keys_in(cluster, "networks"), "named-port": keys_in(cluster, "destinationNamedPort"),
        "port-range": keys_in(cluster, "range"), "numbered-port": keys_in(cluster, "number"),
        "matchExpressions": keys_in(cluster, "matchExpressions"), "network-policy": bool(policies),
        "live-update": bool(case.steps), "update-policy": "apply" in steps, "delete-policy": "delete" in steps,
        "ambiguous": bool(case.ambiguous),
    }
    assert {tag for tag, present in implied.items() if present} == {tag for tag in implied if tag in case.features}


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_every_state_has_hand_written_spot_checks(case):
    assert all(state.spot_checks for state in CC.states(case))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_spot_checks_agree_with_the_engine(case):
    for state in CC.states(case):
        pods = {p.key: p for p in state.pods}
        for check in state.spot_checks:
            result = verdict(state.cluster_policies, state.policies, state.namespaces, pods[check.src], pods[check.dst],
                             check.target.port, check.target.protocol)
            assert result.allowed == check.allowed, f"{state.title}: {check}: engine says {result.reason}"
            assert CC.expected_table(state, check.target).get(check.src, check.dst) == check.allowed


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_case_can_fail(case):
    """Some state expects a cell denied and some a cell allowed (a CNI that does nothing, or blocks
    everything, fails), and the hand-written checks say both."""
    expected = {allowed for state in CC.states(case) for *_, allowed in judged(state, case.targets)}
    assert {True, False} <= expected
    checked = {check.allowed for state in CC.states(case) for check in state.spot_checks}
    assert {True, False} <= checked


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_only_a_case_marked_ambiguous_has_undefined_cells(case):
    undefined = [cell for state in CC.states(case) for cell in judged(state, case.targets) if cell[3] is None]
    assert bool(undefined) == bool(case.ambiguous)
    if case.ambiguous:      # the rest of the matrix is still judged, both ways
        assert any(check.allowed is None for check in case.spot_checks)
        assert len(undefined) < len(judged(CC.states(case)[0], case.targets)) // 4


def test_the_ambiguous_cell_says_why():
    state = CC.states(BY_NAME["priority-equal-and-disagreeing-is-ambiguous"])[0]
    table = CC.expected_table(state, C.Target(80, "TCP"))
    assert table.get("y/a", "x/b") is None
    assert table.reasons[("y/a", "x/b")].startswith("ambiguous (equal priorities, order undefined): ingress of x/b: ")
    assert "cnp/x-accept-a priority 10" in table.reasons[("y/a", "x/b")]
    assert table.get("y/b", "x/b") is False and table.get("z/a", "x/b") is True


@pytest.mark.parametrize("case", LIVE, ids=[c.name for c in LIVE])
def test_every_step_changes_the_expectation(case):
    """A step that changes nothing cannot show that the cluster applied it."""
    states = CC.states(case)
    for before, after in zip(states, states[1:]):
        assert cells(before, case.targets) != cells(after, case.targets), after.title


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_rendered_policies_are_valid_and_layout_independent(case):
    """Another run (other namespace names, pod CIDR and IP layout) gets valid policies and the same
    verdicts: cases use only /32s and the pod CIDR."""
    ips = {key: f"192.168.{200 - i}.{i + 1}" for i, key in enumerate(C.MATRIX_PODS)}
    run = C.placeholders(ips, "192.168.0.0/16", names={"x": "cnimatrix-netpol-x-1a2b3c", "y": "y-77", "z": "z-88"})
    cluster, policies = all_policies(case)
    for policy in cluster:
        validate_cluster_policy(C.render(policy, run))
    for policy in policies:
        validate(C.render(policy, run))
    for sample, other in zip(CC.states(case), CC.states(case, ips, "192.168.0.0/16")):
        assert cells(sample, case.targets) == cells(other, case.targets)


# --- the model: states -----------------------------------------------------------------------------

def test_states_follow_the_steps():
    states = CC.states(BY_NAME["live-priority-reordered"])
    assert [s.title for s in states] == [
        "initial", "step 1: the Accept of y/b moves to priority 1, ahead of the Deny",
        "step 2: delete the Deny of y"]
    assert [{p["metadata"]["name"]: p["spec"]["priority"] for p in s.cluster_policies} for s in states] == [
        {"x-accept-y-b": 10, "x-deny-y": 5}, {"x-accept-y-b": 1, "x-deny-y": 5}, {"x-accept-y-b": 1}]
    assert all(s.policies == () for s in states)


def test_states_delete_a_networkpolicy_next_to_cluster_policies():
    states = CC.states(BY_NAME["live-admin-accept-then-networkpolicy-deleted"])
    assert [(len(s.cluster_policies), len(s.policies)) for s in states] == [(1, 1), (0, 1), (0, 0)]


def test_cluster_policies_are_filled_in_and_rendered():
    [policy] = CC.states(BY_NAME["networks-deny-one-pod-ip"])[0].cluster_policies
    assert (policy["apiVersion"], policy["kind"]) == ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy")
    assert policy["spec"]["egress"][0]["to"] == [{"networks": [f"{C.SAMPLE_IPS['y/b']}/32"]}]
    assert policy["spec"]["subject"]["pods"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "x"}}


# --- loader errors ---------------------------------------------------------------------------------

GOOD = """
- name: sample
  description: x/a refuses namespace y.
  features: [ingress, admin, deny, subject-pods, namespace-peer]
  cluster_policies:
    - metadata: {name: p}
      spec:
        tier: Admin
        priority: 10
        subject:
          pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "${x}"}}, podSelector: {matchLabels: {pod: a}}}
        ingress:
          - {action: Deny, from: [{namespaces: {matchLabels: {ns: y}}}]}
  spot_checks:
    - {from: y/b, to: x/a, target: 80/TCP, allowed: false}
"""


def write(tmp_path, edit=None, name="cat.yaml", text=GOOD):
    return write_cases(tmp_path, text, edit, name)


def test_good_case_loads_with_defaults(tmp_path):
    [case] = CC.load_all(write(tmp_path))
    assert (case.category, case.targets, case.steps, case.policies, case.ambiguous, case.requires) == (
        "cat", C.DEFAULT_TARGETS, (), (), "", ())
    assert case.cluster_policies[0]["kind"] == "ClusterNetworkPolicy"


def spec(case):
    return case["cluster_policies"][0]["spec"]


def step(**fields):
    return lambda case: case.setdefault("steps", []).append({"description": "a step", **fields})


NP = {"metadata": {"name": "q", "namespace": "${x}"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


@pytest.mark.parametrize("edit, error", [
    (lambda c: c.update(prioirty=1), "cat.yaml: sample: prioirty: unknown field"),
    (lambda c: c.pop("name"), "cat.yaml: case 0: name: required"),
    (lambda c: c.pop("cluster_policies"), "cat.yaml: sample: cluster_policies: required"),
    (lambda c: c.update(cluster_policies=[]), "cat.yaml: sample: cluster_policies: needs at least one"),
    (lambda c: c.update(features=["admin", "tier"]), "cat.yaml: sample: features: must be a non-empty list of known tags; "
                                                     "unknown: ['tier']"),
    (lambda c: spec(c).update(tier="admin"), "cat.yaml: sample: cluster_policies[0]: spec.tier: must be Admin or Baseline"),
    (lambda c: spec(c).update(priority=1001),
     "cat.yaml: sample: cluster_policies[0]: spec.priority: must be a number from 0"),
    (lambda c: spec(c)["ingress"][0].update(action="Allow"),
     "cat.yaml: sample: cluster_policies[0]: spec.ingress[0].action: must be one of Accept, Deny, Pass, got 'Allow'"),
    (lambda c: spec(c)["ingress"][0].update(protocols=[{"tcp": {"destinationPort": {"range": {"start": 81, "end": 80}}}}]),
     "cat.yaml: sample: cluster_policies[0]: spec.ingress[0].protocols[0].tcp.destinationPort.range: start (81)"),
    (lambda c: c["cluster_policies"][0]["metadata"].update(namespace="${x}"),
     "cat.yaml: sample: cluster_policies[0].metadata.namespace: a ClusterNetworkPolicy is cluster-scoped"),
    (lambda c: c["cluster_policies"][0]["metadata"].update(name="P_1"),
     "cat.yaml: sample: cluster_policies[0].metadata.name: must be lowercase words"),
    (lambda c: spec(c).update(subject={"namespaces": {"matchLabels": {"ns": "x"}}}),
     "cat.yaml: sample: cluster_policies[0].spec.subject: selects namespaces outside the run (x-of-another-run)"),
    (lambda c: spec(c).update(subject={"pods": {"podSelector": {}}}),
     "cat.yaml: sample: cluster_policies[0].spec.subject: selects namespaces outside the run (kube-system, default,"),
    (lambda c: spec(c)["subject"]["pods"]["namespaceSelector"].update(matchLabels={"kubernetes.io/metadata.name": "${w}"}),
     "cat.yaml: sample: cluster_policies[0]: unknown placeholder ${w}"),
    (lambda c: c["cluster_policies"].append(c["cluster_policies"][0]),
     "cat.yaml: sample: cluster_policies: names must be unique (cluster-scoped), got ['p', 'p']"),
    (lambda c: c.update(policies=[{**NP, "metadata": {"name": "q", "namespace": "x"}}]),
     "cat.yaml: sample: policies[0].metadata.namespace: must be ${x}"),
    (lambda c: c["spot_checks"][0].update(allowed="maybe"),
     "cat.yaml: sample: spot_checks[0].allowed: must be true, false or ambiguous, got 'maybe'"),
    (lambda c: c["spot_checks"][0].update(allowed="ambiguous"),
     "cat.yaml: sample: ambiguous: a spot check expects ambiguous: say why"),
    (lambda c: c["spot_checks"][0].update(to="w/a"), "cat.yaml: sample: spot_checks[0].to: not a matrix pod"),
    (lambda c: c.update(ambiguous=""), "cat.yaml: sample: ambiguous: must be a non-empty string"),
    (step(delete_cluster_policy="p", delete="x/q"), "cat.yaml: sample: steps[0]: needs exactly one action"),
    (step(pod_labels={"x/a": {"r": "1"}}), "cat.yaml: sample: steps[0].pod_labels: unknown field"),
    (step(delete_cluster_policy="x/p"),
     "cat.yaml: sample: steps[0].delete_cluster_policy: must be a ClusterNetworkPolicy's name"),
    (step(delete_cluster_policy="missing"), "cat.yaml: sample: steps[0].delete_cluster_policy: no policy missing"),
    (step(delete="x/missing"), "cat.yaml: sample: steps[0].delete: no policy x/missing"),
    (step(delete="p"), "cat.yaml: sample: steps[0].delete: must be NAMESPACE/POLICY"),
    (step(apply_cluster_policy={"metadata": {"name": "p"}, "spec": {"tier": "Admin", "priority": 1}}),
     "cat.yaml: sample: steps[0].apply_cluster_policy: spec.subject: required"),
    (step(apply={"metadata": {"name": "q", "namespace": "${y}"}, "spec": {"podSelecter": {}}}),
     "cat.yaml: sample: steps[0].apply: spec.podSelecter: unknown field"),
])
def test_loader_rejects_with_file_case_and_field(tmp_path, edit, error):
    with pytest.raises(C.CaseError) as raised:
        CC.load_all(write(tmp_path, edit))
    assert error in str(raised.value)


def test_a_step_may_apply_and_delete_both_kinds(tmp_path):
    edits = [step(apply=NP), step(delete="x/q"), step(delete_cluster_policy="p")]
    [case] = CC.load_all(write(tmp_path, lambda c: [edit(c) for edit in edits]))
    assert [s.action for s in case.steps] == ["apply", "delete", "delete_cluster_policy"]
    assert [(len(s.cluster_policies), len(s.policies)) for s in CC.states(case)] == [(1, 0), (1, 1), (1, 0), (0, 0)]


def test_ambiguous_spot_checks_read_as_none(tmp_path):
    def edit(case):
        case["spot_checks"].append({"from": "y/a", "to": "x/a", "target": "81/UDP", "allowed": "ambiguous"})
        case["ambiguous"] = "a reason"
    [case] = CC.load_all(write(tmp_path, edit))
    assert [check.allowed for check in case.spot_checks] == [False, None]


def test_duplicate_names_across_files(tmp_path):
    write(tmp_path, name="one.yaml")
    write(tmp_path, name="two.yaml")
    with pytest.raises(C.CaseError, match="two.yaml: sample: name already used in one.yaml"):
        CC.load_all(tmp_path)


def test_a_file_that_is_not_a_list_of_cases(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: sample\n")
    with pytest.raises(C.CaseError, match="^bad.yaml: must be a list of cases$"):
        CC.load_all(tmp_path)
    (tmp_path / "bad.yaml").write_text("- {name: [\n")
    with pytest.raises(C.CaseError, match="^bad.yaml: not valid YAML"):
        CC.load_all(tmp_path)


def test_cluster_policy_off_control_names_every_case_a_cni_ignoring_cluster_policies_fails():
    """The engine decides: a must-fail case has a cell only its cluster policies deny; every such
    case Cilium runs (none needing pod IPs in `networks`, declared unsupported there) is listed."""
    from cnimatrix import breakage

    item = breakage.load("cilium-cluster-policy-off")
    named = {e.split("[")[1].rstrip("]") for e in item.must_fail}
    assert all(e.startswith("test_cluster_policy_case[") for e in item.must_fail)
    telling = {c.name for c in CC.load_all()
               if CC.denied_only_by_cluster_policies(c) and "cluster_policy_networks_pods" not in c.requires}
    assert named == telling and len(named) >= 25


def test_cells_denied_only_by_cluster_policies_leave_out_what_networkpolicies_deny_too():
    known = {c.name: c for c in CC.load_all()}
    found = CC.denied_only_by_cluster_policies(known["admin-deny-ingress-from-namespace"])
    assert found and all(line.startswith("initial: ") for line in found)
    # an Admin Accept over a NetworkPolicy deny opens cells: nothing there is the cluster policies' denial
    accepting = [c for c in known.values() if set(c.features) >= {"accept", "network-policy"} and not c.steps
                 and all(r["action"] == "Accept" for p in c.cluster_policies for d in ("ingress", "egress")
                         for r in p["spec"].get(d, []))]
    assert accepting and all(CC.denied_only_by_cluster_policies(c) == [] for c in accepting)
