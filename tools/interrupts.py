"""Interrupt `cnimatrix run` at random moments and count what it leaves behind.

Each trial starts `cnimatrix run --cni NAME --cluster cnimatrix-robust-test` in its own process group,
sends SIGINT or SIGTERM to that group (what a terminal's Ctrl-C or a CI runner's timeout does) after a
random delay, and checks: the run stopped within the deadline, exited 130/143, wrote summary.json
(once the suites had started), and left no cluster, helper container or run record of its cluster,
and no firewall rule once nothing else is on the kind network. A run that stops too late is killed,
counted, and its leftovers removed before the next trial. Only the tool's own cluster is touched.

    .venv/bin/python tools/interrupts.py --cni flannel --times 10 [--min-s 3 --max-s 240] [--seed 1]

The trials go to reports/<cni>/interrupts.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix.results.summary import rfc3339  # noqa: E402

CLUSTER = "cnimatrix-robust-test"
EXPECTED = {"SIGINT": 130, "SIGTERM": 143}


@dataclass(frozen=True)
class Snapshot:
    """What a run can leave on the host, for one cluster name."""

    cluster: bool
    helpers: tuple[str, ...]
    record: bool
    rule: bool
    others_on_network: int  # containers of other clusters on the kind network (the rule is theirs too)


def schedule(times: int, seed: int, min_s: float, max_s: float) -> list[tuple[str, float]]:
    """(signal, delay) per trial: signals alternate, delays are uniform in [min_s, max_s]."""
    rng = random.Random(seed)
    return [("SIGINT" if i % 2 == 0 else "SIGTERM", round(rng.uniform(min_s, max_s), 1)) for i in range(times)]


def leaks(after: Snapshot) -> list[str]:
    """What a stopped run left behind. The firewall rule counts only when nothing else is on the kind
    network: while other clusters run it is rightly theirs too."""
    found = []
    if after.cluster:
        found.append("cluster")
    found += [f"helper {name}" for name in after.helpers]
    if after.record:
        found.append("run record")
    if after.rule and after.others_on_network == 0:
        found.append("firewall rule")
    return found


def verdict(signal_name: str, code: int | None, stop_s: float | None, deadline_s: float, summary: dict | None,
            suites_started: bool, leaked: list[str]) -> list[str]:
    """Every way this trial fell short; empty when the interrupt was clean."""
    problems = []
    if code is None:
        problems.append(f"did not stop within {deadline_s:.0f} s")
    elif code != EXPECTED[signal_name]:
        problems.append(f"exit {code}, not {EXPECTED[signal_name]}")
    elif stop_s is not None and stop_s > deadline_s:
        problems.append(f"took {stop_s:.0f} s to stop")
    if suites_started and summary is None:
        problems.append("no summary.json")
    elif summary is not None and summary["run"]["status"] != "interrupted":
        problems.append(f"summary says {summary['run']['status']}, not interrupted")
    problems += [f"left {item}" for item in leaked]
    return problems


def snapshot(cluster: str) -> Snapshot:
    from cnimatrix.run import ownership
    from cnimatrix.cluster import guard
    from cnimatrix.cluster.kind import tool

    helpers = tuple(sorted(c for c, owner in ownership.helper_containers().items() if owner == cluster))
    on_network = subprocess.run(["docker", "network", "inspect", "kind", "--format",
                                 "{{range .Containers}}{{.Name}} {{end}}"], capture_output=True, text=True).stdout.split()
    bridge = guard.bridge_of("kind")
    rule = bridge is not None and subprocess.run(["iptables", "-C", *guard.rule(bridge)], capture_output=True).returncode == 0
    return Snapshot(cluster=cluster in ownership.kind_clusters(str(tool("kind"))), helpers=helpers,
                    record=(ownership.runs_dir() / f"{cluster}.json").exists(), rule=rule,
                    others_on_network=len([n for n in on_network if not n.startswith(f"{cluster}-")]))


def trial(cni: str, cluster: str, signal_name: str, delay_s: float, deadline_s: float, out: Path) -> dict:
    (out / "summary.json").unlink(missing_ok=True)
    log = out.parent / f"{out.name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "cnimatrix", "run", "--cni", cni, "--cluster", cluster, "--out", str(out)],
                                cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=delay_s)
            return {"signal": signal_name, "delay_s": delay_s, "finished_before_signal": True, "exit": code}
        except subprocess.TimeoutExpired:
            pass
        os.killpg(proc.pid, signal.Signals[signal_name])
        sent = time.monotonic()
        try:
            code, stop_s = proc.wait(timeout=deadline_s), round(time.monotonic() - sent, 1)
        except subprocess.TimeoutExpired:
            code, stop_s = None, None
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text(errors="replace")
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else None
    started = "suite(s) on" in text  # `cnimatrix run` says so once the checks passed and pytest starts
    leaked = leaks(snapshot(cluster))
    return {"signal": signal_name, "delay_s": delay_s, "finished_before_signal": False, "exit": code, "stop_s": stop_s,
            "suites_started": started, "summary": summary["run"] if summary else None,
            "phase": last_progress(text), "leaks": leaked,
            "problems": verdict(signal_name, code, stop_s, deadline_s, summary, started, leaked)}


def last_progress(text: str) -> str:
    """Where the run was when the signal came: its last progress line before the stop message."""
    before = text.split("cnimatrix: SIG", 1)[0].split("cnimatrix: stopped by", 1)[0]
    marks = ("[cluster]", " • ", "cnimatrix: running", "suites/")
    lines = [line.strip() for line in before.splitlines() if line.startswith(marks)]
    return lines[-1][:160] if lines else "preflight"


def cleanup(cluster: str) -> str:
    from cnimatrix.run import ownership
    from cnimatrix.cluster.kind import tool

    helpers = [c for c, owner in ownership.helper_containers().items() if owner == cluster]
    return ownership.remove(ownership.Leftovers(clusters=[cluster] if cluster in ownership.kind_clusters(str(tool("kind"))) else [],
                                      helpers=helpers, records=[cluster]), str(tool("kind")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tools/interrupts.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cni", required=True)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--min-s", type=float, default=3.0, help="earliest signal, seconds after the start")
    parser.add_argument("--max-s", type=float, default=240.0, help="latest signal")
    parser.add_argument("--deadline-s", type=float, default=90.0, help="time a run gets to stop after the signal")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--cluster", default=CLUSTER)
    args = parser.parse_args(argv)
    base = REPO / "reports" / args.cni
    trials = []
    started_at = rfc3339()
    for index, (name, delay) in enumerate(schedule(args.times, args.seed, args.min_s, args.max_s), 1):
        print(f"interrupts: trial {index}/{args.times}: {name} after {delay} s", flush=True)
        result = trial(args.cni, args.cluster, name, delay, args.deadline_s, base / "interrupts" / f"trial-{index:02d}")
        trials.append(result)
        if result["finished_before_signal"]:
            print(f"interrupts: trial {index}: finished (exit {result['exit']}) before the signal; not counted", flush=True)
        else:
            print(f"interrupts: trial {index}: exit {result['exit']} in {result['stop_s']} s at '{result['phase']}': "
                  + ("; ".join(result["problems"]) or "clean"), flush=True)
        if result.get("leaks") or result.get("exit") is None:
            print(f"interrupts: {cleanup(args.cluster) or 'nothing to remove'} before the next trial", flush=True)
    counted = [t for t in trials if not t["finished_before_signal"]]
    doc = {"cni": args.cni, "cluster": args.cluster, "seed": args.seed, "started_at": started_at, "finished_at": rfc3339(),
           "interrupts": len(counted), "clean": sum(1 for t in counted if not t["problems"]),
           "leaks": sum(len(t["leaks"]) for t in counted), "trials": trials}
    path = base / "interrupts.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"interrupts: {args.cni}: {doc['interrupts']} interrupts, {doc['clean']} clean, {doc['leaks']} leaks -> {path}")
    return 0 if doc["clean"] == doc["interrupts"] else 1


if __name__ == "__main__":
    sys.exit(main())
