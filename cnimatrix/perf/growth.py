"""How the cost of catching up grows: the steps each curve takes, the waiter that times the first
correct answer, and the curve records that go to summary.json (metrics.perf.growth).

The waiter runs in a client pod before the change is made: every few milliseconds it opens a
new connection to the address the change will serve, sends an HTTP GET, and stops at the first
answer from an expected backend. Kind nodes share the host's kernel clock, so the pod's stamp and
the suite's stamp of the API call that made the change are on one clock.
"""
from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Curve:
    id: str
    title: str
    unit: str          # what the steps count
    env: str           # the variable that overrides the steps
    steps: tuple[int, ...]


# Default steps. Pods are what costs: on this 2-core host under load, flannel took 171 s to add
# the backends from 50 to 150 and 136 s to fill 60 namespaces with one pod each, which alone
# exceeds the suite's 8-minute budget. So the pod curves stop at 60 backends and 30 namespaces
# by default; the 150 and 60 are one variable away (docs/checks.md: Performance).
CURVES = (
    Curve("service_backends", "A new Service answers, with N ready backends behind it", "ready backends",
          "CNIMATRIX_PERF_BACKENDS", (10, 30, 60)),
    Curve("network_policies", "One more NetworkPolicy takes effect, with N already in place", "NetworkPolicies",
          "CNIMATRIX_PERF_POLICIES", (10, 100, 300)),
    Curve("namespaces", "A pod in a new namespace gets its first answer, with N namespaces of workloads", "namespaces",
          "CNIMATRIX_PERF_NAMESPACES", (1, 10, 30)),
    # API objects only (selector-less Services with hand-made EndpointSlices): the steps.
    Curve("service_count", "The Nth Service answers through its ClusterIP (N - 1 others in place)", "Services",
          "CNIMATRIX_PERF_SERVICES", (100, 1000, 5000)),
)
CURVES_BY_ID = {c.id: c for c in CURVES}


class BadSteps(ValueError):
    pass


def parse_steps(text: str) -> tuple[int, ...]:
    """'10,50,150' -> (10, 50, 150): positive, strictly increasing."""
    try:
        steps = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise BadSteps(f"steps must be comma-separated whole numbers, not {text!r}") from None
    if not steps or any(s <= 0 for s in steps) or any(b <= a for a, b in zip(steps, steps[1:])):
        raise BadSteps(f"steps must be positive and increasing, not {text!r}")
    return steps


def steps_for(curve: Curve, environ: Mapping[str, str] = os.environ) -> tuple[int, ...]:
    text = environ.get(curve.env, "").strip()
    return parse_steps(text) if text else curve.steps


def fixed_service_ip(service_cidr: str, index: int) -> str:
    """An address for a Service created with a chosen ClusterIP, so the waiter can aim at it
    before it exists: counted down from the top of the range, where the API server's random
    allocation rarely lands (a taken one is refused and the next index is tried)."""
    network = ipaddress.ip_network(service_cidr, strict=False)
    if index < 0 or index + 2 >= network.num_addresses:
        raise ValueError(f"no address {index} from the top of {service_cidr}")
    return str(network.broadcast_address - 1 - index)


