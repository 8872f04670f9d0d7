"""The comparison's day-2 table: one row per figure, one text per CNI, absent when no CNI ran the suite."""
from __future__ import annotations

from jsonschema import Draft202012Validator

from cnimatrix.compare import day2, model, render_md
from cnimatrix.results.metrics import RunMetrics
from tests.unit.realistic_summaries import day2_block


def metrics(enforced: bool):
    return RunMetrics.from_dict({"day2": day2_block(enforced)}).day2


def test_rows_say_isolated_or_the_window_and_staleness_or_never():
    rows = dict(day2.rows([metrics(True), metrics(False), None]))
    assert rows["startup isolation, ingress"] == ["isolated (0/62)", "0.61 s window (7/58 admitted)", "—"]
    assert rows["label change to deny"] == ["0.84 s", "—", "—"]
    assert rows["UDP staleness, backend-deleted"] == ["1.20 s", "1.20 s", "—"]
    assert rows["UDP staleness, service-recreated"][0] == "never (bound 10 s, 120 stale, 0 unanswered)"
    assert rows["UDP staleness, endpoint-replaced"] == ["—", "—", "—"]


def test_the_section_fits_the_schema_and_renders_as_a_table():
    section = day2.section(["calico", "flannel"], [metrics(True), metrics(False)])
    schema = model.schema()
    Draft202012Validator({**schema["properties"]["day2"], "$defs": schema["$defs"]}).validate(section)
    doc = {"columns": ["calico", "flannel"], "day2": section}
    lines = render_md._day2_lines(doc)
    assert "### Day 2" in lines and any(line.startswith("| startup isolation, egress | isolated (0/62) |") for line in lines)


def test_no_column_with_the_suite_means_no_section():
    assert day2.section(["calico", "flannel"], [None, None]) is None
    assert render_md._day2_lines({"columns": ["calico"]}) == []


def test_agent_restart_rows_say_the_fate_the_outage_and_any_fail_open():
    calm = {"agent_restart": {"agent": "kube-system/calico-node", "node": "worker2", "ready_after_s": 11.2, "observed_s": 31.4,
                              "connection": {"fate": "survived", "longest_gap_s": 0.31, "answering_at_end": True},
                              "new_connections": {"attempts": 300, "failed": 12, "outage_s": 1.2},
                              "denied_ingress": {"attempts": 300, "admitted": 0}}}
    rough = {"agent_restart": {"connection": {"fate": "reset", "how": "reset", "ended_after_s": 4.1},
                               "new_connections": {"attempts": 300, "failed": 200, "outage_s": 20.0},
                               "denied_ingress": {"attempts": 300, "admitted": 21, "window_s": 2.1}}}
    blocks = [RunMetrics.from_dict({"day2": doc}).day2 for doc in (calm, rough)]
    rows = dict(day2.rows([*blocks, metrics(True)]))
    assert rows["agent restart, established TCP"] == ["survived, 0.31 s gap", "reset at 4.10 s", "—"]
    assert rows["agent restart, new connections"] == ["1.20 s outage (12/300 failed)", "20.00 s outage (200/300 failed)", "—"]
    assert rows["agent restart, denied ingress"] == ["denied (0/300)", "2.10 s fail-open (21/300 admitted)", "—"]


def test_graceful_and_steering_rows_say_what_held_and_what_did_not():
    held = {"inflight_request": {"completed": True, "outcome": "ok", "backend": "if-a", "request_s": 8.31, "work_s": 8.0,
                                 "left_at_delete_s": 7.0},
            "terminating_fallback": {"attempts": 15, "by_terminating": 15, "elsewhere": 0, "failed": 0},
            "same_node": {"worker": {"requests": 21, "same_node": 21, "other_node": 0, "failed": 0},
                          "worker2": {"requests": 21, "same_node": 21, "other_node": 0, "failed": 0}},
            "source_ranges": {"listed": {"attempts": 5, "answered": 5, "refused": 0, "timed_out": 0},
                              "other": {"attempts": 5, "answered": 0, "refused": 0, "timed_out": 5}}}
    broke = {"inflight_request": {"completed": False, "outcome": "timeout", "request_s": 28.0},
             "terminating_fallback": {"attempts": 20, "by_terminating": 0, "elsewhere": 0, "failed": 20},
             "same_node": {"worker": {"requests": 21, "same_node": 12, "other_node": 9, "failed": 0}},
             "source_ranges": {"listed": {"attempts": 5, "answered": 5}, "other": {"attempts": 5, "answered": 5}}}
    blocks = [RunMetrics.from_dict({"day2": doc}).day2 for doc in (held, broke)]
    rows = dict(day2.rows([*blocks, metrics(True)]))
    assert rows["in-flight request, backend deleted"] == ["completed (8.31 s, 7.00 s after its delete)", "cut: timeout after 28.00 s", "—"]
    assert rows["eTP Local, only endpoint terminating"] == ["answered 15/15 by it", "0/20 answered by it, 20 failed", "—"]
    assert rows["trafficDistribution PreferSameNode"] == ["same node 42/42", "same node 12/21 (9 other node)", "—"]
    assert rows["loadBalancerSourceRanges"] == ["listed 5/5, other dropped 0/5", "other admitted 5/5 (listed 5/5)", "—"]


def test_nodeport_cases_have_rows_of_their_own_beside_the_clusterip_ones():
    seen = {"settled_s": 0.4, "stale": 0, "silent": 3, "bound_s": 10.0}
    stuck = {"settled_s": None, "stale": 118, "silent": 0, "bound_s": 10.0}
    block = RunMetrics.from_dict({"day2": {"udp_staleness": {"backend-deleted": seen, "nodeport-backend-deleted": stuck,
                                                             "nodeport-service-recreated": seen}}}).day2
    rows = day2.rows([block, metrics(True)])
    names = [name for name, _ in rows if name.startswith("UDP staleness")]
    assert names == [f"UDP staleness, {c}" for c in day2.CHANGES] + [f"UDP staleness, nodeport-{c}" for c in day2.CHANGES]
    rows = dict(rows)
    assert rows["UDP staleness, backend-deleted"] == ["0.40 s", "1.20 s"]
    assert rows["UDP staleness, nodeport-backend-deleted"] == ["never (bound 10 s, 118 stale, 0 unanswered)", "—"]
    assert rows["UDP staleness, nodeport-service-recreated"] == ["0.40 s", "—"]
    assert rows["UDP staleness, nodeport-endpoint-replaced"] == ["—", "—"]
