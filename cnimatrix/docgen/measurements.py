"""docs/measurements.md: every record in bench/results/*.jsonl, one section per file.

The files are append-only logs written by bench/*.py (and by hand for image builds), so their
records differ in shape; each known file has a table of its own and any other file is listed
record by record. The host load is shown beside each figure wherever the record carries it: on
this 2-core machine a figure taken at load 100 says more about the host than about the CNI.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cnimatrix.compare.render_md import escape, table
from cnimatrix.docgen import DOCS_DIR, REPO_ROOT, generated_header
from cnimatrix.docgen.figures import Record, extras, flat, host_load, number, seconds
from cnimatrix.docgen.perf_table import perf_section
from cnimatrix.perf.agreement import Pair
from cnimatrix.perf.agreement import table as agreement_table

DOC = DOCS_DIR / "measurements.md"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
COMMAND = "python -m cnimatrix.docgen measurements"

class BadRecord(ValueError):
    """A line of a results file is not a JSON object."""


def read_results(directory: Path = RESULTS_DIR) -> dict[str, list[Record]]:
    """{file name: records in file order} for every *.jsonl file, sorted by name."""
    found: dict[str, list[Record]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        records = []
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadRecord(f"{path.name}:{line_number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise BadRecord(f"{path.name}:{line_number}: not a JSON object")
            records.append(record)
        found[path.name] = records
    return found


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table without its "other" column when no record has anything for it."""
    if "other" in head and not any(row[head.index("other")] for row in rows):
        keep = [i for i, name in enumerate(head) if name != "other"]
        head, rows = [head[i] for i in keep], [[row[i] for i in keep] for row in rows]
    return table(head, rows)


def _cells(*texts: str) -> list[str]:
    return [escape(t) if t else "" for t in texts]


def _spread(stats: Any) -> str:
    if not isinstance(stats, Mapping):
        return flat(stats)
    return f"{number(stats.get('p50'))} ({number(stats.get('min'))}–{number(stats.get('max'))})"


# --------------------------------------------------------------------------- one section per file


def images_section(records: Sequence[Record]) -> list[str]:
    shown = ("when", "what", "wall_s", "steps_s", "note")
    rows = []
    for r in records:
        steps = r.get("steps_s") if isinstance(r.get("steps_s"), Mapping) else {}
        slowest = sorted(((v, k) for k, v in steps.items() if isinstance(v, (int, float))), reverse=True)[:5]
        rows.append(_cells(str(r.get("when", "")), str(r.get("what", "")), seconds(r.get("wall_s")),
                           ", ".join(f"{k} {number(v)} s" for v, k in slowest),
                           "; ".join(x for x in (str(r.get("note") or ""), extras(r, shown)) if x), host_load(r)))
    return table(["when", "what", "wall time", "slowest steps", "notes", "host load"], rows)


PHASES = {"create_s": "create", "images_load_s": "image load", "cni_ready_s": "CNI ready"}


def lifecycle_section(records: Sequence[Record]) -> list[str]:
    shown = ("when", "cni", "runs", "create_to_ready_s", "create_to_ready_by_way_s", "host", "cpus", "warm_images_s")
    rows = []
    for r in records:
        runs = [run for run in r.get("runs") or [] if isinstance(run, Mapping)]
        # issue 31: runs say how the images reached the nodes (import, or pulled from the local registry)
        phases = "; ".join((f"{run['via']}: " if "via" in run else "")
                           + " + ".join(f"{label} {number(run[k])}" for k, label in PHASES.items() if k in run) for run in runs)
        deletes = ", ".join(number(run.get("delete_s")) for run in runs if "delete_s" in run)
        by_way = r.get("create_to_ready_by_way_s")
        spread = ("; ".join(f"{via} {_spread(stats)}" for via, stats in by_way.items()) if isinstance(by_way, Mapping)
                  else _spread(r.get("create_to_ready_s")))
        rows.append(_cells(str(r.get("when", "")), str(r.get("cni", "")), str(len(runs)), spread,
                           phases, deletes, number(r.get("warm_images_s")), extras(r, shown), host_load(r)))
    return _table(["when", "CNI", "runs", "create to Ready, s: p50 (min–max)", "per run, s",
                  "delete, s", "warm image check, s", "other", "host load"], rows)


