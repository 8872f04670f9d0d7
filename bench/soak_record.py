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
from cnimatrix.results.metrics import HostLoad, RunMetrics  # noqa: E402
from cnimatrix.results.soak import SoakRecord  # noqa: E402

OUT = REPO / "bench" / "results" / "soak.jsonl"


def _mean(values: list) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 1) if known else None


def _summary_load(path: Path) -> float | None:
    """The mean 1-minute load a run's summary.json recorded (not validated: any summary will do)."""
    doc = json.loads(path.read_text())
    return (RunMetrics.from_dict(doc.get("metrics")).host or HostLoad()).load_1m_mean


def run_loads(record: SoakRecord, folder: Path | None) -> list:
    """Each run's mean 1-minute load: from soak.json, else (older soaks) from the run's own summary."""
    loads = []
    for run in record.per_run or []:
        load = (run.host_load_1m or [None])[0]
        summary = folder / "soak" / f"run-{run.run or 0:02d}" / "summary.json" if folder else None
        if load is None and summary is not None and summary.is_file():
            load = _summary_load(summary)
        loads.append(load)
    return loads


def line(record: SoakRecord, source: str, folder: Path | None = None) -> dict:
    figures = soak.entry(record.cni or "?", record)
    seconds = [r.seconds for r in record.per_run or [] if r.seconds is not None]
    return {"when": record.started_at, "source": source, "cni": record.cni,
            "suites": sorted({row.suite or "?" for row in (record.scenarios or {}).values()}),
            "runs_planned": record.runs_planned, "runs_done": record.runs_done, "stopped_by": record.stopped_by,
            "run_s": [round(statistics.median(seconds), 1), min(seconds), max(seconds)] if seconds else None,
            "host_load_1m_mean": _mean(run_loads(record, folder)),
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
        record, warning = soak.read(Path(folder))
        if record is None:
            print(f"soak_record: {warning or f'{folder}: no soak.json'}", file=sys.stderr)
            return 2
        lines.append(line(record, args.source, Path(folder)))
    with OUT.open("a") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in lines)
    print(f"appended {len(lines)} line(s) to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
