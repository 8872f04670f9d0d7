import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from jsonschema import Draft202012Validator

from cnimatrix.cni.catalog import STATUSES, UNSUPPORTED_HERE
from cnimatrix.results import (
    OUTCOMES,
    RUN_STATUSES,
    SUITES,
    RunSummary,
    TestResult,
    count_outcomes,
    current_commit,
    read_summary,
    rfc3339,
    schema,
    validate,
    write_summary,
)

NETPOL_DECLARED = {"capability": "networkpolicy", "status": "not-enforced",
                   "evidence": "no NetworkPolicy controller"}


def make_summary(**overrides) -> RunSummary:
    fields = dict(
        cni_name="kindnet",
        cni_version="v20260820-69b56db7",
        kubernetes_version="v1.34.0",
        kind_version="v0.33.0",
        node_image="kindest/node:v1.34.0",
        offline=True,
        cluster_name="cnimatrix-kindnet",
        cluster_nodes=3,
        cluster_existing=False,
        started_at="2026-01-02T03:04:05Z",
        finished_at="2026-01-02T03:14:05Z",
        timings_s={"cluster_create": 41.5, "cni_ready": 12.0, "suites": 300.2, "images_load": 8.0},
        tests=[
            TestResult("tests/e2e/test_service.py::test_spread", "service", "Spread", "passed", 3.2,
                       attempts=1, metrics={"counts": {"web-0": 20, "web-1": 20}}),
            TestResult("tests/e2e/test_dns.py::test_search", "dns", "Search path", "passed", 1.1,
                       attempts=3, flaky=True, message="passed on attempt 3"),
            TestResult("tests/e2e/test_netpol.py::test_deny", "netpol", "Default deny", "failed", 9.0,
                       message="connection allowed"),
            TestResult("tests/e2e/test_ingress.py::test_host", "ingress", "Host routing", "skipped", 0.0,
                       attempts=0, message="ingress unsupported",
                       declared={"capability": "ingress", "status": "unsupported", "evidence": "no controller"}),
            TestResult("tests/e2e/test_service.py::test_udp", "service", "UDP", "error", 0.4,
                       message="fixture timed out"),
            TestResult("tests/e2e/test_netpol.py::test_ingress_deny", "netpol", "Ingress deny", "not-enforced",
                       2.0, attempts=4, message="traffic still allowed", declared=NETPOL_DECLARED),
            TestResult("tests/e2e/test_netpol.py::test_egress_deny", "netpol", "Egress deny", "passed", 2.0,
                       declared=NETPOL_DECLARED, flags=("works-despite-declared",)),
        ],
        metrics={"dns": {"latency_ms": {"count": 3, "min": 1.0, "p50": 2.0, "p90": 2.8,
                                        "p99": 2.98, "max": 3.0, "mean": 2.0}}},
        diagnostics="diagnostics/kindnet",
        cnimatrix_commit="0123456789abcdef0123456789abcdef01234567",
    )
    fields.update(overrides)
    return RunSummary(**fields)


def interrupted_summary() -> RunSummary:
    base = make_summary()
    return make_summary(run_status="interrupted", run_reason="SIGTERM after 2 tests", tests=[
        *base.tests, TestResult("tests/e2e/test_dns.py::test_srv", "dns", "SRV", "not-run", 0.0, attempts=0,
                                message="run interrupted before this test")])


def version_1_doc() -> dict:
    """A summary as cnimatrix wrote it before schema version 2."""
    doc = make_summary(tests=[t for t in make_summary().tests if t.outcome in ("passed", "failed", "skipped",
                                                                              "error")]).to_dict()
    for key in ("cnimatrix_commit", "run"):
        del doc[key]
    for test in doc["tests"]:
        test.pop("declared", None)
        test.pop("flags", None)
    for key in ("not-enforced", "not-run"):
        del doc["counts"][key]
    doc["schema_version"] = 1
    return doc


@pytest.mark.parametrize("version", [1, 2])
def test_schema_is_a_valid_draft_2020_12_schema(version):
    Draft202012Validator.check_schema(schema(version))
    assert schema(version)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema(version)["properties"]["schema_version"]["const"] == version


