"""kind config assembly and the negative-control catalogue (no cluster involved)."""
import pytest

from cnimatrix import breakage
from cnimatrix.cluster.kind import base_config, kind_config
from cnimatrix.cni import load


def test_base_config_shape_and_cgroup_v1_patch():
    config = base_config(workers=2)
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    assert any("failCgroupV1: false" in patch for patch in config["kubeadmConfigPatches"])


def test_cni_fragment_is_merged():
    config = kind_config(load("flannel"), workers=1)
    assert config["networking"] == {"disableDefaultCNI": True, "podSubnet": "10.244.0.0/16"}
    assert len(config["nodes"]) == 2
    assert kind_config(load("kindnet"))["networking"]["disableDefaultCNI"] is False


def test_breakages_load_and_name_real_scenarios():
    from pathlib import Path
    suites = Path(__file__).resolve().parents[2] / "suites"
    known = breakage.load_all()
    assert {"no-kube-proxy", "wrong-cluster-domain"} <= set(known)
    from cnimatrix.netpol import cases, cluster_cases, scenarios

    netpol_params = {  # the netpol suite's parameters are names from its data files
        "test_policy_case": {c.name for c in cases.load_all()},
        "test_cluster_policy_case": {c.name for c in cluster_cases.load_all()},
        "test_established_connection": {s.name for s in scenarios.load_established()},
        "test_node_traffic": {s.name for s in scenarios.load_node_traffic()},
    }
    for item in known.values():
        source = "".join(path.read_text() for path in sorted((suites / item.suite).glob("test_*.py")))
        assert item.must_fail, item.name
        assert not set(item.must_fail) & set(item.must_pass), item.name
        for scenario in item.must_fail + item.must_pass:
            function, _, param = scenario.partition("[")
            assert f"def {function}(" in source, f"{item.name} names unknown scenario {scenario}"
            if item.suite == "netpol" and param:
                assert param.rstrip("]") in netpol_params[function], f"{item.name} names unknown case {scenario}"
    from cnimatrix import cni

    for item in known.values():
        assert set(item.cnis) <= set(cni.known()), f"{item.name} names unknown CNIs {item.cnis}"


def test_narrow_breakages_say_what_they_hit_and_run_their_node_steps_on_one_node():
    known = breakage.load_all()
    narrow = [item for item in known.values() if item.narrow]
    assert {"nodeport-rules-gone", "backend-dropped-on-one-node"} <= {item.name for item in narrow}
    for item in narrow:
        assert item.must_pass, f"{item.name}: a narrow breakage names what must still pass"
        assert all("on_node" in step for step in item.steps if "node" in step), item.name
    assert not known["no-kube-proxy"].narrow and not known["no-kube-proxy"].must_pass


def test_pod_port_dropped_names_cases_by_whether_they_probe_the_dropped_cell():
    """The engine decides: a must-fail case expects the cell (z/c, 81/TCP) allowed from some pod in
    some state it checks; a must-pass case never probes it."""
    from cnimatrix.netpol import cases
    from cnimatrix.netpol.reachability import Target, expected

    item = breakage.load("pod-port-dropped")
    known = {case.name: case for case in cases.load_all()}
    dropped = Target.parse("81/TCP")

    def probes_allowed(case) -> bool:
        return dropped in case.targets and any(
            expected(state.policies, state.namespaces, state.pods, dropped).get(src, "z/c")
            for state in cases.states(case) for src in cases.MATRIX_PODS)

    named = lambda entries: [known[e.split("[")[1].rstrip("]")] for e in entries]
    assert all(probes_allowed(case) for case in named(item.must_fail))
    assert not any(dropped in case.targets for case in named(item.must_pass))


@pytest.mark.parametrize("name", ["calico-policy-bypassed-on-one-node", "canal-felix-stopped-on-one-node"])
def test_policy_bypassed_on_one_node_names_cases_by_whether_that_node_enforces_them(name):
    """The engine decides (cnimatrix/netpol/enforcement.py): a must-fail case denies some cell through
    a side worker2 enforces; a must-pass case's policies hold only on other nodes. Every case that
    sees worker2 is listed, so the control shows that node's whole share of the catalog."""
    from cnimatrix.netpol import cases, enforcement

    item = breakage.load(name)
    known = {case.name: case for case in cases.load_all()}
    named = lambda entries: [known[e.split("[")[1].rstrip("]")] for e in entries]
    assert all(enforcement.sees_unenforced(case, "worker2") for case in named(item.must_fail))
    assert not any(enforcement.sees_unenforced(case, "worker2") for case in named(item.must_pass))
    assert {c.name for c in known.values() if enforcement.sees_unenforced(c, "worker2")} == \
        {c.name for c in named(item.must_fail)}


