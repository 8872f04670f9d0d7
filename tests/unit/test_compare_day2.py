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
