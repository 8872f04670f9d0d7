"""The ClusterNetworkPolicy case catalog: manifests/netpol/cluster-cases/<category>.yaml, loaded and checked.

Cases run on the same probe matrix as the NetworkPolicy cases (cases.py: namespaces x, y, z
labelled `ns: x`, pods a, b, c labelled `pod: a`, ports 80/81 TCP/UDP) and use its placeholders
(${x}, ${ip:y/b}, ${pod_cidr}). A case is:

    name, description, features       as in cases.py (features from FEATURES below)
    cluster_policies                  ClusterNetworkPolicy bodies (apiVersion and kind may be left
                                      out; no metadata.namespace: they are cluster-scoped)
    policies                          optional NetworkPolicies, written as cases.py's
    targets, spot_checks, requires    as in cases.py; a spot check may say `allowed: ambiguous`
    ambiguous                         why some cells deliberately have no defined verdict (equal
                                      priorities that disagree); leave it out otherwise
    steps                             live updates, each one of: apply / delete (a NetworkPolicy,
                                      delete as x/name), apply_cluster_policy / delete_cluster_policy
                                      (delete by name); applying replaces the policy of that name

ClusterNetworkPolicies are cluster-wide and namespace sets run side by side, so a policy's subject
must name the run's own namespaces (`kubernetes.io/metadata.name: "${x}"`); peers may use the
`ns` label. Expected tables come from the cluster_policy engine; a cell whose verdict depends on
an order the API leaves undefined is None, with the engine's reason.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


from cnimatrix.netpol import cases
from cnimatrix.netpol.cases import CaseError, SpotCheck, Step, render
from cnimatrix.netpol.cluster_policy import API_VERSION, KIND, validate_cluster_policy, verdict
from cnimatrix.netpol.reachability import Table, Target
from cnimatrix.netpol.semantics import Pod, PolicyError, namespace_labels, selector_matches

CLUSTER_CASES = cases.CASES.parent / "cluster-cases"

FEATURES = frozenset({
    "ingress", "egress", "admin", "baseline", "accept", "deny", "pass", "priority", "rule-order",
    "network-policy", "subject-namespaces", "subject-pods", "namespace-peer", "pod-peer", "networks",
    "matchExpressions", "numbered-port", "named-port", "port-range", "udp", "ambiguous",
    "live-update", "update-policy", "delete-policy",
})
AMBIGUOUS = "ambiguous"     # a spot check's `allowed` for a cell without a defined verdict
_CASE_FIELDS = {"name", "description", "features", "cluster_policies", "policies", "targets", "steps",
                "spot_checks", "ambiguous", "requires"}
_ACTIONS = ("apply", "delete", "apply_cluster_policy", "delete_cluster_policy")
# Namespaces a subject must not select: the system's and another run's matrix (same `ns` labels).
_OUTSIDE = {"kube-system": {}, "default": {}, **{f"{ns}-of-another-run": {"ns": ns} for ns in cases.NAMESPACES}}


@dataclass(frozen=True)
class ClusterCase:
    name: str
    description: str
    category: str           # the file's name
    features: tuple[str, ...]
    cluster_policies: tuple[dict, ...]      # with placeholders; `render` fills them
    policies: tuple[dict, ...]              # NetworkPolicies, likewise
    targets: tuple[Target, ...]
    steps: tuple[Step, ...]                 # Step.body: a policy (apply*), "x/name" or "name" (delete*)
    spot_checks: tuple[SpotCheck, ...]      # SpotCheck.allowed None: ambiguous
    ambiguous: str          # why some cells deliberately have no defined verdict; "" if none do
    path: Path
    requires: tuple[str, ...] = ()
    # as a NetworkPolicy case reads them (policy_cases.py): cluster cases probe pods directly and
    # leave the DNS check to the NetworkPolicy cases
    service: bool = False
    dns: bool = False


@dataclass(frozen=True)
class ClusterState:
    """The cluster as the engine sees it: before the steps, then after each."""

    title: str
    cluster_policies: tuple[dict, ...]
    policies: tuple[dict, ...]
    namespaces: Mapping[str, Mapping[str, str]]
    pods: tuple[Pod, ...]
    spot_checks: tuple[SpotCheck, ...]


# --- states and expectations ---------------------------------------------------------------

def states(case: ClusterCase, ips: Mapping[str, str] = cases.SAMPLE_IPS,
           pod_cidr: str = cases.SAMPLE_POD_CIDR) -> list[ClusterState]:
    """The engine's view before the steps and after each."""
    mapping = cases.placeholders(ips, pod_cidr)
    namespaces, pods = cases.matrix_namespaces(), cases.matrix_pods(ips)
    cluster = {p["metadata"]["name"]: render(p, mapping) for p in case.cluster_policies}
    policies = {_ref(p): p for p in (render(p, mapping) for p in case.policies)}

    def state(title: str, checks: tuple[SpotCheck, ...]) -> ClusterState:
        return ClusterState(title, tuple(cluster.values()), tuple(policies.values()), namespaces, pods, checks)

    result = [state("initial", case.spot_checks)]
    for number, step in enumerate(case.steps, 1):
        store = cluster if step.action.endswith("cluster_policy") else policies
        if step.action.startswith("apply"):
            policy = render(step.body, mapping)
            store[policy["metadata"]["name"] if store is cluster else _ref(policy)] = policy
        elif step.body in store:
            del store[step.body]
        else:
            raise CaseError(f"{case.path.name}: {case.name}: steps[{number - 1}].{step.action}: no policy {step.body}")
        result.append(state(f"step {number}: {step.description}", step.spot_checks))
    return result


