"""A failed cell links the evidence its run left (reports/<cni>/evidence/<name>/), relative to where
the comparison page is written; cells without evidence, or whose folder is gone, link nothing."""

import os
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from cnimatrix.compare import model, present, render_html, render_md, samples, write_comparison
from cnimatrix.compare.load import evidence_of
from cnimatrix.compare.readback import read_page
from tests.unit.test_compare import CLUSTERIP, HEAD, LATENCY, SCALE, UDP, cells, compare


@pytest.fixture
def reports(tmp_path):
    """The samples, kindnet's failed ClusterIP scenario with two evidence files; flannel-v0.27's
    failed latency scenario has none."""
    samples.write_samples(tmp_path / "reports", HEAD, "v1.37.1")
    samples.write_evidence(tmp_path / "reports", "kindnet", CLUSTERIP)
    return tmp_path / "reports"


def row_of(doc, test_id):
    return next(row for suite in doc["suites"] for row in suite["scenarios"] if row["id"] == test_id)


def remove_evidence(reports):
    """The folder the summary names is gone (cleaned up, or the report copied without it)."""
    shutil.rmtree(reports / "kindnet" / "evidence" / "test_clusterip_spread")


def on_disk(page_dir: Path, href: str) -> Path:
    """Where a relative link of a page in page_dir leads."""
    return Path(os.path.normpath(page_dir / unquote(href)))


# --------------------------------------------------------------------------- comparison.json


def test_a_failed_cell_carries_its_evidence_folder_and_files(reports):
    doc = compare(reports)
    evidence = cells(doc)[("kindnet", CLUSTERIP)]["evidence"]
    assert evidence == {"name": "evidence/test_clusterip_spread",
                        "path": str(reports / "kindnet" / "evidence" / "test_clusterip_spread"),
                        "found": True, "files": ["README.txt", "pods.txt"]}
    model.validate(doc)


def test_cells_without_evidence_carry_none(reports):
    got = cells(compare(reports))
    assert "evidence" not in got[("flannel-v0.27", LATENCY)]  # failed, but its run left no evidence
    assert "evidence" not in got[("kindnet", UDP)]  # error without evidence
    assert "evidence" not in got[("kindnet", SCALE)]  # passed


def test_a_passed_cell_never_carries_evidence_even_if_its_summary_names_some(reports):
    samples.write_evidence(reports, "kindnet", SCALE)
    assert "evidence" not in cells(compare(reports))[("kindnet", SCALE)]


def test_a_missing_evidence_folder_is_named_but_not_found(reports):
    remove_evidence(reports)
    evidence = cells(compare(reports))[("kindnet", CLUSTERIP)]["evidence"]
    assert evidence["name"] == "evidence/test_clusterip_spread"
    assert (evidence["found"], evidence["files"]) == (False, [])


def test_the_schema_refuses_a_malformed_evidence(reports):
    doc = compare(reports)
    row_of(doc, CLUSTERIP)["cells"]["kindnet"]["evidence"]["name"] = "elsewhere/x"
    with pytest.raises(ValueError, match="evidence"):
        model.validate(doc)


# --------------------------------------------------------------------------- index.html


def test_html_links_a_failed_cell_to_its_evidence_relative_to_the_page(reports):
    page_dir = reports / "comparison"
    page = read_page(render_html.render(compare(reports), page_dir))
    linked = [c for c in page.cells if c.cni == "kindnet" and c.test_id == CLUSTERIP]
    assert {c.table for c in linked} == {"disagreements", "suite"}
    for cell in linked:
        assert cell.evidence == "../kindnet/evidence/test_clusterip_spread/"
        assert on_disk(page_dir, cell.evidence).is_dir()
        assert [on_disk(page_dir, href).name for href in cell.evidence_files] == ["README.txt", "pods.txt"]
        assert all(on_disk(page_dir, href).is_file() for href in cell.evidence_files)
        assert "evidence evidence/test_clusterip_spread: README.txt, pods.txt" in cell.title
        assert cell.evidence_missing is None


def test_html_links_nothing_from_cells_without_evidence(reports):
    page = read_page(render_html.render(compare(reports), reports / "comparison"))
    for cell in page.cells:
        if (cell.cni, cell.test_id) != ("kindnet", CLUSTERIP):
            assert (cell.evidence, cell.evidence_files, cell.evidence_missing) == (None, (), None), cell
    failed_without = next(c for c in page.cells if (c.cni, c.test_id) == ("flannel-v0.27", LATENCY))
    assert failed_without.status == "failed" and "evidence" not in failed_without.title


