"""The UDP churn cases and their negative controls (manifests/breakages/day2.yaml, worlds udp-churn and
udp-nodeport): each control names scenarios the suite has and placeholders its world fills; the UDP
Service renders as a ClusterIP or a NodePort one; and the freeze script, run against stand-in
conntrack and pkill, freezes kube-proxy once per new translated address:port."""
from __future__ import annotations

import ast
import os
import re
import string
import subprocess
from pathlib import Path

import pytest
import yaml

from cnimatrix import breakage
from fixtures.workloads import render

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "manifests" / "breakages" / "scripts" / "freeze-kube-proxy-on-new-udp-flow.sh"
CHANGES = ("backend_deleted", "endpoint_replaced", "service_recreated")
CONTROLS = {"kube-proxy-frozen-under-udp-churn": ("udp-churn", "udp_churn", [f"test_udp_{c}" for c in CHANGES]),
            "kube-proxy-frozen-under-nodeport-udp-churn": ("udp-nodeport", "udp_nodeport", [f"test_udp_nodeport_{c}" for c in CHANGES])}
NODES = {"control_plane", "worker", "worker2", "control_plane_ip", "worker_ip", "worker2_ip", "kubectl", "breakages"}


def placeholders(text: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}


def scenarios() -> dict[str, list[str]]:
    """test name -> the fixtures it takes, in suites/day2/test_udp_churn.py."""
    tree = ast.parse((ROOT / "suites" / "day2" / "test_udp_churn.py").read_text())
    return {f.name: [a.arg for a in f.args.args] for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")}


def test_each_freeze_control_fails_the_three_cases_of_its_own_way():
    known, tests = breakage.load_all(), scenarios()
    for name, (world, fixture, must_fail) in CONTROLS.items():
        item = known[name]
        assert (item.world, list(item.must_fail)) == (world, must_fail), name
        assert all(fixture in tests[test] for test in must_fail), name
    # pytest -k picks by substring: neither control's selection may pull in the other's cases
    clusterip, nodeport = (CONTROLS[n][2] for n in CONTROLS)
    assert not [a for a in clusterip for b in nodeport if a in b or b in a]


def test_the_freeze_controls_read_only_what_their_world_fills():
    conftest = (ROOT / "suites" / "day2" / "conftest.py").read_text()
    for name, (world, fixture, _) in CONTROLS.items():
        body = conftest[conftest.index(f"def {fixture}("):]
        body = body[:body.index("\n@pytest.fixture")]
        passed = set(re.findall(r'"(\w+)":', body)) | ({"ns", "client_ip", "client_node"} if world == "udp-churn" else set())
        item = breakage.load(name)
        used = {p for step in item.steps for text in step.values() for p in placeholders(str(text))}
        assert used <= passed | NODES, f"{name}: {sorted(used - passed - NODES)} not filled"


@pytest.mark.parametrize("kind, node_port, want", [("ClusterIP", 0, 0), ("NodePort", 0, 0), ("NodePort", 31234, 31234)])
def test_the_udp_service_renders_either_way(kind, node_port, want):
    doc = yaml.safe_load(render("day2/udp-service", name="rec-1", selector="rec-1-a", cluster_ip="", type=kind, node_port=node_port))
    assert doc["spec"]["type"] == kind and doc["spec"]["clusterIP"] == ""
    assert doc["spec"]["ports"] == [{"name": "udp", "port": 8081, "targetPort": 8081, "protocol": "UDP", "nodePort": want}]


ENTRIES = """\
udp      17 29 src=172.18.0.9 dst=172.18.0.3 sport=40001 dport=31000 src=10.244.2.5 dst=172.18.0.3 sport=8081 dport=40001 mark=0 use=1
udp      17 29 src=172.18.0.9 dst=172.18.0.3 sport=40002 dport=31001 src=10.244.2.6 dst=172.18.0.3 sport=8081 dport=40002 mark=0 use=1
udp      17 29 src=172.18.0.9 dst=172.18.0.3 sport=40003 dport=31002 [UNREPLIED] src=172.18.0.3 dst=172.18.0.9 sport=31002 dport=40003 mark=0 use=1
udp      17 29 src=172.18.0.9 dst=172.18.0.3 sport=40004 dport=31000 src=10.244.2.5 dst=172.18.0.3 sport=8081 dport=40004 mark=0 use=1
"""


def run_freeze(tmp_path: Path, port: str) -> tuple[list[str], list[str], str]:
    """The script for 2 s with no hold against stand-in tools: (pkill calls, conntrack calls, its output)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "entries").write_text(ENTRIES)
    tools = {"conntrack": f'echo "$*" >> {tmp_path}/conntrack.log; cat {tmp_path}/entries',
             "pkill": f'echo "$*" >> {tmp_path}/pkill.log'}
    for name, body in tools.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CNIMATRIX_FREEZE_WATCH_S": "2"}
    proc = subprocess.run(["sh", str(SCRIPT), "172.18.0.9", port, "0"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    read = lambda name: (tmp_path / name).read_text().splitlines() if (tmp_path / name).exists() else []
    return read("pkill.log"), read("conntrack.log"), proc.stdout


def test_the_freeze_stops_kube_proxy_once_per_new_translated_nodeport(tmp_path):
    pkill, conntrack, said = run_freeze(tmp_path, "any")
    assert pkill == ["-STOP -x kube-proxy", "-CONT -x kube-proxy"] * 2   # 31000 and 31001; 31002 untranslated; 31000 again seen
    assert "to 172.18.0.3:31000" in said and "to 172.18.0.3:31001" in said and "31002" not in said
    assert conntrack and all(call == "-L -p udp -s 172.18.0.9" for call in conntrack)


def test_the_freeze_passes_a_named_port_to_conntrack(tmp_path):
    _, conntrack, _ = run_freeze(tmp_path, "8081")
    assert conntrack and all(call == "-L -p udp -s 172.18.0.9 --dport 8081" for call in conntrack)
