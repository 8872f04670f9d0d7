"""Negative controls: named ways to break a cluster, each with the scenarios that must then fail.

They live as data in manifests/breakages/<suite>.yaml. A suite applies the one named by
`--break` once its workloads are up, so a run shows that its checks catch that breakage.

A narrow breakage hits one node, one backend or one cell (`hits` says which, with the same
placeholders as the steps); its node steps name the node they run on (`on_node: worker2`) and it
lists the scenarios that must still pass (`must_pass`), so a control shows both that the checks
see the fault and that they say where it is without failing what it does not touch.

A suite with more than one set of workloads names the one a breakage belongs to (`world:`, e.g.
the day-2 suite's `isolation` and `udp-churn`); that fixture applies it with its own placeholders.
Steps can read helper scripts kept beside the YAML through `$breakages` (this folder).
"""
from __future__ import annotations

import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from cnimatrix.cluster.roles import ROLES, by_role

BREAKAGES = Path(__file__).resolve().parents[1] / "manifests" / "breakages"


class BreakageError(RuntimeError):
    pass


@dataclass(frozen=True)
class Breakage:
    name: str
    suite: str
    description: str
    must_fail: tuple[str, ...]
    steps: tuple[dict, ...]
    cnis: tuple[str, ...] = ()   # the CNIs it applies to (it breaks one of their parts); empty: any
    must_pass: tuple[str, ...] = ()  # scenarios the fault does not touch (a narrow breakage names them)
    hits: str = ""               # what one node/backend/cell a narrow breakage hits (placeholders filled at apply)
    world: str = ""              # which of its suite's workload sets applies it ("": the suite's only one)

    def applies_to(self, cni: str) -> bool:
        return not self.cnis or cni in self.cnis

    @property
    def narrow(self) -> bool:
        return bool(self.hits)


STEP_KINDS = ("kubectl", "node", "host")


def load_all() -> dict[str, Breakage]:
    found: dict[str, Breakage] = {}
    for path in sorted(BREAKAGES.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()) or []:
            steps = tuple(entry["steps"])
            for step in steps:
                check_step(path.name, entry["name"], step)
            found[entry["name"]] = Breakage(entry["name"], path.stem, entry["description"], tuple(entry["must_fail"]), steps,
                                            tuple(entry.get("cnis", ())), tuple(entry.get("must_pass", ())),
                                            entry.get("hits", ""), entry.get("world", ""))
            if found[entry["name"]].must_pass and not found[entry["name"]].narrow:
                raise BreakageError(f"{path.name}: {entry['name']}: must_pass belongs to a narrow breakage (say what it hits)")
    return found


def check_step(file: str, name: str, step: dict) -> None:
    kinds = [k for k in step if k in STEP_KINDS]
    extra = set(step) - set(STEP_KINDS) - {"on_node"}  # not `on`: YAML 1.1 reads it as true
    if len(kinds) != 1 or extra or ("on_node" in step and kinds != ["node"]):
        raise BreakageError(f"{file}: {name}: a step is one of kubectl: [args], host: shell, node: shell (with on_node: ROLE)")
    if "on_node" in step and step["on_node"] not in ROLES:
        raise BreakageError(f"{file}: {name}: on_node: {step['on_node']!r} is not a node role ({', '.join(ROLES)})")


def param_name(role: str) -> str:
    """The placeholder a node role fills: control-plane -> control_plane ($control_plane)."""
    return role.replace("-", "_")


def node_params(cluster) -> dict[str, str]:
    """$control_plane, $worker, $worker2: the cluster's node names by role, and $control_plane_ip,
    $worker_ip, $worker2_ip their InternalIPs (missing roles left out)."""
    ips, workers, control = cluster.node_roles()
    params = {}
    for role, name in by_role(workers, control).items():
        params[param_name(role)], params[param_name(role) + "_ip"] = name, ips.get(name, "")
    return params


def load(name: str) -> Breakage:
    known = load_all()
    if name not in known:
        raise BreakageError(f"unknown breakage {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def apply(breakage: Breakage, cluster, params: dict[str, str]) -> dict[str, str]:
    """Run the breakage's steps in order; a failing step stops the run (the control is void).
    Returns the placeholders it filled (`params` with the node names and kubectl), for `hits`."""
    from cnimatrix.cluster.kind import tool

    params = {**node_params(cluster), **params, "kubectl": f"{tool('kubectl')} --kubeconfig {cluster.kubeconfig}",
              "breakages": str(BREAKAGES)}
    fill = lambda text: string.Template(text).substitute(params)
    for step in breakage.steps:
        if "kubectl" in step:
            cluster.kubectl(*(fill(str(arg)) for arg in step["kubectl"]))
        elif "host" in step:
            proc = subprocess.run(["sh", "-c", fill(step["host"])], capture_output=True, text=True)
            if proc.returncode != 0:
                raise BreakageError(f"{breakage.name}: host step failed: {proc.stderr.strip()[:300]}")
        else:
            if not cluster.kind_nodes:
                raise BreakageError(f"{breakage.name}: node steps need a kind cluster cnimatrix created")
            role = step.get("on_node")
            if role and param_name(role) not in params:
                raise BreakageError(f"{breakage.name}: the cluster has no {role} node")
            for node in [params[param_name(role)]] if role else cluster.node_containers():
                proc = subprocess.run(["docker", "exec", node, "sh", "-c", fill(step["node"])], capture_output=True, text=True)
                if proc.returncode != 0:
                    raise BreakageError(f"{breakage.name}: on {node}: {proc.stderr.strip()[:300]}")
    return params


def hits(breakage: Breakage, params: dict[str, str]) -> str:
    """What the breakage hits, its placeholders filled with what `apply` filled the steps with."""
    return string.Template(breakage.hits).safe_substitute(params) if breakage.hits else ""
