"""docs/measurements.md and docs/catalog.md are generated (cnimatrix/docgen), and the CLI's --check."""
from cnimatrix.docgen import __main__ as cli
from cnimatrix.docgen import catalog, measurements, stale_line

NETPOL_RUN = {"when": "2026-11-22T17:26:19Z", "source": "make conformance CNI=cilium", "cni": "cilium", "cases": 73,
              "outcomes": {"passed": 64, "skipped": 6, "failed": 3}, "flaky": 1, "cases_s": 1070.0,
              "host": {"cpus": 2, "load_1m_mean": 12.1, "load_1m_max": 20.75},
              "netpol_metrics": {"time_to_effect_s": {"count": 75, "p50": 4.09, "p90": 27.56, "max": 36.52}}}
PERF_RUN = {"when": "2026-11-22T10:21:38Z", "cni": "calico", "suite_s": 533.8,
            "host": {"cpus": 2, "load_at_start": [109.4, 94.9, 90.2], "load_at_end": [76.8, 99.8, 97.8]},
            "ratios": {"pod-same-node": {"tcp_1_gbps": [0.5725, 0.1777, 3.6987]}},
            "growth": {"network_policies": "not-enforced", "namespaces": {}}}


def test_the_checked_in_measurements_doc_is_what_bench_results_hold():
    problem = stale_line(measurements.DOC, measurements.render(), measurements.COMMAND)
    assert problem is None, problem


def test_the_checked_in_catalog_doc_is_what_the_catalog_files_say():
    problem = stale_line(catalog.DOC, catalog.render(), catalog.COMMAND)
    assert problem is None, problem


def test_each_figure_carries_the_host_load_its_record_has():
    doc = measurements.render({
        "netpol.jsonl": [NETPOL_RUN, {"when": "2026-11-22T05:04:54Z", "what": "make matrix", "wall_min": 25.0}],
        "perf.jsonl": [PERF_RUN],
        "soak.jsonl": [{"when": "w", "cni": "flannel", "run_s": [155.2, 133.8, 210.8], "host_load_1m_mean": 13.3}],
        "images.jsonl": [{"when": "2026-11-21T08:38Z", "what": "warm make images", "wall_s": 2}],
        "future.jsonl": [{"when": "later", "figure_s": 1.5}],
    })
    netpol_row = next(line for line in doc.splitlines() if line.startswith("| 2026-11-22T17:26:19Z"))
    assert "p50 4.09, p90 27.6, max 36.5 (75 changes)" in netpol_row and netpol_row.endswith("| mean 12.1, max 20.8 on 2 cores |")
    assert "| host load | 109.4 at start, 76.8 at end (1 min) on 2 cores |" in doc
    assert "| Pod to pod, same node: TCP 1 stream, ratio | 0.573 (0.178–3.7) noisy |" in doc  # load 109 on 2 cores
    assert "| Growth: one more policy, s at N policies | declared not-enforced |" in doc
    assert "155.2 (133.8–210.8)" in doc and "| mean 13.3 |" in doc
    assert "| 2 s |" in doc and "| not recorded |" in doc  # an image build records no load
    assert "- 2026-11-22T05:04:54Z: what: make matrix; wall_min: 25 (host load: not recorded)" in doc
    assert "## future.jsonl" in doc and "figure_s: 1.5" in doc  # a file no table knows is still shown


def test_the_catalog_doc_lines_up_what_each_cni_declares():
    doc = catalog.render()
    row = next(line for line in doc.splitlines() if line.startswith("| `networkpolicy` |"))
    assert "| not-enforced |" in row and "| enforced |" in row  # flannel's and calico's declarations
    assert "[cilium/cilium#48703](https://github.com/cilium/cilium/issues/48703)" in doc
    assert "`ingress_exact_wins_tie`" in doc  # an add-on's declaration


def test_check_exits_1_with_one_line_for_a_stale_file_and_0_once_written(tmp_path, capsys):
    target = tmp_path / "measurements.md"
    target.write_text("old\n")
    assert cli.main(["measurements", "--check", "--output", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is stale (first difference at line 1)" in err and "--output" in err
    assert target.read_text() == "old\n"  # --check writes nothing
    assert cli.main(["measurements", "--output", str(target)]) == 0
    assert cli.main(["measurements", "--check", "--output", str(target)]) == 0
    assert capsys.readouterr().err == ""
