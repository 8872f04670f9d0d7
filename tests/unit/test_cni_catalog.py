import copy
import textwrap

import pytest
import yaml

from cnimatrix.cni import (
    CNI_DIR,
    CNI_DIR_ENV,
    REPO_ROOT,
    Capability,
    CniDataError,
    UnknownCni,
    cni_dir,
    effective,
    known,
    load,
    load_all,
    merge_kind_config,
)

VALID = {
    "name": "toy",
    "description": "a test CNI",
    "version": "v1.0.0",
    "kind_config": {"networking": {"disableDefaultCNI": True}},
    "install": {"source": "manifest", "manifests": ["manifests/cni/toy.yaml"], "images": ["toy:v1"]},
    "readiness": [{"kind": "DaemonSet", "namespace": "kube-system", "name": "toy"}],
    "ready_timeout_s": 120,
    "capabilities": {
        "networkpolicy": {"status": "not-enforced", "evidence": "ignores policies"},
        "hairpin": {"status": "supported", "evidence": "tested", "requires_kernel": ["CONFIG_VETH"]},
    },
}


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    """A private catalog directory; returns a writer for CNI files in it."""
    monkeypatch.setenv(CNI_DIR_ENV, str(tmp_path))

    def write(doc, name=None):
        name = name or doc.get("name", "toy")
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(doc))
        return name

    return write


def variant(mutate):
    doc = copy.deepcopy(VALID)
    mutate(doc)
    return doc


# --------------------------------------------------------------------------- the real catalog


def test_default_catalog_is_repo_root_cnis(monkeypatch):
    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    assert cni_dir() == CNI_DIR == REPO_ROOT / "cnis"
    assert "kindnet" in known()


def test_kindnet_entry(monkeypatch):
    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    cni = load("kindnet")
    assert cni.name == "kindnet"
    assert cni.version == "v20260820-69b56db7"
    assert cni.install.source == "builtin"
    assert cni.install.manifests == ()
    assert cni.install.images == ("docker.io/kindest/kindnetd:v20260820-69b56db7",)
    assert [(r.kind, r.namespace, r.name) for r in cni.readiness] == [("DaemonSet", "kube-system", "kindnet")]
    assert cni.ready_timeout_s == 180
    assert cni.kind_config == {"networking": {"disableDefaultCNI": False}}
    policy = cni.capability("networkpolicy")
    assert policy.status == "enforced" and policy.is_supported
    assert policy.requires_kernel == ("CONFIG_NFT_QUEUE",)
    assert "kube-network-policies" in policy.evidence
    for name in ("hairpin", "udp_services", "session_affinity"):
        assert cni.capability(name).status == "supported"
    assert "kube-proxy" in cni.capability("session_affinity").evidence


def test_every_shipped_entry_loads(monkeypatch):
    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    assert [c.name for c in load_all()] == known()


def test_cilium_native_entry_declares_what_cilium_does(monkeypatch):
    """Native routing changes how packets cross between nodes, not what the agent enforces or which
    Services kube-proxy serves: the same capabilities, shapes and upstream bugs as the cilium entry."""
    from cnimatrix.cni import nightly

    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    native, cilium = load("cilium-native"), load("cilium")
    assert "cilium-native" in known() and "cilium-native" in nightly()
    assert (native.version, native.install.source) == (cilium.version, "helm")
    assert {n: c.status for n, c in native.capabilities.items()} == {n: c.status for n, c in cilium.capabilities.items()}
    assert "ipv4-native-routing-cidr" in native.capability("egress_masquerade").evidence
    assert [(i.issue, i.scenarios) for i in native.known_issues] == [(i.issue, i.scenarios) for i in cilium.known_issues]
    assert native.shapes.ip_families["ipv4"].status == native.shapes.proxy_modes["iptables"].status == "supported"
    assert native.shapes.proxy_modes["nftables"].status == "untested"
    assert "native routing" in native.host.mode and "VXLAN" not in native.description


# --------------------------------------------------------------------------- lookup


def test_known_is_sorted_and_ignores_other_files(catalog, tmp_path):
    catalog(VALID)
    catalog(variant(lambda d: d.update(name="alpha")))
    (tmp_path / "notes.txt").write_text("not a CNI")
    assert known() == ["alpha", "toy"]


def test_unknown_cni_lists_the_known_ones(catalog):
    catalog(VALID)
    catalog(variant(lambda d: d.update(name="alpha")))
    with pytest.raises(UnknownCni, match="unknown CNI 'weave'; known CNIs: alpha, toy"):
        load("weave")


def test_path_like_names_are_unknown(catalog):
    catalog(VALID)
    with pytest.raises(UnknownCni):
        load("../toy")


