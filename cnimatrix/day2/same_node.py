"""trafficDistribution: PreferSameNode (GA in Kubernetes 1.35): a client on a node that runs one of
the Service's backends is sent to a backend on its own node, every time; only a node without one
falls back to the others. The EndpointSlice controller writes each endpoint's node as a hint
(hints.forNodes) and the Service proxy honours it, or does not.

One cell per client node: the backends on that node and what the client's requests reached.
With one backend per node, a proxy that ignores the hint answers a request from the same node
with p = 1/2, so min_requests_for(2) requests catch it with p of all landing there < 1e-6.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cnimatrix.probe.outcomes import ProbeResult


@dataclass(frozen=True)
class SameNodeCell:
    """Requests from a client on one node to the Service."""

    local: frozenset[str]           # the Service's backends on the client's node
    results: tuple[ProbeResult, ...]

    @property
    def same_node(self) -> int:
        return sum(1 for r in self.results if r.ok and r.reply in self.local)

    @property
    def other_node(self) -> Counter:
        return Counter(r.reply for r in self.results if r.ok and r.reply not in self.local)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.ok)

    def to_dict(self) -> dict:
        return {"requests": len(self.results), "same_node": self.same_node,
                "other_node": sum(self.other_node.values()), "failed": self.failed}


def same_node_only(cell: SameNodeCell) -> tuple[bool, str]:
    """Every request answered, each by a backend on the client's own node."""
    if not cell.local:
        return False, "no backend on the client's node: nothing to prefer"
    if not cell.results:
        return False, "no request sent"
    problems = []
    if cell.failed:
        sample = next(r for r in cell.results if not r.ok)
        problems.append(f"{cell.failed}/{len(cell.results)} failed ({sample.outcome.value} {sample.reply[:80]!r})")
    if cell.other_node:
        problems.append(f"{sum(cell.other_node.values())}/{len(cell.results)} answered on another node "
                        f"({', '.join(f'{name} {n}' for name, n in sorted(cell.other_node.items()))})")
    if problems:
        return False, "; ".join(problems) + f"; same node ({', '.join(sorted(cell.local))}): {cell.same_node}"
    return True, f"{cell.same_node}/{len(cell.results)} answered on the client's node"
