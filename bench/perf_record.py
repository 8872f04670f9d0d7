"""Append the perf suite's figures of one or more runs to bench/results/perf.jsonl.

    .venv/bin/python bench/perf_record.py reports/flannel/summary.json [more summary.json ...] [--source TEXT]

One line per summary: the CNI, the suite's wall time, how busy the host was, every route's
ratios to the host network (median, min, max), the cost totals and the growth curves.
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


def line(summary: dict, source: str) -> dict:
    perf = RunMetrics.from_dict(summary["metrics"]).perf or PerfMetrics()
    datapath = perf.datapath or Datapath()
    ratios = {route: {figure: [s.median, s.min, s.max] for figure, s in figures.ratios.items()}
              for route, figures in (datapath.routes or {}).items() if figures.ratios}
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
            "outcomes": outcomes, "ratios": ratios, "cost": cost_groups(perf), "growth": growth}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summaries", nargs="+")
    parser.add_argument("--source", default="cnimatrix run --suite perf")
    args = parser.parse_args()
    with OUT.open("a") as out:
        for path in args.summaries:
            out.write(json.dumps(line(read_summary(path), args.source)) + "\n")
    print(f"appended {len(args.summaries)} line(s) to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
