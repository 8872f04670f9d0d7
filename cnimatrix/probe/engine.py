"""The one probe engine every suite uses.

A probe is a real request sent from a client (a pod, or a container on the kind network standing
in for a client outside the cluster). Many probes run in one exec: a shell loop prints one line
per probe, which is parsed into ProbeResults that tell success, refused, timed out and other
errors apart. `converge` polls an observation until it matches the expectation and stays
matched for several consecutive rounds, within a deadline, and records every attempt.
"""
from __future__ import annotations

import shlex
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Generic, Protocol, TypeVar

from kubernetes import client
from kubernetes.stream import stream
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed


class Outcome(str, Enum):
    OK = "ok"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    DNS = "dns-error"        # the name did not resolve
    ERROR = "error"          # anything else (reset, HTTP error, bad reply)


@dataclass(frozen=True)
class ProbeResult:
    target: str
    outcome: Outcome
    ms: float
    reply: str            # response body (trimmed), or the client's error text

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


class Executor(Protocol):
    name: str

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str: ...


@dataclass
class PodExecutor:
    """Runs shell scripts in a pod's container through the API server's exec endpoint."""

    api: client.ApiClient
    namespace: str
    pod: str
    container: str | None = None

    @property
    def name(self) -> str:
        return f"pod/{self.pod}"

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str:
        """The script's output; with `on_line`, each stdout line is also handed over as it arrives
        (a long-running probe tells the caller it has started)."""
        kwargs = {"container": self.container} if self.container else {}
        if on_line is not None:
            kwargs["_preload_content"] = False
        result = stream(
            client.CoreV1Api(self.api).connect_get_namespaced_pod_exec,
            self.pod, self.namespace, command=["sh", "-c", script],
            stderr=on_line is None, stdin=False, stdout=True, tty=False, _request_timeout=timeout_s, **kwargs,
        )
        return result if on_line is None else _follow(result, timeout_s, on_line)


