"""DNS suite: every name Kubernetes' DNS specification promises resolves, and nothing else does.

All queries go to the cluster DNS for names inside the cluster domain; nothing asks for an
Internet name. Lookups are made with dig (exact answers, UDP or TCP) and with the libc resolver
(what applications see: search path, ndots). The observations are in dns_checks.py, the judges in
cnimatrix/dns/judges.py.
"""
from __future__ import annotations

import pytest

from cnimatrix.dns.judges import (NXDOMAIN, answered_as, cname_to, libc_resolves, noerror_without_records, nxdomain,
                                  only_address, ready_ips_answered, resolv_options, srv_as_specified)
from cnimatrix.probe.probes import dns
from cnimatrix.testkit import expect
from cnimatrix.testkit.cells import each_cell, node_id
from cnimatrix.testkit.run import run_metrics
from dns_checks import (headless_answer, libc_lookup, lookup, lookup_latencies, resolv_conf, scale_until_ready,
                        srv_answers, unready)

pytestmark = pytest.mark.suite("dns")

LATENCY_LOOKUPS = 200
# Each name of a round asked this often from every node: a query through the Service lands on one
# of kubeadm's two CoreDNS replicas by chance, so a replica that answers wrong is missed in a round
# with (1/2)^(4 names x 5) < 1e-6 per node.
REPEAT = 5


@pytest.mark.title("Service A records: FQDN, name.namespace and short name resolve to the ClusterIP, over UDP and TCP")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_service_a_record_forms(dnsenv, record, transport):
    ip, fqdn = dnsenv.cluster_ip("web"), dnsenv.fqdn("web")
    exact, searched = [fqdn, fqdn + "."], [f"web.{dnsenv.ns.name}", "web"]
    judge = each_cell(answered_as({(name, "A"): {ip} for name in exact + searched}), "clients")
    # every node's client in one observation, so a failure says which nodes resolve and which do not
    observe = lambda: {f"from {node_id(node)}": lookup(dnsenv.client(node), exact * REPEAT, searched * REPEAT, tcp=transport == "tcp")
                       for node in dnsenv.clients}
    expect(record, transport, observe, judge, timeout="steady", stable=2, what=f"A records over {transport}")


@pytest.mark.title("Every CoreDNS replica, asked directly from every node, answers a Service name and a missing name alike")
def test_every_dns_replica_answers(dnsenv, record):
    fqdn, missing = dnsenv.fqdn("web"), dnsenv.fqdn("cnimatrix-no-such-service")
    expected = {(fqdn, "A"): {dnsenv.cluster_ip("web")}, (missing, "A"): NXDOMAIN}
    # Through the Service a query picks a replica by chance; here every (node, replica) cell is
    # asked, so one replica wrong, or one node's path to it cut, fails the cells it names.
    def observe():
        replicas = sorted(dnsenv.dns_replicas().items())
        return {(f"from {node_id(node)}", f"{name} ({ip})"): dns(dnsenv.client(node), list(expected), server=ip)
                for node in dnsenv.clients for name, ip in replicas}
    expect(record, "replicas", observe, each_cell(answered_as(expected), "node -> replica cells"),
           timeout="steady", stable=2, what="CoreDNS replicas asked directly")


@pytest.mark.title("Cross-namespace names resolve; a bare short name does not reach into another namespace")
def test_cross_namespace_names(dnsenv, record):
    ip, fqdn = dnsenv.cluster_ip("web"), dnsenv.fqdn("web")
    # What the other namespace's search list makes of a bare "web", asked explicitly so that no
    # query falls through to a name outside the cluster domain.
    bare = [f"web.{dnsenv.other.name}.svc.{dnsenv.domain}", f"web.svc.{dnsenv.domain}", f"web.{dnsenv.domain}"]
    exact, searched = [fqdn] + bare, [f"web.{dnsenv.ns.name}"]
    expected = {(fqdn, "A"): {ip}, (searched[0], "A"): {ip}} | {(name, "A"): NXDOMAIN for name in bare}
    expect(record, "cross-namespace", lambda: lookup(dnsenv.other_client(), exact, searched), answered_as(expected),
           timeout="steady", stable=2, what=f"from namespace {dnsenv.other.name}")


