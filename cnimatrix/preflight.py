"""Why a run cannot start, found before anything is created: each answer is one line for the user.

`cnimatrix run` asks these in order and exits 2 on the first answer (docs/operations.md, "Bad input"): the
settings and arguments first (no Docker needed), then the host (Docker, disk, tools, images), then
the cluster name (taken by something that is not ours, or by a live run: cnimatrix/run/ownership.py).
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from cnimatrix import mode
from cnimatrix.run import ownership
from cnimatrix import versions as V

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CNI = "calico"
MIN_FREE_BYTES = 5 * 1024**3  # make doctor's failing threshold: three nodes and their images
CLUSTER_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,48}$")  # what kind accepts, kept short for node names
KIND_LABEL = "io.x-k8s.kind.cluster"


# --------------------------------------------------------------------------- settings and arguments


def offline_setting() -> str | None:
    try:
        mode.offline()
    except mode.BadSetting as exc:
        return str(exc)
    return None


def server_of(doc) -> str | None:
    """The API server URL of a kubeconfig's current context, or None when it names none."""
    if not isinstance(doc, dict):
        return None
    by_name = lambda key: {e.get("name"): e.get(key[:-1]) or {} for e in doc.get(key) or [] if isinstance(e, dict)}
    context = by_name("contexts").get(doc.get("current-context"))
    if not isinstance(context, dict):
        return None
    cluster = by_name("clusters").get(context.get("cluster"))
    server = cluster.get("server") if isinstance(cluster, dict) else None
    return server if isinstance(server, str) and server.strip() else None


def answers(server: str, timeout_s: float = 3.0) -> str | None:
    """None when something accepts a TCP connection at the server's address, else why not."""
    parts = urlsplit(server)
    if not parts.hostname:
        return f"{server!r} is not a URL"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"{server!r} has no valid port"
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except socket.gaierror:
        return f"{parts.hostname} does not resolve"
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return f"no answer within {timeout_s:.0f} s"
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    return None


