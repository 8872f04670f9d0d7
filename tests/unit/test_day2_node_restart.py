"""Node restart: the pod answering again at its current address, the Service recovering, no denied
connection admitted at the old or the current address, and the node coming back (each verdict with
its failing twin); the figures as metrics.day2.node_restart and the comparison's rows; and the
negative control `agent-kept-off-restarted-node` as data, its step run against a stand-in kubectl."""
from __future__ import annotations

import json
import os
import re
import string
import subprocess
from pathlib import Path

import pytest

from cnimatrix import breakage
from cnimatrix.compare import day2 as compare_day2
from cnimatrix.day2 import node_restart as nr
from cnimatrix.day2.node_restart import NodeRestart, PodReturn
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.timeline import Exchange, Sample
from cnimatrix.results import validate
from cnimatrix.results.metrics import RunMetrics, test_metrics
from tests.unit import realistic_summaries

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0
RESTARTED = T0 + 2.0            # 20 probes at 100 ms before the command
RETURNED = RESTARTED + 12.0     # the container stopped (10 s grace) and started again
BACK = RESTARTED + 25.0         # both pods Ready again: the second loop starts
END = RESTARTED + 45.0
NODE = NodeRestart("k-worker2", "docker restart -t 10 k-worker2", RESTARTED, RETURNED, RESTARTED + 13.0, RESTARTED + 20.0, END,
                   "kube-system/agent-x", RESTARTED + 30.0)
SAME = PodReturn("backend", "10.244.2.7", "10.244.2.7", BACK)
MOVED = PodReturn("backend", "10.244.2.7", "10.244.2.9", BACK)


def probes(start: float, end: float, answered=lambda t: True) -> list[Sample]:
    """One probe every 100 ms from `start` to `end`, answered where `answered(seconds after the command)`."""
    count = round((end - start) * 10)
    times = [start + i * 0.1 for i in range(count)]
    return [Sample(t, Outcome.OK if answered(t - RESTARTED) else Outcome.TIMEOUT, 1.0) for t in times]


def down(start_s: float, end_s: float):
    return lambda s: not start_s <= s < end_s


# --- the node -------------------------------------------------------------------------------------

def test_a_node_ready_again_within_the_bound_came_back_and_one_that_was_not_did_not():
    ok, reason = nr.node_back(NODE, 180)
    assert ok and reason == "node k-worker2 Ready again 20.00 s after `docker restart -t 10 k-worker2` (NotReady seen 13.00 s after it)"
    never = NodeRestart("k-worker2", "docker restart -t 10 k-worker2", RESTARTED, RETURNED, None, None, RESTARTED + 180)
    ok, reason = nr.node_back(never, 180)
    assert not ok and reason == "node k-worker2 not Ready again within 180 s of `docker restart -t 10 k-worker2` (NotReady never seen)"
    assert NODE.to_dict() == {"node": "k-worker2", "command": "docker restart -t 10 k-worker2", "command_s": 12.0,
                              "not_ready_after_s": 13.0, "ready_after_s": 20.0, "observed_s": 45.0,
                              "agent": "kube-system/agent-x", "agent_ready_after_s": 30.0}
    assert NODE.agent_note() == "its CNI agent kube-system/agent-x Ready again 30.00 s after the command"
    assert never.agent_note() == "" and "not seen Ready again" in NodeRestart(
        "k-worker2", "c", RESTARTED, RETURNED, None, None, END, "kube-system/agent-x").agent_note()


def test_the_held_connection_is_reported_without_a_bound():
    reset = [Exchange(i + 1, T0 + i * 0.1, "ok") for i in range(25)] + [Exchange(26, T0 + 2.5, "reset")]
    held = nr.held_connection(reset, "", NODE)
    assert (held["fate"], held["how"], held["ended_after_s"], held["answered_before"]) == ("reset", "reset", 0.5, 20)
    assert "bound_s" not in held


# --- (a) the pod answers again ---------------------------------------------------------------------

