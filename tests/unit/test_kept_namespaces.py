"""Reusing a kept cluster removes the namespaces its earlier run left (they hold hostPorts)."""
from fixtures.cluster import remove_kept_namespaces


class FakeCluster:
    def __init__(self, listed: str):
        self.listed, self.calls = listed, []

    def kubectl(self, *args: str) -> str:
        self.calls.append(args)
        return self.listed if args[0] == "get" else ""


def test_kept_namespaces_deleted_and_waited_for(capfd):
    target = FakeCluster("namespace/cnimatrix-podnet-f24c44\nnamespace/cnimatrix-dns-1a2b3c\n")
    assert remove_kept_namespaces(target, timeout_s=90) == ["namespace/cnimatrix-podnet-f24c44", "namespace/cnimatrix-dns-1a2b3c"]
    get, delete = target.calls
    run_owned = "app.kubernetes.io/managed-by=cnimatrix,cnimatrix/purpose"  # not the Traefik add-on's namespace
    assert run_owned in get and run_owned in delete
    assert delete[:2] == ("delete", "namespaces") and "--wait=true" in delete and "--timeout=90s" in delete
    assert "removed 2 namespace(s) a kept run left: cnimatrix-podnet-f24c44, cnimatrix-dns-1a2b3c" in capfd.readouterr().err


def test_nothing_left_nothing_deleted(capfd):
    target = FakeCluster("")
    assert remove_kept_namespaces(target) == []
    assert len(target.calls) == 1 and capfd.readouterr().err == ""
