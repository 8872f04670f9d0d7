"""The CNI catalog: one YAML file per CNI under cnis/, loaded into frozen dataclasses.

A CNI is data, not code: adding one means writing a YAML file that says how to
install it, when it is ready and what it claims to support (with evidence), so
skips and expectations in the suites trace back to a reviewed declaration.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnimatrix.cni import shapes as shaping
from cnimatrix.cni import patches
from cnimatrix.cni.patches import ManifestPatch
from cnimatrix.datafiles import DataParser, ReadinessRule, data_dir, file_names, listed_file

REPO_ROOT = Path(__file__).resolve().parents[2]
CNI_DIR = REPO_ROOT / "cnis"
CNI_DIR_ENV = "CNIMATRIX_CNI_DIR"

STATUSES = ("supported", "enforced", "unsupported", "not-enforced", "unknown")
SUPPORTED_STATUSES = ("supported", "enforced")
UNSUPPORTED_HERE = "unsupported-here"
SOURCES = ("builtin", "manifest", "module", "helm")
DEFAULT_READY_TIMEOUT_S = 180.0

_CAPABILITY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_KERNEL_SYMBOL = re.compile(r"^CONFIG_[A-Z0-9_]+$")

__all__ = [
    "CNI_DIR",
    "CNI_DIR_ENV",
    "REPO_ROOT",
    "STATUSES",
    "UNSUPPORTED_HERE",
    "Capability",
    "Cni",
    "Diagnostic",
    "HostNeeds",
    "CniDataError",
    "IpamCount",
    "KnownIssue",
    "Install",
    "ReadinessRule",
    "UnknownCni",
    "cni_dir",
    "effective",
    "known",
    "load",
    "load_all",
    "nightly",
    "load_file",
    "merge_kind_config",
    "Shape",
    "ShapeRefused",
]

Shape, ShapeRefused = shaping.Shape, shaping.ShapeRefused
# Deep merge, as kind fragments (and a shape's chart values) combine: mappings merge, the rest replaces.
merge_kind_config = shaping.deep_merge


class CniDataError(ValueError):
    """A CNI file is missing, unreadable or has an invalid field."""


class UnknownCni(LookupError):
    """The requested CNI has no file in the catalog."""


@dataclass(frozen=True)
class Capability:
    """What a CNI declares about one feature, and why we believe it."""

    status: str
    evidence: str
    requires_kernel: tuple[str, ...] = ()

    @property
    def is_supported(self) -> bool:
        return self.status in SUPPORTED_STATUSES


@dataclass(frozen=True)
class Diagnostic:
    """A command run in every pod matching `selector` when the CNI never becomes ready (or a run
    fails); each pod's output is kept as diagnostics/<name>-<pod>.txt."""

    name: str
    namespace: str
    selector: str
    container: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class IpamCount:
    """How many pod addresses the CNI's IPAM holds on one node, by its own accounting: a shell
    command that prints one number, run in the node's container (where=node) or on this host
    with $kubectl and $node filled in (where=host). The podnet suite reads it before and after
    a batch of pods comes and goes, to tell a leak. refresh_s: how old a reading can be, where the
    CNI answers from a cache it refreshes on a timer (a steady reading must span longer)."""

    where: str
    command: str
    evidence: str
    refresh_s: float = 0


@dataclass(frozen=True)
class KnownIssue:
    """An upstream bug report that explains some scenarios' failures on this CNI. It annotates a
    failure (the reports link it); it never turns one into a pass or a declared gap."""

    issue: str                   # the upstream report's https URL
    summary: str
    scenarios: tuple[str, ...]   # pytest names, e.g. test_policy_case[update-policy-types]


@dataclass(frozen=True)
class HostNeeds:
    """What the CNI, as cnimatrix deploys it, needs from the host kernel (read by `make doctor`).

    ``requires_kernel``: without any of these the CNI does not run.
    ``limits``: without these it runs but loses what a suite tests ({symbol: what is lost}).
    ``variants``: without these only an optional mode is unavailable ({symbol: the mode}).
    """

    requires_kernel: tuple[str, ...] = ()
    limits: dict[str, str] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)
    mode: str = ""


