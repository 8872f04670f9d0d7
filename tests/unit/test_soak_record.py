"""bench/soak_record.py: one line per soak, from soak.json, for bench/results/soak.jsonl."""

import importlib.util
import json
from pathlib import Path

from cnimatrix.results.soak import SoakRecord
from tests.unit.test_compare_soak import NETPOL, SVC, record

SPEC = importlib.util.spec_from_file_location("soak_record", Path(__file__).resolve().parents[2] / "bench" / "soak_record.py")
soak_record = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(soak_record)


def test_line_carries_counts_run_times_and_the_named_scenarios():
    doc = record(runs=3, planned=20, stopped_by="SIGTERM")
    doc["per_run"] = [{"run": 1, "seconds": 200.0}, {"run": 2, "seconds": 150.5}, {"run": 3, "seconds": 160.0}]
    got = soak_record.line(SoakRecord.from_dict(doc), "tools/soak.py --runs 20")
    assert got["cni"] == "x" and got["suites"] == ["dns", "netpol", "service"]
    assert (got["runs_planned"], got["runs_done"], got["stopped_by"]) == (20, 3, "SIGTERM")
    assert got["run_s"] == [160.0, 150.5, 200.0]
    assert got["host_load_1m_mean"] is None
    assert got["totals"] == {"passed": 5, "flaky": 3, "failed": 1, "skipped": 0, "not_run": 0}
    assert got["flaky"] == {NETPOL: 2, SVC: 1}
    assert got["failing"] == {NETPOL: [1, "update: 1 cell(s) differ"]}
    json.dumps(got)


def test_a_folder_without_a_usable_soak_is_refused(tmp_path, monkeypatch, capsys):
    out = tmp_path / "soak.jsonl"
    monkeypatch.setattr(soak_record, "OUT", out)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "soak.json").write_text('{"runs_planned": -1}')
    monkeypatch.setattr("sys.argv", ["soak_record.py", str(tmp_path / "bad")])
    assert soak_record.main() == 2 and not out.exists()
    assert "bad/soak.json: not a soak record (invalid soak record at $" in capsys.readouterr().err
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "soak.json").write_text(json.dumps(record()))
    monkeypatch.setattr("sys.argv", ["soak_record.py", str(tmp_path / "good")])
    assert soak_record.main() == 0 and len(out.read_text().splitlines()) == 1


def test_host_load_comes_from_soak_json_or_else_from_each_runs_summary(tmp_path):
    doc = record(runs=3)   # fewer would make a negative count of passes in the fixture
    doc["per_run"] = [{"run": 1, "seconds": 1.0, "host_load_1m": [10.0, 12.0]}, {"run": 2, "seconds": 1.0}]
    run2 = tmp_path / "soak" / "run-02"
    run2.mkdir(parents=True)
    (run2 / "summary.json").write_text(json.dumps({"metrics": {"host": {"load_1m_mean": 14.0}}}))
    assert soak_record.line(SoakRecord.from_dict(doc), "s", tmp_path)["host_load_1m_mean"] == 12.0
    assert soak_record.line(SoakRecord.from_dict(doc), "s")["host_load_1m_mean"] == 10.0
