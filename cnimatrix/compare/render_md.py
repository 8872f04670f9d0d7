"""comparison.md: the comparison as GitHub Markdown, sized for a job summary or a PR comment."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.compare import day2, present, soak, tiers, timeline
from cnimatrix.results.text import clip

MD_REASON_LIMIT = 160  # a PR comment holds 65536 characters; keep every failure readable but short


def escape(text: str) -> str:
    """Make text safe inside a Markdown table cell (no pipes, no HTML, one line)."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _clip(text: str) -> str:
    return clip(text, MD_REASON_LIMIT)


def cell_text(cell: Mapping[str, Any], page_dir: str | os.PathLike[str] | None = None) -> str:
    """One cell; a failure's evidence folder is linked relative to `page_dir` (where the page is written)."""
    symbol, word, _ = present.STATUS[cell["status"]]
    text = f"{symbol} {word}"
    if cell["status"] in present.REASON_SHOWN and cell["reason"]:
        text += f": {_clip(cell['reason'])}"
    elif cell["declared"] is not None and cell["status"] in ("not-supported", "not-enforced"):
        text += f" ({cell['declared']['capability']})"
    if cell.get("known_issue"):
        text += f" (known upstream: {present.issue_ref(cell['known_issue']['issue'])})"
    if cell["flags"]:
        text += f" ⚑ {present.flag_words(cell['flags'])}"
    return escape(text) + _evidence(cell.get("evidence"), page_dir)


def _evidence(evidence: Mapping[str, Any] | None, page_dir: str | os.PathLike[str] | None) -> str:
    """A link to the evidence folder, or its name when the folder is gone; nothing without one."""
    if not evidence:
        return ""
    if not evidence["found"]:
        return f" (evidence {escape(evidence['name'])} missing)"
    return f" [evidence]({present.href(evidence['path'], page_dir, folder=True)})"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Cells must be escaped already."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _scenario_rows(doc: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], with_suite: bool,
                   page_dir: str | os.PathLike[str] | None) -> list[list[str]]:
    out = []
    for row in rows:
        name = f"{escape(row['title'])}<br><sub>`{escape(row['id'])}`</sub>"
        out.append([name, *([row["suite"]] if with_suite else []),
                    *(cell_text(row["cells"][column], page_dir) for column in doc["columns"])])
    return out


def _perf_lines(doc: Mapping[str, Any]) -> list[str]:
    """The perf suite: ratios to the host network with spread, and the growth curves."""
    ratios, growth, counts = present.perf_rows(doc), present.growth_rows(doc), present.service_count_rows(doc)
    if not ratios and not growth and not counts:
        return []
    lines = ["", "### Performance against the host network", ""]
    if ratios:
        lines += table(["Route: figure", "Baseline", *doc["columns"], "Verdict"],
                       [[escape(name), escape(base), *(escape(c) for c in cells), escape(verdict)]
                        for name, base, cells, verdict in ratios])
        marked = present.marked_ratios(doc)
        if marked:
            lines += ["", "**Marked, not ranked**", ""]
            lines += [f"- {escape(column)}, {escape(name)}: {escape(_clip(reasons))}" for column, name, reasons in marked]
    if growth:
        lines += ["", "**Growth: time to the first correct answer**", ""]
        lines += table(["Change", *doc["columns"]], [[escape(name), *(escape(c) for c in cells)] for name, cells in growth])
    if counts:
        lines += ["", "**Connection set-up with N other Services**", ""]
        lines += table(["Figure", *doc["columns"]], [[escape(name), *(escape(c) for c in cells)] for name, cells in counts])
        lines += ["", present.SERVICE_COUNT_NOTE]
    return [*lines, "", present.PERF_NOTE]


def _timeline_lines(doc: Mapping[str, Any]) -> list[str]:
    """Where each run's time went, phase by phase (seconds) per CNI; nothing when no CNI recorded it."""
    entries = doc.get("timeline")
    if not entries:
        return []
    body = []
    for label, values in timeline.rows(entries):
        cells = [(timeline.NOT_RECORDED if label == "Total" else "—") if not e["recorded"] else present.number(value)
                 for e, value in zip(entries, values)]
        unit = "" if label.endswith("probe rounds") else " (s)"
        body.append([f"**{escape(label)}**{unit}" if label == "Total" else f"{escape(label)}{unit}", *cells])
    return ["", "### Where the time goes", "", *table(["Phase", *doc["columns"]], body), "", timeline.NOTE]


def _tier_lines(doc: Mapping[str, Any]) -> list[str]:
    """Cluster-wide policy per tier and CNI; nothing when no CNI ran such cases."""
    entries = doc.get("cluster_policy")
    if not entries:
        return []
    body = [[escape(tier), *(escape(text) for text in texts)] for tier, texts in tiers.rows(entries)]
    return ["", "### Cluster-wide policy tiers", "", *table(["Tier", *doc["columns"]], body), "", tiers.NOTE]


