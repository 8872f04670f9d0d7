"""A run's cluster-wide cases as a network-policy-api ConformanceReport."""
import json

import yaml

from cnimatrix.results import cluster_policy_report as cpr


def case(name: str, outcome: str = "passed", flaky: bool = False) -> dict:
    return {"id": f"suites/netpol/test_cluster_netpol.py::test_cluster_policy_case[{name}]", "outcome": outcome,
            "flaky": flaky}


def summary(*tests: dict, source: str = "github.com/cilium/cilium@v1.20.2") -> dict:
    return {"cni": {"name": "cilium", "version": "v1.20.2", "source": source}, "finished_at": "2026-12-07T02:00:00Z",
            "cnimatrix_commit": "abc", "kubernetes_version": "v1.37.1",
            "tests": [{"id": "suites/netpol/test_netpol.py::test_policy_case[deny-all]", "outcome": "failed"}, *tests]}


def standard(doc: dict) -> dict:
    (profile,) = doc["profiles"]
    assert profile["name"] == "ClusterNetworkPolicy"
    return profile["standard"]


def test_a_run_without_cluster_wide_cases_has_no_report():
    assert cpr.report(summary()) is None
    assert cpr.report(summary(case("a"))) is not None     # its twin: one case is enough


def test_counts_and_names_follow_the_upstream_shape():
    doc = cpr.report(summary(case("a"), case("b", flaky=True), case("c", "failed"), case("d", "error"),
                             case("e", "skipped"), case("f", "not-enforced")))
    assert doc["apiVersion"] == "policy.networking.k8s.io/v1alpha1" and doc["kind"] == "ConformanceReport"
    assert doc["networkPolicyV2APIVersion"] == "v0.2.0"
    got = standard(doc)
    assert got["statistics"] == {"Failed": 2, "Passed": 2, "Skipped": 2}   # the NetworkPolicy case is not counted
    assert got["failedTests"] == ["c", "d"] and got["skippedTests"] == ["e", "f"]
    assert got["result"] == "failure"
    assert "1 only after retries" in got["summary"] and "does not enforce" in got["summary"]


def test_result_is_partial_with_skips_and_success_only_when_all_passed():
    assert standard(cpr.report(summary(case("a"), case("b", "not-enforced"))))["result"] == "partial"
    assert standard(cpr.report(summary(case("a"), case("b"))))["result"] == "success"


def test_a_case_the_cni_does_not_enforce_is_never_counted_passed():
    got = standard(cpr.report(summary(case("a", "not-enforced"), case("b", "not-enforced"))))
    assert got["statistics"]["Passed"] == 0 and got["statistics"]["Skipped"] == 2
    assert "failedTests" not in got


def test_the_implementation_is_named_from_the_module_and_says_what_was_run():
    impl = cpr.report(summary(case("a")))["implementation"]
    assert (impl["organization"], impl["project"], impl["url"]) == ("cilium", "cilium", "https://github.com/cilium/cilium")
    assert "not the network-policy-api conformance suite" in impl["additionalInformation"]
    online = cpr.report(summary(case("a"), source=""), module="github.com/projectcalico/calico")["implementation"]
    assert (online["organization"], online["project"]) == ("projectcalico", "calico")
    unknown = cpr.report(summary(case("a"), source=""))["implementation"]
    assert (unknown["organization"], unknown["url"]) == ("cilium", "")


def test_write_puts_the_yaml_beside_the_summary_only_when_there_is_one(tmp_path):
    assert cpr.write(summary(), tmp_path) is None and not (tmp_path / cpr.FILE_NAME).exists()
    path = cpr.write(summary(case("a", "failed")), tmp_path)
    assert path == tmp_path / cpr.FILE_NAME and standard(yaml.safe_load(path.read_text()))["failedTests"] == ["a"]


def test_cli_writes_the_report_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    good = tmp_path / "summary.json"
    good.write_text(json.dumps(summary(case("a"))))
    assert cpr.main([str(good)]) == 0 and (tmp_path / cpr.FILE_NAME).exists()
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(summary()))
    assert cpr.main([str(empty)]) == 2
    assert cpr.main([str(tmp_path / "missing.json")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "no ClusterNetworkPolicy cases" in errors[0] and "cannot read" in errors[1]
