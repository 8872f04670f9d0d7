import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("negative_controls", Path(__file__).resolve().parents[2] / "tools" / "negative_controls.py")
tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tool)


def test_merge_replaces_only_the_named_cni_section():
    doc = tool.merge("", "flannel", "## flannel\n\nold flannel table\n")
    doc = tool.merge(doc, "calico", "## calico\n\ncalico table\n")
    doc = tool.merge(doc, "flannel", "## flannel\n\nnew flannel table\n")
    assert doc.startswith(tool.HEADER)
    assert "new flannel table" in doc and "old flannel table" not in doc and "calico table" in doc
    assert doc.index("## calico") < doc.index("## flannel")  # sections sorted by CNI
    assert doc.count("## ") == 2


def test_a_run_of_some_breakages_keeps_the_rows_of_the_others():
    result = {"name": "no-coredns", "description": "CoreDNS at zero", "held": True, "missing": [],
              "outcomes": {"test_headless_service": [("failed", "AssertionError: nothing")]}}
    first = tool.merge("", "flannel", tool.render("flannel", [result, {**result, "name": "no-hairpin"}]))
    again = tool.render("flannel", [{**result, "held": False}], tool.rows_of(first, "flannel"))
    rows = tool.rows_of(tool.merge(first, "flannel", again), "flannel")
    assert set(rows) == {"no-coredns", "no-hairpin"}
    assert "**NO**" in rows["no-coredns"] and "| yes |" in rows["no-hairpin"]
    assert list(rows) == ["no-coredns", "no-hairpin"]  # in the order of manifests/breakages


def _kept(tmp_path, outcomes: dict[str, str], declared: tuple[str, ...] = ()) -> Path:
    tests = [{"id": f"suites/service/test_service.py::{name}", "outcome": o, "message": f"{o}: seen",
              **({"declared": {"capability": "x"}} if name in declared else {})} for name, o in outcomes.items()]
    path = tmp_path / "summary.json"
    path.write_text(__import__("json").dumps({"tests": tests}))
    return path


def test_a_kept_report_where_every_named_scenario_failed_holds(tmp_path):
    item = tool.breakage.load("affinity-ignored")
    result = tool.judge(item, _kept(tmp_path, {name: "failed" for name in item.must_fail}), 0)
    assert result["held"] and not result["missing"]


def test_a_kept_report_where_a_named_scenario_passed_does_not_hold(tmp_path):
    item = tool.breakage.load("affinity-ignored")
    assert not tool.judge(item, _kept(tmp_path, {name: "passed" for name in item.must_fail}), 0)["held"]
    assert tool.judge(item, _kept(tmp_path, {}), 0)["missing"] == list(item.must_fail)


def test_a_declared_parametrization_neither_holds_nor_breaks_a_control(tmp_path):
    item = tool.breakage.load("ingress-backends-unreachable")
    outcomes = {f"{name}[a]": "failed" for name in item.must_fail}
    outcomes["test_routing[exact-wins-tie]"] = "skipped"
    result = tool.judge(item, _kept(tmp_path, outcomes, declared=("test_routing[exact-wins-tie]",)), 0)
    assert result["held"], result
    assert (tool.DECLARED, "skipped: seen") in result["outcomes"]["test_routing"]
    # a plain skip is no failure, and a name with nothing but declared skips proves nothing
    assert not tool.judge(item, _kept(tmp_path, outcomes), 0)["held"]
    only_declared = {**outcomes, "test_routing[a]": "skipped"}
    assert not tool.judge(item, _kept(tmp_path, only_declared, declared=("test_routing[exact-wins-tie]", "test_routing[a]")), 0)["held"]


def test_an_earlier_row_of_a_breakage_no_longer_meant_for_the_cni_is_dropped():
    result = {"name": "hostport-plugin-absent", "description": "d", "held": True, "missing": [],
              "outcomes": {"test_host_port": [("failed", "seen")]}}
    first = tool.merge("", "calico", tool.render("calico", [result, {**result, "name": "node-route-removed"},
                                                             {**result, "name": "gone-long-ago"}]))
    rows = tool.rows_of(tool.merge(first, "calico", tool.render("calico", [], tool.rows_of(first, "calico"))), "calico")
    assert list(rows) == ["hostport-plugin-absent"]   # node-route-removed is flannel's now; the other is gone
    flannel = tool.rows_of(tool.merge("", "flannel", tool.render("flannel", [], {"node-route-removed": "| `node-route-removed` | x |"})), "flannel")
    assert list(flannel) == ["node-route-removed"]


def _narrow_outcomes(item, failing_pass: str | None = None) -> dict[str, str]:
    outcomes = {name: "failed" for name in item.must_fail}
    outcomes.update({name: "passed" for name in item.must_pass})
    if failing_pass:
        outcomes[failing_pass] = "failed"
    return outcomes


def test_a_narrow_breakage_caught_with_the_others_passing_holds_and_says_so(tmp_path):
    item = tool.breakage.load("backend-dropped-on-one-node")
    result = tool.judge(item, _kept(tmp_path, _narrow_outcomes(item)), 0)
    assert result["held"] and result["caught"] and result["spared"] and not result["missing"]
    assert tool.verdict_cell(result) == "caught, others passed"
    row = tool.render("calico", [result]).splitlines()[-1]
    assert "(hits: web backend $victim_ip, through $control_plane only)" in row  # no summary metrics: the data's words


def test_a_narrow_breakage_that_also_fails_an_untouched_scenario_does_not_hold(tmp_path):
    item = tool.breakage.load("backend-dropped-on-one-node")
    result = tool.judge(item, _kept(tmp_path, _narrow_outcomes(item, "test_hairpin")), 0)
    assert result["caught"] and not result["spared"] and not result["held"]
    assert tool.verdict_cell(result) == "caught, **others failed too**"


def test_a_narrow_breakage_its_checks_miss_reads_missed(tmp_path):
    item = tool.breakage.load("backend-dropped-on-one-node")
    outcomes = {**_narrow_outcomes(item), "test_nodeport_on_every_node": "passed"}
    result = tool.judge(item, _kept(tmp_path, outcomes), 0)
    assert not result["caught"] and result["spared"] and tool.verdict_cell(result).startswith("**missed**")
    # a must-pass scenario that did not run is no evidence it was spared
    del outcomes["test_hairpin"]
    result = tool.judge(item, _kept(tmp_path, outcomes), 0)
    assert not result["spared"] and result["missing"] == ["test_hairpin"]


def test_hand_written_sections_stay_first_when_a_cni_section_is_rewritten():
    doc = tool.merge("", "flannel", "## flannel\n\nflannel table\n")
    doc = doc.replace(tool.HEADER, tool.HEADER + "\n## Power against narrow faults\n\naudit table\n")
    doc = tool.merge(doc, "calico", "## calico\n\ncalico table\n")
    assert doc.index("## Power against narrow faults") < doc.index("## calico") < doc.index("## flannel")
    assert "audit table" in doc
