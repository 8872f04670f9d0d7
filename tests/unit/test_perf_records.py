"""bench/perf_record.py's lines and how docs/measurements.md shows them (cnimatrix.docgen.perf_table):
intervals and marks per ratio, quiet-host runs apart from loaded ones."""
import importlib.util
from pathlib import Path

import pytest

from cnimatrix.docgen.perf_table import perf_section, ratio_marks

QUIET = {"when": "2026-12-07T14:00:00Z", "cni": "calico", "quiet_host": True,
         "ratios": {"cluster-ip": {"tcp_1_gbps": [0.9, 0.8, 1.0], "rr_p50_us": [1.2, 1.1, 1.4]}},
         "ci95": {"cluster-ip": {"tcp_1_gbps": [0.85, 0.95]}},
         "marks": {"cluster-ip": {"rr_p50_us": ["suspect"]}},
         "datapath_load": {"cpus": 2, "samples": 40, "load_1m_max": 1.6, "above_cores_share": 0.0}}
OLD = {"when": "2026-11-22T10:07:00Z", "cni": "flannel",
       "host": {"cpus": 2, "load_at_start": [1.0, 1, 1], "load_at_end": [1.5, 1, 1]},
       "ratios": {"pod-same-node": {"tcp_1_gbps": [1.55, 0.84, 1.59], "rr_p50_us": [1.25, 1.19, 1.43]}}}
OLD_LOADED = {**OLD, "host": {"cpus": 2, "load_at_start": [75.0, 1, 1], "load_at_end": [1.0, 1, 1]}}


def test_an_old_record_gets_the_marks_its_numbers_allow():
    assert ratio_marks(OLD, "pod-same-node", "tcp_1_gbps") == ["suspect"]   # 1.55x the host network
    assert ratio_marks(OLD, "pod-same-node", "rr_p50_us") == []             # a latency ratio above 1 is slower, plausible
    assert ratio_marks(OLD_LOADED, "pod-same-node", "rr_p50_us") == ["noisy"]
    assert ratio_marks(OLD_LOADED, "pod-same-node", "tcp_1_gbps") == ["suspect", "noisy"]


def test_a_recorded_mark_is_taken_as_recorded():
    assert ratio_marks(QUIET, "cluster-ip", "rr_p50_us") == ["suspect"]
    assert ratio_marks(QUIET, "cluster-ip", "tcp_1_gbps") == []


def test_quiet_runs_get_their_own_table_before_the_loaded_ones():
    lines = perf_section([OLD, QUIET])
    quiet_at = next(i for i, line in enumerate(lines) if line.startswith("Runs under the quiet-host protocol"))
    loaded_at = next(i for i, line in enumerate(lines) if line.startswith("Earlier runs on a loaded host"))
    assert quiet_at < loaded_at
    quiet_part, loaded_part = "\n".join(lines[quiet_at:loaded_at]), "\n".join(lines[loaded_at:])
    assert "| ClusterIP (backend on the other node): TCP 1 stream, ratio | 0.9 [0.85–0.95] |" in quiet_part
    assert "| ClusterIP (backend on the other node): request/response p50, ratio | 1.2 (1.1–1.4) suspect |" in quiet_part
    assert "| load through the datapath phase | max 1.6 on 2 cores, above the cores in 0% of 40 samples |" in quiet_part
    assert "flannel" not in quiet_part and "calico" not in loaded_part
    assert "| Pod to pod, same node: TCP 1 stream, ratio | 1.55 (0.84–1.59) suspect |" in loaded_part


def test_only_loaded_runs_make_one_table():
    lines = perf_section([OLD])
    assert not any(line.startswith("Runs under the quiet-host protocol") for line in lines)
    assert lines[0].startswith("Earlier runs on a loaded host") and lines[-1].startswith("|")


def _perf_record():
    spec = importlib.util.spec_from_file_location("perf_record", Path(__file__).parents[2] / "bench" / "perf_record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary(above_share: float, marks=()):
    ratio = {"median": 0.9, "min": 0.8, "max": 1.0, "n": 5, "values": [0.8, 0.9, 1.0, 0.9, 0.9],
             "ci95": {"low": 0.82, "high": 0.98}, "marks": [{"kind": k, "reason": "r"} for k in marks] or None}
    return {"cni": {"name": "calico"}, "started_at": "2026-12-07T14:00:00Z", "tests": [],
            "metrics": {"perf": {"datapath": {"routes": {"cluster-ip": {"ratios": {"tcp_1_gbps": ratio}}},
                                              "load": {"cpus": 2, "samples": 30, "load_1m_max": 3.0,
                                                       "above_cores_share": above_share}}}}}


def test_perf_record_keeps_intervals_marks_and_load():
    record = _perf_record()
    found = record.line(_summary(0.0), "src", quiet_host=True)
    assert found["quiet_host"] is True and found["ci95"] == {"cluster-ip": {"tcp_1_gbps": [0.82, 0.98]}}
    assert found["datapath_load"]["samples"] == 30 and found["marks"] == {}
    assert record.line(_summary(0.5, marks=("noisy",)), "src")["marks"] == {"cluster-ip": {"tcp_1_gbps": ["noisy"]}}


def test_perf_record_keeps_a_noisy_quiet_host_run_with_its_marks_and_refuses_one_without_load():
    record = _perf_record()
    found = record.line(_summary(0.5, marks=("noisy",)), "src", quiet_host=True)
    assert found["quiet_host"] is True and found["marks"] == {"cluster-ip": {"tcp_1_gbps": ["noisy"]}}
    summary = _summary(0.0)
    del summary["metrics"]["perf"]["datapath"]["load"]
    with pytest.raises(record.NotQuiet, match="no load samples"):
        record.line(summary, "src", quiet_host=True)
    assert record.line(summary, "src")["datapath_load"] is None   # not claimed quiet: recorded as it is


def test_an_agreement_record_shows_both_runs_ratio_by_ratio():
    from cnimatrix.docgen.measurements import agreement_section
    near = {"median": 0.9, "ci95": {"low": 0.85, "high": 0.95}, "marks": []}
    far = {"median": 1.5, "ci95": {"low": 1.4, "high": 1.6}, "marks": [{"kind": "suspect", "reason": "moved"}]}
    record = {"cni": "calico", "source": "two quiet runs", "runs": ["t1", "t2"], "counts": {"agree": 1, "disagree": 1},
              "pairs": {"cluster-ip/tcp_1_gbps": [near, near], "node-port/rr_p50_us": [near, far]}}
    text = "\n".join(agreement_section([record]))
    assert "**calico**: two quiet runs. 1 agree, 1 disagree." in text
    assert "| route | ratio | t1 | t2 | verdict | marks |" in text
    assert "| cluster-ip | tcp_1_gbps | 0.900 [0.850, 0.950] | 0.900 [0.850, 0.950] | agree |  |" in text
    assert "| node-port | rr_p50_us | 0.900 [0.850, 0.950] | 1.500 [1.400, 1.600] | disagree | b: suspect |" in text
