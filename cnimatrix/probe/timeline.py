"""Probes over time, for changes that take effect while traffic flows (part of cnimatrix.probe).

`watch` probes a few targets from one client every 100 ms, each probe a new connection (or a new
UDP socket) with a short timeout, and prints the wall-clock time each one was sent. Kind nodes
are containers on one kernel, so those times and the test's own `time.time()` share a clock:
`flip` reads from them when each target took on its new verdict after a change. `hold_connection`
keeps one TCP connection open and passes a request over it every 100 ms, so `connection_fate`
can tell whether a policy landing later cuts an established connection.
"""
from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass

from cnimatrix.probe.executors import Executor
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.stats import percentile

# Each probe prints "@@<target>\t<sent, epoch s>\t<code>\t<micros>", code 0 answered, 1 refused,
# 2 timed out, 3 other error. The loop ends once every target showed its wanted verdict on `hold`
# probes in a row (in completion order; `flip` re-reads them in sending order), at the deadline, or,
# given a first spec "stop=<file>", once that file exists.
_WATCH = r"""
perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -MErrno -e '
  $| = 1;
  my ($interval, $limit, $hold, $deadline, @specs) = @ARGV;
  my $stop = (@specs && $specs[0] =~ s/^stop=//) ? shift @specs : "";
  my @t = map { [m{^(t|u)\|([^:/]+):(\d+)(/\S*)?\|([01])$}] } @specs;
  my (%live, @streak); my $seq = 0; my $start = time; my $next = $start;
  sub finish { my ($k, $code) = @_; my $p = delete $live{$k} or return; close $p->{sock} if $p->{sock};
    printf "@@%d\t%.6f\t%d\t%d\n", $p->{j}, $p->{t}, $code, (time - $p->{t}) * 1e6;
    $streak[$p->{j}] = (($code == 0 ? 1 : 0) == $t[$p->{j}][4]) ? ($streak[$p->{j}] // 0) + 1 : 0 }
  sub launch { my $j = shift; my ($kind, $host, $port, $path) = @{$t[$j]}; my $k = ++$seq;
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => ($kind eq "t" ? "tcp" : "udp"), Blocking => 0);
    $live{$k} = {j => $j, kind => $kind, t => time, sock => $sock, host => $host, path => $path // "/", buf => ""};
    if (!$sock) { finish($k, $!{ECONNREFUSED} ? 1 : 3); return }
    if ($kind eq "u") { $live{$k}{sent} = 1; defined(send($sock, "hostname", 0)) or finish($k, 3) } }
  printf "\@\@ready\t%.6f\n", time;
  while (time - $start < $deadline && !($stop ne "" && -e $stop)) {
    last if @t == grep { ($streak[$_] // 0) >= $hold } 0 .. $#t;
    my $now = time;
    if ($now >= $next) { launch($_) for 0 .. $#t; $next += $interval; $next = $now + $interval if $next < $now }
    my ($r, $w) = (IO::Select->new, IO::Select->new);
    for my $p (values %live) { ($p->{kind} eq "t" && !$p->{sent} ? $w : $r)->add($p->{sock}) }
    my $wait = $next - time; $wait = 0 if $wait < 0; $wait = 0.02 if $wait > 0.02;
    my $late = time;   # deadlines as of before the reads: see the judgement below
    my ($readable, $writable) = IO::Select->select($r, $w, undef, $wait);
    my %by = map { (fileno($live{$_}{sock}) => $_) } keys %live;
    for my $sock (@{$writable || []}) { my $k = $by{fileno $sock}; my $p = $live{$k} or next;
      my $err = $sock->sockopt(Socket::SO_ERROR());
      if ($err) { finish($k, $err == Errno::ECONNREFUSED() ? 1 : 3); next }
      $p->{sent} = 1; $p->{heard} = time; syswrite($sock, "GET $p->{path} HTTP/1.0\r\nHost: $p->{host}\r\n\r\n") }
    for my $sock (@{$readable || []}) { my $k = $by{fileno $sock}; my $p = $live{$k} or next;
      if ($p->{kind} eq "u") { my $got = recv($sock, my $data, 2048, 0);
        finish($k, defined $got && length $data ? 0 : ($!{ECONNREFUSED} ? 1 : 3)); next }
      my $n = sysread($sock, my $chunk, 65536);
      if (!defined $n) { next if $!{EAGAIN}; finish($k, $!{ECONNREFUSED} ? 1 : 3); next }
      if ($n) { $p->{buf} .= $chunk; $p->{heard} = time; next }
      finish($k, $p->{buf} =~ m{^HTTP/\S+ [23]\d\d} ? 0 : 3) }
    # judged as of before the reads of this round ($late): a watcher descheduled past LIMIT, before or
    # after its reads, must not call an answer waiting in its socket a timeout (that would hide an
    # admitted packet from an isolation check); a TCP connection made (admitted) waits up to LIMIT
    # for each part of its answer
    for my $k (keys %live) { finish($k, 2) if $late - ($live{$k}{heard} // $live{$k}{t}) > $limit }
  }
  printf "\@\@end\t%.6f\n", time;' ARGS
"""
_CODES = {0: Outcome.OK, 1: Outcome.REFUSED, 2: Outcome.TIMEOUT}