def test_a_pod_back_at_its_old_address_answers_again_from_the_first_answer_after_the_command_returned():
    old = probes(T0, END, down(0.5, 24.0))
    seen = nr.pod_answers(old, probes(BACK, END), SAME, NODE)
    assert (seen.answered_before, seen.answered_again_s, seen.ready_after_s, seen.answering_at_end) == (20, 24.0, 25.0, True)
    ok, reason = nr.answers_again(180, "worker -> backend")(seen)
    assert ok and "answered again 24.00 s after the restart command" in reason and "IP 10.244.2.7 (unchanged)" in reason


def test_a_pod_with_a_new_ip_is_judged_at_the_new_one_only():
    old_answering = probes(T0, END, down(0.5, 14.0))   # another pod took the old address after the command returned
    seen = nr.pod_answers(old_answering, probes(BACK, END), MOVED, NODE)
    assert (seen.answered_again_s, seen.attempts) == (25.0, 200)
    assert nr.answers_again(180, "b")(seen)[0]
    silent = nr.pod_answers(old_answering, probes(BACK, END, lambda s: False), MOVED, NODE)
    ok, reason = nr.answers_again(180, "worker -> backend")(silent)
    assert not ok and reason == ("worker -> backend: never answered at its current address (200 probes; node Ready after 20.00 s, "
                                 "pod Ready after 25.00 s, IP 10.244.2.9 (was 10.244.2.7))")
    assert silent.to_dict()["ip_changed"] is True and silent.to_dict()["bound_s"] == 180.0


def test_a_pod_not_back_late_or_not_answering_at_the_end_fails():
    gone = nr.pod_answers(probes(T0, END, down(0.5, 999)), [], PodReturn("backend", "10.244.2.7", None, None), NODE)
    ok, reason = nr.answers_again(180, "b")(gone)
    assert not ok and "no new sandbox's address shown within 180 s" in reason and "pod Ready after —, old IP 10.244.2.7, no new one shown" in reason
    late = nr.pod_answers(probes(T0, END, down(0.5, 30.0)), [], SAME, NODE)
    ok, reason = nr.answers_again(20, "b")(late)
    assert not ok and "answered again only 30.00 s after the restart command (bound 20 s" in reason
    flaky = nr.pod_answers(probes(T0, END, lambda s: not 0.5 <= s < 24 and s < 40), [], SAME, NODE)
    ok, reason = nr.answers_again(180, "b")(flaky)
    assert not ok and "answered again after 24.00 s but not at the end" in reason


def test_a_pod_that_never_answered_before_the_restart_proves_nothing():
    seen = nr.pod_answers(probes(T0, END, lambda s: s > 24), probes(BACK, END), SAME, NODE)
    ok, reason = nr.answers_again(180, "b")(seen)
    assert not ok and "0 probe(s) answered before the restart (want 5): nothing proven" in reason


# --- (b) the Service recovers ----------------------------------------------------------------------

def test_a_service_answering_for_good_within_the_bound_and_long_enough_recovers():
    seen = nr.service_recovery(probes(T0, END, down(0.5, 26.0)), NODE)
    assert (seen.recovered_after_s, seen.steady_s, seen.new.outage_s, seen.new.failed) == (26.0, 19.0, 25.5, 255)
    ok, reason = nr.service_recovers(180, 10, "worker -> ClusterIP")(seen)
    assert ok and "answering for good 26.00 s after the restart command (255/450 failed" in reason
    assert seen.to_dict()["bound_s"] == 180.0 and seen.to_dict()["recovered_after_s"] == 26.0


def test_a_service_that_flaps_recovers_late_or_not_at_all_fails():
    flapping = nr.service_recovery(probes(T0, END, lambda s: not (0.5 <= s < 26 or 38 <= s < 38.5)), NODE)
    ok, reason = nr.service_recovers(180, 10, "c")(flapping)
    assert flapping.recovered_after_s == 38.5 and not ok and "only 6.50 s without a miss" in reason
    ok, reason = nr.service_recovers(20, 10, "c")(nr.service_recovery(probes(T0, END, down(0.5, 26.0)), NODE))
    assert not ok and "answering for good only 26.00 s after the restart command (bound 20 s" in reason
    never = nr.service_recovery(probes(T0, END, down(0.5, 999)), NODE)
    ok, reason = nr.service_recovers(180, 10, "c")(never)
    assert never.recovered_after_s is None and not ok and "not answering at the end of the observation" in reason
    ok, reason = nr.service_recovers(180, 10, "c")(nr.service_recovery(probes(T0, END, lambda s: s > 26), NODE))
    assert not ok and "nothing proven" in reason


