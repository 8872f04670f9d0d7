"""The MUX prober's deadlines (programs.MUX): what counts as a timeout, on real loopback sockets.
A TCP probe is denied only when its connection is not made within LIMIT (or is refused); a made
connection waits up to LIMIT for each part of the answer; an answer that arrived while the prober itself was
not running (descheduled on a loaded host) is read before any deadline is judged."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from cnimatrix.probe.outcomes import Outcome, classify_http, parse_lines
from cnimatrix.probe.programs import MUX
from tests.unit.perl_override import run_with

LIMIT_S = 1.0


class Server:
    """A TCP listener on loopback that answers each connection with 'pod-a' after `delay_s`
    (None: never answers), and sets `accepted` on its first connection."""

    def __init__(self, delay_s: float | None = 0.0, backlog: int = 8):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.delay_s, self.accepted, self.held = delay_s, threading.Event(), []
        self.target = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> Server:
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.set()
            self.held.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        conn.recv(4096)
        if self.delay_s is None:
            return
        time.sleep(self.delay_s)
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\npod-a")
        conn.close()

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def probe(target: str, pause_once_accepted: tuple[Server, float] | None = None) -> tuple:
    """One HTTP probe of `target` through MUX; optionally SIGSTOP the prober for a while as soon as
    the server has accepted its connection. Returns (outcome, reply, seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen(["sh", "-c", MUX.replace("LIMIT SPECS", f"{LIMIT_S:g} 't|{target}/hostname'")],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    if pause_once_accepted:
        server, pause_s = pause_once_accepted
        assert server.accepted.wait(10)
        os.killpg(proc.pid, signal.SIGSTOP)
        time.sleep(pause_s)
        os.killpg(proc.pid, signal.SIGCONT)
    out, _ = proc.communicate(timeout=30)
    (result,) = parse_lines(out, [f"{target}/hostname"], classify_http)
    return result.outcome, result.reply, time.monotonic() - started


@pytest.fixture
def servers():
    made = []
    yield made
    for server in made:
        server.close()


def test_an_answer_that_came_while_the_prober_was_stopped_is_an_answer(servers):
    server = Server(delay_s=0.0).serve()
    servers.append(server)
    outcome, reply, _ = probe(server.target, pause_once_accepted=(server, LIMIT_S + 0.5))
    assert (outcome, reply) == (Outcome.OK, "pod-a")


def test_a_made_connection_that_never_answers_still_times_out(servers):
    server = Server(delay_s=None).serve()
    servers.append(server)
    outcome, reply, took = probe(server.target)
    assert outcome is Outcome.TIMEOUT and "connected, then no answer" in reply
    assert took < 2 * LIMIT_S + 5


def test_a_connection_never_made_times_out_at_the_limit(servers):
    """A listener that never accepts, its queue full: the kernel drops the probe's SYNs, as a
    dropping policy does."""
    server = Server(backlog=0)   # not serving: nothing is accepted
    servers.append(server)
    fillers = []
    for _ in range(4):   # fill the accept queue (its length is backlog + 1, plus what is in flight)
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", int(server.target.rsplit(":", 1)[1])))
        fillers.append(filler)
    time.sleep(0.2)
    try:
        outcome, reply, took = probe(server.target)
    finally:
        for filler in fillers:
            filler.close()
    assert outcome is Outcome.TIMEOUT and f"timed out after {LIMIT_S:g} s" in reply
    assert LIMIT_S <= took < LIMIT_S + 5


def test_the_watch_loop_reads_an_answer_that_came_while_it_was_stopped(servers):
    """The 100 ms watch (timeline._WATCH) judges its deadlines after reading too: a watcher
    descheduled past its limit must not call an admitted packet's answer a timeout."""
    from cnimatrix.probe import timeline
    from cnimatrix.probe.timeline import WatchTarget, parse_watch

    server = Server(delay_s=0.0).serve()
    servers.append(server)
    script = timeline.watch_script([WatchTarget(f"{server.target}/hostname", "TCP", True)], interval_s=0.1,
                                   timeout_s=0.5, hold=3, deadline_s=10)
    proc = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert server.accepted.wait(10)
    os.killpg(proc.pid, signal.SIGSTOP)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGCONT)
    out, _ = proc.communicate(timeout=30)
    (samples,) = parse_watch(out, 1).samples
    assert samples and all(s.outcome is Outcome.OK for s in samples), [s.outcome for s in samples]


class LocalShell:
    """An Executor whose scripts run here: `http` exactly as a suite calls it, on loopback."""
    name = "local"

    def sh(self, script: str, timeout_s: float, on_line=None) -> str:
        return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=timeout_s).stdout


def test_http_sends_every_request_at_once_and_keeps_them_in_order(servers):
    """`probes.http` runs MUX in one exec: each target's own outcome, in the order asked, a refused
    port (nothing listening) apart from a silent one."""
    from cnimatrix.probe.probes import http

    quick, late, silent = (Server(delay_s=d).serve() for d in (0.0, 0.5, None))
    servers.extend([quick, late, silent])
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused = f"127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    targets = [f"{late.target}/hostname"] * 8 + [f"{quick.target}/hostname", f"{silent.target}/x", f"{refused}/x"]
    results = http(LocalShell(), targets, timeout_s=LIMIT_S)
    assert [r.outcome for r in results] == [Outcome.OK] * 9 + [Outcome.TIMEOUT, Outcome.REFUSED]
    assert [r.target for r in results] == targets and results[8].reply == "pod-a"


def test_an_answer_that_came_while_the_prober_was_stopped_right_after_a_read_is_an_answer(tmp_path):
    """The deterministic twin of the SIGSTOP test above, for the order that made it flaky: the prober
    is descheduled just after a round's select found nothing (a perl override of IO::Select::select
    sleeps past LIMIT after its second call), and the answer comes meanwhile. The old loop took its
    judging time after that pause and called the answer a timeout; it is judged as of before the
    reads now, and the next round reads the answer."""
    server = Server(delay_s=0.2).serve()
    try:
        out = run_with(MUX.replace("LIMIT SPECS", f"{LIMIT_S:g} 't|{server.target}/hostname'"), tmp_path, "Preempted",
                       "use IO::Select;\nmy $n = 0; my $real = \\&IO::Select::select;\nno warnings 'redefine';\n"
                       "*IO::Select::select = sub { my @r = $real->(@_); select(undef, undef, undef, " + f"{LIMIT_S + 0.5}" + ") if ++$n == 2; @r };")
    finally:
        server.close()
    (result,) = parse_lines(out, [f"{server.target}/hostname"], classify_http)
    assert (result.outcome, result.reply) == (Outcome.OK, "pod-a"), out
