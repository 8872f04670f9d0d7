import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnimatrix import doctor
from cnimatrix.cni import catalog
from cnimatrix.cni.catalog import Cni, HostNeeds, Install
from cnimatrix.doctor import kernel
from cnimatrix.doctor import report as doctor_report
from cnimatrix.doctor.fit import cni_verdicts
from cnimatrix.doctor.host import (
    GIB,
    CapabilityStatus,
    DiskStatus,
    DockerStatus,
    cgroup_mode,
    decode_capabilities,
    disk_status,
    docker_status_from_info,
    docker_usable,
    nearest_existing,
    parse_capbnd,
    parse_meminfo,
    parse_mounts,
)
from cnimatrix.doctor.kernel import KERNEL_FEATURES, KernelStatus, features_from_config, parse_kernel_config, symbol_present
from cnimatrix.doctor.report import Report, build_lines, format_lines

REPO_ROOT = Path(__file__).resolve().parents[2]

# The kernel of the development VM: no modules, no NFT_QUEUE / OVS / GENEVE / IPVS / SCTP / IPIP.
HOST_CONFIG = textwrap.dedent("""\
    #
    # Automatically generated file; DO NOT EDIT.
    #
    CONFIG_LOCALVERSION="-fc"
    # CONFIG_MODULES is not set
    # CONFIG_NFT_QUEUE is not set
    CONFIG_NETFILTER_XT_TARGET_NFQUEUE=y
    # CONFIG_OPENVSWITCH is not set
    # CONFIG_GENEVE is not set
    # CONFIG_IP_VS is not set
    # CONFIG_IP_SCTP is not set
    # CONFIG_NET_IPIP is not set
    CONFIG_VXLAN=y
    CONFIG_BPF_SYSCALL=y
    CONFIG_DEBUG_INFO_BTF=y
    CONFIG_IP_SET=y
    CONFIG_NF_TABLES=y
    # CONFIG_WIREGUARD is not set
    CONFIG_BRIDGE=y
    CONFIG_VETH=y
    CONFIG_NR_CPUS=64
""")

HYBRID_MOUNTS = textwrap.dedent("""\
    sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
    tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
    cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
    cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
    cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
    cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
    cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
""")

DOCKER_INFO = {
    "ServerVersion": "20.10.24+dfsg1",
    "ClientInfo": {"Version": "28.2.2"},
    "DefaultRuntime": "cnimatrix-runc",
    "Runtimes": {
        "cnimatrix-runc": {"path": "/usr/local/lib/cnimatrix/runc-wrapper"},
        "runc": {"path": "runc"},
    },
    "CgroupDriver": "cgroupfs",
    "CgroupVersion": "1",
    "Driver": "overlay2",
    "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
    "DockerRootDir": "/var/lib/docker",
    "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
    "Warnings": None,
}

ANSI = re.compile(r"\x1b\[")


# ----- kernel config


def test_parse_kernel_config_values():
    config = parse_kernel_config(HOST_CONFIG)
    assert config["CONFIG_MODULES"] == "n"
    assert config["CONFIG_VXLAN"] == "y"
    assert config["CONFIG_NR_CPUS"] == "64"
    assert config["CONFIG_LOCALVERSION"] == '"-fc"'
    assert "CONFIG_OPENVSWITCH" in config and config["CONFIG_OPENVSWITCH"] == "n"
    assert not any(key.startswith("#") for key in config)


def test_symbol_present_y_m_unset_missing_unknown():
    with_modules = parse_kernel_config("CONFIG_MODULES=y\nCONFIG_GENEVE=m\nCONFIG_VXLAN=y\n")
    assert symbol_present(with_modules, "CONFIG_GENEVE") is True
    assert symbol_present(with_modules, "CONFIG_VXLAN") is True
    assert symbol_present(with_modules, "CONFIG_IP_VS") is False  # not mentioned at all
    # =m without module support cannot be loaded: it does not count.
    without_modules = parse_kernel_config("# CONFIG_MODULES is not set\nCONFIG_GENEVE=m\n")
    assert symbol_present(without_modules, "CONFIG_GENEVE") is False
    assert symbol_present(None, "CONFIG_VXLAN") is None


