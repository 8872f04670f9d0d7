"""Inline SVG bar charts of the comparison's measurements (no scripts, no fonts to fetch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from cnimatrix.compare import present, timeline

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
WIDTH, LABEL_W, VALUE_W = 720, 230, 70
BAR_H, GAP, TOP, LEGEND_H = 16, 10, 34, 22


def bar_chart(title: str, unit: str, groups: Sequence[tuple[str, Sequence[float | None]]],
              series: Sequence[str], chart_id: str) -> str:
    """Horizontal grouped bars: for each (group label, values) one bar per series; None draws
    "no data". Values share one linear scale starting at zero."""
    known = [v for _, values in groups for v in values if v is not None]
    top = max(known, default=0.0) or 1.0
    legend = LEGEND_H if len(series) > 1 else 0
    height = TOP + legend + sum(len(series) * BAR_H + GAP for _ in groups) + 8
    span = WIDTH - LABEL_W - VALUE_W
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'data-chart="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" class="chart-title">{escape(title)} ({escape(unit)})</text>',
    ]
    if legend:
        x = LABEL_W
        for i, name in enumerate(series):
            parts.append(f'<rect x="{x}" y="{TOP - 6}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
                         f'<text x="{x + 16}" y="{TOP + 4}" class="chart-legend">{escape(name)}</text>')
            x += 24 + 8 * len(name)
    y = TOP + legend
    for label, values in groups:
        shown = label if len(label) <= 34 else label[:33] + "…"
        mid = y + len(series) * BAR_H / 2 + 4
        parts.append(f'<text x="{LABEL_W - 8}" y="{mid:.1f}" text-anchor="end" class="chart-label">'
                     f"<title>{escape(label)}</title>{escape(shown)}</text>")
        for i, value in enumerate(values):
            bar_y = y + i * BAR_H
            tip = f"{label} · {series[i]}: {present.number(value, unit)}"
            if value is None:
                parts.append(f'<text x="{LABEL_W + 4}" y="{bar_y + BAR_H - 4}" class="chart-none">'
                             f"<title>{escape(tip)}</title>no data</text>")
                continue
            w = max(1.0, span * value / top)
            parts.append(f'<rect x="{LABEL_W}" y="{bar_y + 1}" width="{w:.1f}" height="{BAR_H - 2}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}" data-value="{value}"><title>{escape(tip)}</title></rect>'
                         f'<text x="{LABEL_W + w + 4:.1f}" y="{bar_y + BAR_H - 4}" class="chart-value">'
                         f"{escape(present.number(value, unit))}</text>")
        y += len(series) * BAR_H + GAP
    parts.append("</svg>")
    return "".join(parts)


def charts(doc: Mapping[str, Any]) -> list[str]:
    """Create-to-Ready per CNI, DNS p50/p99 per CNI, and time-to-effect figures when there are any."""
    columns = doc["columns"]
    rows = {m["key"]: m for m in doc["measurements"]}
    ready = rows["cluster.create_to_ready_s"]["values"]
    p50, p99 = rows["dns.latency_p50_ms"]["values"], rows["dns.latency_p99_ms"]["values"]
    out = [
        bar_chart("Cluster create-to-Ready", "s", [(c, [ready[c]]) for c in columns], ["create-to-Ready"],
                  "chart-create-to-ready"),
        bar_chart("DNS resolution latency", "ms", [(c, [p50[c], p99[c]]) for c in columns], ["p50", "p99"],
                  "chart-dns-latency"),
    ]
    effect = [m for m in doc["measurements"] if m["group"] == "time-to-effect"]
    if effect:
        out.append(bar_chart("Time-to-effect", "s", [(m["label"], [m["values"][c] for c in columns]) for m in effect],
                             columns, "chart-time-to-effect"))
    return out


PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_H = 60, 20, 52, 180


def line_chart(title: str, x_label: str, unit: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
               chart_id: str) -> str:
    """One line per series through its (x, y) points, markers on every point; both axes linear
    from zero, ticks at the x values measured and at 0, half and the top of y."""
    xs = sorted({x for _, points in series for x, _ in points})
    top_y = max((y for _, points in series for _, y in points), default=0.0) or 1.0
    top_x = max(xs, default=0.0) or 1.0
    span_x = WIDTH - PLOT_LEFT - PLOT_RIGHT
    legend_y = PLOT_TOP + PLOT_H + 58   # below the x axis label
    height = legend_y + 14

    def px(x: float) -> float:
        return PLOT_LEFT + span_x * x / top_x

    def py(y: float) -> float:
        return PLOT_TOP + PLOT_H - PLOT_H * y / top_y

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" data-chart="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" class="chart-title">{escape(title)} ({escape(unit)})</text>',
        f'<line x1="{PLOT_LEFT}" y1="{py(0):.1f}" x2="{WIDTH - PLOT_RIGHT}" y2="{py(0):.1f}" stroke="#8c959f"/>',
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{PLOT_LEFT}" y2="{py(0):.1f}" stroke="#8c959f"/>',
    ]
    for y in (0.0, top_y / 2, top_y):
        parts.append(f'<text x="{PLOT_LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end" class="chart-label">'
                     f"{escape(present.number(y))}</text>")
    for x in xs:
        parts.append(f'<text x="{px(x):.1f}" y="{py(0) + 16:.1f}" text-anchor="middle" class="chart-label">{x:g}</text>')
    parts.append(f'<text x="{PLOT_LEFT + span_x / 2:.0f}" y="{py(0) + 32:.1f}" text-anchor="middle" class="chart-legend">'
                 f"{escape(x_label)}</text>")
    x_legend = PLOT_LEFT
    for i, (name, points) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x_legend}" y="{legend_y - 10}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x_legend + 16}" y="{legend_y}" class="chart-legend">{escape(name)}</text>')
        x_legend += 24 + 8 * len(name)
        ordered = sorted(points)
        if len(ordered) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in ordered)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in ordered:
            tip = f"{name}: N={x:g}: {present.number(y, unit)}"
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}" data-series="{escape(name)}" '
                         f'data-x="{x:g}" data-value="{y}"><title>{escape(tip)}</title></circle>')
    if not any(points for _, points in series):
        parts.append(f'<text x="{PLOT_LEFT + 8}" y="{PLOT_TOP + PLOT_H / 2:.0f}" class="chart-none">no data</text>')
    parts.append("</svg>")
    return "".join(parts)


def growth_charts(doc: Mapping[str, Any]) -> list[str]:
    """One line chart per growth curve of the perf suite: seconds to the first answer against N."""
    out = []
    for curve in (doc.get("perf") or {}).get("growth", []):
        # Every column keeps its place (and colour); one without points says why in the legend.
        series = []
        for column in doc["columns"]:
            points = [(p["n"], p["s"]) for p in curve["points"][column]]
            declared = curve["declared"][column]
            label = column if points else f"{column} ({'declared ' + declared if declared else 'not measured'})"
            series.append((label, points))
        out.append(line_chart(curve["title"], f"N ({curve['unit']})", "s", series, f"chart-growth-{curve['curve']}"))
    return out


def service_count_charts(doc: Mapping[str, Any]) -> list[str]:
    """One line chart per connection figure through the ClusterIP, against the other Services in place."""
    out = []
    for row in (doc.get("perf") or {}).get("service_count", []):
        if row["path"] != "service":   # the pod path is the flat reference: in the table only
            continue
        series = [(column if row["points"][column] else f"{column} (not measured)",
                   [(p["n"], p["median"]) for p in row["points"][column]]) for column in doc["columns"]]
        out.append(line_chart(f"{row['label']}, with N other Services", "N (Services)", row["unit"], series,
                              f"chart-service-count-{row['figure']}"))
    return out


TL_ROW, TL_BAR, TL_LABEL_W, TL_TOTAL_W, TL_LABEL_MIN = 26, 18, 130, 90, 34


def timeline_chart(doc: Mapping[str, Any], chart_id: str = "chart-timeline") -> str:
    """One horizontal stacked bar per column (comparison.json `timeline`), every phase its colour
    (cnimatrix.compare.timeline.colour), labelled with its seconds where it is wide enough and with
    the total at the end; a column without a timeline says "not recorded". One scale for all bars."""
    entries = doc.get("timeline") or []
    names = timeline.phase_names(entries)
    run_level = [n for n in names if ": " not in n]
    suites = list(dict.fromkeys(n.partition(": ")[0] for n in names if ": " in n))
    title = "Where the time goes"
    top = max((e["total_s"] for e in entries if e["recorded"]), default=0.0) or 1.0
    span = WIDTH - TL_LABEL_W - TL_TOTAL_W
    legend_rows = [[(n, timeline.colour(n)) for n in run_level],
                   [(s, timeline.colour(f"{s}: convergence waits")) for s in suites],
                   [(f"{suites[0] if suites else 'suite'}: {part}", timeline.colour(f"{suites[0]}: {part}") if suites
                     else timeline.UNKNOWN_COLOUR) for part in timeline.PARTS]]
    if any(e.get("background") for e in entries):
        legend_rows[0].append(("beside the tests (strip under the bar)", timeline.BACKGROUND_COLOUR))
    legend_rows = [row for row in legend_rows if row]
    y0 = TOP + LEGEND_H * len(legend_rows)
    height = y0 + TL_ROW * len(entries) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" data-chart="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" class="chart-title">{escape(title)} (s)</text>',
    ]
    for r, row in enumerate(legend_rows):
        x, y = 0, TOP + LEGEND_H * r
        for name, fill in row:
            parts.append(f'<rect x="{x}" y="{y - 6}" width="12" height="12" fill="{fill}"/>'
                         f'<text x="{x + 16}" y="{y + 4}" class="chart-legend">{escape(name)}</text>')
            x += 28 + 7 * len(name)
    for i, e in enumerate(entries):
        y = y0 + i * TL_ROW
        parts.append(f'<g data-timeline-cni="{escape(e["column"])}" data-recorded="{str(e["recorded"]).lower()}"'
                     + (f' data-total="{e["total_s"]}">' if e["recorded"] else ">"))
        parts.append(f'<text x="{TL_LABEL_W - 8}" y="{y + TL_BAR - 4}" text-anchor="end" class="chart-label">'
                     f'{escape(e["column"])}</text>')
        if not e["recorded"]:
            parts.append(f'<text x="{TL_LABEL_W + 4}" y="{y + TL_BAR - 4}" class="chart-none">{timeline.NOT_RECORDED}</text></g>')
            continue
        x = float(TL_LABEL_W)
        for p in e["phases"]:
            w = span * p["seconds"] / top
            tip = f'{e["column"]} · {p["name"]}: {present.number(p["seconds"], "s")}'
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{TL_BAR}" fill="{timeline.colour(p["name"])}" '
                         f'data-phase="{escape(p["name"])}" data-value="{p["seconds"]}"><title>{escape(tip)}</title></rect>')
            if w >= TL_LABEL_MIN:
                ink = "#fff" if p["name"] in timeline.RUN_COLOURS and p["name"] != "other" else "#1d232a"
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + TL_BAR - 5}" text-anchor="middle" class="chart-value" '
                             f'fill="{ink}">{escape(present.number(p["seconds"]))}</text>')
            x += w
        for b in e.get("background", []):   # a thin strip under the bar: when it ran beside the tests
            bx, bw = TL_LABEL_W + span * b["started_s"] / top, max(span * b["seconds"] / top, 1.0)
            tip = f'{e["column"]} · {timeline.BESIDE}{b["name"]}: {present.number(b["seconds"], "s")} from {present.number(b["started_s"], "s")}'
            parts.append(f'<rect x="{bx:.1f}" y="{y + TL_BAR + 1}" width="{bw:.1f}" height="{TL_ROW - TL_BAR - 2}" '
                         f'fill="{timeline.BACKGROUND_COLOUR}" data-background="{escape(b["name"])}" data-value="{b["seconds"]}">'
                         f'<title>{escape(tip)}</title></rect>')
        parts.append(f'<text x="{x + 4:.1f}" y="{y + TL_BAR - 4}" class="chart-value">'
                     f'{escape(present.duration(e["total_s"]))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
