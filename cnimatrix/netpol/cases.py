"""The NetworkPolicy case catalog: manifests/netpol/cases/<category>.yaml, loaded and checked.

The probe matrix is namespaces x, y, z with pods a, b, c in each (labels `pod: a`, namespaces
`ns: x`), every pod serving TCP and UDP on ports 80 and 81 (container ports serve-80-tcp, ...).
Policies name namespaces as ${x}, ${y}, ${z} (real names are unique per run) and pod IPs as
${ip:y/b}, the pod CIDR as ${pod_cidr}; `render` fills them from a mapping. References to matrix
objects (spot checks, labels, `delete`) use the logical names: x/a, y, x/policy-name.

Expectations are computed in the logical space: policies rendered with x -> x and the pods'
real IPs, so matrix keys read `x/a` whatever the run called its namespaces.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cnimatrix.netpol.semantics import (API_VERSION, NAMESPACE_NAME_LABEL, ContainerPort, Pod, PolicyError, require_list,
                                     require_mapping, validate)
from cnimatrix.netpol.reachability import Target

CASES = Path(__file__).resolve().parents[2] / "manifests" / "netpol" / "cases"

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
MATRIX_PODS = tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in POD_NAMES)
DEFAULT_TARGETS = tuple(map(Target.parse, ("80/TCP", "81/TCP", "80/UDP", "81/UDP")))
CONTAINER_PORTS = tuple(ContainerPort(f"serve-{port}-{protocol.lower()}", port, protocol)
                        for port in (80, 81) for protocol in ("TCP", "UDP"))

# Stand-ins for a run's pod IPs, used to check the catalog and in unit tests; the suite passes
# the real ones. Every pod IP lies in the pod CIDR, as on a real cluster.
SAMPLE_POD_CIDR = "10.244.0.0/16"
SAMPLE_IPS = {key: f"10.244.{1 + i // 3}.{10 + i}" for i, key in enumerate(MATRIX_PODS)}

FEATURES = frozenset({
    "ingress", "egress", "policyTypes", "default-deny", "allow-all", "podSelector", "namespaceSelector",
    "metadata-name", "peer-and", "peer-or", "matchExpressions", "numbered-port", "named-port",
    "protocol-only", "udp", "sctp", "endPort", "multiple-policies", "ipBlock", "except", "dns", "service",
    "live-update", "update-policy", "pod-labels", "namespace-labels", "delete-policy",
})
_CASE_FIELDS = {"name", "description", "features", "policies", "targets", "pod_labels", "namespace_labels",
                "steps", "spot_checks", "dns", "service", "allow_all", "requires"}
_CAPABILITY = re.compile(r"^[a-z][a-z0-9_]*$")
_ACTIONS = ("apply", "delete", "pod_labels", "namespace_labels")
_STEP_FIELDS = {*_ACTIONS, "description", "spot_checks"}
_CHECK_FIELDS = {"from", "to", "target", "allowed"}
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class CaseError(ValueError):
    """A case file that does not load; the message names the file, the case and the field."""


@dataclass(frozen=True)
class SpotCheck:
    """One hand-written expected cell, checked against the engine by the unit tests."""

    src: str
    dst: str
    target: Target
    allowed: bool


@dataclass(frozen=True)
class Step:
    """A live update: one action, then a new expected matrix."""

    action: str             # one of _ACTIONS
    body: Any               # policy (apply), "x/name" (delete), {ref: {label: value|None}} (labels)
    description: str
    spot_checks: tuple[SpotCheck, ...] = ()


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    category: str           # the file's name
    features: tuple[str, ...]
    policies: tuple[dict, ...]      # with placeholders; `render` fills them
    targets: tuple[Target, ...]
    pod_labels: Mapping[str, Mapping[str, str | None]]         # set before the policies are applied
    namespace_labels: Mapping[str, Mapping[str, str | None]]
    steps: tuple[Step, ...]
    spot_checks: tuple[SpotCheck, ...]
    dns: bool               # the suite also checks that name resolution still works
    service: bool           # the suite probes through a ClusterIP Service in front of each pod
    allow_all: str          # why the case deliberately expects everything allowed; "" if it does not
    path: Path
    # CNI capabilities (cnis/*.yaml) beyond enforcement that the case relies on; a CNI declaring
    # one unsupported still runs the case, and a mismatch is reported as that declared gap.
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class State:
    """The cluster as the engine sees it: before the steps, then after each."""

    title: str
    policies: tuple[dict, ...]
    namespaces: Mapping[str, Mapping[str, str]]
    pods: tuple[Pod, ...]
    spot_checks: tuple[SpotCheck, ...]


# --- the matrix and placeholders -----------------------------------------------------------

def matrix_namespaces() -> dict[str, dict[str, str]]:
    return {ns: {"ns": ns} for ns in NAMESPACES}


def matrix_pods(ips: Mapping[str, str]) -> tuple[Pod, ...]:
    return tuple(Pod(ns, name, {"pod": name}, ips[f"{ns}/{name}"], CONTAINER_PORTS)
                 for ns in NAMESPACES for name in POD_NAMES)


def placeholders(ips: Mapping[str, str], pod_cidr: str, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Values for ${x} ${y} ${z} (the logical names unless `names` gives the run's), ${ip:x/a}, ${pod_cidr}."""
    values = {ns: (names or {}).get(ns, ns) for ns in NAMESPACES}
    values.update({f"ip:{key}": ips[key] for key in MATRIX_PODS})
    values["pod_cidr"] = pod_cidr
    return values