def test_features_from_config_host():
    features = features_from_config(parse_kernel_config(HOST_CONFIG))
    assert set(features) == set(KERNEL_FEATURES)
    assert features["CONFIG_NFT_QUEUE"] is False
    assert features["CONFIG_NETFILTER_XT_TARGET_NFQUEUE"] is True
    assert features["CONFIG_OPENVSWITCH"] is False
    assert features["CONFIG_BPF_SYSCALL"] is True
    assert all(v is None for v in features_from_config(None).values())


def test_kernel_features_reads_config(monkeypatch):
    monkeypatch.setattr(kernel, "read_kernel_config", lambda release=None: ("/proc/config.gz", HOST_CONFIG))
    features = kernel.kernel_features()
    assert features["CONFIG_MODULES"] is False
    assert features["CONFIG_VXLAN"] is True
    assert features["CONFIG_GENEVE"] is False
    monkeypatch.setattr(kernel, "read_kernel_config", lambda release=None: (None, None))
    assert set(kernel.kernel_features().values()) == {None}


def test_read_kernel_config_gzip(tmp_path, monkeypatch):
    import gzip

    gz = tmp_path / "config.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write(HOST_CONFIG)
    real_open = gzip.open
    monkeypatch.setattr(kernel.gzip, "open", lambda path, *a, **k: real_open(
        gz if path == "/proc/config.gz" else path, *a, **k))
    source, text = kernel.read_kernel_config("x")
    assert source == "/proc/config.gz" and "CONFIG_VXLAN=y" in text


# ----- capabilities


def test_parse_capbnd():
    status = "Name:\tpython\nCapPrm:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n"
    assert parse_capbnd(status) == 0x1FFFEFFFFFF
    assert parse_capbnd("Name:\tx\n") is None


def test_decode_capabilities_missing_sys_resource():
    present, missing = decode_capabilities(0x1FFFEFFFFFF, last_cap=40)
    assert missing == ["CAP_SYS_RESOURCE"]
    assert len(present) == 40
    assert present[0] == "CAP_CHOWN" and present[-1] == "CAP_CHECKPOINT_RESTORE"


def test_decode_capabilities_full_and_unknown_bits():
    assert decode_capabilities((1 << 41) - 1, last_cap=40)[1] == []
    present, missing = decode_capabilities((1 << 42) - 1)  # last_cap unknown, a bit beyond our names
    assert missing == [] and present[-1] == "CAP_41"
    present, missing = decode_capabilities(0b101, last_cap=2)
    assert present == ["CAP_CHOWN", "CAP_DAC_READ_SEARCH"] and missing == ["CAP_DAC_OVERRIDE"]


# ----- cgroups


def test_cgroup_mode_hybrid():
    status = cgroup_mode(parse_mounts(HYBRID_MOUNTS))
    assert status.mode == "hybrid"
    assert status.unified_mount == "/sys/fs/cgroup/unified"
    assert status.v1_controllers == ["cpu", "memory", "pids"]


def test_cgroup_mode_v2_v1_unknown():
    assert cgroup_mode([("/sys/fs/cgroup", "cgroup2", "rw,nsdelegate")]).mode == "v2"
    v1 = [("/sys/fs/cgroup", "tmpfs", "rw"), ("/sys/fs/cgroup/memory", "cgroup", "rw,memory")]
    assert cgroup_mode(v1).mode == "v1"
    assert cgroup_mode([("/", "ext4", "rw")]).mode == "unknown"
    # the last mount on the root is the visible one
    over = [("/sys/fs/cgroup", "tmpfs", "rw"), ("/sys/fs/cgroup", "cgroup2", "rw")]
    assert cgroup_mode(over).mode == "v2"


def test_parse_mounts_unescapes_spaces():
    mounts = parse_mounts("tmpfs /mnt/a\\040b tmpfs rw 0 0\nshort line\n")
    assert mounts == [("/mnt/a b", "tmpfs", "rw")]


