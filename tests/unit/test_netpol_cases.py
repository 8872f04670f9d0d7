"""The NetworkPolicy case catalog: it loads, its spot checks agree with the engine, and every
case can catch a CNI that does nothing (or says why it deliberately allows everything)."""

import pytest
import yaml

from cnimatrix.netpol import cases as C
from cnimatrix.netpol.semantics import ContainerPort, Pod, validate, verdict
from cnimatrix.netpol.reachability import expected
from tests.unit.case_files import write_cases

CASES = C.load_all()
BY_NAME = {case.name: case for case in CASES}
ids = [case.name for case in CASES]


def tables(state, targets):
    return {t: expected(state.policies, state.namespaces, state.pods, t) for t in targets}


def denials(state, targets) -> int:
    return sum(table.denied() for table in tables(state, targets).values())


def cells(state, targets):
    return {t: table.cells for t, table in tables(state, targets).items()}


# --- the catalog as a whole ----------------------------------------------------------------------

def test_catalog_is_large_and_names_are_unique():
    assert len(CASES) >= 40
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


def test_every_category_file_contributes():
    files = sorted(p.stem for p in C.CASES.glob("*.yaml"))
    assert sorted({case.category for case in CASES}) == files
    assert {"default-deny", "selectors", "ports", "ipblock", "egress", "live-updates", "service"} <= set(files)


def test_every_feature_tag_is_used():
    used = {feature for case in CASES for feature in case.features}
    assert used == C.FEATURES


def test_flagged_cases_exist():
    assert [c.name for c in CASES if c.dns] == ["egress-deny-allow-dns"]
    assert len([c for c in CASES if c.service]) >= 2
    assert {c.name for c in CASES if c.allow_all} == {"allow-all-both-directions", "union-with-allow-all"}


# --- per case --------------------------------------------------------------------------------------

