"""Cilium's images and the Helm client that renders its chart, from Go modules and Debian packages.

Layout follows upstream's images/cilium and images/operator Dockerfiles (read from the pinned
module): agent binaries in /usr/bin, the CNI plugin in /opt/cni/bin, BPF sources in
/var/lib/cilium/bpf (compiled by the agent at run time with clang), and the init scripts at /.
The runtime is Debian bookworm instead of Ubuntu; its clang-19 is the LLVM release upstream pins.
"""
from __future__ import annotations

import tarfile
from pathlib import Path

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.images.assemble import (IPTABLES_SELECT, SELECT_LINKS, add_dirs, add_file, bin_of, docker_import, go_build,
                                       rootfs_step, static_image, tar_dir)
from cnimatrix.images.build import Context, Step, output_dir

MODULE = "github.com/cilium/cilium"
AGENT_IMAGE = f"quay.io/cilium/cilium:{V.CILIUM}"
OPERATOR_IMAGE = f"quay.io/cilium/operator-generic:{V.CILIUM}"

# What the agent, its init containers and its scripts exec (upstream's runtime image, on Debian).
RUNTIME_PACKAGES = ["iproute2", "iptables", "ipset", "kmod", "ca-certificates", "bash", "util-linux", "mount", "grep",
                    "coreutils", "findutils", "libatomic1", "clang-19"]

AGENT_BINARIES = {
    f"{MODULE}/daemon": "cilium-agent", f"{MODULE}/cilium-dbg": "cilium-dbg",
    f"{MODULE}/cilium-health": "cilium-health", f"{MODULE}/cilium-health/responder": "cilium-health-responder",
    f"{MODULE}/plugins/cilium-cni": "cilium-cni", f"{MODULE}/tools/mount": "cilium-mount",
    f"{MODULE}/tools/sysctlfix": "cilium-sysctlfix", f"{MODULE}/bugtool": "cilium-bugtool",
}
OPERATOR_BINARIES = {f"{MODULE}/operator": "cilium-operator-generic"}

# The one symbol of sigs.k8s.io/mcs-api/controllers that the operator uses; no version of that
# module is served, so a local module defines it (the value is the MCS API's annotation name).
MCS_CONTROLLERS = "sigs.k8s.io/mcs-api/controllers"
MCS_STUB = ('// Package controllers: the constant cilium-operator needs from sigs.k8s.io/mcs-api/controllers.\n'
            'package controllers\n\nconst DerivedServiceAnnotation = "multicluster.kubernetes.io/derived-service"\n')


def build_cilium(ctx: Context) -> None:
    source = upstream.module_dir(MODULE, V.CILIUM)
    replaces = upstream.replaces((source / "go.mod").read_text())
    stub = ctx.out / "mcs-api-controllers"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "go.mod").write_text(f"module {MCS_CONTROLLERS}\n\ngo 1.24\n")
    (stub / "controllers.go").write_text(MCS_STUB)
    replaces.update({
        "github.com/cilium/statedb": f"github.com/cilium/statedb {V.CILIUM_STATEDB}",
        "github.com/osrg/gobgp/v4": f"github.com/osrg/gobgp/v4 {V.CILIUM_GOBGP}",
        MCS_CONTROLLERS: str(stub),
    })
    # "<version> <revision> <date>" as upstream's Makefile stamps it (cilium-dbg version parses the
    # fields); a module zip has no git revision, so the tag and the module's release time stand in.
    released = upstream.module_time(MODULE, V.CILIUM)
    ldflags = f"-s -w -X '{MODULE}/pkg/version.ciliumVersion={V.CILIUM.lstrip('v')} {V.CILIUM} {released}'"
    common = dict(ldflags=ldflags, replaces=replaces, sums_from=source / "go.sum")
    go_build(ctx, MODULE, V.CILIUM, AGENT_BINARIES, tags="osusergo", **common)
    go_build(ctx, MODULE, V.CILIUM, OPERATOR_BINARIES, tags="osusergo,ipam_provider_operator", **common)


