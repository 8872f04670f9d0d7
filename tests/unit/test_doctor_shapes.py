"""What `make doctor` says about the cluster shapes (cnimatrix/doctor/shape_support.py): kube-proxy's
nftables mode and IPv6."""
import subprocess

from cnimatrix.doctor import kernel, shape_support
from cnimatrix.doctor.kernel import features_from_config, parse_kernel_config
from tests.unit.test_doctor import HOST_CONFIG, make_report


NFT_READY = {**dict.fromkeys(kernel.SHAPE_SYMBOLS, True)}
KIND_V4_V6 = shape_support.ShapeHostStatus("0", True, ["172.18.0.0/16", "fc00:f853:ccd:e793::/64"])


def test_nftables_needs_its_kernel_options_and_release():
    assert shape_support.nftables_lacking("6.18.44-fc", NFT_READY) == []
    assert shape_support.nftables_lacking("5.10.0", {**NFT_READY, "CONFIG_NFT_NUMGEN": False}) == [
        "kernel 5.10.0 (kube-proxy wants 5.13 or later)", "NFT_NUMGEN"]
    assert shape_support.nftables_lacking("6.1", {"CONFIG_NF_TABLES": None}) == []  # unknown is not proof of absence
    assert shape_support.nftables_lacking("6.1", {**NFT_READY, "CONFIG_NFT_FIB_IPV6": False}) == []
    assert shape_support.nftables_lacking("6.1", {**NFT_READY, "CONFIG_NFT_FIB_IPV6": False}, ipv6=True) == ["NFT_FIB_IPV6"]


def test_ipv6_needs_the_kernels_switch_and_an_ipv6_kind_network():
    assert shape_support.ipv6_lacking(KIND_V4_V6, "6.18", NFT_READY, "nftables") == []
    no_network = shape_support.ShapeHostStatus("0")
    assert shape_support.ipv6_lacking(no_network, "6.18", NFT_READY) == []  # kind makes it, with IPv6
    v4_only = shape_support.ShapeHostStatus("0", True, ["172.18.0.0/16"])
    assert "an IPv6 subnet on Docker's kind network" in shape_support.ipv6_lacking(v4_only, "6.18", NFT_READY)[0]
    assert shape_support.ipv6_lacking(shape_support.ShapeHostStatus(None), "6.18", NFT_READY) == [
        "IPv6 in the kernel (no /proc/sys/net/ipv6/conf/all/disable_ipv6)"]


def test_doctor_lines_for_the_shapes():
    ready = make_report(features={**features_from_config(parse_kernel_config(HOST_CONFIG)), **NFT_READY},
                        shape_host=KIND_V4_V6)
    lines = {line.subject: (line.status, line.message) for line in ready.lines}
    assert lines["proxy nftables"][0] == "ok" and "NFT_MASQ" in lines["proxy nftables"][1]
    assert lines["ipv6 kernel"] == ("ok", "net.ipv6 on")
    assert lines["ipv6 docker"] == ("ok", "kind network has IPv6 subnet fc00:f853:ccd:e793::/64")
    assert len(ready.lines) <= 40 and ready.exit_code == 0
    lacking = make_report(features={**NFT_READY, "CONFIG_NFT_MASQ": False, "CONFIG_NFT_FIB_IPV6": False},
                          shape_host=shape_support.ShapeHostStatus("1", True, ["172.18.0.0/16"]))
    lines = {line.subject: (line.status, line.message) for line in lacking.lines}
    assert lines["proxy nftables"] == ("warn", "no NFT_MASQ: --proxy-mode nftables cannot run here")
    assert lines["ipv6 kernel"][0] == "warn" and "is 1" in lines["ipv6 kernel"][1] and "NFT_FIB_IPV6" in lines["ipv6 kernel"][1]
    assert lines["ipv6 docker"][0] == "warn" and "docker network rm kind" in lines["ipv6 docker"][1]
    assert lacking.exit_code == 0  # a shape the host lacks narrows the choice, it fails nothing
    assert "proxy nftables" not in {line.subject for line in make_report().lines}  # not read: no lines


def test_kind_network_read_from_docker(monkeypatch):
    answers = iter([subprocess.CompletedProcess([], 0, '[{"Subnet":"172.18.0.0/16"},{"Subnet":"fc00::/64"}]', ""),
                    subprocess.CompletedProcess([], 1, "", "Error: No such network: kind")])
    monkeypatch.setattr(shape_support.subprocess, "run", lambda *a, **k: next(answers))
    assert shape_support.kind_network_subnets() == (True, ["172.18.0.0/16", "fc00::/64"], None)
    assert shape_support.kind_network_subnets() == (False, [], None)
