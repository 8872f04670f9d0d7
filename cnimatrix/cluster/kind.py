"""kind clusters for cnimatrix: create from a config, install the CNI, wait for Ready, delete.

pytest-kind-ng's KindCluster drives the kind binary; it is given the project's kind, kubectl and
node image so that it never downloads anything.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from kubernetes import client, config as kube_config
from pytest_kind import KindCluster

from cnimatrix import hostload
from cnimatrix import versions as V
from cnimatrix.cluster import crds, guard, node_images, policy_crds
from cnimatrix.cni import Cni, merge_kind_config, patches
from cnimatrix.images.build import output_dir
from cnimatrix.registry import local as local_registry, pulls
from cnimatrix.upstream import UpstreamError

REPO_ROOT = Path(__file__).resolve().parents[2]


class ClusterError(RuntimeError):
    """A cluster that could not be created or never became Ready."""


def tool(name: str) -> Path:
    """The kind/kubectl/helm this project built, else the one on PATH."""
    built = {"kind": output_dir("kind") / "bin" / "kind", "kubectl": output_dir("kubernetes") / "bin" / "kubectl",
             "helm": output_dir("helm") / "bin" / "helm"}[name]
    if built.exists():
        return built
    found = shutil.which(name)
    if not found:
        version = {"kind": V.KIND, "kubectl": V.KUBERNETES, "helm": V.HELM}[name]
        raise ClusterError(f"{name} not found: run `make images` (it builds {name} from its Go module) or install {name} {version} on PATH")
    return Path(found)


class LocalKindCluster(KindCluster):
    """KindCluster that refuses to download kind or kubectl."""

    def ensure_kind(self):
        if not self.kind_path.exists():
            raise ClusterError(f"kind binary {self.kind_path} missing (downloads are disabled)")

    def ensure_kubectl(self):
        if not self.kubectl_path.exists():
            raise ClusterError(f"kubectl binary {self.kubectl_path} missing (downloads are disabled)")


def base_config(workers: int = 2) -> dict:
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [{"role": "control-plane"}] + [{"role": "worker"} for _ in range(workers)],
        # Kubernetes >= 1.35 refuses cgroup v1 by default; hosts like this one are still v1 to Docker.
        "kubeadmConfigPatches": ["kind: KubeletConfiguration\nfailCgroupV1: false\n"],
    }


def kind_config(cni: Cni, workers: int = 2) -> dict:
    return merge_kind_config(base_config(workers), cni.kind_config)


def say(message: str) -> None:
    # sys.__stderr__: progress must show even while pytest captures output of fixtures
    print(f"[cluster] {message}", file=sys.__stderr__, flush=True)


@dataclass
class Cluster:
    """A kind cluster for one CNI, created by us or given as an existing kubeconfig. `existing`: this
    run did not create it and never deletes it; `kind_nodes`: its nodes are Docker containers of a kind
    cluster cnimatrix created (a fresh one, or a kept one reused), so node-level steps and clients on
    its Docker network are possible."""

    name: str
    kubeconfig: Path
    existing: bool = False
    kind_nodes: bool = True
    kind: LocalKindCluster | None = None
    timings: dict = field(default_factory=dict)
    node_count: int = 0

    def api(self) -> client.ApiClient:
        return kube_config.new_client_from_config(str(self.kubeconfig))

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        proc = subprocess.run([str(tool("kubectl")), "--kubeconfig", str(self.kubeconfig), *args],
                              input=input, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()[:400]}")
        return proc.stdout

    def node_names(self) -> list[str]:
        return [n.metadata.name for n in client.CoreV1Api(self.api()).list_node().items]

    def node_roles(self) -> tuple[dict[str, str], list[str], list[str]]:
        """({node: InternalIP}, sorted workers, sorted control-plane nodes)."""
        ips, workers, control = {}, [], []
        for node in client.CoreV1Api(self.api()).list_node().items:
            ips[node.metadata.name] = next(a.address for a in node.status.addresses if a.type == "InternalIP")
            labels = node.metadata.labels or {}
            (control if "node-role.kubernetes.io/control-plane" in labels else workers).append(node.metadata.name)
        return ips, sorted(workers), sorted(control)

    def node_containers(self, include_stopped: bool = False) -> list[str]:
        """The Docker containers that are this kind cluster's nodes (none for an existing cluster)."""
        if not self.kind_nodes:
            return []
        args = ["docker", "ps", "--filter", f"label=io.x-k8s.kind.cluster={self.name}", "--format", "{{.Names}}"]
        if include_stopped:
            args.insert(2, "-a")
        return subprocess.run(args, capture_output=True, text=True).stdout.split()

    def delete(self) -> None:
        if self.kind is not None and not self.existing:
            say(f"deleting cluster {self.name}")
            subprocess.run([str(self.kind.kind_path), "delete", "cluster", "--name", self.name], capture_output=True)
            remove_helpers(self.name)
            # The registry first: the confinement rule is released only once nothing is left on the network.
            for done in (local_registry.stop_if_unused("kind"), guard.release("kind")):
                if done:
                    say(done)


