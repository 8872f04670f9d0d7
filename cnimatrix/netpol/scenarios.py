"""NetworkPolicy scenarios beyond the reachability matrix, as data (manifests/netpol/*.yaml):

- established.yaml: a long-lived TCP connection between two matrix pods when a policy denying it
  lands. What happens to the open connection is the implementation's choice (reported); that new
  connections are denied is asserted.
- node-traffic.yaml: traffic between a matrix pod and the nodes (hostNetwork pods on the pod's
  own node and on another node). Each probe says what it expects: `allowed`/`denied` where
  Kubernetes is clear (asserted), `recorded` where it leaves the choice to the CNI.

Policies use the case placeholders (${x}, ${ip:y/b}, ${pod_cidr}) and, for node traffic,
${node_ip:own} and ${node_ip:other}: the InternalIP of the subject pod's node and of another node.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cnimatrix.netpol import cases
from cnimatrix.netpol.semantics import verdict

DATA = Path(__file__).resolve().parents[2] / "manifests" / "netpol"
NODES = ("node/own", "node/other")          # hostNetwork clients/servers relative to the subject pod
SAMPLE_NODE_IPS = {"node_ip:own": "172.18.0.2", "node_ip:other": "172.18.0.3"}
EXPECTATIONS = ("allowed", "denied", "recorded")


@dataclass(frozen=True)
class Established:
    name: str
    description: str
    server: str             # matrix pod, e.g. x/a (port 80)
    client_namespace: str   # the client is a pod of this namespace ...
    same_node: bool         # ... on the server's node, or on another one
    policy: dict            # denies client -> server (checked against the engine for every client candidate)


@dataclass(frozen=True)
class NodeProbe:
    src: str                # a matrix pod or node/own, node/other
    dst: str
    expect: str             # allowed, denied (asserted) or recorded
    why: str

    @property
    def label(self) -> str:
        return f"{self.src.replace('/', '-')}-to-{self.dst.replace('/', '-')}"


@dataclass(frozen=True)
class NodeTraffic:
    name: str
    description: str
    pod: str                # the subject: node/own is its node
    policies: tuple[dict, ...]
    probes: tuple[NodeProbe, ...]
    requires: tuple[str, ...] = ()  # capabilities its control probes rely on (a CNI may declare one unsupported)

    @property
    def controls(self) -> tuple[NodeProbe, ...]:
        """Pod-to-pod probes: they show the policies are in force before node traffic is read."""
        return tuple(p for p in self.probes if p.src not in NODES and p.dst not in NODES)


def load_established(path: Path = DATA / "established.yaml") -> list[Established]:
    found = []
    for parser, entry in _checked_entries(path, ("name", "description", "server", "client", "policy")):
        server = _pod(parser, entry["server"], "server")
        client = entry["client"]
        parser.fields(client, "client", {"namespace", "node"}, required=("namespace", "node"))
        if client["namespace"] not in cases.NAMESPACES or client["node"] not in ("same", "other"):
            raise parser.fail("client", f"want namespace one of {', '.join(cases.NAMESPACES)} and node same or other, "
                                        f"got {client}")
        policy = parser.policy(entry["policy"], "policy")
        for candidate in cases.POD_NAMES:
            src = f"{client['namespace']}/{candidate}"
            if src != server and _allowed([policy], src, server, {}):
                raise parser.fail("policy", f"does not deny {src} -> {server} on 80/TCP")
        found.append(Established(entry["name"], parser.text(entry["description"], "description"), server,
                                 client["namespace"], client["node"] == "same", policy))
    return _unique(found, path)


def load_node_traffic(path: Path = DATA / "node-traffic.yaml") -> list[NodeTraffic]:
    found = []
    for parser, entry in _checked_entries(path, ("name", "description", "pod", "policies", "probes"), optional=("requires",)):
        pod = _pod(parser, entry["pod"], "pod")
        policies = tuple(parser.policy(p, f"policies[{i}]") for i, p in enumerate(parser.items(entry["policies"], "policies")))
        probes = []
        for i, probe in enumerate(parser.items(entry["probes"], "probes")):
            at = f"probes[{i}]"
            parser.fields(probe, at, {"from", "to", "expect", "why"}, required=("from", "to", "expect", "why"))
            for key in ("from", "to"):
                if probe[key] not in (*cases.MATRIX_PODS, *NODES):
                    raise parser.fail(f"{at}.{key}", f"not a matrix pod or one of {', '.join(NODES)}: {probe[key]!r}")
            if pod not in (probe["from"], probe["to"]):
                raise parser.fail(at, f"every probe starts or ends at the scenario's pod {pod}")
            if probe["expect"] not in EXPECTATIONS:
                raise parser.fail(f"{at}.expect", f"one of {', '.join(EXPECTATIONS)}, got {probe['expect']!r}")
            found_probe = NodeProbe(probe["from"], probe["to"], probe["expect"], parser.text(probe["why"], f"{at}.why"))
            if found_probe.src not in NODES and found_probe.dst not in NODES:
                engine = "allowed" if _allowed(policies, found_probe.src, found_probe.dst, SAMPLE_NODE_IPS) else "denied"
                if found_probe.expect != engine:
                    raise parser.fail(f"{at}.expect", f"{found_probe.expect}, but the policy engine says {engine}")
            probes.append(found_probe)
        traffic = NodeTraffic(entry["name"], parser.text(entry["description"], "description"), pod, policies, tuple(probes),
                              requires=parser.capabilities(entry.get("requires", [])))
        if not any(p.expect == "denied" for p in traffic.controls):
            raise parser.fail("probes", "needs a pod-to-pod probe the policies deny, to show they are in force")
        found.append(traffic)
    return _unique(found, path)


def _checked_entries(path: Path, fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> Iterator[tuple[cases._Parser, dict]]:
    """Each entry of a scenario file with a parser for its fields (the case loader's checks, with
    the node placeholders known); `fields` are required, `optional` may be there too."""
    try:
        entries = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise cases.CaseError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(entries, list):
        raise cases.CaseError(f"{path.name}: must be a list of scenarios")
    for index, entry in enumerate(entries):
        parser = cases._Parser(path, index)
        parser.sample.update(SAMPLE_NODE_IPS)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            parser.where = entry["name"]
        parser.fields(entry, "(case)", {*fields, *optional}, required=fields)
        if not cases._NAME.fullmatch(str(entry["name"])):
            raise parser.fail("name", f"must be lowercase words joined by '-', got {entry['name']!r}")
        yield parser, entry


def _pod(parser: cases._Parser, value: Any, field: str) -> str:
    if value not in cases.MATRIX_PODS:
        raise parser.fail(field, f"not a matrix pod: {value!r}")
    return value


def _allowed(policies, src: str, dst: str, extra: Mapping[str, str]) -> bool:
    """The engine's verdict on src -> dst 80/TCP with sample IPs (the engine judges pods only)."""
    mapping = {**cases.placeholders(cases.SAMPLE_IPS, cases.SAMPLE_POD_CIDR), **extra}
    rendered = [cases.render(p, mapping) for p in policies]
    pods = {p.key: p for p in cases.matrix_pods(cases.SAMPLE_IPS)}
    return verdict(rendered, cases.matrix_namespaces(), pods[src], pods[dst], 80, "TCP").allowed


def _unique(found: list, path: Path) -> list:
    names = [s.name for s in found]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise cases.CaseError(f"{path.name}: {duplicate}: name used twice")
    return found