@dataclass
class ContainerExecutor:
    """Runs shell scripts in a Docker container: a client outside the cluster on the kind network."""

    container: str

    @property
    def name(self) -> str:
        return f"container/{self.container}"

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str:
        if on_line is None:
            proc = subprocess.run(["docker", "exec", self.container, "sh", "-c", script],
                                  capture_output=True, text=True, timeout=timeout_s)
            return proc.stdout
        proc = subprocess.Popen(["docker", "exec", self.container, "sh", "-c", script],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                on_line(line.rstrip("\n"))
        finally:
            timer.cancel()
            proc.wait()
        return "".join(lines)


def _follow(ws, timeout_s: float, on_line: Callable[[str], None]) -> str:
    """Read a running exec's stdout until it exits (or `timeout_s`), line by line."""
    deadline = time.monotonic() + timeout_s
    chunks, pending = [], ""

    def take() -> None:
        nonlocal pending
        chunk = ws.read_stdout(timeout=0) if ws.peek_stdout(timeout=0) else ""
        chunks.append(chunk)
        *lines, pending = (pending + chunk).split("\n")
        for line in lines:
            on_line(line)

    try:
        while ws.is_open() and time.monotonic() < deadline:
            ws.update(timeout=0.2)
            take()
        take()
    finally:
        ws.close()
    if pending:
        on_line(pending)
    return "".join(chunks)


# Probes run PARALLEL at a time (each its own connection); every result line is one short write,
# so lines never mix. A probe body sets `body` and `rc` for target $2; the loop times it.
PARALLEL = 8
_LOOP_HEAD = r"""
i=0
probe() {{
  start=$(date +%s%N)
"""
_LOOP_TAIL = r"""
  end=$(date +%s%N)
  printf '@@%s\t%s\t%s\t%s\n' "$1" "$rc" "$(( (end-start)/1000 ))" "$(printf '%s' "$body" | head -c 300 | tr '\n\t' '  ')"
}}
for target in {targets}; do
  i=$((i+1))
  probe "$i" "$target" &
  [ $((i % {parallel})) -eq 0 ] && wait
done
wait
"""

# curl exit codes: 6 name not resolved, 7 could not connect, 28 timed out. curl 7.88 hides the
# errno behind 7; a bare connect names it (refused, no route).
_HTTP_PROBE = r"""
  body=$(curl -sS --max-time {timeout} --connect-timeout {timeout} "http://$2" 2>&1); rc=$?
  if [ "$rc" = 7 ]; then
    hostport=${{2%%/*}}
    body="$body; $(timeout {timeout} bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${{hostport%:*}}" "${{hostport##*:}}" 2>&1 | tail -n 1)"
  fi"""

# One datagram through bash's /dev/udp, one read with dd: a reply is the answer, a read error
# "Connection refused" is the kernel's ICMP port-unreachable, `timeout` (exit 124) is silence.
_UDP_PROBE = r"""
  body=$(bash -c 'exec 3<>"/dev/udp/$0/$1" && printf "%s" "$2" >&3 && timeout {timeout} dd bs=2048 count=1 status=none <&3' "${{2%:*}}" "${{2##*:}}" {payload} 2>&1); rc=$?"""

_HTTP_LOOP = _LOOP_HEAD + _HTTP_PROBE + _LOOP_TAIL
_UDP_LOOP = _LOOP_HEAD + _UDP_PROBE + _LOOP_TAIL


def classify_http(rc: int, text: str) -> Outcome:
    lowered = text.lower()
    if rc == 0:
        return Outcome.OK
    if rc == 6 or "could not resolve" in lowered:
        return Outcome.DNS
    if rc == 28 or "timed out" in lowered:
        return Outcome.TIMEOUT
    if rc == 7 and "refused" in lowered:
        return Outcome.REFUSED
    return Outcome.ERROR


def classify_udp(rc: int, text: str) -> Outcome:
    lowered = text.lower()
    if rc == 0 and text.strip():
        return Outcome.OK
    if rc == 124:
        return Outcome.TIMEOUT
    if "connection refused" in lowered:
        return Outcome.REFUSED
    if "name resolution" in lowered or "not known" in lowered:
        return Outcome.DNS
    return Outcome.ERROR


def parse_lines(output: str, targets: list[str], classify: Callable[[int, str], Outcome]) -> list[ProbeResult]:
    """Parse the loop's '@@index rc micros reply' lines; a probe with no line counts as an error."""
    seen: dict[int, ProbeResult] = {}
    for line in output.splitlines():
        if not line.startswith("@@"):
            continue
        parts = line[2:].split("\t", 3)
        if len(parts) < 3 or not parts[0].isdigit() or not parts[1].lstrip("-").isdigit():
            continue
        index, rc, micros = int(parts[0]), int(parts[1]), parts[2]
        reply = parts[3].strip() if len(parts) > 3 else ""
        if 1 <= index <= len(targets):
            ms = int(micros) / 1000 if micros.isdigit() else 0.0
            seen[index] = ProbeResult(targets[index - 1], classify(rc, reply), round(ms, 3), reply)
    return [seen.get(i + 1, ProbeResult(t, Outcome.ERROR, 0.0, "no result line (exec cut short)")) for i, t in enumerate(targets)]


def http(executor: Executor, targets: list[str], timeout_s: float = 2.0, parallel: int = PARALLEL) -> list[ProbeResult]:
    """GET http://<target> for each target (host:port/path) in one exec, in order, `parallel` at a time."""
    if not targets:
        return []
    script = _HTTP_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=_seconds(timeout_s), parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_http)


def udp(executor: Executor, targets: list[str], payload: str = "hostname", timeout_s: float = 2.0,
        parallel: int = PARALLEL) -> list[ProbeResult]:
    """Send one datagram to each host:port and read one reply (agnhost netexec answers 'hostname')."""
    if not targets:
        return []
    script = _UDP_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=_seconds(timeout_s),
                              payload=shlex.quote(payload), parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_udp)


