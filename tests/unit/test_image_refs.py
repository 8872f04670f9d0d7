"""images.refs: every image a CNI's or add-on's rendered manifests pull is listed in its catalog entry
(issue 31), found in every workload kind and compared as containerd names images; the real entries are
rendered from their pinned modules (and the Helm chart, where helm is built) and checked."""
from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from cnimatrix.addons import catalog as addon_catalog
from cnimatrix.cluster import kind
from cnimatrix.cni import catalog as cni_catalog
from cnimatrix.cni import shapes
from cnimatrix.cni.patches import ManifestPatch
from cnimatrix.images import refs
from cnimatrix.images.__main__ import main as images_main


def pod_spec(image: str, key: str = "containers") -> dict:
    return {key: [{"name": "c", "image": image}]}


def workload(kind_name: str, spec: dict) -> dict:
    """An object of `kind_name` whose pod spec (where that kind keeps it) is `spec`."""
    if kind_name == "Pod":
        return {"kind": "Pod", "spec": spec}
    template = {"template": {"spec": spec}}
    if kind_name == "CronJob":
        return {"kind": "CronJob", "spec": {"jobTemplate": {"spec": template}}}
    return {"kind": kind_name, "spec": template}


@pytest.mark.parametrize("kind_name", ["Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob"])
def test_each_workload_kind_names_its_images(kind_name):
    assert refs.referenced([workload(kind_name, pod_spec("quay.io/x/agent:v1"))]) == {"quay.io/x/agent:v1"}


def test_init_and_ephemeral_containers_count_and_names_are_canonical():
    spec = {"initContainers": [{"name": "i", "image": "calico/cni:v3.28.5"}],
            "containers": [{"name": "c", "image": "traefik:v3"}, {"name": "no-image"}],
            "ephemeralContainers": [{"name": "e", "image": "busybox"}]}
    assert refs.referenced([workload("DaemonSet", spec)]) == {
        "docker.io/calico/cni:v3.28.5", "docker.io/library/traefik:v3", "docker.io/library/busybox:latest"}


def test_list_items_are_searched_and_other_objects_are_not():
    listed = {"kind": "List", "items": [workload("Deployment", pod_spec("ghcr.io/a/b:1")),
                                        {"kind": "DaemonSetList", "items": [workload("DaemonSet", pod_spec("ghcr.io/a/c:2"))]}]}
    # An image named outside a pod spec (a ConfigMap's data, a CRD's default) is not pulled by the manifest.
    other = {"kind": "ConfigMap", "data": {"image": "ghcr.io/a/d:3"}, "spec": {"containers": [{"image": "ghcr.io/a/e:4"}]}}
    assert refs.referenced([listed, other, None, "text"]) == {"ghcr.io/a/b:1", "ghcr.io/a/c:2"}


def test_an_unlisted_image_is_reported_and_a_listed_one_is_not():
    found = refs.referenced([workload("Deployment", pod_spec("traefik:v3.6.12")), workload("Pod", pod_spec("quay.io/x/y:v1"))])
    assert refs.unlisted(found, ["docker.io/traefik:v3.6.12", "quay.io/x/y:v1"]) == []
    assert refs.unlisted(found, ["docker.io/traefik:v3.6.12"]) == ["quay.io/x/y:v1"]
    # A typo or a missing tag is an image the catalog does not list.
    assert refs.unlisted(found, ["docker.io/traefik:v3.6.12", "quay.io/x/y"]) == ["quay.io/x/y:v1"]
    assert refs.unused(found, ["traefik:v3.6.12", "quay.io/x/y", "quay.io/x/y:v1"]) == ["quay.io/x/y"]


def test_verdict_lines():
    found = {"docker.io/calico/node:v3.28.5", "docker.io/calico/cni:v3.28.5"}
    assert refs.verdict("calico", "cnis/calico.yaml", found, ["calico/node:v3.28.5", "docker.io/calico/cni:v3.28.5"]) == (
        "calico: 2 images referenced, all listed", False)
    assert refs.verdict("crds", "addons/crds.yaml", set(), []) == ("crds: no images referenced", False)
    line, failed = refs.verdict("calico", "cnis/calico.yaml", found, ["calico/node:v3.28.5", "calico/extra:v1"])
    assert failed and line == ("calico: referenced but not in cnis/calico.yaml images: docker.io/calico/cni:v3.28.5 "
                               "(listed, referenced by no manifest, maybe pulled at run time: calico/extra:v1)")


# --------------------------------------------------------------------------- the real catalog entries

RENDERED_CNIS = [c.name for c in cni_catalog.load_all() if c.install.source in ("manifest", "module")]
HELM_CNIS = [c.name for c in cni_catalog.load_all() if c.install.source == "helm"]


def helm_missing() -> str:
    try:
        kind.tool("helm")
    except kind.ClusterError as exc:
        return str(exc)
    return ""


