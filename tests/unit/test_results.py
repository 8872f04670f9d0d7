import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from jsonschema import Draft202012Validator

from cnimatrix.results import (
    RunSummary,
    TestResult,
    count_outcomes,
    read_summary,
    rfc3339,
    schema,
    validate,
    write_summary,
)


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
                       attempts=0, message="ingress unsupported"),
            TestResult("tests/e2e/test_service.py::test_udp", "service", "UDP", "error", 0.4,
                       message="fixture timed out"),
        ],
        metrics={"dns": {"latency_ms": {"count": 3, "min": 1.0, "p50": 2.0, "p90": 2.8,
                                        "p99": 2.98, "max": 3.0, "mean": 2.0}}},
        diagnostics="diagnostics/kindnet",
    )
    fields.update(overrides)
    return RunSummary(**fields)


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


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


def test_every_schema_property_is_documented():
    declared = list(_properties(schema()))
    assert len(declared) > 30
    assert [where for where, sub in declared if not sub.get("description")] == []


def test_count_outcomes_counts_flaky_as_passed_too():
    counts = count_outcomes(make_summary().tests)
    assert counts == {"passed": 2, "failed": 1, "skipped": 1, "error": 1, "flaky": 1, "total": 5}


def test_count_outcomes_accepts_dicts_and_rejects_unknown_outcomes():
    assert count_outcomes([{"id": "a", "outcome": "failed"}])["failed"] == 1
    with pytest.raises(ValueError, match="unknown outcome"):
        count_outcomes([{"id": "a", "outcome": "meh"}])


def test_to_dict_is_valid_sorted_and_counted():
    doc = make_summary().to_dict()
    validate(doc)
    assert doc["schema_version"] == 1
    assert [t["id"] for t in doc["tests"]] == sorted(t["id"] for t in doc["tests"])
    assert doc["counts"]["total"] == 5
    assert doc["cni"] == {"name": "kindnet", "version": "v20260820-69b56db7"}
    assert doc["cluster"] == {"name": "cnimatrix-kindnet", "nodes": 3, "existing": False}


def test_to_dict_fills_missing_standard_phases_with_null():
    doc = make_summary(timings_s={"suites": 10.0}, cluster_existing=True).to_dict()
    assert doc["timings_s"] == {"cluster_create": None, "cni_ready": None, "suites": 10.0}
    validate(doc)


def test_metrics_key_is_omitted_when_a_test_has_none():
    by_id = {t["id"]: t for t in make_summary().to_dict()["tests"]}
    assert "metrics" in by_id["tests/e2e/test_service.py::test_spread"]
    assert "metrics" not in by_id["tests/e2e/test_dns.py::test_search"]


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
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d["tests"][0].update(suite="perf"), "suite"),
        (lambda d: d["tests"][0].update(attempts=-1), "attempts"),
        (lambda d: d.update(started_at="yesterday"), "started_at"),
        (lambda d: d["timings_s"].update(extra_phase="slow"), "extra_phase"),
        (lambda d: d["timings_s"].pop("cni_ready"), "cni_ready"),
        (lambda d: d["cluster"].update(nodes=0), "nodes"),
        (lambda d: d.update(diagnostics="/abs/path"), "diagnostics"),
        (lambda d: d.update(surprise=True), "surprise"),
        (lambda d: d["tests"][0].pop("message"), "message"),
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