# Many probes at once from one process: non-blocking TCP connects (then an HTTP/1.0 GET) and UDP
# datagrams, multiplexed with select. Where hundreds of probes share two cores (a NetworkPolicy
# matrix), a process per probe would starve itself into false timeouts. Lines use the same codes
# as the curl and /dev/udp loops, so the same classifiers read them.
_MUX = r"""
perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -MErrno -e '
  my ($limit, @specs) = @ARGV; my (%live, @done);
  my $start = time;
  sub finish { my ($i, $rc, $text) = @_; my $p = delete $live{$i} or return; close $p->{sock} if $p->{sock};
    $text =~ s/[\t\n\r]+/ /g; printf "@@%d\t%d\t%d\t%s\n", $i, $rc, (time - $p->{t}) * 1e6, substr($text, 0, 300); }
  for my $i (1 .. @specs) {
    my ($kind, $host, $port, $path) = $specs[$i - 1] =~ m{^(t|u)\|([^:/]+):(\d+)(/.*)?$} or do { printf "@@%d\t2\t0\tbad target\n", $i; next };
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => ($kind eq "t" ? "tcp" : "udp"), Blocking => 0);
    $live{$i} = {kind => $kind, t => time, sock => $sock, host => $host, path => $path // "/", buf => ""};
    if (!$sock) { finish($i, $kind eq "t" ? 7 : 1, "connect: $!"); next }
    if ($kind eq "u") { $live{$i}{sent} = 1; defined(send($sock, "hostname", 0)) or finish($i, 1, "send: $!") }
  }
  while (%live) {
    my $now = time;
    for my $i (keys %live) { my $p = $live{$i};
      finish($i, $p->{kind} eq "t" ? 28 : 124, $p->{kind} eq "t" ? "timed out after $limit s" : "") if $now - $p->{t} > $limit }
    last unless %live;
    my ($r, $w) = (IO::Select->new, IO::Select->new);
    for my $p (values %live) { ($p->{kind} eq "t" && !$p->{sent} ? $w : $r)->add($p->{sock}) }
    my ($readable, $writable) = IO::Select->select($r, $w, undef, 0.05);
    my %by = map { (fileno($live{$_}{sock}) => $_) } keys %live;
    for my $sock (@{$writable || []}) { my $i = $by{fileno $sock}; my $p = $live{$i};
      my $err = $sock->sockopt(Socket::SO_ERROR());
      if ($err) { local $! = $err; finish($i, 7, "connect: $!"); next }
      $p->{sent} = 1; syswrite($sock, "GET $p->{path} HTTP/1.0\r\nHost: $p->{host}\r\n\r\n") }
    for my $sock (@{$readable || []}) { my $i = $by{fileno $sock}; my $p = $live{$i} or next;
      if ($p->{kind} eq "u") { my $got = recv($sock, my $data, 2048, 0);
        defined $got ? finish($i, 0, $data) : finish($i, 1, "recv: $!"); next }
      my $n = sysread($sock, my $chunk, 65536);
      if (!defined $n) { next if $!{EAGAIN}; finish($i, $!{ECONNREFUSED} ? 7 : 56, "recv: $!"); next }
      if ($n) { $p->{buf} .= $chunk; next }
      my ($status) = $p->{buf} =~ m{^HTTP/\S+ (\d+)}; my (undef, $body) = split /\r\n\r\n/, $p->{buf}, 2;
      defined $status && $status < 400 ? finish($i, 0, $body // "") : finish($i, 22, "HTTP " . ($status // "no status") . " " . ($body // "")) }
  }' LIMIT SPECS
"""


def many(executor: Executor, http_targets: list[str], udp_targets: list[str], timeout_s: float = 2.0,
         ) -> tuple[list[ProbeResult], list[ProbeResult]]:
    """HTTP GETs (host:port/path) and UDP 'hostname' datagrams (host:port), all at once from one
    process in one exec; results in order, classified as `http` and `udp` classify theirs."""
    specs = [f"t|{t}" for t in http_targets] + [f"u|{t}" for t in udp_targets]
    if not specs:
        return [], []
    script = _MUX.replace("LIMIT SPECS", " ".join(shlex.quote(s) for s in [_seconds(timeout_s), *specs]))
    output = executor.sh(script, timeout_s=timeout_s + 60)
    tcp = parse_lines(output, http_targets, classify_http)
    # UDP lines are numbered after the TCP ones: renumber them for the shared parser.
    shifted = "\n".join(_shift(line, len(http_targets)) for line in output.splitlines())
    return tcp, parse_lines(shifted, udp_targets, classify_udp)


def _shift(line: str, by: int) -> str:
    if not line.startswith("@@"):
        return line
    index, _, rest = line[2:].partition("\t")
    return f"@@{int(index) - by}\t{rest}" if index.isdigit() else line


def _seconds(value: float) -> str:
    return f"{value:g}"


# --- converging on an expectation ------------------------------------------------------------

T = TypeVar("T")


@dataclass
class Attempt(Generic[T]):
    at_s: float
    matched: bool
    reason: str