def test_firewall_off_names_every_case_that_denies_a_cell():
    """kube-router without its policy controller enforces nothing on any node: every case whose
    truth table denies some cell must fail, and only the cases that deny nothing are left out."""
    from cnimatrix.netpol import cases, enforcement

    item = breakage.load("kube-router-firewall-off")
    known = {case.name: case for case in cases.load_all()}
    listed = {e.split("[")[1].rstrip("]") for e in item.must_fail if e.startswith("test_policy_case[")}
    denying = {c.name for c in known.values() if any(enforcement.sees_unenforced(c, n) for n in enforcement.SAMPLE_NODES)}
    assert listed == denying
    assert {"allow-all-both-directions", "union-with-allow-all"} == set(known) - denying


def test_a_step_on_an_unknown_node_role_or_of_two_kinds_is_refused():
    with pytest.raises(breakage.BreakageError, match="on_node: 'worker3' is not a node role"):
        breakage.check_step("x.yaml", "b", {"node": "true", "on_node": "worker3"})
    with pytest.raises(breakage.BreakageError, match="a step is one of"):
        breakage.check_step("x.yaml", "b", {"kubectl": ["get"], "on_node": "worker"})
    breakage.check_step("x.yaml", "b", {"node": "true", "on_node": "worker2"})


class Roles:
    def node_roles(self):
        return {"k-worker": "172.18.0.3", "k-worker2": "172.18.0.4", "k-control-plane": "172.18.0.2"}, \
            ["k-worker", "k-worker2"], ["k-control-plane"]


def test_node_params_name_the_nodes_by_role_and_hits_fill_them():
    assert breakage.node_params(Roles()) == {"control_plane": "k-control-plane", "worker": "k-worker", "worker2": "k-worker2",
                                             "control_plane_ip": "172.18.0.2", "worker_ip": "172.18.0.3", "worker2_ip": "172.18.0.4"}
    item = breakage.load("backend-dropped-on-one-node")
    filled = {**breakage.node_params(Roles()), "victim_ip": "10.244.1.5"}
    assert breakage.hits(item, filled) == "web backend 10.244.1.5, through k-control-plane only"


def test_unknown_breakage_lists_known_ones():
    with pytest.raises(breakage.BreakageError, match="known: .*no-kube-proxy"):
        breakage.load("nope")


def test_cilium_kpr_drops_kube_proxy_and_names_the_api_server_node():
    from cnimatrix.cluster.kind import fill_control_plane

    cni = load("cilium-kpr")
    assert kind_config(cni)["networking"]["kubeProxyMode"] == "none"
    values = fill_control_plane(cni.install.values, "cnimatrix-cilium-kpr")
    assert values["k8sServiceHost"] == "cnimatrix-cilium-kpr-control-plane"
    assert values["kubeProxyReplacement"] is True and values["k8sServicePort"] == 6443
    assert load("cilium").install.values["kubeProxyReplacement"] is False


def test_cilium_native_differs_from_cilium_in_routing_values_only():
    cilium, native = load("cilium"), load("cilium-native")
    routing = {"routingMode", "tunnelProtocol", "autoDirectNodeRoutes", "ipv4NativeRoutingCIDR"}
    without = lambda values: {k: v for k, v in values.items() if k not in routing}
    assert without(native.install.values) == without(cilium.install.values)
    assert (native.install.module, native.install.version, native.install.chart, native.install.images) == \
        (cilium.install.module, cilium.install.version, cilium.install.chart, cilium.install.images)
    assert kind_config(native) == kind_config(cilium)   # kube-proxy kept, the same pod subnet
    # the range left unmasqueraded is exactly the cluster's pods
    assert native.install.values["ipv4NativeRoutingCIDR"] == kind_config(native)["networking"]["podSubnet"]
    assert "tunnelProtocol" not in native.install.values and "CONFIG_VXLAN" not in native.host.requires_kernel