@dataclass(frozen=True)
class WatchTarget:
    address: str        # host:port/path for TCP (an HTTP GET), host:port for UDP
    protocol: str       # TCP or UDP
    want: bool          # the verdict the change should bring (True: answered)


@dataclass(frozen=True)
class Sample:
    sent: float         # epoch seconds
    outcome: Outcome
    ms: float

    @property
    def allowed(self) -> bool:
        """As the reachability matrix reads a probe: answered is allowed, anything else denied."""
        return self.outcome is Outcome.OK


@dataclass
class Watch:
    samples: list[list[Sample]]     # per target, in sending order
    started: float | None           # epoch seconds the loop began probing; None if it never reported
    ended: float | None


def _watch_words(targets: list[WatchTarget], *, interval_s: float, timeout_s: float, hold: int, deadline_s: float,
                 stop_file: str = "") -> list[str]:
    specs = [f"{'t' if t.protocol == 'TCP' else 'u'}|{t.address}|{int(t.want)}" for t in targets]
    return [f"{interval_s:g}", f"{timeout_s:g}", str(hold), f"{deadline_s:g}", *([f"stop={stop_file}"] if stop_file else []), *specs]


def watch_script(targets: list[WatchTarget], *, interval_s: float, timeout_s: float, hold: int, deadline_s: float,
                 stop_file: str = "") -> str:
    words = _watch_words(targets, interval_s=interval_s, timeout_s=timeout_s, hold=hold, deadline_s=deadline_s,
                         stop_file=stop_file)
    return _WATCH.replace("ARGS", " ".join(shlex.quote(a) for a in words))


def parse_watch(output: str, count: int) -> Watch:
    result = Watch([[] for _ in range(count)], None, None)
    for line in output.splitlines():
        parts = line[2:].split("\t") if line.startswith("@@") else []
        try:
            if parts[:1] == ["ready"]:
                result.started = float(parts[1])
            elif parts[:1] == ["end"]:
                result.ended = float(parts[1])
            elif len(parts) == 4 and 0 <= int(parts[0]) < count:
                outcome = _CODES.get(int(parts[2]), Outcome.ERROR)
                result.samples[int(parts[0])].append(Sample(float(parts[1]), outcome, int(parts[3]) / 1000))
        except (IndexError, ValueError):
            continue
    for samples in result.samples:
        samples.sort(key=lambda s: s.sent)
    return result


# The watch as a server (executors: `ask`): one watch per stdin line of its arguments, each answer
# ended by @@END. Opened (warmed) ahead, a watch then starts with a perl start instead of an exec:
# what a prober needs to aim at a pod from the moment its IP is known.
WATCH_SERVER = "set -f\nwhile IFS= read -r request; do\n" + _WATCH.strip().replace("ARGS", "$request") + "\necho @@END\ndone"


def watch_args(targets: list[WatchTarget], *, interval_s: float, timeout_s: float, hold: int, deadline_s: float) -> str:
    """watch_script's arguments as one request line for WATCH_SERVER."""
    words = _watch_words(targets, interval_s=interval_s, timeout_s=timeout_s, hold=hold, deadline_s=deadline_s)
    if any(len(w.split()) != 1 for w in words):
        raise ValueError(f"a watch argument has whitespace: {words}")
    return " ".join(words)


def watch_asked(executor: Executor, targets: list[WatchTarget], *, interval_s: float = 0.1, timeout_s: float = 0.5,
                hold: int = 10, deadline_s: float = 30) -> Watch:
    """`watch` through the executor's kept-open WATCH_SERVER (the first call opens it)."""
    request = watch_args(targets, interval_s=interval_s, timeout_s=timeout_s, hold=hold, deadline_s=deadline_s)
    return parse_watch(executor.ask(WATCH_SERVER, request, timeout_s=deadline_s + timeout_s + 30), len(targets))


def warm_watch(executor: Executor) -> None:
    """Open the executor's WATCH_SERVER with a watch that ends at once (deadline 0)."""
    watch_asked(executor, [WatchTarget("127.0.0.1:9", "UDP", False)], deadline_s=0)


