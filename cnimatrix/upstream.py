"""Upstream sources read from pinned Go modules: manifests and build inputs, never a copy checked in.

`go mod download` fetches a module version into Go's module cache (the proxy's checksum
database vouches for it), so the same bytes serve the image build offline and the CNI install
online or offline.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}


class UpstreamError(RuntimeError):
    """A pinned module could not be fetched or lacks the file asked for."""


def go_binary() -> str:
    found = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go", os.path.expanduser("~/go/bin/go"))
                                        if os.access(p, os.X_OK)), None)
    if not found:
        raise UpstreamError("go not found: run `make setup` (it installs Go)")
    return found


def module_dir(module: str, version: str) -> Path:
    """The extracted module in Go's cache (downloaded on first use)."""
    return Path(_download(module, version)["Dir"])


def module_time(module: str, version: str) -> str:
    """When the proxy says this version was published (RFC 3339), e.g. to stamp a build."""
    info = _download(module, version)
    try:
        return json.loads(Path(info["Info"]).read_text()).get("Time") or "unknown"
    except (KeyError, OSError, ValueError):
        return "unknown"


def _download(module: str, version: str) -> dict:
    proc = subprocess.run([go_binary(), "mod", "download", "-json", f"{module}@{version}"],
                          capture_output=True, text=True, env={**os.environ, **GO_ENV})
    try:
        info = json.loads(proc.stdout)
    except json.JSONDecodeError:
        info = {"Error": (proc.stderr or proc.stdout).strip()[:300]}
    if info.get("Error") or not info.get("Dir"):
        raise UpstreamError(f"cannot fetch {module}@{version}: {info.get('Error') or 'no directory reported'}")
    return info


def module_file(module: str, version: str, path: str) -> Path:
    """One file of a pinned module, e.g. a release manifest."""
    found = module_dir(module, version) / path
    if not found.is_file():
        raise UpstreamError(f"{module}@{version} has no file {path}")
    return found


_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+(\S+)(?:\s+(\S+))?\s*$")


def replaces(go_mod: str) -> dict[str, str]:
    """The replace directives of a go.mod as {module: "target version" or "./local/path"}.

    A wrapper module must repeat them, because Go applies replaces only from the main module."""
    found: dict[str, str] = {}
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].rstrip()
        if line.strip() == "replace (":
            in_block = True
            continue
        if in_block and line.strip() == ")":
            in_block = False
            continue
        if in_block or line.lstrip().startswith("replace "):
            match = _REPLACE.match(line)
            if match:
                module, target, version = match.groups()
                found[module] = f"{target} {version}" if version else target
    return found
