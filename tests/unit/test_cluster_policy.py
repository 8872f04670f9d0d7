"""The cluster policy engine's specification: hand-written truth tables for ClusterNetworkPolicy
(Admin and Baseline tiers) together with NetworkPolicy, one group per rule kind.

The world is the probe matrix (namespaces x, y, z; pods a, b, c labelled pod=<name>; namespaces
labelled ns=<name>; every pod serving serve-80-tcp, serve-81-tcp, serve-80-udp, serve-81-udp),
plus two nodes and a host-networked pod on each. A row of marks reads x/a x/b x/c  y/a y/b y/c
z/a z/b z/c: `.` allowed, `X` denied, `?` ambiguous. Pod IPs are x: 10.244.1.10-12,
y: 10.244.2.13-15, z: 10.244.3.16-18.
"""
import itertools

import pytest
import yaml

from cnimatrix.netpol import semantics
from cnimatrix.netpol.cases import SAMPLE_IPS, matrix_namespaces, matrix_pods
from cnimatrix.netpol.cluster_policy import (ACCEPT, ADMIN, API_VERSION, BASELINE, DENY, KIND, PASS, Node,
                                             validate_cluster_policy, verdict)
from cnimatrix.netpol.semantics import ContainerPort, Pod, PolicyError

PODS = matrix_pods(SAMPLE_IPS)
NAMESPACES = {**matrix_namespaces(), "kube-system": {}}
NODES = (Node("control-plane", {"node-role.kubernetes.io/control-plane": ""}, ("172.18.0.2",)),
         Node("worker", {"zone": "a"}, ("172.18.0.3", "fc00:f853:ccd:e793::3")))
# Host-networked pods: their IP is their node's.
API_SERVER = Pod("kube-system", "apiserver", {"app": "apiserver"}, "172.18.0.2", (ContainerPort("https", 6443),))
AGENT = Pod("kube-system", "agent", {"app": "agent"}, "172.18.0.3", (ContainerPort("metrics", 9100),))
AGENT_V6 = Pod("kube-system", "agent-v6", {"app": "agent"}, "fc00:f853:ccd:e793::3")
BY_KEY = {p.key: p for p in (*PODS, API_SERVER, AGENT, AGENT_V6)}
TARGETS = ((80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"))
MARKS = {True: ".", False: "X", None: "?"}
_names = itertools.count()


# --- building policies -------------------------------------------------------------------------

def ns(name: str) -> str:
    return f"{{namespaces: {{matchLabels: {{ns: {name}}}}}}}"


def pods(pod: str, namespace: str | None = None) -> str:
    """Pods labelled pod=<pod>, in every namespace unless one is given."""
    namespaces = f"namespaceSelector: {{matchLabels: {{ns: {namespace}}}}}, " if namespace else ""
    return f"{{pods: {{{namespaces}podSelector: {{matchLabels: {{pod: {pod}}}}}}}}}"


EVERY_NAMESPACE = "{namespaces: {}}"


def rule(peers_key: str, action: str, peers, protocols: str | None, name: str | None) -> dict:
    result = {"action": action, peers_key: [yaml.safe_load(p) for p in peers]}
    if protocols:
        result["protocols"] = yaml.safe_load(protocols)
    if name:
        result["name"] = name
    return result


def inbound(action: str, *peers: str, protocols: str | None = None, name: str | None = None) -> dict:
    return rule("from", action, peers, protocols, name)


def outbound(action: str, *peers: str, protocols: str | None = None, name: str | None = None) -> dict:
    return rule("to", action, peers, protocols, name)


def cnp(tier: str, priority: int, subject: str, ingress=(), egress=(), name: str | None = None) -> dict:
    """A validated ClusterNetworkPolicy."""
    spec = {"tier": tier, "priority": priority, "subject": yaml.safe_load(subject)}
    if ingress:
        spec["ingress"] = list(ingress)
    if egress:
        spec["egress"] = list(egress)
    result = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name or f"cnp{next(_names)}"}, "spec": spec}
    validate_cluster_policy(result)
    return result


def np(spec: str, namespace: str = "x", name: str | None = None) -> dict:
    """A validated NetworkPolicy whose spec is the given YAML."""
    result = {"apiVersion": semantics.API_VERSION, "kind": "NetworkPolicy",
              "metadata": {"name": name or f"np{next(_names)}", "namespace": namespace}, "spec": yaml.safe_load(spec)}
    semantics.validate(result)
    return result


# --- reading verdicts --------------------------------------------------------------------------

def check(cnps, nps=(), frm="y/a", to="x/a", port=80, protocol="TCP"):
    return verdict(cnps, nps, NAMESPACES, BY_KEY[frm], BY_KEY[to], port, protocol, nodes=NODES)


