"""Whether two perf runs of one CNI agree within their intervals on every ratio (issue 30).

    .venv/bin/python bench/perf_agree.py reports/calico-a/summary.json reports/calico-b/summary.json [--record --source TEXT]

Prints a Markdown table (each ratio's median and 95% interval in both runs, agree/disagree) and exits
0 when every ratio both runs measured agrees, 1 otherwise; --record appends the outcome to
results/perf_agreement.jsonl.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix.compare.perf import spread_view  # noqa: E402
from cnimatrix.perf.agreement import agreed, pairs, table, tally  # noqa: E402
from cnimatrix.results import read_summary  # noqa: E402
from cnimatrix.results.metrics import Datapath, PerfMetrics, RunMetrics  # noqa: E402

OUT = REPO / "bench" / "results" / "perf_agreement.jsonl"


def ratios(summary: dict) -> dict[str, dict]:
    perf = RunMetrics.from_dict(summary["metrics"]).perf or PerfMetrics()
    routes = (perf.datapath or Datapath()).routes or {}
    return {route: {figure: view for figure, s in (figures.ratios or {}).items() if (view := spread_view(s))}
            for route, figures in routes.items() if figures.ratios}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--record", action="store_true", help="append the outcome to results/perf_agreement.jsonl")
    parser.add_argument("--source", default="", help="how the two runs were made (with --record)")
    args = parser.parse_args()
    first, second = read_summary(args.a), read_summary(args.b)
    if first["cni"]["name"] != second["cni"]["name"]:
        print(f"perf_agree: two CNIs ({first['cni']['name']}, {second['cni']['name']}); compare runs of one", file=sys.stderr)
        return 2
    found = pairs(ratios(first), ratios(second))
    if not found:
        print("perf_agree: neither summary has datapath ratios", file=sys.stderr)
        return 2
    print(table(found, (first["started_at"], second["started_at"])))
    counts = tally(found)
    print(f"\n{first['cni']['name']}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if args.record:
        with OUT.open("a") as out:
            out.write(json.dumps({"cni": first["cni"]["name"], "source": args.source,
                                  "runs": [first["started_at"], second["started_at"]], "counts": counts,
                                  "disagree": [[p.route, p.figure] for p in found if p.verdict == "disagree"],
                                  "pairs": {f"{p.route}/{p.figure}": [p.a, p.b] for p in found}}) + "\n")
    return 0 if agreed(found) else 1


if __name__ == "__main__":
    sys.exit(main())
