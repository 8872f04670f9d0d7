"""Bad input (docs/operations.md, "Bad input"): the real `cnimatrix run` prints one line, exits 2 and creates
nothing. Each test runs the command in a subprocess with its own state folder and results folder."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cnimatrix import preflight

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def refuse(tmp_path):
    """Run `cnimatrix <args>`, assert one line on stderr, nothing on stdout, exit 2, no results folder
    and no run record; returns the line."""
    def run(*args: str, env: dict | None = None) -> str:
        out, state = tmp_path / "out", tmp_path / "state"
        full_env = {**os.environ, "OFFLINE": "1", "CNIMATRIX_STATE": str(state), **(env or {})}
        argv = list(args) + (["--out", str(out)] if args[0] == "run" else [])
        proc = subprocess.run([sys.executable, "-m", "cnimatrix", *argv], cwd=REPO_ROOT, env=full_env,
                              capture_output=True, text=True, timeout=120)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("cnimatrix"), proc.stderr
        assert proc.stdout == ""
        assert not out.exists() and not list((state / "runs").glob("*.json"))
        return lines[0]
    return run


def kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
current-context: c
contexts: [{{name: c, context: {{cluster: k, user: u}}}}]
clusters: [{{name: k, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {{}}}}]
""")
    return path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unknown_cni(refuse):
    assert "unknown CNI 'nope'; known CNIs: " in refuse("run", "--cni", "nope")
    assert "unknown CNI(s) nope" in refuse("matrix", "--cni", "nope")


def test_unknown_suite(refuse):
    assert "argument --suite: invalid choice: 'nope'" in refuse("run", "--suite", "nope")


def test_bad_offline_value(refuse):
    assert refuse("run", "--cni", "flannel", env={"OFFLINE": "maybe"}).endswith("OFFLINE must be 1 or 0, not 'maybe'")
    assert "OFFLINE must be 1 or 0" in refuse("matrix", env={"OFFLINE": "maybe"})


def test_bad_registry_settings(refuse):
    assert refuse("run", "--cni", "flannel", env={"REGISTRY_MIRROR": "ftp://m:5000"}).endswith("scheme must be http:// or https://")
    assert refuse("run", "--registry-mirror", "docker.io=").endswith("'' is not a host[:port]")
    assert refuse("run", env={"IMAGES_VIA": "pull"}).endswith("IMAGES_VIA must be registry or import, not 'pull'")
    assert "set one of them" in refuse("matrix", "--registry-mirror", "m:5000", "--images-via", "import")
    assert "argument --images-via: invalid choice" in refuse("run", "--images-via", "pull")
    assert refuse("kind-config").endswith("kind-config needs --registry-mirror SPEC (or REGISTRY_MIRROR)")


