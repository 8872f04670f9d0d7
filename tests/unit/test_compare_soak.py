"""Repeated runs (tools/soak.py's soak.json) in the comparison: read, summed, rendered, validated."""

import json

import pytest

from cnimatrix.compare import model, render_html, render_md, samples, soak
from cnimatrix.compare.__main__ import main
from cnimatrix.results.soak import SoakRecord
from tests.unit.test_compare import COLUMNS, HEAD, K8S, compare

DNS = "suites/dns/test_dns.py::test_srv_records"
SVC = "suites/service/test_service.py::test_hairpin"
NETPOL = "suites/netpol/test_netpol.py::test_policy_case[update-pod-labels-peer]"


def record(runs=20, planned=20, stopped_by=None, scenarios=None) -> dict:
    """soak.json as tools/soak.py writes it."""
    scenarios = scenarios if scenarios is not None else {
        DNS: {"suite": "dns", "title": "SRV records", "runs": runs, "passed": runs, "flaky": 0, "failed": 0,
              "skipped": 0, "not_run": 0, "failures": []},
        NETPOL: {"suite": "netpol", "title": "x/a admits role=client", "runs": runs, "passed": runs - 3, "flaky": 2,
                 "failed": 1, "skipped": 0, "not_run": 0,
                 "failures": [{"run": 7, "message": "update: 1 cell(s) differ\nmatrix follows"}]},
        SVC: {"suite": "service", "title": "hairpin", "runs": runs, "passed": runs - 1, "flaky": 1, "failed": 0,
              "skipped": 0, "not_run": 0, "failures": []},
    }
    return {"cni": "x", "cluster": "cnimatrix-x", "runs_planned": planned, "runs_done": runs,
            "started_at": "2026-11-22T06:46:10Z", "finished_at": "2026-11-22T07:46:10Z", "stopped_by": stopped_by,
            "per_run": [], "scenarios": scenarios, "totals": {}, "flaky_scenarios": [], "failing_scenarios": []}


@pytest.fixture
def reports(tmp_path):
    samples.write_samples(tmp_path / "reports", HEAD, K8S)
    return tmp_path / "reports"


def test_entry_sums_lists_and_rates():
    entry = soak.entry("calico", SoakRecord.from_dict(record()))
    assert entry["recorded"] and entry["runs_done"] == 20 and entry["scenarios"] == 3
    assert entry["totals"] == {"passed": 56, "flaky": 3, "failed": 1, "skipped": 0, "not_run": 0}
    assert entry["flake_rate"] == round(3 / 59, 4)
    assert [(f["id"], f["flaky"]) for f in entry["flaky"]] == [(NETPOL, 2), (SVC, 1)]   # most often first
    assert entry["failing"] == [{"id": NETPOL, "title": "x/a admits role=client", "failed": 1, "runs": 20,
                                 "first_failure": "update: 1 cell(s) differ"}]


def test_absent_soak_is_not_a_measurement():
    entry = soak.entry("flannel", None)
    assert (entry["recorded"], entry["note"], entry["totals"], entry["flake_rate"]) == (False, "no soak recorded", None, None)


def test_nothing_passed_has_no_flake_rate():
    rows = {DNS: {"runs": 2, "passed": 0, "flaky": 0, "failed": 2, "skipped": 0, "not_run": 0, "failures": []}}
    assert soak.entry("c", SoakRecord.from_dict(record(runs=2, scenarios=rows)))["flake_rate"] is None


def test_many_flaky_scenarios_are_cut_and_counted():
    rows = {f"s{i:02d}": {"runs": 5, "passed": 4, "flaky": 1, "failed": 0, "skipped": 0, "not_run": 0} for i in range(25)}
    entry = soak.entry("c", SoakRecord.from_dict(record(runs=5, scenarios=rows)))
    assert len(entry["flaky"]) == soak.LISTED and entry["more_flaky"] == 5


