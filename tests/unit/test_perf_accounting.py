"""The perf suite's cgroup accounting and growth curves: parsers, windows, steps, the waiter."""
from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import pytest

from cnimatrix.cni.catalog import ReadinessRule
from cnimatrix.perf import cgroups
from cnimatrix.perf.growth import (CURVES, BadSteps, Point, curve_record, fixed_service_ip, parse_steps, parse_waiter,
                                   seconds_between, steps_for, waiter_script)

V1 = """@@uid-1 reset 1
@@uid-1 cpuacct.usage 2000000000
@@uid-1 memory.max_usage_in_bytes 52428800
@@uid-1 memory.usage_in_bytes 41943040
@@uid-2 cpuacct.usage 500000000
@@uid-2 memory.max_usage_in_bytes 10485760
@@uid-2 memory.usage_in_bytes 10485760
@@now 1700000000000000000
"""
V2 = """@@uid-3 cpu.stat.usage_usec 1500000
@@uid-3 memory.peak 20971520
@@uid-3 memory.current 10485760
"""


def test_parse_v1_and_v2_readings():
    readings, now = cgroups.parse_readings(V1 + V2)
    assert now == 1700000000000000000
    assert readings["uid-1"] == cgroups.Reading(2_000_000_000, 52428800, 41943040, True)
    assert readings["uid-3"] == cgroups.Reading(1_500_000_000, 20971520, 10485760, False)


def test_the_first_cgroup_found_wins():
    readings, _ = cgroups.parse_readings("@@u cpuacct.usage 5\n@@u cpuacct.usage 9\n")
    assert readings["u"].cpu_ns == 5


def test_window_sums_cpu_and_peaks_and_names_unread_pods():
    start, _ = cgroups.parse_readings(V1)
    end = {"uid-1": cgroups.Reading(3_000_000_000, 62914560, 41943040, True),
           "uid-2": cgroups.Reading(1_000_000_000, 10485760, 10485760, True),
           "uid-9": cgroups.Reading(1, 1, 1, True)}
    got = cgroups.window(start, end, wall_s=10.0)
    assert got["cpu_s"] == 1.5 and got["cores"] == 0.15 and got["pods"] == 2
    assert got["peak_mib"] == 70.0 and got["peak_scope"] == "window" and got["unread"] == ["uid-9"]
    v2, _ = cgroups.parse_readings(V2)
    assert cgroups.window(v2, v2, wall_s=0)["peak_scope"] == "since the pod started"


def test_read_script_resets_only_when_asked():
    assert cgroups.read_script(["a-b"], reset_peak=True).startswith("RESET=1\n")
    script = cgroups.read_script(["a-b", "c d"], reset_peak=False)
    assert script.startswith("RESET=0\n") and "for uid in a-b 'c d'; do" in script


@pytest.mark.skipif(not shutil.which("sh"), reason="needs sh")
def test_read_script_on_a_fake_cgroup_tree(tmp_path, monkeypatch):
    """The script's find/read logic against a directory laid out like a node's /sys/fs/cgroup."""
    root = tmp_path / "cgroup"
    pod = root / "cpuacct" / "kubelet.slice" / "kubelet-kubepods.slice" / "kubelet-kubepods-pod1234_abcd.slice"
    pod.mkdir(parents=True)
    (pod / "cpuacct.usage").write_text("123456789\n")
    mem = root / "memory" / "kubelet.slice" / "kubelet-kubepods-pod1234_abcd.slice"
    mem.mkdir(parents=True)
    (mem / "memory.max_usage_in_bytes").write_text("4096\n")
    (mem / "memory.usage_in_bytes").write_text("2048\n")
    script = cgroups.read_script(["1234-abcd"], reset_peak=True).replace("/sys/fs/cgroup", str(root))
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout
    readings, now = cgroups.parse_readings(out)
    assert now is not None and "@@1234-abcd reset 1" in out
    # the reset wrote 0 (the kernel would set it to the current usage); the read follows the reset
    assert readings["1234-abcd"] == cgroups.Reading(123456789, 0, 2048, True)


def test_components_from_readiness_rules_and_kube_proxy():
    rules = (ReadinessRule("DaemonSet", "kube-system", "cilium"), ReadinessRule("Deployment", "kube-system", "cilium-operator"))
    found = cgroups.components(rules, kube_proxy=True)
    assert [c.name for c in found] == ["daemonset/kube-system/cilium", "deployment/kube-system/cilium-operator",
                                       "daemonset/kube-system/kube-proxy"]
    assert [c.name for c in cgroups.components(rules[:1], kube_proxy=False)] == ["daemonset/kube-system/cilium"]


