"""The `cnimatrix` command: `run` (one CNI's conformance run, from preflight to reports/<cni>/), `matrix`,
`list` and `clean`."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from cnimatrix import breakage
from cnimatrix import cni as cni_catalog
from cnimatrix import mode, preflight
from cnimatrix.cni import shapes
from cnimatrix.registry import pull_path
from cnimatrix.registry.mirrors import MirrorError
from cnimatrix.run import matrix, ownership
from cnimatrix.run.process import run_stoppable, stop_early
from cnimatrix.results.suites import DEFAULT_SUITES, OPT_IN_SUITES, RUN_ORDER

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CNI = preflight.DEFAULT_CNI  # builds and enforces NetworkPolicy on every host, online or offline


def error(message: str, code: int = 1) -> int:
    print(f"cnimatrix: {message}", file=sys.stderr)
    return code


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line and exit 2, not the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argument that counts something: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def input_problem(args: argparse.Namespace, cni: cni_catalog.Cni, shape: shapes.Shape, suites: list[str]) -> str | None:
    """Settings and arguments that are wrong whatever the host: no Docker needed, nothing created."""
    problem = preflight.offline_setting() or pull_path.setting_problem()
    if not problem and args.breakage and shape.distinct:
        # The breakages act on the default shape's rules (iptables chains): elsewhere they would miss.
        return f"--break runs on the default shape only ({shapes.DEFAULT.describe()}), not {shape.describe()}"
    if not problem and args.breakage:
        try:
            chosen = breakage.load(args.breakage)
        except breakage.BreakageError as exc:
            return str(exc)
        if not chosen.applies_to(cni.name):
            return f"breakage {chosen.name} breaks part of {', '.join(chosen.cnis)}, not {cni.name}"
    if not problem and args.cluster:
        problem = preflight.cluster_name_problem(args.cluster)
    if not problem and args.kubeconfig:
        problem = preflight.kubeconfig_problem(args.kubeconfig)
    if not problem and args.k:
        problem = preflight.selection_problem(suites, args.k, cni.name)
    return problem


def claim_cluster(args: argparse.Namespace, cni: cni_catalog.Cni, shape: shapes.Shape) -> ownership.Record | str:
    """Host checks, then this run's claim on its cluster name (refused while a live run holds it),
    then what a killed run left behind goes. Returns the claim, or why the run cannot start."""
    from cnimatrix.cluster.kind import tool

    name = args.cluster or shape.cluster_name(cni.name)
    problem = (preflight.host_problem(cni) or preflight.shape_host_problem(shape)
               or preflight.name_problem(name, str(tool("kind"))))
    if problem:
        return problem
    try:
        record = ownership.claim(name, cni.name, keep=args.keep, command=" ".join(["cnimatrix", *sys.argv[1:]]))
    except ownership.Busy as exc:
        return str(exc)
    kind = str(tool("kind"))
    found = ownership.leftovers(ownership.read_all(), ownership.kind_clusters(kind), ownership.helper_containers(),
                                ownership.boot_id())
    removed = ownership.remove(found, kind) if found else ""
    if removed:
        print(f"cnimatrix: {removed} (left by a run that was killed)", flush=True)
    return record


def run(args: argparse.Namespace) -> int:
    try:
        cni = cni_catalog.load(args.cni)
    except cni_catalog.UnknownCni as exc:
        return error(str(exc), 2)
    except cni_catalog.CniDataError as exc:
        return error(f"invalid CNI data: {exc}", 2)
    try:
        _, shaped = cni.shaped(shapes.Shape(args.ip_family, args.proxy_mode))
    except shapes.ShapeRefused as exc:
        return error(str(exc), 2)
    suites = [str(REPO_ROOT / "suites" / s) for s in (args.suite or DEFAULT_SUITES)]
    record = None
    # Until the suites start, Ctrl-C or SIGTERM stops the checks with one line (no traceback).
    previous = {s: signal.signal(s, stop_early) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        problem = input_problem(args, cni, shaped.shape, suites)
        if not problem and args.kubeconfig and args.cluster:
            problem = preflight.reuse_check(args.cluster, args.kubeconfig)
        if problem:
            return error(problem, 2)
        if not args.kubeconfig:
            claimed = claim_cluster(args, cni, shaped.shape)
            if isinstance(claimed, str):
                return error(claimed, 2)
            record = claimed
    except KeyboardInterrupt as exc:
        name = exc.args[0] if exc.args else "SIGINT"
        if record is not None:
            ownership.finish(record)
        return error(f"stopped by {name} before the suites started; no cluster was created", 128 + signal.Signals[name])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    try:
        return run_suites(args, cni, shaped, suites, record)
    finally:
        if record is not None:
            ownership.finish(record)


def run_suites(args: argparse.Namespace, cni: cni_catalog.Cni, shaped: shapes.Resolved, suites: list[str],
               record: ownership.Record | None) -> int:
    out = Path(args.out) if args.out else REPO_ROOT / "reports" / shaped.shape.folder(cni.name)
    out.mkdir(parents=True, exist_ok=True)
    # sys-level capture only: progress lines written to the real stderr (cluster creation, image
    # loading, waiting for readiness) reach the terminal as they happen.
    cmd = [sys.executable, "-m", "pytest", *suites, "-p", "no:cacheprovider", "--capture=sys", "--rootdir", str(REPO_ROOT),
           "-c", str(REPO_ROOT / "pyproject.toml"),
           "--cni", cni.name, "--results-dir", str(out), "--junitxml", str(out / "junit.xml"),
           "--alluredir", str(out / "allure-results"), "--clean-alluredir", "-o", "junit_family=xunit2",
           "--workers", str(args.workers), "--ip-family", args.ip_family, "--proxy-mode", args.proxy_mode]
    if args.keep:
        cmd.append("--keep-cluster")
    if args.kubeconfig:
        cmd += ["--existing-kubeconfig", args.kubeconfig]
    if args.cluster:
        cmd += ["--cluster", args.cluster]
    if args.k:
        cmd += ["-k", args.k]
    if args.breakage:
        cmd += ["--break", args.breakage]
    if args.concurrency is not None:
        cmd += ["--concurrency", str(args.concurrency)]
    cmd += args.pytest_args
    print(f"cnimatrix: running {', '.join(args.suite or DEFAULT_SUITES)} suite(s) on {cni.name} ({shaped.describe()}); "
          f"results in {out}", flush=True)
    # pytest runs in its own session and outlives a SIGKILLed parent: its pid keeps the claim live.
    return run_stoppable(cmd, started=(lambda pid: ownership.add_owner(record, pid)) if record else None)


def clean() -> int:
    """Every cnimatrix cluster no live run owns (kept ones too), their helpers and the firewall
    rule; a user's own kind clusters and live runs' clusters stay."""
    from cnimatrix.cluster.kind import ClusterError, tool

    try:
        kind = str(tool("kind"))
    except ClusterError as exc:
        return error(str(exc))
    found = ownership.leftovers(ownership.read_all(), ownership.kind_clusters(kind), ownership.helper_containers(),
                                ownership.boot_id(), everything=True)
    removed = ownership.remove(found, kind)
    print(f"cnimatrix: {removed or 'nothing to remove'}"
          + (f"; left alone, in use by a live run: {', '.join(found.live)}" if found.live else ""))
    return 0


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the nodes get the images the node image lacks (cnimatrix/registry/pull_path.py); set
    as the environment variables the runs read, so Make and the CLI say the same thing."""
    parser.add_argument("--registry-mirror", metavar="SPEC",
                        help="pull through your mirror: host:port, or registry=host[:port][/path],... per registry "
                             "(the same as REGISTRY_MIRROR; see README)")
    parser.add_argument("--images-via", choices=pull_path.VIA_CHOICES,
                        help="offline: pull from the local registry (default) or import into each node (IMAGES_VIA)")


