"""The comparison document: loading summaries, staleness, cells, disagreements, totals, figures, CLI."""

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from cnimatrix.compare import InputError, build, load_runs, model, samples
from cnimatrix.compare.__main__ import main
from cnimatrix.results import UNKNOWN_COMMIT, read_summary
from tests.unit.test_results import _properties

HEAD = "0123456789abcdef0123456789abcdef01234567"
K8S = "v1.37.1"
COLUMNS = ["flannel", "kindnet", "cilium", "flannel-v0.27", "calico"]  # calico: asked for, no results
ID = {title: test_id for test_id, _, title in samples.SCENARIOS}
CLUSTERIP, SCALE, UDP = ID["ClusterIP reaches every backend"], ID["Endpoints follow scale-up"], ID["UDP Service"]
LATENCY, DENY, ALLOW = ID["Resolution latency"], ID["Default deny blocks ingress"], ID["Allow from a namespace"]
INGRESS = ID["Host-based routing"]


def catalog():
    return ["calico", "cilium", "flannel", "kindnet"]


@pytest.fixture
def reports(tmp_path):
    samples.write_samples(tmp_path / "reports", HEAD, K8S)
    return tmp_path / "reports"


def compare(reports, columns=COLUMNS, commit=HEAD):
    runs = load_runs(reports, columns, kubernetes=K8S, commit=commit, known=catalog)
    return build(runs, kubernetes=K8S, commit=commit, generated_at="2026-11-22T00:00:00Z")


def cells(doc):
    return {(column, row["id"]): verdict for suite in doc["suites"] for row in suite["scenarios"]
            for column, verdict in row["cells"].items()}


# --------------------------------------------------------------------------- schema


def test_comparison_schema_is_valid_and_documented():
    Draft202012Validator.check_schema(model.schema())
    declared = list(_properties(model.schema()))
    assert len(declared) > 40
    assert [where for where, sub in declared if not sub.get("description")] == []


def test_schema_enums_match_the_python_constants():
    defs = model.schema()["$defs"]
    assert defs["cell"]["properties"]["status"]["enum"] == list(model.CELL_STATUSES)
    assert defs["totals"]["required"] == [*model.CELL_STATUSES, "total"]


def test_document_follows_its_schema_and_covers_every_cell_status(reports):
    doc = compare(reports)
    Draft202012Validator(model.schema()).validate(doc)
    assert doc["columns"] == COLUMNS
    assert {c["status"] for c in cells(doc).values()} == set(model.CELL_STATUSES)
    assert [s["name"] for s in doc["suites"]] == ["service", "dns", "netpol", "ingress", "gateway", "podnet", "day2", "perf"]
    assert len(cells(doc)) == len(samples.SCENARIOS) * len(COLUMNS)


# --------------------------------------------------------------------------- cells


def test_cells_carry_status_reason_evidence_and_flags(reports):
    got = cells(compare(reports))
    failed = got[("kindnet", CLUSTERIP)]
    assert failed["status"] == "failed"
    assert failed["reason"] == "backend web-2 got 0 of 120 responses | checked from worker2"  # first line only
    assert got[("kindnet", UDP)] == {"status": "error", "reason": "fixture timed out waiting for the UDP backend",
                                     "declared": None, "flags": []}
    assert got[("flannel", LATENCY)]["status"] == "flaky"
    assert got[("flannel", SCALE)] == {"status": "passed", "reason": "", "declared": None, "flags": []}
    not_enforced = got[("flannel", DENY)]
    assert not_enforced["status"] == "not-enforced"
    assert not_enforced["declared"] == samples.NETPOL_NOT_ENFORCED
    assert got[("flannel", ALLOW)]["flags"] == ["works-despite-declared"]
    skipped = got[("kindnet", INGRESS)]
    assert skipped["status"] == "not-supported" and skipped["declared"] == samples.INGRESS_UNSUPPORTED


