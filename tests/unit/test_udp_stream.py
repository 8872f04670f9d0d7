"""The UDP stream's program text and the reading of its lines; the watch as a kept-open server."""
from __future__ import annotations

import pytest

from cnimatrix.probe import timeline
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.timeline import WatchTarget
from cnimatrix.probe.udp_stream import Stream, parse_line, parse_stream, stream_script
from tests.unit.perl_override import run_with

OUTPUT = """\
@@ready\t1700000000.000000\t43512
@@u\t1\t1700000000.100000\t0\t812\tbackend-a
@@u\t2\t1700000000.200000\t2\t90000\t
@@u\t3\t1700000000.300000\t1\t300\t
@@u\t4\t1700000000.400000\t0\t700\tbackend-b
noise
@@u\tx\tbad
@@end\t1700000000.500000
"""


def test_stream_lines_read_into_datagrams_with_their_backend():
    seen = parse_stream(OUTPUT)
    assert seen.source_port == 43512 and not seen.error
    assert [(d.number, d.outcome, d.reply) for d in seen.datagrams] == [
        (1, Outcome.OK, "backend-a"), (2, Outcome.TIMEOUT, ""), (3, Outcome.REFUSED, ""), (4, Outcome.OK, "backend-b")]
    assert seen.datagrams[1].sent == 1700000000.2 and not seen.datagrams[2].answered


def test_a_socket_that_never_opened_is_an_error_not_silence():
    seen = Stream([], None)
    parse_line("@@fail\t1700000000.0\tsocket: Network is unreachable", seen)
    assert seen.error == "socket: Network is unreachable" and seen.datagrams == []


def test_stream_script_fills_its_arguments_quoted():
    script = stream_script("10.96.0.10:8081", interval_s=0.1, wait_s=0.09, max_s=60, stop_file="/tmp/stop me")
    assert "ARGS" not in script and script.rstrip().endswith("10.96.0.10 8081 0.1 0.09 60 '/tmp/stop me'")


def test_the_watch_server_takes_one_request_line_of_the_watch_arguments():
    request = timeline.watch_args([WatchTarget("10.0.0.5:8080/hostname", "TCP", False), WatchTarget("10.0.0.5:8081", "UDP", True)],
                                  interval_s=0.1, timeout_s=0.5, hold=30, deadline_s=10)
    assert request == "0.1 0.5 30 10 t|10.0.0.5:8080/hostname|0 u|10.0.0.5:8081|1"
    assert "$request" in timeline.WATCH_SERVER and "ARGS" not in timeline.WATCH_SERVER and "echo @@END" in timeline.WATCH_SERVER
    # the same words as the one-shot script gives its perl program
    assert timeline.watch_script([WatchTarget("10.0.0.5:8081", "UDP", True)], interval_s=0.1, timeout_s=0.5, hold=30,
                                 deadline_s=10).rstrip().endswith("0.1 0.5 30 10 'u|10.0.0.5:8081|1'")


def test_a_watch_request_with_whitespace_is_refused():
    with pytest.raises(ValueError, match="whitespace"):
        timeline.watch_args([WatchTarget("10.0.0.5:8080/a b", "TCP", False)], interval_s=0.1, timeout_s=0.5, hold=1, deadline_s=1)


def test_an_answer_that_came_while_the_stream_was_descheduled_is_an_answer(tmp_path):
    """The stream reads its socket once more after its wait has passed. A perl override of `send`
    stands for the scheduler: after each datagram the stream sleeps past its wait while the server
    answers (on a loaded host a sender is often preempted right after it wakes the receiver). The
    old loop judged the deadline first and called every such answer none."""
    server = _answering_server()
    script = stream_script(f"127.0.0.1:{server.getsockname()[1]}", interval_s=0.05, wait_s=0.05, max_s=1.0,
                           stop_file=str(tmp_path / "stop"))
    try:
        out = run_with(script, tmp_path, "Preempted", "BEGIN { *CORE::GLOBAL::send = sub { my $r = CORE::send($_[0], $_[1], $_[2]); "
                                                      "select(undef, undef, undef, 0.2); $r } }")
    finally:
        server.close()
    stream = parse_stream(out)
    assert len(stream.datagrams) >= 3, out
    assert all(d.outcome is Outcome.OK and d.reply == "pod-a" for d in stream.datagrams), out


def test_a_socket_that_connected_after_refusals_says_so():
    seen = Stream([], None)
    parse_line("@@retry\t1700000000.0\tsocket: No route to host", seen)
    assert seen.source_port is None and "not connected yet" in seen.socket_note() and "No route to host" in seen.socket_note()
    parse_line("@@ready\t1700000001.0\t43512\t7", seen)
    assert seen.source_port == 43512 and seen.connect_failures == 7 and not seen.error
    assert seen.socket_note() == "its socket connected after 7 failed attempt(s) (first: socket: No route to host)"


def test_a_socket_that_connected_at_once_has_nothing_to_say():
    seen = parse_stream("@@ready\t1700000000.0\t43512\t0\n")
    assert seen.source_port == 43512 and seen.connect_failures == 0 and seen.socket_note() == ""


def _refusing_connects(script: str, tmp_path, refusals: int) -> str:
    """`script`'s output with its first `refusals` connect() calls failing with "No route to host",
    as Cilium's socket-LB does for a Service it has no backend for yet."""
    return run_with(script, tmp_path, "Unrouted",
                    "use IO::Socket::INET; use Errno;\nmy $left = " + str(refusals) + ";\nmy $real = \\&IO::Socket::INET::connect;\n"
                    "no warnings 'redefine';\n*IO::Socket::INET::connect = sub { if ($left-- > 0) { $! = Errno::EHOSTUNREACH(); "
                    "return undef } goto &$real };")


def _answering_server():
    import socket
    import threading

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))

    def answer():
        while True:
            try:
                _, peer = server.recvfrom(2048)
            except OSError:
                return
            server.sendto(b"pod-a", peer)
    threading.Thread(target=answer, daemon=True).start()
    return server


def test_a_refused_connect_is_tried_again_until_the_socket_opens(tmp_path):
    """The old stream gave up at the first failed connect(), so a Service not yet programmed for
    socket-LB failed its case before any change."""
    server = _answering_server()
    script = stream_script(f"127.0.0.1:{server.getsockname()[1]}", interval_s=0.05, wait_s=0.05, max_s=1.0,
                           stop_file=str(tmp_path / "stop"))
    try:
        out = _refusing_connects(script, tmp_path, 3)
    finally:
        server.close()
    stream = parse_stream(out)
    assert stream.connect_failures == 3 and "No route to host" in stream.connect_error and not stream.error, out
    assert stream.datagrams and all(d.reply == "pod-a" for d in stream.datagrams), out


def test_a_socket_that_never_connects_fails_at_the_stream_end(tmp_path):
    script = stream_script("127.0.0.1:9", interval_s=0.05, wait_s=0.05, max_s=0.4, stop_file=str(tmp_path / "stop"))
    out = _refusing_connects(script, tmp_path, 10**6)
    stream = parse_stream(out)
    assert stream.source_port is None and stream.datagrams == [], out
    assert stream.error.startswith("socket: No route to host (") and "attempts)" in stream.error, out