@pytest.mark.parametrize("pod, workload, kind, owned", [
    ("cilium-x7k2p", "cilium", "daemonset", True),
    ("cilium-operator-5f7c9d8b4-x7k2p", "cilium", "daemonset", False),
    ("cilium-envoy-x7k2p", "cilium", "daemonset", False),
    ("cilium-operator-5f7c9d8b4-x7k2p", "cilium-operator", "deployment", True),
    ("calico-node-abcde", "calico-node", "daemonset", True),
    ("kube-proxy-abcde", "kube-proxy", "daemonset", True),
    ("coredns-66bc5c9577-abcde", "kube-proxy", "daemonset", False),
])
def test_owned_by(pod, workload, kind, owned):
    assert cgroups.owned_by(pod, workload, kind) is owned


# --- growth -------------------------------------------------------------------------------------

def test_default_steps_and_overrides():
    by_id = {c.id: c for c in CURVES}
    assert by_id["network_policies"].steps == (10, 100, 300)
    assert by_id["namespaces"].steps == (1, 10, 30)
    assert by_id["service_backends"].steps == (10, 30, 60)
    curve = by_id["service_backends"]
    assert steps_for(curve, {}) == curve.steps
    assert steps_for(curve, {curve.env: "5, 20"}) == (5, 20)


@pytest.mark.parametrize("text", ["", "10,5", "0,10", "ten", "10,10"])
def test_bad_steps_are_refused(text):
    with pytest.raises(BadSteps):
        parse_steps(text)


def test_fixed_service_ip_counts_down_from_the_top():
    assert fixed_service_ip("10.96.0.0/16", 0) == "10.96.255.254"
    assert fixed_service_ip("10.96.0.0/16", 3) == "10.96.255.251"
    with pytest.raises(ValueError):
        fixed_service_ip("10.96.0.0/30", 2)


def test_parse_waiter():
    got = parse_waiter("@@waiting\n@@answer at=2000000000 started=1500000000 tries=12 from=backends-abc\n")
    assert (got.at_ns, got.started_ns, got.tries, got.source) == (2000000000, 1500000000, 12, "backends-abc")
    gave_up = parse_waiter("@@waiting\n@@gave-up tries=300 last=connect: Connection refused\n")
    assert gave_up.at_ns is None and gave_up.tries == 300 and gave_up.source == "connect: Connection refused"
    assert parse_waiter("@@waiting\n") is None
    assert seconds_between(1_000_000_000, 3_500_000_000) == 2.5 and seconds_between(None, 1) is None


def test_curve_record():
    points = [Point(10, 0.25, 12.0), Point(50, None, 40.0, problem="no answer")]
    doc = curve_record(CURVES[0], points, service_cidr="10.96.0.0/16")
    assert doc["steps"] == [10, 50] and doc["unit"] == "ready backends" and doc["service_cidr"] == "10.96.0.0/16"
    assert doc["points"][0] == {"n": 10, "s": 0.25, "setup_s": 12.0}
    assert doc["points"][1]["problem"] == "no answer"


class _Hostname(threading.Thread):
    """An HTTP server on loopback that starts answering its name only after a delay."""

    def __init__(self, name: str, delay_s: float):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.name_, self.delay_s = name, delay_s

    def run(self):
        time.sleep(self.delay_s)
        self.sock.listen(16)
        while True:
            conn, _ = self.sock.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + self.name_.encode())
            conn.close()


@pytest.mark.skipif(not shutil.which("perl"), reason="needs perl")
def test_waiter_times_the_first_answer_from_an_expected_backend():
    server = _Hostname("backend-1", delay_s=0.5)
    server.start()
    started = time.time_ns()
    out = subprocess.run(["sh", "-c", waiter_script("127.0.0.1", server.port, ["backend-1", "backend-2"], deadline_s=10)],
                         capture_output=True, text=True, timeout=30).stdout
    got = parse_waiter(out)
    assert out.startswith("@@waiting") and got.source == "backend-1"
    assert 0.4 < (got.at_ns - started) / 1e9 < 3


@pytest.mark.skipif(not shutil.which("perl"), reason="needs perl")
def test_waiter_ignores_unexpected_answers_and_gives_up():
    server = _Hostname("someone-else", delay_s=0)
    server.start()
    out = subprocess.run(["sh", "-c", waiter_script("127.0.0.1", server.port, ["backend-1"], deadline_s=1)],
                         capture_output=True, text=True, timeout=30).stdout
    got = parse_waiter(out)
    assert got.at_ns is None and got.source == "answer from someone-else" and got.tries > 5
