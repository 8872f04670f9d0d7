"""The judges the Service suite (suites/service) holds its observations to: each is named for what
it requires and returns `(matched, reason)` for `expect`.

Nothing here talks to a cluster: the suite observes (suites/service/service_checks.py), these
functions say what the observation means, and tests/unit/test_service_judges.py pins them down.
"""
from __future__ import annotations

from collections import Counter

from cnimatrix.probe.outcomes import Outcome
from cnimatrix.stats import min_requests_for, spread_verdict, sticky_verdict


# --- judges over probe results --------------------------------------------------------------

def hostnames(results) -> Counter:
    return Counter(r.reply for r in results if r.ok)


def failures(results) -> str:
    bad = Counter(f"{r.outcome.value}" for r in results if not r.ok)
    sample = next((r.reply for r in results if not r.ok), "")
    return f"{dict(bad)} e.g. {sample[:120]!r}" if bad else ""


def listed(bad, most: int) -> str:
    return "; ".join(f"{r.target}: {r.outcome.value} {r.reply[:60]!r}" for r in bad[:most])


def never_answered(results, expected: set[str], placed: dict[str, str] | None = None) -> str:
    """The backends of `expected` no probe was answered by, each with where it is when known."""
    seen = hostnames(results)
    return ", ".join(f"{name} ({placed[name]})" if placed and name in placed else name
                     for name in sorted(expected - set(seen)))


def spread_over(expected: set[str], placed: dict[str, str] | None = None):
    """Every probe answered, and the answers spread evenly over `expected` (`placed`: backend ->
    "IP on node", to say which backend a failure points at)."""
    def judge(results):
        if any(not r.ok for r in results):
            never = never_answered(results, expected, placed)
            return False, (f"{sum(not r.ok for r in results)}/{len(results)} probes failed: {failures(results)}"
                           + (f"; never answered by {never}" if never else "; every backend answered some"))
        verdict = spread_verdict(hostnames(results), expected)
        return verdict.ok, verdict.reason or f"spread ok, p={verdict.p_value:.3g}"
    return judge


def reaches_each_of(expected: set[str], placed: dict[str, str] | None = None):
    """Every probe answered by one of `expected`, and each of them answered at least once (sent
    min_requests_for(len(expected)) times, a fair balancer misses one with p < 1e-6)."""
    def judge(results):
        failed = sum(not r.ok for r in results)
        strangers = sorted({r.reply for r in results if r.ok and r.reply not in expected})
        never = never_answered(results, expected, placed)
        problems = [f"{failed}/{len(results)} failed: {failures(results)}"] if failed else []
        problems += [f"answered by {strangers[:3]}, not a ready backend"] if strangers else []
        problems += [f"never answered by {never}"] if never else []
        return not problems, "; ".join(problems) or f"{len(results)} answered by all {len(expected)} backends"
    return judge


def all_answered_by_itself(pod: str):
    """Every hairpin request answered, by the pod that sent it."""
    def judge(results):
        bad = [r for r in results if not r.ok or r.reply != pod]
        return not bad, f"{len(bad)}/{len(results)} hairpin requests failed: {failures(bad) or [r.reply for r in bad]}"
    return judge


def sticky_to_one_of(ready: set[str]):
    """Every probe answered, all by one backend, and that one ready."""
    def judge(results):
        if any(not r.ok for r in results):
            return False, f"probes failed: {failures(results)}"
        ok, reason = sticky_verdict([r.reply for r in results])
        return ok and results[0].reply in ready, reason or "sticky"
    return judge


def echo_then_hostnames(message: str, echoes: int, ready: set[str]):
    """The first `echoes` probes echo `message` (the http port), the rest are answered by a ready
    backend (the hostname port), every ready backend among them."""
    def judge(results):
        http_port, hostname_port = results[:echoes], results[echoes:]
        bad = [r for r in http_port if not r.ok or r.reply != message]
        bad += [r for r in hostname_port if not r.ok or r.reply not in ready]
        never = never_answered(hostname_port, ready)
        problems = [f"{len(bad)}/{len(results)} bad: {listed(bad, 4)}"] if bad else []
        problems += [f"hostname port never answered by {never}"] if never else []
        return not problems, "; ".join(problems) or f"{echoes} echoes and {len(hostname_port)} hostnames from all {len(ready)} backends"
    return judge