# ----- memory, disk


def test_parse_meminfo():
    info = parse_meminfo("MemTotal:       24684092 kB\nMemAvailable:   23681420 kB\nHugePages_Total: 0\n")
    assert info["MemTotal"] == 24684092 * 1024
    assert info["HugePages_Total"] == 0


@pytest.mark.parametrize("free, expected", [
    (None, "warn"), (0, "FAIL"), (5 * GIB - 1, "FAIL"), (5 * GIB, "warn"),
    (20 * GIB - 1, "warn"), (20 * GIB, "ok"), (500 * GIB, "ok"),
])
def test_disk_status_thresholds(free, expected):
    assert disk_status(free) == expected


def test_nearest_existing():
    existing = {"/", "/var", "/var/cache"}
    assert nearest_existing("/var/cache/cnimatrix/x", existing.__contains__) == "/var/cache"
    assert nearest_existing("/var/cache", existing.__contains__) == "/var/cache"
    assert nearest_existing("/nope/deeper", existing.__contains__) == "/"
    assert nearest_existing("/nope", lambda p: False) == "/"


# ----- docker


def test_docker_status_from_info_reachable():
    status = docker_status_from_info(DOCKER_INFO, executable=lambda p: True)
    assert status.reachable and status.server_version == "20.10.24+dfsg1"
    assert status.client_version == "28.2.2"
    assert status.wrapper_default and status.wrapper_registered and status.wrapper_executable
    assert status.wrapper_path == "/usr/local/lib/cnimatrix/runc-wrapper"
    assert (status.cgroup_driver, status.cgroup_version) == ("cgroupfs", "1")
    assert (status.storage_driver, status.backing_filesystem) == ("overlay2", "extfs")


def test_docker_status_from_info_unreachable():
    info = {"ClientInfo": {"Version": "28.2.2"}, "ServerErrors": ["Cannot connect to the Docker daemon"]}
    status = docker_status_from_info(info, "exit 1")
    assert not status.reachable and "Cannot connect" in status.error
    assert not docker_status_from_info(None, "boom").reachable


def test_docker_usable_rules():
    full = CapabilityStatus(mask=(1 << 41) - 1, last_cap=40, missing=[])
    lacking = CapabilityStatus(mask=0x1FFFEFFFFFF, last_cap=40, missing=["CAP_SYS_RESOURCE"])
    wrapped = docker_status_from_info(DOCKER_INFO, executable=lambda p: True)
    plain = docker_status_from_info({**DOCKER_INFO, "DefaultRuntime": "runc"}, executable=lambda p: True)
    broken = docker_status_from_info(DOCKER_INFO, executable=lambda p: False)
    assert docker_usable(wrapped, lacking)
    assert docker_usable(plain, full)
    assert not docker_usable(plain, lacking)
    assert not docker_usable(broken, lacking)
    assert not docker_usable(DockerStatus(reachable=False, error="x"), full)


# ----- CNI verdicts


def host_features():
    return features_from_config(parse_kernel_config(HOST_CONFIG))


def entry(name, offline_reason=None, **needs):
    """A catalog entry that only says what it needs from the host."""
    return Cni(name=name, description=name, version="test", install=Install(source="builtin"), readiness=(),
               capabilities={}, host=HostNeeds(**needs), offline_reason=offline_reason)


# Entries covering every kind of host need, independent of what the catalog holds today.
TABLE = [
    entry("nfq", limits={"CONFIG_NFT_QUEUE": "NetworkPolicy not enforceable"}),
    entry("ipvs", requires_kernel=("CONFIG_IP_SET",), limits={"CONFIG_IP_VS": "no IPVS service proxy"}),
    entry("vxlan", requires_kernel=("CONFIG_VXLAN",), variants={"CONFIG_WIREGUARD": "wireguard backend"}, mode="vxlan backend"),
    entry("vxlan-ipset", requires_kernel=("CONFIG_VXLAN", "CONFIG_IP_SET"), variants={"CONFIG_NET_IPIP": "IPIP mode"}),
    entry("ovs", requires_kernel=("CONFIG_OPENVSWITCH", "CONFIG_GENEVE")),
    entry("registry-only", offline_reason="its image\n  is not buildable here"),
]


