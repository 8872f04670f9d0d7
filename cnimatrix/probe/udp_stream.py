"""A UDP stream from one socket (part of cnimatrix.probe): one "hostname" datagram every interval
from the same source port, so every datagram follows the same conntrack entry, which is what a
stale entry after a Service change traps (a DNS client or a game server's client does the same).
Each datagram's answer (the backend's hostname, agnhost netexec) or its absence is printed with
the wall-clock time it was sent; kind nodes share the test's clock (see cnimatrix.probe.timeline).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable

from cnimatrix.probe.executors import Executor
from cnimatrix.probe.outcomes import Outcome

# "@@ready\t<epoch>\t<source port>\t<failed connects>", then per datagram "@@u\t<n>\t<sent>\t<code>\t<micros>\t<reply>"
# (code 0 answered, 1 refused: an ICMP port unreachable came back, 2 no answer within `wait`,
# 3 other error), then "@@end". Answers left over from an earlier datagram are drained before
# each send, so a late answer is never read as the next datagram's. The socket is read once more
# after `wait` has passed: a stream descheduled past it (load 20-40 here) must not call an answer
# waiting in its socket none (the prober's rule, programs.MUX). Stops after `max` s or once
# the file `stop` exists. A connect() that fails is tried again every interval until then: Cilium's
# socket-LB refuses to connect a UDP socket to a Service it has no backend for yet ("No route to
# host"), which says the Service is not programmed yet, as an unanswered datagram would ("@@retry"
# once, with the first error; "@@fail" if it never connected).
_STREAM = r"""
perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -MErrno -e '
  $| = 1;
  my ($host, $port, $interval, $wait, $max, $stop) = @ARGV;
  my ($sock, $tries, $start, $n) = (undef, 0, time, 0);
  until ($sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "udp")) {
    my $err = "socket: $!"; $tries++;
    printf "\@\@retry\t%.6f\t%s\n", time, $err if $tries == 1;
    if (time - $start >= $max || -e $stop) { printf "\@\@fail\t%.6f\t%s (%d attempts)\n", time, $err, $tries; exit 0 }
    select(undef, undef, undef, $interval) }
  my $sel = IO::Select->new($sock);
  printf "\@\@ready\t%.6f\t%d\t%d\n", time, $sock->sockport, $tries;
  while (time - $start < $max && !-e $stop) {
    while ($sel->can_read(0)) { recv($sock, my $late, 2048, 0) }
    my $sent = time; $n++; my ($code, $reply) = (2, "");
    if (!defined send($sock, "hostname", 0)) { $code = $!{ECONNREFUSED} ? 1 : 3 }
    else { while (1) { my $left = $sent + $wait - time; $left = 0 if $left < 0;
        if ($sel->can_read($left)) {
          if (defined recv($sock, my $data, 2048, 0)) { ($code, $reply) = length $data ? (0, $data) : (3, "") }
          else { $code = $!{ECONNREFUSED} ? 1 : 3 }
          last }
        last if $left == 0 } }
    $reply =~ s/[\t\n\r]+/ /g;
    printf "\@\@u\t%d\t%.6f\t%d\t%d\t%s\n", $n, $sent, $code, (time - $sent) * 1e6, substr($reply, 0, 100);
    my $pause = $sent + $interval - time; select(undef, undef, undef, $pause) if $pause > 0;
  }
  printf "\@\@end\t%.6f\n", time;' ARGS
"""
_CODES = {0: Outcome.OK, 1: Outcome.REFUSED, 2: Outcome.TIMEOUT}


@dataclass(frozen=True)
class Datagram:
    number: int
    sent: float         # epoch seconds
    outcome: Outcome
    reply: str          # the answering backend's hostname ("" when unanswered)

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass
class Stream:
    datagrams: list[Datagram]
    source_port: int | None     # the client's one source port (for reading conntrack entries)
    error: str = ""             # the socket could not be opened, within the stream's time
    connect_failures: int = 0   # connect() attempts that failed before the socket opened
    connect_error: str = ""     # the first of those failures

    def socket_note(self) -> str:
        """What the socket went through before its first datagram ("" when it connected at once)."""
        if self.error:
            return self.error
        if self.connect_error and self.source_port is None:
            return f"its socket has not connected yet (first failure: {self.connect_error})"
        if self.connect_failures:
            return f"its socket connected after {self.connect_failures} failed attempt(s) (first: {self.connect_error})"
        return ""


def stream_script(address: str, *, interval_s: float, wait_s: float, max_s: float, stop_file: str) -> str:
    host, _, port = address.rpartition(":")
    args = [host, port, f"{interval_s:g}", f"{wait_s:g}", f"{max_s:g}", stop_file]
    return _STREAM.replace("ARGS", " ".join(shlex.quote(a) for a in args))


def parse_line(line: str, into: Stream) -> None:
    """Fold one output line into `into` (lines arrive one by one while the stream runs)."""
    parts = line[2:].split("\t") if line.startswith("@@") else []
    try:
        if parts[:1] == ["ready"]:
            into.source_port = int(parts[2])
            into.connect_failures = int(parts[3]) if len(parts) > 3 else 0
        elif parts[:1] == ["retry"]:
            into.connect_error = parts[2] if len(parts) > 2 else "connect failed"
        elif parts[:1] == ["fail"]:
            into.error = parts[2] if len(parts) > 2 else "socket failed"
        elif parts[:1] == ["u"] and len(parts) >= 5:
            into.datagrams.append(Datagram(int(parts[1]), float(parts[2]), _CODES.get(int(parts[3]), Outcome.ERROR),
                                           parts[5].strip() if len(parts) > 5 and parts[3] == "0" else ""))
    except (IndexError, ValueError):
        return


def parse_stream(output: str) -> Stream:
    result = Stream([], None)
    for line in output.splitlines():
        parse_line(line, result)
    return result


def run_stream(executor: Executor, address: str, stop_file: str, into: Stream, *, interval_s: float = 0.1,
               wait_s: float = 0.09, max_s: float = 60, on_datagram: Callable[[], None] | None = None) -> None:
    """Send to `address` (ClusterIP:port) until `stop_file` appears in the client or `max_s`,
    folding each line into `into` as it arrives (the caller watches it live from another thread)."""
    script = stream_script(address, interval_s=interval_s, wait_s=wait_s, max_s=max_s, stop_file=stop_file)

    def on_line(line: str) -> None:
        parse_line(line, into)
        if on_datagram is not None:
            on_datagram()

    executor.sh(script, timeout_s=max_s + 30, on_line=on_line)
