"""Repeated runs in the comparison: tools/soak.py's reports/<cni>/soak.json, one entry per column.

A soak runs the suites N times on one healthy cluster; what matters to someone choosing a CNI is
how often a scenario needed retries (flaky) or failed outright on a cluster that was fine. A
column without a soak record says so ("no soak recorded"), never a zero that reads as measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cnimatrix.results.soak import COUNTS, SoakRecord, SoakScenario, problem
from cnimatrix.results.text import one_line

SOAK = "soak.json"
NOT_RECORDED = "no soak recorded"
LISTED = 20      # scenarios listed per column and kind; the rest are counted
MESSAGE_LIMIT = 200


def read(folder: Path) -> tuple[SoakRecord | None, str | None]:
    """(the soak record, None), (None, a one-line warning) when it is unusable, or (None, None)
    when there is none."""
    path = folder / SOAK
    if not path.is_file():
        return None, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{path}: unreadable soak record, left out ({' '.join(str(exc).split())[:120]})"
    why = problem(doc)
    if why:
        return None, f"{path}: not a soak record ({why}), left out"
    return SoakRecord.from_dict(doc), None


def _first_failure(row: SoakScenario) -> str:
    return one_line(row.failures[0].message or "", MESSAGE_LIMIT) if row.failures else ""


def entry(column: str, record: SoakRecord | None) -> dict[str, Any]:
    """One column's soak figures. flake_rate: flaky scenario-runs over those that passed at all
    (first time or after retries); null when nothing passed."""
    if record is None:
        return {"column": column, "recorded": False, "note": NOT_RECORDED, "runs_planned": None, "runs_done": None,
                "stopped_by": None, "started_at": None, "finished_at": None, "scenarios": None, "totals": None,
                "flake_rate": None, "flaky": [], "failing": [], "more_flaky": 0, "more_failing": 0}
    rows = record.scenarios or {}
    totals = {k: sum(getattr(row, k) for row in rows.values()) for k in COUNTS}
    passed_at_all = totals["passed"] + totals["flaky"]
    flaky = [{"id": name, "title": row.title or name, "flaky": row.flaky, "runs": row.runs}
             for name, row in sorted(rows.items()) if row.flaky]
    failing = [{"id": name, "title": row.title or name, "failed": row.failed, "runs": row.runs,
                "first_failure": _first_failure(row)}
               for name, row in sorted(rows.items()) if row.failed]
    flaky.sort(key=lambda r: -r["flaky"])
    failing.sort(key=lambda r: -r["failed"])
    return {"column": column, "recorded": True, "note": "", "runs_planned": record.runs_planned,
            "runs_done": record.runs_done, "stopped_by": record.stopped_by,
            "started_at": record.started_at, "finished_at": record.finished_at,
            "scenarios": len(rows), "totals": totals,
            "flake_rate": round(totals["flaky"] / passed_at_all, 4) if passed_at_all else None,
            "flaky": flaky[:LISTED], "failing": failing[:LISTED],
            "more_flaky": max(0, len(flaky) - LISTED), "more_failing": max(0, len(failing) - LISTED)}


def section(columns: Sequence[str], records: Sequence[SoakRecord | None]) -> list[dict[str, Any]]:
    return [entry(column, record) for column, record in zip(columns, records)]


# --------------------------------------------------------------------------- presentation


def rows(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(label, one text per column) for both renderings; empty when no column has a soak."""
    if not any(e["recorded"] for e in entries):
        return []

    def each(fn) -> list[str]:
        return [fn(e) if e["recorded"] else (NOT_RECORDED if fn is runs else "—") for e in entries]

    def runs(e) -> str:
        stopped = f", stopped early by {e['stopped_by']}" if e["stopped_by"] else ""
        return f"{e['runs_done']} of {e['runs_planned']}{stopped}"

    def listing(items: list, key: str, more: int) -> str:
        text = "; ".join(f"{i['title']} ({i[key]}/{i['runs']})" for i in items) or "none"
        return text + (f"; and {more} more" if more else "")

    return [
        ("Runs done", each(runs)),
        ("Scenarios", each(lambda e: str(e["scenarios"]))),
        ("Scenario-runs: passed / flaky / failed / skipped / not run",
         each(lambda e: " / ".join(str(e["totals"][k]) for k in COUNTS))),
        ("Flake rate (flaky / passed at all)",
         each(lambda e: "—" if e["flake_rate"] is None else f"{100 * e['flake_rate']:.1f}%")),
        ("Flaky scenarios (flaky/runs)", each(lambda e: listing(e["flaky"], "flaky", e["more_flaky"]))),
        ("Failing scenarios (failed/runs)", each(lambda e: listing(e["failing"], "failed", e["more_failing"]))),
    ]


NOTE = ("From tools/soak.py (reports/<cni>/soak.json): the suites run N times on one healthy cluster. "
        "Flaky means passed after retries; a failure on a healthy cluster is a false verdict to explain.")