HELPER_LABEL = "io.cnimatrix.cluster"  # on containers a run starts beside a cluster (outside clients)


def remove_helpers(cluster_name: str | None = None) -> int:
    """Remove the helper containers of one cluster (or of every cnimatrix cluster); returns how many."""
    label = HELPER_LABEL if cluster_name is None else f"{HELPER_LABEL}={cluster_name}"
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True).stdout.split()
    if found:
        subprocess.run(["docker", "rm", "-f", *found], capture_output=True)
    return len(found)


def create(name: str, cni: Cni, workdir: Path, image: str | None = V.NODE_IMAGE, workers: int = 2,
           confine_network: bool = True, pull=None) -> Cluster:
    """Create the cluster (replacing a leftover of the same name). `confine_network` (offline
    hosts) rejects traffic from the kind network to anywhere else, see guard.py. `pull` (a
    registry.pull_path.PullPath) mounts its registry mirrors into the nodes."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "kind-config.yaml"
    config = kind_config(cni, workers)
    if pull is not None:
        config = pull.kind_config(config, workdir)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    kind = LocalKindCluster(name, kubeconfig=workdir / "kubeconfig", image=image,
                            kind_path=tool("kind"), kubectl_path=tool("kubectl"))
    kind.ensure_kind()
    leftovers = subprocess.run([str(kind.kind_path), "get", "clusters"], capture_output=True, text=True).stdout.split()
    if name in leftovers:
        say(f"removing leftover cluster {name}")
        subprocess.run([str(kind.kind_path), "delete", "cluster", "--name", name], capture_output=True)
    cluster = Cluster(name=name, kubeconfig=kind.kubeconfig_path, kind=kind, node_count=1 + workers)
    say(f"creating {name}: 1 control plane + {workers} workers, image {image}, CNI {cni.name}")
    started = time.monotonic()
    try:
        kind.create(config_file=config_path)
    except subprocess.CalledProcessError as exc:
        load, cores = hostload.load_1m(), hostload.cpus()
        # kind gives each node's systemd a fixed time to boot; a starved host misses it.
        busy = (f"; the host's load is {load:.0f} on {cores} core(s): nodes may not have booted in the time kind allows, "
                "try again when the host is quieter") if hostload.overloaded(load, cores) else ""
        raise ClusterError(f"kind create cluster failed (exit {exc.returncode}); see the kind output above{busy}") from exc
    except BaseException:  # interrupted half-way: leave no node containers behind
        cluster.delete()
        raise
    cluster.timings["cluster_create"] = round(time.monotonic() - started, 1)
    say(f"cluster created in {cluster.timings['cluster_create']}s")
    if confine_network:
        say(guard.confine("kind"))
    return cluster


def load_images(cluster: Cluster, images: list[str], workdir: Path) -> float:
    """Import locally built images into the nodes that lack them (node_images). Returns the seconds taken."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return node_images.load(cluster.node_containers(), images, workdir, say=say)
    except node_images.ImageLoadError as exc:
        raise ClusterError(str(exc)) from exc


def push_images(images: list[str]) -> dict:
    """Offline through the registry: start it (on the kind network) and make it hold `images`.
    `seconds` counts both, this path's share of getting images to the nodes."""
    started = time.monotonic()
    try:
        say(local_registry.ensure("kind"))
        pushed = local_registry.push(images, say=say)
    except local_registry.RegistryError as exc:
        raise ClusterError(str(exc)) from exc
    return {**pushed, "seconds": round(time.monotonic() - started, 1)}


