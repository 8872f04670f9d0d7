"""loadBalancerSourceRanges: a LoadBalancer Service that lists one outside client's address is
answered for that client and kept from every other (dropped or refused: enforced by kube-proxy
or the CNI's replacement at the node the address leads to, not by the load balancer that
announces it). An open twin (the same backend behind a LoadBalancer that lists nothing) shows
both clients reach the cluster at all, so a silent refusal proves the ranges and not a dead path.

One cell per (client, Service): whether the ranges list that client, and its probes' results.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cnimatrix.probe.outcomes import Outcome, ProbeResult


@dataclass(frozen=True)
class RangeCell:
    admitted: bool                  # the Service admits this client (listed, or no ranges at all)
    results: tuple[ProbeResult, ...]

    @property
    def answered(self) -> int:
        return sum(1 for r in self.results if r.ok)

    def to_dict(self) -> dict:
        unanswered = Counter(r.outcome for r in self.results if not r.ok)
        return {"attempts": len(self.results), "answered": self.answered, "refused": unanswered[Outcome.REFUSED],
                "timed_out": unanswered[Outcome.TIMEOUT]}


def admitted_or_kept_out(cell: RangeCell) -> tuple[bool, str]:
    """An admitted client answered every time; any other client never."""
    if not cell.results:
        return False, "no probe sent"
    n = len(cell.results)
    if cell.admitted:
        failed = [r for r in cell.results if not r.ok]
        if failed:
            return False, f"{len(failed)}/{n} unanswered ({failed[0].outcome.value} {failed[0].reply[:80]!r}) for a client it admits"
        return True, f"{n}/{n} answered"
    if cell.answered:
        first = next(r for r in cell.results if r.ok)
        return False, f"{cell.answered}/{n} answered ({first.reply[:60]!r}): the source ranges did not keep this client out"
    return True, f"0/{n} answered ({', '.join(f'{k} {v}' for k, v in sorted(Counter(r.outcome.value for r in cell.results).items()))})"