def _day2_lines(doc: Mapping[str, Any]) -> list[str]:
    """The day-2 figures per CNI; nothing when no CNI ran the day-2 suite."""
    found = doc.get("day2")
    if not found:
        return []
    body = [[escape(row["figure"]), *(escape(row["cells"].get(c, day2.MISSING)) for c in doc["columns"])] for row in found]
    return ["", "### Day 2", "", *table(["Figure", *doc["columns"]], body), "", day2.NOTE]


def _soak_lines(doc: Mapping[str, Any]) -> list[str]:
    """Repeated runs per CNI (tools/soak.py), or one line saying none was recorded."""
    lines = ["", "### Repeated runs (soak)", ""]
    rows = soak.rows(doc.get("soak") or [])
    if not rows:
        return [*lines, "No soak recorded for these CNIs (`tools/soak.py --cni NAME --runs N`)."]
    lines += table(["", *doc["columns"]], [[f"**{escape(label)}**", *(escape(c) for c in cells)] for label, cells in rows])
    return [*lines, "", soak.NOTE]


def render(doc: Mapping[str, Any], page_dir: str | os.PathLike[str] | None = None) -> str:
    """comparison.md; `page_dir` is the folder it is written to (evidence links are relative to it)."""
    columns = doc["columns"]
    ref = doc["reference"]
    lines = [
        "## cnimatrix: CNI comparison",
        "",
        f"Generated {doc['generated_at']} against Kubernetes {ref['kubernetes_version']} and cnimatrix "
        f"`{ref['cnimatrix_commit'][:12]}`; one column per CNI, one row per scenario.",
        *([present.shape_note(doc["cnis"]), ""] if present.shape_note(doc["cnis"]) else [""]),
        "Legend: " + " · ".join(f"{symbol} {word}: {meaning}" for symbol, word, meaning in present.STATUS.values()),
        "",
        "### Runs",
        "",
    ]
    header_rows = [[f"**{label}**", *(escape(v) for v in values)] for label, values in present.header_rows(doc["cnis"])]
    lines += table(["", *columns], header_rows)
    stale = [h["column"] for h in doc["cnis"] if h["stale"]]
    if stale:
        lines += ["", f"> **Stale:** {', '.join(stale)} (see Freshness): rerun to compare like with like."]

    index = present.scenario_index(doc)
    lines += ["", f"### Where the CNIs disagree ({len(doc['disagreements'])})", ""]
    if doc["disagreements"]:
        lines += table(["Scenario", "Suite", *columns],
                       _scenario_rows(doc, [index[i] for i in doc["disagreements"]], with_suite=True, page_dir=page_dir))
    else:
        lines.append("The CNIs agree on every scenario they ran (not-run cells left aside).")

    suites = [s for s in doc["suites"] if s["scenarios"]]
    lines += ["", "### Totals by suite", ""]
    lines += table(["Suite", *columns],
                   [[s["name"], *(escape(present.totals_text(s["totals"][c], symbols=True)) for c in columns)]
                    for s in suites])
    empty = [s["name"] for s in doc["suites"] if not s["scenarios"]]
    if empty:
        lines += ["", f"No scenarios in these results for: {', '.join(empty)}."]

    lines += ["", "### All scenarios by suite"]
    for suite in suites:
        summary = " · ".join(f"{c}: {present.totals_text(suite['totals'][c], symbols=True)}" for c in columns)
        count = present.plural(len(suite["scenarios"]), "scenario")
        lines += ["", f"<details><summary><b>{suite['name']}</b> ({count}) {escape(summary)}</summary>", ""]
        lines += table(["Scenario", *columns], _scenario_rows(doc, suite["scenarios"], with_suite=False, page_dir=page_dir))
        lines += ["", "</details>"]

    gaps = present.declared_gaps(doc)
    if gaps:
        lines += ["", "### Declared gaps and their evidence", ""]
        lines += table(["CNI", "Capability", "Declared", "Evidence", "Cells"],
                       [[escape(c), escape(cap), escape(status), escape(evidence), str(n)]
                        for c, cap, status, evidence, n in gaps])

    lines += _perf_lines(doc)
    lines += _soak_lines(doc)

    lines += ["", "### Measurements", ""]
    lines += table(["Measurement", *columns],
                   [[escape(f"{m['label']} ({m['unit']})"), *(present.number(m["values"][c]) for c in columns)]
                    for m in doc["measurements"]])
    lines += ["", "Create-to-Ready is timings_s cluster_create + cni_ready; DNS latency from "
                  "metrics.dns.latency_ms; time-to-effect rows from per-test settle_s, "
                  "metrics.netpol.time_to_effect_s (one probe round) and metrics.netpol.live_update (100 ms probes "
                  "of the pairs a live change flips). — means not measured."]
    lines += _tier_lines(doc)
    lines += _day2_lines(doc)
    lines += _timeline_lines(doc)
    return "\n".join(lines) + "\n"