def test_missing_catalog_directory_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(CNI_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(CniDataError, match="nowhere"):
        known()


def test_loads_a_valid_manifest_entry(catalog):
    cni = load(catalog(VALID))
    assert cni.install.manifest_paths() == [REPO_ROOT / "manifests/cni/toy.yaml"]
    assert cni.ready_timeout_s == 120.0
    assert cni.capability("networkpolicy").is_supported is False
    assert cni.capability("hairpin").requires_kernel == ("CONFIG_VETH",)
    assert cni.path.name == "toy.yaml"


def test_undeclared_capability_is_unknown(catalog):
    cap = load(catalog(VALID)).capability("sctp")
    assert cap == Capability(status="unknown", evidence="not declared")
    assert not cap.is_supported


def test_optional_fields_have_defaults(catalog):
    def strip(d):
        del d["kind_config"], d["ready_timeout_s"]

    cni = load(catalog(variant(strip)))
    assert cni.kind_config == {} and cni.ready_timeout_s == 180.0


def test_helm_entry(catalog):
    def helm(d):
        d["install"] = {"source": "helm", "module": "example.com/toy", "version": "v1.0.0", "chart": "charts/toy",
                        "values": {"ipam": {"mode": "kubernetes"}}, "images": ["toy:v1"]}

    install = load(catalog(variant(helm))).install
    assert (install.chart, install.chart_namespace) == ("charts/toy", "kube-system")
    assert (install.module, install.version) == ("example.com/toy", "v1.0.0")
    assert install.values == {"ipam": {"mode": "kubernetes"}}


def test_diagnostics_entry(catalog):
    def diag(d):
        d["diagnostics"] = [{"name": "status", "namespace": "kube-system", "selector": "k8s-app=toy",
                             "container": "agent", "command": ["toy", "status"]}]

    (only,) = load(catalog(variant(diag))).diagnostics
    assert (only.name, only.selector, only.command) == ("status", "k8s-app=toy", ("toy", "status"))


# --------------------------------------------------------------------------- invalid files


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda d: d["capabilities"]["hairpin"].pop("evidence"), "capabilities.hairpin.evidence", "required"),
        (lambda d: d["capabilities"]["hairpin"].update(evidence="  "), "capabilities.hairpin.evidence",
         "non-empty"),
        (lambda d: d["capabilities"]["hairpin"].update(status="yes"), "capabilities.hairpin.status",
         "not one of"),
        (lambda d: d["capabilities"]["hairpin"].update(requires_kernel=["nft_queue"]),
         "capabilities.hairpin.requires_kernel[0]", "CONFIG_"),
        (lambda d: d["capabilities"].update({"Bad-Name": {"status": "supported", "evidence": "x"}}),
         "capabilities.Bad-Name", "capability names"),
        (lambda d: d["capabilities"]["hairpin"].update(note="x"), "capabilities.hairpin.note", "unknown field"),
        (lambda d: d.pop("capabilities"), "capabilities", "required"),
        (lambda d: d.pop("version"), "version", "required"),
        (lambda d: d.update(name="other"), "name", "must match the file name"),
        (lambda d: d.update(colour="blue"), "colour", "unknown field"),
        (lambda d: d.update(kind_config=["networking"]), "kind_config", "mapping"),
        (lambda d: d.update(ready_timeout_s=0), "ready_timeout_s", "positive"),
        (lambda d: d.update(ready_timeout_s=True), "ready_timeout_s", "positive"),
        (lambda d: d.update(readiness=[]), "readiness", "non-empty list"),
        (lambda d: d["readiness"][0].update(kind="Pod"), "readiness[0].kind", "not one of"),
        (lambda d: d["readiness"][0].pop("namespace"), "readiness[0].namespace", "required"),
        (lambda d: d.pop("install"), "install", "required"),
        (lambda d: d["install"].update(source="curl"), "install.source", "not one of"),
        (lambda d: d["install"].update(manifests=[]), "install.manifests", "at least one"),
        (lambda d: d["install"].update(manifests=["../etc/passwd"]), "install.manifests[0]", "relative"),
        (lambda d: d["install"].update(manifests=["/abs.yaml"]), "install.manifests[0]", "relative"),
        (lambda d: d["install"].update(images="toy:v1"), "install.images", "must be a list"),
        (lambda d: d["install"].update(source="builtin"), "install.manifests", "must be empty"),
        (lambda d: d["install"].update(chart="charts/toy"), "install.chart", "only applies to source=helm"),
        (lambda d: d.update(diagnostics={"name": "x"}), "diagnostics", "must be a list"),
        (lambda d: d.update(diagnostics=[{"name": "x", "namespace": "n", "selector": "a=b", "container": "c"}]),
         "diagnostics[0].command", "must list"),
        (lambda d: d["install"].update(source="helm", manifests=[]), "install.chart", "required"),
        (lambda d: d["install"].update(source="helm", manifests=[], chart="c"), "install.module", "required"),
        (lambda d: d["install"].update(module="example.com/toy"), "install.module", "only applies to source=module or helm"),
    ],
)
def test_invalid_files_name_the_file_and_field(catalog, tmp_path, mutate, field, problem):
    name = catalog(variant(mutate), name="toy")
    with pytest.raises(CniDataError) as excinfo:
        load(name)
    message = str(excinfo.value)
    assert message.startswith(f"{tmp_path / 'toy.yaml'}: {field}: ")
    assert problem in message


