"""The pod network suite's pure parts, and its probes run for real against loopback servers."""
from __future__ import annotations

import http.server
import socket
import subprocess
import threading
from dataclasses import dataclass

import pytest

from cnimatrix.cni import CniDataError, load_file
from cnimatrix.podnet.scenarios import (REACH, PodAddresses, Round, SetupSample, address_problems, mismatches, pairs,
                                        parse_count, payload_for_mtu, setup_summary, source_ip)
from cnimatrix.probe.outcomes import Outcome, ProbeResult, classify_ping, fields, parse_first_answer
from cnimatrix.probe.probes import datagram, download
from cnimatrix.probe.programs import FIRST_ANSWER_SCRIPT

NODES = ["cp", "w1", "w2"]


def test_reach_scenarios_have_unique_ids_and_known_kinds():
    assert len({r.id for r in REACH}) == len(REACH)
    assert all(r.source in ("pod", "host") and r.target in ("pod", "host") and r.where in ("same", "other") for r in REACH)


def test_pairs_same_node_and_other_nodes():
    same = next(r for r in REACH if r.where == "same")
    other = next(r for r in REACH if r.where == "other")
    assert pairs(same, NODES) == [("cp", "cp"), ("w1", "w1"), ("w2", "w2")]
    assert sorted(pairs(other, NODES)) == sorted((a, b) for a in NODES for b in NODES if a != b)


def pod(name, node, *ips):
    return PodAddresses(name, node, tuple(ips))


def test_addresses_fine_inside_cluster_and_node_cidrs():
    pods = [pod("a", "w1", "10.244.1.2"), pod("b", "w2", "10.244.2.2")]
    assert address_problems(pods, ["10.244.0.0/16"], {"w1": ["10.244.1.0/24"], "w2": ["10.244.2.0/24"]}) == []


def test_address_outside_cluster_cidr_duplicate_and_missing():
    pods = [pod("a", "w1", "10.244.1.2"), pod("b", "w1", "10.244.1.2"), pod("c", "w2", "172.17.0.5"), pod("d", "w2")]
    problems = address_problems(pods, ["10.244.0.0/16"])
    assert any("172.17.0.5 is outside the cluster pod CIDR" in p for p in problems)
    assert any("10.244.1.2 is held by 2 pods at once: a, b" in p for p in problems)
    assert any("d on w2 has no address" in p for p in problems)
    assert len(problems) == 3


def test_address_outside_its_node_cidr_only_when_node_cidrs_given():
    pods = [pod("a", "w1", "10.244.2.9")]
    assert address_problems(pods, ["10.244.0.0/16"]) == []
    problems = address_problems(pods, ["10.244.0.0/16"], {"w1": ["10.244.1.0/24"]})
    assert problems == ["a 10.244.2.9 is outside w1's podCIDR 10.244.1.0/24"]
    assert address_problems(pods, ["10.244.0.0/16"], {}) == ["w1 has no podCIDR for a 10.244.2.9"]


def test_dual_stack_addresses_are_checked_per_family():
    pods = [pod("a", "w1", "10.244.1.2", "fd00:10:244:1::2")]
    assert address_problems(pods, ["10.244.0.0/16", "fd00:10:244::/56"], {"w1": ["10.244.1.0/24", "fd00:10:244:1::/64"]}) == []


def test_source_ip_of_clientip_answers():
    assert source_ip("172.18.0.3:41234") == "172.18.0.3"
    assert source_ip("[fc00:f853::3]:41234") == "fc00:f853::3"


def result(target, outcome=Outcome.OK, reply=""):
    return ProbeResult(target, outcome, 1.0, reply)


def test_mismatches_names_failures_and_wrong_answerers():
    results = [result("a:1/hostname", reply="server-1"), result("b:1/hostname", reply="server-9"),
               result("c:2", Outcome.TIMEOUT), result("10.0.0.1")]
    bad = mismatches(results, {"a:1/hostname": "server-1", "b:1/hostname": "server-2", "c:2": "x"})
    assert len(bad) == 2
    assert "answered 'server-9', expected 'server-2'" in bad[0] and "timeout" in bad[1]


@pytest.mark.parametrize("text, value", [("7\n", 7), ("  0 ", 0)])
def test_parse_count(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["", "error: the server doesn't have a resource type", "3 4", "-1"])
def test_parse_count_refuses_anything_but_one_number(text):
    with pytest.raises(ValueError):
        parse_count(text)


