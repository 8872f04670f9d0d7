"""Probes over time: reading the 100 ms watch and the held connection, and both perl loops run
against a server on loopback (the loops are the same ones that run in the pods)."""
import http.server
import shutil
import socketserver
import subprocess
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest

from cnimatrix.probe import timeline as T
from cnimatrix.probe.outcomes import Outcome

OK, REFUSED, TIMEOUT = Outcome.OK, Outcome.REFUSED, Outcome.TIMEOUT


def samples(start: float, outcomes, step: float = 0.1):
    return [T.Sample(start + i * step, o, 1.0) for i, o in enumerate(outcomes)]


# --- reading a watch ---------------------------------------------------------------------------

def test_parse_watch_sorts_each_target_by_sending_time_and_reads_codes():
    output = ("noise\n@@ready\t100.0\n@@1\t100.2\t2\t500000\n@@0\t100.1\t0\t3000\n@@0\t100.0\t1\t200\n"
              "@@0\t100.3\t3\t10\n@@7\t100.0\t0\t1\n@@end\t101.0\n")
    watch = T.parse_watch(output, 2)
    assert (watch.started, watch.ended) == (100.0, 101.0)
    assert [(s.sent, s.outcome) for s in watch.samples[0]] == [(100.0, REFUSED), (100.1, OK), (100.3, Outcome.ERROR)]
    assert watch.samples[1] == [T.Sample(100.2, TIMEOUT, 500.0)]


def test_flip_times_from_the_change_to_the_run_that_held():
    # allowed until the change at 10.0, one early denial after it, then denied for good
    got = T.flip(samples(9.7, [OK, OK, OK, TIMEOUT, OK, REFUSED, TIMEOUT, TIMEOUT, TIMEOUT]), False, 10.0, 3)
    assert (got.before, got.early, got.flaps) == (3, 0, 1)
    assert got.first_s == pytest.approx(0.0) and got.held_s == pytest.approx(0.2)
    assert got.valid


def test_flip_that_never_held_or_was_seen_before_the_change():
    short = T.flip(samples(9.9, [TIMEOUT, OK, OK]), True, 10.0, 3)
    assert short.held_s is None and short.first_s == pytest.approx(0.0)
    early = T.flip(samples(9.8, [OK, OK, OK, OK]), True, 10.0, 2)
    assert early.early == 2 and not early.valid, "before the change, the cell already showed the new verdict"
    noise = T.flip(samples(9.6, [TIMEOUT, OK, TIMEOUT, TIMEOUT, OK, OK]), True, 10.0, 2)
    assert (noise.before, noise.early) == (4, 1) and noise.valid, "one slow answer before the change is noise"
    late_start = T.flip(samples(10.1, [OK, OK]), True, 10.0, 2)
    assert late_start.before == 0 and not late_start.valid


def test_spacing_is_the_resolution_achieved():
    assert T.spacing_ms(samples(1.0, [OK, OK, OK], step=0.1)) == [100.0, 100.0]
    assert T.describe_spacing([100.0, 100.0, 400.0]) == {"p50": 100.0, "max": 400.0}
    assert T.describe_spacing([]) == {}


# --- reading a held connection -------------------------------------------------------------------

def exchanges(start: float, states, step: float = 0.1):
    return [T.Exchange(i + 1, start + i * step, state) for i, state in enumerate(states)]


def test_parse_hold_reads_exchanges_late_answers_and_connect_failures():
    output = "@@x\t1\t5.0\tok\t900\n@@ready\n@@x\t2\t5.1\tstalled\t2000000\n@@late\t2\t7.5\n@@end\t8.0\n"
    found, error = T.parse_hold(output)
    assert error == "" and found == [T.Exchange(1, 5.0, "ok"), T.Exchange(2, 5.1, "stalled", 7.5)]
    assert T.parse_hold("@@fail\t5.0\tconnect: Connection refused\n") == ([], "connect: Connection refused")


def test_connection_kept_cut_broken_or_inconclusive():
    kept = T.connection_fate(exchanges(9.0, ["ok"] * 60), changed_at=10.0, denied_at=10.2, hold_s=3.0)
    assert (kept.behaviour, kept.exchanges_after) == ("kept", 50) and kept.kept_for_s == pytest.approx(4.7)
    cut = T.connection_fate(exchanges(9.0, ["ok"] * 13 + ["stalled"]), 10.0, 10.2, 3.0)
    assert (cut.behaviour, cut.how, cut.exchanges_after) == ("cut", "stalled", 3) and cut.cut_after_s == pytest.approx(0.3)
    reset = T.connection_fate(exchanges(9.0, ["ok"] * 12 + ["reset"]), 10.0, None, 3.0)
    assert (reset.behaviour, reset.how) == ("cut", "reset")
    broken = T.connection_fate(exchanges(9.0, ["ok", "closed"]), 10.0, None, 3.0)
    assert broken.behaviour == "broken-before"
    short = T.connection_fate(exchanges(9.0, ["ok"] * 20), 10.0, 10.2, 3.0)
    assert short.behaviour == "inconclusive" and short.kept_for_s == pytest.approx(0.7)


