"""What ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2, network-policy-api v0.2.0) and
NetworkPolicy allow together, computed from the objects alone.

Traffic from pod S to pod D is judged twice, egress at S and ingress at D, and is allowed only if
both allow it. Each direction goes through the tiers in order:

1. Admin tier: the policies whose subject selects the pod, lowest `priority` number first, each
   policy's rules in the order written. The first matching rule decides: Accept allows, Deny
   denies, Pass skips the rest of the Admin tier.
2. NetworkPolicy: when a NetworkPolicy of this direction selects the pod, its verdict is final
   (semantics.py).
3. Baseline tier: as the Admin tier; Pass skips the rest of it.
4. Nothing decided: allowed.

The API leaves the order of policies of one tier with the same priority undefined. When their
first matching rules disagree and the connection's verdict depends on which is applied, the
verdict is ambiguous: `allowed` is None and the reason gives each possibility.

Host-networked pods (here: a pod whose IP is a node address) are neither subjects nor
namespaces/pods peers; an egress `nodes` peer matches them and `networks` match any IP.
"""
from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cnimatrix.netpol.semantics import (EGRESS, INGRESS, Pod, PolicyError, Verdict, check_selector, namespace_labels,
                                     policy_types, require_list, require_mapping, require_text, selector_matches, selects,
                                     side_verdict)

API_VERSION = "policy.networking.k8s.io/v1alpha2"
KIND = "ClusterNetworkPolicy"
ADMIN, BASELINE = "Admin", "Baseline"
ACCEPT, DENY, PASS = "Accept", "Deny", "Pass"
MAX_ITEMS = 25          # rules per direction; peers, protocols and CIDRs per rule

_RULES = {INGRESS: ("ingress", "from"), EGRESS: ("egress", "to")}
_PEER_KINDS = {INGRESS: ("namespaces", "pods"), EGRESS: ("namespaces", "pods", "nodes", "networks")}
_PORT_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Node:
    name: str
    labels: Mapping[str, str]
    ips: tuple[str, ...]        # status.addresses


Outcome = tuple[bool, str]      # (allowed, why)


# --- evaluation ------------------------------------------------------------------------------

def verdict(cluster_policies: Sequence[Mapping], policies: Sequence[Mapping],
            namespaces: Mapping[str, Mapping[str, str]], src: Pod, dst: Pod, port: int, protocol: str,
            nodes: Sequence[Node] = ()) -> Verdict:
    """Whether `src` may open `port`/`protocol` on `dst`; `allowed` is None when ambiguous."""
    if src.key == dst.key:
        return Verdict(True, f"{src.key} to itself: a pod cannot block its own traffic")
    sides = {direction: _side(direction, cluster_policies, policies, namespaces, nodes, src, dst, port, protocol)
             for direction in (EGRESS, INGRESS)}
    possible = {e and i for (e, _), (i, _) in itertools.product(sides[EGRESS], sides[INGRESS])}

    def explain(direction: str) -> str:
        subject = src if direction == EGRESS else dst
        reasons = dict.fromkeys(why for _, why in sides[direction])     # distinct, in order
        return f"{direction.lower()} of {subject.key}: " + " OR ".join(reasons)

    if len(possible) > 1:
        unsettled = [d for d, outcomes in sides.items() if len({ok for ok, _ in outcomes}) > 1]
        return Verdict(None, "ambiguous (equal priorities, order undefined): " + "; ".join(map(explain, unsettled)))
    allowed = possible.pop()
    # Allowed: both sides say why. Denied: the side(s) that deny whichever way they are read.
    return Verdict(allowed, "; ".join(explain(d) for d, outcomes in sides.items()
                                      if all(ok == allowed for ok, _ in outcomes)))


def _side(direction, cluster_policies, policies, namespaces, nodes, src, dst, port, protocol) -> list[Outcome]:
    """Every verdict this direction may reach: one, or more when equal priorities disagree."""
    tier = lambda name: _tier(name, direction, cluster_policies, namespaces, nodes, src, dst, port, protocol)
    outcomes = []
    for action, why in tier(ADMIN):
        if action in (ACCEPT, DENY):
            outcomes.append((action == ACCEPT, why))
            continue
        subject = dst if direction == INGRESS else src      # Pass, or no Admin rule matched
        if any(direction in policy_types(p) and selects(p, subject) for p in policies):
            allowed, because = side_verdict(direction, policies, namespaces, src, dst, port, protocol)
            outcomes.append((allowed, f"{why}; NetworkPolicy: {because.split(': ', 1)[1]}"))
            continue
        for base_action, base_why in tier(BASELINE):
            default = "" if base_action in (ACCEPT, DENY) else ": allowed by default"
            outcomes.append((base_action != DENY, f"{why}; no NetworkPolicy selects it; {base_why}{default}"))
    return outcomes