def test_html_links_follow_the_page_wherever_it_is_written(reports, tmp_path):
    page_dir = tmp_path / "elsewhere" / "deeper"
    cell = next(c for c in read_page(render_html.render(compare(reports), page_dir)).cells if c.evidence)
    assert cell.evidence == "../../reports/kindnet/evidence/test_clusterip_spread/"
    assert on_disk(page_dir, cell.evidence) == reports / "kindnet" / "evidence" / "test_clusterip_spread"


def test_html_names_a_missing_folder_without_a_link(reports):
    remove_evidence(reports)
    html = render_html.render(compare(reports), reports / "comparison")
    cell = next(c for c in read_page(html).cells if (c.cni, c.test_id) == ("kindnet", CLUSTERIP))
    assert (cell.evidence, cell.evidence_files) == (None, ())
    assert cell.evidence_missing == "evidence/test_clusterip_spread"
    assert "evidence/test_clusterip_spread (missing)" in cell.text
    assert "evidence evidence/test_clusterip_spread: missing" in cell.title


def test_an_empty_evidence_folder_is_linked_without_a_file_list(reports):
    for path in (reports / "kindnet" / "evidence" / "test_clusterip_spread").iterdir():
        path.unlink()
    cell = next(c for c in read_page(render_html.render(compare(reports), reports / "comparison")).cells
                if (c.cni, c.test_id) == ("kindnet", CLUSTERIP))
    assert cell.evidence == "../kindnet/evidence/test_clusterip_spread/" and cell.evidence_files == ()
    assert "(no files)" in cell.text


# --------------------------------------------------------------------------- comparison.md


def test_markdown_links_a_failed_cell_to_its_evidence(reports):
    doc = compare(reports)
    md = render_md.render(doc, reports / "comparison")
    link = "[evidence](../kindnet/evidence/test_clusterip_spread/)"
    assert md.count(link) == 2  # the disagreements table and the suite's
    text = render_md.cell_text(row_of(doc, CLUSTERIP)["cells"]["kindnet"], reports / "comparison")
    assert text.startswith("❌ failed: backend web-2") and text.endswith(f" {link}")


def test_markdown_links_nothing_from_cells_without_evidence(reports):
    doc = compare(reports)
    for test_id, column in ((LATENCY, "flannel-v0.27"), (UDP, "kindnet"), (SCALE, "kindnet")):
        assert "evidence" not in render_md.cell_text(row_of(doc, test_id)["cells"][column], reports / "comparison")
    assert render_md.render(doc, reports / "comparison").count("[evidence](") == 2


def test_markdown_names_a_missing_folder_without_a_link(reports):
    remove_evidence(reports)
    md = render_md.render(compare(reports), reports / "comparison")
    assert "[evidence](" not in md
    assert "(evidence evidence/test_clusterip_spread missing)" in md


# --------------------------------------------------------------------------- written files


def test_written_pages_link_existing_files(reports):
    out = reports / "comparison"
    write_comparison(compare(reports), out)
    page = read_page((out / "index.html").read_text())
    files = [href for c in page.cells for href in c.evidence_files]
    assert files and all(on_disk(out, href).is_file() for href in files)
    assert "[evidence](../kindnet/evidence/test_clusterip_spread/)" in (out / "comparison.md").read_text()


def test_href_is_relative_to_the_page_and_quoted():
    assert present.href("reports/a b/evidence/x", "reports/comparison", folder=True) == "../a%20b/evidence/x/"
    assert present.href("reports/k/evidence/x/pods.txt", "reports/comparison") == "../k/evidence/x/pods.txt"
    assert present.href("reports/k/evidence/x", None) == "reports/k/evidence/x"


def test_evidence_is_only_ever_a_folder_below_the_summarys_evidence_folder(tmp_path):
    (tmp_path / "evidence" / "x").mkdir(parents=True)
    (tmp_path / "evidence" / "x" / "a.txt").write_text("a")
    summary = tmp_path / "summary.json"
    assert evidence_of(summary, "evidence/x").files == ("a.txt",)
    assert not evidence_of(summary, "evidence/..").found  # the schema's name pattern lets '..' through
    assert not evidence_of(summary, "evidence/gone").found
