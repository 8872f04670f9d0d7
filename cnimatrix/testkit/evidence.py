"""Evidence on failure: what the usual Kubernetes networking checklist would show for the pods and
nodes of a failed scenario, collected while the cluster is still in the failing state.

For the run's namespaces: pods (wide), recent events, EndpointSlices and a describe of pods that
are not Ready; from a few client pods: `ip addr`, `ip route`, resolv.conf and one lookup inside the
cluster domain; from each kind node: the iptables and nftables rules that name the addresses
involved; and the CNI's own status commands (`diagnostics:` in its catalog file). Every command has
a timeout, every file a size cap and the whole collection a time budget, so a failing run stays fast.
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from cnimatrix.cluster.kind import cni_status_commands, tool
from cnimatrix.testkit.namespaces import RUN_NAMESPACE_SELECTOR

BUDGET_S = 30.0
COMMAND_S = 10.0
FILE_BYTES = 32_000
CLIENT_PODS = 2          # per namespace
ADDRESSES = 40           # at most this many addresses grepped for in node rules

# A lookup that cannot leave the cluster domain: the absolute name of the API Service, with the
# domain read from the pod's own search list ('<ns>.svc.<domain>').
POD_SCRIPT = r"""ip addr; echo; ip route; echo; cat /etc/resolv.conf; echo
d=$(awk '/^search/{print $2; exit}' /etc/resolv.conf); d=${d#*.svc.}
echo "lookup kubernetes.default.svc.$d.:"; getent hosts "kubernetes.default.svc.$d." || echo "(no answer, exit $?)"
"""


def safe_name(nodeid: str) -> str:
    """A test id as a folder name: 'suites/x/test_y.py::test_z[a-b]' -> 'test_y.test_z-a-b'."""
    tail = nodeid.split("/")[-1].replace(".py::", ".")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail).strip("-")[:120]


def capped(text: str, limit: int = FILE_BYTES) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[cut: {len(text) - limit} more characters]\n"


class Collector:
    """Runs bounded commands and writes their output as files in `folder`, until the budget is spent."""

    def __init__(self, folder: Path, budget_s: float = BUDGET_S):
        self.folder, self.deadline = folder, time.monotonic() + budget_s
        self.files: list[Path] = []
        self.skipped: list[str] = []

    def run(self, name: str, argv: list[str], input: str | None = None) -> str:
        left = self.deadline - time.monotonic()
        if left <= 1:
            self.skipped.append(name)
            return ""
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=min(COMMAND_S, left))
            text = proc.stdout + (f"\n[stderr]\n{proc.stderr}" if proc.stderr.strip() else "")
        except subprocess.TimeoutExpired:
            text = f"[timed out after {min(COMMAND_S, left):.0f} s]"
        except OSError as exc:
            text = f"[could not run: {exc}]"
        self.write(name, text)
        return text

    def write(self, name: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        path.write_text(capped(text))
        self.files.append(path)


def collect(cluster, cni, folder: Path, budget_s: float = BUDGET_S) -> list[Path]:
    """Collect the evidence into `folder`; returns the files written (a README.txt last)."""
    out = Collector(folder, budget_s)
    kubectl = [str(tool("kubectl")), "--kubeconfig", str(cluster.kubeconfig), f"--request-timeout={COMMAND_S:.0f}s"]
    namespaces = cluster.kubectl("get", "namespaces", "-l", RUN_NAMESPACE_SELECTOR, "-o", "name", check=False).split()
    addresses: list[str] = []
    for ns in (n.split("/", 1)[-1] for n in namespaces):
        pods = out.run(f"{ns}-pods.txt", [*kubectl, "get", "pods", "-n", ns, "-o", "wide"])
        out.run(f"{ns}-events.txt", [*kubectl, "get", "events", "-n", ns, "--sort-by=.lastTimestamp"])
        slices = out.run(f"{ns}-endpointslices.txt", [*kubectl, "get", "endpointslices", "-n", ns, "-o", "wide"])
        services = out.run(f"{ns}-services.txt", [*kubectl, "get", "services", "-n", ns, "-o", "wide"])
        addresses += re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", pods + slices + services)
        unready = [line.split()[0] for line in pods.splitlines()[1:] if line.split() and not _ready(line)]
        if unready:
            out.run(f"{ns}-describe-unready.txt", [*kubectl, "describe", "pods", "-n", ns, *unready[:5]])
        clients = [line.split()[0] for line in pods.splitlines()[1:] if line.startswith("client") and _ready(line)]
        for pod in clients[:CLIENT_PODS]:
            out.run(f"{ns}-{pod}-network.txt", [*kubectl, "exec", "-n", ns, pod, "--", "sh", "-c", POD_SCRIPT])
    wanted = sorted(set(addresses))[:ADDRESSES]
    if wanted and cluster.kind_nodes:
        pattern = " ".join(f"-e {a}" for a in wanted)
        for node in cluster.node_containers():
            out.run(f"node-{node}-rules.txt", ["docker", "exec", node, "sh", "-c",
                    f"echo '# iptables-save lines naming the addresses involved'; iptables-save 2>&1 | grep -F {pattern}; "
                    f"echo; echo '# nft list ruleset lines naming them'; nft list ruleset 2>&1 | grep -F {pattern}"])
    for name, args in cni_status_commands(cluster, cni, pods_each=3):
        out.run(name, [*kubectl, *args])
    note = f"evidence collected within {budget_s:.0f} s; namespaces: {', '.join(namespaces) or 'none'}"
    if out.skipped:
        note += f"\nnot collected (time budget spent): {', '.join(out.skipped)}"
    out.write("README.txt", note + "\n")
    return out.files


def _ready(line: str) -> bool:
    """A `kubectl get pods` line whose READY column reads n/n and whose status is Running."""
    words = line.split()
    if len(words) < 3 or "/" not in words[1]:
        return False
    have, want = words[1].split("/", 1)
    return have == want and words[2] == "Running"
