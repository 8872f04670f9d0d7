"""Changes to an upstream manifest, as data: a shape's `manifest_patches` in a CNI file, applied when
the manifest is installed, so the file is used as released and every change is reviewable in cnis/.

A patch picks objects by kind and name (and namespace, when given) and sets or removes fields by path:
`spec.template.spec.containers[name=calico-node].env[name=FELIX_IPV6SUPPORT].value`. A `[field=value]`
step picks the list item whose field has that value (`set` adds it when missing, so an env var can be
added), `[N]` the item at an index; `${control_plane}` in a value is filled in at install
(kind.manifest_files). A patch that matches no object, or a path that leads nowhere, is an error at
install: the upstream file has changed under it.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cnimatrix.datafiles import DataParser

_KEY = re.compile(r"\.?([A-Za-z0-9_/-]+)")
_PICK = re.compile(r"\[([A-Za-z0-9_-]+)=([^\]]+)\]")
_INDEX = re.compile(r"\[(\d+)\]")


class PatchError(ValueError):
    """A patch that does not fit the manifest it is applied to."""


@dataclass(frozen=True)
class ManifestPatch:
    kind: str
    name: str
    namespace: str = ""   # any namespace when empty
    set: tuple[tuple[str, Any], ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def matches(self, doc: Any) -> bool:
        meta = doc.get("metadata") or {} if isinstance(doc, dict) else {}
        return (isinstance(doc, dict) and doc.get("kind") == self.kind and meta.get("name") == self.name
                and (not self.namespace or meta.get("namespace") == self.namespace))


def steps(path: str) -> list[tuple[str, ...]]:
    """A path as steps: ("key", name), ("pick", field, value) or ("index", n); ValueError when malformed."""
    found: list[tuple[str, ...]] = []
    at = 0
    while at < len(path):
        key = _KEY.match(path, at) if (at == 0) != path.startswith(".", at) else None
        pick, index = _PICK.match(path, at), _INDEX.match(path, at)
        if key:
            found.append(("key", key.group(1)))
        elif pick and found:
            found.append(("pick", pick.group(1), pick.group(2)))
        elif index and found:
            found.append(("index", index.group(1)))
        else:
            raise ValueError(f"{path!r} is not a path (a.b[name=x][0].c) at {path[at:]!r}")
        at = (key or pick or index).end()
    if not found:
        raise ValueError("an empty path")
    return found


def _child(node: Any, step: tuple[str, ...], path: str, create: bool) -> Any:
    if step[0] == "key" and isinstance(node, dict):
        if step[1] not in node and create:
            node[step[1]] = {}
        if step[1] in node:
            return node[step[1]]
    elif step[0] == "pick" and isinstance(node, list):
        found = next((item for item in node if isinstance(item, dict) and str(item.get(step[1])) == step[2]), None)
        if found is None and create:
            found = {step[1]: step[2]}
            node.append(found)
        if found is not None:
            return found
    elif step[0] == "index" and isinstance(node, list) and int(step[1]) < len(node):
        return node[int(step[1])]
    shown = {"key": step[-1], "pick": f"[{step[1]}={step[-1]}]", "index": f"[{step[-1]}]"}[step[0]]
    raise PatchError(f"{path}: nothing at {shown}")


def _apply_one(doc: dict, patch: ManifestPatch) -> None:
    for path, value in patch.set:
        *parents, last = steps(path)
        node = doc
        for step in parents:
            node = _child(node, step, path, create=True)
        if last[0] == "key" and isinstance(node, dict):
            node[last[1]] = copy.deepcopy(value)
        else:
            target = _child(node, last, path, create=True)
            if not isinstance(value, dict) or not isinstance(target, dict):
                raise PatchError(f"{path}: a list item is set to a mapping, not {value!r}")
            target.update(copy.deepcopy(value))
    for path in patch.remove:
        *parents, last = steps(path)
        node = doc
        for step in parents:
            node = _child(node, step, path, create=False)
        item = _child(node, last, path, create=False)
        if isinstance(node, dict):
            del node[last[1]]
        else:
            node.remove(item)


def apply(docs: list[Any], patches: tuple[ManifestPatch, ...]) -> tuple[list[Any], set[int]]:
    """Copies of `docs` with every patch applied to the objects it picks, and which patches (by index) picked one."""
    patched, used = copy.deepcopy(docs), set()
    for doc in patched:
        for number, patch in enumerate(patches):
            if patch.matches(doc):
                _apply_one(doc, patch)
                used.add(number)
    return patched, used


def patched_files(paths: list[Path], patches: tuple[ManifestPatch, ...], folder: Path) -> list[Path]:
    """The manifests to apply: each file a patch changes is written to `folder` (kept beside the kubeconfig
    for diagnostics) and replaces the original in the list; PatchError when a patch matches nothing."""
    result, used = [], set()
    for path in paths:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        patched, picked = apply(docs, patches)
        used |= picked
        if picked:
            target = folder / f"patched-{path.name}"
            target.write_text(yaml.safe_dump_all([d for d in patched if d is not None], sort_keys=False))
            path = target
        result.append(path)
    unused = [p.target for number, p in enumerate(patches) if number not in used]
    if unused:
        raise PatchError(f"manifest patch for {', '.join(unused)} matches no object in {', '.join(p.name for p in paths)}")
    return result


_PATCH_KEYS = {"kind", "name", "namespace", "set", "remove"}


def parse(parser: DataParser, value: Any, where: str) -> tuple[ManifestPatch, ...]:
    """A CNI file's list of manifest patches, each path checked."""
    found = []
    for at, data in parser.entries(value, where, _PATCH_KEYS):
        sets = parser.mapping(data.get("set") or {}, f"{at}.set")
        removes = data.get("remove") or []
        if not isinstance(removes, list) or not all(isinstance(p, str) for p in removes):
            raise parser.fail(f"{at}.remove", "must be a list of paths")
        if not sets and not removes:
            raise parser.fail(at, "must set or remove something")
        for path in [*sets, *removes]:
            try:
                steps(path)
            except ValueError as exc:
                raise parser.fail(f"{at}: {path}", str(exc)) from None
        found.append(ManifestPatch(kind=parser.text(data, "kind", at), name=parser.text(data, "name", at),
                                   namespace=parser.text(data, "namespace", at) if "namespace" in data else "",
                                   set=tuple(sets.items()), remove=tuple(removes)))
    return tuple(found)


def parse_field(parser: DataParser, data: dict, where: str, source: str) -> tuple[ManifestPatch, ...]:
    """The `manifest_patches` of a CNI file's mapping at `where` (install or a shape entry): none when
    absent, refused for an install source that applies no manifests."""
    if "manifest_patches" in data and source not in ("manifest", "module"):
        raise parser.fail(f"{where}.manifest_patches", f"only applies to source=manifest or module, not {source}")
    return parse(parser, data.get("manifest_patches", []), f"{where}.manifest_patches")