# --- (c) no fail-open -----------------------------------------------------------------------------

OPEN = nr.restart.new_connections(probes(T0, END, down(0.5, 26.0)), NODE.as_restart())
GUARDED = PodReturn("guarded", "10.244.2.8", "10.244.2.8", BACK)
GUARDED_MOVED = PodReturn("guarded", "10.244.2.8", "10.244.2.3", BACK)
DENIED = lambda s: False  # noqa: E731


def test_a_pod_denied_at_both_addresses_throughout_passes():
    seen = nr.denied_across(probes(T0, END, DENIED), probes(BACK, END, DENIED), probes(BACK, END), GUARDED_MOVED, NODE)
    assert (seen.at_old.attempts, seen.at_new.attempts, seen.open_answered) == (120, 200, 200)   # old: until the command returned
    ok, reason = nr.stays_denied("worker -> guarded", OPEN)(seen)
    assert ok and reason == "worker -> guarded: 0/120 answered at its old address, 0/200 at its current IP 10.244.2.3 (was 10.244.2.8)"
    assert seen.to_dict()["at_new"] == {"attempts": 200, "admitted": 0, "admitted_before": 0, "first_admitted_s": None, "window_s": None}


def test_an_answer_at_the_old_address_is_the_pods_own_only_while_the_address_is():
    answered_late = probes(T0, END, lambda s: s > 30)
    moved = nr.denied_across(answered_late, probes(BACK, END, DENIED), probes(BACK, END), GUARDED_MOVED, NODE)
    assert nr.stays_denied("g", OPEN)(moved)[0], "the old address is another pod's after the command returned"
    kept = nr.denied_across(answered_late, probes(BACK, END, DENIED), probes(BACK, END), GUARDED, NODE)
    ok, reason = nr.stays_denied("g", OPEN)(kept)
    assert not ok and reason.startswith("fail-open during node restart: g at its old address 10.244.2.8: 149/450")
    shutdown = nr.denied_across(probes(T0, END, lambda s: 1 <= s < 2), [], [], GUARDED_MOVED, NODE)
    assert "10/120 denied attempts answered, from 1.00 s after the restart command" in nr.stays_denied("g", OPEN)(shutdown)[1]


def test_an_answer_at_the_current_address_fails_open():
    seen = nr.denied_across(probes(T0, END, DENIED), probes(BACK, END, lambda s: s < 27), probes(BACK, END), GUARDED_MOVED, NODE)
    ok, reason = nr.stays_denied("g", OPEN)(seen)
    assert not ok and reason == ("fail-open after node restart: g at its current IP 10.244.2.3 (was 10.244.2.8): 20/200 denied "
                                 "attempts answered, from 25.00 s after the restart command, over 1.90 s (its CNI agent "
                                 "kube-system/agent-x Ready again 30.00 s after the command)")


def test_a_pod_not_back_a_short_second_loop_or_a_deny_not_in_force_proves_nothing():
    gone = nr.denied_across(probes(T0, END, DENIED), [], [], PodReturn("guarded", "10.244.2.8", None, None), NODE)
    assert "no new address shown within the bound" in nr.stays_denied("g", OPEN)(gone)[1]
    short = nr.denied_across(probes(T0, END, DENIED), probes(BACK, BACK + 1, DENIED), probes(BACK, BACK + 1), GUARDED, NODE)
    assert "10 attempt(s) at its current address (want 20)" in nr.stays_denied("g", OPEN)(short)[1]
    before_only = probes(T0, END, lambda s: s < 20)     # the open path answered, but not while the current address was probed
    dead_open = nr.denied_across(probes(T0, END, DENIED), probes(BACK, END, DENIED), before_only, GUARDED, NODE)
    assert "the open path from the same client answered 0 meanwhile (want 5): nothing proven" in nr.stays_denied("g", OPEN)(dead_open)[1]
    leaky = nr.denied_across(probes(T0, END, lambda s: s < -1), [], [], GUARDED, NODE)
    assert "the deny was not in force" in nr.stays_denied("g", OPEN)(leaky)[1]