def install_cni(cluster: Cluster, cni: Cni) -> None:
    try:   # before the CNI: one that implements cluster-wide policy watches them from its start
        policy_crds.install(cluster, say=say)
    except (UpstreamError, crds.NotEstablished) as exc:
        raise ClusterError(f"cluster-wide policy CRDs: {exc}") from exc
    if cni.install.source == "builtin":
        return  # kind applied it from the node image during create
    if cni.install.source == "helm":
        rendered = render_chart(cluster, cni)
        say(f"applying {cni.install.module}@{cni.install.version}: {cni.install.chart} (helm template, {rendered.name})")
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(rendered))
        return
    for path in manifest_files(cni, cluster.kubeconfig.parent, cluster.name):
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else f"{cni.install.module}@{cni.install.version}: {path.name}"
        say(f"applying {shown}")
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))


def manifest_files(cni: Cni, folder: Path, cluster_name: str) -> list[Path]:
    """The manifests a source=manifest or module CNI applies, in order: the files as released, or the
    copies in `folder` its patches changed (their values with ${control_plane} filled in for `cluster_name`)."""
    if cni.install.source not in ("manifest", "module"):
        raise ClusterError(f"CNI {cni.name}: install source {cni.install.source} is not supported yet")
    try:
        paths = cni.install.manifest_paths(REPO_ROOT)
        if cni.install.manifest_patches:
            filled = tuple(replace(p, set=tuple((path, fill_control_plane(value, cluster_name)) for path, value in p.set))
                           for p in cni.install.manifest_patches)
            paths = patches.patched_files(paths, filled, folder)
    except (UpstreamError, patches.PatchError) as exc:
        raise ClusterError(f"CNI {cni.name}: {exc}") from exc
    return paths


def fill_control_plane(values, cluster_name: str):
    """The catalog's chart values (or a manifest patch's) with ${control_plane} (the API server's node
    name, resolvable on the kind network) filled in for the cluster of that name."""
    if isinstance(values, dict):
        return {k: fill_control_plane(v, cluster_name) for k, v in values.items()}
    if isinstance(values, list):
        return [fill_control_plane(v, cluster_name) for v in values]
    if isinstance(values, str):
        return values.replace("${control_plane}", f"{cluster_name}-control-plane")
    return values


def render_chart(cluster: Cluster, cni: Cni) -> Path:
    """`helm template` of the CNI's chart for this cluster, kept beside the kubeconfig for diagnostics."""
    return template_chart(cni, cluster.name, cluster.kubeconfig.parent)