def _ref(policy: Mapping) -> str:
    """A NetworkPolicy as `delete` names it: x/name."""
    return f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"


def expected_table(state: ClusterState, target: Target) -> Table:
    """The engine's verdict for every pair of matrix pods, with its reason; ambiguous cells are None."""
    table = Table(tuple(p.key for p in state.pods), target)
    for src in state.pods:
        for dst in state.pods:
            result = verdict(state.cluster_policies, state.policies, state.namespaces, src, dst,
                             target.port, target.protocol)
            table.record(src.key, dst.key, result.allowed)
            table.reasons[(src.key, dst.key)] = result.reason
    return table


def ignoring_cluster_policies(state: ClusterState, target: Target) -> Table:
    """What a CNI that ignores ClusterNetworkPolicies shows: the NetworkPolicies' verdict alone."""
    return expected_table(replace(state, cluster_policies=()), target)


def denied_only_by_cluster_policies(case: ClusterCase) -> list[str]:
    """The cells (any state, any target) that the case's cluster policies deny and its
    NetworkPolicies alone would allow, as 'state: src -> dst port/protocol': a CNI that ignores
    cluster policies lets exactly these through."""
    found = []
    for state in states(case):
        for target in case.targets:
            ignored = ignoring_cluster_policies(state, target)
            found += [f"{state.title}: {src} -> {dst} {target}" for (src, dst), allowed in expected_table(state, target).cells.items()
                      if allowed is False and ignored.get(src, dst) is True]
    return found


# --- loading -------------------------------------------------------------------------------

def load_all(directory: Path = CLUSTER_CASES) -> list[ClusterCase]:
    """Every case of every file, in file order (names unique across files); every delete of a
    step names a policy that is there."""
    found = cases.load_all(directory, _Parser)
    for case in found:
        states(case)
    return found


def load_file(path: Path) -> list[ClusterCase]:
    found = cases.load_file(path, _Parser)
    for case in found:
        states(case)
    return found


