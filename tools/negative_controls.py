"""Run every negative control (manifests/breakages) and record whether its checks caught it.

For each breakage: a fresh cluster, the suite's workloads, the breakage, then only the scenarios
that must fail (and, for a narrow breakage, those that must still pass). A control holds when every
one of them failed: the fault was caught; a narrow one also needs every must-pass scenario to pass
(the fault was told apart from what it does not touch). The table goes to
docs/negative-controls.md; each run's reports to reports/negative/<breakage>/.

    .venv/bin/python tools/negative_controls.py --cni flannel [--only NAME ...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnimatrix import breakage  # noqa: E402


def run_one(cni: str, item: breakage.Breakage) -> dict:
    out = REPO / "reports" / "negative" / item.name
    selector = " or ".join(dict.fromkeys(item.must_fail + item.must_pass))   # pytest -k takes test_x[param] as it is
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "cnimatrix", "run", "--cni", cni, "--break", item.name, "-k", selector,
                    "--out", str(out), "--cluster", f"cnimatrix-neg-{cni}"], cwd=REPO)
    return judge(item, out / "summary.json", round(time.monotonic() - started))


DECLARED = "declared skip"


def judge(item: breakage.Breakage, path: Path, seconds: int) -> dict:
    """Whether the run in `path` (a summary.json made with this breakage) failed every scenario it must."""
    summary = json.loads(path.read_text())
    named = item.must_fail + item.must_pass
    outcomes = {}
    for test in summary["tests"]:
        name = test["id"].split("::")[-1]
        if "[" in name and name not in named:
            name = name.split("[")[0]  # an entry without [...] names every parameter
        if name not in named:
            continue  # selected by a shared prefix, named by neither list
        # a scenario the CNI or add-on declares unsupported fails "as declared" (skipped): no evidence either way
        outcome = DECLARED if test["outcome"] == "skipped" and test.get("declared") else test["outcome"]
        outcomes.setdefault(name, []).append((outcome, test["message"].splitlines()[0][:160] if test["message"] else ""))
    missing = [t for t in named if t not in outcomes]
    caught = all(t in outcomes for t in item.must_fail) \
        and all(o in ("failed", DECLARED) for t in item.must_fail for o, _ in outcomes[t]) \
        and all(any(o == "failed" for o, _ in outcomes[t]) for t in item.must_fail)
    # not-enforced: a CNI without NetworkPolicy let every allowed cell through, so the fault did not show there
    spared = all(t in outcomes and all(o in ("passed", DECLARED, "not-enforced") for o, _ in outcomes[t]) for t in item.must_pass)
    hits = ((summary.get("metrics") or {}).get("breakage") or {}).get("hits") or item.hits
    return {"name": item.name, "description": item.description, "held": caught and spared, "caught": caught,
            "spared": spared, "narrow": item.narrow, "hits": hits, "outcomes": outcomes, "missing": missing,
            "seconds": seconds}


def verdict_cell(result: dict) -> str:
    """yes / **NO** for a breakage of the whole cluster; for a narrow one whether it was caught
    and whether what it does not touch still passed."""
    if not result.get("narrow"):
        return "yes" if result["held"] else "**NO**"
    caught = "caught" if result["caught"] else "**missed**"
    return f"{caught}, {'others passed' if result['spared'] else '**others failed too**'}"


HEADER = ("# Negative controls\n\nOne section per CNI, each rewritten by `tools/negative_controls.py --cni NAME` on a real kind\n"
          "cluster per breakage. A control holds when every scenario it names failed (a parametrization the CNI or\n"
          "add-on declares unsupported shows as a declared skip and proves nothing either way; at least one must fail).\n"
          "A narrow breakage hits one node, backend or cell: it is caught when its scenarios fail, and it holds when\n"
          "the scenarios it names as untouched still pass.\n")


def merge(doc: str, cni: str, section: str) -> str:
    """The document with this CNI's section replaced (or added); the other CNIs' sections stay, and
    so do the hand-written ones (titles not a CNI's lower-case name, such as the power audit), first."""
    sections, prose = {}, []
    for part in doc.split("\n## ")[1:]:
        name = part.split("\n", 1)[0].strip()
        text = "## " + part.rstrip() + "\n"
        if name[:1].isupper():
            prose.append(text)
        else:
            sections[name] = text
    sections[cni] = section
    return HEADER + "".join("\n" + text for text in prose) + "".join("\n" + sections[name] for name in sorted(sections))


def rows_of(doc: str, cni: str) -> dict[str, str]:
    """The table rows of a CNI's section, by breakage name (so a run of some breakages keeps the others)."""
    rows = {}
    for part in doc.split("\n## ")[1:]:
        if part.split("\n", 1)[0].strip() == cni:
            for line in part.splitlines():
                if line.startswith("| `"):
                    rows[line.split("`")[1]] = line
    return rows


def render(cni: str, results: list[dict], earlier: dict[str, str] | None = None) -> str:
    lines = [f"## {cni}", "",
             f"Updated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `tools/negative_controls.py --cni {cni}` "
             "(each row: the last run of that breakage).", "",
             "| breakage | what is broken | held | scenario: outcome (first line of the failure) |", "|---|---|---|---|"]
    known = breakage.load_all()
    # an earlier row of a breakage that is gone, or no longer meant for this CNI, would read as current
    rows = {name: row for name, row in (earlier or {}).items() if name in known and known[name].applies_to(cni)}
    for r in results:
        cells = "<br>".join(f"`{t}`: {o} {msg}" for t, runs in r["outcomes"].items() for o, msg in runs)
        if r["missing"]:
            cells += "<br>not run: " + ", ".join(r["missing"])
        what = r["description"] + (f" (hits: {r['hits']})" if r.get("hits") else "")
        rows[r["name"]] = f"| `{r['name']}` | {what} | {verdict_cell(r)} | {cells.replace('|', '/')} |"
    order = list(known)
    lines += [rows[name] for name in sorted(rows, key=lambda n: (order.index(n) if n in order else len(order), n))]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cni", default="flannel")
    parser.add_argument("--only", action="append", help="run only this breakage (repeatable)")
    parser.add_argument("--from-reports", action="store_true",
                        help="run nothing: judge the kept reports/negative/<breakage>/summary.json of the chosen breakages")
    args = parser.parse_args()
    chosen = [b for b in breakage.load_all().values() if (not args.only or b.name in args.only) and b.applies_to(args.cni)]
    if args.from_reports:
        kept = {b.name: REPO / "reports" / "negative" / b.name / "summary.json" for b in chosen}
        missing = [name for name, path in kept.items() if not path.is_file()]
        if missing:
            print(f"negative_controls: no kept report for {', '.join(missing)}", file=sys.stderr)
            return 2
        results = [judge(b, kept[b.name], 0) for b in chosen]
    else:
        results = [run_one(args.cni, b) for b in chosen]
    doc = REPO / "docs" / "negative-controls.md"
    doc.parent.mkdir(exist_ok=True)
    text = doc.read_text() if doc.exists() else ""
    doc.write_text(merge(text, args.cni, render(args.cni, results, rows_of(text, args.cni))))
    for r in results:
        print(f"{r['name']:28} {verdict_cell(r).replace('*', '')}  ({r['seconds']}s)")
    return 0 if all(r["held"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