def test_not_run_cells_say_why(reports):
    got = cells(compare(reports))
    assert {v["reason"] for (c, _), v in got.items() if c == "calico"} == {"no results"}
    assert {v["status"] for (c, _), v in got.items() if c == "calico"} == {"not-run"}
    assert got[("cilium", DENY)] == {"status": "not-run", "reason": "SIGTERM during the netpol suite",
                                     "declared": None, "flags": []}  # empty message: the run's reason
    assert got[("flannel-v0.27", DENY)]["reason"] == "not in this CNI's summary"


def test_one_line_keeps_the_first_non_blank_line_and_caps_it():
    assert model.one_line("\n  first   line \nsecond") == "first line"
    assert model.one_line("x" * 500, limit=10) == "x" * 9 + "…"
    assert model.one_line("") == ""


# --------------------------------------------------------------------------- disagreements, totals


def test_disagreements_are_scenarios_whose_results_differ(reports):
    doc = compare(reports)
    # LATENCY: flaky vs passed vs failed; DENY: not-enforced vs passed (the not-run cells do not count).
    assert doc["disagreements"] == [CLUSTERIP, UDP, LATENCY, DENY]
    rows = {row["id"]: row for suite in doc["suites"] for row in suite["scenarios"]}
    # Same result wherever there is one: no disagreement, even though calico has none.
    assert rows[SCALE]["disagree"] is False and rows[INGRESS]["disagree"] is False


def test_agreement_when_only_one_cni(reports):
    doc = compare(reports, ["kindnet"])
    assert doc["disagreements"] == []
    assert doc["columns"] == ["kindnet"]


def test_per_suite_totals_per_cni(reports):
    doc = compare(reports)
    totals = {s["name"]: s["totals"] for s in doc["suites"]}
    assert totals["service"]["kindnet"] == {"passed": 1, "flaky": 0, "failed": 1, "not-supported": 0,
                                            "not-enforced": 0, "error": 1, "not-run": 0, "total": 3}
    assert totals["dns"]["flannel"]["flaky"] == 1 and totals["dns"]["flannel"]["passed"] == 1
    assert totals["netpol"]["flannel"]["not-enforced"] == 1
    assert totals["ingress"]["flannel"]["not-supported"] == 1
    assert totals["perf"]["calico"]["not-run"] == 1


def test_validate_rejects_a_document_whose_parts_disagree(reports):
    doc = compare(reports)
    for mutate, match in [
        (lambda d: d["suites"][0]["totals"]["kindnet"].update(failed=0, passed=2), "totals"),
        (lambda d: d["disagreements"].pop(), "disagreements"),
        (lambda d: d["suites"][0]["scenarios"][0]["cells"].pop("calico"), "cells"),
        (lambda d: d["suites"][1]["scenarios"].append(d["suites"][0]["scenarios"][0]), "misplaced"),
        (lambda d: d["suites"][0]["scenarios"][0]["cells"]["flannel"].update(status="ok"), "status"),
        (lambda d: d["cnis"].reverse(), "headers"),
        (lambda d: d["measurements"][0]["values"].pop("cilium"), "measurement"),
    ]:
        broken = copy.deepcopy(doc)
        mutate(broken)
        with pytest.raises(ValueError, match=match):
            model.validate(broken)


# --------------------------------------------------------------------------- headers, staleness


def test_headers_describe_each_run(reports):
    heads = {h["column"]: h for h in compare(reports)["cnis"]}
    flannel = heads["flannel"]
    assert flannel["cni"] == {"name": "flannel", "version": "v0.28.4"}
    assert (flannel["kubernetes_version"], flannel["kind_version"], flannel["node_image"]) == \
        (K8S, "v0.33.0", f"kindest/node:{K8S}")
    assert flannel["offline"] is True and heads["kindnet"]["offline"] is False
    assert flannel["started_at"] == "2026-11-20T10:00:00Z" and flannel["run_time_s"] == 192.0
    assert flannel["run"] == {"status": "completed", "reason": ""}
    assert heads["cilium"]["run"] == {"status": "interrupted", "reason": "SIGTERM during the netpol suite"}
    assert heads["flannel-v0.27"]["run"]["status"] == "unrecorded"
    assert heads["calico"]["run"] == {"status": "no-results", "reason": "no results"}
    assert heads["calico"]["has_results"] is False and heads["calico"]["cni"]["version"] is None


