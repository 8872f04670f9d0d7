"""The policy engine's specification: hand-written truth tables, one group per rule kind.

The world is the probe matrix (namespaces x, y, z; pods a, b, c labelled pod=<name>; namespaces
labelled ns=<name>). Tables read "from" down and "to" across, in the order
x/a x/b x/c  y/a y/b y/c  z/a z/b z/c; `.` is allowed and `X` denied. Pod IPs are
x: 10.244.1.10-12, y: 10.244.2.13-15, z: 10.244.3.16-18.
"""
import itertools
import textwrap

import pytest
import yaml

from cnimatrix.netpol.cases import SAMPLE_IPS, matrix_namespaces, matrix_pods
from cnimatrix.netpol.semantics import API_VERSION, ContainerPort, Pod, PolicyError, validate, verdict

PODS = matrix_pods(SAMPLE_IPS)
BY_KEY = {p.key: p for p in PODS}
NAMESPACES = matrix_namespaces()
TARGETS = ((80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"))
_names = itertools.count()


def policy(spec: str, namespace: str = "x", name: str | None = None) -> dict:
    """A validated NetworkPolicy whose spec is the given YAML."""
    result = {"apiVersion": API_VERSION, "kind": "NetworkPolicy",
              "metadata": {"name": name or f"p{next(_names)}", "namespace": namespace}, "spec": yaml.safe_load(spec)}
    validate(result)
    return result


def mark(policies, src: Pod, dst: Pod, port=80, protocol="TCP", namespaces=NAMESPACES) -> str:
    return "." if verdict(policies, namespaces, src, dst, port, protocol).allowed else "X"


def grid(policies, port=80, protocol="TCP") -> str:
    """The whole 9x9 table, one line per source: 'x/a  .XX ... ...'."""
    return "\n".join(f"{src.key}  {_by_namespace(lambda dst: mark(policies, src, dst, port, protocol))}" for src in PODS)


def sources(policies, to: str, port=80, protocol="TCP", pods=PODS, namespaces=NAMESPACES) -> str:
    """Which pods reach `to`, e.g. '..X XXX XXX'."""
    dst = next(p for p in pods if p.key == to)
    return _by_namespace(lambda src: mark(policies, src, dst, port, protocol, namespaces), pods)


def destinations(policies, frm: str, port=80, protocol="TCP") -> str:
    """Which pods `frm` reaches."""
    return _by_namespace(lambda dst: mark(policies, BY_KEY[frm], dst, port, protocol))


def targets(policies, frm="y/a", to="x/a") -> str:
    """One mark per target 80/TCP 81/TCP 80/UDP 81/UDP."""
    return "".join(mark(policies, BY_KEY[frm], BY_KEY[to], port, protocol) for port, protocol in TARGETS)


def _by_namespace(cell, pods=PODS) -> str:
    return " ".join("".join(cell(p) for p in pods if p.namespace == ns) for ns in ("x", "y", "z"))


def table(text: str) -> str:
    return textwrap.dedent(text).strip()


ALL_ALLOWED = table("""
    x/a  ... ... ...
    x/b  ... ... ...
    x/c  ... ... ...
    y/a  ... ... ...
    y/b  ... ... ...
    y/c  ... ... ...
    z/a  ... ... ...
    z/b  ... ... ...
    z/c  ... ... ...
""")

X_INGRESS_DENIED = table("""
    x/a  .XX ... ...
    x/b  X.X ... ...
    x/c  XX. ... ...
    y/a  XXX ... ...
    y/b  XXX ... ...
    y/c  XXX ... ...
    z/a  XXX ... ...
    z/b  XXX ... ...
    z/c  XXX ... ...
""")


# --- isolation and policyTypes ---------------------------------------------------------------

def test_no_policy_allows_everything():
    assert grid([]) == ALL_ALLOWED


def test_a_policy_in_another_namespace_changes_nothing_here():
    assert grid([policy("{podSelector: {}, policyTypes: [Ingress, Egress]}", namespace="elsewhere")]) == ALL_ALLOWED


@pytest.mark.parametrize("spec", [
    "{podSelector: {}, policyTypes: [Ingress]}",
    "{podSelector: {}}",                          # policyTypes omitted, no rules: Ingress
    "{podSelector: {}, policyTypes: []}",         # empty policyTypes is defaulted like omitted
    "{podSelector: {}, egress: []}",              # empty egress does not imply Egress
    "{podSelector: {}, ingress: []}",
], ids=["explicit", "types-omitted", "types-empty", "empty-egress", "empty-ingress"])
def test_default_deny_ingress_variants(spec):
    assert grid([policy(spec)]) == X_INGRESS_DENIED


def test_default_deny_egress():
    assert grid([policy("{podSelector: {}, policyTypes: [Egress]}")]) == table("""
        x/a  .XX XXX XXX
        x/b  X.X XXX XXX
        x/c  XX. XXX XXX
        y/a  ... ... ...
        y/b  ... ... ...
        y/c  ... ... ...
        z/a  ... ... ...
        z/b  ... ... ...
        z/c  ... ... ...
    """)


def test_default_deny_both_directions():
    assert grid([policy("{podSelector: {}, policyTypes: [Ingress, Egress]}")]) == table("""
        x/a  .XX XXX XXX
        x/b  X.X XXX XXX
        x/c  XX. XXX XXX
        y/a  XXX ... ...
        y/b  XXX ... ...
        y/c  XXX ... ...
        z/a  XXX ... ...
        z/b  XXX ... ...
        z/c  XXX ... ...
    """)


def test_empty_ingress_list_denies_and_one_empty_rule_allows():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, ingress: []}"),
                policy("{podSelector: {matchLabels: {pod: b}}, ingress: [{}]}")]
    assert sources(policies, to="x/a") == ".XX XXX XXX"
    assert sources(policies, to="x/b") == "... ... ..."
    assert targets(policies, to="x/b") == "...."


