"""comparison.md and index.html say what comparison.json says."""

import re

import pytest

from cnimatrix.compare import plots, present, render_html, render_md, samples
from cnimatrix.compare.readback import read_page
from tests.unit.test_compare import COLUMNS, INGRESS, compare

STATUS_BY_MD_TEXT = {f"{symbol} {word}": status for status, (symbol, word, _) in present.STATUS.items()}


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    reports = tmp_path_factory.mktemp("render") / "reports"
    samples.write_samples(reports, "0123456789abcdef0123456789abcdef01234567", "v1.37.1")
    return compare(reports)


def all_cells(doc):
    return {(column, row["id"]): cell for suite in doc["suites"] for row in suite["scenarios"]
            for column, cell in row["cells"].items()}


# --------------------------------------------------------------------------- markdown


def md_rows(text):
    """Table rows as lists of cells, split on pipes that are not escaped."""
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            for line in text.splitlines() if line.startswith("| ")]


def md_status(cell_text):
    matches = [status for prefix, status in STATUS_BY_MD_TEXT.items() if cell_text.startswith(prefix)]
    assert len(matches) == 1, cell_text
    return matches[0]


def test_markdown_sections_come_in_order(doc):
    md = render_md.render(doc)
    order = ["### Runs", "### Where the CNIs disagree (4)", "### Totals by suite", "### All scenarios by suite",
             "### Declared gaps", "### Measurements"]
    positions = [md.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert len(md) < 65536  # fits a PR comment


def test_markdown_tables_are_well_formed(doc):
    md = render_md.render(doc)
    for line in (line for line in md.splitlines() if line.startswith("|")):
        # one heading or two (suite, baseline) before the columns, and the perf verdict after them
        assert len(re.split(r"(?<!\\)\|", line)) in (len(COLUMNS) + 3, len(COLUMNS) + 4, len(COLUMNS) + 5, 7), line
    assert "<by design>" not in md and "&lt;by design&gt;" in md  # evidence escaped, not dropped


def test_markdown_cells_match_the_document(doc):
    md = render_md.render(doc)
    expected = all_cells(doc)
    seen = {}
    for row in md_rows(md):
        found = re.search(r"`([^`]+)`", row[0])
        if not found or found.group(1) not in {test_id for _, test_id in expected}:
            continue
        values = row[-len(COLUMNS):]
        for column, text in zip(COLUMNS, values):
            status = md_status(text)
            seen.setdefault((column, found.group(1)), set()).add(status)
            cell = expected[(column, found.group(1))]
            if cell["status"] in ("failed", "error", "not-run"):
                assert render_md.escape(cell["reason"]) in text
    assert set(seen) == set(expected)  # every scenario has a per-suite row
    assert {key: statuses.pop() for key, statuses in seen.items() if len(statuses) == 1} == \
        {key: cell["status"] for key, cell in expected.items()}


def test_markdown_disagreements_table_lists_exactly_the_disagreements(doc):
    md = render_md.render(doc)
    section = md.split("### Where the CNIs disagree")[1].split("###")[0]
    listed = [re.search(r"`([^`]+)`", row[0]).group(1) for row in md_rows(section)[1:]]
    assert listed == doc["disagreements"]


def test_markdown_headers_and_measurements(doc):
    md = render_md.render(doc)
    runs = {row[0]: row[1:] for row in md_rows(md.split("### Runs")[1].split("###")[0])}
    assert runs["**Run**"][COLUMNS.index("cilium")] == "interrupted: SIGTERM during the netpol suite"
    assert runs["**Freshness**"][COLUMNS.index("flannel")] == "current"
    assert runs["**Freshness**"][COLUMNS.index("cilium")].startswith("stale: made by cnimatrix ffffffffffff")
    assert runs["**Date**"][0] == "2026-11-20 10:00 UTC" and runs["**Run time**"][0] == "3 min 12 s"
    measures = {row[0]: row[1:] for row in md_rows(md.split("### Measurements")[1])}
    assert measures["Cluster create-to-Ready (s)"] == ["53.8", "39.5", "—", "75", "—"]
    assert measures["DNS latency p99 (ms)"] == ["1.73", "2.4", "—", "—", "—"]


def test_markdown_says_when_everyone_agrees(doc):
    md = render_md.render({**doc, "disagreements": []})
    assert "The CNIs agree on every scenario they ran" in md


# --------------------------------------------------------------------------- html


def test_html_cells_match_the_document(doc):
    page = read_page(render_html.render(doc))
    expected = {key: cell["status"] for key, cell in all_cells(doc).items()}
    assert page.statuses("suite") == expected
    assert len([c for c in page.cells if c.table == "suite"]) == len(expected)  # no cell twice
    for cell in page.cells:
        if cell.table == "suite":
            suite = next(s["name"] for s in doc["suites"] for r in s["scenarios"] if r["id"] == cell.test_id)
            assert cell.suite == suite


def test_html_disagreements_come_first_and_match(doc):
    page = read_page(render_html.render(doc))
    assert page.tables[:3] == ["runs", "disagreements", "totals"]
    assert page.tables.count("suite") == len([s for s in doc["suites"] if s["scenarios"]])
    listed = list(dict.fromkeys(c.test_id for c in page.cells if c.table == "disagreements"))
    assert listed == doc["disagreements"]
    expected = all_cells(doc)
    for cell in page.cells:
        if cell.table == "disagreements":
            assert cell.status == expected[(cell.cni, cell.test_id)]["status"]


def test_html_hover_shows_evidence_and_reasons(doc):
    page = read_page(render_html.render(doc))
    expected = all_cells(doc)
    checked = set()
    for cell in page.cells:
        want = expected[(cell.cni, cell.test_id)]
        if cell.status in ("not-supported", "not-enforced"):
            assert want["declared"]["evidence"] in cell.title
            checked.add(cell.status)
        elif cell.status in ("failed", "error", "not-run"):
            assert want["reason"] in cell.title and want["reason"] in cell.text
            checked.add(cell.status)
        if want["flags"]:
            assert "works despite declared gap" in cell.text
            checked.add("flag")
    assert checked == {"not-supported", "not-enforced", "failed", "error", "not-run", "flag"}
    ingress = next(c for c in page.cells if c.test_id == INGRESS and c.cni == "flannel")
    assert ingress.title.startswith("ingress declared unsupported: No ingress controller is installed with this CNI "
                                    "<by design> & on purpose.")


def test_html_headers_totals_and_measurements(doc):
    html = render_html.render(doc)
    page = read_page(html)
    assert page.stale_columns == ["cilium", "flannel-v0.27"]
    for m in doc["measurements"]:
        for column, value in m["values"].items():
            shown = page.measurements[(m["key"], column)]
            assert (None if shown is None else float(shown)) == value
    for suite in doc["suites"]:
        for column, totals in suite["totals"].items():
            if suite["scenarios"]:
                assert f'data-cni="{column}" data-suite="{suite["name"]}" data-total="{totals["total"]}"' in html


def test_html_is_self_contained(doc):
    html = render_html.render(doc)
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    without_svg_namespace = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for outside in ("http://", "https://", "<link", "<script", "@import", "url(", "<img", "<iframe"):
        assert outside not in without_svg_namespace
    assert "<by design>" not in html  # text is escaped


def test_html_plots_draw_the_measurements(doc):
    html = render_html.render(doc)
    page = read_page(html)
    assert page.chart_ids == ["chart-create-to-ready", "chart-dns-latency", "chart-time-to-effect",
                              "chart-growth-service_backends", "chart-growth-network_policies", "chart-growth-service_count",
                              "chart-service-count-crr_p50_us", "chart-service-count-crr_per_s"]
    ready = html.split('data-chart="chart-create-to-ready"')[1].split("</svg>")[0]
    assert re.findall(r'data-value="([^"]+)"', ready) == ["53.8", "39.5", "75.0"]
    assert ready.count("no data") == 2  # cilium (no cni_ready) and calico (no results)
    dns = html.split('data-chart="chart-dns-latency"')[1].split("</svg>")[0]
    assert re.findall(r'data-value="([^"]+)"', dns) == ["0.21", "1.73", "0.35", "2.4"]


def test_bar_lengths_follow_the_values():
    svg = plots.bar_chart("t", "s", [("a", [10.0]), ("b", [5.0]), ("c", [None])], ["x"], "c1")
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == pytest.approx(2 * widths[1])
    assert "no data" in svg