def _tier(tier, direction, cluster_policies, namespaces, nodes, src, dst, port, protocol) -> list[tuple[str | None, str]]:
    """The actions `tier` may take: (None, why) when no rule matched, several when the matching
    policies of the top priority disagree."""
    subject, peer = (dst, src) if direction == INGRESS else (src, dst)
    rules_key, peers_key = _RULES[direction]
    nothing = [(None, f"no {tier.lower()} rule matched")]
    if _host_networked(subject, nodes):         # the API leaves host-networked pods out of subjects
        return nothing
    matches = []        # each selecting policy's first matching rule: (priority, name, index, rule)
    for policy in cluster_policies:
        spec = policy["spec"]
        if spec["tier"] != tier or not _selects(spec["subject"], namespaces, subject):
            continue
        for index, rule in enumerate(spec.get(rules_key) or []):
            if (any(_peer_matches(p, namespaces, nodes, peer) for p in rule[peers_key])
                    and _protocols_match(rule.get("protocols"), dst, port, protocol)):
                matches.append((spec["priority"], policy["metadata"]["name"], index, rule))
                break
    if not matches:
        return nothing
    top = min(priority for priority, *_ in matches)
    rules_by_action: dict[str, list[str]] = {}
    for priority, name, index, rule in sorted((m for m in matches if m[0] == top), key=lambda m: m[1]):
        label = f' "{rule["name"]}"' if rule.get("name") else ""
        rules_by_action.setdefault(rule["action"], []).append(f"cnp/{name} priority {priority} {rules_key} rule {index}{label}")
    return [(action, f"{tier.lower()} {' and '.join(rules)}: {action}") for action, rules in rules_by_action.items()]


def _selects(selection: Mapping, namespaces: Mapping[str, Mapping[str, str]], pod: Pod) -> bool:
    """A subject or peer that is {namespaces: selector} or {pods: {namespaceSelector, podSelector}}."""
    in_namespace = lambda selector: selector_matches(selector, namespace_labels(namespaces, pod.namespace))
    if "namespaces" in selection:
        return in_namespace(selection["namespaces"])
    # Unlike a NetworkPolicy peer, an omitted namespaceSelector means every namespace.
    pods = selection["pods"]
    return in_namespace(pods.get("namespaceSelector") or {}) and selector_matches(pods["podSelector"], pod.labels)


def _peer_matches(peer: Mapping, namespaces, nodes: Sequence[Node], pod: Pod) -> bool:
    address = ipaddress.ip_address(pod.ip)
    if "networks" in peer:      # pod IPs too: the API warns that 0.0.0.0/0 covers pod-to-pod traffic
        return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in peer["networks"])
    if "nodes" in peer:
        return any(address in map(ipaddress.ip_address, node.ips)
                   for node in nodes if selector_matches(peer["nodes"], node.labels))
    return not _host_networked(pod, nodes) and _selects(peer, namespaces, pod)


def _host_networked(pod: Pod, nodes: Sequence[Node]) -> bool:
    return any(ipaddress.ip_address(pod.ip) == ipaddress.ip_address(ip) for node in nodes for ip in node.ips)


def _protocols_match(entries: Sequence[Mapping] | None, dst: Pod, port: int, protocol: str) -> bool:
    """No protocols: every port of every protocol."""
    return not entries or any(_protocol_matches(entry, dst, port, protocol) for entry in entries)


def _protocol_matches(entry: Mapping, dst: Pod, port: int, protocol: str) -> bool:
    if "destinationNamedPort" in entry:     # resolved on the destination: name, port and protocol
        return any(p.name == entry["destinationNamedPort"] and p.port == port and p.protocol == protocol
                   for p in dst.ports)
    [(key, match)] = entry.items()
    wanted = match["destinationPort"]
    low, high = (wanted["range"]["start"], wanted["range"]["end"]) if "range" in wanted else (wanted["number"],) * 2
    return key.upper() == protocol and low <= port <= high


# --- validation ------------------------------------------------------------------------------

def validate_cluster_policy(policy: Mapping) -> None:
    """Raise PolicyError for the first field the API server would reject or the engine does not know."""
    envelope = ("apiVersion", "kind", "metadata", "spec")
    require_mapping(policy, "", set(envelope), required=envelope)
    if (policy["apiVersion"], policy["kind"]) != (API_VERSION, KIND):
        raise PolicyError(f"apiVersion/kind: must be {API_VERSION} {KIND}")
    # A namespace is tolerated: the API server drops it from a cluster-scoped object.
    metadata = require_mapping(policy["metadata"], "metadata", {"name", "namespace", "labels", "annotations"},
                               required=("name",))
    require_text(metadata["name"], "metadata.name")
    spec = require_mapping(policy["spec"], "spec", {"tier", "priority", "subject", "ingress", "egress"},
                           required=("tier", "priority", "subject"))
    if spec["tier"] not in (ADMIN, BASELINE):
        raise PolicyError(f"spec.tier: must be {ADMIN} or {BASELINE}, got {spec['tier']!r}")
    _number(spec["priority"], "spec.priority", 0, 1000)
    _one_of(spec["subject"], "spec.subject", ("namespaces", "pods"))
    for direction, (rules_key, _) in _RULES.items():
        for index, rule in enumerate(_items(spec.get(rules_key), f"spec.{rules_key}", minimum=0)):
            _rule(rule, f"spec.{rules_key}[{index}]", direction)


