"""DNS suite: every name Kubernetes' DNS specification promises resolves, and nothing else does.

All queries go to the cluster DNS for names inside the cluster domain; nothing asks for an
Internet name. Lookups are made with dig (exact answers, UDP or TCP) and with the libc resolver
(what applications see: search path, ndots).
"""
from __future__ import annotations

import time

import pytest

from cnimatrix.probe.probes import dns, resolve_latencies
from cnimatrix.stats import latency_summary
from cnimatrix.testkit import deadline, expect
from cnimatrix.testkit.run import run_metrics

pytestmark = pytest.mark.suite("dns")

LATENCY_LOOKUPS = 200


def describe(results) -> str:
    return "; ".join(f"{r.name} {r.qtype}: {r.outcome.value} {r.status} {sorted(r.values()) or r.error[:80]}" for r in results)


def expect_values(expected: dict[tuple[str, str], set[str]]):
    """Judge: every query answered NOERROR with exactly the expected record values."""
    def judge(results):
        wrong = [r for r in results if not r.ok or r.status != "NOERROR" or r.values() != expected[(r.name, r.qtype)]]
        return not wrong, describe(wrong) or "all answers as expected"
    return judge


def libc_lookup(executor, names: list[str]) -> list[set[str]]:
    """IPv4 addresses the client's libc resolver returns for each name (search list, ndots)."""
    script = "; echo @@; ".join(f"getent ahostsv4 {name} | awk '{{print $1}}' | sort -u" for name in names)
    return [set(part.split()) for part in executor.sh(script, timeout_s=30 * len(names)).split("@@")]


@pytest.mark.title("Service A records: FQDN, name.namespace and short name resolve to the ClusterIP, over UDP and TCP")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_service_a_record_forms(dnsenv, record, transport):
    ip = dnsenv.cluster_ip("web")
    fqdn = dnsenv.fqdn("web")
    for node in dnsenv.clients:
        executor = dnsenv.ns.executor(dnsenv.clients[node])

        def observe():
            exact = dns(executor, [(fqdn, "A"), (fqdn + ".", "A")], tcp=transport == "tcp")
            searched = dns(executor, [(f"web.{dnsenv.ns.name}", "A"), ("web", "A")], tcp=transport == "tcp", search=True)
            return exact + searched

        expected = {(q, "A"): {ip} for q in (fqdn, fqdn + ".", f"web.{dnsenv.ns.name}", "web")}
        expect(record, f"{transport}-{node.rsplit('-', 1)[-1]}", observe, expect_values(expected),
               timeout="steady", stable=2, what=f"A records over {transport} from {node}")


@pytest.mark.title("Cross-namespace names resolve; a bare short name does not reach into another namespace")
def test_cross_namespace_names(dnsenv, record):
    ip = dnsenv.cluster_ip("web")
    fqdn = dnsenv.fqdn("web")
    # What the other namespace's search list makes of a bare "web", asked explicitly so that no
    # query falls through to a name outside the cluster domain.
    bare = [f"web.{dnsenv.other.name}.svc.{dnsenv.domain}", f"web.svc.{dnsenv.domain}", f"web.{dnsenv.domain}"]

    def observe():
        return (dns(dnsenv.other_client(), [(fqdn, "A")] + [(name, "A") for name in bare])
                + dns(dnsenv.other_client(), [(f"web.{dnsenv.ns.name}", "A")], search=True))

    def judge(results):
        wrong = [r for r in results[:1] + results[-1:] if not r.ok or r.status != "NOERROR" or r.values() != {ip}]
        wrong += [r for r in results[1:-1] if not r.ok or r.status != "NXDOMAIN"]
        return not wrong, describe(wrong) or "as expected"

    expect(record, "cross-namespace", observe, judge,
           timeout="steady", stable=2, what=f"from namespace {dnsenv.other.name}")


@pytest.mark.title("AAAA for an IPv4-only Service answers NOERROR with no records")
def test_aaaa_on_single_stack(dnsenv, record):
    service = dnsenv.ns.service("web")
    if "IPv6" in (service.spec.ip_families or []):
        pytest.skip("the Service has an IPv6 family: this check is for single-stack IPv4 clusters")

    def judge(results):
        r = results[0]
        return r.ok and r.status == "NOERROR" and not r.values("AAAA") and not r.values("A"), describe(results)

    expect(record, "aaaa", lambda: dns(dnsenv.client(), [(dnsenv.fqdn("web"), "AAAA")]), judge,
           timeout="steady", stable=2, what="AAAA on a single-stack Service")


