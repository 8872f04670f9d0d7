"""The probes the suites send: real requests from a client, many in one exec, each result a
ProbeResult (or DnsResult). One exec per batch keeps hundreds of probes cheap and their timing honest."""
from __future__ import annotations

import shlex

from cnimatrix.probe.executors import Executor, ask_once
from cnimatrix.probe.outcomes import (DnsResult, ProbeResult, classify_http, classify_ping, classify_udp, parse_dig,
                                      parse_lines)
from cnimatrix.probe.programs import (DATAGRAM, DIG_LOOP, DOWNLOAD_LOOP, MUX_SERVER, PARALLEL, PING_LOOP,
                                      RESOLVE_TIMING, UDP_LOOP)


def http(executor: Executor, targets: list[str], timeout_s: float = 2.0) -> list[ProbeResult]:
    """GET http://<target> for each target (host:port/path), all at once from one MUX process in a
    new exec (so callers in threads never wait on each other's kept session). Its deadlines are
    judged after its reads: a client descheduled on a loaded host does not call an answer a timeout,
    which a curl per request did (CI: 2 of 53 ClusterIP requests 'timed out after 3167 ms' at 2 s)."""
    if not targets:
        return []
    answer = ask_once(executor, MUX_SERVER, _mux_request(timeout_s, [f"t|{t}" for t in targets]), timeout_s + 60)
    return parse_lines(answer, targets, classify_http)


def udp(executor: Executor, targets: list[str], payload: str = "hostname", timeout_s: float = 2.0,
        parallel: int = PARALLEL) -> list[ProbeResult]:
    """Send one datagram to each host:port and read one reply (agnhost netexec answers 'hostname')."""
    if not targets:
        return []
    script = UDP_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=_seconds(timeout_s),
                             payload=shlex.quote(payload), parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_udp)


def many(executor: Executor, http_targets: list[str], udp_targets: list[str], timeout_s: float = 2.0,
         ) -> tuple[list[ProbeResult], list[ProbeResult]]:
    """HTTP GETs (host:port/path) and UDP 'hostname' datagrams (host:port), all at once from one
    process, through the executor's MUX server (one exec kept open across rounds); results in
    order, classified as `http` and `udp` classify theirs."""
    specs = [f"t|{t}" for t in http_targets] + [f"u|{t}" for t in udp_targets]
    if not specs:
        return [], []
    output = executor.ask(MUX_SERVER, _mux_request(timeout_s, specs), timeout_s=timeout_s + 60)
    tcp = parse_lines(output, http_targets, classify_http)
    # UDP lines are numbered after the TCP ones: renumber them for the shared parser.
    shifted = "\n".join(_shift(line, len(http_targets)) for line in output.splitlines())
    return tcp, parse_lines(shifted, udp_targets, classify_udp)


def _mux_request(timeout_s: float, specs: list[str]) -> str:
    """One MUX request line: the limit, then the probe specs (none may hold whitespace)."""
    if any(len(spec.split()) != 1 for spec in specs):
        raise ValueError(f"a probe target has whitespace: {[s for s in specs if len(s.split()) != 1][:3]}")
    return " ".join([_seconds(timeout_s), *specs])


def _shift(line: str, by: int) -> str:
    if not line.startswith("@@"):
        return line
    index, _, rest = line[2:].partition("\t")
    return f"@@{int(index) - by}\t{rest}" if index.isdigit() else line


def _seconds(value: float) -> str:
    return f"{value:g}"


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
    script = DIG_LOOP.format(timeout=max(1, int(timeout_s)), flags=" ".join(flags), queries=lines)
    output = executor.sh(script, timeout_s=len(queries) * (timeout_s + 2) + 30)
    return parse_dig(output, queries)


def resolve_latencies(executor: Executor, name: str, count: int, budget_s: float = 60) -> tuple[list[float], int]:
    """Resolve `name` `count` times through the client's libc resolver, as applications do, in
    one process; returns the per-lookup milliseconds of the successful lookups and the failures.
    Lookups not started within `budget_s` (a dead resolver makes each one slow) count as failures."""
    script = RESOLVE_TIMING.replace("NAME COUNT BUDGET", f"{shlex.quote(name)} {int(count)} {budget_s:g}")
    output = executor.sh(script, timeout_s=budget_s + 60)
    times = []
    for line in output.splitlines():
        if line.startswith("@@"):
            ms, status = line[2:].split()
            if status == "ok":
                times.append(float(ms))
    return times, count - len(times)


def ping(executor: Executor, targets: list[str], *, size: int | None = None, dont_fragment: bool = False,
         count: int = 1, timeout_s: float = 2.0, parallel: int = PARALLEL) -> list[ProbeResult]:
    """ICMP echo to each address; `size` is the ICMP payload (the IP packet is size + 28 bytes)."""
    if not targets:
        return []
    flags = (f"-s {int(size)} " if size is not None else "") + ("-M do" if dont_fragment else "")
    script = PING_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=max(1, round(timeout_s)),
                              count=count, flags=flags, parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (count * timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_ping)


def datagram(executor: Executor, targets: list[str], size: int, timeout_s: float = 2.0) -> list[ProbeResult]:
    """One never-fragmented UDP datagram of `size` payload bytes to each host:port (netexec echo);
    the reply reads 'bytes=N intact=1' when the same padding came back."""
    if not targets:
        return []
    script = DATAGRAM.replace("LIMIT SIZE TARGETS", " ".join(shlex.quote(str(a)) for a in [_seconds(timeout_s), int(size), *targets]))
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) + 60)
    return parse_lines(output, targets, classify_udp)


def download(executor: Executor, targets: list[str], timeout_s: float = 60.0, parallel: int = 2) -> list[ProbeResult]:
    """GET http://<target> into a file; the reply reads 'bytes=N sha256=HEX' of what arrived."""
    if not targets:
        return []
    script = DOWNLOAD_LOOP.format(targets=" ".join(shlex.quote(t) for t in targets), timeout=_seconds(timeout_s), parallel=parallel)
    output = executor.sh(script, timeout_s=len(targets) * (timeout_s + 1) / parallel + 60)
    return parse_lines(output, targets, classify_http)