def none_answered(results):
    """No probe answered (a refusal is no answer)."""
    answered = [r for r in results if r.ok]
    return not answered, f"{len(answered)}/{len(results)} answered from a node without local backends: {[r.reply for r in answered][:3]}"


def silently_dropped(results):
    """No probe answered, not even with a refusal."""
    answered = [r for r in results if r.ok or r.outcome is Outcome.REFUSED]
    refused = sum(r.outcome is Outcome.REFUSED for r in answered)
    how = f" ({refused} refused, {len(answered) - refused} served)" if answered else ""
    return not answered, f"{len(answered)} of {len(results)} got an answer from a node without local backends{how}"


def local_and_from(local: set[str], client_ip: str):
    """/hostname answered by a node-local backend, /clientip showing the client's own address."""
    def judge(results):
        names = [r for r in results if r.target.endswith("/hostname")]
        sources = [r for r in results if r.target.endswith("/clientip")]
        bad = [r for r in names if not r.ok or r.reply not in local]
        bad += [r for r in sources if not r.ok or r.reply.rsplit(":", 1)[0] != client_ip]
        never = never_answered(names, local)
        return not bad and not never, "; ".join(filter(None, [listed(bad, 4), never and f"never answered by {never}"]))
    return judge


def external_local_check(ip: str, port: int, local: set[str], client_ip: str):
    """Targets and judge for externalTrafficPolicy Local through one node: answered locally with
    the client's source kept where backends run, dropped where none do."""
    if local:
        # enough requests that each local backend answers some (a fair balancer misses one with p < 1e-6)
        hostnames_n = min_requests_for(len(local))
        return [f"{ip}:{port}/hostname"] * hostnames_n + [f"{ip}:{port}/clientip"] * 3, local_and_from(local, client_ip)
    return [f"{ip}:{port}/hostname"] * 3, silently_dropped


# --- judges over (ready, results) observations ----------------------------------------------

def traffic_matches_ready(count: int):
    """`count` backends ready, and exactly they answer."""
    def judge(obs):
        ready, results = obs
        if len(ready) != count:
            return False, f"{len(ready)} ready backends, waiting for {count}"
        if any(not r.ok for r in results):
            return False, f"probes failed: {failures(results)}"
        seen = set(hostnames(results))
        if seen != ready:
            return False, f"answered by {sorted(seen)}, ready are {sorted(ready)}"
        return True, "traffic matches the ready set"
    return judge


def gets_no_traffic(victim: str):
    """`victim` is not Ready and answers none of the (all answered) probes."""
    def judge(obs):
        ready, results = obs
        if victim in ready:
            return False, f"{victim} still Ready"
        if any(not r.ok for r in results):
            return False, f"probes failed: {failures(results)}"
        hits = hostnames(results)[victim]
        return hits == 0, f"unready {victim} answered {hits} of {len(results)}"
    return judge


def gets_traffic_again(victim: str):
    """`victim` is Ready again and answers some of the (all answered) probes."""
    def judge(obs):
        ready, results = obs
        hits = hostnames(results)[victim]
        return victim in ready and hits > 0 and all(r.ok for r in results), \
            f"{victim} ready={victim in ready}, answered {hits}; {failures(results)}"
    return judge


def resolves_to_ready_pods(name: str):
    """`name` resolves to exactly the ready pod IPs, and each answers as its own pod."""
    def judge(obs):
        ready, resolved, answers = obs
        if resolved != set(ready):
            return False, f"{name} -> {sorted(resolved)}, ready pod IPs {sorted(ready)}"
        wrong = [a for a in answers if not a.ok or a.reply != ready[a.target.split(':')[0]]]
        return not wrong, f"{len(wrong)} pod IPs did not answer as their pod: {failures(wrong) or [a.reply for a in wrong]}"
    return judge
