"""The agent-restart negative controls (manifests/breakages/day2.yaml, world agent-restart): their
placeholders are ones the world fills, and their script, run against stand-in node tools, finds the
agent's sandbox and the backend's network namespace, waits for the sandbox to stop, then puts its
one rule in and takes it out again."""
from __future__ import annotations

import os
import re
import string
import subprocess
import time
from pathlib import Path

import pytest

from cnimatrix import breakage

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "manifests" / "breakages" / "scripts" / "cut-path-while-agent-restarts.sh"
CONTROLS = {"held-connection-reset-while-agent-restarts": "test_connection_survives_agent_restart",
            "held-connection-stalled-while-agent-restarts": "test_connection_survives_agent_restart",
            "new-connections-blackholed-while-agent-restarts": "test_new_connections_recover_from_agent_restart"}
SCENARIOS = set(CONTROLS.values()) | {"test_no_fail_open_during_agent_restart"}


def placeholders(text: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}


def test_each_control_fails_one_restart_scenario_and_spares_the_other_two():
    known = breakage.load_all()
    for name, scenario in CONTROLS.items():
        item = known[name]
        assert (item.world, item.must_fail, set(item.must_pass)) == ("agent-restart", (scenario,), SCENARIOS - {scenario}), name
        assert item.narrow and not item.cnis, name   # any CNI: the rule sits in the backend pod's own namespace


def test_agent_restart_placeholders_are_filled_by_its_world():
    """Every $name a breakage of world agent-restart reads is a node name, $kubectl, $breakages or a
    key the world's fixture passes (a missing one would stop the control at apply time)."""
    conftest = (ROOT / "suites" / "day2" / "conftest.py").read_text()
    body = conftest[conftest.index("def agent_restart_world("):]
    passed = set(re.findall(r'"(\w+)":', body))
    given = {"control_plane", "worker", "worker2", "control_plane_ip", "worker_ip", "worker2_ip", "kubectl", "breakages"}
    for item in breakage.load_all().values():
        if item.world == "agent-restart":
            used = placeholders(item.hits) | {p for step in item.steps for text in step.values() for p in placeholders(str(text))}
            assert used <= passed | given, f"{item.name}: {sorted(used - passed - given)} not filled"


def fake_node(tmp_path: Path) -> dict[str, str]:
    """Stand-ins for crictl, nsenter, ip and iptables: the agent's sandbox is ready until the file
    `gone` exists; of two network namespaces, `pod-b` holds 10.244.2.7; iptables calls are logged."""
    bin_dir, netns = tmp_path / "bin", tmp_path / "netns"
    bin_dir.mkdir()
    netns.mkdir()
    for name in ("pod-a", "pod-b"):
        (netns / name).touch()
    tools = {
        "crictl": f"""case "$*" in
  *--id*) [ -e {tmp_path}/gone ] || echo sandbox-1 ;;
  *--name*^calico-node-x*) echo sandbox-1 ;;
esac""",
        "nsenter": 'FAKE_NETNS=${1#--net=}; export FAKE_NETNS; shift; exec "$@"',
        "ip": 'case $FAKE_NETNS in *pod-b) echo "3: eth0    inet 10.244.2.7/24 brd 10.244.2.255 scope global eth0" ;;'
              ' *) echo "3: eth0    inet 10.244.2.70/24 scope global eth0" ;; esac',
        "iptables": f'echo "${{FAKE_NETNS##*/}} $*" >> {tmp_path}/iptables.log',
    }
    for name, body in tools.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CNIMATRIX_NETNS_DIR": str(netns),
            "CNIMATRIX_CUT_LOG": str(tmp_path / "cut.log")}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)


def iptables_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "iptables.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("mode, rule", [
    ("reset", "-s 10.244.1.4 -p tcp --dport 8080 -m comment --comment cnimatrix: reset while the agent restarts -j REJECT --reject-with tcp-reset"),
    ("stall", "-s 10.244.1.4 -p tcp --dport 8080 -m comment --comment cnimatrix: stall while the agent restarts -j DROP"),
    ("no-new", "-s 10.244.1.4 -p tcp --dport 8080 --syn -m comment --comment cnimatrix: no new connections while the agent restarts -j DROP"),
])
def test_the_rule_goes_into_the_pods_namespace_once_the_agent_has_stopped_and_comes_out(tmp_path, mode, rule):
    env = fake_node(tmp_path)
    try:
        proc = run(env, mode, "kube-system", "calico-node-x", "10.244.2.7", "10.244.1.4", "8080", "0")
        assert proc.returncode == 0, proc.stderr
        assert "sandbox-1" in proc.stdout and "pod-b" in proc.stdout
        time.sleep(0.6)
        assert iptables_calls(tmp_path) == ["pod-b -w -S INPUT"]   # checked, nothing put in while the agent runs
    finally:
        (tmp_path / "gone").touch()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(iptables_calls(tmp_path)) < 3:
        time.sleep(0.1)
    assert iptables_calls(tmp_path)[1:] == [f"pod-b -w -I INPUT {rule}", f"pod-b -w -D INPUT {rule}"]
    assert "no longer ready" in (tmp_path / "cut.log").read_text()


@pytest.mark.parametrize("args, code, said", [
    (("drop", "kube-system", "calico-node-x", "10.244.2.7", "10.244.1.4", "8080", "5"), 2, "unknown mode 'drop'"),
    (("reset", "kube-system", "calico-node-x", "10.244.2.7"), 2, "usage:"),
    (("reset", "", "", "10.244.2.7", "10.244.1.4", "8080", "5"), 1, "no agent pod named"),
    (("reset", "kube-system", "cilium-y", "10.244.2.7", "10.244.1.4", "8080", "5"), 1, "expected one ready sandbox of kube-system/cilium-y"),
    (("reset", "kube-system", "calico-node-x", "10.244.2.8", "10.244.1.4", "8080", "5"), 1, "no network namespace under"),
])
def test_what_it_cannot_find_stops_the_control_at_once(tmp_path, args, code, said):
    proc = run(fake_node(tmp_path), *args)
    assert (proc.returncode, said in proc.stderr) == (code, True), proc.stderr
    assert not (tmp_path / "cut.log").exists()   # nothing left waiting in the background
