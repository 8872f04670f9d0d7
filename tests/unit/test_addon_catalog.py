"""The add-on catalog (addons/*.yaml): validation, install order, and the data as checked in."""
import copy

import pytest
import yaml

from cnimatrix.addons import catalog
from cnimatrix.addons.catalog import ADDON_DIR_ENV, AddonDataError, install_order, load, load_all

VALID = {
    "name": "toy",
    "description": "a test add-on",
    "version": "v1.0.0",
    "images": ["example.org/toy:v1.0.0"],
    "install": [
        {"module": "example.org/toy", "files": ["deploy/crds.yaml", "deploy/rbac.yaml"], "kinds": ["ClusterRole"]},
        {"manifest": "manifests/addons/metallb-pool.yaml",
         "ready": [{"kind": "Deployment", "namespace": "toy", "name": "toy"}]},
    ],
    "load_balancers": [{"namespace": "toy", "name": "toy"}],
    "provides": {"service": "toy"},
}


@pytest.fixture
def write(tmp_path, monkeypatch):
    monkeypatch.setenv(ADDON_DIR_ENV, str(tmp_path))

    def put(doc, name=None):
        (tmp_path / f"{name or doc['name']}.yaml").write_text(yaml.safe_dump(doc))
    return put


def variant(change):
    doc = copy.deepcopy(VALID)
    change(doc)
    return doc


def test_a_valid_file_loads_with_defaults(write):
    write(VALID)
    toy = load("toy")
    module_step, manifest_step = toy.install
    assert module_step.version == "v1.0.0"  # a module step defaults to the add-on's version
    assert module_step.kinds == ("ClusterRole",) and module_step.manifest is None
    assert manifest_step.manifest == "manifests/addons/metallb-pool.yaml"
    assert [r.name for r in toy.readiness] == ["toy"]
    assert [str(s) for s in toy.load_balancers] == ["toy/toy"]
    assert toy.ready_timeout_s == catalog.DEFAULT_READY_TIMEOUT_S


def test_our_manifest_step_names_its_install_time_parameters():
    step = catalog.InstallStep(manifest="manifests/addons/metallb-pool.yaml")
    assert step.params() == {"address_pool"}
    assert catalog.InstallStep(module="m", version="v1", files=("a.yaml",)).params() == set()


@pytest.mark.parametrize("change, field", [
    (lambda d: d.update(name="other"), "name"),
    (lambda d: d.update(colour="blue"), "colour"),
    (lambda d: d.update(install=[]), "install"),
    (lambda d: d["install"][0].update(manifest="manifests/addons/traefik.yaml"), "install[0]"),
    (lambda d: d["install"][0].pop("files"), "install[0].files"),
    (lambda d: d["install"][1].update(files=["x.yaml"]), "install[1].files"),
    (lambda d: d["install"][1].update(manifest="manifests/addons/missing.yaml"), "install[1].manifest"),
    (lambda d: d["install"][1].update(manifest="../etc/passwd"), "install[1].manifest"),
    (lambda d: d["install"][1]["ready"][0].update(kind="Pod"), "install[1].ready[0].kind"),
    (lambda d: d.update(ready_timeout_s=0), "ready_timeout_s"),
    (lambda d: d.update(images="one"), "images"),
    (lambda d: d["load_balancers"][0].pop("name"), "load_balancers[0].name"),
    (lambda d: d.update(capabilities={"x": {"status": "maybe", "evidence": "e"}}), "capabilities.x.status"),
    (lambda d: d.update(capabilities={"x": {"status": "unsupported"}}), "capabilities.x.evidence"),
])
def test_bad_fields_are_named(write, change, field):
    write(variant(change), "toy")
    with pytest.raises(AddonDataError, match=f"toy.yaml: {__import__('re').escape(field)}"):
        load("toy")


def test_unknown_add_on_lists_the_known_ones(write):
    write(VALID)
    with pytest.raises(AddonDataError, match="unknown add-on 'nope'; known add-ons: toy"):
        load("nope")


def test_install_order_puts_dependencies_first_and_refuses_cycles(write):
    write(variant(lambda d: d.update(name="a", after=["b", "c"])))
    write(variant(lambda d: d.update(name="b", after=["c"])))
    write(variant(lambda d: d.update(name="c")))
    assert [a.name for a in install_order()] == ["c", "b", "a"]
    write(variant(lambda d: d.update(name="c", after=["a"])))
    with pytest.raises(AddonDataError, match="cycle"):
        install_order()
    write(variant(lambda d: d.update(name="c", after=["zzz"])))
    with pytest.raises(AddonDataError, match="unknown add-on 'zzz'"):
        install_order()


def test_the_checked_in_add_ons(monkeypatch):
    monkeypatch.delenv(ADDON_DIR_ENV, raising=False)
    addons = {a.name: a for a in load_all()}
    assert set(addons) == {"gateway-api", "metallb", "traefik"}
    assert [a.name for a in install_order()][-1] == "traefik"
    traefik, metallb = addons["traefik"], addons["metallb"]
    # Images carry the upstream names at the add-on's version, so online the official ones are pulled.
    assert traefik.images == (f"docker.io/traefik:{traefik.version}",)
    assert set(metallb.images) == {f"quay.io/metallb/{c}:{metallb.version}" for c in ("controller", "speaker")}
    assert catalog.ECHO_IMAGE in catalog.all_images()
    # Upstream files come from pinned modules; only our own manifests live in the repo.
    for addon in addons.values():
        for step in addon.install:
            assert step.manifest is None or step.manifest.startswith("manifests/addons/")
    provides = traefik.provides
    assert {"namespace", "ingress_class", "gateway_class", "service", "local_service", "listener_ports"} <= set(provides)
    assert {f"{provides['namespace']}/{provides[k]}" for k in ("service", "local_service")} == {str(s) for s in traefik.load_balancers}


def test_own_manifests_use_the_add_on_images():
    text = (catalog.REPO_ROOT / "manifests/addons/traefik.yaml").read_text()
    assert f"image: {load('traefik').images[0]}" in text
    assert "--global.sendanonymoususage=false" in text and "--global.checknewversion=false" in text


def test_every_add_on_image_has_an_offline_build_step():
    from cnimatrix.images.recipes import all_steps, steps_for
    steps = all_steps()
    wanted = steps_for(steps, list(catalog.all_images()))
    assert {"traefik", "metallb", "echo-basic", "addon-images"} <= wanted
    from cnimatrix.images.__main__ import cni_steps
    assert "addon-images" in cni_steps(steps, ["flannel"])
    assert "addon-images" in cni_steps(steps, ["flannel"], ["dns", "gateway"])
    assert "addon-images" in cni_steps(steps, ["flannel"], ["day2"])   # its source-ranges scenario uses MetalLB
    # A run of suites that install no add-on (make test's end-to-end run) builds none of their images.
    assert not {"traefik", "metallb", "echo-basic", "addon-images"} & cni_steps(steps, ["flannel"], ["service", "dns", "netpol"])


def test_declared_capabilities(write):
    write(variant(lambda d: d.update(capabilities={"tie": {"status": "unsupported", "evidence": "rule  length\n wins"}})))
    toy = load("toy")
    assert toy.capability("tie").status == "unsupported" and toy.capability("tie").evidence == "rule length wins"
    assert toy.capability("anything else").is_supported