def render(value: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of `value` with every ${name} in its strings filled; an unknown name is a CaseError."""
    if isinstance(value, str):
        def fill(match: re.Match) -> str:
            if match.group(1) not in mapping:
                raise CaseError(f"unknown placeholder ${{{match.group(1)}}}")
            return mapping[match.group(1)]
        return _PLACEHOLDER.sub(fill, value)
    if isinstance(value, list):
        return [render(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: render(v, mapping) for k, v in value.items()}
    return value


# --- states --------------------------------------------------------------------------------

def states(case: Case, ips: Mapping[str, str] = SAMPLE_IPS, pod_cidr: str = SAMPLE_POD_CIDR) -> list[State]:
    """The engine's view before the steps and after each, for expected matrices and spot checks."""
    mapping = placeholders(ips, pod_cidr)
    namespaces = _relabel(matrix_namespaces(), case.namespace_labels)
    pods = _relabel_pods(matrix_pods(ips), case.pod_labels)
    policies = [render(p, mapping) for p in case.policies]
    result = [State("initial", tuple(policies), namespaces, pods, case.spot_checks)]
    for number, step in enumerate(case.steps, 1):
        if step.action == "apply":
            policy = render(step.body, mapping)
            policies = [p for p in policies if _key(p) != _key(policy)] + [policy]
        elif step.action == "delete":
            kept = [p for p in policies if _key(p) != tuple(step.body.split("/"))]
            if len(kept) == len(policies):
                raise CaseError(f"{case.path.name}: {case.name}: steps[{number - 1}].delete: no policy {step.body}")
            policies = kept
        elif step.action == "pod_labels":
            pods = _relabel_pods(pods, step.body)
        else:
            namespaces = _relabel(namespaces, step.body)
        result.append(State(f"step {number}: {step.description}", tuple(policies), namespaces, pods, step.spot_checks))
    return result


def _key(policy: Mapping) -> tuple[str, str]:
    return policy["metadata"]["namespace"], policy["metadata"]["name"]


def _relabel(labels_by_name: Mapping[str, Mapping[str, str]], changes: Mapping[str, Mapping[str, str | None]]) -> dict:
    """Merge label changes as a merge patch does: a None value removes the label."""
    result = {name: dict(labels) for name, labels in labels_by_name.items()}
    for name, change in changes.items():
        for key, value in change.items():
            if value is None:
                result[name].pop(key, None)
            else:
                result[name][key] = value
    return result


def _relabel_pods(pods: tuple[Pod, ...], changes: Mapping[str, Mapping[str, str | None]]) -> tuple[Pod, ...]:
    labels = _relabel({p.key: p.labels for p in pods}, changes)
    return tuple(Pod(p.namespace, p.name, labels[p.key], p.ip, p.ports) for p in pods)


# --- loading -------------------------------------------------------------------------------

def load_all(directory: Path = CASES, parser: type[_Parser] | None = None) -> list:
    """Every case of every file, in file order; names must be unique across files. `parser`: the
    entry parser (another kind of case, such as cluster_cases.py's)."""
    cases: list = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        for case in load_file(path, parser):
            if case.name in seen:
                raise CaseError(f"{path.name}: {case.name}: name already used in {seen[case.name].name}")
            seen[case.name] = path
            cases.append(case)
    return cases


def load_file(path: Path, parser: type[_Parser] | None = None) -> list:
    try:
        entries = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CaseError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(entries, list):
        raise CaseError(f"{path.name}: must be a list of cases")
    return [(parser or _Parser)(path, index).case(entry) for index, entry in enumerate(entries)]


class _Parser:
    """Checks one case entry; every error names the file, the case and the field."""

    def __init__(self, path: Path, index: int):
        self.path, self.where = path, f"case {index}"
        self.sample = placeholders(SAMPLE_IPS, SAMPLE_POD_CIDR)

    def fail(self, field: str, problem: str) -> CaseError:
        return CaseError(f"{self.path.name}: {self.where}: {field}: {problem}")

    def header(self, entry: Any, fields: set[str], required: tuple[str, ...], known_features: frozenset[str] = FEATURES
               ) -> tuple[str, tuple[str, ...], tuple[Target, ...]]:
        """A case's name, features and targets (the default targets when it names none), checked."""
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            self.where = entry["name"]
        self.fields(entry, "(case)", fields, required=required)
        name = entry["name"]
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise self.fail("name", f"must be lowercase words joined by '-', got {name!r}")
        features = entry["features"]
        if not isinstance(features, list) or not features or not set(features) <= known_features:
            unknown = sorted(set(features) - known_features) if isinstance(features, list) else features
            raise self.fail("features", f"must be a non-empty list of known tags; unknown: {unknown} "
                                        f"(known: {', '.join(sorted(known_features))})")
        targets = tuple(self.target(t, f"targets[{i}]") for i, t in enumerate(entry.get("targets") or []))
        return name, tuple(features), targets or DEFAULT_TARGETS

    def case(self, entry: Any) -> Case:
        name, features, targets = self.header(entry, _CASE_FIELDS, ("name", "description", "features", "policies"))
        return Case(
            name=name,
            description=self.text(entry["description"], "description"),
            category=self.path.stem,
            features=features,
            policies=tuple(self.policy(p, f"policies[{i}]")
                           for i, p in enumerate(self.items(entry["policies"], "policies"))),
            targets=targets,
            pod_labels=self.labels(entry.get("pod_labels", {}), "pod_labels", MATRIX_PODS),
            namespace_labels=self.labels(entry.get("namespace_labels", {}), "namespace_labels", NAMESPACES),
            steps=tuple(self.step(s, f"steps[{i}]", targets) for i, s in enumerate(self.items(entry.get("steps"), "steps"))),
            spot_checks=self.checks(entry.get("spot_checks"), "spot_checks", targets),
            dns=self.flag(entry.get("dns", False), "dns"),
            service=self.flag(entry.get("service", False), "service"),
            allow_all=self.text(entry["allow_all"], "allow_all") if "allow_all" in entry else "",
            path=self.path,
            requires=self.capabilities(entry.get("requires", [])),
        )

    def capabilities(self, value: Any) -> tuple[str, ...]:
        names = self.items(value, "requires")
        bad = [n for n in names if not isinstance(n, str) or not _CAPABILITY.fullmatch(n)]
        if bad:
            raise self.fail("requires", f"capability names are lower_snake_case; got {bad}")
        return tuple(names)

    def fields(self, value: Any, field: str, allowed: set[str], required: tuple[str, ...] = ()) -> None:
        self.checked(require_mapping, value, "" if field == "(case)" else field, allowed, required)

    def items(self, value: Any, field: str) -> list:
        return self.checked(require_list, value, field)

    def checked(self, check, *args):
        """Run one of the engine's field checks, naming the file and case in its error."""
        try:
            return check(*args)
        except PolicyError as exc:
            raise CaseError(f"{self.path.name}: {self.where}: {exc}") from None

    def text(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "must be a non-empty string")
        return " ".join(value.split())

    def flag(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"must be true or false, got {value!r}")
        return value

    def target(self, value: Any, field: str) -> Target:
        try:
            return Target.parse(str(value))
        except ValueError as exc:
            raise self.fail(field, str(exc)) from None

    def policy(self, value: Any, field: str) -> dict:
        """A NetworkPolicy; apiVersion and kind may be left out. Checked as rendered with sample values."""
        if not isinstance(value, dict):
            raise self.fail(field, "must be a NetworkPolicy mapping")
        policy = {"apiVersion": API_VERSION, "kind": "NetworkPolicy", **copy.deepcopy(value)}
        try:
            validate(render(policy, self.sample))
        except (PolicyError, CaseError) as exc:
            raise self.fail(field, str(exc)) from None
        namespace = policy["metadata"]["namespace"]
        if namespace not in {f"${{{ns}}}" for ns in NAMESPACES}:
            raise self.fail(f"{field}.metadata.namespace",
                            f"must be ${{x}}, ${{y}} or ${{z}} (run-specific names), got {namespace!r}")
        return policy

    def labels(self, value: Any, field: str, refs: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, "must map a matrix pod or namespace to labels")
        for ref, change in value.items():
            if ref not in refs:
                raise self.fail(f"{field}.{ref}", f"not one of {', '.join(refs)}")
            if not isinstance(change, dict) or not all(isinstance(v, (str, type(None))) for v in change.values()):
                raise self.fail(f"{field}.{ref}", "must map label keys to strings (or null to remove)")
            if NAMESPACE_NAME_LABEL in change:
                raise self.fail(f"{field}.{ref}.{NAMESPACE_NAME_LABEL}", "set by the API server, cannot change")
        return value

    def step(self, value: Any, field: str, targets: tuple[Target, ...]) -> Step:
        self.fields(value, field, _STEP_FIELDS, required=("description",))
        actions = [a for a in _ACTIONS if a in value]
        if len(actions) != 1:
            raise self.fail(field, f"needs exactly one action of {', '.join(_ACTIONS)}, got {actions or 'none'}")
        action = actions[0]
        body = value[action]
        if action == "apply":
            body = self.policy(body, f"{field}.apply")
        elif action == "delete":
            if not isinstance(body, str) or body.split("/")[0] not in NAMESPACES or body.count("/") != 1:
                raise self.fail(f"{field}.delete", f"must be NAMESPACE/POLICY with NAMESPACE one of x, y, z, got {body!r}")
        else:
            body = self.labels(body, f"{field}.{action}", MATRIX_PODS if action == "pod_labels" else NAMESPACES)
        return Step(action, body, self.text(value["description"], f"{field}.description"),
                    self.checks(value.get("spot_checks"), f"{field}.spot_checks", targets))

    def checks(self, value: Any, field: str, targets: tuple[Target, ...]) -> tuple[SpotCheck, ...]:
        found = []
        for index, check in enumerate(self.items(value, field)):
            at = f"{field}[{index}]"
            self.fields(check, at, _CHECK_FIELDS, required=tuple(sorted(_CHECK_FIELDS)))
            for key in ("from", "to"):
                if check[key] not in MATRIX_PODS:
                    raise self.fail(f"{at}.{key}", f"not a matrix pod: {check[key]!r}")
            target = self.target(check["target"], f"{at}.target")
            if target not in targets:
                raise self.fail(f"{at}.target", f"{target} is not probed by this case ({', '.join(map(str, targets))})")
            found.append(SpotCheck(check["from"], check["to"], target, self.flag(check["allowed"], f"{at}.allowed")))
        return tuple(found)