def build_helm(ctx: Context) -> None:
    go_build(ctx, "helm.sh/helm/v3", V.HELM, {"helm.sh/helm/v3/cmd/helm": "helm"},
             ldflags=f"-s -w -X helm.sh/helm/v3/internal/version.version={V.HELM}")


def build_cilium_images(ctx: Context) -> None:
    source = upstream.module_dir(MODULE, V.CILIUM)
    bins = output_dir("cilium") / "bin"
    plugins = output_dir("node-runtime") / "cni"
    root = output_dir("rootfs-cilium") / "root"
    bpf_skip = ("tests", "complexity-tests", "custom")

    def agent(tar: tarfile.TarFile) -> None:
        tar_dir(tar, root, skip={"usr/local/bin/clang", *SELECT_LINKS})
        # Like kube-proxy's image: use the iptables backend the node already uses.
        add_file(tar, "usr/local/sbin/iptables-select", IPTABLES_SELECT)
        for arc, target in SELECT_LINKS.items():
            link(tar, arc, target)
        add_dirs(tar, "home/cilium", "var/lib/cilium", "opt/cni", "opt/cni/bin")
        for name in AGENT_BINARIES.values():
            if name != "cilium-cni":
                add_file(tar, f"usr/bin/{name}", bins / name)
        add_file(tar, "opt/cni/bin/cilium-cni", bins / "cilium-cni")
        add_file(tar, "cni/loopback", plugins / "loopback")  # upstream's runtime carries it at /cni
        link(tar, "usr/bin/cilium", "cilium-dbg")
        link(tar, "usr/local/bin/clang", "/usr/bin/clang-19")  # the agent execs plain `clang`
        for script in ("images/cilium/init-container.sh", "plugins/cilium-cni/install-plugin.sh",
                       "plugins/cilium-cni/cni-uninstall.sh"):
            add_file(tar, Path(script).name, source / script)
        bpf = source / "bpf"
        for path in sorted(bpf.rglob("*")):
            rel = path.relative_to(bpf)
            if rel.parts[0] in bpf_skip or rel.name in ("Makefile", "Makefile.bpf", ".gitignore"):
                continue
            arc = f"var/lib/cilium/bpf/{rel}"
            if path.is_dir():
                add_dirs(tar, arc, mode=0o750)
            else:
                add_file(tar, arc, path, 0o644)

    docker_import(ctx, AGENT_IMAGE, agent, [
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
        "ENV HUBBLE_SERVER=unix:///var/run/cilium/hubble.sock", 'ENV INITSYSTEM=SYSTEMD',
        "WORKDIR /home/cilium", 'CMD ["/usr/bin/cilium-dbg"]'])
    static_image(ctx, OPERATOR_IMAGE, {"usr/bin/cilium-operator-generic": bins / "cilium-operator-generic"},
                 ['ENTRYPOINT ["/usr/bin/cilium-operator-generic"]'], extra_dirs=("usr/bin",))


def link(tar: tarfile.TarFile, arc: str, target: str) -> None:
    info = tarfile.TarInfo(arc)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def helm_binary() -> Path:
    return bin_of("helm", "helm")


def steps() -> list[Step]:
    return [
        Step("cilium", f"Cilium {V.CILIUM} binaries (statedb {V.CILIUM_STATEDB}, gobgp {V.CILIUM_GOBGP}, mcs-api stub)",
             {"cilium": V.CILIUM, "statedb": V.CILIUM_STATEDB, "gobgp": V.CILIUM_GOBGP, "stub": MCS_STUB}, build_cilium,
             files=tuple(f"bin/{n}" for n in (*AGENT_BINARIES.values(), *OPERATOR_BINARIES.values()))),
        Step("helm", f"Helm {V.HELM} (renders Cilium's chart)", {"helm": V.HELM}, build_helm, files=("bin/helm",)),
        rootfs_step("cilium", RUNTIME_PACKAGES),
        Step("cilium-images", "Cilium agent and operator images", {}, build_cilium_images,
             needs=("cilium", "rootfs-cilium", "node-runtime", "helm"), images=(AGENT_IMAGE, OPERATOR_IMAGE),
             sources=(IPTABLES_SELECT,)),
    ]