def test_staleness_by_kubernetes_version_and_commit(reports):
    heads = {h["column"]: h for h in compare(reports)["cnis"]}
    assert [c for c, h in heads.items() if h["stale"]] == ["cilium", "flannel-v0.27"]
    assert heads["flannel"]["stale"] is False and heads["flannel"]["stale_reasons"] == []
    assert heads["calico"]["stale"] is None
    assert heads["cilium"]["stale_reasons"] == ["made by cnimatrix ffffffffffff, the checkout is at 0123456789ab"]
    assert heads["flannel-v0.27"]["stale_reasons"] == [
        "ran Kubernetes v1.36.0, cnimatrix now pins v1.37.1", "summary format v1 records no cnimatrix commit"]


def test_staleness_when_the_current_commit_is_unknown(reports):
    heads = {h["column"]: h for h in compare(reports, commit=UNKNOWN_COMMIT)["cnis"]}
    assert heads["cilium"]["stale"] is False  # nothing to compare its commit with
    assert heads["flannel-v0.27"]["stale"] is True  # no commit at all, and an old Kubernetes


def test_a_summary_from_an_unknown_commit_is_stale(reports):
    path = reports / "kindnet" / "summary.json"
    doc = read_summary(path)
    path.write_text(json.dumps({**doc, "cnimatrix_commit": "unknown"}))
    heads = {h["column"]: h for h in compare(reports)["cnis"]}
    assert heads["kindnet"]["stale_reasons"] == ["made by an unknown cnimatrix commit"]


# --------------------------------------------------------------------------- measurements


def test_measurements_side_by_side_with_nulls(reports):
    rows = {m["key"]: m for m in compare(reports)["measurements"]}
    assert list(rows)[:len(model.STANDARD_MEASUREMENTS)] == list(model.STANDARD_MEASUREMENTS)
    ready = rows["cluster.create_to_ready_s"]["values"]
    assert ready == {"flannel": 53.8, "kindnet": 39.5, "cilium": None, "flannel-v0.27": 75.0, "calico": None}
    assert rows["dns.latency_p50_ms"]["values"]["kindnet"] == 0.35
    assert rows["dns.latency_p99_ms"]["values"] == {"flannel": 1.73, "kindnet": 2.4, "cilium": None,
                                                    "flannel-v0.27": None, "calico": None}
    assert rows["netpol.time_to_effect_s.p99"]["values"]["kindnet"] == 1.9
    assert rows["netpol.time_to_effect_s.p99"]["group"] == "time-to-effect"
    settle = rows[f"settle:{SCALE}:worker2"]
    assert settle["label"] == "Endpoints follow scale-up: worker2" and settle["unit"] == "s"
    assert settle["values"]["cilium"] == 2.4 and settle["values"]["calico"] is None


def test_host_load_rows_say_how_loaded_the_host_was(reports):
    path = reports / "kindnet" / "summary.json"
    doc = read_summary(path)
    doc["metrics"]["host"] = {"cpus": 2, "samples": 40, "load_1m_mean": 61.5, "load_1m_max": 138.3, "overloaded_share": 0.9}
    path.write_text(json.dumps(doc))
    rows = {m["key"]: m for m in compare(reports)["measurements"]}
    assert rows["host.load_1m_max"]["values"]["kindnet"] == 138.3 and rows["host.load_1m_max"]["values"]["flannel"] is None
    assert rows["host.overloaded_share"]["values"]["kindnet"] == 0.9
    assert rows["host.load_1m_mean"]["group"] == "run conditions"


def test_time_to_effect_rows_are_the_latency_summary(reports):
    rows = {m["key"]: m for m in compare(reports)["measurements"]}
    assert {k for k in rows if k.startswith("netpol.time_to_effect_s")} == {"netpol.time_to_effect_s.p50",
                                                                          "netpol.time_to_effect_s.p99"}
    assert rows["netpol.time_to_effect_s.p50"]["label"] == "NetworkPolicy time-to-effect: p50"