@pytest.mark.title("A headless Service answers exactly the ready pod IPs and follows scaling and readiness")
def test_headless_follows_ready_endpoints(dnsenv, record):
    name = dnsenv.fqdn("web-headless")

    def observe():
        return {p.ip for p in dnsenv.ready()}, dns(dnsenv.client(), [(name, "A")])[0]

    def judge_count(count):
        def judge(obs):
            ready, answer = obs
            if len(ready) != count:
                return False, f"{len(ready)} ready pods, waiting for {count}"
            ok = answer.ok and answer.status == "NOERROR" and answer.values() == ready
            return ok, f"{name} -> {sorted(answer.values())} ({answer.status or answer.error}), ready {sorted(ready)}"
        return judge

    expect(record, "initial", observe, judge_count(3),
           timeout="steady", stable=2, what="headless answers before any change")
    try:
        for replicas, label in ((5, "scale-up"), (2, "scale-down")):
            dnsenv.ns.scale("web", replicas)
            # Pods starting is the cluster's work, not DNS's: the answer is judged once they are ready.
            started = time.monotonic()
            dnsenv.ns.wait_deployment("web", timeout_s=deadline("slow"))
            record.metrics.setdefault("pods_ready_s", {})[label] = round(time.monotonic() - started, 1)
            expect(record, label, observe, judge_count(replicas),
                   timeout="change", stable=3, what=f"headless answers after {label} to {replicas}")
        victim = dnsenv.ready()[0]
        flip = dnsenv.ns.executor(victim.name, "netexec")
        flip.sh("touch /tmp/unready", timeout_s=20)
        try:
            expect(record, "unready", observe, judge_count(1),
                   timeout="change", stable=3, what=f"headless answers after {victim.name} turned unready")
        finally:
            flip.sh("rm -f /tmp/unready", timeout_s=20)
        expect(record, "ready-again", observe, judge_count(2),
               timeout="change", stable=3, what=f"headless answers after {victim.name} turned ready again")
    finally:
        dnsenv.ns.scale("web", 3)
        dnsenv.ns.wait_deployment("web")


@pytest.mark.title("SRV records for named ports: the Service's port and name; one record per ready pod when headless")
def test_srv_records(dnsenv, record):
    domain_dot = lambda name: name + "."
    web, headless = dnsenv.fqdn("web"), dnsenv.fqdn("web-headless")

    def observe():
        ready = {p.ip for p in dnsenv.ready()}
        answers = dns(dnsenv.client(), [(f"_http._tcp.{web}", "SRV"), (f"_echo._udp.{web}", "SRV"),
                                        (f"_http._tcp.{headless}", "SRV")])
        targets = sorted({data.split()[3] for _, t, data in answers[2].records if t == "SRV"})
        resolved = dns(dnsenv.client(), [(t, "A") for t in targets])
        return ready, answers, resolved

    def judge(obs):
        ready, (tcp, udp, head), resolved = obs
        problems = []
        if tcp.values() != {f"0 100 80 {domain_dot(web)}"}:
            problems.append(f"_http._tcp.web -> {sorted(tcp.values()) or tcp.status}")
        if udp.values() != {f"0 100 81 {domain_dot(web)}"}:
            problems.append(f"_echo._udp.web -> {sorted(udp.values()) or udp.status}")
        ports = {data.split()[2] for data in head.values()}
        if len(head.values()) != len(ready) or ports != {"8080"}:
            problems.append(f"_http._tcp.web-headless -> {sorted(head.values()) or head.status}, {len(ready)} ready pods")
        target_ips = set().union(*(r.values() for r in resolved)) if resolved else set()
        if target_ips != ready:
            problems.append(f"headless SRV targets resolve to {sorted(target_ips)}, ready pods {sorted(ready)}")
        return not problems, "; ".join(problems) or "SRV as expected"

    expect(record, "srv", observe, judge,
           timeout="steady", stable=2, what="SRV records")


@pytest.mark.title("A pod with hostname and subdomain, and each StatefulSet pod, resolve by name")
def test_pod_hostname_and_statefulset_names(dnsenv, record):
    named = dnsenv.ns.pods("app=named")[0]
    db = {p.name: p.ip for p in dnsenv.ns.pods("app=db")}
    expected = {(f"alpha.{dnsenv.fqdn('sub')}", "A"): {named.ip}}
    expected.update({(f"{pod}.{dnsenv.fqdn('db')}", "A"): {ip} for pod, ip in db.items()})
    expect(record, "pod-names", lambda: dns(dnsenv.client(), list(expected)), expect_values(expected),
           timeout="steady", stable=2, what="pod and StatefulSet names")


@pytest.mark.title("An ExternalName Service is a CNAME to its in-cluster target, which resolves")
def test_external_name_cname(dnsenv, record):
    alias, target, ip = dnsenv.fqdn("alias"), dnsenv.fqdn("web"), dnsenv.cluster_ip("web")

    def judge(results):
        r = results[0]
        ok = r.ok and r.status == "NOERROR" and r.values("CNAME") == {target + "."} and r.values("A") == {ip}
        return ok, f"{alias} -> CNAME {sorted(r.values('CNAME'))}, A {sorted(r.values('A'))} ({r.status or r.error})"

    expect(record, "externalname", lambda: dns(dnsenv.client(), [(alias, "A")]), judge,
           timeout="steady", stable=2, what="ExternalName")


