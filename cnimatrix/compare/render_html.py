"""index.html: the comparison as one self-contained page (inline CSS and SVG, no scripts, no
network), readable from disk. Cells carry data-cni / data-test-id / data-status so a browser test
can read the table back; hover (title) gives the declared evidence or the failure reason. A failure's
evidence folder is linked (data-evidence) relative to the folder the page is written to, its files listed
(data-evidence-file) in a <details>."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from cnimatrix.compare import day2, plots, present, soak, tiers, timeline

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#1d232a;background:#fff;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#57606a}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top}
th{background:#f6f8fa;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.scenario small,.cell small{display:block;color:#57606a;font-size:11px;max-width:420px;overflow-wrap:anywhere}
.cell{min-width:110px}.badge{font-weight:bold;white-space:nowrap}
.s-passed{background:#dafbe1}.s-flaky{background:#fff8c5}.s-failed{background:#ffebe9}
.s-not-supported{background:#f6f8fa;color:#57606a}.s-not-enforced{background:#fff1e5}
.s-error{background:#ffd8d3}.s-not-run{background:#eaeef2;color:#57606a}
.flag{display:block;color:#8250df;font-size:11px}.stale{color:#cf222e;font-weight:bold}
.legend span{display:inline-block;margin:2px 6px 2px 0;padding:2px 6px;border:1px solid #d0d7de}
.chart{display:block;margin:8px 0 16px}.chart-title{font-size:14px;font-weight:bold}
.chart-label,.chart-legend,.chart-value,.chart-none{font-size:12px}.chart-none{fill:#8c959f;font-style:italic}
td.perf-marked{color:#8c959f;background:#f6f8fa}
"""


def _attrs(**attrs: Any) -> str:
    return "".join(f' {name.rstrip("_").replace("_", "-")}="{escape(str(value), quote=True)}"'
                   for name, value in attrs.items() if value is not None)


def _table(doc: Mapping[str, Any], first: Sequence[str], rows: Sequence[str], last: Sequence[str] = (), **attrs: Any) -> str:
    """A table whose head is `first` (plain headings), one heading per column, then `last`."""
    head = "".join(f"<th>{escape(h)}</th>" for h in first)
    head += "".join(f"<th{_attrs(data_cni=c)}>{escape(c)}</th>" for c in doc["columns"])
    head += "".join(f"<th>{escape(h)}</th>" for h in last)
    return f"<table{_attrs(**attrs)}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def cell_html(column: str, row: Mapping[str, Any], page_dir: str | os.PathLike[str] | None = None) -> str:
    """One cell; a failure's evidence folder is linked relative to `page_dir` (where the page is written)."""
    cell = row["cells"][column]
    status = cell["status"]
    inner = f'<span class="badge">{escape(present.word(status))}</span>'
    if status in present.REASON_SHOWN and cell["reason"]:
        inner += f"<small>{escape(cell['reason'])}</small>"
    elif cell["declared"] is not None and status in ("not-supported", "not-enforced"):
        declared = cell["declared"]
        inner += f"<small>{escape(declared['capability'])} declared {escape(declared['status'])}</small>"
    if cell.get("known_issue"):
        url = cell["known_issue"]["issue"]
        inner += (f'<small>known upstream: <a{_attrs(href=url, data_known_issue=url)}>'
                  f'{escape(present.issue_ref(url))}</a></small>')
    if cell["flags"]:
        inner += f'<span class="flag">⚑ {escape(present.flag_words(cell["flags"]))}</span>'
    if cell.get("evidence"):
        inner += _evidence(cell["evidence"], page_dir)
    attrs = _attrs(class_=f"cell s-{status}", data_cni=column, data_test_id=row["id"], data_status=status,
                   data_flags=" ".join(cell["flags"]) or None, title=present.hover(cell))
    return f"<td{attrs}>{inner}</td>"