@pytest.mark.parametrize("rule", ["{ports: [{port: 81}]}", "{from: [], ports: [{port: 81}]}"], ids=["absent", "empty"])
def test_a_rule_without_peers_matches_every_source(rule):
    policies = [policy(f"{{podSelector: {{matchLabels: {{pod: a}}}}, ingress: [{rule}]}}")]
    assert sources(policies, to="x/a", port=81) == "... ... ..."
    assert sources(policies, to="x/a", port=80) == ".XX XXX XXX"


@pytest.mark.parametrize("rule", ["{ports: [{port: 81}]}", "{to: [], ports: [{port: 81}]}"], ids=["absent", "empty"])
def test_an_egress_rule_without_peers_matches_every_destination(rule):
    policies = [policy(f"{{podSelector: {{matchLabels: {{pod: a}}}}, policyTypes: [Egress], egress: [{rule}]}}")]
    assert destinations(policies, frm="x/a", port=81) == "... ... ..."
    assert destinations(policies, frm="x/a", port=80) == ".XX XXX XXX"


RULES_BOTH_WAYS = """
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]
"""


@pytest.mark.parametrize("types, into_x_a, out_of_x_a", [
    ("[Ingress]", "..X XXX XXX", "... ... ..."),            # egress rules ignored
    ("[Egress]", "... ... ...", "..X XXX XXX"),             # ingress rules ignored
    ("[Ingress, Egress]", "..X XXX XXX", "..X XXX XXX"),
    (None, "..X XXX XXX", "..X XXX XXX"),                   # omitted: egress rules imply Egress
])
def test_policy_types_decide_which_rules_count(types, into_x_a, out_of_x_a):
    spec = RULES_BOTH_WAYS + (f"  policyTypes: {types}\n" if types else "")
    policies = [policy(spec)]
    assert sources(policies, to="x/a") == into_x_a
    assert destinations(policies, frm="x/a") == out_of_x_a


def test_egress_rules_without_ingress_rules_still_isolate_ingress():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, egress: [{}]}")]
    assert sources(policies, to="x/a") == ".XX XXX XXX"
    assert destinations(policies, frm="x/a") == "... ... ..."


def test_a_pod_always_reaches_itself():
    deny_all = [policy("{podSelector: {}, policyTypes: [Ingress, Egress]}")]
    for port, protocol in TARGETS:
        result = verdict(deny_all, NAMESPACES, BY_KEY["x/b"], BY_KEY["x/b"], port, protocol)
        assert result.allowed and "itself" in result.reason


# --- peers -----------------------------------------------------------------------------------

def ingress_to_x_a(*peers: str) -> list[dict]:
    """A policy on x/a admitting the given peers (YAML flow mappings) in one rule."""
    return [policy(f"{{podSelector: {{matchLabels: {{pod: a}}}}, ingress: [{{from: [{', '.join(peers)}]}}]}}")]


