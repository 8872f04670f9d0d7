"""Images into kind nodes (offline: nothing can pull them), skipping what a node already holds.

A node holds an image when its containerd has the same name with the same content (image ID, the
config digest Docker and the CRI both report), so an image rebuilt under the same tag is loaded
again. Nodes missing the same images share one `docker save`; every node imports at once.
"""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class ImageLoadError(RuntimeError):
    """An image could not be saved or imported into a node."""


DOCKER_HUB_HOSTS = ("docker.io/", "index.docker.io/")


def canonical(ref: str) -> str:
    """A reference as containerd names it: docker.io/ added to a name without a registry host,
    library/ to a one-part Docker Hub name (also when written docker.io/traefik), :latest to a name
    without a tag or digest."""
    name, at, digest = ref.partition("@")
    hub = next((h for h in DOCKER_HUB_HOSTS if name.startswith(h)), "")
    name = name[len(hub):]  # spelled out or not, a Docker Hub name is normalised the same way
    first, slash, _ = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name if slash else 'library/' + name}"
    if not at and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name + (at + digest if at else "")


def missing(wanted: Mapping[str, str], present: Iterable[tuple[str, str]]) -> list[str]:
    """The wanted images (reference -> image ID) a node lacks, given what it holds as (reference, ID)."""
    held = {(canonical(ref), image_id) for ref, image_id in present}
    return [ref for ref, image_id in wanted.items() if (canonical(ref), image_id) not in held]


def parse_crictl(text: str) -> set[tuple[str, str]]:
    """(reference, image ID) pairs from `crictl images -o json`."""
    pairs = set()
    for image in json.loads(text or "{}").get("images") or []:
        for tag in image.get("repoTags") or []:
            pairs.add((tag, image.get("id", "")))
    return pairs


def local_ids(images: list[str]) -> dict[str, str]:
    """Reference -> Docker image ID for the images to load (they must exist locally)."""
    proc = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", *images], capture_output=True, text=True)
    ids = proc.stdout.split()
    if proc.returncode != 0 or len(ids) != len(images):
        raise ImageLoadError(f"docker image inspect {' '.join(images)} failed: {proc.stderr.strip()[:300]} (run `make images`)")
    return dict(zip(images, ids))


def held_by(node: str) -> set[tuple[str, str]]:
    """What a node's containerd holds; an unreadable list counts as nothing held (all are loaded)."""
    proc = subprocess.run(["docker", "exec", node, "crictl", "images", "-o", "json"], capture_output=True, text=True)
    if proc.returncode != 0:
        return set()
    try:
        return parse_crictl(proc.stdout)
    except ValueError:
        return set()


def plan(wanted: Mapping[str, str], held: Mapping[str, set[tuple[str, str]]]) -> dict[tuple[str, ...], list[str]]:
    """Images to save -> the nodes that need exactly those; nodes holding every image are left out."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for node, present in held.items():
        lacking = tuple(missing(wanted, present))
        if lacking:
            groups.setdefault(lacking, []).append(node)
    return groups


def load(nodes: list[str], images: list[str], workdir: Path, say=print) -> float:
    """Load `images` into every node that lacks them. Returns the seconds taken."""
    if not images or not nodes:
        return 0.0
    started = time.monotonic()
    wanted = local_ids(images)
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        held = dict(zip(nodes, pool.map(held_by, nodes)))
    groups = plan(wanted, held)
    skipped = len(images) * len(nodes) - sum(len(refs) * len(group) for refs, group in groups.items())
    if not groups:
        say(f"all {len(images)} image(s) already on the {len(nodes)} nodes: nothing to load")
        return round(time.monotonic() - started, 1)
    failures: list[str] = []
    for index, (refs, group) in enumerate(groups.items()):
        say(f"loading {len(refs)} image(s) into {len(group)} node(s): {', '.join(refs)}"
            + (f" ({skipped} node image(s) already there)" if skipped else ""))
        archive = workdir / f"images-{index}.tar"
        saved = subprocess.run(["docker", "save", "-o", str(archive), *refs], capture_output=True, text=True)
        if saved.returncode != 0:
            raise ImageLoadError(f"docker save {' '.join(refs)} failed: {saved.stderr.strip()[:300]} (run `make images`)")
        try:
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                failures += [f for f in pool.map(lambda node: import_into(node, archive), group) if f]
        finally:
            archive.unlink(missing_ok=True)
    if failures:
        raise ImageLoadError("image import failed on " + "; ".join(failures))
    took = round(time.monotonic() - started, 1)
    say(f"images loaded in {took}s")
    return took


def import_into(node: str, archive: Path) -> str:
    """Import an archive into a node's containerd; '' on success, else what went wrong."""
    with archive.open("rb") as stream:
        proc = subprocess.run(["docker", "exec", "-i", node, "ctr", "--namespace=k8s.io", "images", "import",
                               "--all-platforms", "--digests", "--snapshotter=overlayfs", "-"],
                              stdin=stream, capture_output=True, text=True)
    return "" if proc.returncode == 0 else f"{node}: {proc.stderr.strip()[:300]}"