def sources(cnps, nps=(), to="x/a", port=80, protocol="TCP") -> str:
    """Which matrix pods reach `to`, e.g. '..X XXX XXX'."""
    return _row(lambda src: MARKS[check(cnps, nps, src.key, to, port, protocol).allowed])


def destinations(cnps, nps=(), frm="x/a", port=80, protocol="TCP") -> str:
    """Which matrix pods `frm` reaches."""
    return _row(lambda dst: MARKS[check(cnps, nps, frm, dst.key, port, protocol).allowed])


def targets(cnps, nps=(), frm="y/a", to="x/a") -> str:
    """One mark per target 80/TCP 81/TCP 80/UDP 81/UDP."""
    return "".join(MARKS[check(cnps, nps, frm, to, port, protocol).allowed] for port, protocol in TARGETS)


def _row(cell) -> str:
    return " ".join("".join(cell(p) for p in PODS if p.namespace == n) for n in ("x", "y", "z"))


ALL = "... ... ..."
DEFAULT = "no admin rule matched; no NetworkPolicy selects it; no baseline rule matched: allowed by default"


# --- no policy, one Admin rule -------------------------------------------------------------------

def test_without_policies_everything_is_allowed_by_default():
    assert sources([]) == ALL
    assert check([]).reason == f"egress of y/a: {DEFAULT}; ingress of x/a: {DEFAULT}"
    only_z = [cnp(ADMIN, 1, ns("z"), ingress=[inbound(DENY, EVERY_NAMESPACE)])]
    assert sources(only_z, to="x/a") == ALL
    assert sources(only_z, to="z/a") == "XXX XXX .XX"


def test_admin_ingress_deny():
    policies = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, ns("y"))], name="deny-y")]
    assert sources(policies, to="x/a") == "... XXX ..."
    assert sources(policies, to="y/a") == ALL                  # y is not a subject
    assert check(policies, frm="y/b").reason == "ingress of x/a: admin cnp/deny-y priority 10 ingress rule 0: Deny"
    assert check(policies, frm="z/b").reason.endswith(f"ingress of x/a: {DEFAULT}")


def test_admin_egress_deny():
    policies = [cnp(ADMIN, 10, ns("x"), egress=[outbound(DENY, ns("z"), name="no-z")], name="deny-z")]
    assert destinations(policies, frm="x/a") == "... ... XXX"
    assert destinations(policies, frm="y/a") == ALL
    assert check(policies, frm="x/b", to="z/c").reason == 'egress of x/b: admin cnp/deny-z priority 10 egress rule 0 "no-z": Deny'


def test_a_pod_always_reaches_itself():
    deny_all = [cnp(ADMIN, 0, EVERY_NAMESPACE, ingress=[inbound(DENY, EVERY_NAMESPACE)],
                    egress=[outbound(DENY, EVERY_NAMESPACE)])]
    assert check(deny_all, frm="x/a", to="x/a").allowed and "itself" in check(deny_all, frm="x/a", to="x/a").reason
    assert check(deny_all, frm="x/a", to="x/b").allowed is False


# --- Admin against NetworkPolicy -----------------------------------------------------------------

def test_admin_accept_overrides_a_network_policy_deny():
    deny_all = [np("{podSelector: {}, policyTypes: [Ingress]}", name="deny-all")]
    accept_y = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(ACCEPT, ns("y"))], name="accept-y")]
    assert sources([], deny_all) == ".XX XXX XXX"
    assert sources(accept_y, deny_all) == ".XX ... XXX"
    assert check(accept_y, deny_all).reason.endswith("ingress of x/a: admin cnp/accept-y priority 10 ingress rule 0: Accept")
    assert check(accept_y, deny_all, frm="z/a").reason == (
        "ingress of x/a: no admin rule matched; NetworkPolicy: no rule of policies x/deny-all allows z/a -> x/a 80/TCP")


def test_admin_deny_overrides_a_network_policy_allow():
    allow_all = [np("{podSelector: {}, ingress: [{}]}", name="allow-all")]
    deny_z = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, ns("z"))], name="deny-z")]
    assert sources(deny_z, allow_all) == "... ... XXX"
    assert check(deny_z, allow_all, frm="z/a").reason == "ingress of x/a: admin cnp/deny-z priority 10 ingress rule 0: Deny"
    assert check(deny_z, allow_all).reason.endswith(
        "ingress of x/a: no admin rule matched; NetworkPolicy: allowed by x/allow-all ingress[0]")


# --- order: priorities, then rules in the order written ---------------------------------------------

