"""Where a run's shape reaches (cnimatrix/cni/shapes.py): the CLI's pytest command and first line, the
default results folder, the matrix's commands and folders."""
import argparse
from pathlib import Path

import pytest

from cnimatrix.cni import CNI_DIR_ENV, load_all
from cnimatrix.cni.shapes import Shape

NFTABLES = Shape("ipv4", "nftables")


@pytest.fixture
def shipped(monkeypatch):
    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    return {cni.name: cni for cni in load_all()}


def run_args(**given) -> argparse.Namespace:
    defaults = dict(out=None, suite=["service"], keep=False, kubeconfig=None, cluster=None, k=None, breakage=None,
                    concurrency=None, pytest_args=[], workers=2, ip_family="ipv4", proxy_mode="nftables")
    return argparse.Namespace(**{**defaults, **given})


def test_the_cli_runs_pytest_in_the_shape_and_says_so(shipped, monkeypatch, tmp_path, capsys):
    from cnimatrix.run import cli

    seen = []
    monkeypatch.setattr(cli, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(cli, "run_stoppable", lambda cmd, started=None: seen.append(cmd) or 0)
    flannel = shipped["flannel"]
    assert cli.run_suites(run_args(), flannel, flannel.shaped(NFTABLES)[1], ["suites/service"], None) == 0
    cmd = seen[0]
    assert cmd[cmd.index("--results-dir") + 1] == str(tmp_path / "reports" / "flannel-nftables")
    assert cmd[cmd.index("--proxy-mode") + 1] == "nftables" and cmd[cmd.index("--ip-family") + 1] == "ipv4"
    assert ("running service suite(s) on flannel (IPv4, nftables kube-proxy; declared untested: proxy mode nftables); "
            f"results in {tmp_path / 'reports' / 'flannel-nftables'}") in capsys.readouterr().out


def test_break_is_refused_in_another_shape(shipped, monkeypatch):
    from cnimatrix.run import cli

    monkeypatch.setenv("OFFLINE", "0")
    problem = cli.input_problem(run_args(breakage="no-kube-proxy"), shipped["flannel"], NFTABLES, [])
    assert problem == "--break runs on the default shape only (IPv4, iptables kube-proxy), not IPv4, nftables kube-proxy"


def test_the_matrix_runs_and_writes_each_cni_in_its_shape(shipped):
    from cnimatrix.run import matrix

    flannel = shipped["flannel"]
    assert matrix.folder(flannel, NFTABLES) == matrix.REPORTS / "flannel-nftables"
    assert matrix.run_command(flannel, False, NFTABLES)[-4:] == ["--ip-family", "ipv4", "--proxy-mode", "nftables"]
    assert "--proxy-mode" not in matrix.run_command(flannel, False)  # the default shape: today's command
    assert matrix.refusal("flannel", NFTABLES) is None
    assert matrix.refusal("cilium-kpr", NFTABLES).startswith("cilium-kpr replaces kube-proxy")


def test_pytest_options_name_the_default_results_folder():
    from cnimatrix.testkit.run import asked_shape, results_dir

    class Config:
        rootpath = Path("/repo")
        options = {"--results-dir": None, "--cni": "flannel", "--ip-family": "ipv4", "--proxy-mode": "nftables"}

        def getoption(self, name):
            return self.options[name]

    assert asked_shape(Config()) == NFTABLES
    assert results_dir(Config()) == Path("/repo/reports/flannel-nftables")
    Config.options = {**Config.options, "--proxy-mode": "iptables"}
    assert results_dir(Config()) == Path("/repo/reports/flannel")
