"""The Allure report's pure part: environments and the generated config from CNI columns, staging of the
results, and how `python -m cnimatrix.compare` decides and fails. Nothing here runs node or npm (the report
itself is built in tests/browser/test_allure_report.py)."""

import json
import re

import pytest

from cnimatrix.compare import allure
from cnimatrix.compare.__main__ import main
from tests.unit.test_compare import COLUMNS, reports, small_catalog  # noqa: F401 (fixtures)

VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def config_columns(text):
    """The environment data a generated allurerc.mjs embeds (JSON between `const columns =` and `;`)."""
    found = re.search(r"^const columns = (.*?);\nexport default", text, re.S | re.M)
    assert found, text
    return json.loads(found.group(1))


def test_one_environment_per_column_in_order():
    envs = allure.environments(["calico", "flannel"], {"calico": {"cni.version": "v3.28.5"}})
    assert [(e.id, e.name, e.cni) for e in envs] == [("calico", "calico", "calico"), ("flannel", "flannel", "flannel")]
    assert envs[0].variables == {"cni.version": "v3.28.5"} and envs[1].variables == {}


def test_environment_ids_fit_allure_and_stay_unique():
    columns = ["flannel-v0.27", "flannel_v0_27", "default", "x" * 80, "calico rc", "é"]
    envs = allure.environments(columns)
    ids = [e.id for e in envs]
    assert all(VALID_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids) and "default" not in ids  # Allure's own environment for unmatched results
    assert ids[:3] == ["flannel-v0_27", "flannel_v0_27", "default-2"]
    # The report shows the column itself; the matcher looks for the column as the `cni` label value.
    assert [e.cni for e in envs] == columns
    assert envs[0].name == "flannel-v0.27" and len(envs[3].name) == 64


def test_config_declares_every_column_with_a_cni_label_matcher():
    envs = allure.environments(["calico", "flannel-v0.27"], {"calico": {"kubernetes": "v1.37.1"}})
    text = allure.render_config(envs, "cnimatrix: calico, flannel-v0.27")
    assert config_columns(text) == [
        {"id": "calico", "name": "calico", "cni": "calico", "variables": {"kubernetes": "v1.37.1"}},
        {"id": "flannel-v0_27", "name": "flannel-v0.27", "cni": "flannel-v0.27", "variables": {}},
    ]
    assert 'const label = "cni";' in text
    assert "matcher: ({ labels }) => labels.some((l) => l.name === label && l.value === cni)" in text
    assert "environments: Object.fromEntries(columns.map(" in text
    assert "singleFile: true" in text  # one index.html that opens from disk
    assert 'name: "cnimatrix: calico, flannel-v0.27",' in text


def test_config_quotes_names_as_json():
    text = allure.render_config(allure.environments(['we"ird']), 'a "quoted" </script> name')
    assert config_columns(text)[0]["cni"] == 'we"ird'
    assert 'name: "a \\"quoted\\" </script> name",' in text


def test_read_properties(tmp_path):
    path = tmp_path / "environment.properties"
    assert allure.read_properties(path) == {}
    path.write_text("# comment\ncni=calico\nnode.image=kindest/node:v1.37.1\nurl=a=b\n\nnot a pair\n")
    assert allure.read_properties(path) == {"cni": "calico", "node.image": "kindest/node:v1.37.1", "url": "a=b"}


def write_result(folder, name, labels):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}-result.json").write_text(json.dumps({"name": name, "status": "passed", "labels": labels}))


def test_stage_labels_every_result_with_its_column(tmp_path):
    src = tmp_path / "calico" / "allure-results"
    write_result(src, "a", [{"name": "cni", "value": "calico"}, {"name": "suite", "value": "dns"}])
    write_result(src, "b", [{"name": "suite", "value": "service"}])  # no cni label
    write_result(src, "c", [{"name": "cni", "value": "calico-old"}])
    (src / "x-container.json").write_text('{"children": ["a"]}')
    (src / "y-attachment.txt").write_text("log")
    (src / "environment.properties").write_text("cni=calico\n")
    note = allure.stage(src, "calico", tmp_path / "staged")
    staged = tmp_path / "staged"
    assert sorted(p.name for p in staged.iterdir()) == ["a-result.json", "b-result.json", "c-result.json",
                                                        "x-container.json", "y-attachment.txt"]
    for name in "abc":
        labels = json.loads((staged / f"{name}-result.json").read_text())["labels"]
        assert [label["value"] for label in labels if label["name"] == "cni"] == ["calico"]
    assert (staged / "x-container.json").read_text() == '{"children": ["a"]}'
    assert "1 result(s) had no cni label" in note and "cni=calico-old" in note and str(src) in note
    assert json.loads((src / "b-result.json").read_text())["labels"] == [{"name": "suite", "value": "service"}]


def test_stage_says_nothing_when_every_label_is_right(tmp_path):
    src = tmp_path / "flannel" / "allure-results"
    write_result(src, "a", [{"name": "cni", "value": "flannel"}])
    (src / "broken-result.json").write_text("{not json")
    assert allure.stage(src, "flannel", tmp_path / "staged") is None
    assert (tmp_path / "staged" / "broken-result.json").read_text() == "{not json"


