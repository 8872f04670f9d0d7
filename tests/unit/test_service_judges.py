"""The Service suite's judges (cnimatrix/service/judges.py), over plain probe results: each one
matches what it requires, and when it does not, its reason names what was wrong."""
from __future__ import annotations

from cnimatrix.probe.outcomes import Outcome, ProbeResult
from cnimatrix.service.judges import (all_answered_by_itself, echo_then_hostnames, external_local_check,
                                      failures, gets_no_traffic, gets_traffic_again, hostnames, listed, local_and_from,
                                      none_answered, reaches_each_of, resolves_to_ready_pods, silently_dropped, spread_over,
                                      sticky_to_one_of, traffic_matches_ready)

TARGET = "10.96.0.10:80/hostname"


def result(reply="", outcome=Outcome.OK, target=TARGET):
    return ProbeResult(target, outcome, 1.0, reply)


def answers(*names, target=TARGET):
    return [result(name, target=target) for name in names]


def timeout(target=TARGET):
    return result("curl: (28) Connection timed out", Outcome.TIMEOUT, target)


def refused(target=TARGET):
    return result("curl: (7) Connection refused", Outcome.REFUSED, target)


def test_hostnames_counts_only_answers():
    assert hostnames(answers("web-a", "web-a", "web-b") + [timeout()]) == {"web-a": 2, "web-b": 1}


def test_failures_and_listed_name_the_outcome_and_reply():
    assert failures(answers("web-a")) == ""
    assert failures([timeout(), refused(), timeout()]) == "{'timeout': 2, 'refused': 1} e.g. 'curl: (28) Connection timed out'"
    assert listed([refused(), timeout()], 1) == "10.96.0.10:80/hostname: refused 'curl: (7) Connection refused'"


def test_spread_over_an_even_spread_matches():
    ok, reason = spread_over({"web-a", "web-b"})(answers(*["web-a", "web-b"] * 10))
    assert ok and "20 responses spread over 2 backends" in reason


def test_spread_over_a_missing_backend_or_a_failed_probe_does_not():
    ok, reason = spread_over({"web-a", "web-b"})(answers(*["web-a"] * 20))
    assert not ok and "web-b" in reason and "got 0 of 20" in reason
    ok, reason = spread_over({"web-a", "web-b"})(answers(*["web-a", "web-b"] * 10) + [timeout()])
    assert not ok and reason.startswith("1/21 probes failed: {'timeout': 1}")


def test_spread_over_names_the_backend_a_failure_points_at():
    placed = {"web-b": "10.244.2.7 on worker2"}
    ok, reason = spread_over({"web-a", "web-b"}, placed)(answers(*["web-a"] * 10) + [timeout()] * 3)
    assert not ok and reason.endswith("; never answered by web-b (10.244.2.7 on worker2)")
    ok, reason = spread_over({"web-a", "web-b"}, placed)(answers(*["web-a", "web-b"] * 5) + [timeout()])
    assert not ok and reason.endswith("; every backend answered some")


def test_reaches_each_of_matches_answers_from_every_named_backend():
    ok, reason = reaches_each_of({"web-a", "web-b"})(answers("web-a", "web-b", "web-a"))
    assert ok and reason == "3 answered by all 2 backends"


def test_reaches_each_of_names_failures_strangers_and_the_backend_never_reached():
    ok, reason = reaches_each_of({"web-a", "web-b"}, {"web-b": "10.244.2.7 on worker2"})(
        answers("web-a", "other") + [refused()])
    assert not ok
    assert reason == ("1/3 failed: {'refused': 1} e.g. 'curl: (7) Connection refused'; answered by ['other'], "
                      "not a ready backend; never answered by web-b (10.244.2.7 on worker2)")


def test_all_answered_by_itself_matches_hairpin_answers_from_the_sender():
    assert all_answered_by_itself("solo-1")(answers("solo-1", "solo-1"))[0]


def test_all_answered_by_itself_names_what_came_back_instead():
    ok, reason = all_answered_by_itself("solo-1")(answers("solo-1", "web-a"))
    assert not ok and reason == "1/2 hairpin requests failed: ['web-a']"
    ok, reason = all_answered_by_itself("solo-1")([timeout()])
    assert not ok and reason.startswith("1/1 hairpin requests failed: {'timeout': 1}")


