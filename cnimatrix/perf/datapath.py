"""Datapath measurements as data: the routes traffic takes, the tools that measure them (iperf3,
and TCP request/response loops in perl: both in the agnhost fixture image, which has no netperf),
and their parsers.

Every route through the CNI has a baseline route between hostNetwork pods on the same nodes (the
node's own stack, no CNI in the way); the suite measures both in turn, repetition by
repetition, so that the ratio of the two is taken under the same load.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

# Ports the perf workloads serve (manifests/workloads/perf). hostNetwork pods use their own so
# they never collide with the pod servers' or anything else on the node.
IPERF_PORT, RR_PORT = 5201, 5300
HOST_IPERF_PORT, HOST_RR_PORT = 15201, 15300
# NodePorts from the static band (the lowest ports of the range, which the API server leaves to
# explicit requests): iperf3 sends UDP data to the TCP control port's number, so the Service's TCP
# and UDP NodePorts must be one and the same number.
NODE_IPERF_PORT, NODE_RR_PORT = 30071, 30072


@dataclass(frozen=True)
class Route:
    """Traffic from `client` to `target`. Clients: "pod" (a pod on the first worker), "host" (a
    hostNetwork pod on the first worker), "outside" (a container on the kind network). Targets:
    "pod-a"/"pod-b" (a pod server on the first/second worker), "node-a"/"node-b" (a hostNetwork
    server on that node's IP), "cluster-ip" and "node-port" (a Service whose one backend is pod-b;
    the NodePort is addressed on the second worker's IP)."""

    id: str
    title: str
    client: str
    target: str
    baseline: str | None = None    # the hostNetwork route this one is compared with

    @property
    def is_baseline(self) -> bool:
        return self.baseline is None


BASELINES = (
    Route("host-same-node", "hostNetwork pod to the node's own IP", "host", "node-a"),
    Route("host-cross-node", "hostNetwork pod to another node's IP", "host", "node-b"),
    Route("outside-to-node", "Outside client to a node's IP (no Service)", "outside", "node-b"),
)
ROUTES = (
    Route("pod-same-node", "Pod to pod on the same node", "pod", "pod-a", "host-same-node"),
    Route("pod-cross-node", "Pod to pod across nodes", "pod", "pod-b", "host-cross-node"),
    Route("cluster-ip", "Pod to a ClusterIP whose backend is on another node", "pod", "cluster-ip", "host-cross-node"),
    Route("node-port", "Outside client to a NodePort whose backend is on that node", "outside", "node-port",
          "outside-to-node"),
)
ALL_ROUTES = {r.id: r for r in BASELINES + ROUTES}
# Measured in this order in every repetition: each route right after its baseline.
ORDER = ("host-same-node", "pod-same-node", "host-cross-node", "pod-cross-node", "cluster-ip",
         "outside-to-node", "node-port")


@dataclass(frozen=True)
class Settings:
    """How long and how hard: short runs, repeated until the ratios' intervals are narrow enough or a
    cap is hit (a repetition took 25-45 s on 2 cores, so the caps keep the phase within 5 minutes)."""

    min_reps: int = 3                # repetitions before the stopping rule (cnimatrix.perf.repetitions) is asked
    max_reps: int = 10               # the most it may ask for ...
    budget_s: float = 300.0          # ... and no repetition starts that would end the phase after this
    target_relative_half_width: float = 0.10   # enough once every ratio's 95% interval is within +-10% of its median
    seconds: int = 1                 # iperf3 -t per run
    streams: int = 4                 # the multi-stream TCP run
    udp_mbps: int = 50               # the fixed UDP rate (100 lost 20% on the host network under load)
    udp_length: int = 1200           # datagram payload: fits every pod MTU (VXLAN 1450) unfragmented
    rr_count: int = 2000             # request/response round trips per run ...
    rr_budget_s: float = 1.0         # ... or fewer, when this time is up
    rr_size: int = 32                # bytes each way
    crr_count: int = 1000            # connect/request/response transactions per run (a new connection each) ...
    crr_budget_s: float = 1.0        # ... or fewer, when this time is up


# figure -> (label, unit, better): "higher" throughput, "lower" latency/loss
FIGURES = {
    "tcp_1_gbps": ("TCP throughput, 1 stream", "Gbit/s", "higher"),
    "tcp_n_gbps": ("TCP throughput, 4 streams", "Gbit/s", "higher"),
    "udp_gbps": ("UDP throughput at the fixed rate", "Gbit/s", "higher"),
    "udp_loss_pct": ("UDP loss at the fixed rate", "%", "lower"),
    "udp_jitter_ms": ("UDP jitter at the fixed rate", "ms", "lower"),
    "rr_p50_us": ("TCP request/response latency p50", "µs", "lower"),
    "rr_p99_us": ("TCP request/response latency p99", "µs", "lower"),
    "crr_p50_us": ("TCP connect/request/response latency p50", "µs", "lower"),
    "crr_p99_us": ("TCP connect/request/response latency p99", "µs", "lower"),
    "crr_per_s": ("TCP connect/request/response rate, one client", "conn/s", "higher"),
}
# Ratios are taken for these (loss is often 0 on the baseline: shown raw only; the connection rate
# is one client's 1/mean latency, so its ratio would repeat the latency's).
RATIO_FIGURES = ("tcp_1_gbps", "tcp_n_gbps", "udp_gbps", "udp_jitter_ms", "rr_p50_us", "rr_p99_us", "crr_p50_us",
                 "crr_p99_us")


# A TCP echo server: one process multiplexing every connection (TCP_NODELAY), every byte read is
# written back. No fork per connection: with a new connection per transaction (crr) the fork would
# cost more than the network path being measured.
ECHO_SERVER = (
    "exec perl -MIO::Socket::INET -MIO::Select -MSocket=IPPROTO_TCP,TCP_NODELAY -e '"
    "my ($addr, $port) = @ARGV;"
    " my $l = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port, Listen => 1024, ReuseAddr => 1)"
    ' or die "listen $addr:$port: $!";'
    " my $sel = IO::Select->new($l);"
    " while (1) { for my $s ($sel->can_read) {"
    " if ($s == $l) { my $c = $l->accept or next; setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1); $sel->add($c); next }"
    " my $n = sysread($s, my $b, 65536); if ($n) { syswrite($s, $b) } else { $sel->remove($s); close $s } } }'"
    ' "$0" "$1"'
)

# The request/response loops, one program, two modes (like netperf's TCP_RR and TCP_CRR): "rr"
# keeps one connection, "crr" opens a new one per transaction (connect, `size` bytes out and the
# same back, close; the close is not timed but counts in the wall time). Each transaction is
# timed, until `count` or the time budget is spent; the result line ends with the wall time and
# the stalls. The address is resolved once (numeric, IPv4 or IPv6) so a transaction costs only
# its syscalls. A transaction with no answer within `stall` s (a SYN retransmitted twice) is
# abandoned and counted, not timed, and the loop goes on (rr on a new connection): one stall no
# longer costs the run's figures, and the count says how often it happened.
_LOOP_CLIENT = r"""perl -MTime::HiRes=time -MSocket=:addrinfo,SOCK_STREAM,IPPROTO_TCP,TCP_NODELAY -e '
  my ($mode, $host, $port, $count, $budget, $size, $stall) = @ARGV;
  sub fail { print "\@\@$mode error: @_\n"; exit 1 }
  my ($err, $ai) = getaddrinfo($host, $port, {socktype => SOCK_STREAM, flags => AI_NUMERICHOST});
  fail("address $host: $err") if $err;
  sub open_one { socket(my $s, $ai->{family}, SOCK_STREAM, IPPROTO_TCP) or fail("socket: $!");
    connect($s, $ai->{addr}) or fail("connect $host:$port: $!"); setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1); $s }
  my ($s, @us, $stalls); my $msg = "x" x $size; my $start = time;
  while (@us < $count && time - $start < $budget) {
    my $t = time;
    my $done = eval { local $SIG{ALRM} = sub { die "stall\n" }; alarm($stall);
      $s = open_one() if $mode eq "crr" || !$s;
      syswrite($s, $msg) == $size or fail("write: $!");
      my $got = 0;
      while ($got < $size) { my $n = sysread($s, my $b, $size - $got); $n or fail("read: " . (($n // $!) || "closed")); $got += $n }
      alarm(0); 1 };
    alarm(0);
    if (!$done) { die $@ unless $@ eq "stall\n"; $stalls++; close $s if $s; undef $s; next }
    push @us, int((time - $t) * 1e6 + 0.5);
    if ($mode eq "crr") { close $s; undef $s }
  }
  printf "\@\@%s ok %s wall_us=%d stalls=%d\n", $mode, join(",", @us), (time - $start) * 1e6, $stalls' ARGS"""


def iperf3_command(host: str, port: int, settings: Settings, kind: str) -> str:
    """iperf3 client for one run: kind "tcp_1", "tcp_n" or "udp"; JSON on stdout."""
    flags = ["-c", host, "-p", str(port), "-t", str(settings.seconds), "-J", "--connect-timeout", "3000"]
    if kind == "tcp_n":
        flags += ["-P", str(settings.streams)]
    elif kind == "udp":
        flags += ["-u", "-b", f"{settings.udp_mbps}M", "-l", str(settings.udp_length)]
    return f"timeout {settings.seconds + 20} iperf3 " + " ".join(shlex.quote(f) for f in flags)


LOOPS = ("rr", "crr")   # the perl loops; the other kinds are iperf3 runs
STALL_S = 3             # a transaction unanswered this long is abandoned and counted (SYN retries at 1 s, 3 s)


def loop_command(mode: str, host: str, port: int, settings: Settings) -> str:
    """The request/response loop in `mode` "rr" (one connection) or "crr" (a new one per transaction)."""
    if mode not in LOOPS:
        raise ValueError(f"no request/response loop {mode!r}; known: {', '.join(LOOPS)}")
    count, budget = (settings.rr_count, settings.rr_budget_s) if mode == "rr" else (settings.crr_count, settings.crr_budget_s)
    args = [mode, host, str(port), str(count), f"{budget:g}", str(settings.rr_size), f"{STALL_S:g}"]
    return _LOOP_CLIENT.replace("ARGS", " ".join(shlex.quote(a) for a in args))


KINDS = ("tcp_1", "tcp_n", "udp", *LOOPS)


def set_script(host: str, iperf_port: int, rr_port: int, settings: Settings) -> str:
    """One exec: the three iperf3 runs and the two request/response loops, one after the other,
    each between '@@begin KIND' and '@@end KIND RC' lines."""
    parts = []
    for kind in KINDS:
        if kind in LOOPS:
            parts.append(f'echo "@@begin {kind}"; {loop_command(kind, host, rr_port, settings)} 2>&1; echo; echo "@@end {kind} $?"')
            continue
        # An iperf3 server takes a moment to finish the previous test: "busy" or a control
        # connection reset right after one is retried, twice at most.
        parts.append(f'echo "@@begin {kind}"; for try in 1 2 3; do out=$({iperf3_command(host, iperf_port, settings, kind)} 2>&1); '
                     f'rc=$?; case "$out" in *"server is busy"*|*"unable to receive control message"*) sleep 1;; *) break;; esac; '
                     f'done; printf "%s\\n" "$out"; echo "@@end {kind} $rc"')
    return "\n".join(parts)


def split_sections(output: str) -> dict[str, tuple[int | None, str]]:
    """KIND -> (exit code or None when the end line is missing, text between the markers)."""
    sections: dict[str, tuple[int | None, str]] = {}
    current, lines = None, []
    for line in output.splitlines():
        if line.startswith("@@begin "):
            current, lines = line.split()[1], []
        elif line.startswith("@@end ") and current is not None:
            words = line.split()
            code = int(words[2]) if len(words) > 2 and words[2].lstrip("-").isdigit() else None
            sections[current] = (code, "\n".join(lines))
            current = None
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = (None, "\n".join(lines))
    return sections


class MeasurementError(ValueError):
    """A run that produced no figure: the message says what the tool said."""


def parse_iperf3(text: str, kind: str) -> dict[str, float]:
    """Figures from iperf3's JSON: the receiver's rate; for UDP also its jitter and loss."""
    start = text.find("{")
    try:
        doc = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise MeasurementError(f"iperf3 printed no JSON: {' '.join(text.split())[:200]!r}")
    if doc.get("error"):
        raise MeasurementError(f"iperf3: {doc['error']}")
    end = doc.get("end") or {}
    if kind == "udp":
        received = end.get("sum_received") or end.get("sum") or {}
        if "bits_per_second" not in received:
            raise MeasurementError("iperf3 UDP result without a receiver summary")
        return {"udp_gbps": received["bits_per_second"] / 1e9, "udp_loss_pct": float(received.get("lost_percent", 0.0)),
                "udp_jitter_ms": float(received.get("jitter_ms", 0.0))}
    received = end.get("sum_received") or {}
    if "bits_per_second" not in received:
        raise MeasurementError("iperf3 TCP result without a receiver summary")
    key = "tcp_1_gbps" if kind == "tcp_1" else "tcp_n_gbps"
    figures = {key: received["bits_per_second"] / 1e9}
    retransmits = (end.get("sum_sent") or {}).get("retransmits")
    if retransmits is not None:
        figures[key.replace("_gbps", "_retransmits")] = float(retransmits)
    return figures


@dataclass(frozen=True)
class LoopRun:
    """What one request/response loop timed: each transaction's microseconds and the loop's wall time."""

    samples_us: list[int]
    wall_s: float | None = None   # None from output without it
    stalls: int = 0               # transactions abandoned after STALL_S without an answer


def parse_loop(text: str, mode: str = "rr") -> LoopRun:
    """The loop's '@@<mode> ok <us,...> wall_us=<n>' line, or why it gave none."""
    for line in text.splitlines():
        if line.startswith(f"@@{mode} ok"):
            words = line.split()[2:]
            wall = next((w.removeprefix("wall_us=") for w in words if w.startswith("wall_us=")), None)
            stalls = next((w.removeprefix("stalls=") for w in words if w.startswith("stalls=")), "0")
            listed = next((w for w in words if "=" not in w), "")
            samples = [int(v) for v in listed.split(",") if v.strip().isdigit()]
            stalled = int(stalls) if stalls.isdigit() else 0
            if not samples:
                raise MeasurementError(f"the {mode} loop timed no transaction" + (f" ({stalled} stalled past {STALL_S} s)" if stalled else ""))
            return LoopRun(samples, int(wall) / 1e6 if wall and wall.isdigit() else None, stalled)
        if line.startswith(f"@@{mode} error"):
            raise MeasurementError(line.removeprefix("@@").strip())
    raise MeasurementError(f"the {mode} loop printed no result: {' '.join(text.split())[:200]!r}")


def stalled_line(mode: str, run: LoopRun) -> str:
    """The problem line for a loop that abandoned transactions: they are not in its figures."""
    return (f"{mode}: {run.stalls} transaction(s) stalled past {STALL_S} s and were abandoned "
            f"(not in the figures; {len(run.samples_us)} timed)")


def parse_set(output: str) -> tuple[dict[str, float], dict[str, LoopRun], list[str]]:
    """Figures of one set's iperf3 runs, what each request/response loop timed (by mode), and one
    problem line for each run that gave no figure."""
    sections = split_sections(output)
    figures: dict[str, float] = {}
    loops: dict[str, LoopRun] = {}
    problems = []
    for kind in KINDS:
        if kind not in sections:
            problems.append(f"{kind}: no output (exec cut short)")
            continue
        code, text = sections[kind]
        try:
            if kind in LOOPS:
                loops[kind] = parse_loop(text, kind)
                if loops[kind].stalls:
                    problems.append(stalled_line(kind, loops[kind]))
            else:
                figures.update(parse_iperf3(text, kind))
        except MeasurementError as exc:
            suffix = "" if code in (0, None) else f" (exit {code}{', timed out' if code == 124 else ''})"
            problems.append(f"{kind}: {exc}{suffix}")
    return figures, loops, problems
