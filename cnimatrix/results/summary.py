"""The per-CNI summary.json: typed builders, schema validation, atomic I/O.

Each run writes exactly one summary; the comparison report later merges many of
them, so the format is pinned by a JSON Schema shipped next to this module and
every write is validated before it reaches disk. Files of an older format
version (summary.v1.schema.json) are still read and validated against their own
schema; they are never written.
"""

from __future__ import annotations

import json
import os
import subprocess
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

from cnimatrix.results.suites import SUITES

SCHEMA_VERSION = 2
RUN_REASON_LIMIT = 300
READABLE_VERSIONS = (1, 2)  # read_summary accepts these; write_summary writes only SCHEMA_VERSION
OUTCOMES = ("passed", "failed", "skipped", "error", "not-enforced", "not-run")
RUN_STATUSES = ("completed", "interrupted", "cluster-not-ready", "preflight-failed")
UNKNOWN_COMMIT = "unknown"
WORKS_DESPITE_DECLARED = "works-despite-declared"  # the flag for a declared gap that works anyway

_ADDED_IN_V2 = ("not-enforced", "not-run")  # outcomes (and count keys) version 1 does not know
_SCHEMA_FILES = {1: "summary.v1.schema.json", 2: "summary.schema.json"}
_REPO_ROOT = Path(__file__).resolve().parents[2]  # the cnimatrix checkout (same as cni.catalog.REPO_ROOT)

__all__ = [
    "OUTCOMES",
    "READABLE_VERSIONS",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "SUITES",
    "UNKNOWN_COMMIT",
    "WORKS_DESPITE_DECLARED",
    "RunSummary",
    "TestResult",
    "count_outcomes",
    "current_commit",
    "raise_first_schema_error",
    "read_summary",
    "rfc3339",
    "schema",
    "validate",
    "write_summary",
    "write_text_atomic",
]