def netpol_section(records: Sequence[Record]) -> list[str]:
    runs = [r for r in records if "cni" in r]
    shown = ("when", "source", "cni", "cases", "outcomes", "flaky", "cases_s", "netpol_suite_s", "netpol_metrics", "host")
    rows = []
    for r in runs:
        metrics = r.get("netpol_metrics") if isinstance(r.get("netpol_metrics"), Mapping) else {}
        effect = metrics.get("time_to_effect_s") if isinstance(metrics.get("time_to_effect_s"), Mapping) else {}
        effect_text = (f"p50 {number(effect.get('p50'))}, p90 {number(effect.get('p90'))}, max {number(effect.get('max'))} "
                       f"({number(effect.get('count'))} changes)") if effect else ""
        rows.append(_cells(str(r.get("when", "")), str(r.get("cni", "")), str(r.get("source", "")),
                           f"{number(r.get('cases'))}: {flat(r.get('outcomes'))}", number(r.get("flaky")),
                           seconds(r.get("cases_s")), seconds(r.get("netpol_suite_s")) if "netpol_suite_s" in r else "",
                           effect_text, seconds(metrics.get("matrix_connected_s")), extras(r, shown), host_load(r)))
    lines = _table(["when", "CNI", "source", "cases: outcomes", "flaky", "cases took", "suite took",
                   "policy time-to-effect, s", "matrix connected after", "other", "host load"], rows)
    rest = other_records([r for r in records if "cni" not in r])
    return lines + ([""] + rest if rest else [])


def soak_section(records: Sequence[Record]) -> list[str]:
    shown = ("when", "source", "cni", "suites", "runs_planned", "runs_done", "run_s", "totals", "flake_rate",
             "flaky", "failing", "host_load_1m_mean", "stopped_by", "scenarios")
    rows = []
    for r in records:
        run_s = r.get("run_s")
        run_text = (f"{number(run_s[0])} ({number(run_s[1])}–{number(run_s[2])})"
                    if isinstance(run_s, list) and len(run_s) == 3 else flat(run_s))
        stopped = f", stopped by {r['stopped_by']}" if r.get("stopped_by") else ""
        named = lambda key: ", ".join(f"`{k}` ×{v}" for k, v in (r.get(key) or {}).items()) or "none"  # noqa: E731
        rows.append(_cells(str(r.get("when", "")), str(r.get("cni", "")), ", ".join(r.get("suites") or []),
                           f"{number(r.get('runs_done'))}/{number(r.get('runs_planned'))}{stopped}",
                           run_text, flat(r.get("totals")), number(r.get("flake_rate")), named("flaky"), named("failing"),
                           str(r.get("source", "")), host_load(r)) + [escape(extras(r, shown))])
    return _table(["when", "CNI", "suites", "runs done", "a run, s: median (min–max)", "scenario-runs",
                  "flake rate", "flaky", "failing", "source", "host load", "other"], rows)


def runs_section(records: Sequence[Record]) -> list[str]:
    shown = ("when", "source", "cni", "commit", "run_status", "suites", "namespace_sets", "outcomes", "flaky", "failed",
             "wall_s", "phases_s", "suites_s", "host", "cluster")
    rows = []
    for r in records:
        suites = r.get("suites_s") if isinstance(r.get("suites_s"), Mapping) else {}
        cluster = r.get("cluster") if isinstance(r.get("cluster"), Mapping) else {}
        footprint = (f"{number(cluster.get('cores_mean'))} cores, {number(cluster.get('memory_peak_mib'))} MiB"
                     if cluster.get("cores_mean") is not None else "")
        listed = lambda key: ", ".join(f"`{x}`" for x in r.get(key) or []) or "none"  # noqa: E731
        rows.append(_cells(str(r.get("when", "")), str(r.get("cni", "")), str(r.get("commit", ""))[:7],
                           number(r.get("namespace_sets")), seconds(r.get("wall_s")),
                           ", ".join(f"{k} {number(v)}" for k, v in suites.items()), flat(r.get("outcomes")),
                           listed("flaky"), listed("failed"), footprint, str(r.get("source", "")),
                           extras(r, shown), host_load(r)))
    return _table(["when", "CNI", "commit", "cases at once", "wall time", "per suite, s", "outcomes", "flaky", "failed",
                   "cluster footprint", "source", "other", "host load"], rows)


