"""Words, symbols and formats both renderings (Markdown and HTML) use for a comparison."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cnimatrix.cni.shapes import Shape
from cnimatrix.compare import ranking
from cnimatrix.compare.model import CELL_STATUSES

# status -> (emoji for Markdown, short word, what it means)
STATUS = {
    "passed": ("✅", "passed", "the scenario worked"),
    "flaky": ("🟡", "flaky", "passed, but only after retries"),
    "failed": ("❌", "failed", "the scenario did not work"),
    "not-supported": ("⚪", "not supported", "declared unsupported by the CNI (or the host), so skipped"),
    "not-enforced": ("🟠", "not enforced", "declared not enforced, and indeed not enforced"),
    "error": ("💥", "error", "setup or teardown broke; the network was not judged"),
    "not-run": ("⏸️", "not run", "no result: run stopped, cluster not ready, or no summary"),
}
REASON_SHOWN = {"failed", "error", "not-run"}  # statuses whose reason is written in the cell itself
FLAG_WORDS = {"works-despite-declared": "works despite declared gap",
              "established-connection-kept": "open connection kept after the deny",
              "established-connection-cut": "open connection cut by the deny",
              "known-issue-not-seen": "passes although an upstream bug report is listed for it"}


def word(status: str) -> str:
    return STATUS[status][1]


def flag_words(flags: list[str]) -> str:
    return ", ".join(FLAG_WORDS.get(flag, flag) for flag in flags)


def hover(cell: Mapping[str, Any]) -> str:
    """The text behind a cell: declared evidence for declared gaps, otherwise the reason."""
    parts = []
    declared = cell["declared"]
    if declared is not None:
        parts.append(f"{declared['capability']} declared {declared['status']}: {declared['evidence']}")
    if cell["reason"] and (declared is None or cell["status"] not in ("not-supported", "not-enforced")):
        parts.append(cell["reason"])
    if cell.get("known_issue"):
        parts.append(f"known upstream issue {cell['known_issue']['issue']}: {cell['known_issue']['summary']}")
    if cell["flags"]:
        parts.append(f"flags: {flag_words(cell['flags'])}")
    if cell.get("evidence"):
        parts.append(evidence_text(cell["evidence"]))
    return " | ".join(parts) or word(cell["status"])


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """A failure's evidence folder in words: its name, then its files (or that it is gone)."""
    if not evidence["found"]:
        return f"evidence {evidence['name']}: missing"
    return f"evidence {evidence['name']}: {', '.join(evidence['files']) or 'no files'}"


def href(path: str, page_dir: str | os.PathLike[str] | None, folder: bool = False) -> str:
    """A URL to `path` (a file or folder named as comparison.json names it: relative to the working
    folder, or absolute) from a page written in `page_dir`; without `page_dir`, `path` itself."""
    target = os.path.relpath(path, page_dir) if page_dir is not None else path
    return quote(Path(target).as_posix()) + ("/" if folder else "")


def issue_ref(url: str) -> str:
    """A short name for an upstream report: owner/repo#number for GitHub issues and pulls."""
    parts = url.split("/")
    if len(parts) >= 7 and parts[2] == "github.com" and parts[5] in ("issues", "pull") and parts[6].isdigit():
        return f"{parts[3]}/{parts[4]}#{parts[6]}"
    return url


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def when(timestamp: str | None) -> str:
    """An RFC 3339 timestamp as "YYYY-MM-DD HH:MM UTC"."""
    if timestamp is None:
        return "—"
    return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def totals_text(totals: Mapping[str, int], symbols: bool) -> str:
    """e.g. "11 passed, 1 failed" (or with emoji): the non-zero statuses in fixed order."""
    parts = [f"{totals[s]} {STATUS[s][0] if symbols else word(s)}" for s in CELL_STATUSES if totals[s]]
    return ", ".join(parts) or "none"