@pytest.mark.parametrize("peers, expected", [
    (["{podSelector: {matchLabels: {pod: b}}}"], "..X XXX XXX"),          # the policy's namespace only
    (["{podSelector: {}}"], "... XXX XXX"),
    (["{namespaceSelector: {matchLabels: {ns: y}}}"], ".XX ... XXX"),      # not the own namespace
    (["{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}"], ".XX ... XXX"),
    (["{namespaceSelector: {}}"], "... ... ..."),
    (["{namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [y, z]}]}}"], ".XX ... ..."),
    # both selectors in ONE peer: AND
    (["{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}"], ".XX X.X XXX"),
    (["{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}"], "..X X.X X.X"),
    (["{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {}}"], ".XX ... XXX"),
    # the same selectors as TWO peers: OR
    (["{namespaceSelector: {matchLabels: {ns: y}}}", "{podSelector: {matchLabels: {pod: b}}}"], "..X ... XXX"),
], ids=["pod", "pod-empty", "ns-label", "ns-name-label", "ns-empty", "ns-expression",
        "and", "and-any-ns", "and-empty-pod", "or"])
def test_peer_selectors(peers, expected):
    assert sources(ingress_to_x_a(*peers), to="x/a") == expected


def test_namespace_name_label_cannot_be_spoofed_by_other_labels():
    namespaces = {**NAMESPACES, "z": {"ns": "z", "kubernetes.io/metadata.name": "y"}}
    policies = ingress_to_x_a("{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}")
    assert sources(policies, to="x/a", namespaces=namespaces) == ".XX ... XXX"


# Extra labels for the selector tests: x/b role=db, y/b role=web, z/c role=db.
ROLES = {"x/b": "db", "y/b": "web", "z/c": "db"}
ROLE_PODS = tuple(Pod(p.namespace, p.name, {**p.labels, **({"role": ROLES[p.key]} if p.key in ROLES else {})}, p.ip, p.ports)
                  for p in PODS)


@pytest.mark.parametrize("pod_selector, expected", [
    ("{matchExpressions: [{key: role, operator: In, values: [db]}]}", "..X XXX XX."),
    ("{matchExpressions: [{key: role, operator: In, values: [db, web]}]}", "..X X.X XX."),
    ("{matchExpressions: [{key: role, operator: NotIn, values: [db]}]}", ".X. ... ..X"),   # no role: matches
    ("{matchExpressions: [{key: role, operator: Exists}]}", "..X X.X XX."),
    ("{matchExpressions: [{key: role, operator: DoesNotExist}]}", ".X. .X. ..X"),
    ("{matchLabels: {pod: b}, matchExpressions: [{key: role, operator: Exists}]}", "..X X.X XXX"),
    ("{matchExpressions: [{key: role, operator: Exists}, {key: role, operator: NotIn, values: [web]}]}", "..X XXX XX."),
], ids=["in", "in-two-values", "notin", "exists", "does-not-exist", "labels-and-expression", "two-expressions"])
def test_match_expressions(pod_selector, expected):
    policies = ingress_to_x_a(f"{{namespaceSelector: {{}}, podSelector: {pod_selector}}}")
    assert sources(policies, to="x/a", pods=ROLE_PODS) == expected


def test_policy_pod_selector_uses_expressions_too():
    policies = [policy("{podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [a]}]}}")]
    assert sources(policies, to="x/a") == "... ... ..."
    assert sources(policies, to="x/b") == "X.X XXX XXX"


# --- ipBlock -----------------------------------------------------------------------------------

@pytest.mark.parametrize("block, expected", [
    ("{cidr: 10.244.2.14/32}", ".XX X.X XXX"),                                   # y/b
    ("{cidr: 10.244.2.0/24}", ".XX ... XXX"),                                    # all of y
    ("{cidr: 10.244.0.0/16, except: [10.244.2.0/24]}", "... XXX ..."),
    ("{cidr: 10.244.0.0/16, except: [10.244.1.12/32, 10.244.3.17/32]}", "..X ... .X."),
    ("{cidr: 0.0.0.0/0, except: [10.244.0.0/16]}", ".XX XXX XXX"),                # no pod
    ("{cidr: '::/0'}", ".XX XXX XXX"),                                           # other IP family
], ids=["host", "subnet", "except-subnet", "except-hosts", "outside-pods", "ipv6"])
def test_ip_block_on_ingress(block, expected):
    assert sources(ingress_to_x_a(f"{{ipBlock: {block}}}"), to="x/a") == expected


def test_ip_block_on_egress_matches_the_destination():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress],"
                       " egress: [{to: [{ipBlock: {cidr: 10.244.3.0/24, except: [10.244.3.18/32]}}]}]}")]
    assert destinations(policies, frm="x/a") == ".XX XXX ..X"


def test_an_ip_excepted_in_one_peer_is_allowed_by_another():
    policies = ingress_to_x_a("{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.14/32, 10.244.2.15/32]}}",
                              "{ipBlock: {cidr: 10.244.2.14/32}}")
    assert sources(policies, to="x/a") == "... ..X ..."


