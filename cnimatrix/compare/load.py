"""Find the per-CNI summaries a comparison lines up, read them, and say which are stale.

A column is a folder `reports/<name>/` holding `summary.json`; its name is normally the CNI's, and
cni/shape (flannel/nftables) for the folder a run of another shape than the default writes
(reports/flannel-nftables, cnimatrix/cni/shapes.py).
A summary is stale when it was made for another Kubernetes version than the one cnimatrix pins
now (cnimatrix/versions.py) or by another cnimatrix commit than the checkout's HEAD: its cells
may no longer describe what the current suites check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnimatrix import versions
from cnimatrix.cni.shapes import Shape, split_folder
from cnimatrix.compare import soak
from cnimatrix.results import UNKNOWN_COMMIT, read_summary
from cnimatrix.results.metrics import RunMetrics
from cnimatrix.results.soak import SoakRecord

SUMMARY = "summary.json"
COMPARISON_DIR = "comparison"  # reports/comparison/ is our own output, never a CNI


class InputError(ValueError):
    """Bad input for a comparison; the message is one line and names the file or folder."""


@dataclass(frozen=True)
class Evidence:
    """What a failed scenario left beside its summary (summary.json `tests[].evidence`): the folder
    as the summary names it, where that is, and the files in it (None when the folder is gone)."""

    name: str                        # evidence/<name>, relative to summary.json
    folder: Path                     # summary.json's folder / name
    files: tuple[str, ...] | None    # paths inside the folder ('/'-separated), sorted; None: missing

    @property
    def found(self) -> bool:
        return self.files is not None

    def to_dict(self) -> dict[str, Any]:
        """The cell's `evidence` in comparison.json."""
        return {"name": self.name, "path": str(self.folder), "found": self.found, "files": list(self.files or ())}


def evidence_of(summary: Path, name: str) -> Evidence:
    """The evidence folder `name` of the summary at `summary`, as it is on disk now."""
    folder = summary.parent / name
    files = None
    if Path(name).name not in ("", ".", "..") and folder.is_dir():  # never a folder above the evidence/ one
        files = tuple(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()))
    return Evidence(name=name, folder=folder, files=files)


@dataclass(frozen=True)
class Run:
    """One column of the comparison: a CNI's validated summary (and its metrics, typed), or the
    fact that there is none."""

    column: str
    path: Path | None = None
    doc: dict[str, Any] | None = None
    stale_reasons: tuple[str, ...] = ()
    soak: SoakRecord | None = None   # reports/<name>/soak.json, when tools/soak.py left a usable one
    metrics: RunMetrics = RunMetrics()   # empty without a summary
    evidence: Mapping[str, Evidence] = field(default_factory=dict)   # test id -> what its failure left

    @property
    def has_results(self) -> bool:
        return self.doc is not None

    @property
    def stale(self) -> bool | None:
        """None when there is nothing to be stale."""
        return bool(self.stale_reasons) if self.has_results else None


def staleness(doc: dict[str, Any], kubernetes: str, commit: str) -> list[str]:
    """Why a summary no longer matches the current pins and checkout; empty when it does.

    `commit` is the current HEAD; when that is unknown only a summary without any commit (format
    version 1, or "unknown") is called stale on that account, as nothing can be compared.
    """
    reasons = []
    if doc["kubernetes_version"] != kubernetes:
        reasons.append(f"ran Kubernetes {doc['kubernetes_version']}, cnimatrix now pins {kubernetes}")
    made_by = doc.get("cnimatrix_commit")
    if made_by is None:
        reasons.append(f"summary format v{doc['schema_version']} records no cnimatrix commit")
    elif made_by == UNKNOWN_COMMIT:
        reasons.append("made by an unknown cnimatrix commit")
    elif commit != UNKNOWN_COMMIT and made_by != commit:
        reasons.append(f"made by cnimatrix {made_by[:12]}, the checkout is at {commit[:12]}")
    return reasons


def column_of(folder: str, doc: dict[str, Any]) -> str:
    """The column of a summary in reports/<folder>: cni/shape when the folder is the one a run of a
    shape other than the default writes by default, else the folder's name."""
    recorded = doc.get("shape")
    if recorded:
        shape, cni = Shape(recorded["ip_family"], recorded["proxy_mode"]), doc["cni"]["name"]
        if shape.distinct and folder == shape.folder(cni):
            return shape.column(cni)
    return folder


def _read(folder: Path, kubernetes: str, commit: str) -> Run:
    path = folder / SUMMARY
    try:
        doc = read_summary(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:  # read_summary's messages already start with the path
        raise InputError(str(exc)) from exc
    evidence = {test["id"]: evidence_of(path, test["evidence"]) for test in doc["tests"] if test.get("evidence")}
    return Run(column=column_of(folder.name, doc), path=path, doc=doc, stale_reasons=tuple(staleness(doc, kubernetes, commit)),
               metrics=RunMetrics.from_dict(doc["metrics"]), evidence=evidence)


def load_runs(
    reports_dir: str | Path,
    cnis: Iterable[str] = (),
    *,
    kubernetes: str = versions.KUBERNETES,
    commit: str = UNKNOWN_COMMIT,
    skip: Iterable[str | Path] = (),
    known: Callable[[], list[str]] | None = None,
    notes: list[str] | None = None,
) -> list[Run]:
    """The columns, in order: the CNIs asked for (each, with or without a summary), or else every
    `reports_dir/<name>/summary.json` sorted by name. `skip` lists folders to leave out (the
    output folder); `known` returns the catalog's CNI names, used to refuse a misspelt CNI that
    has no summary either. Folders without a summary are mentioned in `notes`, not compared.
    Raises InputError when nothing can be compared or a summary is unreadable or invalid."""
    reports = Path(reports_dir)
    if not reports.is_dir():
        raise InputError(f"{reports}: no such reports directory")
    skipped = {Path(p).resolve() for p in skip}
    asked = list(dict.fromkeys(cnis))
    if asked:  # a shape's column (flannel/nftables) names its folder (flannel-nftables)
        folders = [reports / name.replace("/", "-") for name in asked]
    else:
        folders = sorted(p for p in reports.iterdir()
                         if p.is_dir() and p.name != COMPARISON_DIR and p.resolve() not in skipped)
    runs: list[Run] = []
    for folder in folders:
        if (folder / SUMMARY).is_file():
            runs.append(_read(folder, kubernetes, commit))
        elif asked:
            runs.append(Run(column=asked[folders.index(folder)]))
        elif notes is not None:
            notes.append(f"{folder}: no {SUMMARY}, left out")
            continue
        else:
            continue
        record, warning = soak.read(folder)
        if warning and notes is not None:
            notes.append(warning)
        runs[-1] = replace(runs[-1], soak=record)
    missing = [run.column for run in runs if not run.has_results]
    if missing and known is not None:
        catalog = known()
        unknown = [name for name in missing if split_folder(name)[0] not in catalog]
        if unknown:
            raise InputError(f"unknown CNI {', '.join(unknown)} (no {SUMMARY} under {reports} and not in the "
                             f"catalog; known CNIs: {', '.join(catalog) or 'none'})")
    if not any(run.has_results for run in runs):
        wanted = ", ".join(f"{reports / name / SUMMARY}" for name in asked) or f"{reports}/<cni>/{SUMMARY}"
        raise InputError(f"no summaries found (looked for {wanted})")
    return runs