def export_image_arguments(args: argparse.Namespace) -> None:
    if getattr(args, "registry_mirror", None):
        os.environ["REGISTRY_MIRROR"] = args.registry_mirror
    if getattr(args, "images_via", None):
        os.environ["IMAGES_VIA"] = args.images_via


def kind_config_example(args: argparse.Namespace) -> int:
    """Print the kind config a run would use with the given mirrors, writing their hosts.toml files."""
    from cnimatrix.cluster.kind import kind_config
    from cnimatrix.registry.mirrors import parse, readable_yaml, with_mirrors, write_hosts

    spec = args.registry_mirror or os.environ.get("REGISTRY_MIRROR", "")
    if not spec:
        return error("kind-config needs --registry-mirror SPEC (or REGISTRY_MIRROR)", 2)
    try:
        mirrors = parse(spec)
        cni = cni_catalog.load(args.cni)
    except (MirrorError, cni_catalog.UnknownCni, cni_catalog.CniDataError) as exc:
        return error(str(exc), 2)
    folder = write_hosts(mirrors, Path(args.certs_dir))
    sys.stdout.write(f"# kind config for {cni.name} pulling through {spec}; hosts.toml files in {folder}:\n")
    for mirror in mirrors.values():
        sys.stdout.write(f"#   {mirror.registry}/hosts.toml: {mirror.describe()}\n")
    sys.stdout.write(readable_yaml(with_mirrors(kind_config(cni), folder)))
    return 0


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """The run's shape beside its CNI (cnis/*.yaml `shapes:` says which ones each CNI runs in)."""
    parser.add_argument("--ip-family", choices=shapes.IP_FAMILIES, default=shapes.DEFAULT_IP_FAMILY,
                        help="the cluster's IP family (default ipv4)")
    parser.add_argument("--proxy-mode", choices=shapes.PROXY_MODES, default=shapes.DEFAULT_PROXY_MODE,
                        help="kube-proxy's mode (default iptables; a CNI that replaces kube-proxy takes only the default)")


