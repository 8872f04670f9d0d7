"""Registry mirrors as data: parsed from REGISTRY_MIRROR, written as containerd hosts.toml files
that a kind config mounts into every node.

Grammar (REGISTRY_MIRROR / --registry-mirror): comma-separated entries, each either
  MIRROR                 every registry pulls through MIRROR (containerd's _default host)
  REGISTRY=MIRROR        only that registry (docker.io, quay.io, ghcr.io, registry.k8s.io, ...)
where MIRROR is [http://|https://]host[:port][/path] (https unless http:// is written). A path
makes the mirror serve that registry's repositories under it (a Harbor or Artifactory proxy
project): nodes then ask for <mirror>/v2/<path>/<repository>/... instead of <mirror>/v2/<repository>.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cnimatrix.cluster.node_images import canonical

CERTS_D = "/etc/containerd/certs.d"   # where containerd looks once config_path names it
DEFAULT_HOST = "_default"             # containerd's hosts.toml for every registry without its own
# kind's own node images set config_path; the patch makes the project's node image do the same.
CONFIG_PATH_PATCH = f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_D}"\n'
UPSTREAM_SERVERS = {"docker.io": "https://registry-1.docker.io"}   # the rest serve at https://<host>

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?$")
_PATH = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")


class MirrorError(ValueError):
    """A REGISTRY_MIRROR value that cannot be understood."""


@dataclass(frozen=True)
class Mirror:
    registry: str      # the registry it stands in for, or _default
    scheme: str        # http or https
    host: str          # host[:port]
    path: str = ""     # repositories live under /v2/<path>/ when set

    @property
    def endpoint(self) -> str:
        """The URL containerd is given; with a path it is the full API root (override_path)."""
        return f"{self.scheme}://{self.host}" + (f"/v2/{self.path}" if self.path else "")

    def describe(self) -> str:
        return f"{self.registry} -> {self.endpoint}"


def parse_one(registry: str, text: str) -> Mirror:
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "https", text
    if scheme not in ("http", "https"):
        raise MirrorError(f"mirror {text!r}: scheme must be http:// or https://")
    host, _, path = rest.partition("/")
    path = path.strip("/")
    if not _HOST.match(host):
        raise MirrorError(f"mirror {text!r}: {host!r} is not a host[:port]")
    if path.startswith("v2/") or path == "v2":
        raise MirrorError(f"mirror {text!r}: leave out /v2 (it is added), give the path under it")
    if path and not _PATH.match(path):
        raise MirrorError(f"mirror {text!r}: {path!r} is not a repository path (lower-case letters, digits, . _ - /)")
    return Mirror(registry, scheme, host, path)


def parse(spec: str) -> dict[str, Mirror]:
    """REGISTRY_MIRROR's value -> {registry or _default: Mirror}. MirrorError on anything unclear."""
    mirrors: dict[str, Mirror] = {}
    entries = [e.strip() for e in spec.split(",")]
    if not spec.strip() or not all(entries):
        raise MirrorError(f"REGISTRY_MIRROR {spec!r}: an empty entry (expected host:port or registry=host:port, comma-separated)")
    for entry in entries:
        registry, eq, target = entry.partition("=")
        if not eq:
            registry, target = DEFAULT_HOST, entry
        registry = registry.strip()
        if registry != DEFAULT_HOST and not _HOST.match(registry):
            raise MirrorError(f"REGISTRY_MIRROR entry {entry!r}: {registry!r} is not a registry host")
        if registry in mirrors:
            raise MirrorError(f"REGISTRY_MIRROR names {'a mirror for every registry' if registry == DEFAULT_HOST else registry} twice")
        mirrors[registry] = parse_one(registry, target.strip())
    return mirrors


def registry_of(image: str) -> str:
    """The registry host an image reference pulls from (docker.io for short names)."""
    return canonical(image).split("/", 1)[0]


def local_mirrors(images: list[str], host: str) -> dict[str, Mirror]:
    """The local registry standing in for every registry `images` come from, each under its own
    path (the registry host's name), so that equal repository names of two hosts never meet."""
    return {reg: Mirror(reg, "http", host, reg) for reg in sorted({registry_of(i) for i in images})}


def hosts_toml(mirror: Mirror) -> str:
    """containerd's hosts.toml for one registry: try the mirror first (pull and resolve only)."""
    lines = []
    if mirror.registry != DEFAULT_HOST:
        lines.append(f'server = "{UPSTREAM_SERVERS.get(mirror.registry, "https://" + mirror.registry)}"\n')
    lines.append(f'[host."{mirror.endpoint}"]\n  capabilities = ["pull", "resolve"]\n')
    if mirror.path:
        lines.append("  override_path = true\n")
    return "".join(lines)


def write_hosts(mirrors: dict[str, Mirror], folder: Path) -> Path:
    """One <registry>/hosts.toml per mirror under `folder` (emptied first); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*/hosts.toml"):
        old.unlink()
    for registry, mirror in mirrors.items():
        (folder / registry).mkdir(exist_ok=True)
        (folder / registry / "hosts.toml").write_text(hosts_toml(mirror))
    return folder


def with_mirrors(kind_config: dict, certs_dir: Path) -> dict:
    """A copy of a kind config whose nodes read registry mirrors from `certs_dir` (mounted
    read-only at containerd's certs.d) with containerd told to look there."""
    config = dict(kind_config)
    config["containerdConfigPatches"] = [*kind_config.get("containerdConfigPatches", []), CONFIG_PATH_PATCH]
    def mount() -> dict:
        return {"hostPath": str(certs_dir.resolve()), "containerPath": CERTS_D, "readOnly": True}
    config["nodes"] = [{**node, "extraMounts": [*node.get("extraMounts", []), mount()]} for node in kind_config.get("nodes", [])]
    return config


def readable_yaml(document: dict) -> str:
    """YAML a person can read and edit: multi-line strings as literal blocks, no anchors."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    def text(dumper, data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)

    Dumper.add_representer(str, text)
    return yaml.dump(document, Dumper=Dumper, sort_keys=False)
