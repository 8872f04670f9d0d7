"""The add-on catalog: cluster add-ons installed after the CNI (addons/<name>.yaml), as data.

An add-on says its version and images, how it is installed (files read from a pinned Go module,
optionally only some kinds of objects, and our own manifests under manifests/addons/), when it is
ready, which LoadBalancer Services must get an address, and what it provides to the suites (class
names, Services). The same versions are installed on every CNI, so differences are the CNI's.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnimatrix.cni.catalog import STATUSES, Capability
from cnimatrix.datafiles import DataParser, ReadinessRule, data_dir, file_names, listed_file

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDON_DIR = REPO_ROOT / "addons"
ADDON_DIR_ENV = "CNIMATRIX_ADDON_DIR"
DEFAULT_READY_TIMEOUT_S = 180.0

GATEWAY_API_MODULE = "sigs.k8s.io/gateway-api"
# The backend the Gateway API conformance tests use (conformance/base/manifests.yaml of v1.4.0
# names this tag): it answers every request with JSON naming its pod, path, host and headers.
# Offline it is built from conformance/echo-basic of the gateway-api module.
ECHO_IMAGE = "gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd"

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_PARAM = re.compile(r"\$\{?([a-z_][a-z0-9_]*)")


class AddonDataError(ValueError):
    """An add-on file is missing, unreadable or has an invalid field."""


@dataclass(frozen=True)
class InstallStep:
    """One thing to apply: `files` of a pinned Go module (module@version), or one of our own
    manifests (rendered with install-time parameters such as $address_pool). `kinds` keeps only
    those kinds of objects; `ready` must hold before the next step is applied."""

    module: str | None = None
    version: str | None = None
    files: tuple[str, ...] = ()
    manifest: str | None = None
    kinds: tuple[str, ...] = ()
    ready: tuple[ReadinessRule, ...] = ()

    @property
    def label(self) -> str:
        return self.manifest or f"{self.module}@{self.version}: {', '.join(Path(f).name for f in self.files)}"

    def params(self, root: Path = REPO_ROOT) -> set[str]:
        """The $placeholders our own manifest uses (none for module files, applied as released)."""
        return set(_PARAM.findall((root / self.manifest).read_text())) if self.manifest else set()


@dataclass(frozen=True)
class ServiceRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Addon:
    name: str
    description: str
    version: str
    install: tuple[InstallStep, ...]
    images: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    load_balancers: tuple[ServiceRef, ...] = ()
    provides: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, Capability] = field(default_factory=dict)   # what the add-on itself lacks, with evidence
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    path: Path | None = None

    def capability(self, name: str) -> Capability:
        return self.capabilities.get(name, Capability(status="supported", evidence="not declared otherwise"))

    @property
    def readiness(self) -> tuple[ReadinessRule, ...]:
        return tuple(rule for step in self.install for rule in step.ready)


def addon_dir() -> Path:
    return data_dir(ADDON_DIR_ENV, ADDON_DIR)


def known() -> list[str]:
    return file_names(addon_dir(), "add-on directory", ADDON_DIR_ENV, AddonDataError)


def load(name: str) -> Addon:
    return load_file(listed_file(addon_dir(), known(), name, "add-on", AddonDataError))


def load_all() -> list[Addon]:
    return [load(name) for name in known()]


def install_order(addons: list[Addon] | None = None) -> list[Addon]:
    """Every add-on after those it names in `after`; a cycle or an unknown name is a data error."""
    addons = load_all() if addons is None else addons
    by_name = {a.name: a for a in addons}
    ordered: list[Addon] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if any(a.name == name for a in ordered):
            return
        if name in visiting:
            raise AddonDataError(f"add-ons install after each other in a cycle: {' -> '.join(visiting + [name])}")
        if name not in by_name:
            raise AddonDataError(f"{visiting[-1]}: after names unknown add-on {name!r}")
        visiting.append(name)
        for before in by_name[name].after:
            visit(before)
        visiting.pop()
        ordered.append(by_name[name])

    for addon in sorted(by_name):
        visit(addon)
    return ordered


# The suites whose fixtures install the add-ons: a run without them needs none of their images
# (day2: its loadBalancerSourceRanges scenario needs MetalLB's addresses).
SUITES_WITH_ADDONS = ("ingress", "gateway", "day2")


def all_images() -> tuple[str, ...]:
    """Every image the add-ons and the Ingress/Gateway suites' backends need."""
    return tuple(sorted({tag for a in load_all() for tag in a.images} | {ECHO_IMAGE}))


