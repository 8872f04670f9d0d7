"""Repeated runs on one healthy cluster: per scenario, how often it passed, passed only after
retries (flaky), failed, was skipped or did not run. On a healthy cluster every failure is a false
failure (or a real bug); the goal is none in 20 runs on every CNI.

    .venv/bin/python tools/soak.py --cni calico --runs 20 [--suite dns ...] [-k EXPR] [--keep]
    .venv/bin/python tools/soak.py --cni calico --runs 20 --kubeconfig PATH   # a cluster you made

Without --kubeconfig the first run creates the cluster `cnimatrix-soak-<cni>` and keeps it; the
others reuse it (`--kubeconfig ... --cluster ...`), node-level scenarios and outside clients included;
only the Ingress/Gateway add-ons are installed in the first run alone, so those suites skip after it.
The soak holds the cluster's run record, so no other run or `make clean` removes it meanwhile; it is
deleted at the end unless --keep. Each run's reports go to reports/<cni>/soak/run-NN/, the tally to
reports/<cni>/soak.json. Ctrl-C or SIGTERM stops the current run the usual way and writes the tally of
the runs so far.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix.results.summary import rfc3339  # noqa: E402
from cnimatrix.run.cli import positive_int  # noqa: E402

FAILED = ("failed", "error")
SKIPPED = ("skipped", "not-enforced")


def tally(summaries: list[dict]) -> dict:
    """Per scenario and in total: passes (first time), flaky passes, failures, skips, not run,
    with the first line of each distinct failure message (at most three per scenario)."""
    scenarios: dict[str, dict] = {}
    for index, summary in enumerate(summaries, 1):
        for test in summary.get("tests", []):
            row = scenarios.setdefault(test["id"], {"suite": test["suite"], "title": test["title"], "runs": 0, "passed": 0,
                                                    "flaky": 0, "failed": 0, "skipped": 0, "not_run": 0, "failures": []})
            row["runs"] += 1
            outcome = test["outcome"]
            if outcome == "passed":
                row["flaky" if test.get("flaky") else "passed"] += 1
            elif outcome in FAILED:
                row["failed"] += 1
                line = (test.get("message") or outcome).splitlines()[0][:200]
                if len(row["failures"]) < 3 and all(f["message"] != line for f in row["failures"]):
                    row["failures"].append({"run": index, "message": line})
            elif outcome in SKIPPED:
                row["skipped"] += 1
            else:
                row["not_run"] += 1
    totals = {key: sum(row[key] for row in scenarios.values()) for key in ("passed", "flaky", "failed", "skipped", "not_run")}
    return {"scenarios": dict(sorted(scenarios.items())), "totals": totals,
            "flaky_scenarios": sorted(k for k, r in scenarios.items() if r["flaky"]),
            "failing_scenarios": sorted(k for k, r in scenarios.items() if r["failed"])}


def run_line(index: int, summary: dict | None, code: int, seconds: float) -> dict:
    if summary is None:
        return {"run": index, "exit": code, "seconds": round(seconds, 1), "status": "no summary"}
    host = summary.get("metrics", {}).get("host") or {}  # a failure under a starved host reads differently
    return {"run": index, "exit": code, "seconds": round(seconds, 1), "status": summary["run"]["status"],
            "reason": summary["run"]["reason"], "counts": summary["counts"],
            "host_load_1m": [host.get("load_1m_mean"), host.get("load_1m_max")]}


def report(cni: str, cluster: str, planned: int, per_run: list[dict], summaries: list[dict], started_at: str,
           stopped: str | None, concurrency: int | None = None) -> dict:
    return {"cni": cni, "cluster": cluster, "runs_planned": planned, "runs_done": len(per_run), "started_at": started_at,
            "finished_at": rfc3339(), "stopped_by": stopped, "concurrency": concurrency, "per_run": per_run, **tally(summaries)}


def soak(args) -> int:
    from cnimatrix.run import ownership
    from cnimatrix.run.process import run_stoppable
    from cnimatrix.cluster.kind import tool

    base = REPO / "reports" / args.cni
    cluster = args.cluster or f"cnimatrix-soak-{args.cni}"
    kubeconfig = args.kubeconfig
    selection = [x for s in args.suite or [] for x in ("--suite", s)] + (["-k", args.k] if args.k else [])
    selection += ["--concurrency", str(args.concurrency)] if args.concurrency else []
    per_run, summaries, stopped, held = [], [], None, None
    started_at = rfc3339()
    signalled = {130: "SIGINT", 143: "SIGTERM"}
    try:
        for index in range(1, args.runs + 1):
            out = base / "soak" / f"run-{index:02d}"
            (out / "summary.json").unlink(missing_ok=True)
            cmd = [sys.executable, "-m", "cnimatrix", "run", "--cni", args.cni, "--out", str(out), *selection]
            cmd += ["--kubeconfig", kubeconfig] if kubeconfig else ["--keep"]
            cmd += ["--cluster", cluster] if args.kubeconfig is None else []
            print(f"soak: run {index}/{args.runs} on {kubeconfig or cluster}", flush=True)
            began = time.monotonic()
            code = run_stoppable(cmd)
            summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else None
            per_run.append(run_line(index, summary, code, time.monotonic() - began))
            if summary is not None:
                summaries.append(summary)
            print(f"soak: run {index}: exit {code}, {per_run[-1].get('counts', per_run[-1]['status'])}", flush=True)
            if code in signalled:
                stopped = signalled[code]
                break
            if kubeconfig is None:
                made = out / "cluster" / "kubeconfig"
                if summary is None or summary["cluster"]["nodes"] == 0 or not made.is_file():
                    print("soak: the first run did not bring a cluster up; stopping", file=sys.stderr)
                    break
                kubeconfig = str(made)
                held = ownership.claim(cluster, args.cni, keep=True, command="tools/soak.py")  # live while the soak runs
    finally:
        if held is not None and not args.keep:
            kind = str(tool("kind"))
            helpers = [c for c, owner in ownership.helper_containers().items() if owner == cluster]
            print(f"soak: {ownership.remove(ownership.Leftovers(clusters=[cluster], helpers=helpers, records=[cluster]), kind)}")
        elif held is not None:
            ownership.finish(held)
            print(f"soak: kept cluster {cluster}; kubeconfig {kubeconfig}")
        doc = report(args.cni, cluster if args.kubeconfig is None else "existing", args.runs, per_run, summaries, started_at, stopped,
                     args.concurrency)
        path = base / "soak.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1) + "\n")
        t = doc["totals"]
        print(f"soak: {args.cni}: {doc['runs_done']}/{args.runs} runs, {t['passed']} passes, {t['flaky']} flaky passes "
              f"({len(doc['flaky_scenarios'])} scenarios), {t['failed']} failures ({len(doc['failing_scenarios'])} scenarios), "
              f"{t['skipped']} skipped, {t['not_run']} not run -> {path}")
    if stopped:
        return 130 if stopped == "SIGINT" else 143
    return 1 if doc["totals"]["failed"] or len(summaries) < args.runs else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tools/soak.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cni", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kubeconfig", help="soak this existing cluster instead of creating one")
    parser.add_argument("--cluster", help="kind cluster name (default cnimatrix-soak-<cni>)")
    parser.add_argument("--suite", action="append", help="only this suite (repeatable)")
    parser.add_argument("-k", help="pytest -k expression")
    parser.add_argument("--keep", action="store_true", help="keep the cluster afterwards")
    parser.add_argument("--concurrency", type=positive_int, default=None,
                        help="passed to every run (1: one scenario at a time, the serial baseline; default: the run's own)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    from cnimatrix import cni as cni_catalog

    try:
        cni_catalog.load(args.cni)
    except (cni_catalog.UnknownCni, cni_catalog.CniDataError) as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