def watch(executor: Executor, targets: list[WatchTarget], *, interval_s: float = 0.1, timeout_s: float = 0.5,
          hold: int = 10, deadline_s: float = 30, ready: threading.Event | None = None, stop_file: str = "") -> Watch:
    """Probe every target each `interval_s` until each showed its wanted verdict on `hold` probes
    in a row, `deadline_s`, or `stop_file` appears in the client. `ready` is set once the loop
    probes (so a change can follow). Keep `timeout_s` under 1 s: a TCP SYN is first resent after
    1 s, and a probe whose resent SYN got through would count as answered at the time the first
    one was sent."""
    script = watch_script(targets, interval_s=interval_s, timeout_s=timeout_s, hold=hold, deadline_s=deadline_s,
                          stop_file=stop_file)

    def on_line(line: str) -> None:
        if ready is not None and line.startswith("@@ready"):
            ready.set()

    try:
        output = executor.sh(script, timeout_s=deadline_s + timeout_s + 30, on_line=on_line)
    finally:
        if ready is not None:
            ready.set()     # never leave the caller waiting on a loop that failed to start
    return parse_watch(output, len(targets))


@dataclass(frozen=True)
class Flip:
    """When one watched target took on its new verdict, in seconds after the change."""

    before: int                 # probes sent before the change
    early: int                  # of those, how many already showed the new verdict
    first_s: float | None       # first probe after the change that showed it
    held_s: float | None        # start of the run of new verdicts that lasted to the end (>= hold probes)
    flaps: int                  # after the change: new verdict seen, then the old one again

    @property
    def valid(self) -> bool:
        """The old verdict was what probes showed before the change. A few early "new" verdicts
        are noise (an answer slower than the probe timeout reads as denied) and are reported."""
        return self.before > 0 and self.early * 2 < self.before


def flip(samples: list[Sample], want: bool, changed_at: float, hold: int) -> Flip:
    before = [s for s in samples if s.sent < changed_at]
    after = [s for s in samples if s.sent >= changed_at]
    first = next((s.sent - changed_at for s in after if s.allowed == want), None)
    run = 0
    for sample in reversed(after):
        if sample.allowed != want:
            break
        run += 1
    held = after[len(after) - run].sent - changed_at if run >= hold else None
    flaps = sum(1 for a, b in zip(after, after[1:]) if a.allowed == want and b.allowed != want)
    return Flip(len(before), sum(1 for s in before if s.allowed == want),
                _round(first), _round(held), flaps)


def spacing_ms(samples: list[Sample]) -> list[float]:
    """Gaps between consecutive probes of one target: the resolution actually achieved."""
    return [round((b.sent - a.sent) * 1000, 1) for a, b in zip(samples, samples[1:])]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- an established connection -------------------------------------------------------------------

# One TCP connection, one HTTP/1.1 keep-alive request every interval; each exchange prints
# "\@\@x\t<n>\t<sent>\t<state>\t<micros>", state ok, stalled (no answer within `stall` s), reset,
# closed or bad. After a stall it keeps listening: an answer that still comes prints "\@\@late".
# It stops when the file `stop` exists, after `max` s, or once the connection is gone.
_HOLD = r"""
perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -e '
  $| = 1;
  my ($host, $port, $interval, $stall, $max, $stop) = @ARGV;
  my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "tcp", Timeout => 2)
    or do { printf "\@\@fail\t%.6f\t%s\n", time, "connect: $!"; exit 0 };
  my $sel = IO::Select->new($sock); my $start = time; my ($n, $buf, $ready, $stalled) = (0, "", 0, 0);
  my $gone = sub { printf "\@\@x\t%d\t%.6f\t%s\t0\n", $n, time, @_ };
  sub answered { my ($head, $body) = split /\r\n\r\n/, $buf, 2; return undef unless defined $body;
    my ($len) = $head =~ /Content-Length: (\d+)/i; return defined $len && length($body) >= $len ? $body : undef }
  while (time - $start < $max && !-e $stop) {
    if ($stalled) { if ($sel->can_read(0.1)) { my $got = sysread($sock, my $chunk, 65536);
        if (!$got) { $gone->(defined $got ? "closed" : "reset"); last }
        $buf .= $chunk; if (defined answered()) { printf "\@\@late\t%d\t%.6f\n", $n, time; $stalled = 0; $buf = "" } } next }
    my $sent = time; $n++; $buf = "";
    defined syswrite($sock, "GET /echo?msg=$n HTTP/1.1\r\nHost: $host\r\n\r\n") or do { $gone->("reset"); last };
    my $state = "stalled";
    while (time - $sent < $stall) { next unless $sel->can_read(0.05);
      my $got = sysread($sock, my $chunk, 65536);
      if (!$got) { $state = defined $got ? "closed" : "reset"; last }
      $buf .= $chunk; my $body = answered(); if (defined $body) { $state = $body eq $n ? "ok" : "bad"; last } }
    printf "\@\@x\t%d\t%.6f\t%s\t%d\n", $n, $sent, $state, (time - $sent) * 1e6;
    if ($state eq "ok" && !$ready++) { print "\@\@ready\n" }
    last if $state eq "closed" || $state eq "reset" || $state eq "bad";
    $stalled = $state eq "stalled";
    my $pause = $sent + $interval - time; select(undef, undef, undef, $pause) if $pause > 0 && !$stalled;
  }
  printf "\@\@end\t%.6f\n", time;' ARGS
"""


