"""The comparison's cluster-wide policy section: ClusterNetworkPolicy cases per tier and CNI."""
import copy
import json

from cnimatrix.compare import render_html, render_md, tiers
from tests.unit.test_compare import COLUMNS, compare, reports, small_catalog  # noqa: F401 (fixtures)


def case(name: str, tier: str, outcome: str = "passed", flaky: bool = False) -> dict:
    return {"id": f"suites/netpol/test_cluster_netpol.py::test_cluster_policy_case[{name}]", "outcome": outcome,
            "flaky": flaky, "metrics": {"tier": tier}}


def test_counts_per_tier_and_status_and_leaves_other_tests_out():
    found = tiers.entry("cilium", [case("a", "admin"), case("b", "admin", flaky=True), case("c", "baseline", "failed"),
                                   case("d", "admin+baseline", "skipped"),
                                   {"id": "suites/netpol/test_netpol.py::test_policy_case[x]", "outcome": "failed",
                                    "metrics": {"tier": "admin"}}])
    assert found["recorded"] and found["tiers"]["admin"]["passed"] == 1 and found["tiers"]["admin"]["flaky"] == 1
    assert found["tiers"]["baseline"]["failed"] == 1 and found["tiers"]["admin+baseline"]["not-supported"] == 1
    assert sum(found["tiers"]["admin"].values()) == 2   # the NetworkPolicy case is not counted


def test_cells_read_as_passed_failed_or_declared():
    counts = lambda **k: {**dict.fromkeys(tiers.STATUSES, 0), **k}
    assert tiers.cell(counts(passed=4, flaky=1)) == "5/5 passed (1 flaky)"
    assert tiers.cell(counts(passed=3, failed=2)) == "3/5 passed, 2 failed"
    assert tiers.cell(counts(**{"not-enforced": 4, "not-supported": 1})) == "5 not enforced (declared)"
    assert tiers.cell(None) == "—"


def test_a_column_without_cases_says_so_and_no_column_leaves_the_section_out():
    assert tiers.section(["calico", "cilium"], [[], None]) is None
    entries = tiers.section(["calico", "cilium"], [[case("a", "admin", "not-enforced")], None])
    assert tiers.rows(entries) == [("admin", ["1 not enforced (declared)", tiers.NOT_RUN])]


def test_the_comparison_carries_and_renders_the_section(reports, small_catalog):  # noqa: F811
    assert "cluster_policy" not in compare(reports)
    column = COLUMNS[0]
    path = reports / column / "summary.json"
    doc = json.loads(path.read_text())
    template = next(t for t in doc["tests"] if t["suite"] == "netpol")
    for name, tier, outcome in (("admin-deny", "admin", "passed"), ("baseline-deny", "baseline", "failed")):
        test = copy.deepcopy(template)
        test.update(id=f"suites/netpol/test_cluster_netpol.py::test_cluster_policy_case[{name}]", outcome=outcome,
                    flaky=False, metrics={"tier": tier}, title=f"cluster {name}")
        test.pop("declared", None)
        doc["tests"].append(test)
        doc["counts"][outcome] += 1
        doc["counts"]["total"] += 1
    path.write_text(json.dumps(doc))
    comparison = compare(reports)
    assert [e["column"] for e in comparison["cluster_policy"]] == comparison["columns"]
    markdown = render_md.render(comparison)
    assert "### Cluster-wide policy tiers" in markdown and "| admin | 1/1 passed |" in markdown
    html = render_html.render(comparison)
    assert 'data-table="cluster-policy"' in html and 'data-tier="baseline"' in html and "0/1 passed, 1 failed" in html