@dataclass(frozen=True)
class Install:
    """How the CNI gets onto the cluster and which images that needs.

    source=manifest applies files of this repository; source=module applies files read from a
    pinned Go module (`module`@`version`), so upstream manifests are used as released;
    source=helm renders the chart at `chart` inside that module with `values`."""

    source: str
    manifests: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    module: str | None = None  # module and helm
    version: str | None = None  # module and helm
    chart: str | None = None  # helm only: chart folder inside the module
    chart_namespace: str = "kube-system"  # helm only
    values: dict[str, Any] = field(default_factory=dict)  # helm only
    manifest_patches: tuple[ManifestPatch, ...] = ()  # a shape's changes to the manifests (manifest and module)

    def manifest_paths(self, root: Path = REPO_ROOT) -> list[Path]:
        """Manifests in apply order: in the pinned module (fetched on first use) for
        source=module, else under the repo root."""
        if self.source == "module":
            from cnimatrix import upstream

            return [upstream.module_file(self.module, self.version, m) for m in self.manifests]
        return [root / m for m in self.manifests]

    def chart_dir(self) -> Path:
        """The chart folder in the pinned module (fetched on first use)."""
        from cnimatrix import upstream

        found = upstream.module_dir(self.module, self.version) / self.chart
        if not (found / "Chart.yaml").is_file():
            raise upstream.UpstreamError(f"{self.module}@{self.version} has no chart at {self.chart}")
        return found