@pytest.mark.parametrize("accept_priority, deny_priority, expected", [
    (5, 10, "... X.X ..."),        # y/b accepted before the deny is reached
    (10, 5, "... XXX ..."),
    (0, 1000, "... X.X ..."),
], ids=["accept-first", "deny-first", "extremes"])
def test_lower_priority_number_decides_first(accept_priority, deny_priority, expected):
    policies = [cnp(ADMIN, accept_priority, ns("x"), ingress=[inbound(ACCEPT, pods("b"))], name="accept-b"),
                cnp(ADMIN, deny_priority, ns("x"), ingress=[inbound(DENY, ns("y"))], name="deny-y")]
    assert sources(policies) == expected
    assert sources(policies[::-1]) == expected              # the list order does not matter
    winner = "accept-b" if accept_priority < deny_priority else "deny-y"
    assert f"cnp/{winner} priority {min(accept_priority, deny_priority)}" in check(policies, frm="y/b").reason


def test_the_first_matching_rule_of_a_policy_decides():
    accept_first = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(ACCEPT, pods("b")), inbound(DENY, ns("y"))], name="p")]
    deny_first = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, ns("y")), inbound(ACCEPT, pods("b"))], name="p")]
    assert sources(accept_first) == "... X.X ..."
    assert sources(deny_first) == "... XXX ..."
    assert check(accept_first).reason == "ingress of x/a: admin cnp/p priority 10 ingress rule 1: Deny"
    assert check(deny_first, frm="y/b").reason == "ingress of x/a: admin cnp/p priority 10 ingress rule 0: Deny"


# --- Pass -------------------------------------------------------------------------------------------

def test_admin_pass_skips_the_rest_of_the_tier_and_lets_network_policy_decide():
    b_only = [np("{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}]}",
                 name="b-only")]
    deny_all = cnp(ADMIN, 20, ns("x"), ingress=[inbound(DENY, EVERY_NAMESPACE)], name="deny-all")
    pass_y = cnp(ADMIN, 1, ns("x"), ingress=[inbound(PASS, ns("y"))], name="pass-y")
    assert sources([deny_all], b_only) == ".XX XXX XXX"
    assert sources([deny_all, pass_y], b_only) == ".XX X.X XXX"
    assert check([deny_all, pass_y], b_only, frm="y/b").reason.endswith(
        "ingress of x/a: admin cnp/pass-y priority 1 ingress rule 0: Pass; NetworkPolicy: allowed by x/b-only ingress[0]")
    assert check([deny_all, pass_y], b_only, frm="y/a").reason == (
        "ingress of x/a: admin cnp/pass-y priority 1 ingress rule 0: Pass; "
        "NetworkPolicy: no rule of policies x/b-only allows y/a -> x/a 80/TCP")


def test_admin_pass_falls_through_to_baseline_where_no_network_policy_selects_the_pod():
    deny_y = cnp(ADMIN, 20, ns("x"), ingress=[inbound(DENY, ns("y"))], name="deny-y")
    pass_y = cnp(ADMIN, 1, ns("x"), ingress=[inbound(PASS, ns("y"))], name="pass-y")
    baseline = cnp(BASELINE, 0, ns("x"), ingress=[inbound(ACCEPT, pods("b")), inbound(DENY, EVERY_NAMESPACE)],
                   name="baseline")
    assert sources([deny_y, baseline]) == "..X XXX X.X"
    assert sources([deny_y, pass_y, baseline]) == "..X X.X X.X"
    assert check([deny_y, pass_y, baseline], frm="y/b").reason.endswith(
        "ingress of x/a: admin cnp/pass-y priority 1 ingress rule 0: Pass; no NetworkPolicy selects it; "
        "baseline cnp/baseline priority 0 ingress rule 0: Accept")
    assert check([deny_y, pass_y, baseline], frm="y/c").reason == (
        "ingress of x/a: admin cnp/pass-y priority 1 ingress rule 0: Pass; no NetworkPolicy selects it; "
        "baseline cnp/baseline priority 0 ingress rule 1: Deny")


def test_baseline_pass_skips_the_rest_of_the_tier_to_the_default():
    policies = [cnp(BASELINE, 2, ns("x"), ingress=[inbound(DENY, EVERY_NAMESPACE)], name="deny-all"),
                cnp(BASELINE, 1, ns("x"), ingress=[inbound(PASS, ns("y"))], name="pass-y")]
    assert sources(policies) == ".XX ... XXX"
    assert check(policies).reason.endswith("baseline cnp/pass-y priority 1 ingress rule 0: Pass: allowed by default")
    assert check(policies, frm="z/a").reason.endswith("baseline cnp/deny-all priority 2 ingress rule 0: Deny")


# --- Baseline against NetworkPolicy ----------------------------------------------------------------