class _Parser(cases._Parser):
    """The NetworkPolicy case parser's field checks, with cluster policies and their steps."""

    def case(self, entry: Any) -> ClusterCase:
        name, features, targets = self.header(entry, _CASE_FIELDS, ("name", "description", "features", "cluster_policies"),
                                              FEATURES)
        cluster_policies = tuple(self.cluster_policy(p, f"cluster_policies[{i}]")
                                 for i, p in enumerate(self.items(entry["cluster_policies"], "cluster_policies")))
        if not cluster_policies:
            raise self.fail("cluster_policies", "needs at least one ClusterNetworkPolicy")
        names = [p["metadata"]["name"] for p in cluster_policies]
        if len(set(names)) != len(names):
            raise self.fail("cluster_policies", f"names must be unique (cluster-scoped), got {names}")
        case = ClusterCase(
            name=name,
            description=self.text(entry["description"], "description"),
            category=self.path.stem,
            features=features,
            cluster_policies=cluster_policies,
            policies=tuple(self.policy(p, f"policies[{i}]")
                           for i, p in enumerate(self.items(entry.get("policies"), "policies"))),
            targets=targets,
            steps=tuple(self.step(s, f"steps[{i}]", targets) for i, s in enumerate(self.items(entry.get("steps"), "steps"))),
            spot_checks=self.checks(entry.get("spot_checks"), "spot_checks", targets),
            ambiguous=self.text(entry["ambiguous"], "ambiguous") if "ambiguous" in entry else "",
            path=self.path,
            requires=self.capabilities(entry.get("requires", [])),
        )
        checks = [*case.spot_checks, *(c for s in case.steps for c in s.spot_checks)]
        if not case.ambiguous and any(c.allowed is None for c in checks):
            raise self.fail("ambiguous", f"a spot check expects {AMBIGUOUS}: say why the case leaves a verdict undefined")
        return case

    def cluster_policy(self, value: Any, field: str) -> dict:
        """A ClusterNetworkPolicy, checked as rendered with sample values; its subject must stay in the run."""
        if not isinstance(value, dict):
            raise self.fail(field, "must be a ClusterNetworkPolicy mapping")
        if isinstance(value.get("metadata"), dict) and "namespace" in value["metadata"]:
            raise self.fail(f"{field}.metadata.namespace", "a ClusterNetworkPolicy is cluster-scoped: leave it out")
        policy = {"apiVersion": API_VERSION, "kind": KIND, **copy.deepcopy(value)}
        try:
            rendered = render(policy, self.sample)
            validate_cluster_policy(rendered)
        except (PolicyError, CaseError) as exc:
            raise self.fail(field, str(exc)) from None
        name = rendered["metadata"]["name"]
        if not cases._NAME.fullmatch(name):
            raise self.fail(f"{field}.metadata.name", f"must be lowercase words joined by '-', got {name!r}")
        subject = rendered["spec"]["subject"]
        selector = subject["namespaces"] if "namespaces" in subject else subject["pods"].get("namespaceSelector") or {}
        outside = [ns for ns in _OUTSIDE if selector_matches(selector, namespace_labels(_OUTSIDE, ns))]
        if outside:
            raise self.fail(f"{field}.spec.subject", f"selects namespaces outside the run ({', '.join(outside)}): name "
                                                     'the run\'s own, e.g. kubernetes.io/metadata.name: "${x}"')
        return policy

    def step(self, value: Any, field: str, targets: tuple[Target, ...]) -> Step:
        self.fields(value, field, {*_ACTIONS, "description", "spot_checks"}, required=("description",))
        actions = [a for a in _ACTIONS if a in value]
        if len(actions) != 1:
            raise self.fail(field, f"needs exactly one action of {', '.join(_ACTIONS)}, got {actions or 'none'}")
        action = actions[0]
        body, at = value[action], f"{field}.{action}"
        if action == "apply":
            body = self.policy(body, at)
        elif action == "apply_cluster_policy":
            body = self.cluster_policy(body, at)
        elif action == "delete":
            if not isinstance(body, str) or body.split("/")[0] not in cases.NAMESPACES or body.count("/") != 1:
                raise self.fail(at, f"must be NAMESPACE/POLICY with NAMESPACE one of x, y, z, got {body!r}")
        elif not isinstance(body, str) or not cases._NAME.fullmatch(body):
            raise self.fail(at, f"must be a ClusterNetworkPolicy's name, got {body!r}")
        return Step(action, body, self.text(value["description"], f"{field}.description"),
                    self.checks(value.get("spot_checks"), f"{field}.spot_checks", targets))

    def checks(self, value: Any, field: str, targets: tuple[Target, ...]) -> tuple[SpotCheck, ...]:
        """cases.py's spot checks, plus `allowed: ambiguous` (read as None)."""
        entries = self.items(value, field)
        for i, check in enumerate(entries):
            if isinstance(check, dict) and isinstance(check.get("allowed"), str) and check["allowed"] != AMBIGUOUS:
                raise self.fail(f"{field}[{i}].allowed", f"must be true, false or {AMBIGUOUS}, got {check['allowed']!r}")
        unsure = {i for i, c in enumerate(entries) if isinstance(c, dict) and c.get("allowed") == AMBIGUOUS}
        found = super().checks([{**c, "allowed": False} if i in unsure else c for i, c in enumerate(entries)],
                               field, targets)
        return tuple(replace(c, allowed=None) if i in unsure else c for i, c in enumerate(found))
