"""A run's shape (cnimatrix/cni/shapes.py): names, declarations in the CNI files, resolving or refusing a
shape, and the shipped catalog's declarations (where a shape reaches a run: test_shape_runs.py)."""
import copy

import pytest
import yaml

from cnimatrix.cni import CNI_DIR_ENV, CniDataError, load, load_all
from cnimatrix.cni.shapes import (
    DEFAULT,
    Changes,
    Declaration,
    Declarations,
    Shape,
    ShapeRefused,
    resolve,
    split_folder,
)

NFTABLES = Shape("ipv4", "nftables")


def entry(status="supported", evidence="seen", **changes):
    return {"status": status, "evidence": evidence, **changes}


SHAPES = {
    "ip_families": {"ipv4": entry(), "ipv6": entry("untested", not_wired="not built yet (issue 26)"),
                    "dual": entry("unsupported", "no dual-stack code")},
    "proxy_modes": {"iptables": entry(),
                    "nftables": entry("untested", "not run", kind_config={"networking": {"kubeProxyMode": "nftables"}})},
}
TOY = {
    "name": "toy", "description": "a test CNI", "version": "v1",
    "kind_config": {"networking": {"disableDefaultCNI": True}},
    "install": {"source": "manifest", "manifests": ["manifests/cni/toy.yaml"]},
    "readiness": [{"kind": "DaemonSet", "namespace": "kube-system", "name": "toy"}],
    "capabilities": {}, "shapes": SHAPES,
}


@pytest.fixture
def write(tmp_path, monkeypatch):
    """Write a CNI file into a private catalog; returns the path's folder."""
    monkeypatch.setenv(CNI_DIR_ENV, str(tmp_path))

    def put(mutate=None):
        doc = copy.deepcopy(TOY)
        if mutate:
            mutate(doc)
        (tmp_path / "toy.yaml").write_text(yaml.safe_dump(doc))
        return tmp_path
    return put


# --------------------------------------------------------------------------- names


def test_the_default_shape_names_nothing_new():
    assert DEFAULT.distinct == () and DEFAULT.folder("calico") == "calico"
    assert DEFAULT.cluster_name("calico") == "cnimatrix-calico" and DEFAULT.column("calico") == "calico"
    assert DEFAULT.describe() == "IPv4, iptables kube-proxy"


def test_another_shape_names_its_folder_cluster_and_column_family_first():
    assert NFTABLES.folder("flannel") == "flannel-nftables" and NFTABLES.column("flannel") == "flannel/nftables"
    assert NFTABLES.cluster_name("flannel") == "cnimatrix-flannel-nftables"
    both = Shape("dual", "nftables")
    assert both.folder("cilium-kpr") == "cilium-kpr-dual-nftables" and both.column("calico") == "calico/dual/nftables"
    assert Shape("ipv4", "none").distinct == () and Shape("ipv4", "none").describe() == "IPv4, kube-proxy replaced by the CNI"
    with pytest.raises(ValueError, match="unknown IP family 'ipv5'"):
        Shape("ipv5")
    with pytest.raises(ValueError, match="unknown kube-proxy mode 'ipvs'"):
        Shape("ipv4", "ipvs")


def test_split_folder_reads_back_a_folder_or_a_column():
    assert split_folder("flannel-nftables") == ("flannel", NFTABLES)
    assert split_folder("flannel/nftables") == ("flannel", NFTABLES)
    assert split_folder("cilium-kpr") == ("cilium-kpr", DEFAULT)
    assert split_folder("calico-dual-nftables") == ("calico", Shape("dual", "nftables"))
    assert split_folder("nftables") == ("nftables", DEFAULT)  # a name is never all shape


# --------------------------------------------------------------------------- resolving


DECLARED = Declarations(
    ip_families={"ipv4": Declaration("supported", "seen"), "ipv6": Declaration("untested", "ipv6 code", not_wired="later (issue 26)"),
                 "dual": Declaration("unsupported", "no  dual\nstack")},
    proxy_modes={"iptables": Declaration("supported", "seen"),
                 "nftables": Declaration("untested", "never run", Changes({"networking": {"kubeProxyMode": "nftables"}}))},
)


def test_resolve_the_default_and_an_untested_mode():
    assert resolve("toy", DECLARED, DEFAULT).to_dict() == {"ip_family": "ipv4", "proxy_mode": "iptables"}
    shaped = resolve("toy", DECLARED, NFTABLES)
    assert shaped.changes.kind_config == {"networking": {"kubeProxyMode": "nftables"}}
    assert shaped.to_dict()["untested"] == [{"axis": "proxy_mode", "value": "nftables", "evidence": "never run"}]
    assert shaped.describe() == "IPv4, nftables kube-proxy; declared untested: proxy mode nftables"