def template_chart(cni: Cni, cluster_name: str, folder: Path) -> Path:
    """`helm template` of the CNI's chart, read from its pinned module, with the catalog's values filled
    for the cluster `cluster_name` (none needs to exist); the values and the manifest are written to `folder`."""
    install = cni.install
    try:
        chart = install.chart_dir()
    except UpstreamError as exc:
        raise ClusterError(f"CNI {cni.name}: {exc}") from exc
    values = folder / f"{cni.name}-values.yaml"
    values.write_text(yaml.safe_dump(fill_control_plane(install.values, cluster_name), sort_keys=False))
    proc = subprocess.run([str(tool("helm")), "template", chart.name, str(chart), "--namespace", install.chart_namespace,
                           "--kube-version", V.KUBERNETES, "--values", str(values)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"helm template {install.chart} failed: {proc.stderr.strip()[:400]}")
    rendered = folder / f"{cni.name}-rendered.yaml"
    rendered.write_text(proc.stdout)
    return rendered


def _node_ready(node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def _rule_ready(api: client.ApiClient, rule) -> tuple[bool, str]:
    apps = client.AppsV1Api(api)
    try:
        if rule.kind == "DaemonSet":
            s = apps.read_namespaced_daemon_set(rule.name, rule.namespace).status
            ok = s.desired_number_scheduled > 0 and s.number_ready == s.desired_number_scheduled == (s.updated_number_scheduled or 0)
            return ok, f"{s.number_ready}/{s.desired_number_scheduled} ready"
        if rule.kind == "Deployment":
            d = apps.read_namespaced_deployment(rule.name, rule.namespace)
            want, have = d.spec.replicas or 0, d.status.available_replicas or 0
            return want > 0 and have == want, f"{have}/{want} available"
        s = apps.read_namespaced_stateful_set(rule.name, rule.namespace)
        return (s.status.ready_replicas or 0) == s.spec.replicas, f"{s.status.ready_replicas or 0}/{s.spec.replicas} ready"
    except client.ApiException as exc:
        if exc.status == 404:
            return False, "not created yet"
        raise


LOG_SCAN_LINES = 400
# What names the cause in an agent's log: errors, and the kernel or permission refusals behind them.
TELLING = re.compile(r"level=(error|fatal)|\b(ERROR|FATAL)\b|not supported|not permitted|CONFIG_[A-Z0-9_]+|kernel", re.I)


def telling_lines(lines: list[str], count: int) -> list[str]:
    """The last `count` lines of a log, led by up to 3 earlier lines that name a cause (an error,
    a missing kernel feature) which the tail would otherwise hide."""
    tail = lines[-count:]
    earlier = [line for line in lines[:-count] if TELLING.search(line)]
    seen, causes = set(), []
    for line in reversed(earlier):  # the most recent of each distinct message
        key = line.split("msg=", 1)[-1][:120]
        if key not in seen:
            seen.add(key)
            causes.insert(0, line)
        if len(causes) == 3:
            break
    return causes + (["..."] if causes else []) + tail


def unready_pods(api: client.ApiClient, rules, log_lines: int = 8) -> list[str]:
    """For workloads that never became ready: each unready pod, why, and its last log lines (of
    the init container it is stuck in, else of its first unready container)."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    read = {"DaemonSet": apps.read_namespaced_daemon_set, "Deployment": apps.read_namespaced_deployment,
            "StatefulSet": apps.read_namespaced_stateful_set}
    lines: list[str] = []
    for rule in rules:
        try:
            labels = read[rule.kind](rule.name, rule.namespace).spec.selector.match_labels or {}
        except client.ApiException as exc:
            lines.append(f"{rule.kind.lower()}/{rule.namespace}/{rule.name}: {exc.reason}")
            continue
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        for pod in core.list_namespaced_pod(rule.namespace, label_selector=selector).items:
            statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
            stuck = next((c for c in pod.status.init_container_statuses or [] if not c.ready), None) \
                or next((c for c in pod.status.container_statuses or [] if not c.ready), None)
            if stuck is None and statuses:
                continue
            why = pod.status.phase or "Unknown"
            if stuck is not None:
                state = stuck.state
                detail = (state.waiting and f"waiting: {state.waiting.reason}") or \
                    (state.terminated and f"exited {state.terminated.exit_code}: {state.terminated.reason}") or "running, not ready"
                why = f"container {stuck.name} {detail}, restarts {stuck.restart_count}"
            lines.append(f"pod {rule.namespace}/{pod.metadata.name} on {pod.spec.node_name}: {why}")
            if stuck is None:
                continue
            try:
                log = core.read_namespaced_pod_log(pod.metadata.name, rule.namespace, container=stuck.name,
                                                   tail_lines=LOG_SCAN_LINES, previous=bool(stuck.restart_count and not stuck.state.running))
            except client.ApiException as exc:
                log = f"(no log: {exc.reason})"
            lines.extend(f"  | {line[:240]}" for line in telling_lines((log or "(empty log)").splitlines(), log_lines))
    return lines


def wait_ready(cluster: Cluster, cni: Cni, timeout_s: float | None = None) -> float:
    """Wait until every node is Ready, every CNI readiness rule holds and CoreDNS is available."""
    from cnimatrix.cni import ReadinessRule

    timeout_s = timeout_s or cni.ready_timeout_s
    rules = list(cni.readiness) + [ReadinessRule(kind="Deployment", namespace="kube-system", name="coredns")]
    api = cluster.api()
    core = client.CoreV1Api(api)
    started = time.monotonic()
    last_report, state = 0.0, ""
    while True:
        nodes = core.list_node().items
        not_ready = [n.metadata.name for n in nodes if not _node_ready(n)]
        checks = [(f"{r.kind.lower()}/{r.namespace}/{r.name}", *_rule_ready(api, r)) for r in rules]
        state = f"nodes {len(nodes) - len(not_ready)}/{len(nodes)} Ready; " + "; ".join(f"{n} {d}" for n, _, d in checks)
        elapsed = time.monotonic() - started
        if nodes and not not_ready and all(ok for _, ok, _ in checks):
            say(f"ready after {elapsed:.0f}s: {state}")
            return round(elapsed, 1)
        missing = missing_images(api, {r.namespace for r in rules})
        if missing:   # the registry said the image does not exist: waiting cannot help
            raise ClusterError("image(s) not found in any registry the nodes pull from: " + "; ".join(missing))
        if elapsed > timeout_s:
            culprits = unready_pods(api, [r for r, (_, ok, _) in zip(rules, checks) if not ok])
            raise ClusterError(f"cluster {cluster.name} not ready after {timeout_s:.0f}s: {state}"
                               + "".join(f"\n  {line}" for line in culprits))
        if elapsed - last_report >= 15:
            say(f"waiting ({elapsed:.0f}s): {state}")
            last_report = elapsed
        time.sleep(2)


def missing_images(api: client.ApiClient, namespaces: set[str]) -> list[str]:
    """Images the nodes were told do not exist, from the pods of `namespaces` (pulls.unpullable)."""
    core = client.CoreV1Api(api)
    pods = [api.sanitize_for_serialization(pod) for ns in sorted(namespaces) for pod in core.list_namespaced_pod(ns).items]
    return pulls.unpullable(pods)


def cni_status_commands(cluster: Cluster, cni: Cni, pods_each: int | None = None) -> list[tuple[str, list[str]]]:
    """The CNI's own status commands (`diagnostics:` in its catalog file) as (file name, kubectl
    arguments), one per matching pod (at most `pods_each` per command)."""
    commands = []
    for diag in getattr(cni, "diagnostics", ()):
        pods = cluster.kubectl("get", "pods", "-n", diag.namespace, "-l", diag.selector, "-o", "name", check=False).split()
        for pod in pods[:pods_each]:
            commands.append((f"cni-{diag.name}-{pod.split('/')[-1]}.txt",
                             ["exec", "-n", diag.namespace, pod, "-c", diag.container, "--", *diag.command]))
    return commands


def collect_diagnostics(cluster: Cluster, cni: Cni, folder: Path) -> Path:
    """Node and pod status, events, CNI pod logs and kubelet journals, for a cluster that failed."""
    folder.mkdir(parents=True, exist_ok=True)

    def save(name: str, *args: str) -> None:
        proc = subprocess.run([str(tool("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *args], capture_output=True, text=True)
        (folder / name).write_text(proc.stdout + proc.stderr)

    save("nodes.txt", "get", "nodes", "-o", "wide")
    save("pods.txt", "get", "pods", "-A", "-o", "wide")
    save("events.txt", "get", "events", "-A", "--sort-by=.lastTimestamp")
    save("describe-pods-kube-system.txt", "describe", "pods", "-n", "kube-system")
    save("logs-kube-system-coredns.txt", "logs", "-n", "kube-system", "-l", "k8s-app=kube-dns", "--all-containers",
         "--tail=100", "--prefix")
    save("logs-kube-system-coredns-previous.txt", "logs", "-n", "kube-system", "-l", "k8s-app=kube-dns", "--all-containers",
         "--tail=100", "--prefix", "--previous")
    for rule in cni.readiness:
        save(f"describe-{rule.namespace}.txt", "describe", "pods", "-n", rule.namespace)
        save(f"logs-{rule.namespace}-{rule.name}.txt", "logs", "-n", rule.namespace, f"{rule.kind.lower()}/{rule.name}",
             "--all-containers", "--tail=300", "--prefix")
    for name, args in cni_status_commands(cluster, cni):
        save(name, "--request-timeout=60s", *args)
    for node in cluster.node_containers(include_stopped=True):
        proc = subprocess.run(["docker", "exec", node, "journalctl", "--no-pager", "-n", "300", "-u", "kubelet", "-u", "containerd"],
                              capture_output=True, text=True)
        (folder / f"journal-{node}.txt").write_text(proc.stdout + proc.stderr)
    say(f"diagnostics written to {folder}")
    return folder