def _evidence(evidence: Mapping[str, Any], page_dir: str | os.PathLike[str] | None) -> str:
    """A link to the evidence folder with its files in a <details>, or its name when the folder is gone."""
    name, path = evidence["name"], evidence["path"]
    if not evidence["found"]:
        return f'<small{_attrs(class_="evidence", data_evidence_missing=name)}>{escape(name)} (missing)</small>'
    link = f'<a{_attrs(href=present.href(path, page_dir, folder=True), data_evidence=name)}>evidence</a>'
    files = evidence["files"]
    if not files:
        return f'<small class="evidence">{link} (no files)</small>'
    items = "".join(f'<li><a{_attrs(href=present.href(f"{path}/{file}", page_dir), data_evidence_file=file)}>'
                    f"{escape(file)}</a></li>" for file in files)
    # styled inline: a page without evidence keeps its stylesheet (and bytes) as before
    return (f'<details class="evidence" style="font-size:11px"><summary>{link}: '
            f'{escape(present.plural(len(files), "file"))}</summary><ul style="margin:2px 0;padding-left:16px">'
            f"{items}</ul></details>")


def scenario_table(doc: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], kind: str, suite: str | None,
                   with_suite: bool, page_dir: str | os.PathLike[str] | None = None) -> str:
    body = []
    for row in rows:
        name = f'<td class="scenario">{escape(row["title"])}<small>{escape(row["id"])}</small></td>'
        suite_cell = f"<td>{escape(row['suite'])}</td>" if with_suite else ""
        cells = "".join(cell_html(c, row, page_dir) for c in doc["columns"])
        body.append(f"<tr{_attrs(data_test_id=row['id'], data_disagree=str(row['disagree']).lower())}>"
                    f"{name}{suite_cell}{cells}</tr>")
    first = ["Scenario", "Suite"] if with_suite else ["Scenario"]
    return _table(doc, first, body, class_="scenarios", data_table=kind, data_suite=suite)


def _headers(doc: Mapping[str, Any]) -> str:
    rows = []
    for label, values in present.header_rows(doc["cnis"]):
        tds = []
        for h, value in zip(doc["cnis"], values):
            css = "stale" if label == "Freshness" and h["stale"] else None
            tds.append(f"<td{_attrs(class_=css, data_cni=h['column'], data_field=label)}>{escape(value)}</td>")
        rows.append(f"<tr><th>{escape(label)}</th>{''.join(tds)}</tr>")
    return _table(doc, [""], rows, data_table="runs")