@dataclass
class Convergence(Generic[T]):
    ok: bool
    attempts: list[Attempt] = field(default_factory=list)
    last: T | None = None
    reason: str = ""
    settle_s: float | None = None     # when the final stable streak started (time-to-effect)
    flapped: bool = False             # a match was lost again before it held
    lost: Attempt | None = None       # the first round that lost a match (what made it flap)

    @property
    def count(self) -> int:
        return len(self.attempts)


def converge(observe: Callable[[], T], judge: Callable[[T], tuple[bool, str]], *, deadline_s: float,
             stable: int = 3, interval_s: float = 1.0) -> Convergence[T]:
    """Observe until `judge` says matched for `stable` consecutive observations, or until the
    deadline passes without a match under way.

    Steady-state checks pass `stable` >= 1 and expect a match at once; checks that follow a change
    (scale, readiness flip) read `settle_s` as the time the change took to show."""
    started = time.monotonic()
    result: Convergence[T] = Convergence(ok=False)
    streak = 0
    streak_start: float | None = None

    def once() -> bool:
        nonlocal streak, streak_start
        value = observe()
        matched, reason = judge(value)
        now = time.monotonic() - started
        result.attempts.append(Attempt(round(now, 3), matched, reason))
        result.last, result.reason = value, reason
        if matched:
            if streak == 0:
                streak_start = now
            streak += 1
        else:
            if streak:
                result.flapped = True
                result.lost = result.lost or result.attempts[-1]
            streak = 0
        return streak >= stable

    # The deadline bounds the time to a first match; a streak under way when it passes may still
    # finish (at most `stable` more rounds), so that slow rounds on a loaded host do not turn a
    # matching observation into a failure. A miss after the deadline ends the wait.
    past_deadline = stop_after_delay(deadline_s)
    try:
        Retrying(stop=lambda state: past_deadline(state) and streak == 0, wait=wait_fixed(interval_s),
                 retry=retry_if_result(lambda done: not done))(once)
    except RetryError:
        pass
    result.ok = streak >= stable
    result.settle_s = round(streak_start, 3) if result.ok and streak_start is not None else None
    return result


# --- DNS ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DnsResult:
    """One DNS question and what came back. `outcome` is about transport (OK = a response came);
    `status` is the DNS rcode of that response (NOERROR, NXDOMAIN, SERVFAIL, ...)."""

    name: str
    qtype: str
    outcome: Outcome
    status: str
    records: tuple[tuple[str, str, str], ...]   # (owner, type, data) from the answer section
    error: str = ""

    def values(self, rtype: str | None = None) -> set[str]:
        rtype = rtype or self.qtype
        return {data for _, t, data in self.records if t == rtype}

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


_DIG_LOOP = r"""
i=0
while read -r name qtype; do
  i=$((i+1))
  echo "@@$i"
  dig +yaml +tries=1 +time={timeout} {flags} "$name" "$qtype" 2>&1
done <<'QUERIES'
{queries}
QUERIES
"""