def test_a_network_policy_allow_overrides_a_baseline_deny():
    baseline = [cnp(BASELINE, 0, ns("x"), ingress=[inbound(DENY, EVERY_NAMESPACE)], name="deny-all")]
    from_y = [np("{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]}",
                 name="from-y")]
    assert sources(baseline) == ".XX XXX XXX"
    assert sources(baseline, from_y) == ".XX ... XXX"
    assert check(baseline, from_y).reason.endswith("ingress of x/a: no admin rule matched; NetworkPolicy: allowed by x/from-y ingress[0]")
    # The NetworkPolicy's verdict is final: z is denied by it, not by the Baseline tier.
    assert check(baseline, from_y, frm="z/a").reason == (
        "ingress of x/a: no admin rule matched; NetworkPolicy: no rule of policies x/from-y allows z/a -> x/a 80/TCP")


def test_a_baseline_deny_applies_where_no_network_policy_of_that_direction_selects_the_pod():
    baseline = [cnp(BASELINE, 0, ns("x"), ingress=[inbound(DENY, EVERY_NAMESPACE)], name="deny-all")]
    nps = [np("{podSelector: {matchLabels: {pod: a}}, ingress: [{}]}", name="a-open"),
           np("{podSelector: {matchLabels: {pod: b}}, policyTypes: [Egress], egress: [{}]}", name="b-egress")]
    assert sources(baseline, nps, to="x/a") == ALL
    assert sources(baseline, nps, to="x/b") == "X.X XXX XXX"    # only an Egress policy selects x/b
    assert check(baseline, nps, to="x/b").reason == (
        "ingress of x/b: no admin rule matched; no NetworkPolicy selects it; baseline cnp/deny-all priority 0 ingress rule 0: Deny")


def test_admin_rules_come_before_baseline_rules_whatever_their_priorities():
    policies = [cnp(BASELINE, 0, ns("x"), ingress=[inbound(DENY, EVERY_NAMESPACE)], name="baseline-deny"),
                cnp(ADMIN, 1000, ns("x"), ingress=[inbound(ACCEPT, ns("y"))], name="admin-accept")]
    assert sources(policies) == ".XX ... XXX"
    assert "admin cnp/admin-accept priority 1000" in check(policies).reason


# --- equal priorities ---------------------------------------------------------------------------------

def test_equal_priorities_that_disagree_are_ambiguous():
    policies = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, ns("y"))], name="deny-y"),
                cnp(ADMIN, 10, ns("x"), ingress=[inbound(ACCEPT, pods("a"))], name="accept-a")]
    assert sources(policies) == "... ?XX ..."          # only y/a matches both
    result = check(policies)
    assert result.allowed is None
    assert result.reason == ("ambiguous (equal priorities, order undefined): ingress of x/a: "
                             "admin cnp/accept-a priority 10 ingress rule 0: Accept OR admin cnp/deny-y priority 10 ingress rule 0: Deny")


def test_equal_priorities_that_agree_are_not_ambiguous():
    policies = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, ns("y"))], name="deny-y"),
                cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, pods("a"))], name="deny-a")]
    assert sources(policies) == "... XXX X.."
    assert check(policies).reason == ("ingress of x/a: admin cnp/deny-a priority 10 ingress rule 0 "
                                      "and cnp/deny-y priority 10 ingress rule 0: Deny")


def test_equal_priorities_matter_only_when_the_verdict_depends_on_them():
    # Pass or Accept: the Pass leads to the default, which allows too.
    pass_or_accept = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(PASS, ns("y"))], name="pass-y"),
                      cnp(ADMIN, 10, ns("x"), ingress=[inbound(ACCEPT, pods("a"))], name="accept-a")]
    result = check(pass_or_accept)
    assert result.allowed is True and " OR " in result.reason
    # Pass or Deny: the Pass leads to a NetworkPolicy that denies y/a, which is denied either way...
    pass_or_deny = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(PASS, ns("y"))], name="pass-y"),
                    cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, pods("a"))], name="deny-a")]
    b_only = [np("{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}]}")]
    assert check(pass_or_deny, b_only).allowed is False
    # ... but without the NetworkPolicy it is not.
    assert check(pass_or_deny).allowed is None


def test_an_ambiguous_side_does_not_matter_when_the_other_side_denies():
    ambiguous_ingress = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(DENY, ns("y"))], name="deny-y"),
                         cnp(ADMIN, 10, ns("x"), ingress=[inbound(ACCEPT, pods("a"))], name="accept-a")]
    deny_egress = cnp(ADMIN, 0, pods("a", "y"), egress=[outbound(DENY, ns("x"))], name="y-a-out")
    result = check([*ambiguous_ingress, deny_egress])
    assert result.allowed is False
    assert result.reason == "egress of y/a: admin cnp/y-a-out priority 0 egress rule 0: Deny"
    assert check(ambiguous_ingress).allowed is None


def test_equal_priorities_in_different_tiers_are_not_ambiguous():
    policies = [cnp(ADMIN, 10, ns("x"), ingress=[inbound(ACCEPT, ns("y"))]),
                cnp(BASELINE, 10, ns("x"), ingress=[inbound(DENY, EVERY_NAMESPACE)])]
    assert sources(policies) == ".XX ... XXX"