def test_schema_enums_match_the_python_constants():
    props = schema()["properties"]
    test = schema()["$defs"]["test"]["properties"]
    assert test["outcome"]["enum"] == list(OUTCOMES)
    assert test["suite"]["enum"] == list(SUITES)
    assert props["run"]["properties"]["status"]["enum"] == list(RUN_STATUSES)
    assert props["counts"]["required"] == [*OUTCOMES, "flaky", "total"]
    # A declaration is copied from the catalog, so it takes the catalog's statuses.
    assert test["declared"]["properties"]["status"]["enum"] == [*STATUSES, UNSUPPORTED_HERE]


def _properties(node, path="$"):
    """Yield (path, subschema) for every declared property, skipping if/then conditions."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, value in node.items():
            if key not in ("if", "then"):  # conditional constraints, not field declarations
                yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _properties(value, path)


@pytest.mark.parametrize("version", [1, 2])
def test_every_schema_property_is_documented(version):
    declared = list(_properties(schema(version)))
    assert len(declared) > 30
    assert [where for where, sub in declared if not sub.get("description")] == []


def test_count_outcomes_counts_flaky_as_passed_too():
    counts = count_outcomes(make_summary().tests)
    assert counts == {"passed": 3, "failed": 1, "skipped": 1, "error": 1, "not-enforced": 1, "not-run": 0,
                      "flaky": 1, "total": 7}
    assert count_outcomes(interrupted_summary().tests)["not-run"] == 1
    assert count_outcomes(interrupted_summary().tests)["total"] == 8


def test_count_outcomes_accepts_dicts_and_rejects_unknown_outcomes():
    assert count_outcomes([{"id": "a", "outcome": "failed"}])["failed"] == 1
    with pytest.raises(ValueError, match="unknown outcome"):
        count_outcomes([{"id": "a", "outcome": "meh"}])


def test_to_dict_is_valid_sorted_and_counted():
    doc = make_summary().to_dict()
    validate(doc)
    assert doc["schema_version"] == 2
    assert doc["run"] == {"status": "completed", "reason": ""}
    assert doc["cnimatrix_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert [t["id"] for t in doc["tests"]] == sorted(t["id"] for t in doc["tests"])
    assert doc["counts"]["total"] == 7
    assert doc["cni"] == {"name": "kindnet", "version": "v20260820-69b56db7"}
    assert doc["cluster"] == {"name": "cnimatrix-kindnet", "nodes": 3, "existing": False}


def test_to_dict_fills_missing_standard_phases_with_null():
    doc = make_summary(timings_s={"suites": 10.0}, cluster_existing=True).to_dict()
    assert doc["timings_s"] == {"cluster_create": None, "cni_ready": None, "suites": 10.0}
    validate(doc)


def test_optional_test_keys_are_omitted_when_empty():
    by_id = {t["id"]: t for t in make_summary().to_dict()["tests"]}
    assert "metrics" in by_id["tests/e2e/test_service.py::test_spread"]
    plain = by_id["tests/e2e/test_dns.py::test_search"]
    assert not {"metrics", "declared", "flags"} & plain.keys()
    assert by_id["tests/e2e/test_netpol.py::test_egress_deny"]["flags"] == ["works-despite-declared"]
    assert by_id["tests/e2e/test_netpol.py::test_ingress_deny"]["declared"] == NETPOL_DECLARED


def test_interrupted_run_round_trips_with_not_run_tests(tmp_path):
    doc = read_summary(write_summary(tmp_path / "summary.json", interrupted_summary()))
    assert doc["run"] == {"status": "interrupted", "reason": "SIGTERM after 2 tests"}
    assert RunSummary.from_dict(doc).to_dict() == interrupted_summary().to_dict() == doc


def test_a_completed_run_cannot_have_tests_that_did_not_run():
    doc = interrupted_summary().to_dict()
    doc["run"] = {"status": "completed", "reason": ""}
    with pytest.raises(ValueError, match="completed but 1 test"):
        validate(doc)


def test_reads_version_1_files_as_written(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(version_1_doc()))
    doc = read_summary(path)
    assert doc == version_1_doc()
    assert "run" not in doc and doc["counts"]["total"] == 6
    with pytest.raises(ValueError, match="read-only"):
        RunSummary.from_dict(doc)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["tests"][0].update(outcome="not-run"), "not-run"),  # v1 has no such outcome
        (lambda d: d["counts"].update({"not-run": 0}), "not-run"),
        (lambda d: d.update(run={"status": "completed", "reason": ""}), "run"),
        (lambda d: d["counts"].update(total=7), "counts"),
    ],
)
def test_version_1_files_are_held_to_the_version_1_format(mutate, where):
    doc = version_1_doc()
    mutate(doc)
    with pytest.raises(ValueError, match=where):
        validate(doc)


def test_write_summary_refuses_version_1(tmp_path):
    with pytest.raises(ValueError, match="schema_version"):
        write_summary(tmp_path / "summary.json", {**make_summary().to_dict(), "schema_version": 1})


def test_current_commit_is_head_or_unknown(tmp_path):
    commit = current_commit()
    assert commit == "unknown" or (len(commit) == 40 and int(commit, 16) >= 0)
    assert current_commit(tmp_path) == "unknown"  # not a git checkout


def test_round_trip_through_disk(tmp_path):
    summary = make_summary()
    path = write_summary(tmp_path / "out" / "summary.json", summary)
    assert path.read_text().endswith("\n")
    doc = read_summary(path)
    assert doc == summary.to_dict()
    assert RunSummary.from_dict(doc).to_dict() == doc
    assert [p.name for p in path.parent.iterdir()] == ["summary.json"]  # no temp file left behind


def test_write_summary_sorts_tests_of_a_plain_dict(tmp_path):
    doc = make_summary().to_dict()
    doc["tests"].reverse()
    written = read_summary(write_summary(tmp_path / "summary.json", doc))
    assert [t["id"] for t in written["tests"]] == sorted(t["id"] for t in doc["tests"])


def test_write_summary_refuses_invalid_doc_and_keeps_previous_file(tmp_path):
    path = write_summary(tmp_path / "summary.json", make_summary())
    before = path.read_text()
    bad = make_summary().to_dict()
    bad["tests"][0]["outcome"] = "exploded"
    with pytest.raises(ValueError):
        write_summary(path, bad)
    assert path.read_text() == before
    assert len(list(tmp_path.iterdir())) == 1


def test_schema_rejects_bad_outcome_with_a_readable_message():
    doc = make_summary().to_dict()
    doc["tests"][1]["outcome"] = "passd"
    with pytest.raises(ValueError) as excinfo:
        validate(doc)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "$.tests[1].outcome" in message and "'passd'" in message


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(schema_version=3), "schema_version"),
        (lambda d: d["tests"][0].update(suite="mesh"), "suite"),
        (lambda d: d["tests"][0].update(attempts=-1), "attempts"),
        (lambda d: d.update(started_at="yesterday"), "started_at"),
        (lambda d: d["timings_s"].update(extra_phase="slow"), "extra_phase"),
        (lambda d: d["timings_s"].pop("cni_ready"), "cni_ready"),
        (lambda d: d["cluster"].update(nodes=-1), "nodes"),
        (lambda d: d.update(diagnostics="/abs/path"), "diagnostics"),
        (lambda d: d.update(surprise=True), "surprise"),
        (lambda d: d["tests"][0].pop("message"), "message"),
        (lambda d: d.update(cnimatrix_commit="e92cec2"), "cnimatrix_commit"),
        (lambda d: d.pop("cnimatrix_commit"), "cnimatrix_commit"),
        (lambda d: d["run"].update(status="crashed"), "status"),
        (lambda d: d["run"].update(status="interrupted"), "reason"),  # a non-completed run says why
        (lambda d: d["run"].update(reason="two\nlines"), "reason"),
        (lambda d: d["tests"][0].update(declared={"capability": "x", "status": "unsupported"}), "evidence"),
        (lambda d: d["tests"][0].update(declared={"capability": "x", "status": "nope", "evidence": "e"}),
         "status"),
        (lambda d: d["tests"][0].update(flags=["Works Anyway"]), "flags"),
        (lambda d: d["tests"][0].update(flags=["a", "a"]), "flags"),
    ],
)
def test_schema_rejects_malformed_documents(mutate, where):
    doc = make_summary().to_dict()
    mutate(doc)
    with pytest.raises(ValueError, match=where):
        validate(doc)


def test_flaky_is_only_allowed_on_passed_tests():
    doc = make_summary().to_dict()
    failed = next(t for t in doc["tests"] if t["outcome"] == "failed")
    failed["flaky"] = True
    doc["counts"] = count_outcomes(doc["tests"])
    with pytest.raises(ValueError, match="outcome"):
        validate(doc)


def test_validate_rejects_counts_that_disagree_with_tests():
    doc = make_summary().to_dict()
    doc["counts"]["passed"] += 1
    with pytest.raises(ValueError, match="counts"):
        validate(doc)


def test_validate_rejects_duplicate_test_ids():
    doc = make_summary().to_dict()
    doc["tests"].append(copy.deepcopy(doc["tests"][0]))
    doc["counts"] = count_outcomes(doc["tests"])
    with pytest.raises(ValueError, match="duplicate test ids"):
        validate(doc)


def test_read_summary_names_the_file_on_error(tmp_path):
    broken = tmp_path / "summary.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="summary.json: not valid JSON"):
        read_summary(broken)
    broken.write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(ValueError, match=str(broken)):
        read_summary(broken)


def test_rfc3339_formats_utc_and_rejects_naive_datetimes():
    moment = datetime(2026, 1, 2, 5, 4, 5, 123, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2026-01-02T03:04:05Z"
    assert rfc3339().endswith("Z")
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 1, 2))
    doc = make_summary(started_at=rfc3339(datetime.now(UTC)), finished_at="2026-01-02T03:04:05.25+02:00")
    validate(doc.to_dict())


def test_a_run_that_never_created_a_cluster_has_zero_nodes():
    from cnimatrix.results import RunSummary, validate

    doc = RunSummary(cni_name="kindnet", cni_version="v1", kubernetes_version="v1.37.1", kind_version="v0.33.0",
                     node_image="kindest/node:v1.37.1", offline=True, cluster_name="none", cluster_nodes=0,
                     cluster_existing=False, started_at="2026-11-22T05:00:00Z", finished_at="2026-11-22T05:00:00Z",
                     run_status="preflight-failed", run_reason="images cannot be built offline").to_dict()
    validate(doc)


def test_a_multi_line_run_reason_is_written_as_one_line():
    from cnimatrix.results import RunSummary, validate
    from cnimatrix.results.summary import RUN_REASON_LIMIT

    reason = "cluster x not ready after 240s: calico-node 0/3\n  pod kube-system/calico-node-a: waiting\n  | log " + "x" * 400
    doc = RunSummary(cni_name="calico", cni_version="v3.28.5", kubernetes_version="v1.37.1", kind_version="v0.33.0",
                     node_image="kindest/node:v1.37.1", offline=True, cluster_name="cnimatrix-calico", cluster_nodes=3,
                     cluster_existing=False, started_at="2026-11-22T05:00:00Z", finished_at="2026-11-22T05:01:00Z",
                     run_status="cluster-not-ready", run_reason=reason).to_dict()
    validate(doc)
    assert "\n" not in doc["run"]["reason"] and len(doc["run"]["reason"]) == RUN_REASON_LIMIT
    assert doc["run"]["reason"].startswith("cluster x not ready after 240s: calico-node 0/3 pod kube-system/calico-node-a")


def test_the_shape_is_optional_and_round_trips(tmp_path):
    assert "shape" not in make_summary().to_dict()  # as before shapes: no key at all
    shape = {"ip_family": "ipv4", "proxy_mode": "nftables",
             "untested": [{"axis": "proxy_mode", "value": "nftables", "evidence": "never run here"}]}
    doc = make_summary(shape=shape).to_dict()
    assert list(doc)[list(doc).index("cni") + 1] == "shape" and doc["shape"] == shape
    path = write_summary(tmp_path / "summary.json", make_summary(shape=shape))
    assert RunSummary.from_dict(read_summary(path)).shape == shape
    for bad, where in (({"ip_family": "ipv4", "proxy_mode": "ipvs"}, "$.shape.proxy_mode"),
                       ({"ip_family": "ipv4"}, "$.shape"),
                       ({**shape, "untested": []}, "$.shape.untested")):
        with pytest.raises(ValueError, match=rf"invalid summary at {re.escape(where)}"):
            validate(make_summary(shape=bad).to_dict())