def test_resolve_refuses_unsupported_and_not_wired_with_one_line():
    with pytest.raises(ShapeRefused) as refused:
        resolve("toy", DECLARED, Shape("dual"), "cnis/toy.yaml")
    assert str(refused.value) == "toy does not run with --ip-family dual: cnis/toy.yaml declares it unsupported: no dual stack"
    with pytest.raises(ShapeRefused, match=r"^--ip-family ipv6 is not wired for toy yet: later \(issue 26\)$"):
        resolve("toy", DECLARED, Shape("ipv6", "nftables"))


def test_a_cni_that_replaces_kube_proxy_takes_only_the_default_mode_and_records_none():
    replaced = Declarations(DECLARED.ip_families, {}, kube_proxy_replaced="serves Services itself")
    assert resolve("kpr", replaced, DEFAULT).shape == Shape("ipv4", "none")
    with pytest.raises(ShapeRefused, match="kpr replaces kube-proxy, so --proxy-mode nftables does not apply: serves Services itself"):
        resolve("kpr", replaced, NFTABLES)


def test_a_file_without_shapes_runs_the_default_shape_only():
    assert resolve("old", None, DEFAULT).changes == Changes()
    with pytest.raises(ShapeRefused, match=r"old declares no shapes \(its file\): it runs only as IPv4, iptables kube-proxy"):
        resolve("old", None, NFTABLES)


# --------------------------------------------------------------------------- CNI files


def test_a_shaped_cni_carries_the_shapes_changes(write):
    def helm(doc):
        doc["install"] = {"source": "helm", "module": "example.com/toy", "version": "v1", "chart": "c",
                          "values": {"a": {"b": 1}}}
        doc["shapes"]["proxy_modes"]["nftables"]["chart_values"] = {"a": {"c": 2}}
    write(helm)
    cni, shaped = load("toy").shaped(NFTABLES)
    assert cni.kind_config["networking"] == {"disableDefaultCNI": True, "kubeProxyMode": "nftables"}
    assert cni.install.values == {"a": {"b": 1, "c": 2}} and shaped.shape == NFTABLES
    assert load("toy").install.values == {"a": {"b": 1}}  # the catalog entry is not changed


def test_a_shapes_manifest_patches_reach_the_install(write):
    patch = [{"kind": "ConfigMap", "name": "cfg", "set": {"data.mode": "nft"}}]
    write(lambda d: d["shapes"]["proxy_modes"]["nftables"].update(manifest_patches=patch))
    cni, _ = load("toy").shaped(NFTABLES)
    (only,) = cni.install.manifest_patches
    assert (only.kind, only.name, only.set) == ("ConfigMap", "cfg", (("data.mode", "nft"),))


def test_install_patches_apply_in_every_shape_and_a_shape_adds_its_own(write):
    base = [{"kind": "DaemonSet", "name": "toy", "set": {"spec.template.spec.containers[name=toy].image": "toy:v1"}}]
    shape = [{"kind": "ConfigMap", "name": "cfg", "set": {"data.mode": "nft"}}]
    def both(doc):
        doc["install"]["manifest_patches"] = base
        doc["shapes"]["proxy_modes"]["nftables"]["manifest_patches"] = shape
    write(both)
    assert [p.kind for p in load("toy").install.manifest_patches] == ["DaemonSet"]
    cni, _ = load("toy").shaped(NFTABLES)
    assert [p.kind for p in cni.install.manifest_patches] == ["DaemonSet", "ConfigMap"]


