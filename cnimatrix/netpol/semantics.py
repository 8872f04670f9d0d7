"""What Kubernetes NetworkPolicy (networking.k8s.io/v1) allows, computed from the objects alone.

Policies are plain dicts as parsed from YAML. Traffic from pod S to pod D on port/protocol is
allowed only if S's egress allows it AND D's ingress allows it. Per direction: a pod no policy
of that direction selects is unrestricted; once selected, only the union of the rules of all
selecting policies applies. Every verdict says why, so a mismatch on a cluster can be explained.

`validate` rejects what the API server would reject (and fields the engine does not know), so
the engine itself can assume well-formed input.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

API_VERSION = "networking.k8s.io/v1"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"   # set by the API server on every namespace
INGRESS, EGRESS = "Ingress", "Egress"
PROTOCOLS = ("TCP", "UDP", "SCTP")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

# Per direction: the key of its rules and the key of a rule's peers.
_RULES = {INGRESS: ("ingress", "from"), EGRESS: ("egress", "to")}


class PolicyError(ValueError):
    """A policy the engine cannot judge; the message starts with the offending field's path."""


@dataclass(frozen=True)
class ContainerPort:
    name: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str
    ports: tuple[ContainerPort, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool | None     # None: ambiguous (cluster_policy.py: equal priorities that disagree)
    reason: str


# --- evaluation ------------------------------------------------------------------------------

def verdict(policies: Sequence[Mapping], namespaces: Mapping[str, Mapping[str, str]],
            src: Pod, dst: Pod, port: int, protocol: str) -> Verdict:
    """Whether `src` may open `port`/`protocol` on `dst`; `namespaces` maps names to labels."""
    if src.key == dst.key:
        # Traffic to the pod's own IP stays on its loopback; Kubernetes documents that a pod
        # cannot block access to itself.
        return Verdict(True, f"{src.key} to itself: a pod cannot block its own traffic")
    sides = [side_verdict(direction, policies, namespaces, src, dst, port, protocol) for direction in (EGRESS, INGRESS)]
    allowed = all(ok for ok, _ in sides)
    # Allowed: both sides say why. Denied: only the side(s) that denied.
    return Verdict(allowed, "; ".join(reason for ok, reason in sides if ok == allowed))


def side_verdict(direction: str, policies: Sequence[Mapping], namespaces: Mapping[str, Mapping[str, str]],
          src: Pod, dst: Pod, port: int, protocol: str) -> tuple[bool, str]:
    subject, peer = (dst, src) if direction == INGRESS else (src, dst)
    label = f"{direction.lower()} of {subject.key}"
    selecting = [p for p in policies if direction in policy_types(p) and selects(p, subject)]
    if not selecting:
        return True, f"{label}: not isolated (no {direction} policy selects it)"
    rules_key, peers_key = _RULES[direction]
    for policy in selecting:
        for index, rule in enumerate(policy["spec"].get(rules_key) or []):
            if (_any_peer(rule.get(peers_key), policy, namespaces, peer)
                    and _any_port(rule.get("ports"), dst, port, protocol)):
                return True, f"{label}: allowed by {policy_name(policy)} {rules_key}[{index}]"
    names = ", ".join(policy_name(p) for p in selecting)
    return False, f"{label}: no rule of policies {names} allows {src.key} -> {dst.key} {port}/{protocol}"


def policy_name(policy: Mapping) -> str:
    return f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"


def policy_types(policy: Mapping) -> set[str]:
    """The directions a policy isolates. Omitted (or empty) policyTypes default to Ingress, plus
    Egress when the policy has egress rules; when given, rules of unlisted directions are ignored."""
    spec = policy["spec"]
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {INGRESS, EGRESS} if spec.get("egress") else {INGRESS}


def selects(policy: Mapping, pod: Pod) -> bool:
    return pod.namespace == policy["metadata"]["namespace"] and selector_matches(policy["spec"]["podSelector"], pod.labels)


def namespace_labels(namespaces: Mapping[str, Mapping[str, str]], name: str) -> dict[str, str]:
    """A namespace's labels as selectors see them: the API server always sets the name label."""
    return {**namespaces.get(name, {}), NAMESPACE_NAME_LABEL: name}


def selector_matches(selector: Mapping, labels: Mapping[str, str]) -> bool:
    """matchLabels AND every matchExpression; an empty selector matches everything."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])


def _expression_matches(expression: Mapping, labels: Mapping[str, str]) -> bool:
    key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":          # also true when the key is absent
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    return key not in labels        # DoesNotExist


def _any_peer(peers: Sequence[Mapping] | None, policy: Mapping, namespaces: Mapping[str, Mapping[str, str]],
              pod: Pod) -> bool:
    """No peers (absent or empty) means every source/destination."""
    return not peers or any(_peer_matches(peer, policy, namespaces, pod) for peer in peers)


def _peer_matches(peer: Mapping, policy: Mapping, namespaces: Mapping[str, Mapping[str, str]], pod: Pod) -> bool:
    if "ipBlock" in peer:
        return _in_block(pod.ip, peer["ipBlock"])
    # Without a namespaceSelector a peer means the policy's own namespace; with one, both
    # selectors of the same peer must match (AND).
    if "namespaceSelector" in peer:
        in_namespace = selector_matches(peer["namespaceSelector"], namespace_labels(namespaces, pod.namespace))
    else:
        in_namespace = pod.namespace == policy["metadata"]["namespace"]
    return in_namespace and selector_matches(peer.get("podSelector") or {}, pod.labels)


def _in_block(ip: str, block: Mapping) -> bool:
    address = ipaddress.ip_address(ip)
    inside = lambda cidr: address in ipaddress.ip_network(cidr)   # False across IP versions
    return inside(block["cidr"]) and not any(inside(cidr) for cidr in block.get("except") or [])


def _any_port(ports: Sequence[Mapping] | None, dst: Pod, port: int, protocol: str) -> bool:
    """No ports (absent or empty) means every port of every protocol."""
    return not ports or any(_port_matches(entry, dst, port, protocol) for entry in ports)


def _port_matches(entry: Mapping, dst: Pod, port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    wanted = entry.get("port")
    if wanted is None:                       # protocol only: every port
        return True
    if isinstance(wanted, int):
        return wanted <= port <= entry.get("endPort", wanted)
    # A named port resolves against the destination's container ports: name AND protocol.
    return any(p.name == wanted and p.protocol == protocol and p.port == port for p in dst.ports)


# --- validation ------------------------------------------------------------------------------

_PORT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?")   # IANA_SVC_NAME, also needs a letter


def validate(policy: Mapping) -> None:
    """Raise PolicyError for the first field the API server would reject or the engine does not know."""
    envelope = ("apiVersion", "kind", "metadata", "spec")
    require_mapping(policy, "", set(envelope), required=envelope)
    if policy["apiVersion"] != API_VERSION or policy["kind"] != "NetworkPolicy":
        raise PolicyError(f"apiVersion/kind: must be {API_VERSION} NetworkPolicy")
    metadata = require_mapping(policy["metadata"], "metadata", {"name", "namespace", "labels", "annotations"},
                               required=("name", "namespace"))
    for key in ("name", "namespace"):
        require_text(metadata[key], f"metadata.{key}")
    spec = require_mapping(policy["spec"], "spec", {"podSelector", "policyTypes", "ingress", "egress"},
                           required=("podSelector",))
    check_selector(spec["podSelector"], "spec.podSelector")
    for index, kind in enumerate(require_list(spec.get("policyTypes"), "spec.policyTypes")):
        if kind not in (INGRESS, EGRESS):
            raise PolicyError(f"spec.policyTypes[{index}]: must be {INGRESS} or {EGRESS}, got {kind!r}")
    for rules_key, peers_key in _RULES.values():
        for index, rule in enumerate(require_list(spec.get(rules_key), f"spec.{rules_key}")):
            where = f"spec.{rules_key}[{index}]"
            require_mapping(rule, where, {peers_key, "ports"})
            for n, peer in enumerate(require_list(rule.get(peers_key), f"{where}.{peers_key}")):
                _peer(peer, f"{where}.{peers_key}[{n}]")
            for n, entry in enumerate(require_list(rule.get("ports"), f"{where}.ports")):
                _port(entry, f"{where}.ports[{n}]")


def require_mapping(value, where: str, allowed: set[str], required: Sequence[str] = ()) -> Mapping:
    """`value` must be a mapping with only `allowed` keys and all `required` ones (also used by the case loader)."""
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where or '(top level)'}: must be a mapping, got {type(value).__name__}")
    prefix = f"{where}." if where else ""
    for key in value:
        if key not in allowed:
            raise PolicyError(f"{prefix}{key}: unknown field (known: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in value:
            raise PolicyError(f"{prefix}{key}: required")
    return value


def require_list(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}: must be a list, got {type(value).__name__}")
    return value


def require_text(value, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: must be a non-empty string, got {value!r}")
    return value


def check_selector(selector, where: str) -> None:
    require_mapping(selector, where, {"matchLabels", "matchExpressions"})
    labels = selector.get("matchLabels") or {}
    if not isinstance(labels, Mapping):
        raise PolicyError(f"{where}.matchLabels: must be a mapping, got {type(labels).__name__}")
    for key, value in labels.items():
        require_text(value, f"{where}.matchLabels.{key}")   # an unquoted number in YAML is a typo here
    for index, expression in enumerate(require_list(selector.get("matchExpressions"), f"{where}.matchExpressions")):
        at = f"{where}.matchExpressions[{index}]"
        require_mapping(expression, at, {"key", "operator", "values"}, required=("key", "operator"))
        require_text(expression["key"], f"{at}.key")
        operator, values = expression["operator"], require_list(expression.get("values"), f"{at}.values")
        if operator not in OPERATORS:
            raise PolicyError(f"{at}.operator: must be one of {', '.join(OPERATORS)}, got {operator!r}")
        needs_values = operator in ("In", "NotIn")
        if needs_values != bool(values):
            raise PolicyError(f"{at}.values: {'required' if needs_values else 'must be empty'} for {operator}")
        for n, value in enumerate(values):
            require_text(value, f"{at}.values[{n}]")


def _peer(peer, where: str) -> None:
    require_mapping(peer, where, {"podSelector", "namespaceSelector", "ipBlock"})
    if not peer:
        raise PolicyError(f"{where}: must specify podSelector, namespaceSelector or ipBlock")
    if "ipBlock" in peer:
        if len(peer) > 1:
            raise PolicyError(f"{where}.ipBlock: cannot be combined with podSelector or namespaceSelector")
        _ip_block(peer["ipBlock"], f"{where}.ipBlock")
    for key in ("podSelector", "namespaceSelector"):
        if key in peer:
            check_selector(peer[key], f"{where}.{key}")


def _ip_block(block, where: str) -> None:
    require_mapping(block, where, {"cidr", "except"}, required=("cidr",))
    cidr = _network(block["cidr"], f"{where}.cidr")
    for index, text in enumerate(require_list(block.get("except"), f"{where}.except")):
        network = _network(text, f"{where}.except[{index}]")
        if network.version != cidr.version or network == cidr or not network.subnet_of(cidr):
            raise PolicyError(f"{where}.except[{index}]: {network} must be a strict subset of cidr {cidr}")


def _network(text, where: str):
    try:
        return ipaddress.ip_network(require_text(text, where))
    except ValueError as exc:
        raise PolicyError(f"{where}: not a CIDR: {exc}") from None


def _port(entry, where: str) -> None:
    require_mapping(entry, where, {"protocol", "port", "endPort"})
    protocol, port = entry.get("protocol", "TCP"), entry.get("port")
    if protocol not in PROTOCOLS:
        raise PolicyError(f"{where}.protocol: must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if isinstance(port, bool) or not isinstance(port, (int, str, type(None))):
        raise PolicyError(f"{where}.port: must be a number or a port name, got {port!r}")
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise PolicyError(f"{where}.port: must be 1-65535, got {port}")
    if isinstance(port, str) and not (_PORT_NAME.fullmatch(port) and re.search("[a-z]", port) and "--" not in port):
        raise PolicyError(f"{where}.port: {port!r} is neither a number nor a port name (IANA_SVC_NAME)")
    if "endPort" in entry:
        end = entry["endPort"]
        if not isinstance(port, int):
            raise PolicyError(f"{where}.endPort: needs a numeric port")
        if isinstance(end, bool) or not isinstance(end, int) or not port <= end <= 65535:
            raise PolicyError(f"{where}.endPort: must be a number from port ({port}) to 65535, got {end!r}")