def _totals(doc: Mapping[str, Any], suites: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for suite in suites:
        tds = "".join(f"<td{_attrs(data_cni=c, data_suite=suite['name'], data_total=suite['totals'][c]['total'])}>"
                      f"{escape(present.totals_text(suite['totals'][c], symbols=False))}</td>" for c in doc["columns"])
        rows.append(f"<tr><th>{escape(suite['name'])}</th>{tds}</tr>")
    return _table(doc, ["Suite"], rows, data_table="totals")


def _measurements(doc: Mapping[str, Any]) -> str:
    rows = []
    for m in doc["measurements"]:
        tds = "".join(f"<td{_attrs(class_='num', data_cni=c, data_measure=m['key'], data_value=m['values'][c])}>"
                      f"{escape(present.number(m['values'][c]))}</td>" for c in doc["columns"])
        rows.append(f"<tr><th>{escape(m['label'])} ({escape(m['unit'])})</th>{tds}</tr>")
    return _table(doc, ["Measurement"], rows, data_table="measurements")


def _ratio_cell(column: str, key: str, value: Mapping[str, Any] | None, text: str) -> str:
    """One ratio; a marked one greyed (class perf-marked, data-perf-marks), its reasons on hover."""
    kinds = present.mark_kinds(value)
    attrs = _attrs(class_="num perf-marked" if kinds else "num", data_cni=column, data_perf_ratio=key,
                   data_value=(value or {}).get("median"), data_perf_marks=" ".join(kinds) or None,
                   title=present.mark_reasons(value) or None)
    return f"<td{attrs}>{escape(text)}</td>"


def _named_rows(doc: Mapping[str, Any], named: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """One row per (name, one text per column): the name as its heading, each cell marked with its CNI."""
    return [f"<tr><th>{escape(name)}</th>{''.join(f'<td{_attrs(data_cni=c)}>{escape(t)}</td>' for c, t in zip(doc['columns'], cells))}</tr>"
            for name, cells in named]


def _perf(doc: Mapping[str, Any]) -> list[str]:
    """The perf suite: the ratio table (data-perf-ratio cells), the growth table and its plots."""
    ratios, growth, counts = present.perf_rows(doc), present.growth_rows(doc), present.service_count_rows(doc)
    if not ratios and not growth and not counts:
        return []
    parts = ['<h2 id="perf">Performance against the host network</h2>']
    if ratios:
        rows = []
        for (name, base, cells, verdict), row in zip(ratios, doc["perf"]["ratios"]):
            key = f"{row['route']}.{row['figure']}"
            tds = "".join(_ratio_cell(c, key, row["values"][c], text) for c, text in zip(doc["columns"], cells))
            rows.append(f"<tr><th>{escape(name)}</th><td>{escape(base)}</td>{tds}"
                        f"<td{_attrs(data_perf_verdict=key)}>{escape(verdict)}</td></tr>")
        parts.append(_table(doc, ["Route: figure", "Baseline"], rows, last=["Verdict"], data_table="perf-ratios"))
    if growth:
        parts += ["<h3>Growth: time to the first correct answer</h3>",
                  _table(doc, ["Change"], _named_rows(doc, growth), data_table="perf-growth"),
                  *plots.growth_charts(doc)]
    if counts:
        parts += ["<h3>Connection set-up with N other Services</h3>",
                  _table(doc, ["Figure"], _named_rows(doc, counts), data_table="perf-service-count"), *plots.service_count_charts(doc),
                  f'<p class="meta">{escape(present.SERVICE_COUNT_NOTE)}</p>']
    return [*parts, f'<p class="meta">{escape(present.PERF_NOTE)}</p>']


def _day2(doc: Mapping[str, Any]) -> list[str]:
    """The day-2 figures per CNI (data-figure cells); nothing when no CNI ran the day-2 suite."""
    found = doc.get("day2")
    if not found:
        return []
    body = [f"<tr><th>{escape(row['figure'])}</th>" + "".join(
                f"<td{_attrs(data_cni=c, data_figure=row['figure'])}>{escape(row['cells'].get(c, day2.MISSING))}</td>"
                for c in doc["columns"]) + "</tr>" for row in found]
    return ['<h2 id="day2">Day 2</h2>', _table(doc, ["Figure"], body, data_table="day2"),
            f'<p class="meta">{escape(day2.NOTE)}</p>']


def _tiers(doc: Mapping[str, Any]) -> list[str]:
    """Cluster-wide policy per tier and CNI (data-tier cells); nothing when no CNI ran such cases."""
    entries = doc.get("cluster_policy")
    if not entries:
        return []
    body = [f"<tr><th>{escape(tier)}</th>" + "".join(f"<td{_attrs(data_cni=c, data_tier=tier)}>{escape(text)}</td>"
                                                    for c, text in zip(doc["columns"], texts)) + "</tr>"
            for tier, texts in tiers.rows(entries)]
    return ['<h2 id="cluster-policy">Cluster-wide policy tiers</h2>', _table(doc, ["Tier"], body, data_table="cluster-policy"),
            f'<p class="meta">{escape(tiers.NOTE)}</p>']


def _timeline(doc: Mapping[str, Any]) -> list[str]:
    """Where each run's time went: one stacked bar per CNI and the table (data-timeline cells);
    nothing at all when no CNI recorded a timeline."""
    entries = doc.get("timeline")
    if not entries:
        return []
    body = []
    for label, values in timeline.rows(entries):
        rounds = label.endswith("probe rounds")
        tds = []
        for e, value in zip(entries, values):
            text = (timeline.NOT_RECORDED if label == "Total" else "—") if not e["recorded"] else \
                (present.number(value) if value is not None else "—")
            tds.append(f"<td{_attrs(class_='num', data_cni=e['column'], data_timeline=label, data_value=value)}>"
                       f"{escape(text)}</td>")
        unit = "" if rounds else " (s)"
        body.append(f"<tr><th>{escape(label)}{unit}</th>{''.join(tds)}</tr>")
    return ['<h2 id="timeline">Where the time goes</h2>', plots.timeline_chart(doc),
            _table(doc, ["Phase"], body, data_table="timeline"), f'<p class="meta">{escape(timeline.NOTE)}</p>']


def _soak(doc: Mapping[str, Any]) -> list[str]:
    """Repeated runs per CNI (tools/soak.py): data-soak cells, or one line saying none was recorded."""
    parts = ['<h2 id="soak">Repeated runs (soak)</h2>']
    rows = soak.rows(doc.get("soak") or [])
    if not rows:
        return [*parts, "<p>No soak recorded for these CNIs (<code>tools/soak.py --cni NAME --runs N</code>).</p>"]
    body = [f"<tr><th>{escape(label)}</th>"
            + "".join(f"<td{_attrs(data_cni=c, data_soak=label)}>{escape(text)}</td>" for c, text in zip(doc["columns"], cells))
            + "</tr>" for label, cells in rows]
    return [*parts, _table(doc, [""], body, data_table="soak"), f'<p class="meta">{escape(soak.NOTE)}</p>']


def render(doc: Mapping[str, Any], page_dir: str | os.PathLike[str] | None = None) -> str:
    """index.html; `page_dir` is the folder it is written to (evidence links are relative to it)."""
    ref = doc["reference"]
    index = present.scenario_index(doc)
    suites = [s for s in doc["suites"] if s["scenarios"]]
    empty = [s["name"] for s in doc["suites"] if not s["scenarios"]]
    legend = "".join(f'<span class="s-{status}" title="{escape(meaning)}">{escape(word)}</span>'
                     for status, (_, word, meaning) in present.STATUS.items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>cnimatrix: CNI comparison</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>cnimatrix: CNI comparison</h1>",
        f'<p class="meta">Generated {escape(doc["generated_at"])} against Kubernetes '
        f'{escape(ref["kubernetes_version"])} and cnimatrix {escape(ref["cnimatrix_commit"][:12])}. '
        "One column per CNI, one row per scenario; hover a cell for the declared evidence or the reason.</p>",
        f'<p class="meta">{escape(present.shape_note(doc["cnis"]))}</p>' if present.shape_note(doc["cnis"]) else "",
        f'<p class="legend">{legend}</p>',
        '<h2 id="runs">Runs</h2>', _headers(doc),
        f'<h2 id="disagreements">Where the CNIs disagree ({len(doc["disagreements"])})</h2>',
        scenario_table(doc, [index[i] for i in doc["disagreements"]], "disagreements", None, with_suite=True,
                       page_dir=page_dir)
        if doc["disagreements"] else "<p>The CNIs agree on every scenario they ran (not-run cells left aside).</p>",
        "<h2>Totals by suite</h2>", _totals(doc, suites),
        f"<p>No scenarios in these results for: {escape(', '.join(empty))}.</p>" if empty else "",
        "<h2>All scenarios by suite</h2>",
    ]
    for suite in suites:
        parts += [f'<h3 id="suite-{escape(suite["name"])}">{escape(suite["name"])} '
                  f'({present.plural(len(suite["scenarios"]), "scenario")})</h3>',
                  scenario_table(doc, suite["scenarios"], "suite", suite["name"], with_suite=False, page_dir=page_dir)]
    parts += ['<h2 id="measurements">Measurements</h2>', _measurements(doc), *plots.charts(doc),
              '<p class="meta">Create-to-Ready is timings_s cluster_create + cni_ready; DNS latency from '
              "metrics.dns.latency_ms; time-to-effect from per-test settle_s, metrics.netpol.time_to_effect_s (one probe round) "
              "and metrics.netpol.live_update (100 ms probes of the pairs a live change flips). "
              "— means not measured.</p>",
              *_tiers(doc),
              *_day2(doc),
              *_timeline(doc),
              *_perf(doc),
              *_soak(doc),
              "</body></html>"]
    return "\n".join(p for p in parts if p) + "\n"
