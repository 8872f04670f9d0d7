"""`python -m cnimatrix.compare`: line up reports/<cni>/summary.json files (exit 2 on bad input)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnimatrix import versions
from cnimatrix.cni import catalog
from cnimatrix.compare import InputError, build, load_runs, write_comparison
from cnimatrix.results import current_commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnimatrix.compare",
        description="Compare CNIs from their reports/<cni>/summary.json: writes comparison.json, comparison.md "
                    "and index.html. CNIs named explicitly but without results appear as 'not run' columns.")
    parser.add_argument("cnis", nargs="*", metavar="CNI", help="columns, in order (default: every summary found)")
    parser.add_argument("--reports", default="reports", type=Path, help="per-CNI results (default: reports/)")
    parser.add_argument("--output", default=None, type=Path, help="default: <reports>/comparison/")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
