"""`cnimatrix matrix`: every chosen CNI in turn, one cluster at a time, then the comparison.

A CNI that cannot start (its images do not build, preflight refuses it) or fails its checks does
not stop the others: its summary says why and the comparison shows it in its column. Ctrl-C or
SIGTERM stops the CNI running now (its run deletes its cluster and keeps what finished), marks the
CNIs not reached as not run, still writes the comparison, and exits 130/143.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from cnimatrix import cni as cni_catalog
from cnimatrix import mode
from cnimatrix import versions as V
from cnimatrix.results import RunSummary, current_commit, rfc3339, write_summary
from cnimatrix.run.process import run_stoppable
from cnimatrix.results.suites import RUN_ORDER

REPO_ROOT = Path(__file__).resolve().parents[2]
REPORTS = REPO_ROOT / "reports"
SIGNALLED = {130: "SIGINT", 143: "SIGTERM"}


def runnable_here() -> list[str]:
    """The catalog's CNIs this host can run: the kernel has what they need and, offline, their
    images can be built (the same verdicts `make doctor` prints)."""
    from cnimatrix import doctor

    offline, _ = mode.offline()
    return [v.name for v in doctor.cni_verdicts(doctor.kernel_features())
            if v.runs is not False and not (offline and v.online_only)]


def write_unrun(cni: cni_catalog.Cni, status: str, reason: str, offline: bool) -> Path:
    """A summary for a CNI whose run never started, so its column says why."""
    now = rfc3339()
    summary = RunSummary(cni_name=cni.name, cni_version=cni.version, kubernetes_version=V.KUBERNETES, kind_version=V.KIND,
                         node_image=V.NODE_IMAGE if offline else f"kind {V.KIND} default node image", offline=offline,
                         cluster_name="none", cluster_nodes=0, cluster_existing=False, started_at=now, finished_at=now,
                         cnimatrix_commit=current_commit(), run_status=status, run_reason=reason)
    return write_summary(REPORTS / cni.name / "summary.json", summary)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_matrix(names: list[str], keep: bool = False) -> int:
    offline, why = mode.offline()
    cnis = [cni_catalog.load(name) for name in names]
    print(f"cnimatrix matrix: {len(cnis)} CNIs, one cluster at a time ({'offline' if offline else 'online'}: {why}): "
          + ", ".join(names), flush=True)
    for cni in cnis:  # results of an earlier run must not pass for this one's
        folder = REPORTS / cni.name
        for name in ("summary.json", "junit.xml"):
            (folder / name).unlink(missing_ok=True)
        shutil.rmtree(folder / "allure-results", ignore_errors=True)
    shares: dict[str, float] = {}
    stopped: int | None = None
    failed: list[str] = []
    started = time.monotonic()
    for index, cni in enumerate(cnis, 1):
        if stopped is not None:
            write_unrun(cni, "interrupted", f"matrix stopped by {SIGNALLED[stopped]} before {cni.name} ran", offline)
            continue
        print(f"\n=== [{index}/{len(cnis)}] {cni.name} ===", flush=True)
        began = time.monotonic()
        if offline:
            build = subprocess.run([sys.executable, "-m", "cnimatrix.images", "--cni", cni.name], cwd=REPO_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            sys.stdout.write(build.stdout)
            if build.returncode != 0:
                write_unrun(cni, "preflight-failed", f"images: {last_line(build.stdout)}", offline)
                shares[cni.name] = time.monotonic() - began
                failed.append(cni.name)
                continue
        # Every suite, the opt-in ones (perf) included: a matrix is where CNIs are compared.
        suites = [arg for suite in RUN_ORDER for arg in ("--suite", suite)]
        code = run_stoppable([sys.executable, "-m", "cnimatrix", "run", "--cni", cni.name, *suites, *(["--keep"] if keep else [])])
        shares[cni.name] = time.monotonic() - began
        if code in SIGNALLED:
            stopped = code
        elif code != 0:
            failed.append(cni.name)
            if not (REPORTS / cni.name / "summary.json").exists():
                write_unrun(cni, "preflight-failed", f"`cnimatrix run` exited {code} before any scenario ran", offline)
    print("\n=== comparison ===", flush=True)
    subprocess.run([sys.executable, "-m", "cnimatrix.compare", *names], cwd=REPO_ROOT)
    total = time.monotonic() - started
    print(f"cnimatrix matrix: {total / 60:.1f} min in all; " + ", ".join(
        f"{name} {seconds / 60:.1f} min ({100 * seconds / total:.0f}%)" for name, seconds in shares.items()), flush=True)
    if stopped is not None:
        print(f"cnimatrix matrix: stopped by {SIGNALLED[stopped]}; CNIs not reached are marked not run", file=sys.stderr)
        return stopped
    if failed:
        print(f"cnimatrix matrix: checks failed or did not run on {', '.join(failed)} (see the comparison)", file=sys.stderr)
        return 1
    return 0
