"""Append a soak's figures (tools/soak.py's reports/<cni>/soak.json) to bench/results/soak.jsonl.

    .venv/bin/python bench/soak_record.py reports/calico [more report folders ...] [--source TEXT]

One line per soak: the CNI, its suites, runs planned and done (and what stopped it), the wall time of
one run (median, min, max), scenario-runs by outcome, the flake rate, and the flaky and failing
scenarios with their counts (and a failure's first line). reports/ is not committed; this file is.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix.compare import soak  # noqa: E402

OUT = REPO / "bench" / "results" / "soak.jsonl"


def _mean(values: list) -> float | None:
    known = [v for v in values if isinstance(v, (int, float))]
    return round(statistics.fmean(known), 1) if known else None


def run_loads(doc: dict, folder: Path | None) -> list:
    """Each run's mean 1-minute load: from soak.json, else (older soaks) from the run's own summary."""
    loads = []
    for run in doc.get("per_run", []):
        load = (run.get("host_load_1m") or [None])[0]
        summary = folder / "soak" / f"run-{run.get('run', 0):02d}" / "summary.json" if folder else None
        if load is None and summary is not None and summary.is_file():
            load = (json.loads(summary.read_text()).get("metrics", {}).get("host") or {}).get("load_1m_mean")
        loads.append(load)
    return loads


def line(doc: dict, source: str, folder: Path | None = None) -> dict:
    figures = soak.entry(doc.get("cni", "?"), doc)
    seconds = [r["seconds"] for r in doc.get("per_run", []) if isinstance(r.get("seconds"), (int, float))]
    return {"when": doc.get("started_at"), "source": source, "cni": doc.get("cni"),
            "suites": sorted({row.get("suite", "?") for row in doc["scenarios"].values()}),
            "runs_planned": doc["runs_planned"], "runs_done": doc["runs_done"], "stopped_by": doc.get("stopped_by"),
            "run_s": [round(statistics.median(seconds), 1), min(seconds), max(seconds)] if seconds else None,
            "host_load_1m_mean": _mean(run_loads(doc, folder)),
            "scenarios": figures["scenarios"], "totals": figures["totals"], "flake_rate": figures["flake_rate"],
            "flaky": {r["id"]: r["flaky"] for r in figures["flaky"]},
            "failing": {r["id"]: [r["failed"], r["first_failure"]] for r in figures["failing"]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="reports/<cni> folders holding soak.json")
    parser.add_argument("--source", default="tools/soak.py")
    args = parser.parse_args()
    lines = []
    for folder in args.folders:
        doc, warning = soak.read(Path(folder))
        if doc is None:
            print(f"soak_record: {warning or f'{folder}: no soak.json'}", file=sys.stderr)
            return 2
        lines.append(line(doc, args.source, Path(folder)))
    with OUT.open("a") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in lines)
    print(f"appended {len(lines)} line(s) to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
