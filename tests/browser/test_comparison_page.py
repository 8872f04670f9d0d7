"""The comparison page as a browser shows it: headless Chromium (Debian's /usr/bin/chromium, no
download) opens index.html from disk, takes a screenshot, and dumps the DOM it rendered, whose
cells must carry the statuses comparison.json gives. Slower than tests/unit, so kept apart:
`.venv/bin/python -m pytest tests/browser -q`."""

import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import pytest

from cnimatrix.compare import build, load_runs, samples, write_comparison
from cnimatrix.compare.readback import read_page

CHROMIUM = Path(os.environ.get("CNIMATRIX_CHROMIUM", "/usr/bin/chromium"))
WIDTH, HEIGHT = 1400, 3000
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
COLUMNS = ["flannel", "kindnet", "cilium", "flannel-v0.27", "calico"]  # calico: asked for, no results
FAILED_WITH_EVIDENCE = ("kindnet", samples.SCENARIOS[0][0])  # its run left an evidence folder


def chromium(*args: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install -y chromium` "
                    "(or point CNIMATRIX_CHROMIUM at a Chromium binary); this test never downloads a browser")
    profile = tempfile.mkdtemp(prefix="cnimatrix-chromium-")
    try:
        done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(comparison.json document, index.html path) built from the synthetic summaries."""
    root = tmp_path_factory.mktemp("page")
    commit = "0123456789abcdef0123456789abcdef01234567"
    samples.write_samples(root / "reports", commit, "v1.37.1")
    samples.write_evidence(root / "reports", *FAILED_WITH_EVIDENCE)
    runs = load_runs(root / "reports", COLUMNS, kubernetes="v1.37.1", commit=commit)
    write_comparison(build(runs, kubernetes="v1.37.1", commit=commit), root / "comparison")
    doc = json.loads((root / "comparison" / "comparison.json").read_text())
    return doc, root / "comparison" / "index.html"


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG into (width, height, rows of pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    bpp = 3 if color == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride if kind else 0):  # filter 0: the bytes are the pixels
            a = line[x - bpp] if x >= bpp else 0
            b, c = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def test_screenshot_shows_a_page(rendered, tmp_path):
    _, page = rendered
    shot = Path(os.environ.get("CNIMATRIX_SCREENSHOT", tmp_path / "comparison.png"))
    chromium(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    width, height, rows = png_pixels(data)
    assert (width, height) == (WIDTH, HEIGHT)
    bpp = len(rows[0]) // width
    colours, inked = set(), 0
    for row in rows[::10]:  # every tenth row is plenty
        for x in range(0, len(row), bpp):
            pixel = row[x:x + 3]
            colours.add(pixel)
            inked += pixel != b"\xff\xff\xff"
    sampled = len(rows[::10]) * width
    assert len(colours) > 50, f"only {len(colours)} colours: the page looks blank"
    assert inked / sampled > 0.05, f"only {inked / sampled:.1%} of the sampled pixels are not white"


def test_rendered_dom_shows_what_comparison_json_says(rendered):
    doc, page = rendered
    dom = chromium("--dump-dom", page.as_uri()).stdout
    assert "cnimatrix: CNI comparison" in dom
    shown = read_page(dom)
    expected = {(column, row["id"]): cell["status"] for suite in doc["suites"] for row in suite["scenarios"]
                for column, cell in row["cells"].items()}
    assert shown.statuses("suite") == expected
    assert len([c for c in shown.cells if c.table == "suite"]) == len(expected)
    assert list(dict.fromkeys(c.test_id for c in shown.cells if c.table == "disagreements")) == doc["disagreements"]
    assert {c.status for c in shown.cells} == {"passed", "flaky", "failed", "not-supported", "not-enforced",
                                               "error", "not-run"}
    assert shown.chart_ids[:2] == ["chart-create-to-ready", "chart-dns-latency"]
    for cell in shown.cells:
        if cell.status == "failed":
            reason = doc_cell(doc, cell)["reason"]
            assert reason and reason in cell.title
        if cell.status == "not-supported":
            assert doc_cell(doc, cell)["declared"]["evidence"] in cell.title


def doc_cell(doc, cell):
    row = next(r for s in doc["suites"] for r in s["scenarios"] if r["id"] == cell.test_id)
    return row["cells"][cell.cni]


def test_a_failed_cell_links_its_evidence_files(rendered):
    """The link Chromium rendered in the failed cell, resolved against the page's own file:// URL,
    leads to the evidence folder beside that CNI's summary.json, and each file listed to a file."""
    _, page = rendered
    shown = read_page(chromium("--dump-dom", page.as_uri()).stdout)
    linked = [c for c in shown.cells if c.evidence]
    assert linked and {(c.cni, c.test_id) for c in linked} == {FAILED_WITH_EVIDENCE}

    def target(href: str) -> Path:
        return Path(url2pathname(urlparse(urljoin(page.as_uri(), href)).path))

    for cell in linked:
        assert cell.status == "failed"
        # the page is written to <root>/comparison/, the summaries are under <root>/reports/
        assert target(cell.evidence) == page.parent.parent / "reports" / "kindnet" / "evidence" / "test_clusterip_spread"
        assert target(cell.evidence).is_dir()
        assert sorted(target(href).name for href in cell.evidence_files) == sorted(samples.EVIDENCE_FILES)
        assert all(target(href).is_file() for href in cell.evidence_files)


def test_the_timeline_draws_one_bar_per_cni_that_recorded_one(tmp_path):
    """Two CNIs with a timeline get a stacked bar each (their phases, in order, as comparison.json
    gives them); the others say not recorded."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    samples.write_samples(tmp_path / "reports", commit, "v1.37.1")
    samples.write_timeline(tmp_path / "reports", "flannel")
    samples.write_timeline(tmp_path / "reports", "kindnet", pace=1.5)
    runs = load_runs(tmp_path / "reports", COLUMNS, kubernetes="v1.37.1", commit=commit)
    write_comparison(build(runs, kubernetes="v1.37.1", commit=commit), tmp_path / "comparison")
    doc = json.loads((tmp_path / "comparison" / "comparison.json").read_text())
    page = tmp_path / "comparison" / "index.html"
    shown = read_page(chromium("--dump-dom", page.as_uri()).stdout)
    assert "chart-timeline" in shown.chart_ids
    assert shown.timeline_bars == {e["column"]: [(p["name"], str(p["seconds"])) for p in e["phases"]]
                                   for e in doc["timeline"] if e["recorded"]}
    assert list(shown.timeline_bars) == ["flannel", "kindnet"]
    assert shown.timeline_not_recorded == ["cilium", "flannel-v0.27", "calico"]
    shot = Path(os.environ.get("CNIMATRIX_TIMELINE_SCREENSHOT", tmp_path / "timeline.png"))
    chromium(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri())
    assert shot.stat().st_size > 0
