"""Evidence on failure: names, size caps, readiness parsing and the time budget (no cluster)."""
import sys

from cnimatrix.testkit import evidence


def test_a_test_id_becomes_a_folder_name():
    assert evidence.safe_name("suites/service/test_service.py::test_clusterip[worker2]") == "test_service.test_clusterip-worker2"


def test_long_output_is_cut_and_says_so():
    text = evidence.capped("x" * 50, limit=10)
    assert text.startswith("x" * 10) and "40 more characters" in text
    assert evidence.capped("short", limit=10) == "short"


def test_ready_reads_the_ready_column_and_status():
    assert evidence._ready("client-a   1/1   Running   0   5m   10.0.0.1   node-a")
    assert not evidence._ready("web-x   0/1   Running   0   5m   10.0.0.2   node-b")
    assert not evidence._ready("web-y   1/1   CrashLoopBackOff   3   5m")


def test_a_collector_writes_what_commands_print(tmp_path):
    out = evidence.Collector(tmp_path, budget_s=20)
    out.run("echo.txt", [sys.executable, "-c", "print('routes here')"])
    assert (tmp_path / "echo.txt").read_text().startswith("routes here") and not out.skipped


def test_a_spent_budget_skips_the_rest_and_names_it(tmp_path):
    out = evidence.Collector(tmp_path, budget_s=0)
    assert out.run("late.txt", [sys.executable, "-c", "print(1)"]) == ""
    assert out.skipped == ["late.txt"] and not (tmp_path / "late.txt").exists()


def test_a_slow_command_is_cut_at_its_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(evidence, "COMMAND_S", 0.5)
    out = evidence.Collector(tmp_path, budget_s=20)
    assert "timed out" in out.run("slow.txt", [sys.executable, "-c", "import time; time.sleep(5)"])