def _rule(rule, where: str, direction: str) -> None:
    peers_key = _RULES[direction][1]
    require_mapping(rule, where, {"name", "action", peers_key, "protocols"}, required=("action", peers_key))
    if not isinstance(rule.get("name", ""), str) or len(rule.get("name", "")) > 100:
        raise PolicyError(f"{where}.name: must be a string of at most 100 characters")
    if rule["action"] not in (ACCEPT, DENY, PASS):
        raise PolicyError(f"{where}.action: must be one of {ACCEPT}, {DENY}, {PASS}, got {rule['action']!r}")
    kinds = _PEER_KINDS[direction]
    peers = _items(rule[peers_key], f"{where}.{peers_key}")
    for n, peer in enumerate(peers):
        at = f"{where}.{peers_key}[{n}]"
        if direction == EGRESS and isinstance(peer, Mapping) and "domainNames" in peer:
            raise PolicyError(f"{at}.domainNames: not supported by this engine (its verdict depends on DNS)")
        _one_of(peer, at, kinds)
    protocols = _items(rule.get("protocols"), f"{where}.protocols", minimum=0 if rule.get("protocols") is None else 1)
    for n, entry in enumerate(protocols):
        _protocol(entry, f"{where}.protocols[{n}]")
    if any("destinationNamedPort" in e for e in protocols) and any("nodes" in p or "networks" in p for p in peers):
        raise PolicyError(f"{where}.protocols: destinationNamedPort cannot be used with nodes or networks peers "
                          "(they have no named ports)")


def _one_of(value, where: str, kinds: Sequence[str]) -> str:
    """A subject, peer or port that sets exactly one of `kinds`; checks that one."""
    require_mapping(value, where, set(kinds))
    if len(value) != 1:
        raise PolicyError(f"{where}: must set exactly one of {', '.join(kinds)}, got {len(value)}")
    [(kind, body)] = value.items()
    at = f"{where}.{kind}"
    if kind in ("namespaces", "nodes"):
        check_selector(body, at)
    elif kind == "pods":
        require_mapping(body, at, {"namespaceSelector", "podSelector"}, required=("podSelector",))
        for key, selector in body.items():
            check_selector(selector, f"{at}.{key}")
    elif kind == "networks":
        cidrs = _items(body, at)
        for n, cidr in enumerate(cidrs):
            try:        # the API's isCIDR accepts host bits (10.0.0.1/8); matching uses the network
                ipaddress.ip_network(require_text(cidr, f"{at}[{n}]"), strict=False)
            except ValueError as exc:
                raise PolicyError(f"{at}[{n}]: not a CIDR: {exc}") from None
            if cidr in cidrs[:n]:
                raise PolicyError(f"{at}[{n}]: duplicate {cidr!r} (a set)")
    return kind


def _protocol(entry, where: str) -> None:
    kind = _one_of(entry, where, (*_PORT_PROTOCOLS, "destinationNamedPort"))
    if kind == "destinationNamedPort":
        require_text(entry[kind], f"{where}.{kind}")
        return
    match = require_mapping(entry[kind], f"{where}.{kind}", {"destinationPort"}, required=("destinationPort",))
    at = f"{where}.{kind}.destinationPort"
    if _one_of(match["destinationPort"], at, ("number", "range")) == "number":
        _number(match["destinationPort"]["number"], f"{at}.number", 1, 65535)
        return
    span = require_mapping(match["destinationPort"]["range"], f"{at}.range", {"start", "end"}, required=("start", "end"))
    start, end = (_number(span[key], f"{at}.range.{key}", 1, 65535) for key in ("start", "end"))
    if not start < end:
        raise PolicyError(f"{at}.range: start ({start}) must be less than end ({end})")


def _items(value, where: str, minimum: int = 1) -> list:
    items = require_list(value, where)
    if not minimum <= len(items) <= MAX_ITEMS:
        raise PolicyError(f"{where}: must have {minimum} to {MAX_ITEMS} items, got {len(items)}")
    return items


def _number(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{where}: must be a number from {low} to {high}, got {value!r}")
    return value