def test_sticky_to_one_of_matches_one_ready_backend_throughout():
    assert sticky_to_one_of({"web-a", "web-b"})(answers(*["web-b"] * 5)) == (True, "all 5 responses came from web-b")


def test_sticky_to_one_of_does_not_match_a_switch_a_failure_or_an_unready_backend():
    ok, reason = sticky_to_one_of({"web-a", "web-b"})(answers("web-a", "web-b", "web-a"))
    assert not ok and "3 responses came from 2 backends" in reason
    ok, reason = sticky_to_one_of({"web-a"})(answers("web-a") + [timeout()])
    assert not ok and reason.startswith("probes failed: {'timeout': 1}")
    ok, reason = sticky_to_one_of({"web-a"})(answers("gone", "gone"))
    assert not ok and "gone" in reason


def test_echo_then_hostnames_matches_echoes_then_ready_backends():
    results = answers("hi", "hi", target="ip:80/echo?msg=hi") + answers("web-a", "web-b", target="ip:9376/")
    assert echo_then_hostnames("hi", 2, {"web-a", "web-b"})(results) == (True, "2 echoes and 2 hostnames from all 2 backends")


def test_echo_then_hostnames_names_a_backend_the_hostname_port_never_reached():
    results = answers("hi", "hi", target="ip:80/echo?msg=hi") + answers("web-a", "web-a", target="ip:9376/")
    assert echo_then_hostnames("hi", 2, {"web-a", "web-b"})(results) == (False, "hostname port never answered by web-b")


def test_echo_then_hostnames_names_a_wrong_echo_and_a_wrong_backend():
    results = answers("hi", "web-a", target="ip:80/echo?msg=hi") + answers("other", target="ip:9376/")
    ok, reason = echo_then_hostnames("hi", 2, {"web-a"})(results)
    assert not ok and reason == "2/3 bad: ip:80/echo?msg=hi: ok 'web-a'; ip:9376/: ok 'other'; hostname port never answered by web-a"


def test_none_answered_matches_refusals_and_timeouts():
    assert none_answered([refused(), timeout()]) == (True, "0/2 answered from a node without local backends: []")


def test_none_answered_names_who_answered():
    ok, reason = none_answered(answers("web-a") + [timeout()])
    assert not ok and reason == "1/2 answered from a node without local backends: ['web-a']"


def test_silently_dropped_matches_timeouts_only():
    assert silently_dropped([timeout(), timeout()])[0]


def test_silently_dropped_counts_a_refusal_as_an_answer():
    ok, reason = silently_dropped([timeout(), refused()])
    assert not ok and reason == "1 of 2 got an answer from a node without local backends (1 refused, 0 served)"


def test_silently_dropped_tells_a_served_request_from_a_refusal():
    ok, reason = silently_dropped(answers("web-a") + [refused(), timeout()])
    assert not ok and reason == "2 of 3 got an answer from a node without local backends (1 refused, 1 served)"


def test_local_and_from_matches_local_backends_and_the_clients_own_address():
    results = answers("web-a", target="n:30080/hostname") + answers("172.18.0.9:51234", target="n:30080/clientip")
    assert local_and_from({"web-a"}, "172.18.0.9")(results) == (True, "")


def test_local_and_from_names_a_remote_backend_and_a_rewritten_source():
    results = answers("web-c", target="n:30080/hostname") + answers("10.244.1.1:51234", target="n:30080/clientip")
    ok, reason = local_and_from({"web-a"}, "172.18.0.9")(results)
    assert not ok and reason == "n:30080/hostname: ok 'web-c'; n:30080/clientip: ok '10.244.1.1:51234'; never answered by web-a"