# --- both directions ------------------------------------------------------------------------------------

def test_egress_and_ingress_must_both_allow():
    accept_out = cnp(ADMIN, 0, ns("y"), egress=[outbound(ACCEPT, EVERY_NAMESPACE)], name="y-out")
    deny_in = cnp(ADMIN, 0, ns("x"), ingress=[inbound(DENY, ns("y"))], name="x-in")
    assert destinations([accept_out, deny_in], frm="y/a") == "XXX ... ..."
    assert check([accept_out, deny_in]).reason == "ingress of x/a: admin cnp/x-in priority 0 ingress rule 0: Deny"
    assert check([accept_out, deny_in], to="z/a").reason == (
        f"egress of y/a: admin cnp/y-out priority 0 egress rule 0: Accept; ingress of z/a: {DEFAULT}")


def test_an_admin_egress_accept_overrides_an_egress_network_policy_but_not_the_destinations():
    egress_deny = np("{podSelector: {}, policyTypes: [Egress]}", namespace="y", name="no-egress")
    ingress_deny = np("{podSelector: {}, policyTypes: [Ingress]}", namespace="z", name="no-ingress")
    accept_out = [cnp(ADMIN, 0, ns("y"), egress=[outbound(ACCEPT, EVERY_NAMESPACE)])]
    assert destinations([], [egress_deny, ingress_deny], frm="y/a") == "XXX .XX XXX"
    assert destinations(accept_out, [egress_deny, ingress_deny], frm="y/a") == "... ... XXX"


# --- subjects and peers --------------------------------------------------------------------------------

@pytest.mark.parametrize("subject, into_x_a, into_y_a, into_x_b", [
    (ns("x"), "... XXX XXX", ALL, "... XXX XXX"),
    ("{namespaces: {matchLabels: {kubernetes.io/metadata.name: x}}}", "... XXX XXX", ALL, "... XXX XXX"),
    (pods("a", "x"), "... XXX XXX", ALL, ALL),
    (pods("a"), "... XXX XXX", "... .XX XXX", ALL),        # no namespaceSelector: every namespace
    ("{pods: {namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {}}}",
     ALL, "... .XX XXX", ALL),
], ids=["namespaces", "namespace-name", "pods-in-namespace", "pods-anywhere", "expressions"])
def test_subjects(subject, into_x_a, into_y_a, into_x_b):
    policies = [cnp(ADMIN, 0, subject, ingress=[inbound(DENY, ns("y"), ns("z"))])]
    assert sources(policies, to="x/a") == into_x_a
    assert sources(policies, to="y/a") == into_y_a
    assert sources(policies, to="x/b") == into_x_b


@pytest.mark.parametrize("peer, expected", [
    (ns("y"), "... XXX ..."),
    (EVERY_NAMESPACE, ".XX XXX XXX"),
    (pods("b"), ".X. .X. .X."),                                  # every namespace, unlike a NetworkPolicy peer
    (pods("b", "y"), "... .X. ..."),
    ("{pods: {namespaceSelector: {}, podSelector: {}}}", ".XX XXX XXX"),
    ("{namespaces: {matchExpressions: [{key: ns, operator: In, values: [y, z]}]}}", "... XXX XXX"),
], ids=["namespace", "every-namespace", "pods-anywhere", "pods-in-namespace", "every-pod", "expression"])
def test_ingress_peers(peer, expected):
    assert sources([cnp(ADMIN, 0, pods("a", "x"), ingress=[inbound(DENY, peer)])]) == expected


def test_peers_of_one_rule_are_a_union():
    policies = [cnp(ADMIN, 0, pods("a", "x"), ingress=[inbound(DENY, pods("c", "x"), ns("z"))])]
    assert sources(policies) == "..X ... XXX"


# --- ports and protocols ----------------------------------------------------------------------------

@pytest.mark.parametrize("protocols, expected", [            # 80/TCP 81/TCP 80/UDP 81/UDP, X = the Deny matched
    (None, "XXXX"),                                           # no protocols: every port of every protocol
    ("[{tcp: {destinationPort: {number: 80}}}]", "X..."),
    ("[{udp: {destinationPort: {number: 81}}}]", "...X"),
    ("[{tcp: {destinationPort: {number: 80}}}, {udp: {destinationPort: {number: 81}}}]", "X..X"),
    ("[{tcp: {destinationPort: {range: {start: 80, end: 81}}}}]", "XX.."),
    ("[{udp: {destinationPort: {range: {start: 1, end: 65535}}}}]", "..XX"),
    ("[{sctp: {destinationPort: {number: 80}}}]", "...."),
    ("[{destinationNamedPort: serve-81-tcp}]", ".X.."),
    ("[{destinationNamedPort: serve-80-udp}]", "..X."),
    ("[{destinationNamedPort: serve-99-tcp}]", "...."),      # no such container port
], ids=["none", "tcp", "udp", "two", "range", "udp-all", "sctp", "named-tcp", "named-udp", "named-missing"])
def test_protocols(protocols, expected):
    policies = [cnp(ADMIN, 0, pods("a", "x"), ingress=[inbound(DENY, EVERY_NAMESPACE, protocols=protocols)])]
    assert targets(policies) == expected


