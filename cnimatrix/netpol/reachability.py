"""Reachability truth tables, as in the upstream Kubernetes netpol e2e.

One table per probed (port, protocol): pods are rows (from) and columns (to), named `x/a`, ... .
A cell is True (allowed), False (denied) or None: in an observed table no answer (the probe
itself failed), in an expected one no defined verdict (cluster policies of equal priority that
disagree: the API leaves the order to the implementation). `diff` compares expected with
observed; loopback cells (a pod to itself) and undefined cells are shown but not judged, as
upstream does for loopback, because implementations may differ there.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cnimatrix.netpol.semantics import Pod, verdict

MARKS = {True: ".", False: "X", None: "?"}       # allowed, denied, no answer
EXPECTED_MARKS = {True: ".", False: "X", None: "~"}   # allowed, denied, no defined verdict
SAME, DIFFERENT, NOT_JUDGED = ".", "X", "-"


@dataclass(frozen=True, order=True)
class Target:
    port: int
    protocol: str

    @classmethod
    def parse(cls, text: str) -> Target:
        """'80/TCP' -> Target(80, 'TCP')."""
        port, _, protocol = text.partition("/")
        if not port.isdigit() or not 1 <= int(port) <= 65535 or protocol not in ("TCP", "UDP", "SCTP"):
            raise ValueError(f"{text!r}: want PORT/PROTOCOL such as 80/TCP")
        return cls(int(port), protocol)

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"


Cell = tuple[str, str]     # (from, to)


@dataclass
class Table:
    pods: tuple[str, ...]
    target: Target
    cells: dict[Cell, bool | None] = field(default_factory=dict)
    reasons: dict[Cell, str] = field(default_factory=dict)     # expected tables: the engine's why

    def record(self, src: str, dst: str, allowed: bool | None) -> None:
        if src not in self.pods or dst not in self.pods:
            raise KeyError(f"{src} -> {dst}: not a pod of this table ({', '.join(self.pods)})")
        self.cells[(src, dst)] = allowed

    def get(self, src: str, dst: str) -> bool | None:
        return self.cells.get((src, dst))

    def denied(self, include_loopback: bool = False) -> int:
        return sum(1 for (src, dst), allowed in self.cells.items()
                   if allowed is False and (include_loopback or src != dst))


def expected(policies: Sequence[Mapping], namespaces: Mapping[str, Mapping[str, str]],
             pods: Sequence[Pod], target: Target) -> Table:
    """The engine's verdict for every pair of `pods`, with its reason."""
    table = Table(tuple(p.key for p in pods), target)
    for src in pods:
        for dst in pods:
            result = verdict(policies, namespaces, src, dst, target.port, target.protocol)
            table.record(src.key, dst.key, result.allowed)
            table.reasons[(src.key, dst.key)] = result.reason
    return table


def observed(pods: Iterable[str], target: Target) -> Table:
    """An empty table to fill with `record` as probe results come in; unfilled cells read None."""
    return Table(tuple(pods), target)


@dataclass(frozen=True)
class Mismatch:
    src: str
    dst: str
    expected: bool | None   # None: no defined verdict
    observed: bool | None
    why: str        # the engine's reason for the expected verdict


@dataclass(frozen=True)
class Diff:
    expected: Table
    observed: Table
    mismatches: tuple[Mismatch, ...]
    loopback: tuple[Mismatch, ...]      # differences on the diagonal, reported but not counted
    undefined: tuple[Mismatch, ...] = ()  # cells without a defined verdict: what was observed there

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def mark(self, src: str, dst: str) -> str:
        if src == dst or self.expected.get(src, dst) is None:
            return NOT_JUDGED
        return DIFFERENT if self.expected.get(src, dst) != self.observed.get(src, dst) else SAME


def diff(expected_table: Table, observed_table: Table) -> Diff:
    if expected_table.pods != observed_table.pods or expected_table.target != observed_table.target:
        raise ValueError(f"tables differ in shape: {expected_table.target} {expected_table.pods} "
                         f"vs {observed_table.target} {observed_table.pods}")
    judged, loopback, undefined = [], [], []
    for src in expected_table.pods:
        for dst in expected_table.pods:
            want, got = expected_table.get(src, dst), observed_table.get(src, dst)
            miss = Mismatch(src, dst, want, got, expected_table.reasons.get((src, dst), ""))
            if want is None and src != dst:
                undefined.append(miss)
            elif want != got:
                (loopback if src == dst else judged).append(miss)
    return Diff(expected_table, observed_table, tuple(judged), tuple(loopback), tuple(undefined))


