"""What the CI workflows run beside the suites, as make targets: the nightly matrix and `make lint`.

`make nightly-matrix` prints the catalog's nightly CNIs as the JSON list the nightly workflow's
matrix is generated from, so the workflow holds no CNI list of its own. `make lint` runs actionlint
(built here from its Go module through the image engine, cached in the state folder) over
.github/workflows and ruff (pinned in pyproject's dev extra) over the Python tree.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from cnimatrix import cni as cni_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
ACTIONLINT_MODULE = "github.com/rhysd/actionlint"
ACTIONLINT_VERSION = "v1.7.12"  # what the Go module proxy served as @latest when pinned


def nightly_matrix() -> list[str]:
    """The nightly CNIs; an empty list is an error, since a GitHub matrix of nothing fails obscurely."""
    names = cni_catalog.nightly()
    if not names:
        raise cni_catalog.CniDataError(f"no CNI in {cni_catalog.cni_dir()} says `nightly: true`")
    return names


def build_actionlint(ctx) -> None:
    from cnimatrix.images.assemble import go_build

    go_build(ctx, ACTIONLINT_MODULE, ACTIONLINT_VERSION, {f"{ACTIONLINT_MODULE}/cmd/actionlint": "actionlint"},
             ldflags=f"-s -w -X {ACTIONLINT_MODULE}.version={ACTIONLINT_VERSION}")


def actionlint() -> Path:
    """The actionlint binary, built on first use (an engine step: rebuilt only when the pin changes)."""
    from cnimatrix.images.build import Step, output_dir, run_steps

    step = Step("actionlint", f"actionlint {ACTIONLINT_VERSION}", {"actionlint": ACTIONLINT_VERSION}, build_actionlint,
                files=("bin/actionlint",))
    run_steps([step])
    return output_dir("actionlint") / "bin" / "actionlint"


def lint() -> int:
    """Every linter, each with one verdict line; exit 1 when any of them found something."""
    failed = []
    workflows = sorted(str(p.relative_to(REPO_ROOT)) for p in WORKFLOWS.glob("*.yml"))
    try:
        binary = actionlint()
    except Exception as exc:  # a build failure names its step log
        print(f"cnimatrix lint: actionlint could not be built: {exc}", file=sys.stderr)
        return 2
    checks = [("actionlint", [str(binary), "-no-color", *workflows]),
              ("ruff", [sys.executable, "-m", "ruff", "check", "--no-cache", "."])]
    for name, cmd in checks:
        proc = subprocess.run(cmd, cwd=REPO_ROOT)
        if proc.returncode == 0:
            print(f"cnimatrix lint: {name}: clean", flush=True)
        else:
            failed.append(name)
            print(f"cnimatrix lint: {name}: findings above (exit {proc.returncode})", file=sys.stderr, flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnimatrix.ci", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("matrix", "lint"))
    args = parser.parse_args(argv)
    if args.command == "lint":
        return lint()
    try:
        print(json.dumps(nightly_matrix()))
    except cni_catalog.CniDataError as exc:
        print(f"cnimatrix: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