@pytest.mark.title("AAAA for an IPv4-only Service answers NOERROR with no records")
def test_aaaa_on_single_stack(dnsenv, record):
    if "IPv6" in (dnsenv.ns.service("web").spec.ip_families or []):
        pytest.skip("the Service has an IPv6 family: this check is for single-stack IPv4 clusters")
    expect(record, "aaaa", lambda: dns(dnsenv.client(), [(dnsenv.fqdn("web"), "AAAA")]), noerror_without_records,
           timeout="steady", stable=2, what="AAAA on a single-stack Service")


@pytest.mark.title("A headless Service answers exactly the ready pod IPs and follows scaling and readiness")
def test_headless_follows_ready_endpoints(dnsenv, record):
    name = dnsenv.fqdn("web-headless")
    observe = lambda: headless_answer(dnsenv, name)
    expect(record, "initial", observe, ready_ips_answered(name, 3),
           timeout="steady", stable=2, what="headless answers before any change")
    try:
        for replicas, label in ((5, "scale-up"), (2, "scale-down")):
            scale_until_ready(dnsenv, record, replicas, label)
            expect(record, label, observe, ready_ips_answered(name, replicas),
                   timeout="change", stable=3, what=f"headless answers after {label} to {replicas}")
        victim = dnsenv.ready()[0].name
        with unready(dnsenv.ns, victim):
            expect(record, "unready", observe, ready_ips_answered(name, 1),
                   timeout="change", stable=3, what=f"headless answers after {victim} turned unready")
        expect(record, "ready-again", observe, ready_ips_answered(name, 2),
               timeout="change", stable=3, what=f"headless answers after {victim} turned ready again")
    finally:
        dnsenv.ns.scale("web", 3)
        dnsenv.ns.wait_deployment("web")


@pytest.mark.title("SRV records for named ports: the Service's port and name; one record per ready pod when headless")
def test_srv_records(dnsenv, record):
    web, headless = dnsenv.fqdn("web"), dnsenv.fqdn("web-headless")
    expect(record, "srv", lambda: srv_answers(dnsenv, web, headless), srv_as_specified(web, headless),
           timeout="steady", stable=2, what="SRV records")


@pytest.mark.title("A pod with hostname and subdomain, and each StatefulSet pod, resolve by name")
def test_pod_hostname_and_statefulset_names(dnsenv, record):
    named = dnsenv.ns.pods("app=named")[0]
    db = {p.name: p.ip for p in dnsenv.ns.pods("app=db")}
    expected = {(f"alpha.{dnsenv.fqdn('sub')}", "A"): {named.ip}}
    expected.update({(f"{pod}.{dnsenv.fqdn('db')}", "A"): {ip} for pod, ip in db.items()})
    expect(record, "pod-names", lambda: dns(dnsenv.client(), list(expected)), answered_as(expected),
           timeout="steady", stable=2, what="pod and StatefulSet names")


@pytest.mark.title("An ExternalName Service is a CNAME to its in-cluster target, which resolves")
def test_external_name_cname(dnsenv, record):
    alias, target, ip = dnsenv.fqdn("alias"), dnsenv.fqdn("web"), dnsenv.cluster_ip("web")
    expect(record, "externalname", lambda: dns(dnsenv.client(), [(alias, "A")]), cname_to(alias, target, ip),
           timeout="steady", stable=2, what="ExternalName")


@pytest.mark.title("A name that does not exist is NXDOMAIN at once, not a timeout")
def test_missing_name_is_nxdomain(dnsenv, record):
    queries = [(dnsenv.fqdn("no-such-service"), "A"), (f"no-such-pod.{dnsenv.fqdn('web-headless')}", "A"),
               (f"_nope._tcp.{dnsenv.fqdn('web')}", "SRV")]
    expect(record, "nxdomain", lambda: dns(dnsenv.client(), queries, timeout_s=2), answered_as(dict.fromkeys(queries, NXDOMAIN)),
           timeout="steady", stable=2, what="names that do not exist")


