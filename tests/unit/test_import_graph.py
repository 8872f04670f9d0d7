"""No two cnimatrix modules import each other, directly or round a longer loop.

Imports inside functions count too: deferring an import hides a circle from Python at load time,
not from a reader, and the circles this test was written against (cli <-> matrix, the image
recipes) were all deferred ones.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cnimatrix"


def module_names(package: Path) -> dict[str, Path]:
    """{dotted name: file} for every module of the package (a package is named by its __init__)."""
    names = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that module `name` imports anywhere in its file."""
    root = name.split(".")[0]
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]

    def owner(dotted: str) -> str | None:  # the longest known module a dotted name lies in
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {owner(a.name) for a in node.names if a.name.split(".")[0] == root}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]).strip(".") if node.level else node.module
            if base and base.split(".")[0] == root:
                # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod itself.
                found |= {owner(f"{base}.{a.name}") if f"{base}.{a.name}" in known else owner(base) for a in node.names}
    return found - {None, name}


def import_graph(package: Path) -> dict[str, set[str]]:
    known = module_names(package)
    return {name: imported(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that reach one another through imports (Tarjan's strongly
    connected components with more than one member), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_cycle_inside_cnimatrix():
    assert cycles(import_graph(PACKAGE)) == []


def test_the_graph_sees_the_packages_real_imports():
    """The check above passes on an empty graph too; this shows the parser finds real edges."""
    graph = import_graph(PACKAGE)
    assert "cnimatrix.run.matrix" in graph["cnimatrix.run.cli"]           # from cnimatrix.run import matrix
    assert "cnimatrix.run.process" in graph["cnimatrix.run.matrix"]       # from cnimatrix.run.process import ...
    assert "cnimatrix.cni" in graph["cnimatrix.run.cli"]                  # from cnimatrix import cni as cni_catalog
    assert "cnimatrix.cluster.kind" in graph["cnimatrix.run.ownership"]   # an import inside a function


def test_cycles_finds_a_loop_and_leaves_the_rest():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": set(), "f": {"f"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_import_graph_finds_a_circle_through_relative_and_deferred_imports(tmp_path):
    package = tmp_path / "toy"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import leaf\n")
    (package / "top.py").write_text("from toy.sub.leaf import thing\nimport os\n")
    (package / "sub" / "leaf.py").write_text("def thing():\n    from .. import top\n    return top\n")
    (package / "alone.py").write_text("import toy.top\n")
    graph = import_graph(package)
    assert graph["toy.sub"] == {"toy.sub.leaf"}
    assert graph["toy.alone"] == {"toy.top"}
    assert cycles(graph) == [["toy.sub.leaf", "toy.top"]]
