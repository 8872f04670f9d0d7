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
    from cnimatrix.netpol import cases, scenarios

    netpol_params = {  # the netpol suite's parameters are names from its data files
        "test_policy_case": {c.name for c in cases.load_all()},
        "test_established_connection": {s.name for s in scenarios.load_established()},
        "test_node_traffic": {s.name for s in scenarios.load_node_traffic()},
    }
    for item in known.values():
        source = "".join(path.read_text() for path in sorted((suites / item.suite).glob("test_*.py")))
        assert item.must_fail, item.name
        for scenario in item.must_fail:
            function, _, param = scenario.partition("[")
            assert f"def {function}(" in source, f"{item.name} names unknown scenario {scenario}"
            if item.suite == "netpol" and param:
                assert param.rstrip("]") in netpol_params[function], f"{item.name} names unknown case {scenario}"
    from cnimatrix import cni

    for item in known.values():
        assert set(item.cnis) <= set(cni.known()), f"{item.name} names unknown CNIs {item.cnis}"


def test_unknown_breakage_lists_known_ones():
    with pytest.raises(breakage.BreakageError, match="known: .*no-kube-proxy"):
        breakage.load("nope")


def test_cilium_kpr_drops_kube_proxy_and_names_the_api_server_node():
    from pathlib import Path

    from cnimatrix.cluster.kind import Cluster, chart_values

    cni = load("cilium-kpr")
    assert kind_config(cni)["networking"]["kubeProxyMode"] == "none"
    values = chart_values(cni.install.values, Cluster(name="cnimatrix-cilium-kpr", kubeconfig=Path("k")))
    assert values["k8sServiceHost"] == "cnimatrix-cilium-kpr-control-plane"
    assert values["kubeProxyReplacement"] is True and values["k8sServicePort"] == 6443
    assert load("cilium").install.values["kubeProxyReplacement"] is False


def test_chart_values_fill_placeholders_everywhere_and_keep_other_types():
    from pathlib import Path

    from cnimatrix.cluster.kind import Cluster, chart_values

    cluster = Cluster(name="c", kubeconfig=Path("k"))
    given = {"a": ["${control_plane}:6443", 3], "b": {"c": None, "d": True}}
    assert chart_values(given, cluster) == {"a": ["c-control-plane:6443", 3], "b": {"c": None, "d": True}}
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
