"""`python -m cnimatrix.images`: build every image a kind cluster needs here (see recipes/)."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from cnimatrix import cni as cni_catalog
from cnimatrix import mode
from cnimatrix.addons import catalog as addon_catalog
from cnimatrix.results.suites import RUN_ORDER
from cnimatrix.images.build import STATE, StepFailed, compute_keys, fail, is_fresh, run_steps
from cnimatrix.images.recipes import all_steps, steps_for
from cnimatrix.images.recipes.registry import REGISTRY_IMAGE
from cnimatrix.registry.pull_path import local_registry_wanted

MIN_FREE_GIB = 15
# Steps that make tools, not images: needed online too (kind at the pinned version, whose default
# node image is the Kubernetes the reports name; Helm renders a chart).
ONLINE_TOOLS = ("kind", "helm")


def image_sizes(steps) -> list[tuple[str, str]]:
    rows = []
    for step in steps:
        for tag in step.images:
            out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True, text=True).stdout.strip()
            rows.append((tag, f"{int(out) / 1e6:.0f} MB" if out else "missing"))
    return rows


class NotBuildable(ValueError):
    pass


def cni_steps(steps, names: list[str], suites: list[str] | None = None) -> set[str]:
    """The steps the named CNIs' clusters need for `suites` (default: every suite); 'all' means
    every CNI whose images build here."""
    with_addons = not suites or any(s in addon_catalog.SUITES_WITH_ADDONS for s in suites)
    if "all" in names:
        names = [c.name for c in cni_catalog.load_all() if c.offline_reason is None]
    wanted: set[str] = set()
    for name in names:
        cni = cni_catalog.load(name)
        if cni.offline_reason is not None:
            raise NotBuildable(f"{cni.name}'s images cannot be built on this host: {cni.offline_reason}")
        try:
            # The Ingress and Gateway suites install the add-ons (addons/*.yaml) after the CNI.
            # Offline runs pull from the local registry unless told to import (IMAGES_VIA) or use a mirror.
            registry = [REGISTRY_IMAGE] if local_registry_wanted() else []
            wanted |= steps_for(steps, list(cni.install.images) + (list(addon_catalog.all_images()) if with_addons else []) + registry)
        except KeyError as exc:
            raise NotBuildable(f"{cni.name} lists images no build step makes: {exc.args[0]}") from None
    return wanted


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["refs"]:
        # Imported here: the check reads the cluster and add-on modules (the Kubernetes client), a build does not.
        from cnimatrix.images import refs

        return refs.main(argv[1:])
    parser = argparse.ArgumentParser(prog="cnimatrix.images", description=__doc__,
                                     epilog="`python -m cnimatrix.images refs --help`: check that every image the "
                                            "CNIs' and add-ons' manifests pull is in their catalog entry")
    parser.add_argument("--cni", action="append",
                        help="build what a cluster with this CNI needs (repeatable; 'all' = every CNI buildable here; "
                             "default: every step)")
    parser.add_argument("--suite", action="append", choices=RUN_ORDER,
                        help="with --cni: only what these suites need (repeatable; default: every suite)")
    parser.add_argument("--only", action="append", help="build only this step (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.add_argument("--force", action="store_true", help="build even when registries are reachable")
    args = parser.parse_args(argv)
    steps = all_steps()
    if args.list:
        for step in steps:
            print(f"{step.name:22} {step.title}")
        return 0
    names = {s.name for s in steps}
    unknown = set(args.only or ()) - names
    if unknown:
        return fail(f"unknown step(s) {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in steps)}")
    try:
        wanted = set(args.only) if args.only else cni_steps(steps, args.cni, args.suite) if args.cni else None
    except (cni_catalog.UnknownCni, cni_catalog.CniDataError, NotBuildable) as exc:
        print(f"[images] {exc}", file=sys.stderr)
        return 2
    try:
        is_offline, why = mode.offline()
    except mode.BadSetting as exc:
        return fail(str(exc))
    if not is_offline and not args.force:
        # Online the official images are pulled, but tools the run needs still come from their Go modules.
        tools = {name for name in ONLINE_TOOLS if wanted is None or name in wanted}
        if not tools or not shutil.which("go"):
            print(f"[images] online ({why}): official images are used, nothing to build (OFFLINE=1 builds anyway)")
            return 0
        print(f"[images] online ({why}): official images are used; building {', '.join(sorted(tools))} from Go modules")
        try:
            run_steps(steps, tools)
        except StepFailed as exc:
            return fail(str(exc))
        return 0
    for tool in ("docker", "go", "debootstrap", "gcc"):
        if not shutil.which(tool):
            return fail(f"{tool} not found: run `make setup` first")
    STATE.mkdir(parents=True, exist_ok=True)
    free_gib = shutil.disk_usage(STATE).free / 2**30
    # Only a build needs the room: with every wanted step up to date there is nothing to write.
    compute_keys(steps)
    stale = [s.name for s in steps if (wanted is None or s.name in wanted) and not is_fresh(s)]
    if stale and free_gib < MIN_FREE_GIB:
        return fail(f"only {free_gib:.1f} GiB free at {STATE}; a cold build needs about {MIN_FREE_GIB} GiB "
                    "(Go caches, root file systems, images)")
    print(f"[images] offline ({why}): building from Go modules and Debian packages")
    started = time.monotonic()
    try:
        timings = run_steps(steps, wanted)
    except StepFailed as exc:
        return fail(str(exc))
    print(f"[images] all images ready in {time.monotonic() - started:.0f}s ({len(timings)} steps rebuilt)")
    for tag, size in image_sizes([s for s in steps if wanted is None or s.name in wanted]):
        print(f"[images]   {tag:60} {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