def test_a_time_to_effect_that_is_no_latency_summary_is_refused_naming_the_file(reports):
    path = reports / "kindnet" / "summary.json"
    doc = read_summary(path)
    doc["metrics"]["netpol"] = {"time_to_effect_s": 1.25}
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"kindnet/summary.json: invalid summary at \$.metrics.netpol.time_to_effect_s"):
        compare(reports)


def test_live_update_times_are_p50_and_max_rows(reports):
    path = reports / "kindnet" / "summary.json"
    doc = read_summary(path)
    doc["metrics"]["netpol"] = {"live_update": {"steps": 12, "first_flip_s": {"count": 12, "p50": 0.1, "max": 0.25},
                                                "matrix_converged_s": {"count": 12, "p50": 3.5}}}
    path.write_text(json.dumps(doc))
    rows = {m["key"]: m for m in compare(reports)["measurements"]}
    first = rows["netpol.live_update.first_flip_s.max"]
    assert first["values"]["kindnet"] == 0.25 and first["group"] == "time-to-effect" and first["unit"] == "s"
    assert first["label"] == "NetworkPolicy live update, first watched pair flipped: max"
    assert rows["netpol.live_update.matrix_converged_s.p50"]["values"] == {
        "flannel": None, "kindnet": 3.5, "cilium": None, "flannel-v0.27": None, "calico": None}
    assert "netpol.live_update.matrix_converged_s.max" not in rows      # not measured: no row
    assert not any(key.startswith("netpol.live_update.all_flipped_s") for key in rows)


# --------------------------------------------------------------------------- loading


def test_without_names_every_summary_is_a_column_sorted(reports):
    (reports / "comparison").mkdir()
    (reports / "comparison" / "summary.json").write_text("{}")  # our own output folder: never read
    (reports / "broken-cluster").mkdir()  # no summary: mentioned, left out
    notes = []
    runs = load_runs(reports, kubernetes=K8S, commit=HEAD, notes=notes)
    assert [r.column for r in runs] == sorted(["flannel", "kindnet", "cilium", "flannel-v0.27"])
    assert notes == [f"{reports / 'broken-cluster'}: no summary.json, left out"]


def shaped_copy(reports, source="flannel", folder="flannel-nftables", proxy_mode="nftables"):
    """reports/<folder>: the summary of reports/<source> as a run of another shape wrote it."""
    doc = read_summary(reports / source / "summary.json")
    doc["shape"] = {"ip_family": "ipv4", "proxy_mode": proxy_mode,
                    "untested": [{"axis": "proxy_mode", "value": proxy_mode, "evidence": "never run here"}]}
    (reports / folder).mkdir()
    (reports / folder / "summary.json").write_text(json.dumps(doc))


def test_a_shapes_folder_reads_as_cni_slash_shape(reports):
    shaped_copy(reports)
    shaped_copy(reports, folder="flannel-nft-by-hand")  # a folder named by hand keeps its name
    runs = load_runs(reports, kubernetes=K8S, commit=HEAD)
    # sorted by folder, the shape's column where its folder stands
    assert [r.column for r in runs] == ["cilium", "flannel", "flannel-nft-by-hand", "flannel/nftables", "flannel-v0.27", "kindnet"]
    by_column = compare(reports, ["flannel", "flannel/nftables"])  # the column's name or its folder's selects it
    assert by_column["columns"] == ["flannel", "flannel/nftables"]
    assert [r.column for r in load_runs(reports, ["flannel-nftables"], kubernetes=K8S)] == ["flannel/nftables"]
    heads = {h["column"]: h for h in by_column["cnis"]}
    assert heads["flannel/nftables"]["shape"]["proxy_mode"] == "nftables" and heads["flannel"]["shape"] is None
    assert heads["flannel/nftables"]["summary"].endswith("flannel-nftables/summary.json")


