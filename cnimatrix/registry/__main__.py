"""`python -m cnimatrix.registry`: fill the local registry with every image built here, or say
what it holds (`make registry`). Runs push what they need themselves; this makes the registry hold
every CNI's and add-on's image at once, e.g. before going offline or for a kind cluster of your own."""
from __future__ import annotations

import argparse
import sys

from cnimatrix import cni as cni_catalog
from cnimatrix.preflight import missing_images
from cnimatrix.addons import catalog as addon_catalog
from cnimatrix.registry import local


def catalog_images() -> list[str]:
    """Every image a CNI or add-on of the catalogs names (the images pulled at pod start)."""
    return sorted({tag for c in cni_catalog.load_all() for tag in c.install.images} | set(addon_catalog.all_images()))


def built_here(images: list[str]) -> tuple[list[str], list[str]]:
    """(images on this host, images not built here)."""
    absent = missing_images(images)
    return [i for i in images if i not in absent], absent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="cnimatrix.registry", description=__doc__)
    parser.add_argument("command", choices=("push", "status"), help="push: every image built here; status: what the registry holds")
    args = parser.parse_args(argv)
    present, absent = built_here(catalog_images())
    try:
        print(f"[registry] {local.ensure('kind')}")
        if args.command == "push":
            local.push(present, say=lambda line: print(f"[registry] {line}"))
        for image in present:
            held = local.held_config(image)
            state = "held" if held == local.local_id(image) else "held, older than the local image" if held else "not held"
            print(f"[registry]   {image:60} {state}")
    except local.RegistryError as exc:
        print(f"[registry] {exc}", file=sys.stderr)
        return 1
    finally:
        stopped = local.stop_if_unused("kind")   # nothing stays running unless a cluster uses it
        if stopped:
            print(f"[registry] {stopped}")
    for image in absent:
        print(f"[registry]   {image:60} not built here (make images CNI=...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