# Opens a connection every INTERVAL seconds (each with TIMEOUT), GET /hostname on each, until a
# reply names one of the expected pods or the deadline passes. Prints '@@waiting' once it runs,
# then '@@answer at=<ns> started=<ns> tries=<n> from=<name>' or '@@gave-up tries=<n> last=<why>'.
_WAITER = r"""perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time,sleep -e '
  my ($host, $port, $interval, $timeout, $deadline, $names) = @ARGV;
  my %want = map { $_ => 1 } split /,/, $names; my (%live, $last); my $tries = 0; my $start = time;
  $| = 1; print "\@\@waiting\n";
  my $next = 0;
  while (time - $start < $deadline) {
    my $now = time;
    if ($now >= $next) { $next = $now + $interval; $tries++;
      my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "tcp", Blocking => 0);
      if ($s) { $live{fileno $s} = {sock => $s, t => $now, buf => "", sent => 0} } else { $last = "socket: $!" } }
    for my $fd (keys %live) { if ($now - $live{$fd}{t} > $timeout) { close $live{$fd}{sock}; delete $live{$fd}; $last = "timed out" } }
    my ($r, $w) = (IO::Select->new, IO::Select->new);
    for my $p (values %live) { ($p->{sent} ? $r : $w)->add($p->{sock}) }
    my ($readable, $writable) = IO::Select->select($r, $w, undef, 0.005);
    for my $s (@{$writable || []}) { my $p = $live{fileno $s};
      if (my $err = $s->sockopt(Socket::SO_ERROR())) { local $! = $err; $last = "connect: $!"; close $s; delete $live{fileno $s}; next }
      $p->{sent} = 1; syswrite($s, "GET /hostname HTTP/1.0\r\nHost: $host\r\n\r\n") }
    for my $s (@{$readable || []}) { my $p = $live{fileno $s} or next;
      my $n = sysread($s, my $chunk, 4096);
      if ($n) { $p->{buf} .= $chunk; next }
      my (undef, $body) = split /\r\n\r\n/, $p->{buf}, 2; $body //= ""; $body =~ s/\s+//g;
      close $s; delete $live{fileno $s};
      if ($want{$body}) { printf "\@\@answer at=%d started=%d tries=%d from=%s\n", time * 1e9, $p->{t} * 1e9, $tries, $body; exit 0 }
      $last = "answer from " . ($body eq "" ? "nobody" : $body) }
    sleep(0.001) unless %live;
  }
  print "\@\@gave-up tries=$tries last=", ($last // "nothing"), "\n"; exit 1' ARGS"""


def waiter_script(host: str, port: int, expected: Sequence[str], *, interval_s: float = 0.02, timeout_s: float = 1.0,
                  deadline_s: float = 120) -> str:
    args = [host, str(port), f"{interval_s:g}", f"{timeout_s:g}", f"{deadline_s:g}", ",".join(expected)]
    return _WAITER.replace("ARGS", " ".join(shlex.quote(a) for a in args))


@dataclass(frozen=True)
class Answer:
    at_ns: int | None          # the first correct answer arrived (None: it never came)
    started_ns: int | None     # the connection that got it was opened
    tries: int
    source: str                # who answered, or why the waiter gave up


def parse_waiter(output: str) -> Answer | None:
    """The waiter's verdict, or None when it printed none (the exec broke)."""
    for line in output.splitlines():
        if line.startswith("@@answer ") or line.startswith("@@gave-up "):
            words = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
            tries = int(words.get("tries", "0")) if words.get("tries", "0").isdigit() else 0
            if line.startswith("@@answer "):
                try:
                    return Answer(int(words["at"]), int(words["started"]), tries, words.get("from", ""))
                except (KeyError, ValueError):
                    return None
            return Answer(None, None, tries, line.split("last=", 1)[-1].strip())
    return None


@dataclass
class Point:
    """One step of a curve: N in place, then the change, and how long until its first answer."""

    n: int
    seconds: float | None = None           # change made -> first correct answer
    setup_s: float | None = None           # how long putting the N in place took (not the measure)
    detail: dict = field(default_factory=dict)
    problem: str = ""

    def record(self) -> dict:
        out = {"n": self.n, "s": self.seconds, "setup_s": self.setup_s}
        if self.detail:
            out["detail"] = self.detail
        if self.problem:
            out["problem"] = self.problem
        return out


def curve_record(curve: Curve, points: Sequence[Point], **extra) -> dict:
    """metrics.perf.growth.<curve>: what was counted, the points, and the steps asked for."""
    return {"title": curve.title, "unit": curve.unit, "steps": [p.n for p in points],
            "points": [p.record() for p in points], **extra}


def seconds_between(start_ns: int | None, end_ns: int | None) -> float | None:
    if start_ns is None or end_ns is None:
        return None
    return round((end_ns - start_ns) / 1e9, 3)
