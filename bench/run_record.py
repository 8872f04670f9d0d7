"""Append a run's time, where it went, and its verdicts (a reports/<cni>/summary.json) to
bench/results/runs.jsonl: the before/after record of the speed work (issue 25).

    .venv/bin/python bench/run_record.py reports/calico/summary.json [...] --source TEXT

One line per run: the CNI, the commit, the suites, how many NetworkPolicy cases ran at once
(namespace sets), scenarios by outcome and the flaky ones, the wall time, metrics.timeline's phases
and per-suite parts, the host load and the cluster's footprint. reports/ is not committed; this file is.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results" / "runs.jsonl"


def line(summary: dict, source: str) -> dict:
    metrics = summary.get("metrics") or {}
    tests = summary.get("tests") or []
    timeline = metrics.get("timeline") or {}
    host = metrics.get("host") or {}
    return {
        "when": summary.get("started_at"), "source": source, "cni": (summary.get("cni") or {}).get("name"),
        "shape": {k: v for k, v in (summary.get("shape") or {}).items() if k != "untested"} or None,
        "commit": summary.get("cnimatrix_commit"), "run_status": (summary.get("run") or {}).get("status"),
        "suites": sorted({t.get("suite") for t in tests if t.get("suite")}),
        "namespace_sets": (metrics.get("netpol") or {}).get("namespace_sets", 1 if any(t.get("suite") == "netpol" for t in tests) else None),
        "outcomes": dict(Counter(t.get("outcome") for t in tests)),
        "flaky": sorted(t["id"].split("::", 1)[-1] for t in tests if t.get("flaky")),
        "failed": sorted(t["id"].split("::", 1)[-1] for t in tests if t.get("outcome") in ("failed", "error")),
        "wall_s": timeline.get("total_s"),
        "phases_s": {p["name"]: p["seconds"] for p in timeline.get("phases") or []},
        "suites_s": {name: round(sum(v for k, v in parts.items() if k.endswith("_s")), 1)
                     for name, parts in (timeline.get("suites") or {}).items()},
        "host": {k: host.get(k) for k in ("cpus", "load_1m_mean", "load_1m_max") if k in host},
        "cluster": host.get("cluster"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summaries", nargs="+", type=Path)
    parser.add_argument("--source", required=True, help="how the run was made (command, clone, what else ran)")
    args = parser.parse_args(argv)
    lines = []
    for path in args.summaries:
        try:
            lines.append(line(json.loads(path.read_text()), args.source))
        except (OSError, ValueError) as exc:
            print(f"run_record: {path}: {exc}", file=sys.stderr)
            return 2
    with OUT.open("a", encoding="utf-8") as out:
        for record in lines:
            out.write(json.dumps(record, sort_keys=False) + "\n")
    print(f"run_record: {len(lines)} line(s) appended to {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