def test_no_results_means_no_report_and_no_node(tmp_path, monkeypatch):
    monkeypatch.setattr(allure, "ensure_cli", lambda *a, **k: pytest.fail("must not look for the CLI"))
    (tmp_path / "calico").mkdir()
    report = allure.generate(tmp_path, ["calico", "flannel"], tmp_path / "out")
    assert report.index is None and report.skipped == ["calico", "flannel"] and not (tmp_path / "out").exists()


def test_a_shapes_column_finds_its_results_in_its_folder(tmp_path, monkeypatch):
    (tmp_path / "flannel-nftables" / "allure-results").mkdir(parents=True)
    monkeypatch.setattr(allure, "ensure_cli", lambda *a, **k: pytest.fail("flannel/nftables has results"))
    with pytest.raises(pytest.fail.Exception, match="flannel/nftables has results"):
        allure.generate(tmp_path, ["flannel/nftables"], tmp_path / "out", folders={"flannel/nftables": "flannel-nftables"})
    assert allure.generate(tmp_path, ["flannel/nftables"], tmp_path / "out").skipped == ["flannel/nftables"]


def test_missing_node_or_npm_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(allure.shutil, "which", lambda name: None)
    with pytest.raises(allure.AllureError, match=r"needs Node\.js, and `node` is not on PATH"):
        allure.ensure_cli(tmp_path)
    monkeypatch.setattr(allure.shutil, "which", lambda name: "/usr/bin/node" if name == "node" else None)
    with pytest.raises(allure.AllureError, match=r"cli\.js is missing and `npm` is not on PATH"):
        allure.ensure_cli(tmp_path)
    assert not allure.available(tmp_path)
    (tmp_path / allure.CLI).parent.mkdir(parents=True)
    (tmp_path / allure.CLI).write_text("")
    assert allure.available(tmp_path) and allure.ensure_cli(tmp_path) == ["/usr/bin/node", str(tmp_path / allure.CLI)]


@pytest.mark.parametrize(("output", "reason"), [
    ("npm warn Unknown user config\nnpm error code ENOTFOUND\nnpm error syscall getaddrinfo\n"
     "npm error errno ENOTFOUND\nnpm error network request to https://r/allure failed\nnpm error A complete log of this run can be found in: x",
     "ENOTFOUND: npm error network request to https://r/allure failed"),
    ("Internal Error: The provided Allure config contains unsupported fields: x\n    at resolveConfig (config.js:1)",
     "Internal Error: The provided Allure config contains unsupported fields: x"),
    ("", "no output"),
])
def test_a_failure_is_told_by_its_telling_line(output, reason):
    assert allure._reason("", output) == reason


# --------------------------------------------------------------------------- command line


def test_cli_skips_allure_when_unavailable_or_asked(reports, small_catalog, monkeypatch):  # noqa: F811
    monkeypatch.setattr(allure, "generate", lambda *a, **k: pytest.fail("no Allure report was asked for"))
    monkeypatch.setattr(allure, "available", lambda *a, **k: False)
    assert main(["--reports", str(reports), *COLUMNS]) == 0
    monkeypatch.setattr(allure, "available", lambda *a, **k: True)
    assert main(["--reports", str(reports), "--no-allure", *COLUMNS]) == 0


def test_cli_passes_columns_and_prints_where_the_report_went(reports, small_catalog, monkeypatch, capsys):  # noqa: F811
    calls = []

    def fake(reports_dir, columns, target, folders):
        calls.append((reports_dir, columns, target))
        assert folders == {c: c for c in COLUMNS if c != "calico"}  # calico: no summary, so no folder
        return allure.Report(target / "index.html", columns[:2], columns[2:], ["a note"], 1.25)

    monkeypatch.setattr(allure, "generate", fake)
    monkeypatch.setattr(allure, "available", lambda *a, **k: False)  # --allure wins over the default
    assert main(["--reports", str(reports), "--allure", *COLUMNS]) == 0
    assert calls == [(reports, COLUMNS, reports / "comparison" / "allure")]
    captured = capsys.readouterr()
    assert (f"Allure report, 2 environments (flannel, kindnet; without allure-results: cilium, flannel-v0.27, "
            f"calico) in 1.2 s -> {reports / 'comparison' / 'allure' / 'index.html'}") in captured.out
    assert "cnimatrix compare: a note\n" in captured.err


def test_cli_exits_2_with_one_line_when_the_report_fails(reports, small_catalog, monkeypatch, capsys):  # noqa: F811
    (reports / "flannel" / "allure-results").mkdir()
    monkeypatch.setattr(allure.shutil, "which", lambda name: None)
    assert main(["--reports", str(reports), "--allure", *COLUMNS]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("cnimatrix compare: Allure report failed: the Allure report needs Node.js")
    assert (reports / "comparison" / "comparison.json").is_file()  # the comparison itself was written