def test_unparsable_yaml_is_a_data_error(catalog, tmp_path):
    (tmp_path / "toy.yaml").write_text("name: [unclosed\n")
    with pytest.raises(CniDataError, match="toy.yaml: not valid YAML"):
        load("toy")


def test_non_mapping_document_is_a_data_error(catalog, tmp_path):
    (tmp_path / "toy.yaml").write_text(textwrap.dedent("""\
        - just
        - a list
    """))
    with pytest.raises(CniDataError, match=r"\(top level\): must be a mapping"):
        load("toy")


# --------------------------------------------------------------------------- effective status


def test_effective_downgrades_when_a_required_kernel_feature_is_missing():
    cap = Capability("enforced", "policy engine", ("CONFIG_NFT_QUEUE", "CONFIG_NF_TABLES"))
    status, reason = effective(cap, {"CONFIG_NFT_QUEUE": False, "CONFIG_NF_TABLES": True})
    assert status == "unsupported-here"
    assert "CONFIG_NFT_QUEUE" in reason and "CONFIG_NF_TABLES" not in reason


def test_effective_keeps_declaration_when_features_present_or_unknown():
    cap = Capability("enforced", "policy engine", ("CONFIG_NFT_QUEUE",))
    assert effective(cap, {"CONFIG_NFT_QUEUE": True}) == ("enforced", "policy engine")
    assert effective(cap, {}) == ("enforced", "policy engine")  # unknown is not proof of absence


def test_effective_does_not_touch_unsupported_declarations():
    cap = Capability("not-enforced", "ignores policies", ("CONFIG_NFT_QUEUE",))
    assert effective(cap, {"CONFIG_NFT_QUEUE": False}) == ("not-enforced", "ignores policies")


# --------------------------------------------------------------------------- kind config


def test_merge_kind_config_deep_merges_without_mutating():
    base = {
        "kind": "Cluster",
        "networking": {"podSubnet": "10.244.0.0/16", "disableDefaultCNI": False},
        "nodes": [{"role": "control-plane"}, {"role": "worker"}],
    }
    fragment = {
        "networking": {"disableDefaultCNI": True, "kubeProxyMode": "none"},
        "nodes": [{"role": "control-plane"}],
        "featureGates": {"X": True},
    }
    base_before, fragment_before = copy.deepcopy(base), copy.deepcopy(fragment)
    merged = merge_kind_config(base, fragment)
    assert merged == {
        "kind": "Cluster",
        "networking": {"podSubnet": "10.244.0.0/16", "disableDefaultCNI": True, "kubeProxyMode": "none"},
        "nodes": [{"role": "control-plane"}],  # lists replace
        "featureGates": {"X": True},
    }
    assert base == base_before and fragment == fragment_before
    merged["networking"]["podSubnet"] = "changed"
    merged["featureGates"]["X"] = False
    assert base == base_before and fragment == fragment_before  # no shared nested objects


def test_merge_kind_config_scalar_replaces_mapping():
    assert merge_kind_config({"a": {"b": 1}}, {"a": None}) == {"a": None}


def test_cni_kind_cluster_config_applies_its_fragment(catalog):
    cni = load(catalog(VALID))
    merged = cni.kind_cluster_config({"kind": "Cluster", "networking": {"ipFamily": "ipv4"}})
    assert merged["networking"] == {"ipFamily": "ipv4", "disableDefaultCNI": True}


# --------------------------------------------------------------------------- module source, host, offline


def test_calico_entry_reads_upstream_manifest_from_the_pinned_module(monkeypatch):
    from cnimatrix import versions as V

    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    cni = load("calico")
    assert cni.install.source == "module"
    # the catalog and the image build must name the same upstream source
    assert (cni.install.module, cni.install.version) == (V.CALICO_MODULE, V.CALICO_SOURCE)
    assert cni.version == V.CALICO
    assert cni.install.manifests == ("manifests/calico-vxlan.yaml",)
    assert all(tag.endswith(f":{V.CALICO}") for tag in cni.install.images)
    assert cni.capability("networkpolicy").status == "enforced"
    assert cni.offline_reason is None and "CONFIG_VXLAN" in cni.host.requires_kernel


