"""Pure parts of installing add-ons: the address pool carved from the kind network, and which
objects a step applies."""
import pytest
import yaml

from cnimatrix.addons import install
from cnimatrix.addons.catalog import InstallStep
from cnimatrix.addons.install import AddonError, carve_pool, step_documents


def test_the_pool_is_the_top_of_the_subnet():
    assert carve_pool("172.18.0.0/16", ["172.18.0.1", "172.18.0.2", "172.18.0.3"]) == "172.18.255.239-172.18.255.254"
    assert carve_pool("10.89.0.0/24", ["10.89.0.1"], size=8) == "10.89.0.247-10.89.0.254"
    # kind's network is dual-stack: its IPv6 gateway is in the list of used addresses too.
    assert carve_pool("172.18.0.0/16", ["172.18.0.1", "fc00:f853:ccd:e793::1"]) == "172.18.255.239-172.18.255.254"


def test_clusters_on_one_network_get_their_own_blocks():
    assert carve_pool("172.18.0.0/16", [], slot=1) == "172.18.255.223-172.18.255.238"
    with pytest.raises(AddonError, match="too few to spare"):
        carve_pool("10.89.0.0/24", [], size=16, slot=4)
    # Two runs at once with the default cluster names never share addresses.
    from cnimatrix import cni as cni_catalog
    names = [f"cnimatrix-{c}" for c in cni_catalog.known()]
    slots = [install.pool_slot(n) for n in names]
    assert len(set(slots)) == len(slots), dict(zip(names, slots))
    assert install.pool_slot("cnimatrix-calico") == install.pool_slot("cnimatrix-calico")


def test_a_cni_whose_hash_lands_on_a_held_block_takes_the_next_free_one(tmp_path, monkeypatch):
    import zlib

    from cnimatrix.cni import CNI_DIR_ENV
    monkeypatch.setenv(CNI_DIR_ENV, str(tmp_path))
    for name in ("cilium-native", "flannel"):   # both hash to the last block
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\n")
    hashed = lambda name: zlib.crc32(name.encode()) % install.POOL_SLOTS
    assert hashed("cnimatrix-cilium-native") == hashed("cnimatrix-flannel") == install.POOL_SLOTS - 1
    assert install.pool_slot("cnimatrix-cilium-native") == install.POOL_SLOTS - 1
    assert install.pool_slot("cnimatrix-flannel") == 0   # wrapped round to the first block
    # any other cluster (a shape's, a negative control's) keeps its hash's block
    assert install.pool_slot("cnimatrix-flannel-nftables") == hashed("cnimatrix-flannel-nftables")


@pytest.mark.parametrize("subnet, used, message", [
    ("172.18.0.0/16", ["172.18.255.240"], "holds addresses in use: 172.18.255.240"),
    ("172.18.0.0/28", [], "too few to spare"),
    ("fc00:f853:ccd:e793::/64", [], "not an IPv4 subnet"),
])
def test_pools_that_cannot_be_carved(subnet, used, message):
    with pytest.raises(AddonError, match=message):
        carve_pool(subnet, used)


def test_a_manifest_step_fills_its_parameters():
    docs = step_documents(InstallStep(manifest="manifests/addons/metallb-pool.yaml"), {"address_pool": "10.0.0.1-10.0.0.2"})
    assert [d["kind"] for d in docs] == ["IPAddressPool", "L2Advertisement"]
    assert docs[0]["spec"]["addresses"] == ["10.0.0.1-10.0.0.2"]
    with pytest.raises(KeyError):
        step_documents(InstallStep(manifest="manifests/addons/metallb-pool.yaml"), {})


def test_a_module_step_keeps_only_the_kinds_it_names(tmp_path, monkeypatch):
    (tmp_path / "rbac.yml").write_text(yaml.safe_dump_all([
        {"kind": "ClusterRole", "metadata": {"name": "r"}},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "b"}}, None]))
    monkeypatch.setattr(install.upstream, "module_file", lambda module, version, path: tmp_path / path)
    step = InstallStep(module="example.org/x", version="v1", files=("rbac.yml",), kinds=("ClusterRole",))
    assert [d["metadata"]["name"] for d in step_documents(step, {})] == ["r"]
    everything = InstallStep(module="example.org/x", version="v1", files=("rbac.yml",))
    assert len(step_documents(everything, {})) == 2


def test_a_module_that_cannot_be_fetched_is_an_add_on_error(monkeypatch):
    def refuse(module, version, path):
        raise install.upstream.UpstreamError(f"cannot fetch {module}@{version}: 403")
    monkeypatch.setattr(install.upstream, "module_file", refuse)
    with pytest.raises(AddonError, match="cannot fetch example.org/x@v1: 403"):
        step_documents(InstallStep(module="example.org/x", version="v1", files=("a.yaml",)), {})
