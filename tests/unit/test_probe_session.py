"""The MUX probe server (programs.MUX_SERVER) and the exec session that keeps it open
(executors.Session): real processes on loopback, and a stand-in for the exec's websocket."""
from __future__ import annotations

import http.server
import subprocess
import threading

import pytest

from cnimatrix.probe.executors import END, Session, SessionClosed, one_shot
from cnimatrix.probe.outcomes import Outcome, classify_http, parse_lines
from cnimatrix.probe.programs import MUX_SERVER


@pytest.fixture
def web():
    """An HTTP server on loopback answering every GET with 'pod-a'."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"pod-a")

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]   # nothing listens once closed: refused


def test_the_server_answers_request_after_request_each_ended_by_its_marker(web):
    refused = f"127.0.0.1:{closed_port()}"
    proc = subprocess.Popen(["sh", "-c", MUX_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        answers = []
        for request in (f"2 t|{web}/hostname t|{refused}/hostname", f"2 t|{refused}/x t|{web}/hostname"):
            proc.stdin.write(request + "\n")
            proc.stdin.flush()
            lines = []
            while (line := proc.stdout.readline()) != END + "\n":
                lines.append(line)
            answers.append("".join(lines))
    finally:
        proc.stdin.close()
        proc.wait(5)
    first = parse_lines(answers[0], [f"{web}/hostname", f"{refused}/hostname"], classify_http)
    second = parse_lines(answers[1], [f"{refused}/x", f"{web}/hostname"], classify_http)
    assert [r.outcome for r in first] == [Outcome.OK, Outcome.REFUSED] and first[0].reply == "pod-a"
    assert [r.outcome for r in second] == [Outcome.REFUSED, Outcome.OK]


def ask_lines(proc, request: str) -> str:
    proc.stdin.write(request + "\n")
    proc.stdin.flush()
    lines = []
    while (line := proc.stdout.readline()) not in (END + "\n", ""):
        lines.append(line)
    return "".join(lines)


def test_the_server_is_one_perl_for_every_request(web, tmp_path):
    """A round costs no perl start: every perl started appends a line to `starts` as it loads."""
    starts = tmp_path / "starts"
    (tmp_path / "CountStart.pm").write_text(f"package CountStart;\nopen(my $f, '>>', '{starts}'); print $f \"$$\\n\"; close $f;\n1;\n")
    proc = subprocess.Popen(["sh", "-c", MUX_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={"PATH": "/usr/bin:/bin", "PERL5OPT": f"-I{tmp_path} -MCountStart"})
    try:
        answers = [ask_lines(proc, f"2 t|{web}/hostname") for _ in range(3)]
    finally:
        proc.stdin.close()
        proc.wait(5)
    assert all(parse_lines(a, [f"{web}/hostname"], classify_http)[0].reply == "pod-a" for a in answers)
    assert len(starts.read_text().split()) == 1


def test_a_batch_that_dies_is_reported_and_the_server_answers_the_next(web, tmp_path):
    """A batch's perl error ends its answer with an @@ERR line instead of ending the server."""
    (tmp_path / "DieOnce.pm").write_text("package DieOnce;\nmy $n = 0;\n*CORE::GLOBAL::send = sub { die \"boom\\n\" if !$n++; "
                                         "CORE::send($_[0], $_[1], $_[2]) };\n1;\n")
    proc = subprocess.Popen(["sh", "-c", MUX_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={"PATH": "/usr/bin:/bin", "PERL5OPT": f"-I{tmp_path} -MDieOnce"})
    try:
        first = ask_lines(proc, "1 u|127.0.0.1:9")
        second = ask_lines(proc, f"2 t|{web}/hostname")
    finally:
        proc.stdin.close()
        proc.wait(5)
    assert "@@ERR boom" in first
    died = parse_lines(first, ["127.0.0.1:9"], classify_http)[0]
    assert died.outcome is Outcome.ERROR and died.reply == "no result line: the prober died: boom"
    assert parse_lines(second, [f"{web}/hostname"], classify_http)[0].reply == "pod-a"


def test_one_shot_runs_the_server_for_a_single_request(web):
    out = subprocess.run(["sh", "-c", one_shot(MUX_SERVER, f"2 t|{web}/hostname")], capture_output=True, text=True, timeout=30).stdout
    answer, marker, rest = out.partition(END + "\n")
    assert marker and rest == ""
    assert parse_lines(answer, [f"{web}/hostname"], classify_http)[0].reply == "pod-a"


class FakeSocket:
    """Stands in for the exec websocket: answers each request line with chunks (split oddly)."""

    def __init__(self, replies):
        self.replies, self.written, self.open, self.queue = list(replies), [], True, []

    def write_stdin(self, data):
        self.written.append(data)
        if self.replies:
            self.queue.extend(self.replies.pop(0))

    def read_stdout(self, timeout=None):
        return self.queue.pop(0) if self.queue else ""

    def is_open(self):
        return self.open

    def close(self):
        self.open = False


def test_a_session_reads_each_answer_up_to_its_marker_across_chunks():
    ws = FakeSocket([["@@1\t0\t5\ta\n@@", "2\t7\t3\tno\n@@E", "ND\n"], ["@@1\t0\t4\tb\n@@END\n"]])
    session = Session(ws)
    assert session.ask("1 t|x:1", 5) == "@@1\t0\t5\ta\n@@2\t7\t3\tno\n"
    assert session.ask("1 t|y:1", 5) == "@@1\t0\t4\tb\n"
    assert ws.written == ["1 t|x:1\n", "1 t|y:1\n"]


def test_a_session_without_its_marker_in_time_closes_rather_than_mix_answers():
    ws = FakeSocket([["@@1\t0\t5\ta\n"]])
    session = Session(ws)
    with pytest.raises(TimeoutError, match="no @@END"):
        session.ask("1 t|x:1", 0.2)
    assert not session.is_open()


def test_a_session_that_closes_mid_answer_says_so():
    ws = FakeSocket([["@@1\t0\t5\ta\n"]])
    session = Session(ws)
    ws.read_stdout = lambda timeout=None: ws.close() or ""
    with pytest.raises(SessionClosed, match="closed before its answer"):
        session.ask("1 t|x:1", 5)


def test_a_request_is_one_line():
    with pytest.raises(ValueError):
        Session(FakeSocket([])).ask("a\nb", 1)


@pytest.fixture
def pod_and_sockets(monkeypatch):
    """A PodExecutor whose every exec is a FakeSocket answering "ok" twice; the sockets it opened."""
    from cnimatrix.probe import executors
    sockets = []

    def opener(self, server):
        sockets.append(FakeSocket([["ok\n@@END\n"], ["ok\n@@END\n"]]))
        return sockets[-1]
    monkeypatch.setattr(executors.PodExecutor, "_open", opener)
    return executors.PodExecutor(api=None, namespace="ns", pod="p"), sockets


def test_the_pod_executor_opens_a_session_once_and_again_only_after_it_closed(pod_and_sockets):
    pod, sockets = pod_and_sockets
    assert pod.ask(MUX_SERVER, "1 t|x:1", 5) == "ok\n"
    assert pod.ask(MUX_SERVER, "1 t|x:1", 5) == "ok\n"
    assert pod.opened == 1
    sockets[0].close()
    assert pod.ask(MUX_SERVER, "1 t|x:1", 5) == "ok\n"
    assert pod.opened == 2
    pod.close()
    assert not sockets[1].is_open()


def test_the_pod_executor_reopens_once_when_the_session_died_unnoticed(pod_and_sockets):
    """A restarted pod: its old exec session is gone, which shows only on the next request."""
    pod, sockets = pod_and_sockets
    assert pod.ask(MUX_SERVER, "1 t|x:1", 5) == "ok\n"

    def gone(data):
        raise BrokenPipeError("broken pipe")
    sockets[0].write_stdin = gone
    assert pod.ask(MUX_SERVER, "1 t|x:1", 5) == "ok\n"
    assert pod.opened == 2 and not sockets[0].is_open()


def test_a_timeout_is_not_reopened_it_is_the_callers_to_judge(monkeypatch):
    from cnimatrix.probe import executors
    monkeypatch.setattr(executors.PodExecutor, "_open", lambda self, server: FakeSocket([["partial\n"]]))
    pod = executors.PodExecutor(api=None, namespace="ns", pod="p")
    with pytest.raises(TimeoutError):
        pod.ask(MUX_SERVER, "1 t|x:1", 0.2)
    assert pod.opened == 1