def test_a_rule_without_protocols_matches_sctp_too():
    policies = [cnp(ADMIN, 0, pods("a", "x"), ingress=[inbound(DENY, EVERY_NAMESPACE)])]
    assert check(policies, protocol="SCTP", port=5000).allowed is False
    assert check(policies, to="x/b", protocol="SCTP", port=5000).allowed is True


@pytest.mark.parametrize("start, end, denied", [(80, 82, [80, 81, 82]), (80, 81, [80, 81]), (83, 65535, [83, 84])])
def test_port_ranges_include_both_ends(start, end, denied):
    protocols = f"[{{tcp: {{destinationPort: {{range: {{start: {start}, end: {end}}}}}}}}}]"
    policies = [cnp(ADMIN, 0, pods("a", "x"), ingress=[inbound(DENY, EVERY_NAMESPACE, protocols=protocols)])]
    assert [port for port in range(78, 85) if not check(policies, port=port).allowed] == denied


def test_named_ports_resolve_on_the_destination_pod():
    client = Pod("x", "client", {"pod": "client"}, "10.244.1.100", (ContainerPort("http", 8080),))
    one = Pod("y", "one", {"pod": "one"}, "10.244.2.100", (ContainerPort("http", 8080),))
    two = Pod("y", "two", {"pod": "two"}, "10.244.2.101", (ContainerPort("http", 9090),))
    named = "[{destinationNamedPort: http}]"
    egress = [cnp(ADMIN, 0, pods("client"), egress=[outbound(DENY, EVERY_NAMESPACE, protocols=named)])]
    allowed = lambda policies, src, dst, port, protocol="TCP": verdict(policies, [], NAMESPACES, src, dst, port, protocol).allowed
    assert [allowed(egress, client, dst, port) for dst, port in ((one, 8080), (one, 9090), (two, 9090), (two, 8080))] \
        == [False, True, False, True]
    assert allowed(egress, client, two, 9090, "UDP")           # the container port's protocol (TCP) counts
    ingress = [cnp(ADMIN, 0, pods("two"), ingress=[inbound(DENY, EVERY_NAMESPACE, protocols=named)])]
    # The source's own "http" (8080) is irrelevant; the destination's (9090) counts.
    assert [allowed(ingress, one, two, port) for port in (8080, 9090)] == [True, False]


# --- egress to networks and nodes ---------------------------------------------------------------------

@pytest.mark.parametrize("networks, expected", [
    (["10.244.2.14/32"], "... .X. ..."),
    (["10.244.2.0/24"], "... XXX ..."),
    (["10.244.2.13/24"], "... XXX ..."),                  # host bits: the API accepts them, the network counts
    (["10.244.2.14/32", "10.244.3.0/24"], "... .X. XXX"),
    (["10.244.0.0/16"], ".XX XXX XXX"),                   # pod-to-pod traffic is covered by networks too
    (["fd00::/8"], ALL),                                  # the other IP family
], ids=["host", "subnet", "host-bits", "two", "all-pods", "ipv6"])
def test_egress_to_networks(networks, expected):
    peer = f"{{networks: [{', '.join(repr(n) for n in networks)}]}}"
    assert destinations([cnp(ADMIN, 0, pods("a", "x"), egress=[outbound(DENY, peer)])]) == expected


def test_networks_reach_node_addresses_and_pass_keeps_pods_out_of_a_catch_all():
    policies = [cnp(ADMIN, 0, pods("a", "x"), egress=[outbound(PASS, EVERY_NAMESPACE),
                                                      outbound(DENY, "{networks: [0.0.0.0/0]}")], name="outside")]
    assert destinations(policies) == ALL
    assert check(policies, frm="x/a", to="kube-system/agent").allowed is False
    assert check(policies, frm="x/a", to="kube-system/agent").reason == (
        "egress of x/a: admin cnp/outside priority 0 egress rule 1: Deny")


