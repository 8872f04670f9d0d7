"""Append the perf suite's figures of one or more runs to bench/results/perf.jsonl.

    .venv/bin/python bench/perf_record.py reports/flannel/summary.json [more summary.json ...] [--source TEXT] [--quiet-host]

One line per summary: the CNI, the suite's wall time, how busy the host was, every route's
ratios to the host network (median, min, max), their 95% intervals and plausibility marks, the
load through the datapath phase, the cost totals and the growth curves. --quiet-host says the run
followed the quiet-host protocol (bench/README.md): nothing else on the host. Its figures keep the
marks the suite gave them: a CNI whose own pods and the measurement load the host past its limit
is marked noisy even alone, and says so (a run without load samples is refused: nothing shows it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix.compare.perf import cost_groups  # noqa: E402
from cnimatrix.perf.growth import CURVES  # noqa: E402
from cnimatrix.results import read_summary  # noqa: E402
from cnimatrix.results.metrics import Datapath, GrowthCurve, PerfMetrics, RunMetrics  # noqa: E402

OUT = REPO / "bench" / "results" / "perf.jsonl"


class NotQuiet(Exception):
    pass


def line(summary: dict, source: str, quiet_host: bool = False) -> dict:
    perf = RunMetrics.from_dict(summary["metrics"]).perf or PerfMetrics()
    datapath = perf.datapath or Datapath()
    ratios = {route: {figure: [s.median, s.min, s.max] for figure, s in figures.ratios.items()}
              for route, figures in (datapath.routes or {}).items() if figures.ratios}
    intervals = {route: {figure: [s.ci95.low, s.ci95.high] for figure, s in figures.ratios.items() if s.ci95}
                 for route, figures in (datapath.routes or {}).items() if figures.ratios}
    marks = {route: {figure: sorted({m.kind for m in s.marks}) for figure, s in figures.ratios.items() if s.marks}
             for route, figures in (datapath.routes or {}).items() if figures.ratios}
    load = datapath.load.to_dict() if datapath.load else None
    if quiet_host and (not load or not load.get("samples")):
        raise NotQuiet(f"{summary['cni']['name']}: no load samples in its datapath phase: the protocol cannot be shown")
    growth = {}
    for curve in CURVES:
        record = (perf.growth or {}).get(curve.id) or GrowthCurve()
        growth[curve.id] = record.declared or {str(p.n): p.s for p in record.points or []}
    outcomes = {}
    for test in summary["tests"]:
        if test["suite"] == "perf":
            outcomes[test["outcome"]] = outcomes.get(test["outcome"], 0) + 1
    return {"when": summary["started_at"], "source": source, "cni": summary["cni"]["name"],
            "suite_s": perf.suite_s, "datapath_s": datapath.wall_s, "host": perf.host.to_dict() if perf.host else None,
            "outcomes": outcomes, "ratios": ratios, "ci95": {r: v for r, v in intervals.items() if v},
            "marks": {r: v for r, v in marks.items() if v}, "datapath_load": load, "quiet_host": quiet_host,
            "cost": cost_groups(perf), "growth": growth}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summaries", nargs="+")
    parser.add_argument("--source", default="cnimatrix run --suite perf")
    parser.add_argument("--quiet-host", action="store_true", help="the runs followed the quiet-host protocol")
    args = parser.parse_args()
    try:
        lines = [line(read_summary(path), args.source, args.quiet_host) for path in args.summaries]
    except NotQuiet as exc:
        print(f"perf_record: {exc}", file=sys.stderr)
        return 2
    for found in lines:
        noisy = sorted({f"{r}/{f}" for r, by in found["marks"].items() for f, kinds in by.items() if "noisy" in kinds})
        if noisy and args.quiet_host:
            print(f"perf_record: {found['cni']}: {len(noisy)} figures marked noisy although nothing else ran: the cluster "
                  "and the measurement alone loaded the host past its limit (recorded with the marks)", file=sys.stderr)
    with OUT.open("a") as out:
        for found in lines:
            out.write(json.dumps(found) + "\n")
    print(f"appended {len(args.summaries)} line(s) to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