# --- rendering -----------------------------------------------------------------------------

def rows(pods: Sequence[str], mark) -> list[str]:
    """One string of marks per from-pod, in pod order (the JSON form)."""
    return ["".join(mark(src, dst) for dst in pods) for src in pods]


def grid(pods: Sequence[str], mark) -> str:
    """An aligned text matrix: from-pods down the side, to-pods across the top."""
    width = max(len(p) for p in pods)
    lines = [" " * width + " " + " ".join(p.center(width) for p in pods)]
    for src in pods:
        lines.append(src.ljust(width) + " " + " ".join(mark(src, dst).center(width) for dst in pods))
    return "\n".join(line.rstrip() for line in lines)


def render(table: Table, marks: dict = MARKS) -> str:
    return grid(table.pods, lambda src, dst: marks[table.get(src, dst)])


def render_diff(result: Diff) -> str:
    return grid(result.expected.pods, result.mark)


def report(result: Diff) -> str:
    """Expected, observed and difference one under the other, then each mismatch with its reason."""
    target = result.expected.target
    undefined = f", {EXPECTED_MARKS[None]} no defined verdict" if result.undefined else ""
    parts = [f"{target} expected ({MARKS[True]} allowed, {MARKS[False]} denied{undefined})",
             render(result.expected, EXPECTED_MARKS),
             f"{target} observed ({MARKS[None]} no answer)", render(result.observed),
             f"{target} difference ({DIFFERENT} differs, {NOT_JUDGED} loopback{' or undefined' if undefined else ''}, not judged)", render_diff(result)]
    for miss in result.mismatches:
        parts.append(f"{miss.src} -> {miss.dst}: expected {word(miss.expected)}, "
                     f"observed {word(miss.observed)}: {miss.why}")
    for cell in result.undefined:
        parts.append(f"{cell.src} -> {cell.dst}: no defined verdict, observed {word(cell.observed)}: {cell.why}")
    return "\n".join(parts)


def word(value: bool | None) -> str:
    return {True: "allowed", False: "denied", None: "no answer"}[value]


def where(diffs: Sequence[Diff], most: int = 4) -> str:
    """Where the judged cells of `diffs` differ, grouped so a narrow fault reads as one: "to z/c
    81/TCP from every other pod: expected allowed, observed denied", and how many cells were as
    expected. Empty when none differ."""
    groups: dict[tuple, list[str]] = {}
    judged = 0
    for d in diffs:
        judged += sum(1 for src in d.expected.pods for dst in d.expected.pods if src != dst)
        for m in d.mismatches:
            groups.setdefault((m.dst, str(d.expected.target), m.expected, m.observed), []).append(m.src)
    if not groups:
        return ""
    parts = []
    for (dst, target, want, got), sources in list(groups.items())[:most]:
        others = len(diffs[0].expected.pods) - 1
        who = "every other pod" if len(sources) == others else ", ".join(sources)
        parts.append(f"to {dst} {target} from {who}: expected {word(want)}, observed {word(got)}")
    if len(groups) > most:
        parts.append(f"{len(groups) - most} more group(s)")
    bad = sum(len(v) for v in groups.values())
    return f"{bad} of {judged} cells differ: " + "; ".join(parts) + f"; the other {judged - bad} as expected"


def to_json(result: Diff) -> dict:
    """For summary.json: the three matrices as rows of marks, and the mismatches with reasons."""
    pods = result.expected.pods
    found = {
        "target": str(result.expected.target),
        "pods": list(pods),
        "expected": rows(pods, lambda src, dst: EXPECTED_MARKS[result.expected.get(src, dst)]),
        "observed": rows(pods, lambda src, dst: MARKS[result.observed.get(src, dst)]),
        "difference": rows(pods, result.mark),
        "mismatches": len(result.mismatches),
        "loopback_differences": len(result.loopback),
        "cells": [{"from": m.src, "to": m.dst, "expected": word(m.expected), "observed": word(m.observed), "why": m.why}
                  for m in result.mismatches],
    }
    if result.undefined:   # cells without a defined verdict: what this implementation did there
        found["undefined"] = [{"from": c.src, "to": c.dst, "observed": word(c.observed), "why": c.why} for c in result.undefined]
    return found