def test_round_without_problems():
    assert Round(created=40, running=40, addressed=40, answered=40, ipam_before=5, ipam_peak=45, ipam_after=5).problems() == []


def test_round_leak_missing_addresses_and_silent_pods():
    problems = Round(created=40, running=39, addressed=38, answered=30, ipam_before=5, ipam_peak=44, ipam_after=7).problems()
    assert any("1 of 40 pods were not running by the deadline" in p for p in problems)
    assert any("1 of 39 running pods have no address" in p for p in problems)
    assert any("9 of 39 running pods never had a packet answered" in p for p in problems)
    assert any("39 more addresses with 38 new pods addressed" in p for p in problems)
    assert any("holds 7 addresses after the pods went, 5 before (leak)" in p for p in problems)


def test_round_counts_other_pods_leaving_or_arriving_on_the_node():
    # A pod of another scenario ended on the node during the batch: the node's IPAM shows 39 more, not 40.
    left = Round(created=40, running=40, addressed=40, answered=40, ipam_before=6, ipam_peak=45, ipam_after=5,
                 others_before=6, others_peak=5, others_after=5)
    assert left.problems() == []
    arrived = Round(created=40, running=40, addressed=40, answered=40, ipam_before=5, ipam_peak=46, ipam_after=6,
                    others_before=5, others_peak=6, others_after=6)
    assert arrived.problems() == []


def test_round_still_finds_a_leak_and_a_miscount_beside_other_pods():
    problems = Round(created=40, running=40, addressed=40, answered=40, ipam_before=6, ipam_peak=46, ipam_after=7,
                     others_before=6, others_peak=5, others_after=5).problems()
    assert any("40 more addresses with 40 new pods addressed and -1 other pods'" in p for p in problems)
    assert any("holds 7 addresses after the pods went, 6 before (other pods' on the node: -1) (leak)" in p for p in problems)


def test_round_without_accounting_judges_only_what_it_has():
    assert Round(created=3, running=3, addressed=3, answered=3).problems() == []


def test_setup_summary_phases():
    samples = [SetupSample(f"p{i}", 100.0, 101.0 if i else None, 100.5, 100.5 + 0.1 * (i + 1)) for i in range(10)]
    summary = setup_summary(samples)
    assert summary["count"] == 10
    assert summary["scheduled_to_sandbox_s"]["count"] == 9   # one pod without the condition
    assert summary["scheduled_to_answer_s"]["min"] == pytest.approx(0.6)
    assert summary["start_to_answer_s"]["max"] == pytest.approx(1.0)
    assert setup_summary([]) == {"count": 0}


def test_payload_for_mtu():
    assert payload_for_mtu(1450) == 1422 and payload_for_mtu(1500) == 1472


@pytest.mark.parametrize("rc, text, outcome", [
    (0, "1 packets transmitted, 1 received, 0% packet loss", Outcome.OK),
    (1, "1 packets transmitted, 0 received, 100% packet loss", Outcome.TIMEOUT),
    (1, "ping: sendmsg: Message too long 1 packets transmitted, 0 received, +1 errors", Outcome.ERROR),
    (1, "From 10.244.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1450)", Outcome.ERROR),
    (1, "From 10.244.1.1 icmp_seq=1 Destination Host Unreachable", Outcome.ERROR),
    (2, "ping: unknown host nowhere", Outcome.DNS),
    (2, "ping: connect: Network is unreachable", Outcome.ERROR),
])
def test_classify_ping(rc, text, outcome):
    assert classify_ping(rc, text) is outcome


def test_fields_and_first_answer_line():
    assert fields("bytes=4 sha256=ab curl: (28) x") == {"bytes": "4", "sha256": "ab"}
    log = "noise\n@@first-answer start=1000000000 answered=1250000000 tries=3\n"
    found = parse_first_answer(log)
    assert (found.start_ns, found.answered_ns, found.tries) == (1_000_000_000, 1_250_000_000, 3)
    assert parse_first_answer("nothing yet") is None
    assert parse_first_answer("@@first-answer start=x") is None


def test_first_answer_script_pings_its_peer_then_pauses():
    assert '"$PEER"' in FIRST_ANSWER_SCRIPT and FIRST_ANSWER_SCRIPT.rstrip().endswith("exec /agnhost pause")


