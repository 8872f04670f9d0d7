"""Where each run's time went (summary.json `metrics.timeline`), one entry per column, and the
colour every phase gets on the page (the same phase, the same colour, whichever CNI).

A column without a timeline (an older summary, no summary) says "not recorded", never a zero. When
no column has one, the comparison has no `timeline` section at all, so comparisons of older
summaries stay as they were.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.results import SUITES
from cnimatrix.results.metrics import Timeline

NOT_RECORDED = "not recorded"
PARTS = ("setup", "convergence waits", "checks", "teardown")
# run-level phases in greys (the suites take the colours); other the lightest
RUN_COLOURS = {"cluster_create": "#24292f", "images_load": "#57606a", "cni_ready": "#6e7781", "addons_ready": "#8c959f",
               "cluster_delete": "#424a53", "other": "#d0d7de"}
SUITE_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f")
# how far a suite's part is lightened towards white: its waits in full colour
PART_LIGHTEN = {"convergence waits": 0.0, "checks": 0.35, "setup": 0.6, "teardown": 0.8}
UNKNOWN_COLOUR = "#afb8c1"
NOTE = ("metrics.timeline: the run-level phases (timings_s), then per suite its tests' fixture set-up, their time "
        "inside settle/expect (convergence waits), the rest of their calls (checks) and their teardown, from "
        "pytest's own durations with the run-level phases that ran inside them taken out; other is what no phase "
        "covers (collection, reporting, evidence). The phases add up to the run's wall time. Beside the tests: "
        "work that ran in the background meanwhile (--concurrency above 1: the add-ons, the NetworkPolicy suite's "
        "set-up and cases), drawn as a thin strip under the bar where it ran; the tests waited for it only where "
        "they needed it.")


def _lighten(colour: str, share: float) -> str:
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * share):02x}" for c in rgb)


def colour(name: str) -> str:
    """A phase's colour: a grey per run-level phase; a suite's hue, lighter for set-up and teardown."""
    if name in RUN_COLOURS:
        return RUN_COLOURS[name]
    suite, _, part = name.partition(": ")
    if suite in SUITES and part in PART_LIGHTEN:
        return _lighten(SUITE_COLOURS[SUITES.index(suite) % len(SUITE_COLOURS)], PART_LIGHTEN[part])
    return UNKNOWN_COLOUR


BESIDE = "beside the tests: "   # row label prefix of background work (metrics.timeline.background)
BACKGROUND_COLOUR = "#8250df"


def entry(column: str, record: Timeline | None) -> dict[str, Any]:
    """One column's timeline: its phases in run order, their total, each suite's probe rounds, and the
    work that ran beside the tests (when it ran, how long)."""
    if record is None or not record.phases or record.total_s is None:
        return {"column": column, "recorded": False, "total_s": None, "phases": [], "rounds": {}, "background": []}
    phases = [{"name": p.name, "seconds": p.seconds} for p in record.phases if p.name is not None and p.seconds is not None]
    rounds = {suite: t.rounds for suite, t in (record.suites or {}).items() if t.rounds is not None}
    beside = [{"name": b.name, "started_s": b.started_s, "seconds": b.seconds} for b in record.background or []
              if b.name is not None and b.started_s is not None and b.seconds is not None]
    return {"column": column, "recorded": True, "total_s": record.total_s, "phases": phases, "rounds": rounds,
            "background": beside}


def section(columns: Sequence[str], records: Sequence[Timeline | None]) -> list[dict[str, Any]] | None:
    """comparison.json `timeline`: one entry per column, or None when no column recorded one."""
    entries = [entry(column, record) for column, record in zip(columns, records)]
    return entries if any(e["recorded"] for e in entries) else None


def phase_names(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every phase any column has, in the order they first come."""
    return list(dict.fromkeys(p["name"] for e in entries for p in e["phases"]))


def rows(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[float | None]]]:
    """(label, seconds per column) for the table: the total, every phase, each suite's probe rounds
    (label ending "probe rounds", counts). A column that recorded nothing has None throughout."""
    out: list[tuple[str, list[float | None]]] = [("Total", [e["total_s"] for e in entries])]
    for name in phase_names(entries):
        out.append((name, [next((p["seconds"] for p in e["phases"] if p["name"] == name), None) for e in entries]))
    suites = list(dict.fromkeys(s for e in entries for s in e["rounds"]))
    out += [(f"{suite}: probe rounds", [e["rounds"].get(suite) for e in entries]) for suite in suites]
    beside = list(dict.fromkeys(b["name"] for e in entries for b in e.get("background", [])))
    out += [(f"{BESIDE}{name}", [next((b["seconds"] for b in e.get("background", []) if b["name"] == name), None) for e in entries])
            for name in beside]
    return out
