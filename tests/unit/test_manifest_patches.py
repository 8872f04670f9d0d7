"""Manifest patches (cnimatrix/cni/patches.py): a shape's changes to an upstream manifest, as data."""
from pathlib import Path

import pytest
import yaml

from cnimatrix.cni.patches import ManifestPatch, PatchError, apply, patched_files, steps

DAEMONSET = {
    "kind": "DaemonSet", "metadata": {"name": "calico-node", "namespace": "kube-system"},
    "spec": {"template": {"spec": {"containers": [
        {"name": "install"},
        {"name": "calico-node", "env": [{"name": "FELIX_IPV6SUPPORT", "value": "false"}, {"name": "IP", "value": "autodetect"}]},
    ]}}},
}
CONFIGMAP = {"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "kube-system"}, "data": {"a": "1"}}
ENV = "spec.template.spec.containers[name=calico-node].env"


def test_steps_read_keys_picks_and_indexes():
    assert steps(f"{ENV}[name=IP6].value") == [
        ("key", "spec"), ("key", "template"), ("key", "spec"), ("key", "containers"), ("pick", "name", "calico-node"),
        ("key", "env"), ("pick", "name", "IP6"), ("key", "value")]
    assert steps("data[0]") == [("key", "data"), ("index", "0")]
    for bad in ("", ".a", "a..b", "[0]", "a[name]", "a b"):
        with pytest.raises(ValueError):
            steps(bad)


def test_set_changes_an_env_var_and_adds_a_missing_one():
    patch = ManifestPatch("DaemonSet", "calico-node", "kube-system",
                          set=((f"{ENV}[name=FELIX_IPV6SUPPORT].value", "true"), (f"{ENV}[name=IP6].value", "autodetect")))
    (patched,), used = apply([DAEMONSET], (patch,))
    env = patched["spec"]["template"]["spec"]["containers"][1]["env"]
    assert env == [{"name": "FELIX_IPV6SUPPORT", "value": "true"}, {"name": "IP", "value": "autodetect"},
                   {"name": "IP6", "value": "autodetect"}]
    assert used == {0}
    assert DAEMONSET["spec"]["template"]["spec"]["containers"][1]["env"][0]["value"] == "false"  # the input stays


def test_set_a_list_item_whole_and_remove_by_path():
    patch = ManifestPatch("DaemonSet", "calico-node", set=((f"{ENV}[name=IP]", {"value": "none"}),),
                          remove=("spec.template.spec.containers[0]",))
    (patched,), _ = apply([DAEMONSET], (patch,))
    (container,) = patched["spec"]["template"]["spec"]["containers"]
    assert container["env"][1] == {"name": "IP", "value": "none"}


def test_a_patch_picks_by_kind_name_and_namespace_only():
    other_namespace = ManifestPatch("ConfigMap", "cfg", "elsewhere", set=(("data.a", "2"),))
    docs, used = apply([DAEMONSET, CONFIGMAP, None], (other_namespace, ManifestPatch("ConfigMap", "cfg", set=(("data.b", "3"),))))
    assert docs[1]["data"] == {"a": "1", "b": "3"} and used == {1}


def test_a_path_that_leads_nowhere_is_an_error():
    with pytest.raises(PatchError, match=r"nothing at \[name=nope\]"):
        apply([DAEMONSET], (ManifestPatch("DaemonSet", "calico-node", remove=(f"{ENV}[name=nope]",)),))
    with pytest.raises(PatchError, match=r"nothing at \[5\]"):
        apply([DAEMONSET], (ManifestPatch("DaemonSet", "calico-node", set=(("spec.template.spec.containers[5].name", "x"),)),))


def test_patched_files_write_a_copy_and_refuse_a_patch_that_matches_nothing(tmp_path):
    source = tmp_path / "upstream.yaml"
    source.write_text(yaml.safe_dump_all([DAEMONSET, CONFIGMAP]))
    untouched = tmp_path / "other.yaml"
    untouched.write_text(yaml.safe_dump(CONFIGMAP | {"metadata": {"name": "x"}}))
    out = tmp_path / "cluster"
    out.mkdir()
    paths = patched_files([source, untouched], (ManifestPatch("ConfigMap", "cfg", set=(("data.a", "2"),)),), out)
    assert paths == [out / "patched-upstream.yaml", untouched]
    assert list(yaml.safe_load_all(paths[0].read_text()))[1]["data"] == {"a": "2"}
    assert next(yaml.safe_load_all(source.read_text())) == DAEMONSET  # the upstream file is never edited
    with pytest.raises(PatchError, match="manifest patch for Service kube-system/nope matches no object in upstream.yaml"):
        patched_files([source], (ManifestPatch("Service", "nope", "kube-system", set=(("a", 1),)),), out)


def test_install_applies_the_patched_copy(monkeypatch, tmp_path):
    """kind.install_cni hands kubectl the patched copy, kept beside the kubeconfig."""
    from dataclasses import replace

    from cnimatrix.cluster import kind
    from cnimatrix.cni import load

    manifest = tmp_path / "cni.yaml"
    manifest.write_text(yaml.safe_dump(CONFIGMAP))
    cni = load("flannel")
    cni = replace(cni, install=replace(cni.install, manifests=(str(manifest),),
                                       manifest_patches=(ManifestPatch("ConfigMap", "cfg", set=(("data.a", "2"),)),)))
    applied = []
    monkeypatch.setattr(kind.policy_crds, "install", lambda cluster, say: None)
    monkeypatch.setattr(kind.Cluster, "kubectl", lambda self, *args, **kw: applied.append(args) or "")
    kind.install_cni(kind.Cluster(name="c", kubeconfig=tmp_path / "kubeconfig"), cni)
    assert applied == [("apply", "--server-side", "--force-conflicts", "-f", str(tmp_path / "patched-cni.yaml"))]
    assert yaml.safe_load(Path(tmp_path / "patched-cni.yaml").read_text())["data"] == {"a": "2"}


def test_install_fills_the_control_plane_into_patch_values(tmp_path):
    """${control_plane} in a patch's value becomes the cluster's API server node, as in chart values."""
    from dataclasses import replace

    from cnimatrix.cluster import kind
    from cnimatrix.cni import load

    manifest = tmp_path / "cni.yaml"
    manifest.write_text(yaml.safe_dump(CONFIGMAP))
    cni = load("flannel")
    cni = replace(cni, install=replace(cni.install, manifests=(str(manifest),), manifest_patches=(
        ManifestPatch("ConfigMap", "cfg", set=(("data.host", "${control_plane}"), ("data.port", "6443"))),)))
    (patched,) = kind.manifest_files(cni, tmp_path, "cnimatrix-toy")
    assert yaml.safe_load(patched.read_text())["data"] == {"a": "1", "host": "cnimatrix-toy-control-plane", "port": "6443"}
