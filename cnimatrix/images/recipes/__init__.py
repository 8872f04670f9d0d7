"""What `make images` builds: one recipe module per component, each giving its build steps.

A cluster's steps are chosen from the images its catalog entries list (cnis/*.yaml, addons/*.yaml):
`steps_for` takes the steps making those images, plus kind and the node image, with everything
they need. A new component is a module here with a `steps()` function, added to RECIPES.
"""
from __future__ import annotations

from cnimatrix.images.build import Step
from cnimatrix.images.recipes import (addons, agnhost, calico, calico_bpf, cilium, flannel, kube_router, kubernetes, local_path,
                                      node, registry)

RECIPES = (node, kubernetes, agnhost, local_path, flannel, kube_router, calico_bpf, calico, cilium, addons, registry)


def in_dependency_order(steps: list[Step]) -> list[Step]:
    """The steps, each after the steps it needs (otherwise in the order given): build keys and
    builds rely on it. Raises ValueError naming a step whose needs no step before it can meet."""
    ordered: list[Step] = []
    done: set[str] = set()
    pending = list(steps)
    while pending:
        ready = next((s for s in pending if set(s.needs) <= done), None)
        if ready is None:
            names = {s.name for s in steps}
            blocked = pending[0]
            missing = sorted(set(blocked.needs) - names)
            raise ValueError(f"step {blocked.name} needs " + (f"{', '.join(missing)}, which no recipe makes" if missing
                                                               else f"{', '.join(sorted(set(blocked.needs) - done))} in a circle"))
        ordered.append(ready)
        done.add(ready.name)
        pending.remove(ready)
    return ordered


def all_steps() -> list[Step]:
    """Every step, in dependency order."""
    return in_dependency_order([step for recipe in RECIPES for step in recipe.steps()])


def steps_for(steps: list[Step], images: list[str]) -> set[str]:
    """Names of the steps a cluster needs: kind itself, the node image's, plus those making
    `images` (a CNI's), each with everything it needs. Raises KeyError naming an image no step makes."""
    by_name = {s.name: s for s in steps}
    maker = {tag: s.name for s in steps for tag in s.images}
    unknown = [tag for tag in images if tag not in maker]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted, todo = set(), ["kind", "node-image", *(maker[tag] for tag in images)]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(by_name[name].needs)
    return wanted
