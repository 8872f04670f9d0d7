"""Where the matrix's policies are enforced: which node each pod runs on, and what the matrix shows
when one node programs no policy at all.

A CNI enforces a pod's ingress policy on the pod's node and its egress policy on the node the
traffic leaves from (the source pod's node). A node whose policy agent is stopped, stale or
bypassed leaves both sides of its own pods open, while every other node still enforces its
pods' sides. So a fault confined to one node's policy agent shows only in the cases that deny a
cell through a side that node enforces; `sees_unenforced` tells them apart, for the audit in
docs/negative-controls.md and for the narrow breakages that hold the suite to it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnimatrix.netpol import cases
from cnimatrix.netpol.reachability import Table, Target, expected
from cnimatrix.netpol.semantics import EGRESS, INGRESS, Pod, side_verdict

# The roles of a kind cluster's nodes, in the order their names sort (name-control-plane,
# name-worker, name-worker2): the suite places pods over the sorted names.
SAMPLE_NODES = ("control-plane", "worker", "worker2")


def placement(nodes: Sequence[str]) -> dict[str, str]:
    """Pod -> node, rotating per namespace so each row mixes same-node and cross-node pairs."""
    return {f"{ns}/{pod}": nodes[(i + j) % len(nodes)]
            for j, ns in enumerate(cases.NAMESPACES) for i, pod in enumerate(cases.POD_NAMES)}


def unenforced_on(node: str, placed: Mapping[str, str], policies: Sequence[Mapping],
                  namespaces: Mapping[str, Mapping[str, str]], pods: Sequence[Pod], target: Target) -> Table:
    """The table a cluster shows when `node` enforces nothing: a side's verdict holds only where
    its subject's node is another one."""
    table = Table(tuple(p.key for p in pods), target)
    for src in pods:
        for dst in pods:
            allowed = src.key == dst.key or (
                (placed[src.key] == node or side_verdict(EGRESS, policies, namespaces, src, dst, target.port, target.protocol)[0])
                and (placed[dst.key] == node
                     or side_verdict(INGRESS, policies, namespaces, src, dst, target.port, target.protocol)[0]))
            table.record(src.key, dst.key, allowed)
    return table


def unenforced_cells(case: cases.Case, node: str, placed: Mapping[str, str]) -> list[str]:
    """The cells of `case` (any state, any target) that open when `node` enforces nothing, as
    'state: src -> dst port/protocol'."""
    found = []
    for state in cases.states(case):
        for target in case.targets:
            want = expected(state.policies, state.namespaces, state.pods, target)
            got = unenforced_on(node, placed, state.policies, state.namespaces, state.pods, target)
            found += [f"{state.title}: {src} -> {dst} {target}" for (src, dst), ok in want.cells.items()
                      if got.get(src, dst) != ok]
    return found


def sees_unenforced(case: cases.Case, node: str, placed: Mapping[str, str] | None = None) -> bool:
    """Whether the case fails on a cluster where `node` enforces no policy (the others do)."""
    return bool(unenforced_cells(case, node, placed or placement(SAMPLE_NODES)))


def nodes_seen(case: cases.Case, placed: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The nodes whose policy agent this case holds to account."""
    placed = placed or placement(SAMPLE_NODES)
    return tuple(node for node in dict.fromkeys(placed.values()) if sees_unenforced(case, node, placed))