def parse_dig(output: str, queries: list[tuple[str, str]]) -> list[DnsResult]:
    """Split the '@@i' sections and read dig's YAML for each query."""
    import yaml  # the only engine part that needs it

    chunks: dict[int, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("@@") and line[2:].isdigit():
            current = int(line[2:])
            chunks[current] = ""
        elif current is not None:
            chunks[current] += line + "\n"
    results = []
    for index, (name, qtype) in enumerate(queries, 1):
        text = chunks.get(index)
        if text is None:
            results.append(DnsResult(name, qtype, Outcome.ERROR, "", (), "no output (exec cut short)"))
            continue
        try:
            docs = yaml.safe_load(text) or []
        except yaml.YAMLError:
            docs = []
        message = next((d.get("message") for d in docs if isinstance(d, dict) and d.get("type") == "MESSAGE"), None)
        if not isinstance(message, dict):
            error = " ".join(text.split())[:200]
            outcome = Outcome.TIMEOUT if "timed out" in error or "no servers could be reached" in error else Outcome.ERROR
            results.append(DnsResult(name, qtype, outcome, "", (), error))
            continue
        data = message.get("response_message_data") or {}
        records = []
        for rr in data.get("ANSWER_SECTION") or []:
            parts = str(rr).split(None, 4)
            if len(parts) == 5:
                records.append((parts[0].lower(), parts[3], parts[4]))
        results.append(DnsResult(name, qtype, Outcome.OK, str(data.get("status", "")), tuple(records)))
    return results


def dns(executor: Executor, queries: list[tuple[str, str]], *, tcp: bool = False, search: bool = False,
        server: str | None = None, timeout_s: float = 2.0) -> list[DnsResult]:
    """Ask each (name, type) with dig from the client, over UDP or TCP; `search` applies the
    client's resolv.conf search list as the libc resolver would."""
    if not queries:
        return []
    flags = ["+tcp" if tcp else "+notcp", "+search" if search else "+nosearch"]
    if server:
        flags.append(f"@{shlex.quote(server)}")
    lines = "\n".join(f"{shlex.quote(n)} {shlex.quote(t)}" for n, t in queries)
    script = _DIG_LOOP.format(timeout=max(1, int(timeout_s)), flags=" ".join(flags), queries=lines)
    output = executor.sh(script, timeout_s=len(queries) * (timeout_s + 2) + 30)
    return parse_dig(output, queries)


_RESOLVE_TIMING = r"""
perl -MTime::HiRes=time -MSocket -e '
  my ($name, $n, $budget) = @ARGV;
  my $start = time;
  for (1 .. $n) {
    last if time - $start > $budget;
    my $t = time; my @a = gethostbyname($name); my $ms = (time - $t) * 1000;
    printf "@@%.3f %s\n", $ms, (@a ? "ok" : "fail");
  }' NAME COUNT BUDGET
"""


def resolve_latencies(executor: Executor, name: str, count: int, budget_s: float = 60) -> tuple[list[float], int]:
    """Resolve `name` `count` times through the client's libc resolver, as applications do, in
    one process; returns the per-lookup milliseconds of the successful lookups and the failures.
    Lookups not started within `budget_s` (a dead resolver makes each one slow) count as failures."""
    script = _RESOLVE_TIMING.replace("NAME COUNT BUDGET", f"{shlex.quote(name)} {int(count)} {budget_s:g}")
    output = executor.sh(script, timeout_s=budget_s + 60)
    times = []
    for line in output.splitlines():
        if line.startswith("@@"):
            ms, status = line[2:].split()
            if status == "ok":
                times.append(float(ms))
    return times, count - len(times)


# --- pod network: ICMP, packets at the MTU, whole transfers, set-up time ---------------------

# iputils ping: exit 0 = a reply, 1 = no reply (or ICMP errors), 2 = could not send. `-M do`
# forbids fragmentation, so a packet larger than the path's MTU fails instead of being split.
_PING_PROBE = r"""
  body=$(ping -n -c {count} -W {timeout} {flags} "$2" 2>&1); rc=$?
  body=$(printf '%s' "$body" | grep -i -E 'received|too long|frag|unreachable|unknown|invalid|error' | tr '\n' ' ')"""

# A whole HTTP body to a file, then its size and digest (what arrived, not what curl claims).
_DOWNLOAD_PROBE = r"""
  f=/tmp/cnimatrix-download.$$.$1
  err=$(curl -sS --max-time {timeout} --connect-timeout 5 -o "$f" "http://$2" 2>&1); rc=$?
  body="bytes=$(cat "$f" 2>/dev/null | wc -c) sha256=$(cat "$f" 2>/dev/null | sha256sum | cut -c1-64) $err"
  rm -f "$f" """

_PING_LOOP = _LOOP_HEAD + _PING_PROBE + _LOOP_TAIL
_DOWNLOAD_LOOP = _LOOP_HEAD + _DOWNLOAD_PROBE + _LOOP_TAIL

# One UDP datagram of exactly SIZE payload bytes per target, never fragmented (IP_MTU_DISCOVER =
# IP_PMTUDISC_DO), as agnhost netexec's "echo" command; the reply must be the same padding back.
_DATAGRAM = r"""
perl -MIO::Socket::INET -MSocket -MTime::HiRes=time -e '
  my ($limit, $size, @targets) = @ARGV; my $pad = "x" x ($size - 5); my $i = 0;
  sub out { my ($i, $rc, $t0, $text) = @_; $text =~ s/[\t\n\r]+/ /g;
    printf "@@%d\t%d\t%d\t%s\n", $i, $rc, (time - $t0) * 1e6, substr($text, 0, 300) }
  for my $target (@targets) { $i++; my $t0 = time;
    my ($host, $port) = $target =~ /^(.+):(\d+)$/ or do { out($i, 2, $t0, "bad target"); next };
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "udp") or do { out($i, 1, $t0, "socket: $!"); next };
    setsockopt($s, IPPROTO_IP, 10, 2) or do { out($i, 1, $t0, "IP_MTU_DISCOVER: $!"); next };
    defined(send($s, "echo $pad", 0)) or do { out($i, 1, $t0, "send: $!"); next };
    my $bits = ""; vec($bits, fileno($s), 1) = 1;
    select(my $ready = $bits, undef, undef, $limit) or do { out($i, 124, $t0, ""); next };
    defined(recv($s, my $data, 65535, 0)) or do { out($i, 1, $t0, "recv: $!"); next };
    out($i, 0, $t0, sprintf("bytes=%d intact=%d", length($data), $data eq $pad ? 1 : 0));
  }' LIMIT SIZE TARGETS
"""


def classify_ping(rc: int, text: str) -> Outcome:
    lowered = text.lower()
    if rc == 0:
        return Outcome.OK
    if "unknown host" in lowered or "name or service not known" in lowered:
        return Outcome.DNS
    if any(word in lowered for word in ("too long", "frag needed", "unreachable", "invalid")):
        return Outcome.ERROR   # refused to send, or told why it could not arrive
    return Outcome.TIMEOUT if rc == 1 else Outcome.ERROR


def ping(executor: Executor, targets: list[str], *, size: int | None = None, dont_fragment: bool = False,
         count: int = 1, timeout_s: float = 2.0, parallel: int = PARALLEL) -> list[ProbeResult]:
    """ICMP echo to each address; `size` is the ICMP payload (the IP packet is size + 28 bytes)."""
    if not targets:
        return []
    flags = (f"-s {int(size)} " if size is not None else "") + ("-M do" if dont_fragment else "")
    script = _PING_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=max(1, round(timeout_s)),
                               count=count, flags=flags, parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (count * timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_ping)


def datagram(executor: Executor, targets: list[str], size: int, timeout_s: float = 2.0) -> list[ProbeResult]:
    """One never-fragmented UDP datagram of `size` payload bytes to each host:port (netexec echo);
    the reply reads 'bytes=N intact=1' when the same padding came back."""
    if not targets:
        return []
    script = _DATAGRAM.replace("LIMIT SIZE TARGETS", " ".join(shlex.quote(str(a)) for a in [_seconds(timeout_s), int(size), *targets]))
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) + 60)
    return parse_lines(output, targets, classify_udp)