@pytest.mark.parametrize(("mutate", "field", "problem"), [
    (lambda d: d["shapes"]["ip_families"].pop("dual"), "shapes.ip_families", "missing dual"),
    (lambda d: d["shapes"]["proxy_modes"].update(ipvs=entry()), "shapes.proxy_modes.ipvs", "unknown field"),
    (lambda d: d["shapes"]["proxy_modes"]["nftables"].update(status="maybe"), "shapes.proxy_modes.nftables.status", "not one of"),
    (lambda d: d["shapes"]["proxy_modes"]["nftables"].pop("evidence"), "shapes.proxy_modes.nftables.evidence", "required"),
    (lambda d: d["shapes"]["proxy_modes"]["nftables"].pop("kind_config"), "shapes.proxy_modes.nftables.kind_config",
     "must set networking.kubeProxyMode: nftables"),
    (lambda d: d["shapes"]["proxy_modes"]["nftables"]["kind_config"]["networking"].update(kubeProxyMode="ipvs"),
     "shapes.proxy_modes.nftables.kind_config.networking.kubeProxyMode", "is 'ipvs', not 'nftables'"),
    (lambda d: d["shapes"]["ip_families"]["dual"].update(kind_config={"networking": {"ipFamily": "dual"}}),
     "shapes.ip_families.dual", "an unsupported shape never runs"),
    (lambda d: d["shapes"]["ip_families"]["ipv6"].pop("not_wired"), "shapes.ip_families.ipv6.kind_config",
     "must set networking.ipFamily: ipv6"),
    (lambda d: d["shapes"]["proxy_modes"]["nftables"].update(chart_values={"a": 1}), "shapes.proxy_modes.nftables.chart_values",
     "only applies to source=helm"),
    (lambda d: d["shapes"].update(kube_proxy_replaced="itself"), "shapes.proxy_modes", "has no proxy modes"),
    (lambda d: d["shapes"].pop("proxy_modes") and d["shapes"].update(kube_proxy_replaced="itself"), "shapes.kube_proxy_replaced",
     "needs kind_config.networking.kubeProxyMode: none"),
    (lambda d: d["kind_config"]["networking"].update(kubeProxyMode="nftables"), "kind_config.networking.kubeProxyMode",
     "is the shape's to set"),
    (lambda d: d["kind_config"]["networking"].update(ipFamily="dual"), "kind_config.networking.ipFamily", "is the shape's to set"),
    (lambda d: d["shapes"]["proxy_modes"]["nftables"].update(manifest_patches=[{"kind": "X", "name": "y"}]),
     "shapes.proxy_modes.nftables.manifest_patches[0]", "must set or remove something"),
    (lambda d: d["install"].update(manifest_patches=[{"kind": "X", "name": "y"}]),
     "install.manifest_patches[0]", "must set or remove something"),
    (lambda d: d["install"].update(source="helm", manifests=[], module="m", version="v1", chart="c",
                                   manifest_patches=[{"kind": "X", "name": "y", "remove": ["a"]}]),
     "install.manifest_patches", "only applies to source=manifest or module"),
])
def test_bad_shape_declarations_name_the_file_and_field(write, mutate, field, problem):
    folder = write(mutate)
    with pytest.raises(CniDataError) as refused:
        load("toy")
    assert str(refused.value).startswith(f"{folder / 'toy.yaml'}: {field}: ") and problem in str(refused.value)


def test_a_replacing_cni_with_kube_proxy_mode_none_loads(write):
    def replacing(doc):
        doc["shapes"].pop("proxy_modes")
        doc["shapes"]["kube_proxy_replaced"] = "serves Services"
        doc["kind_config"]["networking"]["kubeProxyMode"] = "none"
    write(replacing)
    assert load("toy").shaped(DEFAULT)[1].shape == Shape("ipv4", "none")


# --------------------------------------------------------------------------- the shipped catalog


@pytest.fixture
def shipped(monkeypatch):
    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    return {cni.name: cni for cni in load_all()}


def test_every_shipped_cni_declares_its_shapes_and_refuses_ipv6_for_now(shipped):
    for cni in shipped.values():
        assert cni.shapes is not None, cni.name
        assert cni.shapes.ip_families["ipv4"].status == "supported"
        for family in ("ipv6", "dual"):
            with pytest.raises(ShapeRefused, match=rf"^--ip-family {family} is not wired for {cni.name} yet: .*\(issue 26\)\.$"):
                cni.shaped(Shape(family))


def test_nftables_runs_untested_everywhere_but_on_the_kube_proxy_replacement(shipped):
    for name, cni in shipped.items():
        if name == "cilium-kpr":
            with pytest.raises(ShapeRefused, match=r"^cilium-kpr replaces kube-proxy, so --proxy-mode nftables does not apply: "):
                cni.shaped(NFTABLES)
            continue
        shaped_cni, shaped = cni.shaped(NFTABLES)
        assert shaped_cni.kind_config["networking"]["kubeProxyMode"] == "nftables"
        assert [u.axis for u in shaped.untested] == ["proxy_mode"], name
    assert "projectcalico/calico#8025" in shipped["calico"].shapes.proxy_modes["nftables"].evidence


def test_the_default_shape_keeps_todays_kind_config_and_names(shipped):
    from cnimatrix.cluster.kind import kind_config

    for name, cni in shipped.items():
        shaped_cni, shaped = cni.shaped(DEFAULT)
        assert kind_config(shaped_cni) == kind_config(cni) and not shaped.untested
        assert shaped.shape.folder(name) == name and shaped.shape.cluster_name(name) == f"cnimatrix-{name}"
    assert shipped["cilium-kpr"].shaped(DEFAULT)[1].to_dict() == {"ip_family": "ipv4", "proxy_mode": "none"}