def keys_in(value, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(keys_in(v, key) for v in value.values())
    if isinstance(value, list):
        return any(keys_in(v, key) for v in value)
    return False


def named_port_in(value) -> bool:
    if isinstance(value, dict):
        return isinstance(value.get("port"), str) or any(named_port_in(v) for v in value.values())
    return isinstance(value, list) and any(named_port_in(v) for v in value)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_features_match_what_the_case_does(case):
    policies = list(case.policies) + [s.body for s in case.steps if s.action == "apply"]
    actions = {s.action for s in case.steps}
    implied = {
        "ipBlock": keys_in(policies, "ipBlock"), "except": keys_in(policies, "except"),
        "endPort": keys_in(policies, "endPort"), "matchExpressions": keys_in(policies, "matchExpressions"),
        "named-port": named_port_in(policies), "live-update": bool(case.steps), "dns": case.dns,
        "service": case.service, "update-policy": "apply" in actions, "delete-policy": "delete" in actions,
        "pod-labels": "pod_labels" in actions, "namespace-labels": "namespace_labels" in actions,
    }
    assert {tag for tag, present in implied.items() if present} == {tag for tag in implied if tag in case.features}


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_every_state_has_hand_written_spot_checks(case):
    assert all(state.spot_checks for state in C.states(case))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_spot_checks_agree_with_the_engine(case):
    for state in C.states(case):
        pods = {p.key: p for p in state.pods}
        for check in state.spot_checks:
            result = verdict(state.policies, state.namespaces, pods[check.src], pods[check.dst],
                             check.target.port, check.target.protocol)
            assert result.allowed == check.allowed, f"{state.title}: {check}: engine says {result.reason}"


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_case_can_catch_a_cni_that_does_nothing(case):
    """Some state must deny something, or a fail-open CNI passes; an allow-all case must say why
    and really allow everything."""
    counts = [denials(state, case.targets) for state in C.states(case)]
    if case.allow_all:
        assert counts == [0] * len(counts)
    else:
        assert any(counts), "expects everything allowed but is not marked allow_all"


@pytest.mark.parametrize("case", [c for c in CASES if c.steps], ids=[c.name for c in CASES if c.steps])
def test_every_step_changes_the_expectation(case):
    """A step that changes nothing cannot show that the cluster applied it."""
    states = C.states(case)
    for before, after in zip(states, states[1:]):
        assert cells(before, case.targets) != cells(after, case.targets), after.title


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_rendered_policies_are_valid_and_layout_independent(case):
    """Another run (other namespace names, pod CIDR and IP layout) gets valid policies and the
    same verdicts: cases use only /32s and the pod CIDR."""
    ips = {key: f"192.168.{200 - i}.{i + 1}" for i, key in enumerate(C.MATRIX_PODS)}
    run = C.placeholders(ips, "192.168.0.0/16", names={"x": "cnimatrix-netpol-x-1a2b3c", "y": "y-77", "z": "z-88"})
    for policy in case.policies + tuple(s.body for s in case.steps if s.action == "apply"):
        validate(C.render(policy, run))
    for sample, other in zip(C.states(case), C.states(case, ips, "192.168.0.0/16")):
        assert cells(sample, case.targets) == cells(other, case.targets)


@pytest.mark.parametrize("case", [c for c in CASES if c.dns], ids=[c.name for c in CASES if c.dns])
def test_dns_cases_let_every_matrix_pod_reach_kube_dns(case):
    kube_dns = Pod("kube-system", "coredns-1", {"k8s-app": "kube-dns"}, "10.244.0.2",
                   (ContainerPort("dns", 53, "UDP"), ContainerPort("dns-tcp", 53, "TCP")))
    state = C.states(case)[0]
    for src in state.pods:
        reach = [verdict(state.policies, state.namespaces, src, kube_dns, port, protocol).allowed
                 for port, protocol in ((53, "UDP"), (53, "TCP"), (80, "TCP"))]
        assert reach[:2] == [True, True], src.key
    assert denials(state, case.targets) > 0


def test_service_cases_avoid_ip_blocks():
    """Whether policies see a Service's or the pod's address is not defined for ipBlock peers."""
    assert not [c.name for c in CASES if c.service and keys_in(list(c.policies), "ipBlock")]


# --- the model: placeholders and states ------------------------------------------------------------

def test_placeholders_and_render():
    mapping = C.placeholders(C.SAMPLE_IPS, "10.244.0.0/16", names={"y": "run-y"})
    assert C.render({"a": ["${x}", "${y}/b", "${ip:z/c}/32"], "n": 80, "p": "${pod_cidr}"}, mapping) == {
        "a": ["x", "run-y/b", "10.244.3.18/32"], "n": 80, "p": "10.244.0.0/16"}
    with pytest.raises(C.CaseError, match=r"unknown placeholder \$\{ip:w/a\}"):
        C.render("${ip:w/a}", mapping)


def test_matrix_pods_serve_the_named_ports():
    pod = C.matrix_pods(C.SAMPLE_IPS)[4]
    assert (pod.key, pod.labels, pod.ip) == ("y/b", {"pod": "b"}, "10.244.2.14")
    assert [(p.name, p.port, p.protocol) for p in pod.ports] == [
        ("serve-80-tcp", 80, "TCP"), ("serve-80-udp", 80, "UDP"), ("serve-81-tcp", 81, "TCP"), ("serve-81-udp", 81, "UDP")]


def test_the_pod_manifest_serves_what_the_engine_assumes():
    from fixtures.workloads import render

    pod, service = yaml.safe_load_all(render("netpol/pods", pod="b", node="kind-worker"))
    assert pod["metadata"]["labels"] == C.matrix_pods(C.SAMPLE_IPS)[1].labels == {"pod": "b"}
    ports = [(p["name"], p["containerPort"], p["protocol"]) for c in pod["spec"]["containers"] for p in c["ports"]]
    assert ports == [(p.name, p.port, p.protocol) for p in C.CONTAINER_PORTS]
    assert all("readinessProbe" not in c for c in pod["spec"]["containers"])
    assert pod["spec"]["terminationGracePeriodSeconds"] == 0
    assert [(p["port"], p["protocol"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        (80, "TCP", "serve-80-tcp"), (81, "TCP", "serve-81-tcp"), (80, "UDP", "serve-80-udp"), (81, "UDP", "serve-81-udp")]


def test_states_follow_the_steps():
    case = BY_NAME["add-and-delete-one-of-two"]
    states = C.states(case)
    assert [s.title for s in states] == ["initial", "step 1: add a policy admitting namespace y to x/a",
                                         "step 2: delete the default-deny policy"]
    assert [[p["metadata"]["name"] for p in s.policies] for s in states] == [
        ["deny-ingress"], ["deny-ingress", "x-a-from-y"], ["x-a-from-y"]]


def test_states_set_and_remove_labels():
    labels = [(s.namespaces["y"], {p.key: p.labels for p in s.pods}["x/b"]) for s in C.states(BY_NAME["update-namespace-labels"])]
    assert labels == [({"ns": "y"}, {"pod": "b"}), ({"ns": "y", "team": "blue"}, {"pod": "b"}), ({"ns": "y"}, {"pod": "b"})]
    pod_labels = [{p.key: p.labels for p in s.pods}["x/b"] for s in C.states(BY_NAME["update-pod-labels-target"])]
    assert pod_labels == [{"pod": "b"}, {"pod": "b", "role": "locked"}, {"pod": "b"}]


def test_apply_replaces_the_policy_of_the_same_name():
    states = C.states(BY_NAME["update-policy-peer"])
    assert [len(s.policies) for s in states] == [1, 1]
    assert states[1].policies[0]["spec"]["ingress"][0]["from"][0]["podSelector"] == {"matchLabels": {"pod": "c"}}


# --- loader errors ---------------------------------------------------------------------------------

GOOD = """
- name: sample
  description: x/a admits x/b only.
  features: [ingress, podSelector]
  policies:
    - metadata: {name: p, namespace: "${x}"}
      spec:
        podSelector: {matchLabels: {pod: a}}
        ingress:
          - from: [{podSelector: {matchLabels: {pod: b}}}]
  spot_checks:
    - {from: x/b, to: x/a, target: 80/TCP, allowed: true}
"""


def write(tmp_path, edit=None, name="cat.yaml", text=GOOD):
    return write_cases(tmp_path, text, edit, name)


def test_good_case_loads_with_defaults(tmp_path):
    [case] = C.load_all(write(tmp_path))
    assert (case.category, case.targets, case.steps, case.dns, case.service, case.allow_all) == (
        "cat", C.DEFAULT_TARGETS, (), False, False, "")
    assert case.policies[0]["apiVersion"] == "networking.k8s.io/v1" and case.policies[0]["kind"] == "NetworkPolicy"


def test_requires_names_capabilities_and_rejects_other_words(tmp_path):
    [case] = C.load_all(write(tmp_path, lambda c: c.update(requires=["networkpolicy_ipblock_pods"])))
    assert case.requires == ("networkpolicy_ipblock_pods",)
    with pytest.raises(C.CaseError, match="requires: capability names are lower_snake_case"):
        C.load_all(write(tmp_path, lambda c: c.update(requires=["ipBlock pods"])))


def test_cases_matching_pod_ips_by_cidr_name_that_capability():
    """A CNI may declare that ipBlock does not select pods (Cilium's default): those cases say so."""
    for case in CASES:
        allows_pods = case.category == "ipblock" and case.name != "ipblock-everything-but-pods"
        assert ("networkpolicy_ipblock_pods" in case.requires) == allows_pods, case.name


def step(**fields):
    return lambda case: case.setdefault("steps", []).append({"description": "a step", **fields})


@pytest.mark.parametrize("edit, error", [
    (lambda c: c.update(prioirty=1), "cat.yaml: sample: prioirty: unknown field"),
    (lambda c: c.pop("name"), "cat.yaml: case 0: name: required"),
    (lambda c: c.pop("description"), "cat.yaml: sample: description: required"),
    (lambda c: c["policies"][0]["spec"]["ingress"][0].update(form=[]),
     "cat.yaml: sample: policies[0]: spec.ingress[0].form: unknown field (known: from, ports)"),
    (lambda c: c["policies"][0]["metadata"].update(namespace="x"), "cat.yaml: sample: policies[0].metadata.namespace: must be ${x}"),
    (lambda c: c["policies"][0]["metadata"].update(namespace="${w}"), "cat.yaml: sample: policies[0]: unknown placeholder ${w}"),
    (lambda c: c.update(features=["ingres"]), "cat.yaml: sample: features: must be a non-empty list of known tags; unknown: ['ingres']"),
    (lambda c: c.update(name="Sample_1"), "cat.yaml: Sample_1: name: must be lowercase words"),
    (lambda c: c.update(targets=["80/SCTP", "81"]), "cat.yaml: sample: targets[1]: '81': want PORT/PROTOCOL"),
    (lambda c: c["spot_checks"][0].update(to="w/a"), "cat.yaml: sample: spot_checks[0].to: not a matrix pod"),
    (lambda c: c["spot_checks"][0].pop("allowed"), "cat.yaml: sample: spot_checks[0].allowed: required"),
    (lambda c: c.update(targets=["81/UDP"]), "cat.yaml: sample: spot_checks[0].target: 80/TCP is not probed"),
    (lambda c: c.update(dns="yes"), "cat.yaml: sample: dns: must be true or false"),
    (lambda c: c.update(pod_labels={"x/d": {"role": "db"}}), "cat.yaml: sample: pod_labels.x/d: not one of"),
    (lambda c: c.update(namespace_labels={"y": {"kubernetes.io/metadata.name": "x"}}), "set by the API server"),
    (step(delete="x/p", pod_labels={"x/a": {"r": "1"}}), "steps[0]: needs exactly one action"),
    (step(delete="w/p"), "steps[0].delete: must be NAMESPACE/POLICY"),
    (step(delete="x/p", wait=3), "cat.yaml: sample: steps[0].wait: unknown field"),
    (step(apply={"metadata": {"name": "q", "namespace": "${y}"}, "spec": {"podSelecter": {}}}),
     "steps[0].apply: spec.podSelecter: unknown field"),
])
def test_loader_rejects_with_file_case_and_field(tmp_path, edit, error):
    with pytest.raises(C.CaseError) as raised:
        C.load_all(write(tmp_path, edit))
    assert error in str(raised.value)


def test_duplicate_names_across_files(tmp_path):
    write(tmp_path, name="one.yaml")
    write(tmp_path, name="two.yaml")
    with pytest.raises(C.CaseError, match="two.yaml: sample: name already used in one.yaml"):
        C.load_all(tmp_path)


def test_deleting_a_policy_that_is_not_there_is_an_error(tmp_path):
    [case] = C.load_all(write(tmp_path, step(delete="x/missing")))
    with pytest.raises(C.CaseError, match=r"steps\[0\].delete: no policy x/missing"):
        C.states(case)