def test_docker_not_running(refuse, tmp_path):
    line = refuse("run", "--cni", "flannel", env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert line == "cnimatrix: Docker is not reachable: run `make setup`"


def test_kubeconfig_missing_unreadable_or_pointing_at_nothing(refuse, tmp_path):
    assert refuse("run", "--cni", "flannel", "--kubeconfig", str(tmp_path / "absent")).endswith(": no such file")
    assert refuse("run", "--cni", "flannel", "--kubeconfig", str(tmp_path)).endswith(": not a file")
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\xff\xfe\x00\x81 not text")
    assert "cannot read it" in refuse("run", "--cni", "flannel", "--kubeconfig", str(garbage))
    empty = tmp_path / "empty"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    assert "names no cluster with a server" in refuse("run", "--cni", "flannel", "--kubeconfig", str(empty))
    nothing = kubeconfig(tmp_path, f"https://127.0.0.1:{closed_port()}")
    assert refuse("run", "--cni", "flannel", "--kubeconfig", str(nothing)).endswith("does not answer (connection refused)")


def test_k_selecting_nothing_or_nonsense(refuse):
    line = refuse("run", "--cni", "flannel", "--suite", "service", "-k", "no_scenario_is_called_this")
    assert line == "cnimatrix: -k 'no_scenario_is_called_this' selects no scenario of the service suite(s)"
    assert "is not a valid selection: Wrong expression" in refuse("run", "--cni", "flannel", "--suite", "service", "-k", "and or")


def test_bad_cluster_name_and_unknown_breakage(refuse):
    assert "a kind cluster name is lower-case" in refuse("run", "--cni", "flannel", "--cluster", "Not_A_Name")
    assert "unknown breakage 'nope'" in refuse("run", "--cni", "flannel", "--break", "nope")


def test_concurrency_not_a_positive_whole_number(refuse):
    assert "argument --concurrency: expected at least 1, got 0" in refuse("run", "--cni", "flannel", "--concurrency", "0")
    assert "argument --concurrency: expected a whole number, got 'two'" in refuse("run", "--cni", "flannel", "--concurrency", "two")
    assert "argument --clusters: expected at least 1, got 0" in refuse("matrix", "--clusters", "0")


def test_shapes_refused(refuse):
    """A shape the CNI does not run in, or that cnimatrix has not wired yet (docs/shapes.md)."""
    assert "argument --proxy-mode: invalid choice: 'ipvs'" in refuse("run", "--cni", "flannel", "--proxy-mode", "ipvs")
    assert "argument --ip-family: invalid choice: 'ipv5'" in refuse("matrix", "--ip-family", "ipv5")
    line = refuse("run", "--cni", "calico", "--ip-family", "dual")
    assert line.startswith("cnimatrix: --ip-family dual is not wired for calico yet: ") and line.endswith("(issue 26).")
    assert refuse("run", "--cni", "cilium-kpr", "--proxy-mode", "nftables").startswith(
        "cnimatrix: cilium-kpr replaces kube-proxy, so --proxy-mode nftables does not apply: Cilium's eBPF")
    assert refuse("run", "--cni", "flannel", "--proxy-mode", "nftables", "--break", "no-kube-proxy").endswith(
        "--break runs on the default shape only (IPv4, iptables kube-proxy), not IPv4, nftables kube-proxy")
    assert refuse("matrix", "--cni", "flannel", "--cni", "cilium-kpr", "--proxy-mode", "nftables").startswith(
        "cnimatrix: cilium-kpr replaces kube-proxy")


def test_a_host_without_what_the_shape_needs(monkeypatch):
    from cnimatrix.cni import Shape
    from cnimatrix.doctor import kernel, shape_support

    lacking = kernel.KernelStatus(release="6.1.0", source="/proc/config.gz", modules=False,
                                  features={**dict.fromkeys(kernel.SHAPE_SYMBOLS, True), "CONFIG_NFT_FIB_IPV4": False})
    monkeypatch.setattr(kernel, "kernel_status", lambda: lacking)
    monkeypatch.setattr(shape_support, "shape_host_status", lambda: shape_support.ShapeHostStatus(ipv6_disabled="1"))
    assert preflight.shape_host_problem(Shape()) is None  # the default shape asks the host nothing more
    assert preflight.shape_host_problem(Shape("ipv4", "nftables")) == "--proxy-mode nftables needs what this host lacks: NFT_FIB_IPV4"
    assert preflight.shape_host_problem(Shape("dual")) == (
        "--ip-family dual needs what this host lacks: IPv6 switched on (/proc/sys/net/ipv6/conf/all/disable_ipv6 is 1)")


def test_positive_int_takes_a_count():
    """The twin of the refusals above: a count of at least 1 goes through as a number."""
    from cnimatrix.run.cli import positive_int
    assert positive_int("1") == 1 and positive_int("3") == 3


# --------------------------------------------------------------------------- the pure parts


def test_server_of_reads_the_current_context():
    doc = {"current-context": "b", "contexts": [{"name": "a", "context": {"cluster": "x"}}, {"name": "b", "context": {"cluster": "y"}}],
           "clusters": [{"name": "x", "cluster": {"server": "https://x:1"}}, {"name": "y", "cluster": {"server": "https://y:2"}}]}
    assert preflight.server_of(doc) == "https://y:2"
    assert preflight.server_of({**doc, "current-context": "z"}) is None
    assert preflight.server_of({**doc, "clusters": []}) is None
    assert preflight.server_of("text") is None and preflight.server_of(None) is None


def test_answers_tells_a_listening_port_from_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert preflight.answers(f"https://127.0.0.1:{server.getsockname()[1]}") is None
    assert preflight.answers(f"https://127.0.0.1:{closed_port()}") == "connection refused"
    assert "not a URL" in preflight.answers("no scheme here")


def test_disk_too_small():
    gib = 1024**3
    assert preflight.disk_problem(20 * gib, "/var/lib/docker") is None
    assert preflight.disk_problem(None, "/var/lib/docker") is None  # cannot tell: Docker will say
    line = preflight.disk_problem(int(1.5 * gib), "/var/lib/docker")
    assert line.startswith("only 1.5 GiB free at /var/lib/docker; a cluster needs 5 GiB")


def test_disk_too_small_stops_the_host_checks(monkeypatch):
    from cnimatrix.cni import load

    monkeypatch.setattr(preflight.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "/var/lib/docker\n", ""))
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: type("U", (), {"free": 2 * 1024**3})())
    assert preflight.host_problem(load("flannel")).startswith("only 2.0 GiB free at /var/lib/docker")