def other_records(records: Sequence[Record]) -> list[str]:
    lines = []
    for r in records:
        lines.append(f"- {escape(str(r.get('when', '')))}: {escape(extras(r, ('when',)))} (host load: {host_load(r)})")
    return lines


def agreement_section(records: Sequence[Record]) -> list[str]:
    """Each record: how it was made, the tally, then every ratio of both runs side by side."""
    lines: list[str] = []
    for r in records:
        found = [Pair(*key.split("/", 1), *sides) for key, sides in (r.get("pairs") or {}).items()]
        counts = ", ".join(f"{n} {k}" for k, n in sorted((r.get("counts") or {}).items()))
        lines += [f"**{escape(str(r.get('cni', '')))}**: {escape(str(r.get('source', '')))}. {counts}.", "",
                  agreement_table(found, tuple(r.get("runs") or ("run a", "run b"))), ""]
    return lines


SECTIONS: dict[str, tuple[str, str, Callable[[Sequence[Record]], list[str]]]] = {
    "images.jsonl": ("Image builds", "`make images` (or `python -m cnimatrix.images`) timed by hand, cold and warm; "
                     "cold means empty Go module/build caches and state folder (bench/README.md says how).", images_section),
    "cluster_lifecycle.jsonl": ("Cluster create to Ready", "`bench/cluster_lifecycle.py --cni NAME --runs N [--via import|registry|both]`: 1 control "
                                "plane + 2 workers; create, images to the nodes (imported, or pushed to the local registry and pulled: "
                                "the image load phase is then the push check), CNI and CoreDNS ready, then delete.",
                                lifecycle_section),
    "netpol.jsonl": ("NetworkPolicy suite", "The 73 cases' outcomes, time and policy time-to-effect (resolution: one probe "
                     "round, about 2 s), per run.", netpol_section),
    "perf.jsonl": ("Performance suite", "`bench/perf_record.py` after `cnimatrix run --suite perf`: each figure through "
                   "the CNI divided by the same figure between hostNetwork pods, measured right before it, repetition by "
                   "repetition; shown as median (min–max) over the repetitions. Above 1 is better for throughput, worse "
                   "for latency and jitter. Read the spread and the load before the median.", perf_section),
    "perf_agreement.jsonl": ("Performance: two runs held against each other", "`bench/perf_agree.py A B --record`: "
                             "every datapath ratio both runs measured, 95% interval against 95% interval "
                             "(cnimatrix/perf/agreement.py); they agree when the intervals overlap.", agreement_section),
    "runs.jsonl": ("Whole runs: time per CNI and where it went", "`bench/run_record.py` after a run: wall time, "
                   "each suite's share of metrics.timeline, verdicts, and how many NetworkPolicy cases ran at once.",
                   runs_section),
    "soak.jsonl": ("Soak: repeated runs on one cluster", "`tools/soak.py`, then `bench/soak_record.py`: runs 2..N reuse "
                   "the kept cluster. Scenario-runs count every scenario of every run.", soak_section),
}


def render(results: Mapping[str, Sequence[Record]] | None = None) -> str:
    results = read_results() if results is None else results
    lines = [generated_header(COMMAND, "bench/results/*.jsonl"), "# Measurements", "",
             "Every figure recorded in `bench/results/`, file by file, in the order recorded. Goals are in "
             "[bench/README.md](../bench/README.md); measurements kept only as prose are in "
             "[measurements-notes.md](measurements-notes.md). Host load is the 1-minute load average, where the "
             "record has it."]
    known = [name for name in SECTIONS if name in results]
    for name in known + sorted(set(results) - set(SECTIONS)):
        title, intro, section = SECTIONS.get(name, (name, "Records of a file this generator has no table for.", other_records))
        records = results[name]
        lines += ["", f"## {title}", "", f"`bench/results/{name}`, {len(records)} records. {intro}", ""]
        lines += section(records) if records else ["(no records)"]
    return "\n".join(lines) + "\n"
