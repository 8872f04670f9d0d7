"""The pod network suite's judges and parsers (cnimatrix/podnet/scenarios.py), over plain values."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

from cnimatrix.podnet.scenarios import (AGNHOST_FILES, AGNHOST_TOOLS, PodAddresses, addresses_fine, agnhost_check_script,
                                        agnhost_problems, agnhost_seen, answered_as, answers_both_ways, arrived_whole,
                                        intact_at_size, pod_subnets, seen_from_nodes, tunnel_mtus,
                                        wrong_answers)
from cnimatrix.probe.outcomes import Outcome, ProbeResult
from cnimatrix.testkit.cells import node_id


def result(target, outcome=Outcome.OK, reply=""):
    return ProbeResult(target, outcome, 1.0, reply)


def test_node_id_shortens_the_sources_the_judges_name():
    assert node_id("cnimatrix-calico-worker2") == "worker2"
    assert node_id("worker") == "worker"


def test_answered_as_every_source_answered_by_its_targets():
    expected = {"cnimatrix-worker": {"a:80/hostname": "server-a"}}
    judge = answered_as(expected, label=node_id, fine="fine")
    assert judge([("cnimatrix-worker", [result("a:80/hostname", reply="server-a")])]) == (True, "fine")


def test_answered_as_tells_the_source_of_a_wrong_or_failed_probe():
    expected = {"n1": {"a:80/hostname": "server-a"}, "n2": {"a:80/hostname": "server-a"}}
    observed = [("n1", [result("a:80/hostname", reply="server-b")]), ("n2", [result("a:80/hostname", Outcome.TIMEOUT)])]
    bad = wrong_answers(observed, expected)
    assert bad[0].startswith("from n1: a:80/hostname: answered 'server-b'") and bad[1].startswith("from n2: a:80/hostname: timeout")
    ok, reason = answered_as(expected, most=1)(observed)
    assert not ok and reason == bad[0] + " (and 1 more); fine: none"


def test_answered_as_names_the_sources_that_were_fine_beside_the_one_that_was_not():
    expected = {n: {"a:80/hostname": "server-a"} for n in ("cnimatrix-control-plane", "cnimatrix-worker", "cnimatrix-worker2")}
    observed = [(n, [result("a:80/hostname", reply="server-a")]) for n in expected]
    observed[1] = ("cnimatrix-worker", [result("a:80/hostname", Outcome.TIMEOUT)])
    ok, reason = answered_as(expected, label=node_id)(observed)
    assert not ok and reason.startswith("from worker: a:80/hostname: timeout")
    assert reason.endswith("; fine: from control-plane, from worker2")


def test_addresses_fine_and_not():
    assert addresses_fine(["10.244.0.0/16"])([PodAddresses("ns/a", "w1", ("10.244.1.2",))]) == (True, "1 pods fine")
    ok, reason = addresses_fine(["10.244.0.0/16"], {"w1": ["10.244.2.0/24"]})([PodAddresses("ns/a", "w1", ("10.244.1.2",))])
    assert not ok and "outside w1's podCIDR" in reason


def test_seen_from_nodes_wants_the_node_address():
    clients = {"w1": SimpleNamespace(name="client-w1", ip="10.244.1.5")}
    judge = seen_from_nodes(clients, {"w1": "172.18.0.3"})
    assert judge({"w1": [result("o:8080/clientip", reply="172.18.0.3:40000")]})[0]
    ok, reason = judge({"w1": [result("o:8080/clientip", reply="10.244.1.5:40000"), result("o:8081", Outcome.TIMEOUT)]})
    assert not ok and "seen as 10.244.1.5, node w1 is 172.18.0.3" in reason and "timeout" in reason


def test_answers_both_ways_waits_for_a_new_sandbox_then_judges_both_directions():
    judge = answers_both_ways(["old"], "server-1")
    assert judge((["old"], None, [], [])) == (False, "waiting for a new ready sandbox (ready: ['old'], stopped: ['old'])")
    inbound = [result("10.0.0.9:8080/hostname", reply="restart"), result("10.0.0.9")]
    assert judge((["new"], "10.0.0.9", inbound, [result("10.0.0.2:8080/hostname", reply="server-1")]))[0]
    ok, reason = judge((["new"], "10.0.0.9", inbound, [result("10.0.0.2:8081", Outcome.REFUSED)]))
    assert not ok and reason.startswith("at 10.0.0.9: 10.0.0.2:8081: refused")


def test_arrived_whole_compares_each_path_with_its_servers_digest():
    judge = arrived_whole({"worker -> worker2": "ab" * 32, "control-plane -> worker2": "ab" * 32}, 4096)
    whole = result("a:8090/data/blob", reply=f"bytes=4096 sha256={'ab' * 32}")
    assert judge([("worker -> worker2", whole), ("control-plane -> worker2", whole)]) == (True, "every byte arrived")
    ok, reason = judge([("worker -> worker2", result("a:8090/data/blob", reply=f"bytes=10 sha256={'cd' * 32}")),
                        ("control-plane -> worker2", whole)])
    assert not ok and reason.startswith("worker -> worker2: ok 10 bytes, sha256 cdcdcdcdcdcd (want 4096 bytes, abababababab)")
    assert reason.endswith("; fine: control-plane -> worker2")


def test_intact_at_size_wants_every_byte_of_every_datagram():
    assert intact_at_size([("w1 -> w2", 1422, [result("a:8081", reply="intact=1 bytes=1417"), result("10.0.0.1")])])[0]
    ok, reason = intact_at_size([("w1 -> w2", 1422, [result("a:8081", reply="intact=0 bytes=1417")]),
                                 ("w2 -> w1", 1422, [result("b:8081", reply="intact=1 bytes=1417")])])
    assert not ok and reason.startswith("w1 -> w2 (1422 + 28 bytes) to a:8081") and reason.endswith("; fine: w2 -> w1")
    assert not intact_at_size([("w1 -> w2", 1422, [result("10.0.0.1", Outcome.TIMEOUT)])])[0]


def test_tunnel_mtus():
    lines = ("5: vxlan.calico: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN \\    link/ether\n"
             "7: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue\n")
    assert tunnel_mtus(lines) == {"vxlan.calico": 1450, "tunl0": 1480}
    assert tunnel_mtus("") == {}


GOOD = "a" * 64


def seen_all(**changes):
    seen = {name: "0" for name in AGNHOST_TOOLS} | {path: GOOD for path in AGNHOST_FILES}
    return seen | changes


def test_agnhost_check_script_and_what_it_prints():
    script = agnhost_check_script()
    assert all(f"@@{name} $?" in script for name in AGNHOST_TOOLS) and all(f"@@{path} " in script for path in AGNHOST_FILES)
    assert agnhost_seen("noise\n@@curl 0\n@@/localhost.crt " + GOOD + "\n@@broken\n") == {"curl": "0", "/localhost.crt": GOOD}


def test_agnhost_problems_none_when_all_there_and_like_upstream():
    assert agnhost_problems(seen_all(), {path: GOOD for path in AGNHOST_FILES}) == []
    assert agnhost_problems(seen_all(), {path: None for path in AGNHOST_FILES}) == []


def test_agnhost_problems_missing_tool_empty_file_and_upstream_difference():
    crt, key = AGNHOST_FILES
    seen = seen_all(dig="127", **{crt: hashlib.sha256(b"").hexdigest()})
    assert agnhost_problems(seen, {crt: GOOD, key: "b" * 64}) == [
        "dig", f"{crt} missing", f"{key} differs from upstream's {AGNHOST_FILES[key]}"]


def test_pod_subnets_from_kubeadm_then_the_kind_config():
    kubeadm = "apiVersion: kubeadm.k8s.io/v1beta3\nnetworking:\n  podSubnet: 10.244.0.0/16, fd00:10:244::/56\n"
    assert pod_subnets(kubeadm, {"networking": {"podSubnet": "192.168.0.0/16"}}) == ["10.244.0.0/16", "fd00:10:244::/56"]
    assert pod_subnets("", {"networking": {"podSubnet": "192.168.0.0/16"}}) == ["192.168.0.0/16"]


def test_pod_subnets_none_when_neither_says():
    assert pod_subnets("networking: {}\n", {}) == []