def test_module_source_needs_module_and_version(catalog):
    doc = variant(lambda d: d["install"].update(source="module", module="example.com/toy"))
    catalog(doc)
    with pytest.raises(CniDataError, match=r"install\.version: is required"):
        load("toy")
    catalog(variant(lambda d: d["install"].update(module="example.com/toy")))
    with pytest.raises(CniDataError, match=r"install\.module: only applies to source=module or helm, not manifest"):
        load("toy")


def test_host_and_offline_blocks(catalog):
    catalog(variant(lambda d: d.update(
        host={"requires_kernel": ["CONFIG_VXLAN"], "limits": {"CONFIG_IP_VS": "no IPVS"}, "mode": "vxlan"},
        offline={"buildable": False, "reason": "image withheld"})))
    cni = load("toy")
    assert cni.host.requires_kernel == ("CONFIG_VXLAN",) and cni.host.limits == {"CONFIG_IP_VS": "no IPVS"}
    assert cni.offline_reason == "image withheld"
    catalog(variant(lambda d: d.update(offline={"buildable": False})))
    with pytest.raises(CniDataError, match=r"offline\.reason: is required"):
        load("toy")
    catalog(variant(lambda d: d.update(offline={"buildable": True, "reason": "x"})))
    with pytest.raises(CniDataError, match=r"offline\.reason: only applies when buildable is false"):
        load("toy")
    catalog(variant(lambda d: d.update(host={"limits": {"VXLAN": "x"}})))
    with pytest.raises(CniDataError, match=r"host\.limits\.VXLAN: does not match"):
        load("toy")


def test_every_buildable_cni_image_has_a_build_step(monkeypatch):
    """`make images CNI=x` builds exactly what x needs: every image a buildable CNI lists is made by a step."""
    from cnimatrix.images.recipes import all_steps, steps_for

    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    steps = all_steps()
    for cni in load_all():
        if cni.offline_reason is None:
            wanted = steps_for(steps, list(cni.install.images))
            assert {"kind", "node-image", "kubernetes"} <= wanted
    calico = steps_for(steps, list(load("calico").install.images))
    assert "calico-images" in calico and "flannel" not in calico and "flannel-image" not in calico
    flannel = steps_for(steps, list(load("flannel").install.images))
    assert "flannel-image" in flannel and "calico" not in flannel
    with pytest.raises(KeyError, match="example.com/nope:v1"):
        steps_for(steps, ["example.com/nope:v1"])


def test_calico_ebpf_is_calico_vxlan_with_felix_in_bpf_mode_and_the_same_images(monkeypatch):
    """Upstream ships one calico/node for both dataplanes: calico-ebpf installs calico's manifest and images,
    and its patches only switch Felix to BPF mode beside kube-proxy (without connect-time load balancing)
    and point it at the API server."""
    from cnimatrix.images.recipes import all_steps, steps_for

    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    ebpf, calico = load("calico-ebpf"), load("calico")
    assert (ebpf.install.module, ebpf.install.version, ebpf.install.manifests) == (
        calico.install.module, calico.install.version, calico.install.manifests)
    assert ebpf.install.images == calico.install.images and ebpf.nightly and ebpf.offline_reason is None
    (patch,) = ebpf.install.manifest_patches
    assert (patch.kind, patch.name, patch.namespace) == ("DaemonSet", "calico-node", "kube-system")
    node = {path.split("env[name=")[1].split("]")[0]: value for path, value in patch.set
            if path.startswith("spec.template.spec.containers[name=calico-node]")}
    # connect-time load balancing off: this kernel refuses its program (projectcalico/calico#11302)
    assert node == {"FELIX_BPFENABLED": "true", "FELIX_BPFKUBEPROXYIPTABLESCLEANUPENABLED": "false",
                    "FELIX_BPFCONNECTTIMELOADBALANCING": "Disabled",
                    "KUBERNETES_SERVICE_HOST": "${control_plane}", "KUBERNETES_SERVICE_PORT": "6443"}
    assert {"CONFIG_BPF_SYSCALL", "CONFIG_NET_CLS_BPF", "CONFIG_CGROUP_BPF"} <= set(ebpf.host.requires_kernel)
    assert "kubeProxyMode" not in ebpf.kind_config["networking"]  # kube-proxy kept
    steps = all_steps()
    wanted = steps_for(steps, list(ebpf.install.images))
    assert {"calico-bpf", "calico", "rootfs-calico", "calico-images"} <= wanted
    assert wanted == steps_for(steps, list(calico.install.images))