def test_a_late_answer_is_slow_not_cut():
    slow = exchanges(9.0, ["ok"] * 11) + [T.Exchange(12, 10.1, "stalled", late=12.5)] + exchanges(12.6, ["ok"] * 10)
    assert T.connection_fate(slow, 10.0, 10.2, 3.0).behaviour == "kept"


# --- the loops themselves, on loopback -------------------------------------------------------------

class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as agnhost netexec

    def do_GET(self):
        body = parse_qs(urlparse(self.path).query).get("msg", ["host"])[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Local:
    name = "local"

    def sh(self, script, timeout_s, on_line=None):
        proc = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, text=True)
        out = []
        for line in proc.stdout:
            out.append(line)
            if on_line:
                on_line(line.rstrip("\n"))
        proc.wait(timeout_s)
        return "".join(out)


@pytest.fixture
def server():
    if not shutil.which("perl") or subprocess.run(["perl", "-MTime::HiRes", "-MIO::Select", "-e", "1"]).returncode:
        pytest.skip("perl with Time::HiRes and IO::Select is needed to run the probe loops")
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_watch_loop_reports_ready_and_stops_once_every_target_held(server):
    port = server.server_address[1]
    closed = socketserver.TCPServer(("127.0.0.1", 0), _Echo)
    refused = closed.server_address[1]
    closed.server_close()       # nothing listens there now: connections are refused
    ready = threading.Event()
    targets = [T.WatchTarget(f"127.0.0.1:{port}/hostname", "TCP", True), T.WatchTarget(f"127.0.0.1:{refused}/", "TCP", False)]
    watch = T.watch(_Local(), targets, interval_s=0.05, timeout_s=0.5, hold=3, deadline_s=60, ready=ready)
    assert ready.is_set() and watch.started is not None and watch.ended is not None
    assert watch.ended - watch.started < 60, "the loop stops once both targets held their verdict, not at the deadline"
    assert [s.outcome for s in watch.samples[0][-3:]] == [OK] * 3
    assert [s.outcome for s in watch.samples[1][-3:]] == [REFUSED] * 3


def stop_once_ready(stop, ready: threading.Event, after_s: float) -> None:
    """Create the stop file `after_s` after the loop said it runs (on a thread of its own)."""
    def touch():
        ready.wait(30)
        time.sleep(after_s)
        stop.touch()
    threading.Thread(target=touch, daemon=True).start()


def test_hold_loop_keeps_one_connection_until_told_to_stop(server, tmp_path):
    stop = tmp_path / "stop"
    ready = threading.Event()
    stop_once_ready(stop, ready, 1.0)
    found, error = T.hold_connection(_Local(), f"127.0.0.1:{server.server_address[1]}", str(stop),
                                     interval_s=0.05, max_s=10, ready=ready)
    assert ready.is_set() and error == ""
    assert len(found) >= 2 and all(e.state == "ok" for e in found)
    assert [e.number for e in found] == list(range(1, len(found) + 1))


def test_watch_loop_stops_when_its_stop_file_appears(server, tmp_path):
    stop = tmp_path / "stop"
    ready = threading.Event()
    stop_once_ready(stop, ready, 0.5)
    target = T.WatchTarget(f"127.0.0.1:{server.server_address[1]}/hostname", "TCP", False)   # never its wanted verdict
    watch = T.watch(_Local(), [target], interval_s=0.05, timeout_s=0.5, hold=10**6, deadline_s=60, ready=ready,
                    stop_file=str(stop))
    assert watch.ended is not None and watch.ended - watch.started < 30, "the stop file ends the loop, not the deadline"
    assert len(watch.samples[0]) >= 3 and all(s.outcome is OK for s in watch.samples[0])


def test_without_a_stop_file_the_watch_words_are_unchanged():
    target = T.WatchTarget("10.0.0.1:80/", "TCP", True)
    assert T.watch_args([target], interval_s=0.1, timeout_s=0.5, hold=3, deadline_s=5) == "0.1 0.5 3 5 t|10.0.0.1:80/|1"
    assert "stop=/tmp/x" in T.watch_script([target], interval_s=0.1, timeout_s=0.5, hold=3, deadline_s=5, stop_file="/tmp/x")
