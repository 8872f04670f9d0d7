"""Read a rendered index.html back into data, through the attributes it promises to keep stable
(data-table, data-suite, data-cni, data-test-id, data-status, title, data-measure, data-value,
data-evidence, data-evidence-file, data-evidence-missing, and the timeline bars' data-timeline-cni,
data-recorded, data-phase).

Used by the tests (on the file, and on the DOM a browser rendered) to check that the page shows
what comparison.json says, without depending on how the page looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass(frozen=True)
class PageCell:
    table: str  # "disagreements" or "suite"
    suite: str | None  # the suite of a per-suite table
    cni: str
    test_id: str
    status: str
    title: str
    text: str
    evidence: str | None = None  # href of the cell's evidence folder link
    evidence_files: tuple[str, ...] = ()  # hrefs of the files listed under it
    evidence_missing: str | None = None  # the evidence folder named without a link (it is gone)


@dataclass
class Page:
    cells: list[PageCell] = field(default_factory=list)
    measurements: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (key, cni) -> data-value
    tables: list[str] = field(default_factory=list)  # data-table of every table, in document order
    chart_ids: list[str] = field(default_factory=list)
    stale_columns: list[str] = field(default_factory=list)
    timeline_bars: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # cni -> (phase, data-value) in order
    timeline_not_recorded: list[str] = field(default_factory=list)   # cnis whose bar says not recorded

    def statuses(self, table: str) -> dict[tuple[str, str], str]:
        """(cni, test id) -> status for the cells of one kind of table."""
        return {(c.cni, c.test_id): c.status for c in self.cells if c.table == table}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._table: dict[str, str | None] = {}
        self._cell: dict[str, str | None] | None = None
        self._text: list[str] = []
        self._evidence: str | None = None
        self._evidence_files: list[str] = []
        self._evidence_missing: str | None = None
        self._bar: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a
            self.page.tables.append(a.get("data-table") or "")
        elif tag == "td" and "data-status" in a:
            self._cell, self._text = a, []
            self._evidence, self._evidence_files, self._evidence_missing = None, [], None
        elif self._cell is not None and tag == "a" and "data-evidence" in a:
            self._evidence = a.get("href")
        elif self._cell is not None and tag == "a" and "data-evidence-file" in a:
            self._evidence_files.append(a.get("href") or "")
        elif self._cell is not None and "data-evidence-missing" in a:
            self._evidence_missing = a["data-evidence-missing"]
        elif tag == "td" and "data-measure" in a:
            self.page.measurements[(a["data-measure"], a["data-cni"])] = a.get("data-value")
        elif tag == "td" and a.get("data-field") == "Freshness" and "stale" in (a.get("class") or "").split():
            self.page.stale_columns.append(a["data-cni"])
        elif tag == "svg" and a.get("data-chart"):
            self.page.chart_ids.append(a["data-chart"])
        elif tag == "g" and "data-timeline-cni" in a:
            self._bar = a["data-timeline-cni"] or ""
            if a.get("data-recorded") == "true":
                self.page.timeline_bars[self._bar] = []
            else:
                self.page.timeline_not_recorded.append(self._bar)
        elif tag == "rect" and "data-phase" in a and self._bar in self.page.timeline_bars:
            self.page.timeline_bars[self._bar].append((a["data-phase"] or "", a.get("data-value") or ""))

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            a = self._cell
            self.page.cells.append(PageCell(
                table=self._table.get("data-table") or "", suite=self._table.get("data-suite"),
                cni=a["data-cni"] or "", test_id=a["data-test-id"] or "", status=a["data-status"] or "",
                title=a.get("title") or "", text=" ".join("".join(self._text).split()),
                evidence=self._evidence, evidence_files=tuple(self._evidence_files), evidence_missing=self._evidence_missing))
            self._cell = None


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page
