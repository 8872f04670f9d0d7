"""Every image a CNI's or add-on's rendered manifests pull, against the `images:` its catalog entry lists.

Offline, the catalog's list is all that is built and loaded into the nodes (preflight and `make images`
read it), so a typo, a missing tag or an image the manifests pull that the entry does not name would leave
a pod unable to pull. It is caught here, on any host and with no cluster:
`python -m cnimatrix.images refs [--cni NAME ...] [--addon NAME ...]`.
Images are compared as containerd names them (node_images.canonical). A listed image no manifest
names is only reported: some are pulled by a program at run time.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from cnimatrix.addons import catalog as addon_catalog
from cnimatrix.addons.install import AddonError, step_documents
from cnimatrix.cluster import kind
from cnimatrix.cluster.node_images import canonical
from cnimatrix.cni import catalog as cni_catalog
from cnimatrix.cni import shapes

# Where each kind keeps its pod spec; a List's items are searched in turn.
POD_SPEC_PATHS = {
    "Pod": ("spec",),
    **{kind_name: ("spec", "template", "spec")
       for kind_name in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job")},
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# Rendering needs a cluster's name for ${control_plane} and an address pool for $address_pool; nothing
# rendered here is applied, so stand-ins do (192.0.2.0/24 is TEST-NET-1, reserved for examples).
PLACEHOLDER_CLUSTER = "cnimatrix-refs"
PLACEHOLDER_PARAMS = {"address_pool": "192.0.2.240-192.0.2.255"}


class NotRenderable(RuntimeError):
    """An entry's manifests cannot be rendered on this host; the message says what is missing and how to get it."""


# --------------------------------------------------------------------------- what the objects reference


def pod_specs(document: Any) -> Iterator[dict]:
    """The pod specs in one Kubernetes object: a Pod's, a workload's pod template's, each List item's."""
    if not isinstance(document, dict):
        return
    if isinstance(document.get("items"), list) and str(document.get("kind", "")).endswith("List"):
        for item in document["items"]:
            yield from pod_specs(item)
        return
    node: Any = document
    for key in POD_SPEC_PATHS.get(document.get("kind"), ()):
        node = node.get(key) if isinstance(node, dict) else None
    if node is not document and isinstance(node, dict):
        yield node


def referenced(documents: Iterable[Any]) -> set[str]:
    """Every image the objects' containers, init and ephemeral containers name, as containerd names it."""
    found = set()
    for spec in (spec for document in documents for spec in pod_specs(document)):
        for container in itertools.chain.from_iterable(spec.get(key) or () for key in CONTAINER_LISTS):
            image = container.get("image") if isinstance(container, dict) else None
            if isinstance(image, str) and image.strip():
                found.add(canonical(image.strip()))
    return found


def unlisted(referenced: Iterable[str], listed: Iterable[str]) -> list[str]:
    """The referenced images the catalog does not list (compared as containerd names them), sorted."""
    return sorted({canonical(ref) for ref in referenced} - {canonical(ref) for ref in listed})


def unused(referenced: Iterable[str], listed: Iterable[str]) -> list[str]:
    """The listed images no manifest references, as the catalog spells them: information, not an error."""
    named = {canonical(ref) for ref in referenced}
    return [ref for ref in listed if canonical(ref) not in named]


# --------------------------------------------------------------------------- rendering an entry


def read_documents(paths: Iterable[Path]) -> list[dict]:
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(doc, dict)]


def shaped_installs(cni: cni_catalog.Cni) -> list[cni_catalog.Cni]:
    """The entry as each shape a run may ask for installs it, one per distinct install (a shape's chart
    values or manifest patches may pull other images); shapes the entry refuses are left out."""
    found: dict[str, cni_catalog.Cni] = {}
    for family, mode in itertools.product(shapes.IP_FAMILIES, shapes.PROXY_MODES):
        try:
            shaped, _ = cni.shaped(shapes.Shape(family, mode))
        except shapes.ShapeRefused:
            continue
        found.setdefault(repr((shaped.install.values, shaped.install.manifest_patches)), shaped)
    return list(found.values()) or [cni]