@pytest.mark.parametrize("nodes, to_api_server, to_agent", [
    ("{}", False, False),                                            # every node
    ("{matchLabels: {zone: a}}", True, False),
    ("{matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]}", False, True),
    ("{matchLabels: {zone: b}}", True, True),
], ids=["all", "label", "expression", "none"])
def test_egress_to_nodes_matches_their_addresses(nodes, to_api_server, to_agent):
    policies = [cnp(ADMIN, 0, pods("a", "x"), egress=[outbound(DENY, f"{{nodes: {nodes}}}")], name="no-nodes")]
    assert check(policies, frm="x/a", to="kube-system/apiserver").allowed is to_api_server
    assert check(policies, frm="x/a", to="kube-system/agent").allowed is to_agent
    assert check(policies, frm="x/a", to="kube-system/agent-v6").allowed is to_agent   # the worker's second address
    assert destinations(policies) == ALL                                               # pods are not nodes


def test_host_networked_pods_are_neither_pod_peers_nor_subjects():
    deny_pods_out = [cnp(ADMIN, 0, pods("a", "x"), egress=[outbound(DENY, EVERY_NAMESPACE)])]
    assert destinations(deny_pods_out) == ".XX XXX XXX"
    assert check(deny_pods_out, frm="x/a", to="kube-system/agent").allowed is True
    deny_all_in = [cnp(ADMIN, 0, EVERY_NAMESPACE, ingress=[inbound(DENY, EVERY_NAMESPACE)])]
    assert check(deny_all_in, frm="x/a", to="kube-system/agent").allowed is True
    assert check(deny_all_in, frm="x/a", to="x/b").allowed is False


# --- validation ------------------------------------------------------------------------------------

def spec_error(spec: str) -> str:
    document = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "p"}, "spec": yaml.safe_load(spec)}
    with pytest.raises(PolicyError) as raised:
        validate_cluster_policy(document)
    return str(raised.value)


EGRESS_TO = "{tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [%s]%s}]}"
INGRESS_FROM = "{tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [%s]%s}]}"
PROTOCOLS = INGRESS_FROM % ("{namespaces: {}}", ", protocols: %s")


@pytest.mark.parametrize("spec, error", [
    ("{tier: admin, priority: 1, subject: {namespaces: {}}}", "spec.tier: must be Admin or Baseline, got 'admin'"),
    ("{tier: Admin, priority: 1001, subject: {namespaces: {}}}", "spec.priority: must be a number from 0 to 1000, got 1001"),
    ("{tier: Admin, priority: -1, subject: {namespaces: {}}}", "spec.priority: must be a number from 0 to 1000"),
    ("{tier: Admin, priority: '1', subject: {namespaces: {}}}", "spec.priority: must be a number"),
    ("{tier: Admin, subject: {namespaces: {}}}", "spec.priority: required"),
    ("{tier: Admin, priority: 1}", "spec.subject: required"),
    ("{tier: Admin, priority: 1, subject: {}}", "spec.subject: must set exactly one of namespaces, pods, got 0"),
    ("{tier: Admin, priority: 1, subject: {namespaces: {}, pods: {podSelector: {}}}}", "spec.subject: must set exactly one"),
    ("{tier: Admin, priority: 1, subject: {pods: {namespaceSelector: {}}}}", "spec.subject.pods.podSelector: required"),
    ("{tier: Admin, priority: 1, subject: {namespaces: {matchLabels: {ns: 1}}}}",
     "spec.subject.namespaces.matchLabels.ns: must be a non-empty string"),
    ("{tier: Admin, priority: 1, subject: {podSelector: {}}}", "spec.subject.podSelector: unknown field"),
    ("{tier: Admin, priority: 1, podSelector: {}, subject: {namespaces: {}}}", "spec.podSelector: unknown field"),
    ("{tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [{from: [{namespaces: {}}]}]}",
     "spec.ingress[0].action: required"),
    (INGRESS_FROM.replace("Deny", "Allow") % ("{namespaces: {}}", ""),
     "spec.ingress[0].action: must be one of Accept, Deny, Pass, got 'Allow'"),
    ("{tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny}]}", "spec.ingress[0].from: required"),
    ("{tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: []}]}",
     "spec.egress[0].to: must have 1 to 25 items, got 0"),
    (INGRESS_FROM % ("{namespaces: {}}", ", name: " + "n" * 101), "spec.ingress[0].name: must be a string of at most 100"),
    (INGRESS_FROM % ("{nodes: {}}", ""), "spec.ingress[0].from[0].nodes: unknown field"),
    (INGRESS_FROM % ("{networks: [10.0.0.0/8]}", ""), "spec.ingress[0].from[0].networks: unknown field"),
    (INGRESS_FROM % ("{}", ""), "spec.ingress[0].from[0]: must set exactly one of namespaces, pods, got 0"),
    (EGRESS_TO % ("{namespaces: {}, nodes: {}}", ""), "spec.egress[0].to[0]: must set exactly one of namespaces, pods, nodes, networks"),
    (EGRESS_TO % ("{domainNames: [example.com]}", ""), "spec.egress[0].to[0].domainNames: not supported by this engine"),
    (EGRESS_TO % ("{networks: [10.0.0.300/8]}", ""), "spec.egress[0].to[0].networks[0]: not a CIDR"),
    (EGRESS_TO % ("{networks: [10.0.0.0/8, 10.0.0.0/8]}", ""), "spec.egress[0].to[0].networks[1]: duplicate"),
    (EGRESS_TO % ("{networks: []}", ""), "spec.egress[0].to[0].networks: must have 1 to 25 items, got 0"),
    (EGRESS_TO % ("{networks: [10.0.0.0/8]}", ", protocols: [{destinationNamedPort: http}]"),
     "spec.egress[0].protocols: destinationNamedPort cannot be used with nodes or networks peers"),
    (EGRESS_TO % ("{nodes: {}}", ", protocols: [{destinationNamedPort: http}]"), "destinationNamedPort cannot be used"),
    (PROTOCOLS % "[]", "spec.ingress[0].protocols: must have 1 to 25 items, got 0"),
    (PROTOCOLS % "[{tcp: {}}]", "spec.ingress[0].protocols[0].tcp.destinationPort: required"),
    (PROTOCOLS % "[{TCP: {destinationPort: {number: 80}}}]", "spec.ingress[0].protocols[0].TCP: unknown field"),
    (PROTOCOLS % "[{tcp: {destinationPort: {number: 80}}, udp: {destinationPort: {number: 80}}}]",
     "spec.ingress[0].protocols[0]: must set exactly one of tcp, udp, sctp, destinationNamedPort, got 2"),
    (PROTOCOLS % "[{tcp: {destinationPort: {number: 0}}}]",
     "spec.ingress[0].protocols[0].tcp.destinationPort.number: must be a number from 1 to 65535, got 0"),
    (PROTOCOLS % "[{udp: {destinationPort: {number: 80, range: {start: 1, end: 2}}}}]",
     "spec.ingress[0].protocols[0].udp.destinationPort: must set exactly one of number, range"),
    (PROTOCOLS % "[{tcp: {destinationPort: {range: {start: 80, end: 80}}}}]",
     "spec.ingress[0].protocols[0].tcp.destinationPort.range: start (80) must be less than end (80)"),
    (PROTOCOLS % "[{sctp: {destinationPort: {range: {start: 80}}}}]", "destinationPort.range.end: required"),
    (PROTOCOLS % "[{destinationNamedPort: ''}]", "spec.ingress[0].protocols[0].destinationNamedPort: must be a non-empty string"),
    ("{tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [%s]}" % ", ".join(["{action: Pass, from: [{namespaces: {}}]}"] * 26),
     "spec.ingress: must have 0 to 25 items, got 26"),
])
def test_validation_names_the_offending_field(spec, error):
    assert error in spec_error(spec)


