import pytest

from cnimatrix import upstream

GO_MOD = """module github.com/example/thing

go 1.23.8

require k8s.io/api v0.29.0

replace github.com/single/line => github.com/single/line v1.2.3 // pinned

replace (
	github.com/example/api => ./api

	// a comment line
	k8s.io/api => k8s.io/api v0.29.15
	sigs.k8s.io/knftables v0.0.1 => sigs.k8s.io/knftables v0.0.17-0.20240627140917-8d2660d78107
)
"""


def test_replaces_reads_single_lines_blocks_and_version_qualified_sources():
    assert upstream.replaces(GO_MOD) == {
        "github.com/single/line": "github.com/single/line v1.2.3",
        "github.com/example/api": "./api",
        "k8s.io/api": "k8s.io/api v0.29.15",
        "sigs.k8s.io/knftables": "sigs.k8s.io/knftables v0.0.17-0.20240627140917-8d2660d78107",
    }


def test_replaces_of_a_go_mod_without_any():
    assert upstream.replaces("module x\n\ngo 1.22\n") == {}


def test_module_dir_reports_a_missing_go(monkeypatch):
    monkeypatch.setattr(upstream.shutil, "which", lambda name: None)
    monkeypatch.setattr(upstream.os, "access", lambda path, mode: False)
    with pytest.raises(upstream.UpstreamError, match="make setup"):
        upstream.module_dir("example.com/x", "v1.0.0")


def test_module_time_reads_the_proxy_info_and_says_unknown_without_it(monkeypatch, tmp_path):
    info = tmp_path / "v1.0.0.info"
    info.write_text('{"Version":"v1.0.0","Time":"2026-09-15T20:03:11Z"}')
    monkeypatch.setattr(upstream, "_download", lambda module, version: {"Dir": str(tmp_path), "Info": str(info)})
    assert upstream.module_time("example.com/x", "v1.0.0") == "2026-09-15T20:03:11Z"
    info.unlink()
    assert upstream.module_time("example.com/x", "v1.0.0") == "unknown"