def test_cni_verdicts_on_host_kernel():
    verdicts = {v.name: v for v in cni_verdicts(host_features(), TABLE)}
    assert verdicts["nfq"].runs and verdicts["nfq"].status == "warn"
    assert "NetworkPolicy" in verdicts["nfq"].message and "NFT_QUEUE" in verdicts["nfq"].message
    assert verdicts["ipvs"].runs and verdicts["ipvs"].missing_limits == ["CONFIG_IP_VS"]
    assert verdicts["vxlan"].status == "ok" and verdicts["vxlan"].message.startswith("runs (vxlan backend)")
    assert verdicts["vxlan-ipset"].status == "ok" and verdicts["vxlan-ipset"].missing_variants == ["CONFIG_NET_IPIP"]
    assert verdicts["ovs"].runs is False and verdicts["ovs"].status == "skip"
    assert verdicts["ovs"].missing_required == ["CONFIG_OPENVSWITCH", "CONFIG_GENEVE"]
    only = verdicts["registry-only"]
    assert only.runs and only.online_only and only.status == "warn"
    assert only.message.endswith("online only, its images cannot be built offline (its image is not buildable here)")


def test_cni_verdicts_for_the_catalog():
    verdicts = {v.name: v for v in cni_verdicts(host_features())}
    assert set(verdicts) == set(catalog.known()) >= {"calico", "flannel", "kindnet"}
    assert verdicts["calico"].status == "ok" and "CONFIG_NET_IPIP" in verdicts["calico"].missing_variants
    assert verdicts["flannel"].status == "ok"
    assert verdicts["kindnet"].online_only and verdicts["kindnet"].status == "warn"
    assert "NFT_QUEUE" in verdicts["kindnet"].message


def test_cni_verdicts_full_kernel_and_missing_basics():
    full = {symbol: True for symbol in KERNEL_FEATURES}
    assert all(v.status == "ok" and v.runs for v in cni_verdicts(full, TABLE) if v.name != "registry-only")
    no_vxlan = {**full, "CONFIG_VXLAN": False}
    verdicts = {v.name: v for v in cni_verdicts(no_vxlan, TABLE)}
    assert [n for n, v in verdicts.items() if not v.runs] == ["vxlan", "vxlan-ipset"]
    no_veth = {**full, "CONFIG_VETH": False}
    assert not any(v.runs for v in cni_verdicts(no_veth, TABLE))


def test_cni_verdicts_unknown_kernel():
    unknown = dict.fromkeys(KERNEL_FEATURES)
    verdicts = cni_verdicts(unknown, TABLE)
    assert all(v.runs is None and v.status == "warn" for v in verdicts)


# ----- screen


def make_report(docker=None, free=80 * GIB, features=None, source="/proc/config.gz", shape_host=None):
    config = parse_kernel_config(HOST_CONFIG)
    features = features if features is not None else features_from_config(config)
    present, missing = decode_capabilities(0x1FFFEFFFFFF, 40)
    kernel = KernelStatus(release="6.18.44", source=source, modules=False,
                          values={s: config.get(s, "n") for s in KERNEL_FEATURES},
                          features=features)
    report = Report(
        hostname="vm", os_name="Debian", machine="x86_64",
        docker=docker or docker_status_from_info(DOCKER_INFO, executable=lambda p: True),
        capabilities=CapabilityStatus(mask=0x1FFFEFFFFFF, last_cap=40, present=present, missing=missing),
        cgroup=cgroup_mode(parse_mounts(HYBRID_MOUNTS)),
        disks=[DiskStatus("disk docker root", "/var/lib/docker", "/var/lib/docker", free, 200 * GIB,
                          disk_status(free), device=1),
               DiskStatus("disk cache", "/var/cache/cnimatrix", "/var/cache", free, 200 * GIB,
                          disk_status(free), device=1)],
        memory_total_bytes=24 * GIB, memory_available_bytes=22 * GIB, cpus=2,
        kernel=kernel, cnis=cni_verdicts(features, TABLE), shape_host=shape_host,
    )
    report.lines = build_lines(report)
    return report