# --- ports -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ports, expected", [          # 80/TCP 81/TCP 80/UDP 81/UDP
    ("[{port: 80}]", ".XXX"),                          # protocol defaults to TCP
    ("[{protocol: UDP, port: 81}]", "XXX."),
    ("[{port: 80}, {protocol: UDP, port: 81}]", ".XX."),
    ("[{port: serve-81-tcp}]", "X.XX"),
    ("[{protocol: UDP, port: serve-80-udp}]", "XX.X"),
    ("[{port: serve-80-udp}]", "XXXX"),                # the name exists, but as UDP
    ("[{protocol: UDP, port: serve-81-tcp}]", "XXXX"),  # the name exists, but as TCP
    ("[{port: serve-99-tcp}]", "XXXX"),                # no such name on the destination
    ("[{protocol: UDP}]", "XX.."),                     # protocol only: every port
    ("[{protocol: TCP}]", "..XX"),
    ("[{}]", "..XX"),                                  # an empty entry is TCP, any port
    ("[{protocol: SCTP, port: 80}]", "XXXX"),
    ("[{port: 80, endPort: 81}]", "..XX"),
    ("[{protocol: UDP, port: 81, endPort: 81}]", "XXX."),
    ("[]", "...."),                                    # no ports: every port
], ids=["tcp-default", "udp", "two", "named-tcp", "named-udp", "named-udp-as-tcp", "named-tcp-as-udp",
        "named-missing", "udp-any", "tcp-any", "empty-entry", "sctp", "endport", "endport-equal", "none"])
def test_ports(ports, expected):
    assert targets([policy(f"{{podSelector: {{matchLabels: {{pod: a}}}}, ingress: [{{ports: {ports}}}]}}")]) == expected


@pytest.mark.parametrize("entry, allowed", [
    ("{port: 80, endPort: 82}", [80, 81, 82]),
    ("{port: 80, endPort: 80}", [80]),
    ("{port: 80}", [80]),
    ("{protocol: UDP, port: 80, endPort: 82}", []),     # probed over TCP
])
def test_end_port_range_edges(entry, allowed):
    policies = [policy(f"{{podSelector: {{matchLabels: {{pod: a}}}}, ingress: [{{ports: [{entry}]}}]}}")]
    found = [port for port in range(78, 85) if verdict(policies, NAMESPACES, BY_KEY["y/a"], BY_KEY["x/a"], port, "TCP").allowed]
    assert found == allowed


def test_named_ports_resolve_against_the_destination_pod():
    client = Pod("x", "client", {"pod": "client"}, "10.244.1.100", (ContainerPort("http", 8080),))
    one = Pod("y", "one", {"pod": "one"}, "10.244.2.100", (ContainerPort("http", 8080),))
    two = Pod("y", "two", {"pod": "two"}, "10.244.2.101", (ContainerPort("http", 9090),))
    egress = [policy("{podSelector: {matchLabels: {pod: client}}, policyTypes: [Egress], egress: [{ports: [{port: http}]}]}")]
    assert [verdict(egress, NAMESPACES, client, dst, port, "TCP").allowed
            for dst, port in ((one, 8080), (one, 9090), (two, 9090), (two, 8080))] == [True, False, True, False]
    ingress = [policy("{podSelector: {matchLabels: {pod: two}}, ingress: [{ports: [{port: http}]}]}", namespace="y")]
    # The source's own "http" (8080) is irrelevant; the destination's (9090) counts.
    assert [verdict(ingress, NAMESPACES, one, two, port, "TCP").allowed for port in (8080, 9090)] == [False, True]


def test_peers_and_ports_of_one_rule_must_both_match():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 81}]}]}")]
    assert targets(policies, frm="x/b") == "X.XX"
    assert targets(policies, frm="x/c") == "XXXX"


# --- several policies, both directions ----------------------------------------------------------

def test_several_policies_on_one_pod_are_a_union():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]}"),
                policy("{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]}")]
    assert sources(policies, to="x/a", port=80) == "..X ... XXX"
    assert sources(policies, to="x/a", port=81) == ".XX ... XXX"
    assert sources(policies, to="x/c", port=80) == "XX. ... XXX"


def test_a_narrow_policy_does_not_narrow_an_allow_all_one():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 81}]}]}"),
                policy("{podSelector: {matchLabels: {pod: a}}, ingress: [{}]}")]
    assert targets(policies) == "...."


