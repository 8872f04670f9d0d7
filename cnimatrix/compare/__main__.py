"""`python -m cnimatrix.compare`: line up reports/<cni>/summary.json files (exit 2 on bad input)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnimatrix import versions
from cnimatrix.cni import catalog
from cnimatrix.compare import InputError, allure, build, load_runs, write_comparison
from cnimatrix.results import current_commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnimatrix.compare",
        description="Compare CNIs from their reports/<cni>/summary.json: writes comparison.json, comparison.md "
                    "and index.html (and an Allure 3 report, one environment per CNI, in allure/). CNIs named "
                    "explicitly but without results appear as 'not run' columns.")
    parser.add_argument("cnis", nargs="*", metavar="CNI", help="columns, in order (default: every summary found)")
    parser.add_argument("--reports", default="reports", type=Path, help="per-CNI results (default: reports/)")
    parser.add_argument("--output", default=None, type=Path, help="default: <reports>/comparison/")
    parser.add_argument("--allure", action=argparse.BooleanOptionalAction, default=None,
                        help="Allure 3 report of every reports/<cni>/allure-results in <output>/allure/, each CNI "
                             "its own environment (default: on when tools/allure/node_modules exists or npm is "
                             "on PATH)")
    args = parser.parse_args(argv)
    output = args.output or args.reports / "comparison"
    commit = current_commit()
    notes: list[str] = []
    try:
        runs = load_runs(args.reports, args.cnis, kubernetes=versions.KUBERNETES, commit=commit,
                         skip=[output], known=catalog.known, notes=notes)
    except (InputError, catalog.CniDataError) as exc:
        print(f"cnimatrix compare: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"cnimatrix compare: {note}", file=sys.stderr)
    doc = build(runs, kubernetes=versions.KUBERNETES, commit=commit)
    for head in doc["cnis"]:
        if head["stale"]:
            print(f"cnimatrix compare: {head['column']} is stale: {'; '.join(head['stale_reasons'])}")
        elif not head["has_results"]:
            print(f"cnimatrix compare: {head['column']}: no results (every cell not run)")
    paths = write_comparison(doc, output)
    print(f"cnimatrix compare: {len(runs)} CNIs, {len(doc['disagreements'])} disagreements -> "
          + ", ".join(str(p) for p in paths))
    if args.allure if args.allure is not None else allure.available():
        folders = {head["column"]: Path(head["summary"]).parent.name for head in doc["cnis"] if head["summary"]}
        return _allure_report(args.reports, [head["column"] for head in doc["cnis"]], output / "allure", folders)
    return 0


def _allure_report(reports: Path, columns: list[str], target: Path, folders: dict[str, str]) -> int:
    try:
        report = allure.generate(reports, columns, target, folders=folders)
    except allure.AllureError as exc:
        print(f"cnimatrix compare: Allure report failed: {exc}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(f"cnimatrix compare: {note}", file=sys.stderr)
    if report.index is None:
        print(f"cnimatrix compare: no Allure report: no allure-results for {', '.join(columns)}")
        return 0
    without = f"; without allure-results: {', '.join(report.skipped)}" if report.skipped else ""
    n = len(report.environments)
    print(f"cnimatrix compare: Allure report, {n} environment{'' if n == 1 else 's'} "
          f"({', '.join(report.environments)}{without}) in {report.seconds:.1f} s -> {report.index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
