"""`cnimatrix matrix`: every chosen CNI, then the comparison. One cluster at a time unless the host
has room for more (run/room.py decides from the footprints earlier runs measured, or --clusters).

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
from cnimatrix import hostload, mode
from cnimatrix.cni import shapes
from cnimatrix import versions as V
from cnimatrix.results import RunSummary, current_commit, rfc3339, write_summary
from cnimatrix.run import room
from cnimatrix.run.process import last_line, run_many, run_stoppable
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


def refusal(name: str, shape: shapes.Shape) -> str | None:
    """Why CNI `name` does not run in `shape` (its file's declarations), or None when it does."""
    try:
        cni_catalog.load(name).shaped(shape)
    except shapes.ShapeRefused as exc:
        return str(exc)
    return None


def folder(cni: cni_catalog.Cni, shape: shapes.Shape) -> Path:
    """reports/<cni> in the default shape, reports/<cni>-<shape> in another: where its run writes."""
    return REPORTS / shape.folder(cni.name)


def write_unrun(cni: cni_catalog.Cni, status: str, reason: str, offline: bool, shape: shapes.Shape = shapes.DEFAULT) -> Path:
    """A summary for a CNI whose run never started, so its column says why."""
    now = rfc3339()
    summary = RunSummary(cni_name=cni.name, cni_version=cni.version, kubernetes_version=V.KUBERNETES, kind_version=V.KIND,
                         node_image=V.NODE_IMAGE if offline else f"kind {V.KIND} default node image", offline=offline,
                         cluster_name="none", cluster_nodes=0, cluster_existing=False, started_at=now, finished_at=now,
                         cnimatrix_commit=current_commit(), run_status=status, run_reason=reason,
                         shape=cni.shaped(shape)[1].to_dict())
    return write_summary(folder(cni, shape) / "summary.json", summary)


def run_matrix(names: list[str], keep: bool = False, clusters: int | None = None, shape: shapes.Shape = shapes.DEFAULT) -> int:
    offline, why = mode.offline()
    cnis = [cni_catalog.load(name) for name in names]
    # the footprints earlier runs measured, read before their summaries are cleared below
    measured = {cni.name: room.footprint_of(folder(cni, shape) / "summary.json") for cni in cnis}
    if clusters:
        clusters = min(clusters, len(cnis))
        decided = room.Room(clusters, f"{clusters} cluster(s) at once, as asked (--clusters)")
    else:
        decided = room.clusters_at_once(hostload.cpus(), room.available_mib(), measured)
    print(f"cnimatrix matrix: {len(cnis)} CNIs, {decided.why} ({'offline' if offline else 'online'}: {why}), "
          f"{shape.describe()}: " + ", ".join(names), flush=True)
    for cni in cnis:  # results of an earlier run must not pass for this one's
        for name in ("summary.json", "junit.xml"):
            (folder(cni, shape) / name).unlink(missing_ok=True)
        shutil.rmtree(folder(cni, shape) / "allure-results", ignore_errors=True)
    started = time.monotonic()
    if decided.clusters > 1:
        shares, failed, stopped = side_by_side(cnis, decided.clusters, keep, offline, shape)
    else:
        shares, failed, stopped = one_at_a_time(cnis, keep, offline, shape)
    print("\n=== comparison ===", flush=True)
    subprocess.run([sys.executable, "-m", "cnimatrix.compare", *(folder(cni, shape).name for cni in cnis)], cwd=REPO_ROOT)
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


def build_images(cni: cni_catalog.Cni, offline: bool) -> str:
    """Offline, build the CNI's images; '' when they are ready, else the build's last line."""
    if not offline:
        return ""
    build = subprocess.run([sys.executable, "-m", "cnimatrix.images", "--cni", cni.name], cwd=REPO_ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(build.stdout)
    return "" if build.returncode == 0 else last_line(build.stdout)


def run_command(cni: cni_catalog.Cni, keep: bool, shape: shapes.Shape = shapes.DEFAULT) -> list[str]:
    # Every suite, the opt-in ones (perf) included: a matrix is where CNIs are compared.
    suites = [arg for suite in RUN_ORDER for arg in ("--suite", suite)]
    shaped = ["--ip-family", shape.ip_family, "--proxy-mode", shape.proxy_mode] if shape != shapes.DEFAULT else []
    return [sys.executable, "-m", "cnimatrix", "run", "--cni", cni.name, *suites, *shaped, *(["--keep"] if keep else [])]


def judge_exit(cni: cni_catalog.Cni, code: int, offline: bool, failed: list[str], shape: shapes.Shape) -> None:
    if code != 0 and code not in SIGNALLED:
        failed.append(cni.name)
        if not (folder(cni, shape) / "summary.json").exists():
            write_unrun(cni, "preflight-failed", f"`cnimatrix run` exited {code} before any scenario ran", offline, shape)


def one_at_a_time(cnis: list[cni_catalog.Cni], keep: bool, offline: bool, shape: shapes.Shape
                  ) -> tuple[dict[str, float], list[str], int | None]:
    shares: dict[str, float] = {}
    failed: list[str] = []
    stopped: int | None = None
    for index, cni in enumerate(cnis, 1):
        if stopped is not None:
            write_unrun(cni, "interrupted", f"matrix stopped by {SIGNALLED[stopped]} before {cni.name} ran", offline, shape)
            continue
        print(f"\n=== [{index}/{len(cnis)}] {cni.name} ===", flush=True)
        began = time.monotonic()
        problem = build_images(cni, offline)
        if problem:
            write_unrun(cni, "preflight-failed", f"images: {problem}", offline, shape)
            shares[cni.name] = time.monotonic() - began
            failed.append(cni.name)
            continue
        code = run_stoppable(run_command(cni, keep, shape))
        shares[cni.name] = time.monotonic() - began
        if code in SIGNALLED:
            stopped = code
        judge_exit(cni, code, offline, failed, shape)
    return shares, failed, stopped


def side_by_side(cnis: list[cni_catalog.Cni], clusters: int, keep: bool, offline: bool, shape: shapes.Shape
                 ) -> tuple[dict[str, float], list[str], int | None]:
    """Build every CNI's images first, then run up to `clusters` CNIs at once, each writing its
    output to run.log in its results folder."""
    shares: dict[str, float] = {}
    failed: list[str] = []
    ready = []
    for cni in cnis:
        began = time.monotonic()
        problem = build_images(cni, offline)
        shares[cni.name] = time.monotonic() - began
        if problem:
            write_unrun(cni, "preflight-failed", f"images: {problem}", offline, shape)
            failed.append(cni.name)
        else:
            ready.append(cni)
    jobs = [(cni.name, run_command(cni, keep, shape), folder(cni, shape) / "run.log") for cni in ready]
    codes, stopped, took = run_many(jobs, clusters)
    for cni in ready:
        shares[cni.name] += took.get(cni.name, 0.0)   # side by side, the shares add up to more than the wall time
        if cni.name not in codes:
            write_unrun(cni, "interrupted", f"matrix stopped by {SIGNALLED.get(stopped, 'a signal')} before {cni.name} ran",
                        offline, shape)
            continue
        judge_exit(cni, codes[cni.name], offline, failed, shape)
    return shares, failed, stopped
