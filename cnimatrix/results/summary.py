"""The per-CNI summary.json: typed builders, schema validation, atomic I/O.

Each run writes exactly one summary; the comparison report later merges many of
them, so the format is pinned by a JSON Schema shipped next to this module and
every write is validated before it reaches disk.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_VERSION = 1
SUITES = ("service", "dns", "netpol", "ingress")
OUTCOMES = ("passed", "failed", "skipped", "error")

__all__ = [
    "OUTCOMES",
    "SCHEMA_VERSION",
    "SUITES",
    "RunSummary",
    "TestResult",
    "count_outcomes",
    "read_summary",
    "rfc3339",
    "schema",
    "validate",
    "write_summary",
]


def rfc3339(moment: datetime | None = None) -> str:
    """Format a timestamp (default: now) as RFC 3339 in UTC, second precision."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware to be unambiguous")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TestResult:
    """Outcome of one pytest item, as it appears in summary.json."""

    __test__ = False  # not a pytest test class despite the name

    id: str
    suite: str
    title: str
    outcome: str
    duration_s: float
    attempts: int = 1
    flaky: bool = False
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "suite": self.suite,
            "title": self.title,
            "outcome": self.outcome,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "flaky": self.flaky,
            "message": self.message,
        }
        if self.metrics:  # optional in the schema; omitted rather than written empty
            doc["metrics"] = self.metrics
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TestResult:
        return cls(
            id=doc["id"],
            suite=doc["suite"],
            title=doc["title"],
            outcome=doc["outcome"],
            duration_s=doc["duration_s"],
            attempts=doc["attempts"],
            flaky=doc["flaky"],
            message=doc["message"],
            metrics=dict(doc.get("metrics", {})),
        )


@dataclass(frozen=True)
class RunSummary:
    """Everything one run reports; `counts` is derived from `tests` so it can never disagree."""

    cni_name: str
    cni_version: str
    kubernetes_version: str
    kind_version: str
    node_image: str
    offline: bool
    cluster_name: str
    cluster_nodes: int
    cluster_existing: bool
    started_at: str
    finished_at: str
    timings_s: dict[str, float | None] = field(
        default_factory=lambda: {"cluster_create": None, "cni_ready": None, "suites": None}
    )
    tests: list[TestResult] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    diagnostics: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Fill in the three standard phases so callers may pass only what they measured.
        timings = {"cluster_create": None, "cni_ready": None, "suites": None, **self.timings_s}
        tests = sorted(self.tests, key=lambda t: t.id)
        return {
            "schema_version": SCHEMA_VERSION,
            "cni": {"name": self.cni_name, "version": self.cni_version},
            "kubernetes_version": self.kubernetes_version,
            "kind_version": self.kind_version,
            "node_image": self.node_image,
            "offline": self.offline,
            "cluster": {
                "name": self.cluster_name,
                "nodes": self.cluster_nodes,
                "existing": self.cluster_existing,
            },
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "timings_s": timings,
            "counts": count_outcomes(tests),
            "tests": [t.to_dict() for t in tests],
            "metrics": self.metrics,
            "diagnostics": self.diagnostics,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunSummary:
        validate(doc)
        return cls(
            cni_name=doc["cni"]["name"],
            cni_version=doc["cni"]["version"],
            kubernetes_version=doc["kubernetes_version"],
            kind_version=doc["kind_version"],
            node_image=doc["node_image"],
            offline=doc["offline"],
            cluster_name=doc["cluster"]["name"],
            cluster_nodes=doc["cluster"]["nodes"],
            cluster_existing=doc["cluster"]["existing"],
            started_at=doc["started_at"],
            finished_at=doc["finished_at"],
            timings_s=dict(doc["timings_s"]),
            tests=[TestResult.from_dict(t) for t in doc["tests"]],
            metrics=dict(doc["metrics"]),
            diagnostics=doc["diagnostics"],
        )


def count_outcomes(tests: Iterable[TestResult | Mapping[str, Any]]) -> dict[str, int]:
    """Tally outcomes; a flaky test counts both as passed and as flaky."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0, "flaky": 0, "total": 0}
    for test in tests:
        doc = test.to_dict() if isinstance(test, TestResult) else test
        outcome = doc["outcome"]
        if outcome not in OUTCOMES:
            raise ValueError(f"test {doc.get('id')!r} has unknown outcome {outcome!r}")
        counts[outcome] += 1
        counts["total"] += 1
        if doc.get("flaky") and outcome == "passed":
            counts["flaky"] += 1
    return counts


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The summary.json JSON Schema shipped as package data."""
    text = resources.files(__package__).joinpath("summary.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def validate(doc: Mapping[str, Any]) -> None:
    """Raise ValueError with a one-line message unless `doc` is a consistent summary."""
    error = best_match(_validator().iter_errors(doc))
    if error is not None:
        message = " ".join(error.message.split())
        if len(message) > 300:  # huge instances get echoed back by jsonschema; keep it one readable line
            message = message[:297] + "..."
        raise ValueError(f"invalid summary at {error.json_path}: {message}")
    # Things JSON Schema cannot express: unique ids and counts that match the test list.
    ids = [t["id"] for t in doc["tests"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"invalid summary: duplicate test ids {', '.join(duplicates)}")
    expected = count_outcomes(doc["tests"])
    if dict(doc["counts"]) != expected:
        raise ValueError(f"invalid summary: counts {dict(doc['counts'])} do not match tests {expected}")


def write_summary(path: str | os.PathLike[str], summary: RunSummary | Mapping[str, Any]) -> Path:
    """Validate and write summary.json atomically, so a crashed run never leaves half a file."""
    doc = summary.to_dict() if isinstance(summary, RunSummary) else dict(summary)
    doc["tests"] = sorted(doc.get("tests", []), key=lambda t: t.get("id", "") if isinstance(t, Mapping) else "")
    validate(doc)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def read_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate a summary.json; errors name the file."""
    target = Path(path)
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{target}: not valid JSON: {exc}") from exc
    try:
        validate(doc)
    except ValueError as exc:
        raise ValueError(f"{target}: {exc}") from exc
    return doc