def test_external_local_check_with_local_backends_asks_names_and_sources():
    targets, judge = external_local_check("172.18.0.3", 30080, {"web-a"}, "172.18.0.9")
    assert targets == ["172.18.0.3:30080/hostname"] * 5 + ["172.18.0.3:30080/clientip"] * 3  # min_requests_for(1)
    targets_two, _ = external_local_check("172.18.0.3", 30080, {"web-a", "web-b"}, "172.18.0.9")
    assert targets_two.count("172.18.0.3:30080/hostname") == 21   # each of two local backends, p(miss) < 1e-6
    good = [result("web-a" if t.endswith("/hostname") else "172.18.0.9:4000", target=t) for t in targets]
    assert judge(good)[0]
    ok, reason = judge([result("web-b", target=targets[0])])
    assert not ok and "'web-b'" in reason


def test_external_local_check_without_local_backends_wants_a_silent_drop():
    targets, judge = external_local_check("172.18.0.4", 30080, set(), "172.18.0.9")
    assert targets == ["172.18.0.4:30080/hostname"] * 3 and judge is silently_dropped


def test_traffic_matches_ready_when_exactly_the_ready_backends_answer():
    judge = traffic_matches_ready(2)
    assert judge(({"web-a", "web-b"}, answers("web-a", "web-b", "web-a"))) == (True, "traffic matches the ready set")


def test_traffic_matches_ready_waits_for_the_count_and_names_the_mismatch():
    judge = traffic_matches_ready(2)
    assert judge(({"web-a"}, answers("web-a"))) == (False, "1 ready backends, waiting for 2")
    ok, reason = judge(({"web-a", "web-b"}, answers("web-a") + [timeout()]))
    assert not ok and reason.startswith("probes failed: {'timeout': 1}")
    assert judge(({"web-a", "web-b"}, answers("web-a", "web-c"))) == \
        (False, "answered by ['web-a', 'web-c'], ready are ['web-a', 'web-b']")


def test_gets_no_traffic_when_the_victim_is_unready_and_silent():
    assert gets_no_traffic("web-a")(({"web-b"}, answers("web-b", "web-b"))) == (True, "unready web-a answered 0 of 2")


def test_gets_no_traffic_names_a_ready_or_answering_victim():
    assert gets_no_traffic("web-a")(({"web-a", "web-b"}, answers("web-b"))) == (False, "web-a still Ready")
    assert gets_no_traffic("web-a")(({"web-b"}, answers("web-a", "web-b"))) == (False, "unready web-a answered 1 of 2")
    ok, reason = gets_no_traffic("web-a")(({"web-b"}, [timeout()]))
    assert not ok and reason.startswith("probes failed: {'timeout': 1}")


def test_gets_traffic_again_when_the_victim_is_ready_and_answers():
    ok, reason = gets_traffic_again("web-a")(({"web-a", "web-b"}, answers("web-a", "web-b")))
    assert ok and reason == "web-a ready=True, answered 1; "


def test_gets_traffic_again_names_an_unready_or_silent_victim():
    assert gets_traffic_again("web-a")(({"web-b"}, answers("web-b"))) == (False, "web-a ready=False, answered 0; ")
    ok, reason = gets_traffic_again("web-a")(({"web-a"}, answers("web-a") + [timeout()]))
    assert not ok and reason.startswith("web-a ready=True, answered 1; {'timeout': 1}")


def test_resolves_to_ready_pods_when_each_resolved_ip_answers_as_its_pod():
    ready = {"10.244.1.2": "web-a", "10.244.2.3": "web-b"}
    observed = (ready, set(ready), [result("web-a", target="10.244.1.2:8080/hostname"),
                                    result("web-b", target="10.244.2.3:8080/hostname")])
    assert resolves_to_ready_pods("web-headless")(observed) == (True, "0 pod IPs did not answer as their pod: []")


def test_resolves_to_ready_pods_names_a_wrong_address_set_and_a_wrong_answer():
    ready = {"10.244.1.2": "web-a", "10.244.2.3": "web-b"}
    judge = resolves_to_ready_pods("web-headless")
    assert judge((ready, {"10.244.1.2"}, [])) == \
        (False, "web-headless -> ['10.244.1.2'], ready pod IPs ['10.244.1.2', '10.244.2.3']")
    ok, reason = judge((ready, set(ready), [result("web-b", target="10.244.1.2:8080/hostname"),
                                            result("web-b", target="10.244.2.3:8080/hostname")]))
    assert not ok and reason == "1 pod IPs did not answer as their pod: ['web-b']"
