"""run.process.run_many: CNI runs side by side (real child processes, no cluster): at most `limit`
at once, each with its own log; a signal reaches every running one and no further one starts."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

from cnimatrix.run.process import run_many

# A job announces itself with a marker file, then waits for its peers' markers (at most 20 s), so two
# jobs that must overlap prove it by both finishing quickly, whatever the host's load; then it sleeps.
JOB = ("import os, sys, time; print('start', time.time(), flush=True); open(sys.argv[3], 'w').close(); "
       "deadline = time.time() + 20; peers = sys.argv[4:]\n"
       "while peers and not all(os.path.exists(p) for p in peers) and time.time() < deadline: time.sleep(0.02)\n"
       "time.sleep(float(sys.argv[1])); print('end', time.time()); sys.exit(int(sys.argv[2]))")


def job(tmp_path, name, sleep_s=0.4, code=0, peers=()):
    marker = lambda n: str(tmp_path / f"{n}.started")
    return name, [sys.executable, "-c", JOB, str(sleep_s), str(code), marker(name), *map(marker, peers)], tmp_path / name / "run.log"


def spans(tmp_path, names):
    out = {}
    for name in names:
        lines = dict(line.split() for line in (tmp_path / name / "run.log").read_text().splitlines())
        out[name] = (float(lines["start"]), float(lines["end"]))
    return out


def test_every_job_runs_with_its_exit_code_and_no_more_than_the_limit_at_once(tmp_path):
    said = []
    codes, stopped, took = run_many([job(tmp_path, "a", peers="b"), job(tmp_path, "b", code=3, peers="a"), job(tmp_path, "c")],
                                    2, say=said.append)
    assert codes == {"a": 0, "b": 3, "c": 0} and stopped is None
    assert set(took) == {"a", "b", "c"} and all(seconds >= 0.4 for seconds in took.values())
    s = spans(tmp_path, "abc")
    assert s["a"][0] < s["b"][1] and s["b"][0] < s["a"][1]        # a and b overlapped (each waited for the other)
    assert took["a"] < 15 and took["b"] < 15                      # ... and neither timed out waiting
    assert s["c"][0] >= min(s["a"][1], s["b"][1])                 # c waited for a free slot
    assert any(line.startswith("[b] exit 3") and "end" in line for line in said)


def test_a_limit_of_one_runs_them_in_turn(tmp_path):
    codes, _, _ = run_many([job(tmp_path, "a", 0.2), job(tmp_path, "b", 0.2)], 1, say=lambda line: None)
    s = spans(tmp_path, "ab")
    assert codes == {"a": 0, "b": 0} and s["b"][0] >= s["a"][1]


def test_a_signal_stops_the_running_jobs_and_starts_no_other(tmp_path):
    before = signal.getsignal(signal.SIGINT)     # ignored when the tests themselves run in the background (CI)
    threading.Timer(0.8, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    codes, stopped, _ = run_many([job(tmp_path, "a", 30), job(tmp_path, "b", 30), job(tmp_path, "c", 0.1)], 2,
                              say=lambda line: None)
    assert stopped == signal.SIGINT and set(codes) == {"a", "b"}       # c never started
    assert all(code != 0 for code in codes.values()) and time.monotonic() - started < 20
    assert signal.getsignal(signal.SIGINT) == before                       # handlers given back