def test_cilium_native_chart_tells_the_agent_to_route_natively(tmp_path):
    """The chart as a run renders it (kind.template_chart, from the pinned module): cilium-config says
    native routing with direct node routes over the pod subnet. The chart writes tunnel-protocol in
    every mode (its default, vxlan); the agent makes a tunnel only for the tunnel routing mode, the
    egress gateway or Geneve DSR with kube-proxy replacement, and none of those is on."""
    import yaml

    from cnimatrix.cluster import kind

    def config_of(name: str) -> dict:
        try:
            rendered = kind.template_chart(load(name), f"cnimatrix-{name}", tmp_path)
        except kind.ClusterError as exc:   # no helm, or the module cannot be had here
            pytest.skip(f"{name}'s chart is not rendered here: {exc}")
        documents = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
        (found,) = [d["data"] for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cilium-config"]
        return found

    native = config_of("cilium-native")
    assert native["routing-mode"] == "native" and native["auto-direct-node-routes"] == "true"
    assert native["ipv4-native-routing-cidr"] == "10.244.0.0/16"
    assert native["direct-routing-skip-unreachable"] == "false"   # a node not one hop away fails loudly
    assert native.get("enable-egress-gateway", "false") == "false" and native["kube-proxy-replacement"] == "false"
    assert native["enable-ipv4-masquerade"] == "true" and "enable-ip-masq-agent" not in native
    assert "mtu" not in native   # detected from the node's devices; no tunnel takes bytes off it
    assert config_of("cilium")["routing-mode"] == "tunnel"


def test_chart_values_fill_placeholders_everywhere_and_keep_other_types():
    from cnimatrix.cluster.kind import fill_control_plane

    given = {"a": ["${control_plane}:6443", 3], "b": {"c": None, "d": True}}
    assert fill_control_plane(given, "c") == {"a": ["c-control-plane:6443", 3], "b": {"c": None, "d": True}}
    assert given["a"][0] == "${control_plane}:6443"  # the catalog's values are not changed


def test_telling_lines_lead_with_the_cause_the_tail_hides():
    from cnimatrix.cluster.kind import telling_lines

    log = ['level=info msg="start"',
           'level=warn msg="failed to create a probe GENEVE device: operation not supported"',
           *[f'level=info msg="Still waiting for CRDs" n={i}' for i in range(20)]]
    shown = telling_lines(log, 3)
    assert shown[0].endswith('operation not supported"') and shown[1] == "..."
    assert shown[2:] == log[-3:]
    assert telling_lines(['level=info msg="ok"'] * 5, 3) == ['level=info msg="ok"'] * 3


def test_a_breakage_names_a_world_its_suite_applies_and_scripts_it_reads_exist():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    known = breakage.load_all()
    worlds = {b.name: b.world for b in known.values() if b.world}
    assert worlds["calico-new-endpoints-unguarded"] == "isolation"
    assert worlds["kube-proxy-frozen-under-udp-churn"] == "udp-churn"
    for item in known.values():
        conftest = (root / "suites" / item.suite / "conftest.py").read_text()
        if item.world:
            assert f'world="{item.world}"' in conftest, f"{item.name}: no fixture of {item.suite} applies world {item.world}"
        else:   # a suite's only world: its fixture passes none
            assert "world=" not in conftest, f"{item.name}: {item.suite} has several worlds, name one"
        for step in item.steps:
            for word in str(step).split():
                if word.startswith("$breakages/"):
                    assert (root / "manifests" / "breakages" / word.removeprefix("$breakages/")).is_file(), word


def test_a_breakage_applies_only_in_the_world_it_names(monkeypatch):
    from types import SimpleNamespace

    from fixtures import cluster as fixture
    applied = []
    monkeypatch.setattr(fixture.breakage, "apply", lambda chosen, cluster, params: applied.append(chosen.name) or params)
    monkeypatch.setattr(fixture, "run_state", lambda request: SimpleNamespace(metrics={}))
    request = SimpleNamespace(config=SimpleNamespace(getoption=lambda name: "kube-proxy-frozen-under-udp-churn"))
    fixture.apply_requested_breakage(request, "day2", None, {}, world="isolation")
    assert applied == []
    fixture.apply_requested_breakage(request, "day2", None, {}, world="udp-churn")
    assert applied == ["kube-proxy-frozen-under-udp-churn"]