def test_screen_for_host_like_report():
    report = make_report()
    text = format_lines(report.lines, colour=False)
    rows = text.splitlines()
    assert report.exit_code == 0
    assert len(rows) <= 40
    assert not ANSI.search(text)
    assert all(row.split()[0] in {"ok", "warn", "FAIL", "info", "skip"} for row in rows)
    # the message column starts at the same offset on every line
    starts = {len(row) - len(line.message) for row, line in zip(rows, report.lines)}
    assert len(starts) == 1
    assert "CAP_SYS_RESOURCE" in text and "failCgroupV1: false" in text and "hybrid" in text
    assert "(/var/cache/cnimatrix absent)" in text and "same filesystem" in text
    assert rows[-1].startswith("ok") and "5 of 6 CNIs" in rows[-1] and "registry-only (online only)" in rows[-1]
    assert "FAIL" not in text


def test_screen_colour_only_when_asked():
    report = make_report()
    assert ANSI.search(format_lines(report.lines, colour=True))


def test_exit_code_failures():
    assert make_report(free=4 * GIB).exit_code == 1
    assert make_report(free=10 * GIB).exit_code == 0  # warn only
    down = make_report(docker=DockerStatus(reachable=False, error="Cannot connect"))
    assert down.exit_code == 1 and down.lines[-1].status == "FAIL"
    # missing kernel features narrow the CNIs but never fail
    nothing = dict.fromkeys(KERNEL_FEATURES, False)
    assert make_report(features=nothing).exit_code == 0
    unknown = make_report(features=dict.fromkeys(KERNEL_FEATURES), source=None)
    assert unknown.exit_code == 0 and "unknown" in unknown.lines[-1].message


def test_main_json_and_text(monkeypatch, capsys):
    monkeypatch.setattr(doctor_report, "collect", make_report)
    assert doctor.main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exit_code"] == 0 and data["docker_usable"] is True
    assert data["capabilities"]["missing"] == ["CAP_SYS_RESOURCE"]
    assert data["kernel"]["features"]["CONFIG_VXLAN"] is True
    assert {c["name"] for c in data["cnis"] if c["runs"]} == {"nfq", "ipvs", "vxlan", "vxlan-ipset", "registry-only"}
    assert doctor.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("info") and not ANSI.search(out)  # captured stdout is not a tty


# ----- the package


def test_callers_names_are_the_modules_own():
    # fixtures/cluster.py and run/matrix.py use these through the package
    from cnimatrix.doctor import fit

    assert doctor.kernel_features is kernel.kernel_features
    assert doctor.cni_verdicts is fit.cni_verdicts
    assert doctor.main is doctor_report.main and doctor.collect is doctor_report.collect


def run_without(blocked: str | None, code: str) -> str:
    """Run `code` in a fresh interpreter in which `import <blocked>` fails, as on a host without it."""
    block = f"import sys; sys.modules[{blocked!r}] = None; " if blocked else ""
    proc = subprocess.run([sys.executable, "-c", block + code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    return proc.stdout.strip()


CATALOG_VERDICTS = ("import sys; from cnimatrix.doctor import fit; "
                    "print(len(fit.catalog_verdicts(dict.fromkeys(fit.BASE_REQUIREMENTS, True))), sys.modules.get('yaml') is not None)")


def test_doctor_needs_no_pyyaml_until_the_catalog():
    # `make doctor` runs on the system python3: the package imports the standard library only
    assert run_without(None, "import sys, cnimatrix.doctor; print(sys.modules.get('yaml') is not None)") == "False"
    count, loaded = run_without(None, CATALOG_VERDICTS).split()
    assert int(count) == len(catalog.known()) and loaded == "True"
    assert run_without("yaml", CATALOG_VERDICTS) == "0 False"  # the screen then says PyYAML is missing
