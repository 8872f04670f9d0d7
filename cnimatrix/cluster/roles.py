"""Nodes by role in kind's default shape (control-plane, worker, worker2), never by name, so the
ids read the same on every cluster: where a scenario places a client, which node a breakage's
step runs on."""
from __future__ import annotations

ROLES = {"control-plane": ("control", 0), "worker": ("workers", 0), "worker2": ("workers", 1)}


def by_role(workers: list[str], control: list[str]) -> dict[str, str]:
    """Role id -> node name, for the roles the cluster has (sorted names, as node_roles gives)."""
    found = {"control": control, "workers": workers}
    return {role: found[group][index] for role, (group, index) in ROLES.items() if len(found[group]) > index}
