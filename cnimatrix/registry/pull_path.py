"""How a run's nodes get the images that are not in the node image, decided once per run:

  registry  offline (default): the local registry (local.py) holds them; nodes pull through mirrors
  mirror    REGISTRY_MIRROR is set: the user's mirror(s) hold them; nodes pull through it, online or off
  import    offline with IMAGES_VIA=import: `docker save | ctr import` into each node (node_images.py)
  upstream  online: nodes pull the official images from their registries
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cnimatrix.registry import local
from cnimatrix.registry.mirrors import Mirror, MirrorError, local_mirrors, parse, with_mirrors, write_hosts

VIA_CHOICES = ("registry", "import")


@dataclass
class PullPath:
    via: str
    mirrors: dict[str, Mirror] = field(default_factory=dict)

    @property
    def pulls(self) -> bool:
        """Nodes pull through mirrors (the local registry or the user's)."""
        return self.via in ("registry", "mirror")

    def describe(self) -> str:
        if self.via == "registry":
            return f"pulled from the local registry {local.IN_NETWORK} ({', '.join(sorted(self.mirrors))} mirrored)"
        if self.via == "mirror":
            return "pulled through " + "; ".join(m.describe() for m in self.mirrors.values())
        return {"import": "imported into each node (docker save | ctr import)", "upstream": "pulled from the official registries"}[self.via]

    def kind_config(self, config: dict, folder: Path) -> dict:
        """The kind config with the mirrors' hosts.toml files (written under `folder`) mounted."""
        if not self.pulls:
            return config
        return with_mirrors(config, write_hosts(self.mirrors, folder / "certs.d"))


def setting_problem(env=os.environ) -> str | None:
    """REGISTRY_MIRROR / IMAGES_VIA values that cannot be used: one line, or None."""
    via = env.get("IMAGES_VIA", "").strip()
    if via and via not in VIA_CHOICES:
        return f"IMAGES_VIA must be {' or '.join(VIA_CHOICES)}, not {via!r}"
    spec = env.get("REGISTRY_MIRROR", "").strip()
    if spec:
        try:
            parse(spec)
        except MirrorError as exc:
            return str(exc)
        if via:
            return "IMAGES_VIA picks how offline runs get images; with REGISTRY_MIRROR the nodes pull from that mirror: set one of them"
    return None


def local_registry_wanted(env=os.environ) -> bool:
    """An offline run with these settings pulls from the local registry (so its image must exist)."""
    return not env.get("REGISTRY_MIRROR", "").strip() and env.get("IMAGES_VIA", "").strip() != "import"


def choose(offline: bool, images: list[str], env=os.environ) -> PullPath:
    """The run's pull path; `images` are those the registry must stand in for (the CNI's, the
    add-ons', the suites')."""
    problem = setting_problem(env)
    if problem:
        raise MirrorError(problem)
    spec = env.get("REGISTRY_MIRROR", "").strip()
    if spec:
        return PullPath("mirror", parse(spec))
    if not offline:
        return PullPath("upstream")
    if not local_registry_wanted(env):
        return PullPath("import")
    return PullPath("registry", local_mirrors(images, local.IN_NETWORK))
