"""The DNS suite's judges and resolv.conf reading (cnimatrix/dns/judges.py), over plain DNS
results: each judge matches what it requires, and when it does not, its reason names what was wrong."""
from __future__ import annotations

from cnimatrix.dns.judges import (NXDOMAIN, answered_as, cname_to, describe, libc_resolves, noerror_without_records,
                                  nxdomain, only_address, ready_ips_answered, resolv_options, srv_as_specified)
from cnimatrix.probe.outcomes import DnsResult, Outcome

WEB = "web.ns.svc.cluster.local"
HEADLESS = "web-headless.ns.svc.cluster.local"


def answer(name, qtype="A", *values, status="NOERROR", rtype=None):
    return DnsResult(name, qtype, Outcome.OK, status, tuple((name.lower() + ".", rtype or qtype, v) for v in values))


def timed_out(name, qtype="A"):
    return DnsResult(name, qtype, Outcome.TIMEOUT, "", (), "connection timed out; no servers could be reached")


def test_describe_names_the_query_outcome_status_and_values():
    assert describe([answer(WEB, "A", "10.96.0.10"), timed_out("x")]) == \
        f"{WEB} A: ok NOERROR ['10.96.0.10']; x A: timeout  connection timed out; no servers could be reached"


def test_resolv_options():
    lines = [["nameserver", "10.96.0.10"], ["search", "ns.svc.cluster.local"], ["options", "ndots:2", "timeout:2"]]
    assert resolv_options(lines) == ["ndots:2", "timeout:2"]
    assert resolv_options(lines[:2]) == []


def test_answered_as_matches_expected_values_and_expected_nxdomain():
    judge = answered_as({(WEB, "A"): {"10.96.0.10"}, ("nope", "A"): NXDOMAIN})
    assert judge([answer(WEB, "A", "10.96.0.10"), answer("nope", "A", status=NXDOMAIN)]) == (True, "all answers as expected")


def test_answered_as_names_a_wrong_value_a_missing_nxdomain_and_a_timeout():
    judge = answered_as({(WEB, "A"): {"10.96.0.10"}, ("nope", "A"): NXDOMAIN, ("web", "A"): {"10.96.0.10"}})
    ok, reason = judge([answer(WEB, "A", "10.96.0.99"), answer("nope", "A", "10.0.0.1"), timed_out("web")])
    assert not ok
    assert reason.split("; ")[:2] == [f"{WEB} A: ok NOERROR ['10.96.0.99']", "nope A: ok NOERROR ['10.0.0.1']"]
    assert "web A: timeout" in reason


def test_noerror_without_records_matches_an_empty_noerror():
    ok, reason = noerror_without_records([answer(WEB, "AAAA")])
    assert ok and reason == f"{WEB} AAAA: ok NOERROR "


def test_noerror_without_records_names_records_that_came():
    ok, reason = noerror_without_records([answer(WEB, "AAAA", "fd00::10")])
    assert not ok and reason == f"{WEB} AAAA: ok NOERROR ['fd00::10']"
    ok, reason = noerror_without_records([answer(WEB, "AAAA", "10.96.0.10", rtype="A")])
    assert not ok and reason.endswith("A records in the answer: ['10.96.0.10']")
    assert not noerror_without_records([answer(WEB, "AAAA", status="SERVFAIL")])[0]


def test_cname_to_matches_the_alias_and_the_targets_address():
    alias = "alias.ns.svc.cluster.local"
    result = DnsResult(alias, "A", Outcome.OK, "NOERROR", ((alias + ".", "CNAME", WEB + "."), (WEB + ".", "A", "10.96.0.10")))
    assert cname_to(alias, WEB, "10.96.0.10")([result]) == (True, f"{alias} -> CNAME ['{WEB}.'], A ['10.96.0.10'] (NOERROR)")


def test_cname_to_names_a_missing_cname():
    alias = "alias.ns.svc.cluster.local"
    ok, reason = cname_to(alias, WEB, "10.96.0.10")([answer(alias, "A", status=NXDOMAIN)])
    assert not ok and reason == f"{alias} -> CNAME [], A [] (NXDOMAIN)"


def test_only_address_matches_the_one_address():
    assert only_address("10.96.0.10")(answer(WEB, "A", "10.96.0.10")) == (True, "NOERROR ['10.96.0.10'], want 10.96.0.10")


