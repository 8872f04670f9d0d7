"""Verdicts that say where: an observation split into cells (a client and a target, a node, a
pod's port), each held to the same judge, so a failure names the cells that misbehaved and the
ones that did not ("worker2 -> control-plane 172.18.0.3:31000: 53/53 refused; fine: ...").

A narrow fault (one node's rules, one backend, one port) shows as a few bad cells among good
ones; a global one as every cell bad. Pure: tests/unit/test_cells.py.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Hashable

Judge = Callable[[Any], tuple[bool, str]]
Cell = Hashable  # a label, or a (source, target) pair


def each_cell(judge: Judge, noun: str = "cells") -> Judge:
    """A judge over {cell: observation} that holds every cell to `judge`. Its reason names the
    failing cells, then the cells that passed (grouped by source when the cells are (source,
    target) pairs), then each failing cell's own reason."""
    def judged(cells: dict[Cell, Any]) -> tuple[bool, str]:
        if not cells:
            return False, f"no {noun} observed"
        verdicts = {cell: judge(observation) for cell, observation in cells.items()}
        bad = {cell: reason for cell, (ok, reason) in verdicts.items() if not ok}
        good = [cell for cell, (ok, _) in verdicts.items() if ok]
        if not bad:
            return True, f"all {len(good)} {noun} fine"
        # where first (the comparison shows the first 300 characters), then each bad cell's reason
        where = ", ".join(label(cell) for cell in bad)
        named = "; ".join(f"{label(cell)}: {reason}" for cell, reason in bad.items())
        return False, f"{len(bad)}/{len(cells)} {noun} bad: {where}; fine: {fine(good, list(cells)) or 'none'}. {named}"
    return judged


def node_id(node: str) -> str:
    """A kind node's role in its name ("cnimatrix-calico-worker2" -> "worker2"): short cell labels
    that read the same on every cluster."""
    found = re.search(r"(control-plane\d*|worker\d*)$", node)
    return found.group(1) if found else node


def label(cell: Cell) -> str:
    if isinstance(cell, tuple):
        return " -> ".join(str(part) for part in cell)
    return str(cell)


def fine(good: list[Cell], every: list[Cell]) -> str:
    """The passing cells, short: a source whose every target passed reads "worker -> every target"."""
    if not all(isinstance(c, tuple) and len(c) == 2 for c in every):
        return ", ".join(label(c) for c in good)
    targets: dict[Any, list] = {}
    for source, target in every:
        targets.setdefault(source, []).append(target)
    passed: dict[Any, list] = {}
    for source, target in good:
        passed.setdefault(source, []).append(target)
    parts = []
    for source, seen in passed.items():
        if len(seen) == len(targets[source]) and len(seen) > 1:
            parts.append(f"{source} -> every target")
        else:
            parts.append(f"{source} -> {', '.join(str(t) for t in seen)}")
    return "; ".join(parts)