def assert_all_listed(name: str, where: str, documents: list[dict], listed: tuple[str, ...]) -> None:
    found = refs.referenced(documents)
    assert refs.unlisted(found, listed) == [], f"{name}: its manifests pull images {where} does not list"


@pytest.mark.parametrize("name", RENDERED_CNIS)
def test_every_image_a_cni_manifest_pulls_is_listed(name):
    cni = cni_catalog.load(name)
    for shaped in refs.shaped_installs(cni):
        documents = refs.cni_documents(shaped)
        assert refs.referenced(documents), f"{name}: no image found in its manifests"
        assert_all_listed(name, f"cnis/{name}.yaml", documents, cni.install.images)


@pytest.mark.parametrize("name", HELM_CNIS)
def test_every_image_a_cni_chart_pulls_is_listed(name):
    if helm_missing():
        pytest.skip(f"{name}'s chart is rendered by helm: {helm_missing()}")
    cni = cni_catalog.load(name)
    for shaped in refs.shaped_installs(cni):
        documents = refs.cni_documents(shaped)
        assert refs.referenced(documents), f"{name}: no image found in its rendered chart"
        assert_all_listed(name, f"cnis/{name}.yaml", documents, cni.install.images)


@pytest.mark.parametrize("name", addon_catalog.known())
def test_every_image_an_addon_pulls_is_listed(name):
    addon = addon_catalog.load(name)
    assert_all_listed(name, f"addons/{name}.yaml", refs.addon_documents(addon), addon.images)


def test_the_metallb_pool_renders_with_a_stand_in_address_pool():
    documents = refs.addon_documents(addon_catalog.load("metallb"))
    pool = next(d for d in documents if d["kind"] == "IPAddressPool")
    assert pool["spec"]["addresses"] == [refs.PLACEHOLDER_PARAMS["address_pool"]]


def test_a_shape_whose_patch_pulls_another_image_is_caught():
    cni = cni_catalog.load("calico")
    swap = ManifestPatch("DaemonSet", "calico-node", set=(("spec.template.spec.containers[name=calico-node].image",
                                                          "docker.io/calico/node:v3.99.0"),))
    nftables = replace(cni.shapes.proxy_modes["nftables"], changes=shapes.Changes(manifest_patches=(swap,)))
    cni = replace(cni, shapes=replace(cni.shapes, proxy_modes={**cni.shapes.proxy_modes, "nftables": nftables}))
    assert len(refs.shaped_installs(cni)) == 2
    line, failed = refs.check_cni(cni)
    assert failed and line == "calico: referenced but not in cnis/calico.yaml images: docker.io/calico/node:v3.99.0"


# --------------------------------------------------------------------------- what cannot be rendered, and the CLI


def test_a_module_that_cannot_be_fetched_says_so(monkeypatch):
    from cnimatrix import upstream

    def refuse(module, version):
        raise upstream.UpstreamError(f"cannot fetch {module}@{version}: proxy said no")

    monkeypatch.setattr(upstream, "module_dir", refuse)
    with pytest.raises(refs.NotRenderable, match="calico: cannot fetch github.com/projectcalico/calico@"):
        refs.cni_documents(cni_catalog.load("calico"))


def test_without_helm_a_chart_entry_is_skipped_and_strict_fails(monkeypatch, capsys):
    def no_helm(name):
        raise kind.ClusterError(f"{name} not found")

    monkeypatch.setattr(kind, "tool", no_helm)
    assert images_main(["refs", "--cni", "cilium", "--cni", "kindnet"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cilium: skipped: helm not found: run `make images CNI=cilium` (it builds helm from its Go module)",
        "kindnet: not checked: installed by kind from its node image (source: builtin)"]
    assert images_main(["refs", "--cni", "cilium", "--strict"]) == 1
    assert images_main(["refs", "--cni", "kindnet", "--strict"]) == 0   # builtin: nothing of ours to render


def test_an_unlisted_image_fails_the_cli(monkeypatch, tmp_path, capsys):
    manifest = tmp_path / "cni.yaml"
    manifest.write_text(yaml.safe_dump(workload("DaemonSet", pod_spec("ghcr.io/flannel-io/flannel:v0.28.5"))))
    monkeypatch.setattr(kind, "manifest_files", lambda cni, folder, cluster_name: [manifest])
    assert images_main(["refs", "--cni", "flannel"]) == 1
    assert capsys.readouterr().out == (
        "flannel: referenced but not in cnis/flannel.yaml images: ghcr.io/flannel-io/flannel:v0.28.5 "
        "(listed, referenced by no manifest, maybe pulled at run time: ghcr.io/flannel-io/flannel:v0.28.4)\n")


def test_an_unknown_name_is_bad_input(capsys):
    assert images_main(["refs", "--cni", "nope"]) == 2
    assert images_main(["refs", "--addon", "nope"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith("[images refs] unknown CNI 'nope'") and "unknown add-on 'nope'" in err[1]


def test_the_build_cli_still_takes_its_own_arguments(capsys):
    assert images_main(["--list"]) == 0
    assert "helm" in capsys.readouterr().out