def header_rows(headers: list[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(row label, one plain-text value per column) for the table describing each run."""
    def run_text(h: Mapping[str, Any]) -> str:
        status, reason = h["run"]["status"], h["run"]["reason"]
        return f"{status}: {reason}" if reason and status != "completed" else status

    def fresh(h: Mapping[str, Any]) -> str:
        if h["stale"] is None:
            return "—"
        return "stale: " + "; ".join(h["stale_reasons"]) if h["stale"] else "current"

    def text(value: Any) -> str:
        return "—" if value is None else str(value)

    def mode(h: Mapping[str, Any]) -> str:
        return "—" if h["offline"] is None else "offline" if h["offline"] else "online"

    def commit(h: Mapping[str, Any]) -> str:
        value = h["cnimatrix_commit"]
        return "—" if value is None else value[:12]

    fields = [
        ("CNI", lambda h: f"{h['cni']['name']} {text(h['cni']['version'])}" if h["has_results"] else h["cni"]["name"]),
        ("Shape", shape_text),
        ("Kubernetes", lambda h: text(h["kubernetes_version"])),
        ("kind", lambda h: text(h["kind_version"])),
        ("Node image", lambda h: text(h["node_image"])),
        ("Images", mode),
        ("Date", lambda h: when(h["started_at"])),
        ("Run time", lambda h: duration(h["run_time_s"])),
        ("Run", run_text),
        ("cnimatrix", commit),
        ("Freshness", fresh),
    ]
    return [(label, [get(h) for h in headers]) for label, get in fields]


def shape_text(header: Mapping[str, Any]) -> str:
    """A column's shape in words ("IPv4, nftables kube-proxy (declared untested)"), or why there is none."""
    recorded = header.get("shape")
    if not recorded:
        return "not recorded" if header["has_results"] else "—"
    said = Shape(recorded["ip_family"], recorded["proxy_mode"]).describe()
    return said + (" (declared untested)" if recorded.get("untested") else "")


def shape_note(headers: list[Mapping[str, Any]]) -> str | None:
    """One line naming the columns of another shape than the default, or None when there are none."""
    shaped = [h for h in headers if h.get("shape") and Shape(h["shape"]["ip_family"], h["shape"]["proxy_mode"]).distinct]
    if not shaped:
        return None
    return ("Shapes: " + "; ".join(f"{h['column']} runs {shape_text(h)}" for h in shaped)
            + ". A column named cni/shape is that CNI in that shape; the Shape row has every column's.")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def declared_gaps(doc: Mapping[str, Any]) -> list[tuple[str, str, str, str, int]]:
    """(column, capability, declared status, evidence, how many cells) for every distinct declaration."""
    seen: dict[tuple[str, str, str, str], int] = {}
    for suite in doc["suites"]:
        for row in suite["scenarios"]:
            for column, cell in row["cells"].items():
                if cell["declared"] is not None:
                    d = cell["declared"]
                    key = (column, d["capability"], d["status"], d["evidence"])
                    seen[key] = seen.get(key, 0) + 1
    return [(*key, count) for key, count in seen.items()]


def scenario_index(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {row["id"]: row for suite in doc["suites"] for row in suite["scenarios"]}


def interval_text(spread: Mapping[str, Any]) -> str:
    """A ratio's 95% interval with its half-width over the median, or that none was recorded."""
    ci = spread.get("ci95")
    if not ci:
        return ranking.NO_INTERVAL
    width = ci.get("relative_half_width")
    return f"95% CI {ci['low']:.2f}–{ci['high']:.2f}" + (f" (±{width:.0%})" if width is not None else "")


def mark_kinds(spread: Mapping[str, Any] | None) -> list[str]:
    return list(dict.fromkeys(m["kind"] for m in (spread or {}).get("marks") or ()))


def mark_reasons(spread: Mapping[str, Any] | None) -> str:
    """Every mark of a ratio with its reason, in one line ("" when plausible)."""
    return "; ".join(f"{m['kind']}: {m['reason']}" for m in (spread or {}).get("marks") or ())


def ratio_text(spread: Mapping[str, Any] | None) -> str:
    """A ratio's median with its range and interval over the repetitions, marked when it is not to
    be ranked: "0.62 (0.55–0.70), n=5, 95% CI 0.58–0.66 (±6%)", "⚠ noisy: 0.62 (...)"."""
    if spread is None:
        return "—"
    text = f"{spread['median']:.2f} ({spread['min']:.2f}–{spread['max']:.2f}), n={spread['n']}, {interval_text(spread)}"
    kinds = mark_kinds(spread)
    return f"⚠ {', '.join(kinds)}: {text}" if kinds else text


def perf_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, list[str], str]]:
    """(route and figure, what it is compared with, one cell per column, the verdict) of the ratio
    table: the ratio with its spread and interval, then the route's and the baseline's raw medians;
    the verdict ranks the columns only where the intervals allow (re-ranked for a comparison made
    before rankings)."""
    rows = []
    for row in (doc.get("perf") or {}).get("ratios", []):
        cells = []
        for column in doc["columns"]:
            raw, base = row["raw"][column], row["baseline_raw"][column]
            text = ratio_text(row["values"][column])
            if raw is not None and base is not None:
                text += f"; {number(raw)} vs {number(base)} {row['unit']}"
            cells.append(text)
        ranked = row.get("ranking") or ranking.rank(row["values"], row["better"])
        rows.append((f"{row['route_title']}: {row['label']}", row["baseline_title"], cells, ranking.verdict(ranked, row["figure"])))
    return rows


def marked_ratios(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(column, route and figure, its marks with their reasons) of every marked ratio."""
    return [(column, f"{row['route_title']}: {row['label']}", mark_reasons(value))
            for row in (doc.get("perf") or {}).get("ratios", [])
            for column, value in row["values"].items() if mark_kinds(value)]


def growth_rows(doc: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(curve, one cell per column): "N=10: 0.31 s · N=50: 0.42 s", or the declared status."""
    rows = []
    for curve in (doc.get("perf") or {}).get("growth", []):
        cells = []
        for column in doc["columns"]:
            points = curve["points"][column]
            if points:
                cells.append(" · ".join(f"N={p['n']}: {number(p['s'], 's')}" for p in points))
            else:
                cells.append(f"declared {curve['declared'][column]}" if curve["declared"][column] else "—")
        rows.append((curve["title"], cells))
    return rows


def count_cell(point: Mapping[str, Any], unit: str) -> str:
    """"N=1000: 412 µs (380–450)": the median and, when recorded, its 95% interval."""
    text = f"N={point['n']}: {number(point['median'], unit)}"
    if point.get("low") is not None and point.get("high") is not None:
        text += f" ({number(point['low'])}–{number(point['high'])})"
    return text


def service_count_rows(doc: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(figure and path, one cell per column) of the Service-count table: each step's median and interval."""
    rows = []
    for row in (doc.get("perf") or {}).get("service_count", []):
        cells = [" · ".join(count_cell(p, row["unit"]) for p in row["points"][column]) or "—" for column in doc["columns"]]
        rows.append((f"{row['label']}, {row['path_title']}", cells))
    return rows


SERVICE_COUNT_NOTE = ("Service count: with N other Services in place (selector-less, each with an EndpointSlice naming one "
                      "pod), a new connection per 32-byte exchange through one ClusterIP and straight to its backend pod: "
                      "the median over the runs and its 95% interval (metrics.perf.service_count). The time the Nth "
                      "Service takes to answer is the growth curve above.")
PERF_NOTE = ("Ratios: a route's figure over its hostNetwork baseline's, taken repetition by repetition (both measured "
             "back to back on the same nodes), median (min–max), repetitions, and the 95% interval (Student's t; ± its "
             "half-width over the median); then the raw medians, route vs baseline. Above 1 is better for throughput, "
             "worse for latency and jitter. The verdict calls a CNI faster only when the intervals do not overlap; a "
             "ratio marked ⚠ suspect (a throughput ratio above 1.1, or a baseline that moved more than 2x between "
             "repetitions) or noisy (host load above its cores for more than a fifth of the phase), or with no "
             "interval recorded (older summaries), is not ranked. Growth: seconds from the change to the first correct "
             "answer, with N already in place (metrics.perf.growth).")