# --- metrics and the comparison --------------------------------------------------------------------

def block(pod: PodReturn = MOVED) -> dict:
    """metrics.day2.node_restart as the three scenarios write it."""
    return {**NODE.to_dict(), "connection": nr.held_connection([Exchange(1, T0, "ok"), Exchange(2, RESTARTED + 1, "reset")], "", NODE),
            "backend": nr.pod_answers(probes(T0, END, down(0.5, 24.0)), probes(BACK, END), pod, NODE).to_dict(),
            "service": nr.service_recovery(probes(T0, END, down(0.5, 26.0)), NODE).to_dict(),
            "denied_ingress": nr.denied_across(probes(T0, END, DENIED), [], [], PodReturn("guarded", "10.244.2.8", None, None),
                                               NODE).to_dict()}


def without_nulls(value):
    """Null and absent read alike: the document with its null-valued keys left out."""
    return {k: without_nulls(v) for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def test_the_figures_fit_the_schema_and_read_back_as_written():
    doc = realistic_summaries.summaries()["calico"]
    doc["metrics"]["day2"]["node_restart"] = block()
    test = doc["tests"][0]     # made a day-2 one: its metrics are typed by its suite
    test.update(id="suites/day2/test_node_restart.py::test_pod_answers_again_after_node_restart", suite="day2",
                metrics={"node_restart": block()})
    validate(doc)
    read = RunMetrics.from_dict(doc["metrics"]).day2.node_restart
    assert read.to_dict() == without_nulls(block())
    assert (read.backend.new_ip, read.service.recovered_after_s, read.connection.fate) == ("10.244.2.9", 26.0, "reset")
    assert test_metrics(test).node_restart.ready_after_s == 20.0 and test_metrics(test).extra is None


def test_the_comparison_has_node_restart_rows_and_dashes_where_a_run_has_none():
    read = RunMetrics.from_dict({"day2": {"node_restart": block()}}).day2
    broken = dict(block(SAME), backend={"old_ip": "10.244.2.7", "attempts": 0, "bound_s": 180.0},
                  service={"attempts": 430, "failed": 430, "answered_before": 20, "bound_s": 180.0},
                  denied_ingress={"at_old": {"attempts": 120, "admitted": 3}, "at_new": {"attempts": 200, "admitted": 2},
                                  "ip_changed": False})
    rows = dict(compare_day2.rows([read, RunMetrics.from_dict({"day2": {"node_restart": broken}}).day2, None]))
    assert rows["node restart, established TCP"] == ["reset at 1.00 s", "reset at 1.00 s", "—"]
    assert rows["node restart, pod answers again"] == ["25.00 s (node Ready 20.00 s, agent Ready 30.00 s, new IP)", "never (bound 180 s, no new address)", "—"]
    assert rows["node restart, Service outage"] == ["answering from 26.00 s (255/450 failed)",
                                                    "not recovered (bound 180 s, 430/430 failed)", "—"]
    assert rows["node restart, denied ingress"] == ["denied (0/120 old IP, no new address)", "fail-open (3/120 old IP, 2/200 same IP)", "—"]


# --- the negative control --------------------------------------------------------------------------

CONTROL = "agent-kept-off-restarted-node"


def test_the_control_fails_the_pod_and_service_scenarios_on_any_cni_just_before_the_restart():
    item = breakage.load(CONTROL)
    assert (item.suite, item.world, item.cnis, item.narrow) == ("day2", "node-restart", (), False)
    assert item.must_fail == ("test_pod_answers_again_after_node_restart", "test_service_recovers_from_node_restart")
    suite = (ROOT / "suites" / "day2" / "test_node_restart.py").read_text()
    assert all(f"def {name}(" in suite for name in item.must_fail) and "def test_no_fail_open_during_node_restart(" in suite


def test_its_placeholders_are_filled_by_the_hook_the_node_restart_calls():
    conftest = (ROOT / "suites" / "day2" / "conftest.py").read_text()
    body = conftest[conftest.index("def before_node_restart("):conftest.index("def graceful_world(")]
    assert 'world="node-restart"' in body
    passed = set(re.findall(r'"(\w+)":', body))
    given = {"control_plane", "worker", "worker2", "control_plane_ip", "worker_ip", "worker2_ip", "kubectl", "breakages"}
    for item in breakage.load_all().values():
        if item.world == "node-restart":
            used = {m.group("named") or m.group("braced") for step in item.steps for text in step.values()
                    for m in string.Template.pattern.finditer(str(text)) if m.group("named") or m.group("braced")}
            assert used <= passed | given, f"{item.name}: {sorted(used - passed - given)} not filled"


def run_step(tmp_path: Path, agent_pod: str, states: list[str]) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """The control's host step with a stand-in kubectl that logs its arguments (JSON, one call a line)
    and answers the pod's state from `states` in turn."""
    (tmp_path / "states").write_text("\n".join(states) + "\n")
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"""#!/usr/bin/env python3
import json, sys
open("{tmp_path}/calls", "a").write(json.dumps(sys.argv[1:]) + "\\n")
if "get" in sys.argv:
    lines = open("{tmp_path}/states").read().splitlines()
    print(lines[0] if lines else "", end="")
    open("{tmp_path}/states", "w").write("\\n".join(lines[1:]) + "\\n")
""")
    kubectl.chmod(0o755)
    params = {"kubectl": str(kubectl), "agent_namespace": "kube-system", "agent_daemonset": "calico-node", "agent_pod": agent_pod,
              "worker2": "k-worker2"}
    script = string.Template(breakage.load(CONTROL).steps[0]["host"]).substitute(params)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, env=os.environ)
    calls = tmp_path / "calls"
    return proc, [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


def test_the_step_keeps_the_agent_off_worker2_and_waits_until_its_pod_there_is_going(tmp_path):
    proc, calls = run_step(tmp_path, "calico-node-x", ["calico-node-x ", "calico-node-x 2026-12-08T10:00:00Z"])
    assert proc.returncode == 0, proc.stderr
    patch = calls[0]
    assert patch[:5] == ["-n", "kube-system", "patch", "daemonset", "calico-node"]
    spec = json.loads(patch[patch.index("-p") + 1])["spec"]
    assert spec["updateStrategy"] == {"type": "OnDelete", "rollingUpdate": None}   # the other nodes' agents are not rolled
    terms = spec["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["k-worker2"]}]}]
    assert [c[2] for c in calls[1:]] == ["get", "get"]    # still running, then marked for deletion


@pytest.mark.parametrize("agent_pod, said", [("", "no one running pod of kube-system/calico-node on k-worker2")])
def test_the_step_with_no_agent_pod_to_keep_off_stops_the_control_at_once(tmp_path, agent_pod, said):
    proc, calls = run_step(tmp_path, agent_pod, [])
    assert (proc.returncode, said in proc.stderr, calls) == (1, True, [])


def test_the_restarted_nodes_agent_log_is_kept_as_evidence_or_the_reason_why_not(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "suites" / "day2"))
    from node_restart_checks import save_agent_log

    class Cluster:
        def __init__(self, text: str):
            self.text, self.asked = text, []

        def kubectl(self, *args, check=True):
            self.asked.append(args)
            return self.text

    talking = Cluster("[pod/canal-x/calico-node] 2026-12-07T22:24:53.748Z Completed first update to dataplane\n")
    assert save_agent_log(talking, "kube-system/canal-x", tmp_path / "evidence") == "evidence/node-restart-agent-canal-x.log"
    assert "Completed first update" in (tmp_path / "evidence" / "node-restart-agent-canal-x.log").read_text()
    assert talking.asked == [("logs", "-n", "kube-system", "canal-x", "--all-containers", "--prefix", "--timestamps")]
    assert save_agent_log(Cluster(""), "kube-system/canal-x", tmp_path / "other") == "no log from kube-system/canal-x"
    assert save_agent_log(Cluster("x"), "", tmp_path / "other") == "no agent pod named" and not (tmp_path / "other").exists()