def test_egress_of_the_source_and_ingress_of_the_destination_must_both_allow():
    policies = [policy("{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress],"
                       " egress: [{to: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}]}"),
                policy("{podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]}",
                       namespace="y")]
    assert grid(policies) == table("""
        x/a  ..X XXX X.X
        x/b  ... .X. ...
        x/c  ... .X. ...
        y/a  ... .X. ...
        y/b  ... ... ...
        y/c  ... .X. ...
        z/a  ... ... ...
        z/b  ... ... ...
        z/c  ... ... ...
    """)


# --- reasons -------------------------------------------------------------------------------------

def test_reasons_name_the_rule_that_allowed():
    policies = [policy("{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}]}, {from: [{namespaceSelector: {}}]}]}",
                       name="allow-some")]
    result = verdict(policies, NAMESPACES, BY_KEY["y/a"], BY_KEY["x/b"], 80, "TCP")
    assert result.allowed
    assert result.reason == ("egress of y/a: not isolated (no Egress policy selects it); "
                             "ingress of x/b: allowed by x/allow-some ingress[1]")


def test_reasons_name_every_selecting_policy_when_denied():
    policies = [policy("{podSelector: {}, policyTypes: [Ingress]}", name="deny"),
                policy("{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 81}]}]}", name="only-81"),
                policy("{podSelector: {matchLabels: {pod: b}}, ingress: [{}]}", name="b-open")]
    result = verdict(policies, NAMESPACES, BY_KEY["y/c"], BY_KEY["x/a"], 80, "TCP")
    assert not result.allowed
    assert result.reason == "ingress of x/a: no rule of policies x/deny, x/only-81 allows y/c -> x/a 80/TCP"


def test_reasons_give_both_sides_when_both_deny():
    policies = [policy("{podSelector: {}, policyTypes: [Ingress, Egress]}", name="deny-all")]
    result = verdict(policies, NAMESPACES, BY_KEY["x/a"], BY_KEY["x/b"], 81, "UDP")
    assert result.reason == ("egress of x/a: no rule of policies x/deny-all allows x/a -> x/b 81/UDP; "
                             "ingress of x/b: no rule of policies x/deny-all allows x/a -> x/b 81/UDP")


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, error", [
    ("{podSelector: {}, ingress: [{form: []}]}", "spec.ingress[0].form: unknown field (known: from, ports)"),
    ("{podSelector: {}, ingres: []}", "spec.ingres: unknown field"),
    ("{ingress: []}", "spec.podSelector: required"),
    ("{podSelector: {}, policyTypes: [ingress]}", "spec.policyTypes[0]: must be Ingress or Egress"),
    ("{podSelector: {}, ingress: [{from: [{}]}]}", "spec.ingress[0].from[0]: must specify"),
    ("{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}",
     "spec.egress[0].to[0].ipBlock: cannot be combined"),
    ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]}", "strict subset"),
    ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]}", "strict subset"),
    ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.300/32}}]}]}", "ipBlock.cidr: not a CIDR"),
    ("{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}", "ports[0].endPort: needs a numeric port"),
    ("{podSelector: {}, ingress: [{ports: [{port: 90, endPort: 80}]}]}", "ports[0].endPort: must be a number from port (90)"),
    ("{podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}", "ports[0].protocol: must be one of TCP, UDP, SCTP"),
    ("{podSelector: {}, ingress: [{ports: [{port: '80'}]}]}", "neither a number nor a port name"),
    ("{podSelector: {}, ingress: [{ports: [{port: serve-80-tcp-long}]}]}", "neither a number nor a port name"),
    ("{podSelector: {}, ingress: [{ports: [{port: 0}]}]}", "ports[0].port: must be 1-65535"),
    ("{podSelector: {matchLabels: {version: 1}}}", "spec.podSelector.matchLabels.version: must be a non-empty string"),
    ("{podSelector: {matchExpressions: [{key: a, operator: In}]}}", "matchExpressions[0].values: required for In"),
    ("{podSelector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]}}", "values: must be empty for Exists"),
    ("{podSelector: {matchExpressions: [{key: a, operator: in, values: [b]}]}}", "matchExpressions[0].operator: must be one of"),
])
def test_validation_names_the_offending_field(spec, error):
    with pytest.raises(PolicyError) as raised:
        policy(spec)
    assert error in str(raised.value)


def test_validation_checks_the_envelope():
    good = policy("{podSelector: {}}")
    with pytest.raises(PolicyError, match="apiVersion/kind"):
        validate({**good, "apiVersion": "networking.k8s.io/v1beta1"})
    with pytest.raises(PolicyError, match="metadata.namespace: required"):
        validate({**good, "metadata": {"name": "n"}})
    with pytest.raises(PolicyError, match="^status: unknown field"):
        validate({**good, "status": {}})
