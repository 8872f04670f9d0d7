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

SOAK = "soak.json"
NOT_RECORDED = "no soak recorded"
COUNTS = ("passed", "flaky", "failed", "skipped", "not_run")
LISTED = 20      # scenarios listed per column and kind; the rest are counted
MESSAGE_LIMIT = 200


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def problem(doc: Any) -> str | None:
    """Why `doc` is not a soak record this module can read, or None."""
    if not isinstance(doc, Mapping):
        return "not a JSON object"
    for key in ("runs_planned", "runs_done"):
        if not _count(doc.get(key)):
            return f"{key} is not a count"
    scenarios = doc.get("scenarios")
    if not isinstance(scenarios, Mapping):
        return "scenarios is not an object"
    for name, row in scenarios.items():
        if not isinstance(row, Mapping) or not all(_count(row.get(k)) for k in ("runs", *COUNTS)):
            return f"scenario {name!r} lacks its counts (runs, {', '.join(COUNTS)})"
    if doc.get("stopped_by") is not None and not isinstance(doc["stopped_by"], str):
        return "stopped_by is neither null nor a string"
    return None


def read(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
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
    return doc, None


def _first_line(text: Any) -> str:
    line = next((" ".join(p.split()) for p in str(text or "").splitlines() if p.strip()), "")
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


def _first_failure(row: Mapping[str, Any]) -> str:
    failures = row.get("failures")
    first = failures[0] if isinstance(failures, list) and failures else None
    return _first_line(first.get("message")) if isinstance(first, Mapping) else ""


def entry(column: str, doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """One column's soak figures. flake_rate: flaky scenario-runs over those that passed at all
    (first time or after retries); null when nothing passed."""
    if doc is None:
        return {"column": column, "recorded": False, "note": NOT_RECORDED, "runs_planned": None, "runs_done": None,
                "stopped_by": None, "started_at": None, "finished_at": None, "scenarios": None, "totals": None,
                "flake_rate": None, "flaky": [], "failing": [], "more_flaky": 0, "more_failing": 0}
    rows = doc["scenarios"]
    totals = {k: sum(row[k] for row in rows.values()) for k in COUNTS}
    passed_at_all = totals["passed"] + totals["flaky"]
    flaky = [{"id": name, "title": str(row.get("title") or name), "flaky": row["flaky"], "runs": row["runs"]}
             for name, row in sorted(rows.items()) if row["flaky"]]
    failing = [{"id": name, "title": str(row.get("title") or name), "failed": row["failed"], "runs": row["runs"],
                "first_failure": _first_failure(row)}
               for name, row in sorted(rows.items()) if row["failed"]]
    flaky.sort(key=lambda r: -r["flaky"])
    failing.sort(key=lambda r: -r["failed"])
    return {"column": column, "recorded": True, "note": "", "runs_planned": doc["runs_planned"],
            "runs_done": doc["runs_done"], "stopped_by": doc.get("stopped_by"),
            "started_at": doc.get("started_at"), "finished_at": doc.get("finished_at"),
            "scenarios": len(rows), "totals": totals,
            "flake_rate": round(totals["flaky"] / passed_at_all, 4) if passed_at_all else None,
            "flaky": flaky[:LISTED], "failing": failing[:LISTED],
            "more_flaky": max(0, len(flaky) - LISTED), "more_failing": max(0, len(failing) - LISTED)}


def section(columns: Sequence[str], docs: Sequence[Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    return [entry(column, doc) for column, doc in zip(columns, docs)]


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