def kubeconfig_problem(path: str) -> str | None:
    """A kubeconfig that is missing, unreadable, names no server or points at nothing."""
    given = Path(path)
    if not given.exists():
        return f"--kubeconfig {path}: no such file"
    if not given.is_file():
        return f"--kubeconfig {path}: not a file"
    try:
        doc = yaml.safe_load(given.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        return f"--kubeconfig {path}: cannot read it ({getattr(exc, 'strerror', None) or exc.__class__.__name__})"
    except yaml.YAMLError:
        return f"--kubeconfig {path}: not a kubeconfig (not YAML)"
    server = server_of(doc)
    if server is None:
        return f"--kubeconfig {path}: its current context names no cluster with a server"
    why = answers(server)
    return f"--kubeconfig {path}: its API server {server} does not answer ({why})" if why else None


def selection_problem(suites: list[str], expression: str, cni: str) -> str | None:
    """`-k` that selects no scenario, or is not a valid expression (pytest collects, nothing runs)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", *suites, "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(REPO_ROOT), "-c", str(REPO_ROOT / "pyproject.toml"), "--cni", cni,
                           "-k", expression], cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode == 5:
        return f"-k {expression!r} selects no scenario of the {', '.join(Path(s).name for s in suites)} suite(s)"
    if proc.returncode == 4:
        said = [line.removeprefix("ERROR: ") for line in (proc.stderr + proc.stdout).splitlines() if line.startswith("ERROR:")]
        return f"-k {expression!r} is not a valid selection: {said[-1] if said else 'pytest usage error'}"
    return None


def cluster_name_problem(name: str) -> str | None:
    if not CLUSTER_NAME.match(name):
        return f"--cluster {name!r}: a kind cluster name is lower-case letters, digits, '.' and '-' (at most 49)"
    return None


# --------------------------------------------------------------------------- the host


def missing_images(images: list[str]) -> list[str]:
    return [tag for tag in images
            if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode != 0]


def disk_problem(free_bytes: int | None, where: str, need: int = MIN_FREE_BYTES) -> str | None:
    if free_bytes is None or free_bytes >= need:
        return None
    return (f"only {free_bytes / 1024**3:.1f} GiB free at {where}; a cluster needs {need / 1024**3:.0f} GiB "
            "(free some, e.g. `docker system prune`)")


def host_problem(cni) -> str | None:
    """Docker reachable, enough disk where it keeps containers, kind present, images offline."""
    info = subprocess.run(["docker", "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True)
    if info.returncode != 0 or not info.stdout.strip():
        return "Docker is not reachable: run `make setup`"
    root = info.stdout.strip()
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        free = None  # a Docker root we cannot stat (another user's); Docker itself will say
    problem = disk_problem(free, root)
    if problem:
        return problem
    from cnimatrix.cluster.kind import ClusterError, tool

    try:
        tool("kind")
    except ClusterError as exc:
        return str(exc)
    offline, why = mode.offline()
    if not offline:
        return None
    from cnimatrix.registry.local import REGISTRY_IMAGE
    from cnimatrix.registry.pull_path import local_registry_wanted

    absent = missing_images([V.NODE_IMAGE, *cni.install.images, *([REGISTRY_IMAGE] if local_registry_wanted() else [])])
    if absent and cni.offline_reason:
        return (f"{cni.name} cannot run on this offline host ({why}): {' '.join(cni.offline_reason.split())} "
                f"Use a CNI whose images build here, e.g. CNI={DEFAULT_CNI}")
    if absent:
        return f"offline ({why}) and these images are missing: {', '.join(absent)}; run `make images CNI={cni.name}`"
    return None


def shape_host_problem(shape) -> str | None:
    """A shape this host cannot build (make doctor says the same): kube-proxy's nftables mode without its
    kernel options, an IPv6 or dual-stack cluster without IPv6 in the kernel or on Docker's kind network."""
    from cnimatrix.doctor import kernel, shape_support

    if shape.proxy_mode != "nftables" and shape.ip_family == "ipv4":
        return None
    status = kernel.kernel_status()
    if shape.ip_family != "ipv4":
        lacking = shape_support.ipv6_lacking(shape_support.shape_host_status(), status.release, status.features,
                                             shape.proxy_mode)
        return f"--ip-family {shape.ip_family} needs what this host lacks: {'; '.join(lacking)}" if lacking else None
    lacking = shape_support.nftables_lacking(status.release, status.features)
    return f"--proxy-mode nftables needs what this host lacks: {', '.join(lacking)}" if lacking else None


# --------------------------------------------------------------------------- the cluster name


def taken(name: str, clusters: list[str], containers: dict[str, str], records: dict[str, ownership.Record]) -> str | None:
    """Why `name` belongs to something that is not ours: a kind cluster cnimatrix did not create,
    or a container named like one of its nodes that is not ({container: its kind cluster label})."""
    if name in clusters and not ownership.ours(name, records):
        return (f"cluster name {name} is taken by a kind cluster cnimatrix did not create (it is left alone); "
                "pick another with --cluster")
    node = re.compile(rf"^{re.escape(name)}-(control-plane\d*|worker\d*|external-load-balancer)$")
    for container, label in sorted(containers.items()):
        if node.match(container) and label != name:
            return f"cluster name {name} is taken: container {container} exists and is not a node of kind cluster {name}"
    return None


def reuse_problem(name: str, kubeconfig: str, server: str | None, clusters: list[str], records: dict[str, ownership.Record],
                  api_port: str | None) -> str | None:
    """`--kubeconfig K --cluster NAME` reuses a kept kind cluster of cnimatrix's (node-level steps and
    clients on its network then run too): NAME must be one, and K must point at its API server
    (`server`: K's, `api_port`: the host port NAME's control plane publishes 6443 on)."""
    if name not in clusters:
        return f"--cluster {name} with --kubeconfig: no kind cluster {name} exists (drop --cluster to test any cluster by kubeconfig)"
    if not ownership.ours(name, records):
        return f"--cluster {name} with --kubeconfig: kind cluster {name} was not created by cnimatrix; drop --cluster to test it by kubeconfig"
    if api_port is None or server is None or urlsplit(server).port != int(api_port):
        return f"--kubeconfig {kubeconfig} does not point at kind cluster {name} (its API server is {server})"
    return None


def reuse_check(name: str, kubeconfig: str) -> str | None:
    from cnimatrix.cluster.kind import ClusterError, tool

    try:
        clusters = ownership.kind_clusters(str(tool("kind")))
    except ClusterError:  # no kind here: then no kind cluster either
        clusters = []
    published = subprocess.run(["docker", "port", f"{name}-control-plane", "6443/tcp"], capture_output=True, text=True).stdout.split()
    port = published[0].rsplit(":", 1)[-1] if published else None
    server = server_of(yaml.safe_load(Path(kubeconfig).read_text()))  # readable: kubeconfig_problem checked it
    return reuse_problem(name, kubeconfig, server, clusters, {r.cluster: r for r in ownership.read_all()}, port)


def name_problem(name: str, kind: str) -> str | None:
    listed = subprocess.run(["docker", "ps", "-a", "--filter", f"name=^{name}-",
                             "--format", f'{{{{.Names}}}}\t{{{{.Label "{KIND_LABEL}"}}}}'], capture_output=True, text=True)
    containers = dict((line.split("\t") + [""])[:2] for line in listed.stdout.splitlines() if line.strip())
    records = {r.cluster: r for r in ownership.read_all()}
    return taken(name, ownership.kind_clusters(kind), containers, records)