def cni_documents(cni: cni_catalog.Cni) -> list[dict]:
    """The objects installing the CNI applies: its manifests with the shape's patches applied, or its
    chart rendered by `helm template` as kind.install_cni does, with a stand-in cluster name."""
    if cni.install.source == "builtin":
        raise NotRenderable("installed by kind from its node image: there is no manifest to read here")
    if cni.install.source == "helm":
        try:
            kind.tool("helm")
        except kind.ClusterError:
            raise NotRenderable(f"helm not found: run `make images CNI={cni.name}` (it builds helm from its Go module)") from None
    with tempfile.TemporaryDirectory(prefix="cnimatrix-refs-") as folder:
        try:
            if cni.install.source == "helm":
                paths = [kind.template_chart(cni, PLACEHOLDER_CLUSTER, Path(folder))]
            else:
                paths = kind.manifest_files(cni, Path(folder), PLACEHOLDER_CLUSTER)
            return read_documents(paths)
        except kind.ClusterError as exc:
            raise NotRenderable(str(exc)) from exc


def addon_documents(addon: addon_catalog.Addon) -> list[dict]:
    """The objects the add-on's install steps apply, with stand-in parameters (address_pool)."""
    documents = []
    for step in addon.install:
        try:
            documents += step_documents(step, PLACEHOLDER_PARAMS)
        except AddonError as exc:
            raise NotRenderable(str(exc)) from exc
        except (KeyError, ValueError) as exc:  # a $parameter that has no stand-in here
            raise NotRenderable(f"{step.label}: no stand-in for parameter {exc}") from exc
    return documents


# --------------------------------------------------------------------------- the check


def shown_path(path: Path | None, name: str) -> str:
    if path is None:
        return name
    return str(path.relative_to(cni_catalog.REPO_ROOT)) if path.is_relative_to(cni_catalog.REPO_ROOT) else str(path)


def verdict(name: str, where: str, found: set[str], listed: Iterable[str]) -> tuple[str, bool]:
    """One line for the entry and whether it fails (an image referenced but not listed)."""
    listed = list(listed)
    missing, extra = unlisted(found, listed), unused(found, listed)
    if missing:
        line = f"{name}: referenced but not in {where} images: {', '.join(missing)}"
    elif not found:
        line = f"{name}: no images referenced"
    else:
        line = f"{name}: {len(found)} image{'' if len(found) == 1 else 's'} referenced, all listed"
    if extra:
        line += f" (listed, referenced by no manifest, maybe pulled at run time: {', '.join(extra)})"
    return line, bool(missing)


def check_cni(cni: cni_catalog.Cni) -> tuple[str, bool]:
    found: set[str] = set()
    for shaped in shaped_installs(cni):
        found |= referenced(cni_documents(shaped))
    return verdict(cni.name, shown_path(cni.path, cni.name), found, cni.install.images)


def check_addon(addon: addon_catalog.Addon) -> tuple[str, bool]:
    return verdict(addon.name, shown_path(addon.path, addon.name), referenced(addon_documents(addon)), addon.images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnimatrix.images refs", description=__doc__.split("\n\n")[0],
                                     epilog="exit 0: every referenced image is listed; 1: one is not (or, with --strict, "
                                            "an entry could not be rendered); 2: bad input")
    parser.add_argument("--cni", action="append", default=[], help="check this CNI (repeatable; default: every CNI and add-on)")
    parser.add_argument("--addon", action="append", default=[], help="check this add-on (repeatable)")
    parser.add_argument("--strict", action="store_true", help="an entry that cannot be rendered here fails the check")
    args = parser.parse_args(argv)
    everything = not args.cni and not args.addon
    try:
        cnis = [cni_catalog.load(name) for name in (cni_catalog.known() if everything else args.cni)]
        addons = [addon_catalog.load(name) for name in (addon_catalog.known() if everything else args.addon)]
    except (cni_catalog.UnknownCni, cni_catalog.CniDataError, addon_catalog.AddonDataError) as exc:
        print(f"[images refs] {exc}", file=sys.stderr)
        return 2
    failed = skipped = False
    checks = [(c.name, c.install.source == "builtin", lambda c=c: check_cni(c)) for c in cnis]
    checks += [(a.name, False, lambda a=a: check_addon(a)) for a in addons]
    for name, builtin, check in checks:
        if builtin:  # nothing of ours to render: never a failure, even with --strict
            print(f"{name}: not checked: installed by kind from its node image (source: builtin)")
            continue
        try:
            line, bad = check()
        except NotRenderable as exc:
            print(f"{name}: skipped: {exc}")
            skipped = True
            continue
        print(line)
        failed |= bad
    return 1 if failed or (skipped and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