def download(executor: Executor, targets: list[str], timeout_s: float = 60.0, parallel: int = 2) -> list[ProbeResult]:
    """GET http://<target> into a file; the reply reads 'bytes=N sha256=HEX' of what arrived."""
    if not targets:
        return []
    script = _DOWNLOAD_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=_seconds(timeout_s), parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_http)


def fields(reply: str) -> dict[str, str]:
    """The key=value words of a reply ('bytes=4194304 sha256=ab..' -> {'bytes': ..., 'sha256': ...})."""
    return dict(word.split("=", 1) for word in reply.split() if "=" in word)


# Network set-up time seen from inside a new pod: its first command stamps the time, pings PEER
# until a reply comes, prints one line and hands over to agnhost. A container command, so the
# probe runs the moment the pod's network exists, with no exec round trip to blur the stamps.
FIRST_ANSWER_SCRIPT = r"""start=$(date +%s%N); tries=0
until ping -n -c 1 -W 1 "$PEER" >/dev/null 2>&1; do tries=$((tries+1)); sleep 0.05; done
echo "@@first-answer start=$start answered=$(date +%s%N) tries=$tries"
exec /agnhost pause"""


@dataclass(frozen=True)
class FirstAnswer:
    start_ns: int       # the pod's first command ran (sandbox and network set up, container started)
    answered_ns: int    # its first packet to the peer was answered
    tries: int          # pings that went unanswered before that


def parse_first_answer(log: str) -> FirstAnswer | None:
    for line in log.splitlines():
        if line.startswith("@@first-answer "):
            words = fields(line)
            try:
                return FirstAnswer(int(words["start"]), int(words["answered"]), int(words["tries"]))
            except (KeyError, ValueError):
                return None
    return None
