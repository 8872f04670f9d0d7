"""Signals around the child processes a run starts: Ctrl-C or SIGTERM stops the checks before the
suites start, and is passed on exactly once to the pytest (or `cnimatrix run`) running them."""
from __future__ import annotations

import signal
import subprocess
import sys
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