@pytest.mark.title("A deleted Service stops resolving; recreated, it resolves to its new ClusterIP")
def test_deleted_service_stops_resolving(dnsenv, record):
    name = dnsenv.fqdn("ephemeral")
    answer = lambda: dns(dnsenv.client(), [(name, "A")])[0]
    dnsenv.ns.apply("dns/ephemeral")
    first_ip = dnsenv.cluster_ip("ephemeral")
    expect(record, "created", answer, only_address(first_ip),
           timeout="change", stable=2, what=f"{name} after creation ({first_ip})")
    dnsenv.ns.core.delete_namespaced_service("ephemeral", dnsenv.ns.name)
    expect(record, "deleted", answer, nxdomain,
           timeout="change", stable=3, what=f"{name} after deletion")
    dnsenv.ns.apply("dns/ephemeral")
    second_ip = dnsenv.cluster_ip("ephemeral")
    record.metrics["ips"] = {"first": first_ip, "second": second_ip}
    expect(record, "recreated", answer, only_address(second_ip),
           timeout="change", stable=3, what=f"{name} after recreation")


@pytest.mark.title("dnsPolicy None with dnsConfig is written to resolv.conf and used for resolution")
def test_dns_policy_none_with_dns_config(dnsenv, record):
    dnsenv.ns.apply("dns/custom-dns-client", ns=dnsenv.ns.name, domain=dnsenv.domain, nameserver=dnsenv.dns_ip)
    dnsenv.ns.wait_pods_ready("app=custom-dns", 1, timeout_s=120)
    custom = dnsenv.ns.executor("custom-dns")
    lines = resolv_conf(custom)
    assert ["nameserver", dnsenv.dns_ip] in lines, f"resolv.conf: {lines}"
    assert ["search", f"{dnsenv.ns.name}.svc.{dnsenv.domain}", f"svc.{dnsenv.domain}"] in lines, f"resolv.conf: {lines}"
    assert "ndots:2" in resolv_options(lines) and "timeout:2" in resolv_options(lines), f"resolv.conf options: {resolv_options(lines)}"
    names, ip = ["web", f"web.{dnsenv.ns.name}"], dnsenv.cluster_ip("web")
    expect(record, "custom-search", lambda: libc_lookup(custom, names), libc_resolves(names, ip),
           timeout="steady", stable=2, what="resolution with the custom search list")


@pytest.mark.title("The default search path makes 'svc' and 'svc.ns' resolve for applications (libc)")
def test_default_search_path(dnsenv, record):
    names, ip = ["web", f"web.{dnsenv.ns.name}"], dnsenv.cluster_ip("web")
    expect(record, "default-search", lambda: libc_lookup(dnsenv.client(), names), libc_resolves(names, ip),
           timeout="steady", stable=2, what="default search path")


@pytest.mark.title("Resolution latency p50/p99 from every node (measured, reported in summary.json)")
def test_resolution_latency(dnsenv, record, request):
    name = dnsenv.fqdn("web") + "."
    metrics, answered = lookup_latencies(dnsenv, name, LATENCY_LOOKUPS)
    run_metrics(request, "dns").update(metrics)
    latency = metrics["latency_ms"] or {}
    record.metrics.update({"p50_ms": latency.get("p50"), "p99_ms": latency.get("p99")})
    record.attempts = answered + metrics["failures"]
    where = ", ".join(f"{node_id(node)} {failed}/{LATENCY_LOOKUPS}" for node, failed in metrics["failures_per_node"].items())
    assert metrics["failures"] == 0, f"{metrics['failures']} of {len(dnsenv.clients) * LATENCY_LOOKUPS} lookups of {name} failed (per node: {where})"