def test_a_name_taken_by_something_not_ours():
    from cnimatrix.run.ownership import Owner, Record

    assert "kind cluster cnimatrix did not create" in preflight.taken("dev", ["dev"], {"dev-control-plane": "dev"}, {})
    assert preflight.taken("cnimatrix-calico", ["cnimatrix-calico"], {"cnimatrix-calico-control-plane": "cnimatrix-calico"}, {}) is None
    ours = {"mine": Record(cluster="mine", cni="calico", owners=(Owner(1, 1),), boot="b", started_at=0.0)}
    assert preflight.taken("mine", ["mine"], {"mine-control-plane": "mine"}, ours) is None
    assert "container dev-worker2 exists" in preflight.taken("dev", [], {"dev-worker2": ""}, {})
    assert preflight.taken("dev", [], {"dev-database": ""}, {}) is None  # not a node name
    assert preflight.cluster_name_problem("cnimatrix-robust-test") is None
    assert preflight.cluster_name_problem("../etc") is not None


def test_reusing_a_kept_cluster_must_be_ours_and_the_kubeconfig_its():
    """`--kubeconfig K --cluster NAME`: node-level steps run on NAME's containers, so NAME must be a kind
    cluster cnimatrix made and K must reach its API server, or the run would test one cluster and poke another."""
    from cnimatrix.run.ownership import Owner, Record

    config, server = "kubeconfig", "https://127.0.0.1:41000"
    ours = {"kept": Record(cluster="kept", cni="calico", owners=(Owner(1, 1),), boot="b", started_at=0.0)}
    assert preflight.reuse_problem("cnimatrix-calico", config, server, ["cnimatrix-calico"], {}, "41000") is None
    assert preflight.reuse_problem("kept", config, server, ["kept"], ours, "41000") is None
    assert "no kind cluster cnimatrix-gone exists" in preflight.reuse_problem("cnimatrix-gone", config, server, [], {}, None)
    assert "was not created by cnimatrix" in preflight.reuse_problem("dev", config, server, ["dev"], {}, "41000")
    assert "does not point at kind cluster cnimatrix-calico" in preflight.reuse_problem(
        "cnimatrix-calico", config, server, ["cnimatrix-calico"], {}, "41001")
    assert "does not point" in preflight.reuse_problem("cnimatrix-calico", config, server, ["cnimatrix-calico"], {}, None)


def test_reuse_with_a_kubeconfig_of_another_cluster_is_refused(refuse, tmp_path, monkeypatch):
    """Through the CLI: one line, exit 2, nothing created (no such kind cluster here)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    with server:
        config = kubeconfig(tmp_path, f"https://127.0.0.1:{server.getsockname()[1]}")
        line = refuse("run", "--cni", "flannel", "--kubeconfig", str(config), "--cluster", "cnimatrix-not-here-xyz")
    assert "no kind cluster cnimatrix-not-here-xyz exists" in line