def test_validation_accepts_every_supported_field():
    spec = """
      tier: Baseline
      priority: 0
      subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchExpressions: [{key: pod, operator: Exists}]}}}
      ingress:
      - {name: from-y, action: Accept, from: [{namespaces: {matchLabels: {ns: y}}}, {pods: {podSelector: {}}}],
         protocols: [{tcp: {destinationPort: {number: 80}}}, {udp: {destinationPort: {range: {start: 80, end: 81}}}},
                     {sctp: {destinationPort: {number: 9}}}, {destinationNamedPort: serve-80-tcp}]}
      egress:
      - {action: Pass, to: [{nodes: {}}, {networks: [10.0.0.0/8, 'fd00::/8']}], protocols: [{tcp: {destinationPort: {number: 443}}}]}
      - {action: Deny, to: [{pods: {podSelector: {}}}], protocols: [{destinationNamedPort: serve-81-tcp}]}
    """
    document = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "full", "namespace": "ignored"},
                "spec": yaml.safe_load(spec)}
    validate_cluster_policy(document)
    document["spec"]["egress"][0]["protocols"].append({"destinationNamedPort": "http"})
    with pytest.raises(PolicyError, match=r"^spec.egress\[0\].protocols: destinationNamedPort cannot"):
        validate_cluster_policy(document)


def test_validation_checks_the_envelope():
    good = cnp(ADMIN, 1, EVERY_NAMESPACE)
    validate_cluster_policy(good)
    with pytest.raises(PolicyError, match="apiVersion/kind: must be policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy"):
        validate_cluster_policy({**good, "apiVersion": "policy.networking.k8s.io/v1alpha1"})
    with pytest.raises(PolicyError, match="apiVersion/kind"):
        validate_cluster_policy({**good, "kind": "AdminNetworkPolicy"})
    with pytest.raises(PolicyError, match="metadata.name: required"):
        validate_cluster_policy({**good, "metadata": {"namespace": "x"}})
    with pytest.raises(PolicyError, match="^status: unknown field"):
        validate_cluster_policy({**good, "status": {}})