@dataclass(frozen=True)
class Exchange:
    number: int
    sent: float             # epoch seconds
    state: str              # ok, stalled, reset, closed, bad
    late: float | None = None   # a stalled request answered after all, at this time


def hold_script(address: str, *, interval_s: float, stall_s: float, max_s: float, stop_file: str) -> str:
    host, _, port = address.rpartition(":")
    args = [host, port, f"{interval_s:g}", f"{stall_s:g}", f"{max_s:g}", stop_file]
    return _HOLD.replace("ARGS", " ".join(shlex.quote(a) for a in args))


def parse_hold(output: str) -> tuple[list[Exchange], str]:
    """The exchanges in order, and the connect error if the connection never opened."""
    exchanges: list[Exchange] = []
    for line in output.splitlines():
        parts = line[2:].split("\t") if line.startswith("@@") else []
        try:
            if parts[:1] == ["fail"]:
                return [], parts[2] if len(parts) > 2 else "connect failed"
            if parts[:1] == ["x"] and len(parts) >= 4:
                exchanges.append(Exchange(int(parts[1]), float(parts[2]), parts[3]))
            elif parts[:1] == ["late"] and exchanges and exchanges[-1].number == int(parts[1]):
                exchanges[-1] = Exchange(exchanges[-1].number, exchanges[-1].sent, exchanges[-1].state, float(parts[2]))
        except (IndexError, ValueError):
            continue
    return exchanges, ""


def hold_connection(executor: Executor, address: str, stop_file: str, *, interval_s: float = 0.1, stall_s: float = 2.0,
                    max_s: float = 120, ready: threading.Event | None = None) -> tuple[list[Exchange], str]:
    """Keep one TCP connection to `address` (host:port of an agnhost netexec) busy until
    `stop_file` appears in the client; `ready` is set after the first answered request."""
    script = hold_script(address, interval_s=interval_s, stall_s=stall_s, max_s=max_s, stop_file=stop_file)

    def on_line(line: str) -> None:
        if ready is not None and (line.startswith("@@ready") or line.startswith("@@fail")):
            ready.set()

    try:
        output = executor.sh(script, timeout_s=max_s + 30, on_line=on_line)
    finally:
        if ready is not None:
            ready.set()
    return parse_hold(output)


@dataclass(frozen=True)
class Fate:
    """What a policy change did to an established connection."""

    behaviour: str              # kept, cut, broken-before (no policy yet), inconclusive
    how: str                    # for cut: stalled, reset, closed, bad
    cut_after_s: float | None   # from the change to the first failed exchange
    exchanges_after: int        # answered exchanges sent after the change
    kept_for_s: float | None    # answered for this long after new connections were denied


def connection_fate(exchanges: list[Exchange], changed_at: float, denied_at: float | None, hold_s: float) -> Fate:
    """kept: every exchange answered, up to at least `hold_s` after new connections were seen
    denied (`denied_at`; the change itself when they never were); cut: an exchange after the
    change failed and no answer came late; inconclusive: the client stopped too early."""
    failed = [e for e in exchanges if e.state != "ok" and e.late is None]
    answered_after = [e for e in exchanges if e.sent >= changed_at and (e.state == "ok" or e.late is not None)]
    if any(e.sent < changed_at for e in failed):
        first = next(e for e in failed if e.sent < changed_at)
        return Fate("broken-before", first.state, None, len(answered_after), None)
    reference = denied_at if denied_at is not None else changed_at
    if failed:
        first = failed[0]
        return Fate("cut", first.state, round(first.sent - changed_at, 3), len(answered_after), None)
    last = max((e.sent for e in answered_after), default=None)
    kept_for = None if last is None else round(last - reference, 3)
    if kept_for is None or kept_for < hold_s:
        return Fate("inconclusive", "", None, len(answered_after), kept_for)
    return Fate("kept", "", None, len(answered_after), kept_for)


def describe_spacing(gaps: list[float]) -> dict:
    """p50 and max of probe spacing in ms, for the record."""
    if not gaps:
        return {}
    return {"p50": round(percentile(gaps, 50), 1), "max": round(max(gaps), 1)}
