"""Signals around the child processes a run starts: Ctrl-C or SIGTERM stops the checks before the
suites start, and is passed on exactly once to the pytest (or `cnimatrix run`) running them."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def stop_early(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_stoppable(cmd: list[str], started=None) -> int:
    """Run the suites in their own session and pass on the first Ctrl-C or SIGTERM exactly once:
    pytest then stops, tears the cluster down and writes what finished. Further signals are
    ignored until it has cleaned up, so a second Ctrl-C cannot cut the cleanup short (a SIGKILL
    still can; the next run or `make clean` removes what that leaves). Exit 130/143 when stopped."""
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, start_new_session=True)
    if started is not None:
        started(proc.pid)
    received: list[int] = []

    def forward(signum, frame):
        if not received:
            print(f"\ncnimatrix: {signal.Signals(signum).name}: stopping, deleting the cluster and writing the results ...",
                  file=sys.stderr, flush=True)
            proc.send_signal(signum)
        received.append(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        print(f"cnimatrix: stopped by {signal.Signals(received[0]).name}", file=sys.stderr)
        return 128 + received[0]
    return code


def run_many(jobs: list[tuple[str, list[str], Path]], limit: int, say=print
             ) -> tuple[dict[str, int], int | None, dict[str, float]]:
    """Run (name, command, log file) jobs, up to `limit` at once, each in its own session writing to
    its log; a line when each starts and ends. The first Ctrl-C or SIGTERM is passed once to every
    running job and no further job starts. Returns the exit code of every job that ran, the signal
    received (None when none was), and the seconds each job that ran took."""
    pending, running, codes, took, received = list(jobs), {}, {}, {}, []

    def forward(signum, frame):
        if not received:
            print(f"\ncnimatrix: {signal.Signals(signum).name}: stopping {', '.join(running) or 'nothing'}; "
                  "no further CNI starts", file=sys.stderr, flush=True)
            for proc, _, _, _ in running.values():
                proc.send_signal(signum)
        received.append(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while pending or running:
            while pending and len(running) < limit and not received:
                name, cmd, log = pending.pop(0)
                log.parent.mkdir(parents=True, exist_ok=True)
                handle = log.open("w")
                proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
                running[name] = (proc, handle, log, time.monotonic())
                say(f"[{name}] started; output in {log}")
            for name, (proc, handle, log, began) in list(running.items()):
                code = proc.poll()
                if code is None:
                    continue
                handle.close()
                codes[name], took[name] = code, time.monotonic() - began
                del running[name]
                say(f"[{name}] exit {code} after {took[name] / 60:.1f} min: {log_tail(log)}")
            if pending and received and not running:
                break
            time.sleep(0.5)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return codes, (received[0] if received else None), took


def last_line(text: str) -> str:
    """The last non-empty line of a command's output (what it said last)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def log_tail(path: Path) -> str:
    """The last non-empty line of a log file, capped."""
    try:
        return last_line(path.read_text(errors="replace"))[:300]
    except OSError:
        return "no output"