def test_the_shape_row_and_note(reports):
    from cnimatrix.compare import present, render_html, render_md

    shaped_copy(reports)
    doc = compare(reports, ["flannel", "flannel/nftables", "calico/nftables"])
    rows = dict(present.header_rows(doc["cnis"]))
    assert rows["Shape"] == ["not recorded", "IPv4, nftables kube-proxy (declared untested)", "—"]
    note = ("Shapes: flannel/nftables runs IPv4, nftables kube-proxy (declared untested). A column named cni/shape is "
            "that CNI in that shape; the Shape row has every column's.")
    assert present.shape_note(doc["cnis"]) == note
    assert note in render_md.render(doc) and "flannel/nftables" in render_html.render(doc)
    assert present.shape_note(compare(reports, ["flannel"])["cnis"]) is None  # all default: no note


def test_a_shape_column_without_results_names_a_known_cni(reports):
    runs = load_runs(reports, ["flannel", "calico/nftables"], kubernetes=K8S, known=catalog)
    assert [r.column for r in runs] == ["flannel", "calico/nftables"] and not runs[1].has_results
    with pytest.raises(InputError, match="unknown CNI antrea-nftables"):
        load_runs(reports, ["flannel", "antrea-nftables"], kubernetes=K8S, known=catalog)


@pytest.mark.parametrize(
    ("prepare", "names", "match"),
    [
        (lambda r: None, ["calico"], "no summaries found"),
        (lambda r: (r / "kindnet" / "summary.json").write_text("{oops"), [], "kindnet/summary.json: not valid JSON"),
        (lambda r: (r / "kindnet" / "summary.json").write_text('{"schema_version": 2}'), [],
         "kindnet/summary.json: invalid summary"),
        (lambda r: None, ["flannel", "antrea"], "unknown CNI antrea"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(reports, prepare, names, match):
    prepare(reports)
    with pytest.raises(InputError, match=match) as excinfo:
        load_runs(reports, names, kubernetes=K8S, commit=HEAD, known=catalog)
    assert "\n" not in str(excinfo.value)


def test_no_summaries_at_all(tmp_path):
    with pytest.raises(InputError, match="no summaries found"):
        load_runs(tmp_path, kubernetes=K8S)
    with pytest.raises(InputError, match="no such reports directory"):
        load_runs(tmp_path / "absent", kubernetes=K8S)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def small_catalog(tmp_path, monkeypatch):
    folder = tmp_path / "cnis"
    folder.mkdir()
    for name in catalog():
        (folder / f"{name}.yaml").write_text("name: x\n")  # known() only lists names
    monkeypatch.setenv("CNIMATRIX_CNI_DIR", str(folder))


def test_cli_writes_the_three_files(reports, small_catalog, capsys):
    assert main(["--reports", str(reports), *COLUMNS]) == 0
    out = reports / "comparison"
    assert sorted(p.name for p in out.iterdir()) == ["comparison.json", "comparison.md", "index.html"]
    doc = json.loads((out / "comparison.json").read_text())
    model.validate(doc)
    assert doc["columns"] == COLUMNS
    printed = capsys.readouterr().out
    assert "cilium is stale" in printed and "calico: no results" in printed
    # A second run ignores its own output folder.
    assert main(["--reports", str(reports), "--output", str(reports / "elsewhere")]) == 0
    assert json.loads((reports / "elsewhere" / "comparison.json").read_text())["columns"] == sorted(COLUMNS[:4])


@pytest.mark.parametrize(
    ("prepare", "args", "match"),
    [
        (lambda r: (r / "cilium" / "summary.json").write_text("[]"), [], "cilium/summary.json"),
        (lambda r: None, ["weave"], "unknown CNI weave"),
        (lambda r: None, ["--reports", "/nonexistent/reports"], "no such reports directory"),
    ],
)
def test_cli_exits_2_with_one_line_on_bad_input(reports, small_catalog, capsys, prepare, args, match):
    prepare(reports)
    argv = args if "--reports" in args else ["--reports", str(reports), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and err.startswith("cnimatrix compare: ")
    assert not (reports / "comparison").exists()