@dataclass(frozen=True)
class Cni:
    """One catalog entry, validated."""

    name: str
    description: str
    version: str
    install: Install
    readiness: tuple[ReadinessRule, ...]
    capabilities: dict[str, Capability]
    kind_config: dict[str, Any] = field(default_factory=dict)
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    host: HostNeeds = field(default_factory=HostNeeds)
    offline_reason: str | None = None  # why its images cannot be built without registries, if so
    diagnostics: tuple[Diagnostic, ...] = ()
    nightly: bool = False  # run by the scheduled CI matrix (.github/workflows/nightly.yml)
    ipam_count: IpamCount | None = None  # None: the CNI exposes no accounting; addresses seen are counted
    known_issues: tuple[KnownIssue, ...] = ()
    shapes: shaping.Declarations | None = None  # None: a file without `shapes:` runs the default shape only
    path: Path | None = None

    def known_issue(self, scenario: str) -> KnownIssue | None:
        """The upstream report that lists this scenario (a pytest name), if any."""
        return next((k for k in self.known_issues if scenario in k.scenarios), None)

    def capability(self, name: str) -> Capability:
        """The declared capability, or an explicit "unknown" when the file says nothing."""
        return self.capabilities.get(name, Capability(status="unknown", evidence="not declared"))

    def kind_cluster_config(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """The kind Cluster config for this CNI: `base` with this entry's fragment merged in."""
        return merge_kind_config(base, self.kind_config)

    def shaped(self, asked: Shape) -> tuple[Cni, shaping.Resolved]:
        """This entry as a run in the `asked` shape installs it (the shape's kind config, chart values and
        manifest patches merged in), and the shape that run records; ShapeRefused when it does not run so."""
        shown = self.path.relative_to(REPO_ROOT) if self.path and self.path.is_relative_to(REPO_ROOT) else self.path
        resolved = shaping.resolve(self.name, self.shapes, asked, str(shown or self.name))
        change = resolved.changes
        install = replace(self.install, values=merge_kind_config(self.install.values, change.chart_values),
                          manifest_patches=self.install.manifest_patches + change.manifest_patches)
        return replace(self, kind_config=merge_kind_config(self.kind_config, change.kind_config), install=install), resolved


# --------------------------------------------------------------------------- lookup


def cni_dir() -> Path:
    """Catalog directory; CNIMATRIX_CNI_DIR wins so users can test their own entries."""
    return data_dir(CNI_DIR_ENV, CNI_DIR)


def known() -> list[str]:
    """Sorted names of every CNI in the catalog."""
    return file_names(cni_dir(), "CNI catalog directory", CNI_DIR_ENV, CniDataError)


def load(name: str) -> Cni:
    """Load and validate the catalog entry `name`."""
    return load_file(listed_file(cni_dir(), known(), name, "CNI", UnknownCni))


def load_all() -> list[Cni]:
    """Every catalog entry, sorted by name."""
    return [load(name) for name in known()]


def nightly() -> list[str]:
    """The CNIs the nightly CI matrix runs, sorted (`make nightly-matrix` prints them)."""
    return [cni.name for cni in load_all() if cni.nightly]


def load_file(path: str | os.PathLike[str]) -> Cni:
    """Parse one CNI file; every problem is reported as CniDataError naming file and field."""
    parser = _Parser(Path(path))
    return parser.cni(parser.read())


# --------------------------------------------------------------------------- behaviour


def effective(cap: Capability, kernel_features: Mapping[str, bool]) -> tuple[str, str]:
    """The status that applies on this host, and why.

    A supported capability whose required kernel symbols are known to be absent
    cannot work here, whatever the CNI claims; symbols absent from
    `kernel_features` are treated as unknown and do not downgrade the claim.
    """
    lacking = [sym for sym in cap.requires_kernel if kernel_features.get(sym) is False]
    if lacking and cap.is_supported:
        return UNSUPPORTED_HERE, (
            f"declared {cap.status}, but this host's kernel lacks {', '.join(lacking)}"
        )
    return cap.status, cap.evidence


# --------------------------------------------------------------------------- validation


class _Parser(DataParser):
    """Turns raw YAML into dataclasses, prefixing every error with the file and field path."""

    error = CniDataError

    _TOP_KEYS = {
        "name", "description", "version", "kind_config", "install",
        "readiness", "ready_timeout_s", "capabilities", "host", "offline", "diagnostics", "nightly", "ipam_count",
        "known_issues", "shapes",
    }
    _KNOWN_ISSUE_KEYS = {"issue", "summary", "scenarios"}
    _IPAM_COUNT_KEYS = {"node", "host", "evidence", "refresh_s"}
    _DIAGNOSTIC_KEYS = {"name", "namespace", "selector", "container", "command"}
    _INSTALL_KEYS = {"source", "manifests", "images", "chart", "namespace", "values", "module", "version", "manifest_patches"}
    _HOST_KEYS = {"requires_kernel", "limits", "variants", "mode"}
    _OFFLINE_KEYS = {"buildable", "reason"}
    _CAPABILITY_KEYS = {"status", "evidence", "requires_kernel"}

    def mapping(self, value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
        for key in value if isinstance(value, dict) else ():
            if not isinstance(key, str):
                raise self.fail(where or "(top level)", f"keys must be strings, got {key!r}")
        return super().mapping(value, where, allowed)

    def flag(self, data: Mapping[str, Any], key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(self.key_path(where, key), f"must be true or false, got {value!r}")
        return value

    def strings(self, value: Any, where: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list, got {type(value).__name__}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{where}[{i}]", f"must be a non-empty string, got {item!r}")
            if pattern is not None and not pattern.match(item):
                raise self.fail(f"{where}[{i}]", f"{item!r} does not match {pattern.pattern}")
        return tuple(item.strip() for item in value)

    def repo_path(self, value: str, where: str) -> str:
        # Paths must stay inside the repo so a catalog entry cannot reach elsewhere on the host.
        return self.relative_path(value, where, "must be a path relative to the repo root")

    def cni(self, data: Any) -> Cni:
        top = self.mapping(data, "", self._TOP_KEYS)
        name = self.text(top, "name", "")
        if name != self.path.stem:
            raise self.fail("name", f"{name!r} must match the file name {self.path.stem!r}")
        kind_config = top.get("kind_config", {})
        if kind_config is None:
            kind_config = {}
        kind_config = copy.deepcopy(self.mapping(kind_config, "kind_config"))
        install = self.install(top.get("install"), "install")
        declared = shaping.parse(self, top.get("shapes"), "shapes", install.source)
        shaping.check_base_kind_config(self, kind_config, declared)
        return Cni(
            name=name,
            description=self.text(top, "description", ""),
            version=self.text(top, "version", ""),
            kind_config=kind_config,
            install=install,
            readiness=self.readiness(top.get("readiness"), "readiness"),
            ready_timeout_s=self.ready_timeout(top.get("ready_timeout_s", DEFAULT_READY_TIMEOUT_S)),
            capabilities=self.capabilities(top.get("capabilities"), "capabilities"),
            host=self.host(top.get("host"), "host"),
            offline_reason=self.offline(top.get("offline"), "offline"),
            diagnostics=self.diagnostics(top.get("diagnostics", []), "diagnostics"),
            nightly=self.flag(top, "nightly", ""),
            ipam_count=self.ipam_count(top.get("ipam_count"), "ipam_count"),
            known_issues=self.known_issues(top.get("known_issues", []), "known_issues"),
            shapes=declared,
            path=self.path,
        )

    def known_issues(self, value: Any, where: str) -> tuple[KnownIssue, ...]:
        found = []
        for at, data in self.entries(value, where, self._KNOWN_ISSUE_KEYS):
            issue = self.text(data, "issue", at)
            if not issue.startswith("https://") or any(c.isspace() for c in issue):
                raise self.fail(f"{at}.issue", f"must be the upstream report's https URL, got {issue!r}")
            names = data.get("scenarios")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.startswith("test_") for n in names):
                raise self.fail(f"{at}.scenarios", "must be a non-empty list of pytest names (test_...)")
            found.append(KnownIssue(issue=issue, summary=self.text(data, "summary", at), scenarios=tuple(names)))
        return tuple(found)

    def diagnostics(self, value: Any, where: str) -> tuple[Diagnostic, ...]:
        found = []
        for at, data in self.entries(value, where, self._DIAGNOSTIC_KEYS):
            command = self.strings(data.get("command"), f"{at}.command") if "command" in data else ()
            if not command:
                raise self.fail(f"{at}.command", "must list the program and its arguments")
            found.append(Diagnostic(name=self.text(data, "name", at), namespace=self.text(data, "namespace", at),
                                    selector=self.text(data, "selector", at), container=self.text(data, "container", at),
                                    command=command))
        return tuple(found)

    def ipam_count(self, value: Any, where: str) -> IpamCount | None:
        if value is None:
            return None
        data = self.mapping(value, where, self._IPAM_COUNT_KEYS)
        places = sorted({"node", "host"} & set(data))
        if len(places) != 1:
            raise self.fail(where, "needs exactly one of node: (shell in the node container) or host: (shell here)")
        refresh = data.get("refresh_s", 0)
        if isinstance(refresh, bool) or not isinstance(refresh, (int, float)) or not 0 <= refresh <= 60:
            raise self.fail(f"{where}.refresh_s", f"must be a number of seconds from 0 to 60, got {refresh!r}")
        return IpamCount(where=places[0], command=self.text(data, places[0], where), evidence=self.text(data, "evidence", where),
                         refresh_s=float(refresh))

    def host(self, value: Any, where: str) -> HostNeeds:
        if value is None:
            return HostNeeds()
        data = self.mapping(value, where, self._HOST_KEYS)
        symbols = {}
        for key in ("limits", "variants"):
            table = self.mapping(data.get(key) or {}, f"{where}.{key}")
            for symbol, text in table.items():
                if not _KERNEL_SYMBOL.match(symbol):
                    raise self.fail(f"{where}.{key}.{symbol}", f"does not match {_KERNEL_SYMBOL.pattern}")
                self.text(table, symbol, f"{where}.{key}")
            symbols[key] = {k: str(v).strip() for k, v in table.items()}
        return HostNeeds(
            requires_kernel=self.strings(data.get("requires_kernel", []), f"{where}.requires_kernel", _KERNEL_SYMBOL),
            limits=symbols["limits"], variants=symbols["variants"],
            mode=self.text(data, "mode", where) if "mode" in data else "",
        )

    def offline(self, value: Any, where: str) -> str | None:
        """None when the CNI's images build here; otherwise the declared reason they cannot."""
        if value is None:
            return None
        data = self.mapping(value, where, self._OFFLINE_KEYS)
        buildable = data.get("buildable", True)
        if not isinstance(buildable, bool):
            raise self.fail(f"{where}.buildable", f"must be true or false, got {buildable!r}")
        if buildable:
            if "reason" in data:
                raise self.fail(f"{where}.reason", "only applies when buildable is false")
            return None
        return self.text(data, "reason", where)

    def install(self, value: Any, where: str) -> Install:
        if value is None:
            raise self.fail(where, "is required")
        data = self.mapping(value, where, self._INSTALL_KEYS)
        source = self.choice(data, "source", where, SOURCES)
        manifests = self.strings(data.get("manifests", []), f"{where}.manifests")
        manifests = tuple(self.repo_path(m, f"{where}.manifests[{i}]") for i, m in enumerate(manifests))
        images = self.strings(data.get("images", []), f"{where}.images")
        if source in ("manifest", "module") and not manifests:
            raise self.fail(f"{where}.manifests", f"must list at least one manifest for source={source}")
        if source not in ("manifest", "module") and manifests:
            raise self.fail(f"{where}.manifests", f"must be empty for source={source}")
        module_only = sorted({"module", "version"} & set(data))
        # Changes every shape needs (an untagged upstream image pinned, say); a shape adds its own.
        fixes = patches.parse_field(self, data, where, source)
        if source == "module":
            return Install(source=source, manifests=manifests, images=images, manifest_patches=fixes,
                           module=self.text(data, "module", where), version=self.text(data, "version", where))
        helm_only = sorted({"chart", "namespace", "values"} & set(data))
        if source != "helm":
            if module_only:
                raise self.fail(f"{where}.{module_only[0]}", f"only applies to source=module or helm, not {source}")
            if helm_only:
                raise self.fail(f"{where}.{helm_only[0]}", f"only applies to source=helm, not {source}")
            return Install(source=source, manifests=manifests, images=images, manifest_patches=fixes)
        # The chart is read from the pinned module, like a module's manifests.
        chart = self.repo_path(self.text(data, "chart", where), f"{where}.chart")
        namespace = self.text(data, "namespace", where) if "namespace" in data else "kube-system"
        values = data.get("values") or {}
        return Install(
            source=source,
            images=images,
            module=self.text(data, "module", where),
            version=self.text(data, "version", where),
            chart=chart,
            chart_namespace=namespace,
            values=copy.deepcopy(self.mapping(values, f"{where}.values")),
        )

    def readiness(self, value: Any, where: str) -> tuple[ReadinessRule, ...]:
        if value is None:
            raise self.fail(where, "is required")
        if not isinstance(value, list) or not value:
            raise self.fail(where, "must be a non-empty list of {kind, namespace, name} rules")
        return tuple(self.rule(raw, f"{where}[{i}]") for i, raw in enumerate(value))

    def capabilities(self, value: Any, where: str) -> dict[str, Capability]:
        if value is None:
            raise self.fail(where, "is required")
        data = self.mapping(value, where)
        result = {}
        for name, raw in data.items():
            at = f"{where}.{name}"
            if not _CAPABILITY_NAME.match(name):
                raise self.fail(at, f"capability names must match {_CAPABILITY_NAME.pattern}")
            cap = self.mapping(raw, at, self._CAPABILITY_KEYS)
            result[name] = Capability(
                status=self.choice(cap, "status", at, STATUSES),
                evidence=self.text(cap, "evidence", at),
                requires_kernel=self.strings(
                    cap.get("requires_kernel", []), f"{at}.requires_kernel", _KERNEL_SYMBOL
                ),
            )
        return result