def load_file(path: str | os.PathLike[str]) -> Addon:
    parser = _Parser(Path(path))
    return parser.addon(parser.read())


class _Parser(DataParser):
    _TOP = {"name", "description", "version", "images", "after", "install", "load_balancers", "provides", "capabilities",
            "ready_timeout_s"}
    _STEP = {"module", "version", "files", "manifest", "kinds", "ready"}
    error = AddonDataError
    missing_is_required = False  # add-on files say "must be a non-empty string, got None" of a missing field

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, f"must be a list of non-empty strings, got {value!r}")
        return tuple(v.strip() for v in value)

    def relative(self, value: str, where: str) -> str:
        return self.relative_path(value, where, "must be a relative path without '..'")

    def addon(self, data: Any) -> Addon:
        top = self.mapping(data, "", self._TOP)
        name = self.text(top, "name", "")
        if name != self.path.stem or not _NAME.match(name):
            raise self.fail("name", f"{name!r} must match the file name {self.path.stem!r} (lower case, digits, '-')")
        version = self.text(top, "version", "")
        steps = top.get("install")
        if not isinstance(steps, list) or not steps:
            raise self.fail("install", "must be a non-empty list of steps")
        timeout = self.ready_timeout(top.get("ready_timeout_s", DEFAULT_READY_TIMEOUT_S))
        provides = top.get("provides") or {}
        if not isinstance(provides, dict):
            raise self.fail("provides", "must be a mapping")
        return Addon(
            name=name, description=self.text(top, "description", ""), version=version,
            install=tuple(self.step(s, f"install[{i}]", version) for i, s in enumerate(steps)),
            images=self.strings(top.get("images", []), "images"),
            after=self.strings(top.get("after", []), "after"),
            load_balancers=tuple(self.service(s, f"load_balancers[{i}]") for i, s in enumerate(top.get("load_balancers") or [])),
            provides=dict(provides), capabilities=self.capabilities(top.get("capabilities") or {}),
            ready_timeout_s=timeout, path=self.path,
        )

    def capabilities(self, value: Any) -> dict[str, Capability]:
        if not isinstance(value, dict):
            raise self.fail("capabilities", "must be a mapping of name -> {status, evidence}")
        found = {}
        for name, raw in value.items():
            data = self.mapping(raw, f"capabilities.{name}", {"status", "evidence"})
            status = self.choice(data, "status", f"capabilities.{name}", STATUSES)
            found[name] = Capability(status=status, evidence=" ".join(self.text(data, "evidence", f"capabilities.{name}").split()))
        return found

    def step(self, value: Any, where: str, default_version: str) -> InstallStep:
        data = self.mapping(value, where, self._STEP)
        kinds = self.strings(data.get("kinds", []), f"{where}.kinds")
        ready = tuple(self.rule(r, f"{where}.ready[{i}]") for i, r in enumerate(data.get("ready") or []))
        if ("module" in data) == ("manifest" in data):
            raise self.fail(where, "needs exactly one of module (with files) or manifest")
        if "manifest" in data:
            for key in ("files", "version"):
                if key in data:
                    raise self.fail(f"{where}.{key}", "only applies to a module step")
            manifest = self.relative(self.text(data, "manifest", where), f"{where}.manifest")
            if not (REPO_ROOT / manifest).is_file():
                raise self.fail(f"{where}.manifest", f"{manifest} does not exist")
            return InstallStep(manifest=manifest, kinds=kinds, ready=ready)
        files = self.strings(data.get("files"), f"{where}.files") if "files" in data else ()
        if not files:
            raise self.fail(f"{where}.files", "a module step must list the files to apply")
        version = self.text(data, "version", where) if "version" in data else default_version
        return InstallStep(module=self.text(data, "module", where), version=version,
                           files=tuple(self.relative(f, f"{where}.files") for f in files), kinds=kinds, ready=ready)

    def service(self, value: Any, where: str) -> ServiceRef:
        data = self.mapping(value, where, {"namespace", "name"})
        return ServiceRef(self.text(data, "namespace", where), self.text(data, "name", where))
