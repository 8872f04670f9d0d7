"""Negative controls: named ways to break a cluster, each with the scenarios that must then fail.

They live as data in manifests/breakages/<suite>.yaml. A suite applies the one named by
`--break` once its workloads are up, so a run shows that its checks catch that breakage.
"""
from __future__ import annotations

import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

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

    def applies_to(self, cni: str) -> bool:
        return not self.cnis or cni in self.cnis


def load_all() -> dict[str, Breakage]:
    found: dict[str, Breakage] = {}
    for path in sorted(BREAKAGES.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()) or []:
            steps = tuple(entry["steps"])
            for step in steps:
                if len(step) != 1 or next(iter(step)) not in ("kubectl", "node", "host"):
                    raise BreakageError(f"{path.name}: {entry['name']}: a step is one of kubectl: [args], node: shell, host: shell")
            found[entry["name"]] = Breakage(entry["name"], path.stem, entry["description"], tuple(entry["must_fail"]), steps,
                                            tuple(entry.get("cnis", ())))
    return found


def load(name: str) -> Breakage:
    known = load_all()
    if name not in known:
        raise BreakageError(f"unknown breakage {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def apply(breakage: Breakage, cluster, params: dict[str, str]) -> None:
    """Run the breakage's steps in order; a failing step stops the run (the control is void)."""
    from cnimatrix.cluster.kind import tool

    params = {**params, "kubectl": f"{tool('kubectl')} --kubeconfig {cluster.kubeconfig}"}
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
            for node in cluster.node_containers():
                proc = subprocess.run(["docker", "exec", node, "sh", "-c", fill(step["node"])], capture_output=True, text=True)
                if proc.returncode != 0:
                    raise BreakageError(f"{breakage.name}: on {node}: {proc.stderr.strip()[:300]}")
