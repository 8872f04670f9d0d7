"""Reading the project's YAML data files (cnis/*.yaml, addons/*.yaml): the folder lookup and one
field reader whose every error names the file and the field, shared by the CNI and add-on catalogs."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

READINESS_KINDS = ("DaemonSet", "Deployment", "StatefulSet")


@dataclass(frozen=True)
class ReadinessRule:
    """A workload that must be fully rolled out before the suites may start."""

    kind: str
    namespace: str
    name: str


def data_dir(env: str, default: Path) -> Path:
    """A data folder (cnis/, addons/), or the folder the environment variable `env` names instead."""
    override = os.environ.get(env)
    return Path(override) if override else default


def file_names(directory: Path, what: str, env: str, error: type[Exception]) -> list[str]:
    """Sorted names of the <name>.yaml files of a data folder; `error` says when it is missing."""
    if not directory.is_dir():
        raise error(f"{what} {directory} does not exist (see {env})")
    return sorted(p.stem for p in directory.glob("*.yaml") if p.is_file())


def listed_file(directory: Path, names: list[str], name: str, kind: str, error: type[Exception]) -> Path:
    """directory/<name>.yaml when `name` is one of the folder's `names`, which also keeps path-like
    names out of the filesystem lookup; otherwise `error` lists the known ones."""
    if name not in names:
        raise error(f"unknown {kind} {name!r}; known {kind}s: {', '.join(names) or 'none'}")
    return directory / f"{name}.yaml"


class DataParser:
    """Field readers for one YAML data file (cnis/*.yaml, addons/*.yaml): every problem is an
    `error` naming the file and the field's path (`where`: dotted, [i] for list items, "" for the
    top level). The catalogs' parsers extend it with their own sections."""

    error: type[ValueError] = ValueError
    missing_is_required = True  # a missing text field "is required"; False: "must be a non-empty string, got None"

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Any:
        """The file's YAML document."""
        try:
            return yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise self.error(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise self.error(f"{self.path}: not valid YAML: {' '.join(str(exc).split())}") from exc

    def fail(self, where: str, problem: str) -> ValueError:
        return self.error(f"{self.path}: {where}: {problem}")

    @staticmethod
    def key_path(where: str, key: str) -> str:
        """The path of field `key` of the mapping at `where`."""
        return f"{where}.{key}" if where else key

    def mapping(self, value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where or "(top level)", f"must be a mapping, got {type(value).__name__}")
        if allowed is not None:
            extra = sorted(set(value) - allowed)
            if extra:
                raise self.fail(self.key_path(where, extra[0]), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return value

    def entries(self, value: Any, where: str, allowed: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(path, mapping) of each item of a list of mappings, checked one at a time."""
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list, got {type(value).__name__}")
        for i, raw in enumerate(value):
            at = f"{where}[{i}]"
            yield at, self.mapping(raw, at, allowed)

    def text(self, data: Mapping[str, Any], key: str, where: str) -> str:
        field_path = self.key_path(where, key)
        if key not in data and self.missing_is_required:
            raise self.fail(field_path, "is required")
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field_path, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def choice(self, data: Mapping[str, Any], key: str, where: str, options: tuple[str, ...]) -> str:
        value = self.text(data, key, where)
        if value not in options:
            raise self.fail(self.key_path(where, key), f"{value!r} is not one of {', '.join(options)}")
        return value

    def relative_path(self, value: str, where: str, problem: str) -> str:
        """`value` unless it is absolute or climbs out with '..' (then `problem` is the error)."""
        pure = Path(value)
        if pure.is_absolute() or ".." in pure.parts:
            raise self.fail(where, f"{value!r} {problem}")
        return value

    def rule(self, value: Any, where: str) -> ReadinessRule:
        data = self.mapping(value, where, {"kind", "namespace", "name"})
        return ReadinessRule(kind=self.choice(data, "kind", where, READINESS_KINDS),
                             namespace=self.text(data, "namespace", where), name=self.text(data, "name", where))

    def ready_timeout(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail("ready_timeout_s", f"must be a positive number of seconds, got {value!r}")
        return float(value)