@pytest.mark.title("A name that does not exist is NXDOMAIN at once, not a timeout")
def test_missing_name_is_nxdomain(dnsenv, record):
    queries = [(dnsenv.fqdn("no-such-service"), "A"), (f"no-such-pod.{dnsenv.fqdn('web-headless')}", "A"),
               (f"_nope._tcp.{dnsenv.fqdn('web')}", "SRV")]

    def judge(results):
        wrong = [r for r in results if not r.ok or r.status != "NXDOMAIN"]
        return not wrong, describe(wrong) or "NXDOMAIN"

    expect(record, "nxdomain", lambda: dns(dnsenv.client(), queries, timeout_s=2), judge,
           timeout="steady", stable=2, what="names that do not exist")


@pytest.mark.title("A deleted Service stops resolving; recreated, it resolves to its new ClusterIP")
def test_deleted_service_stops_resolving(dnsenv, record):
    name = dnsenv.fqdn("ephemeral")
    dnsenv.ns.apply("dns/ephemeral")
    first_ip = dnsenv.cluster_ip("ephemeral")
    answer = lambda: dns(dnsenv.client(), [(name, "A")])[0]

    expect(record, "created", answer, lambda r: (r.status == "NOERROR" and r.values() == {first_ip}, f"{r.status} {sorted(r.values())}"),
           timeout="change", stable=2, what=f"{name} after creation ({first_ip})")
    dnsenv.ns.core.delete_namespaced_service("ephemeral", dnsenv.ns.name)
    expect(record, "deleted", answer, lambda r: (r.ok and r.status == "NXDOMAIN", f"{r.status or r.error} {sorted(r.values())}"),
           timeout="change", stable=3, what=f"{name} after deletion")
    dnsenv.ns.apply("dns/ephemeral")
    second_ip = dnsenv.cluster_ip("ephemeral")
    record.metrics["ips"] = {"first": first_ip, "second": second_ip}
    expect(record, "recreated", answer, lambda r: (r.status == "NOERROR" and r.values() == {second_ip}, f"{r.status} {sorted(r.values())}, new IP {second_ip}"),
           timeout="change", stable=3, what=f"{name} after recreation")


@pytest.mark.title("dnsPolicy None with dnsConfig is written to resolv.conf and used for resolution")
def test_dns_policy_none_with_dns_config(dnsenv, record):
    dnsenv.ns.apply("dns/custom-dns-client", ns=dnsenv.ns.name, domain=dnsenv.domain, nameserver=dnsenv.dns_ip)
    dnsenv.ns.wait_pods_ready("app=custom-dns", 1, timeout_s=120)
    custom = dnsenv.ns.executor("custom-dns")
    lines = [line.split() for line in custom.sh("cat /etc/resolv.conf", timeout_s=20).splitlines() if line.strip() and not line.startswith("#")]
    assert ["nameserver", dnsenv.dns_ip] in lines, f"resolv.conf: {lines}"
    assert ["search", f"{dnsenv.ns.name}.svc.{dnsenv.domain}", f"svc.{dnsenv.domain}"] in lines, f"resolv.conf: {lines}"
    options = next((line[1:] for line in lines if line[0] == "options"), [])
    assert "ndots:2" in options and "timeout:2" in options, f"resolv.conf options: {options}"
    ip = dnsenv.cluster_ip("web")

    names = ["web", f"web.{dnsenv.ns.name}"]
    expect(record, "custom-search", lambda: libc_lookup(custom, names), lambda o: (o == [{ip}, {ip}], f"{dict(zip(names, map(sorted, o)))}, want {ip}"),
           timeout="steady", stable=2, what="resolution with the custom search list")


@pytest.mark.title("The default search path makes 'svc' and 'svc.ns' resolve for applications (libc)")
def test_default_search_path(dnsenv, record):
    ip = dnsenv.cluster_ip("web")
    names = ["web", f"web.{dnsenv.ns.name}"]
    expect(record, "default-search", lambda: libc_lookup(dnsenv.client(), names), lambda o: (o == [{ip}, {ip}], f"{dict(zip(names, map(sorted, o)))}, want {ip}"),
           timeout="steady", stable=2, what="default search path")


@pytest.mark.title("Resolution latency p50/p99 from every worker (measured, reported in summary.json)")
def test_resolution_latency(dnsenv, record, request):
    name = dnsenv.fqdn("web") + "."
    per_node, all_times, failures = {}, [], 0
    for node in dnsenv.workers:
        times, failed = resolve_latencies(dnsenv.client(node), name, LATENCY_LOOKUPS)
        failures += failed
        all_times += times
        per_node[node] = latency_summary(times) if times else None
    metrics = {"name": name, "lookups_per_node": LATENCY_LOOKUPS, "failures": failures,
               "latency_ms": latency_summary(all_times) if all_times else None, "per_node": per_node}
    run_metrics(request, "dns").update(metrics)
    record.metrics.update({"p50_ms": metrics["latency_ms"]["p50"] if all_times else None,
                           "p99_ms": metrics["latency_ms"]["p99"] if all_times else None})
    record.attempts = len(all_times) + failures
    assert failures == 0, f"{failures} of {len(dnsenv.workers) * LATENCY_LOOKUPS} lookups of {name} failed"
