"""The established-connection and node-traffic scenarios: they load, agree with the policy engine,
and a broken file is one clear error naming the file, the scenario and the field."""
import textwrap

import pytest

from cnimatrix.netpol import scenarios as S
from cnimatrix.netpol.cases import CaseError


def test_established_scenarios_load_and_deny_every_candidate_client():
    found = S.load_established()
    assert {s.name for s in found} >= {"ingress-deny-other-node", "ingress-deny-same-node", "egress-deny-other-node"}
    assert {s.same_node for s in found} == {True, False}


def test_node_traffic_scenarios_assert_only_what_kubernetes_states():
    found = S.load_node_traffic()
    probes = [p for s in found for p in s.probes]
    asserted_node = {(p.src, p.expect) for p in probes if "node/" in p.src + p.dst and p.expect != "recorded"}
    assert asserted_node == {("node/own", "allowed")}, "only own-node ingress is clear in the Kubernetes docs"
    assert all(any(p.expect == "denied" for p in s.controls) for s in found)
    assert all(p.why for p in probes)


def write(tmp_path, text: str):
    path = tmp_path / "scenarios.yaml"
    path.write_text(textwrap.dedent(text))
    return path


POLICY = """\
    metadata: {name: deny, namespace: "${x}"}
    spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress]}
"""


def test_established_policy_that_does_not_deny_is_rejected(tmp_path):
    path = write(tmp_path, """\
        - name: not-a-deny
          description: allows everything
          server: x/a
          client: {namespace: y, node: other}
          policy:
            metadata: {name: allow, namespace: "${x}"}
            spec: {podSelector: {}, ingress: [{}]}
        """)
    with pytest.raises(CaseError, match=r"scenarios.yaml: not-a-deny: policy: does not deny y/a -> x/a on 80/TCP"):
        S.load_established(path)


@pytest.mark.parametrize("probe, match", [
    ("{from: node/own, to: x/a, expect: maybe, why: w}", r"probes\[0\].expect: one of allowed, denied, recorded"),
    ("{from: node/elsewhere, to: x/a, expect: allowed, why: w}", r"probes\[0\].from: not a matrix pod"),
    ("{from: node/own, to: y/b, expect: allowed, why: w}", r"probes\[0\]: every probe starts or ends at the scenario's pod x/a"),
    ("{from: y/b, to: x/a, expect: allowed, why: w}", r"probes\[0\].expect: allowed, but the policy engine says denied"),
    ("{from: node/own, to: x/a, expect: allowed, why: w}", r"probes: needs a pod-to-pod probe the policies deny"),
    ("{from: node/own, to: x/a, expect: allowed}", r"probes\[0\].why: required"),
])
def test_bad_node_traffic_probe_is_one_clear_error(tmp_path, probe, match):
    path = write(tmp_path, f"""\
        - name: bad
          description: a broken scenario
          pod: x/a
          policies:
            - metadata: {{name: deny, namespace: "${{x}}"}}
              spec: {{podSelector: {{matchLabels: {{pod: a}}}}, policyTypes: [Ingress]}}
          probes:
            - {probe}
        """)
    with pytest.raises(CaseError, match="scenarios.yaml: bad: " + match):
        S.load_node_traffic(path)


def test_node_placeholders_are_known_and_others_are_not(tmp_path):
    good = write(tmp_path, """\
        - name: node-ip
          description: admits one node
          pod: x/a
          policies:
            - metadata: {name: allow-node, namespace: "${x}"}
              spec: {podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: "${node_ip:own}/32"}}]}]}
          probes:
            - {from: y/b, to: x/a, expect: denied, why: control}
        """)
    assert S.load_node_traffic(good)[0].policies[0]["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] == "${node_ip:own}/32"
    bad = write(tmp_path, good.read_text().replace("node_ip:own", "node_ip:third"))
    with pytest.raises(CaseError, match=r"unknown placeholder \$\{node_ip:third\}"):
        S.load_node_traffic(bad)


def test_node_traffic_requires_names_capabilities(tmp_path):
    scenario = """\
        - name: except-node-ip
          description: admits everything but one node
          pod: x/a
          requires: REQUIRES
          policies:
            - metadata: {name: allow-most, namespace: "${x}"}
              spec: {podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: ["${ip:y/b}/32"]}}]}]}
          probes:
            - {from: y/b, to: x/a, expect: denied, why: control}
        """
    assert S.load_node_traffic(write(tmp_path, scenario.replace("REQUIRES", "[networkpolicy_ipblock_pods]")))[0].requires == (
        "networkpolicy_ipblock_pods",)
    assert S.load_node_traffic(write(tmp_path, scenario.replace("          requires: REQUIRES\n", "")))[0].requires == ()
    with pytest.raises(CaseError, match="lower_snake_case"):
        S.load_node_traffic(write(tmp_path, scenario.replace("REQUIRES", "[Bad-Name]")))


def test_shipped_node_traffic_ipblock_except_scenario_requires_pod_ipblocks():
    # Its allowed control (z/c in 0.0.0.0/0) matches a pod IP by CIDR, which Cilium declares unsupported.
    found = {s.name: s for s in S.load_node_traffic()}
    assert found["ingress-ipblock-except-node-ips"].requires == ("networkpolicy_ipblock_pods",)
    assert found["ingress-deny-from-nodes"].requires == ()
