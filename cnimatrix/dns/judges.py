"""The judges the DNS suite (suites/dns) holds its answers to: each is named for what it requires
and returns `(matched, reason)` for `expect`; and the reading of a resolv.conf's options.

Nothing here talks to a cluster: the suite observes (suites/dns/dns_checks.py), these functions
say what the observation means, and tests/unit/test_dns_judges.py pins them down.
"""
from __future__ import annotations

from collections import Counter

NXDOMAIN = "NXDOMAIN"   # an expected answer: the name does not exist


def describe(results) -> str:
    """Each distinct answer once, with how many times it came when more than once."""
    lines = Counter(f"{r.name} {r.qtype}: {r.outcome.value} {r.status} {sorted(r.values()) or r.error[:80]}" for r in results)
    return "; ".join(line if count == 1 else f"{line} (x{count})" for line, count in lines.items())


# --- parsers ---------------------------------------------------------------------------------

def resolv_options(lines: list[list[str]]) -> list[str]:
    return next((line[1:] for line in lines if line[0] == "options"), [])


# --- judges ---------------------------------------------------------------------------------

def answered_as(expected: dict[tuple[str, str], set[str] | str]):
    """Every query answered: NOERROR with exactly the expected record values, or NXDOMAIN where
    that is what is expected."""
    def wrong(r) -> bool:
        want = expected[(r.name, r.qtype)]
        if want == NXDOMAIN:
            return not r.ok or r.status != NXDOMAIN
        return not r.ok or r.status != "NOERROR" or r.values() != want

    def judge(results):
        bad = [r for r in results if wrong(r)]
        return not bad, describe(bad) or "all answers as expected"
    return judge


def noerror_without_records(results):
    """The one answer is NOERROR and carries neither AAAA nor A records."""
    r = results[0]
    stray = sorted(r.values("A"))
    return (r.ok and r.status == "NOERROR" and not r.values("AAAA") and not stray,
            describe(results) + (f"; A records in the answer: {stray}" if stray else ""))


def cname_to(alias: str, target: str, ip: str):
    """`alias` answers a CNAME to `target`, and `target`'s A record `ip` with it."""
    def judge(results):
        r = results[0]
        ok = r.ok and r.status == "NOERROR" and r.values("CNAME") == {target + "."} and r.values("A") == {ip}
        return ok, f"{alias} -> CNAME {sorted(r.values('CNAME'))}, A {sorted(r.values('A'))} ({r.status or r.error})"
    return judge


def only_address(ip: str):
    """The answer is NOERROR with `ip` its one A record."""
    return lambda r: (r.status == "NOERROR" and r.values() == {ip}, f"{r.status} {sorted(r.values())}, want {ip}")


def nxdomain(r):
    """The answer came, and says the name does not exist."""
    return r.ok and r.status == NXDOMAIN, f"{r.status or r.error} {sorted(r.values())}"


def ready_ips_answered(name: str, count: int):
    """`count` pods ready, and `name` answers exactly their IPs."""
    def judge(obs):
        ready, answer = obs
        if len(ready) != count:
            return False, f"{len(ready)} ready pods, waiting for {count}"
        ok = answer.ok and answer.status == "NOERROR" and answer.values() == ready
        return ok, f"{name} -> {sorted(answer.values())} ({answer.status or answer.error}), ready {sorted(ready)}"
    return judge


def srv_as_specified(web: str, headless: str):
    """The Service's SRV records carry its ports and its name; the headless one has one record per
    ready pod on port 8080, whose targets resolve to the ready pod IPs."""
    def judge(obs):
        ready, (tcp, udp, head), resolved = obs
        problems = []
        if tcp.values() != {f"0 100 80 {web}."}:
            problems.append(f"_http._tcp.web -> {sorted(tcp.values()) or tcp.status}")
        if udp.values() != {f"0 100 81 {web}."}:
            problems.append(f"_echo._udp.web -> {sorted(udp.values()) or udp.status}")
        ports = {data.split()[2] for data in head.values()}
        if len(head.values()) != len(ready) or ports != {"8080"}:
            problems.append(f"_http._tcp.web-headless -> {sorted(head.values()) or head.status}, {len(ready)} ready pods")
        target_ips = set().union(*(r.values() for r in resolved)) if resolved else set()
        if target_ips != ready:
            problems.append(f"headless SRV targets resolve to {sorted(target_ips)}, ready pods {sorted(ready)}")
        return not problems, "; ".join(problems) or "SRV as expected"
    return judge


def libc_resolves(names: list[str], ip: str):
    """The libc resolver gives exactly `ip` for each of `names`."""
    return lambda seen: (seen == [{ip}] * len(names), f"{dict(zip(names, map(sorted, seen)))}, want {ip}")
