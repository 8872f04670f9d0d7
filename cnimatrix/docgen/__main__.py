"""python -m cnimatrix.docgen {scenarios,measurements,catalog} [--check] [--output PATH]

Writes the document (default docs/<name>.md). With --check it writes nothing and exits 1 with one
line when the file differs from what it would write (CI and the unit tests use this)."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from cnimatrix.docgen import stale_line

DOCUMENTS = ("scenarios", "measurements", "catalog")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnimatrix.docgen", description=__doc__.splitlines()[2])
    parser.add_argument("document", choices=DOCUMENTS)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale; write nothing")
    parser.add_argument("--output", type=Path, default=None, help="the file to write or check (default docs/<document>.md)")
    args = parser.parse_args(argv)
    module = importlib.import_module(f"cnimatrix.docgen.{args.document}")
    path = args.output or module.DOC
    try:
        text = module.render()
    except Exception as exc:  # an unreadable source: say which, in the tool's words, not a traceback
        print(f"cnimatrix.docgen: {args.document}: {exc}", file=sys.stderr)
        return 2
    command = f"{module.COMMAND}" + (f" --output {args.output}" if args.output else "")
    if args.check:
        problem = stale_line(path, text, command)
        if problem:
            print(f"cnimatrix.docgen: {problem}", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"cnimatrix.docgen: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