def rfc3339(moment: datetime | None = None) -> str:
    """Format a timestamp (default: now) as RFC 3339 in UTC, second precision."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware to be unambiguous")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_commit(root: str | os.PathLike[str] = _REPO_ROOT) -> str:
    """`git rev-parse HEAD` of the cnimatrix checkout, or "unknown" (no git, not a checkout)."""
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_COMMIT
    commit = done.stdout.strip()
    if done.returncode != 0 or len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        return UNKNOWN_COMMIT
    return commit


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
    declared: dict[str, str] | None = None  # {capability, status, evidence} behind a skip/not-enforced
    flags: tuple[str, ...] = ()
    known_issue: dict[str, str] | None = None  # {issue, summary}: the upstream report behind a failure
    evidence: str | None = None  # folder of what was collected when it failed, relative to summary.json

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
        # Optional in the schema: omitted rather than written empty.
        if self.metrics:
            doc["metrics"] = self.metrics
        if self.declared is not None:
            doc["declared"] = dict(self.declared)
        if self.flags:
            doc["flags"] = list(self.flags)
        if self.known_issue is not None:
            doc["known_issue"] = dict(self.known_issue)
        if self.evidence is not None:
            doc["evidence"] = self.evidence
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
            declared=dict(doc["declared"]) if "declared" in doc else None,
            flags=tuple(doc.get("flags", ())),
            known_issue=dict(doc["known_issue"]) if "known_issue" in doc else None,
            evidence=doc.get("evidence"),
        )


@dataclass(frozen=True)
class RunSummary:
    """Everything one run reports; `counts` is derived from `tests` so it can never disagree.

    `run_status` is one of RUN_STATUSES; any status but "completed" needs a one-line `run_reason`.
    """

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
    cnimatrix_commit: str = UNKNOWN_COMMIT
    run_status: str = "completed"
    run_reason: str = ""
    cni_source: str | None = None  # what an offline build of the CNI's images was made from
    shape: dict[str, Any] | None = None  # {ip_family, proxy_mode[, untested]}: cnimatrix.cni.shapes.Resolved.to_dict()

    def to_dict(self) -> dict[str, Any]:
        # Fill in the three standard phases so callers may pass only what they measured.
        timings = {"cluster_create": None, "cni_ready": None, "suites": None, **self.timings_s}
        tests = sorted(self.tests, key=lambda t: t.id)
        return {
            "schema_version": SCHEMA_VERSION,
            "cnimatrix_commit": self.cnimatrix_commit,
            # the format wants one line: an error's several lines are folded here, once for every writer
            "run": {"status": self.run_status, "reason": " ".join(self.run_reason.split())[:RUN_REASON_LIMIT]},
            "cni": {"name": self.cni_name, "version": self.cni_version,
                    **({"source": self.cni_source} if self.cni_source else {})},
            **({"shape": self.shape} if self.shape is not None else {}),
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
        """Build from a current-version document; an older one has no run status to carry over."""
        validate(doc)
        if doc["schema_version"] != SCHEMA_VERSION:
            raise ValueError(f"summary schema_version {doc['schema_version']} is read-only here; "
                             f"only version {SCHEMA_VERSION} converts to a RunSummary")
        return cls(
            cni_name=doc["cni"]["name"],
            cni_version=doc["cni"]["version"],
            cni_source=doc["cni"].get("source"),
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
            cnimatrix_commit=doc["cnimatrix_commit"],
            run_status=doc["run"]["status"],
            run_reason=doc["run"]["reason"],
            shape=doc.get("shape"),
        )


def count_outcomes(tests: Iterable[TestResult | Mapping[str, Any]]) -> dict[str, int]:
    """Tally outcomes; a flaky test counts both as passed and as flaky. `total` counts every outcome."""
    counts = {**dict.fromkeys(OUTCOMES, 0), "flaky": 0, "total": 0}
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


@lru_cache(maxsize=None)
def schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """The summary.json JSON Schema of a format version, shipped as package data."""
    text = resources.files(__package__).joinpath(_SCHEMA_FILES[version]).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _validator(version: int) -> Draft202012Validator:
    return Draft202012Validator(schema(version))


def raise_first_schema_error(validator: Draft202012Validator, doc: Any, what: str) -> None:
    """Raise ValueError with one readable line for the most relevant schema violation, if any."""
    error = best_match(validator.iter_errors(doc))
    if error is not None:
        message = " ".join(error.message.split())
        if len(message) > 300:  # huge instances get echoed back by jsonschema; keep it one readable line
            message = message[:297] + "..."
        raise ValueError(f"invalid {what} at {error.json_path}: {message}")


def validate(doc: Mapping[str, Any]) -> None:
    """Raise ValueError with a one-line message unless `doc` is a consistent summary.

    A document of an older readable version is checked against that version's schema; anything
    else against the current one (whose schema_version constant then names the problem).
    """
    version = doc.get("schema_version") if isinstance(doc, Mapping) else None
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        version = SCHEMA_VERSION
    raise_first_schema_error(_validator(version), doc, "summary")
    # Things JSON Schema cannot express: unique ids and counts that match the test list.
    ids = [t["id"] for t in doc["tests"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"invalid summary: duplicate test ids {', '.join(duplicates)}")
    expected = count_outcomes(doc["tests"])
    if version == 1:
        expected = {k: v for k, v in expected.items() if k not in _ADDED_IN_V2}
    if dict(doc["counts"]) != expected:
        raise ValueError(f"invalid summary: counts {dict(doc['counts'])} do not match tests {expected}")
    if version >= 2 and doc["run"]["status"] == "completed" and expected["not-run"]:
        raise ValueError(f"invalid summary: run status completed but {expected['not-run']} test(s) not-run")


def write_summary(path: str | os.PathLike[str], summary: RunSummary | Mapping[str, Any]) -> Path:
    """Validate and write summary.json atomically, so a crashed run never leaves half a file."""
    doc = summary.to_dict() if isinstance(summary, RunSummary) else dict(summary)
    doc["tests"] = sorted(doc.get("tests", []), key=lambda t: t.get("id", "") if isinstance(t, Mapping) else "")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"invalid summary: refusing to write schema_version {doc.get('schema_version')!r}; "
                         f"only version {SCHEMA_VERSION} is written")
    validate(doc)
    return write_text_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a UTF-8 file through a temporary sibling and a rename, so readers never see half of it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def read_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate a summary.json of any readable version, returned as written; errors name
    the file. Check `schema_version`: version 1 files lack `cnimatrix_commit`, `run`, `declared`,
    `flags` and the not-enforced/not-run outcomes."""
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