# --- the probes themselves, on this host against loopback servers ---------------------------

@dataclass
class LocalExecutor:
    name: str = "local"

    def sh(self, script: str, timeout_s: float, on_line=None) -> str:
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout_s).stdout


@pytest.fixture
def echo_server():
    """netexec's UDP echo: 'echo <msg>' answers <msg>."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                continue
            text = data.decode().strip().lower()
            if text.startswith("echo "):
                sock.sendto(text[5:].encode(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def test_datagram_echo_arrives_whole(echo_server):
    r = datagram(LocalExecutor(), [f"127.0.0.1:{echo_server}"], 1422, timeout_s=2)[0]
    assert r.ok and fields(r.reply) == {"bytes": "1417", "intact": "1"}


def test_datagram_larger_than_the_route_mtu_is_not_sent():
    # loopback's MTU is 65536: a datagram beyond it cannot go out unfragmented
    r = datagram(LocalExecutor(), ["127.0.0.1:9"], 65600, timeout_s=1)[0]
    assert not r.ok and "too long" in r.reply.lower()


def test_datagram_to_a_closed_port_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = datagram(LocalExecutor(), [f"127.0.0.1:{port}"], 100, timeout_s=2)[0]
    assert r.outcome is Outcome.REFUSED


def test_download_reports_size_and_digest(tmp_path):
    blob = bytes(range(256)) * 4096
    (tmp_path / "blob").write_bytes(blob)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        ok, missing = download(LocalExecutor(), [f"127.0.0.1:{port}/blob", f"127.0.0.1:{port}/absent"], timeout_s=10)
    finally:
        server.shutdown()
    import hashlib
    assert ok.ok and fields(ok.reply) == {"bytes": str(len(blob)), "sha256": hashlib.sha256(blob).hexdigest()}
    assert missing.ok  # curl without -f: a 404 body arrives; the digest is what tells it apart
    assert fields(missing.reply)["sha256"] != hashlib.sha256(blob).hexdigest()


# --- the catalog's IPAM accounting ------------------------------------------------------------

BASE = """name: demo
description: d
version: v1
install: {source: manifest, manifests: [m.yaml]}
readiness: [{kind: DaemonSet, namespace: kube-system, name: demo}]
capabilities: {}
"""


def write(tmp_path, extra: str):
    path = tmp_path / "demo.yaml"
    path.write_text(BASE + extra)
    return path


def test_ipam_count_node_and_host(tmp_path):
    cni = load_file(write(tmp_path, "ipam_count: {node: ls /x | wc -l, evidence: files}\n"))
    assert (cni.ipam_count.where, cni.ipam_count.command) == ("node", "ls /x | wc -l")
    cni = load_file(write(tmp_path, "ipam_count: {host: $kubectl get x, evidence: records}\n"))
    assert cni.ipam_count.where == "host"
    assert cni.ipam_count.refresh_s == 0
    assert load_file(write(tmp_path, "")).ipam_count is None
    assert load_file(write(tmp_path, "ipam_count: {host: x, evidence: e, refresh_s: 5}\n")).ipam_count.refresh_s == 5


@pytest.mark.parametrize("extra, problem", [
    ("ipam_count: {node: a, host: b, evidence: e}\n", "exactly one of"),
    ("ipam_count: {evidence: e}\n", "exactly one of"),
    ("ipam_count: {node: a}\n", "ipam_count.evidence: is required"),
    ("ipam_count: {node: a, evidence: e, when: x}\n", "unknown field"),
    ("ipam_count: {node: a, evidence: e, refresh_s: soon}\n", "refresh_s: must be a number of seconds"),
    ("ipam_count: {node: a, evidence: e, refresh_s: -1}\n", "refresh_s: must be a number of seconds"),
])
def test_ipam_count_refuses_bad_entries(tmp_path, extra, problem):
    with pytest.raises(CniDataError, match=problem):
        load_file(write(tmp_path, extra))


# --- the agnhost image recipe carries what the fidelity check looks for -----------------------

def test_agnhost_recipe_matches_the_fidelity_check(tmp_path, monkeypatch):
    from cnimatrix.images.recipes import agnhost
    from cnimatrix.podnet.scenarios import AGNHOST_FILES, AGNHOST_TOOLS

    package_of = {"curl": "curl", "dig": "dnsutils", "nc": "netcat-openbsd", "wget": "wget", "socat": "socat",
                  "iperf": "iperf", "iperf3": "iperf3"}
    assert set(AGNHOST_TOOLS) == set(package_of) | {"coredns"}
    assert set(package_of.values()) <= set(agnhost.TOOLS_PACKAGES)

    (tmp_path / "root" / "etc").mkdir(parents=True)
    (tmp_path / "root" / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "root" / "etc" / "group").write_text("root:x:0:\n")
    built = {}
    monkeypatch.setattr(agnhost, "output_dir", lambda step: tmp_path)
    monkeypatch.setattr(agnhost.upstream, "module_dir", lambda module, version: tmp_path / "k8s")
    monkeypatch.setattr(agnhost, "rootfs_image", lambda ctx, tag, rootfs, files, changes, links, dirs, modes: built.update(
        files=files, links=links, dirs=dirs, modes=modes))
    agnhost.build_agnhost_image(None)
    files = built["files"]
    assert {path.lstrip("/") for path in AGNHOST_FILES} | {"agnhost", "coredns"} <= set(files)
    assert all(str(files[p.lstrip("/")]).endswith(upstream.split("/")[-1]) for p, upstream in AGNHOST_FILES.items())
    assert b"user-defined-in-image:x:1000:1000" in files["etc/passwd"] and files["etc/passwd"].startswith(b"root:x:0:0")
    assert b"group-defined-in-image:x:50000:user-defined-in-image" in files["etc/group"]
    assert built["links"]["usr/local/bin/iperf"] == "/usr/bin/iperf" and "uploads" in built["dirs"]
    assert built["modes"]["localhost.key"] == 0o644


# --- the MTU toward a destination -------------------------------------------------------------

@pytest.mark.parametrize("route, device, expected", [
    ("10.244.1.1 via 10.244.0.94 dev eth0 src 10.244.0.237 uid 0 \\    cache mtu 1450 ", 1500, 1450),  # Cilium
    ("10.244.1.5 via 10.244.0.1 dev eth0 src 10.244.0.7 uid 0 \\    cache ", 1450, 1450),               # flannel
    ("10.96.0.10 via 10.244.0.1 dev eth0 src 10.244.0.7 mtu lock 1400 uid 0", 1500, 1400),
    ("10.244.1.5 dev eth0 src 10.244.0.7 uid 0 \\    cache mtu 9000 ", 1500, 1500),  # never above the device
    # learned from an ICMP "too big" (pod MTU above the overlay's): not configuration, ignored
    ("10.244.2.7 via 10.244.0.1 dev eth0 src 10.244.0.5 uid 0 \\    cache expires 587sec mtu 1450 ", 1500, 1500),
])
def test_route_mtu(route, device, expected):
    from cnimatrix.podnet.scenarios import route_mtu
    assert route_mtu(route, device) == expected


class CachedCount:
    """An IPAM count served from a cache refreshed every `refresh_s` on a fake clock that the
    readings' sleeps advance: the true count moves from 0 to 40 at t=1."""

    def __init__(self, refresh_s: float):
        self.now, self.refresh_s = 0.0, refresh_s

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def read(self) -> tuple[int, int]:
        refreshed = (self.now // self.refresh_s) * self.refresh_s if self.refresh_s else self.now
        return (40 if refreshed >= 1 else 0), 3


@pytest.mark.parametrize("refresh_s, expected", [(0, 40), (5, 40)])
def test_steady_reading_outlasts_the_cache(monkeypatch, refresh_s, expected):
    from cnimatrix.podnet import lifecycle
    cache = CachedCount(refresh_s)
    monkeypatch.setattr("time.sleep", cache.sleep)
    assert lifecycle.steady_reading(cache.read, deadline_s=60, refresh_s=refresh_s) == (expected, 3)


def test_steady_reading_without_the_refresh_period_takes_a_stale_count(monkeypatch):
    # The failure the refresh period prevents: three readings 2 s apart inside one 5 s cache window.
    from cnimatrix.podnet import lifecycle
    cache = CachedCount(5)
    monkeypatch.setattr("time.sleep", cache.sleep)
    assert lifecycle.steady_reading(cache.read, deadline_s=60, refresh_s=0) == (0, 3)