def test_only_address_names_an_old_or_extra_address():
    ok, reason = only_address("10.96.0.20")(answer(WEB, "A", "10.96.0.10", "10.96.0.20"))
    assert not ok and reason == "NOERROR ['10.96.0.10', '10.96.0.20'], want 10.96.0.20"


def test_nxdomain_matches_an_nxdomain_answer():
    assert nxdomain(answer(WEB, "A", status=NXDOMAIN)) == (True, "NXDOMAIN []")


def test_nxdomain_does_not_take_a_timeout_or_an_address():
    ok, reason = nxdomain(timed_out(WEB))
    assert not ok and reason.startswith("connection timed out")
    assert nxdomain(answer(WEB, "A", "10.96.0.10")) == (False, "NOERROR ['10.96.0.10']")


def test_ready_ips_answered_when_the_name_answers_exactly_the_ready_ips():
    judge = ready_ips_answered(HEADLESS, 2)
    ok, reason = judge(({"10.244.1.2", "10.244.2.3"}, answer(HEADLESS, "A", "10.244.1.2", "10.244.2.3")))
    assert ok and reason == f"{HEADLESS} -> ['10.244.1.2', '10.244.2.3'] (NOERROR), ready ['10.244.1.2', '10.244.2.3']"


def test_ready_ips_answered_waits_for_the_count_and_names_a_stale_answer():
    judge = ready_ips_answered(HEADLESS, 2)
    assert judge(({"10.244.1.2"}, answer(HEADLESS, "A", "10.244.1.2"))) == (False, "1 ready pods, waiting for 2")
    ok, reason = judge(({"10.244.1.2", "10.244.2.3"}, answer(HEADLESS, "A", "10.244.1.2", "10.244.9.9")))
    assert not ok and reason == f"{HEADLESS} -> ['10.244.1.2', '10.244.9.9'] (NOERROR), ready ['10.244.1.2', '10.244.2.3']"


def srv_observation(ready, head_port="8080", targets_ip=None):
    pods = [f"10-244-1-{i}.{HEADLESS}." for i in range(len(ready))]
    tcp = answer(f"_http._tcp.{WEB}", "SRV", f"0 100 80 {WEB}.")
    udp = answer(f"_echo._udp.{WEB}", "SRV", f"0 100 81 {WEB}.")
    head = answer(f"_http._tcp.{HEADLESS}", "SRV", *(f"0 50 {head_port} {pod}" for pod in pods))
    resolved = [answer(pod, "A", ip) for pod, ip in zip(pods, sorted(targets_ip or ready))]
    return ready, (tcp, udp, head), resolved


def test_srv_as_specified_matches_ports_names_and_one_record_per_ready_pod():
    observed = srv_observation({"10.244.1.2", "10.244.2.3"})
    assert srv_as_specified(WEB, HEADLESS)(observed) == (True, "SRV as expected")


def test_srv_as_specified_names_a_wrong_port_and_targets_that_are_not_the_ready_pods():
    ready = {"10.244.1.2", "10.244.2.3"}
    ok, reason = srv_as_specified(WEB, HEADLESS)(srv_observation(ready, head_port="80", targets_ip={"10.244.1.2", "10.244.9.9"}))
    assert not ok
    problems = reason.split("; ")
    assert problems[0].startswith("_http._tcp.web-headless -> ['0 50 80 10-244-1-0") and problems[0].endswith(", 2 ready pods")
    assert problems[1] == "headless SRV targets resolve to ['10.244.1.2', '10.244.9.9'], ready pods ['10.244.1.2', '10.244.2.3']"
    ready, (tcp, udp, head), resolved = srv_observation(ready)
    ok, reason = srv_as_specified(WEB, HEADLESS)((ready, (answer(tcp.name, "SRV", status=NXDOMAIN), udp, head), resolved))
    assert not ok and reason == "_http._tcp.web -> NXDOMAIN"


def test_libc_resolves_matches_the_address_for_every_name():
    names = ["web", "web.ns"]
    assert libc_resolves(names, "10.96.0.10")([{"10.96.0.10"}, {"10.96.0.10"}]) == \
        (True, "{'web': ['10.96.0.10'], 'web.ns': ['10.96.0.10']}, want 10.96.0.10")


def test_libc_resolves_names_the_name_that_did_not_resolve():
    ok, reason = libc_resolves(["web", "web.ns"], "10.96.0.10")([{"10.96.0.10"}, set()])
    assert not ok and reason == "{'web': ['10.96.0.10'], 'web.ns': []}, want 10.96.0.10"