def main(argv=None) -> int:
    parser = OneLineParser(prog="cnimatrix", description="Kubernetes networking conformance across CNIs")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="create a kind cluster with a CNI, run the suites, write reports/<cni>/")
    p_run.add_argument("--cni", default=DEFAULT_CNI, help=f"one of: {', '.join(cni_catalog.known())}")
    p_run.add_argument("--suite", action="append", choices=RUN_ORDER,
                       help=f"run only this suite (repeatable; {', '.join(OPT_IN_SUITES)} run only when named here)")
    p_run.add_argument("--keep", action="store_true", help="keep the cluster afterwards")
    p_run.add_argument("--kubeconfig", help="test this existing cluster instead of creating one")
    p_run.add_argument("--workers", type=int, default=2, help="kind worker nodes")
    add_shape_arguments(p_run)
    add_image_arguments(p_run)
    p_run.add_argument("--out", help="results folder (default reports/<cni>, reports/<cni>-<shape> for another shape)")
    p_run.add_argument("--cluster", help="kind cluster name (default cnimatrix-<cni>[-<shape>]); with --kubeconfig, "
                                         "a kept cnimatrix cluster to reuse, node-level scenarios included")
    p_run.add_argument("-k", help="pytest -k expression to select scenarios")
    p_run.add_argument("--break", dest="breakage", help="negative control: break the cluster this way (see manifests/breakages)")
    p_run.add_argument("--concurrency", type=positive_int, metavar="N",
                       help="scenarios at once where a suite allows it (NetworkPolicy cases; 1: one at a time)")
    p_run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    p_matrix = sub.add_parser("matrix", help="run every chosen CNI (side by side when the host has room), then build the comparison")
    p_matrix.add_argument("--cni", action="append", help="a CNI to include (repeatable; default: every CNI this host can run)")
    p_matrix.add_argument("--keep", action="store_true", help="keep each cluster afterwards")
    add_shape_arguments(p_matrix)
    add_image_arguments(p_matrix)
    p_matrix.add_argument("--clusters", type=positive_int, metavar="N",
                          help="clusters at once (default: as many as the host has room for, from the footprints "
                               "earlier runs measured; one when any is unmeasured)")
    p_list = sub.add_parser("list", help="list the known CNIs (--scenarios: every scenario, as docs/scenarios.md)")
    p_list.add_argument("--scenarios", action="store_true", help="the scenarios from the suites' titles and markers, as Markdown")
    sub.add_parser("clean", help="delete every kind cluster cnimatrix created (cnimatrix-*)")
    p_kind = sub.add_parser("kind-config", help="print the kind config that pulls through --registry-mirror, and write its hosts.toml files")
    p_kind.add_argument("--registry-mirror", metavar="SPEC", help="as for run (default: REGISTRY_MIRROR)")
    p_kind.add_argument("--cni", default=DEFAULT_CNI, help="the CNI whose kind config to start from")
    p_kind.add_argument("--certs-dir", default="kind-mirrors/certs.d", help="where to write the hosts.toml files (default kind-mirrors/certs.d)")
    args = parser.parse_args(argv)
    export_image_arguments(args)
    if args.command == "kind-config":
        return kind_config_example(args)
    if args.command == "clean":
        return clean()
    if args.command == "matrix":
        asked = shapes.Shape(args.ip_family, args.proxy_mode)
        try:
            names = args.cni or matrix.runnable_here()
            unknown = [n for n in names if n not in cni_catalog.known()]
            refused = {n: matrix.refusal(n, asked) for n in names if n not in unknown}
        except (mode.BadSetting, cni_catalog.CniDataError) as exc:
            return error(str(exc), 2)
        problem = pull_path.setting_problem()
        if problem:
            return error(problem, 2)
        if unknown:
            return error(f"unknown CNI(s) {', '.join(unknown)}; known CNIs: {', '.join(cni_catalog.known())}", 2)
        if args.cni and any(refused.values()):
            return error(next(why for why in refused.values() if why), 2)
        for name, why in refused.items():  # the whole catalog: leave out the CNIs that do not run in this shape
            if why:
                print(f"cnimatrix matrix: {name} left out: {why}", flush=True)
        names = [n for n in names if not refused.get(n)]
        return matrix.run_matrix(names, keep=args.keep, clusters=args.clusters, shape=asked)
    if args.command == "list" and args.scenarios:
        from cnimatrix.docgen import scenarios  # collects the suites with pytest: only when asked
        sys.stdout.write(scenarios.render())
        return 0
    if args.command == "list":
        for name in cni_catalog.known():
            print(f"{name:12} {cni_catalog.load(name).description}")
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
