"""Time-to-effect of a live policy change at 100 ms resolution: which cells to watch, and the figures.

A full matrix round takes about 2 s, so it cannot time a change finer than that. Instead, a few
of the cells the change flips are probed every 100 ms from just before the change until each
shows its new verdict for a run of probes (probe.timeline.watch); the full matrix then confirms
the whole expectation with its usual stable rounds. Per step this gives:

- first_flip_s: the first watched cell to take on its new verdict for good (start of its final run);
- all_flipped_s: the last watched cell to do so;
- matrix_converged_s: the end of the first full-matrix round of the final stable streak (an
  upper bound, one round of resolution).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnimatrix.netpol.reachability import Table, Target
from cnimatrix.probe.timeline import Flip
from cnimatrix.stats import latency_summary

MAX_WATCHED = 6     # enough cells to cover both protocols, same/other node and both directions of flip

Cell = tuple[str, str, Target, bool]    # from, to, target, the verdict after the change


def changing_cells(before: Mapping[Target, Table], after: Mapping[Target, Table], nodes: Mapping[str, str],
                   limit: int = MAX_WATCHED) -> list[Cell]:
    """Cells whose expected verdict the change flips (a pod to itself aside), at most `limit`,
    spread round-robin over (protocol, same node or not, new verdict) and then over sources."""
    buckets: dict[tuple, list[Cell]] = {}
    for target in sorted(after):
        table = after[target]
        for src in table.pods:
            for dst in table.pods:
                new, old = table.get(src, dst), before[target].get(src, dst)
                if src == dst or old == new or None in (old, new):   # undefined cells: no flip to time
                    continue
                key = (target.protocol, nodes.get(src) == nodes.get(dst), new)
                buckets.setdefault(key, []).append((src, dst, target, new))
    chosen: list[Cell] = []
    used_sources: set[str] = set()
    queues = [sorted(cells, key=lambda c: (c[0], c[1], c[2])) for _, cells in sorted(buckets.items())]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if not queue or len(chosen) >= limit:
                continue
            fresh = next((c for c in queue if c[0] not in used_sources), queue[0])
            queue.remove(fresh)
            chosen.append(fresh)
            used_sources.add(fresh[0])
    return chosen


def step_figures(flips: Sequence[Flip], matrix_converged_s: float | None) -> dict:
    """One live-update step: the three times, and why a time is missing when it is."""
    figures: dict = {"watched": len(flips), "matrix_converged_s": matrix_converged_s,
                     "first_flip_s": None, "all_flipped_s": None, "flaps": sum(f.flaps for f in flips),
                     "early": sum(f.early for f in flips)}
    if not flips:
        figures["note"] = "no cell changes verdict"
        return figures
    invalid = [f for f in flips if not f.valid]
    if invalid:
        figures["note"] = ("a watcher sent no probe before the change" if any(f.before == 0 for f in invalid)
                           else "most probes before the change already showed the new verdict")
        return figures
    held = [f.held_s for f in flips if f.held_s is not None]
    if held:
        figures["first_flip_s"] = min(held)
    if len(held) == len(flips):
        figures["all_flipped_s"] = max(held)
    else:
        figures["note"] = f"{len(flips) - len(held)} watched cell(s) did not hold the new verdict before the watch ended"
    return figures


def summary(steps: Sequence[Mapping], spacing_ms: Sequence[float]) -> dict:
    """metrics.netpol.live_update: count/p50/max (and the rest) of each time over the steps."""
    result: dict = {"steps": len(steps), "resolution_ms": None}
    for key in ("first_flip_s", "all_flipped_s", "matrix_converged_s"):
        values = [s[key] for s in steps if s.get(key) is not None]
        if values:   # latency_summary works in any unit; these are seconds
            result[key] = latency_summary(values)
    if spacing_ms:
        gaps = latency_summary(spacing_ms)
        result["resolution_ms"] = {"p50": gaps["p50"], "p99": gaps["p99"], "max": gaps["max"]}
    unmeasured = [s.get("note") for s in steps if s.get("first_flip_s") is None and s.get("note")]
    if unmeasured:
        result["unmeasured"] = unmeasured
    return result