@pytest.mark.parametrize("text, why", [
    ("{not json", "unreadable soak record"),
    ("[]", "at $: [] is not of type 'object'"),
    ('{"runs_planned": 2, "runs_done": -1, "scenarios": {}}', "at $.runs_done: -1 is less than the minimum of 0"),
    ('{"runs_planned": 2, "scenarios": {}}', "'runs_done' is a required property"),
    ('{"runs_planned": 2, "runs_done": 2, "scenarios": []}', "at $.scenarios: [] is not of type 'object'"),
    ('{"runs_planned": 2, "runs_done": 2, "scenarios": {"a": {"runs": 2}}}', "at $.scenarios.a: 'passed' is a required"),
    ('{"runs_planned": 2, "runs_done": 2, "scenarios": {}, "stopped_by": 15}', "at $.stopped_by: 15 is not of type"),
])
def test_malformed_soak_is_one_warning_and_left_out(tmp_path, text, why):
    (tmp_path / "soak.json").write_text(text)
    doc, warning = soak.read(tmp_path)
    assert doc is None and why in warning and str(tmp_path / "soak.json") in warning and "\n" not in warning


def test_missing_soak_file_is_silent(tmp_path):
    assert soak.read(tmp_path) == (None, None)


def test_a_soak_record_reads_typed_and_keeps_keys_it_does_not_name(tmp_path):
    (tmp_path / "soak.json").write_text(json.dumps({**record(runs=4), "note": "kept"}))
    got, warning = soak.read(tmp_path)
    assert warning is None and got.runs_done == 4 and got.scenarios[NETPOL].failures[0].run == 7
    assert got.extra == {"note": "kept"}


def test_comparison_carries_soak_per_column_and_validates(reports):
    (reports / "cilium" / "soak.json").write_text(json.dumps(record(runs=4, planned=20, stopped_by="SIGINT")))
    doc = compare(reports)
    model.validate(doc)
    by_column = {e["column"]: e for e in doc["soak"]}
    assert list(by_column) == COLUMNS
    assert by_column["cilium"]["recorded"] and by_column["cilium"]["stopped_by"] == "SIGINT"
    assert [c for c, e in by_column.items() if not e["recorded"]] == [c for c in COLUMNS if c != "cilium"]
    broken = {**doc, "soak": list(reversed(doc["soak"]))}
    with pytest.raises(ValueError, match="soak entries do not follow the columns"):
        model.validate(broken)


def test_renderings_show_soak_figures_and_absence(reports):
    (reports / "cilium" / "soak.json").write_text(json.dumps(record(runs=4, planned=20, stopped_by="SIGINT")))
    doc = compare(reports)
    md, html = render_md.render(doc), render_html.render(doc)
    assert "### Repeated runs (soak)" in md
    soak_table = md.split("### Repeated runs (soak)")[1]
    assert "4 of 20, stopped early by SIGINT" in soak_table and "no soak recorded" in soak_table
    assert "x/a admits role=client (1/4)" in soak_table          # failing, with its count
    assert "hairpin (1/4)" in soak_table                         # flaky
    assert 'data-table="soak"' in html and 'data-cni="cilium" data-soak="Runs done">4 of 20' in html


def test_renderings_say_when_no_column_has_a_soak(reports):
    doc = compare(reports)
    assert "No soak recorded for these CNIs" in render_md.render(doc)
    assert "No soak recorded for these CNIs" in render_html.render(doc)


def test_cli_warns_about_a_malformed_soak_and_still_compares(reports, tmp_path, capsys):
    (reports / "flannel" / "soak.json").write_text("{oops")
    assert main(["--reports", str(reports), "--output", str(tmp_path / "out"), "--no-allure"]) == 0
    err = capsys.readouterr().err
    assert "flannel/soak.json: unreadable soak record, left out" in err
    entries = {e["column"]: e for e in json.loads((tmp_path / "out" / "comparison.json").read_text())["soak"]}
    assert entries["flannel"]["recorded"] is False and entries["flannel"]["note"] == "no soak recorded"
