"""docs/scenarios.md: every scenario of the suites, from their titles and markers.

The suites are collected by pytest in this process (`--collect-only`, no `--cni`), so no cluster
is needed: the cluster fixtures only act when a CNI is given. A small plugin keeps what the
document shows of each collected item; titles and suites are read the way summary.json reads
them (cnimatrix.testkit.plugin), so the document, the reports and Allure name a scenario alike.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import pytest

from cnimatrix.compare.render_md import escape, table
from cnimatrix.docgen import DOCS_DIR, REPO_ROOT, generated_header

DOC = DOCS_DIR / "scenarios.md"
COMMAND = "python -m cnimatrix.docgen scenarios"
# Markers that name what a scenario needs from the CNI. A marker added for that purpose goes here.
CAPABILITY_MARKERS = ("requires",)
# Markers the table shows in their own columns, or that say nothing about the scenario itself.
_NOT_SHOWN = {"title", "suite", "parametrize", "usefixtures", "filterwarnings", *CAPABILITY_MARKERS}


class CollectionFailed(RuntimeError):
    """pytest could not collect the suites (an import error, an unknown capability, ...)."""


@dataclass(frozen=True)
class Item:
    """What the document needs of one collected test item."""

    suite: str
    file: str                      # relative to the collection root
    function: str
    param: str | None              # the parametrization id, None when not parametrized
    title: str
    capabilities: tuple[str, ...]
    marks: tuple[str, ...]         # other markers, as `name` or `name: text`


@dataclass(frozen=True)
class Scenario:
    """One row: a test function, or one parametrization of it when that has its own title."""

    suite: str
    file: str
    name: str
    title: str
    capabilities: tuple[str, ...]
    params: tuple[str, ...]
    marks: tuple[str, ...]


class _Collector:
    """pytest plugin: records every item once collection (and -k/-m selection) is done."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.items: list[Item] = []

    def pytest_collection_finish(self, session) -> None:
        self.items = [describe(item, self.root) for item in session.items]


def describe(item, root: Path) -> Item:
    from cnimatrix.testkit.plugin import suite_of, title_of  # the plugin imports pytest machinery; load it late

    capabilities: list[str] = []
    for name in CAPABILITY_MARKERS:
        for marker in item.iter_markers(name):
            capabilities += [str(arg) for arg in marker.args if str(arg) not in capabilities]
    marks = []
    for marker in item.iter_markers():
        if marker.name in _NOT_SHOWN:
            continue
        texts = [a for a in marker.args if isinstance(a, str)] + [v for v in marker.kwargs.values() if isinstance(v, str)]
        shown = f"{marker.name}: {'; '.join(texts)}" if texts else marker.name
        if shown not in marks:
            marks.append(shown)
    path = Path(str(item.path))
    try:
        file = path.relative_to(root).as_posix()
    except ValueError:
        file = path.name
    callspec = getattr(item, "callspec", None)
    return Item(suite=suite_of(item), file=file, function=getattr(item, "originalname", item.name),
                param=callspec.id if callspec is not None else None, title=title_of(item),
                capabilities=tuple(capabilities), marks=tuple(marks))


def collect(paths: Sequence[str | Path] = ("suites",), root: Path = REPO_ROOT, extra_args: Sequence[str] = ()) -> list[Item]:
    """Collect `paths` (relative to `root`) with pytest in this process; its output is kept quiet
    and shown only when collection fails."""
    collector = _Collector(root)
    args = ["--collect-only", "-qq", "-s", "-p", "no:cacheprovider", "--assert=plain", f"--rootdir={root}",
            *extra_args, *(str(root / p) for p in paths)]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        tail = "\n".join(output.getvalue().strip().splitlines()[-15:])
        raise CollectionFailed(f"pytest could not collect {', '.join(map(str, paths))} (exit {int(code)}):\n{tail}")
    return collector.items


def scenarios(items: Iterable[Item]) -> list[Scenario]:
    """Rows in collection order. The parametrizations of a function that share one title (and
    capabilities) are one row; a parametrization with a title of its own is a row of its own."""
    rows: list[Scenario] = []
    for (file, function), same_function in groupby(items, key=lambda i: (i.file, i.function)):
        same_function = list(same_function)
        groups: dict[tuple, list[Item]] = {}
        for item in same_function:
            groups.setdefault((item.title, item.capabilities, item.marks), []).append(item)
        for (title, capabilities, marks), members in groups.items():
            params = tuple(m.param for m in members if m.param is not None)
            alone = len(members) == 1 and len(groups) > 1
            name = f"{function}[{params[0]}]" if alone and params else function
            rows.append(Scenario(suite=members[0].suite, file=file, name=name, title=title, capabilities=capabilities,
                                 params=() if alone else params, marks=marks))
    return rows


def render(items: Iterable[Item] | None = None) -> str:
    """The whole document; collects the repository's suites when no items are given."""
    items = list(collect() if items is None else items)
    rows = scenarios(items)
    suites = sorted({row.suite for row in rows})
    lines = [generated_header(COMMAND, "the suites' titles and markers (`suites/*/test_*.py`)"), "# Scenarios", "",
             f"{len(rows)} scenarios ({len(items)} test items) in {len(suites)} suites, as `pytest --collect-only` "
             "finds them. A scenario's title is its `title` marker (else its docstring's first line): the text "
             "summary.json, the comparison page and Allure show. Capabilities are its "
             f"{' / '.join(f'`{m}`' for m in CAPABILITY_MARKERS)} markers: a CNI that declares one unsupported still "
             "runs the scenario and reports it declared (or flags it works-despite-declared); see "
             "[catalog.md](catalog.md) for what each CNI declares. Select scenarios with "
             "`cnimatrix run --cni NAME --suite SUITE -k NAME`.", ""]
    lines += table(["suite", "scenarios", "test items"],
                   [[f"[{s}](#{s})", str(sum(r.suite == s for r in rows)), str(sum(i.suite == s for i in items))]
                    for s in suites])
    for suite in suites:
        lines += ["", f"## {suite}"]
        for file, in_file in groupby((r for r in rows if r.suite == suite), key=lambda r: r.file):
            in_file = list(in_file)
            with_marks = any(r.marks for r in in_file)
            head = ["scenario", "title", "capabilities", "parametrizations", *(["other markers"] if with_marks else [])]
            lines += ["", f"`{file}`", ""]
            lines += table(head, [_cells(r, with_marks) for r in in_file])
    return "\n".join(lines) + "\n"


def _cells(row: Scenario, with_marks: bool) -> list[str]:
    cells = [f"`{escape(row.name)}`", escape(row.title), ", ".join(f"`{c}`" for c in row.capabilities),
             ", ".join(f"`{escape(p)}`" for p in row.params)]
    return cells + ([escape("; ".join(row.marks))] if with_marks else [])
