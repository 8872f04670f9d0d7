"""Calico's node, cni and kube-controllers images, from its Go module and Debian packages (calico/node with
Felix's eBPF dataplane too: calico_bpf.py)."""
from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.images.assemble import PATH_ENV, add_dirs, go_build, rootfs_image, rootfs_step, static_image
from cnimatrix.images.build import Context, Step, output_dir
from cnimatrix.images.recipes import calico_bpf

# What calico-node's startup, runit services and Felix exec (upstream's node image, on Debian).
CALICO_NODE_PACKAGES = ["iptables", "ipset", "conntrack", "iproute2", "kmod", "procps", "findutils", "bash", "iputils-ping",
                        "net-tools", "ca-certificates", "runit", "debianutils", *calico_bpf.RUNTIME_PACKAGES]
CALICO_PKG = V.CALICO_MODULE
NODE_BINARY = {f"{CALICO_PKG}/node/cmd/calico-node": "calico-node"}  # with cgo: both dataplanes (calico_bpf.py)
CALICO_BINARIES = {
    f"{CALICO_PKG}/node/cmd/mountns": "mountns",
    f"{CALICO_PKG}/cni-plugin/cmd/install": "install", f"{CALICO_PKG}/cni-plugin/cmd/calico": "calico",
    f"{CALICO_PKG}/kube-controllers/cmd/kube-controllers": "kube-controllers",
    f"{CALICO_PKG}/kube-controllers/cmd/check-status": "check-status",
}


def build_calico(ctx: Context) -> None:
    source = upstream.module_dir(V.CALICO_MODULE, V.CALICO_SOURCE)
    replaces = upstream.replaces((source / "go.mod").read_text())
    replaces["github.com/projectcalico/api"] = f"github.com/projectcalico/api {V.CALICO_API}"
    local = [m for m, target in replaces.items() if target.startswith(".")]
    if local:
        raise RuntimeError(f"calico's go.mod replaces {', '.join(local)} with local paths the module zip lacks")
    # -X of a symbol a binary lacks is ignored, so one set of flags serves every binary.
    version_flags = " ".join(f"-X {sym}={V.CALICO}" for sym in (
        "main.VERSION", f"{CALICO_PKG}/node/pkg/lifecycle/startup.VERSION", f"{CALICO_PKG}/node/buildinfo.GitVersion"))
    common = dict(ldflags=f"-s -w {version_flags}", upgrades={"github.com/projectcalico/api": V.CALICO_API},
                  replaces=replaces, sums_from=source / "go.sum")
    go_build(ctx, V.CALICO_MODULE, V.CALICO_SOURCE, CALICO_BINARIES, **common)  # static, as upstream's
    calico_bpf.build_calico_node(ctx, NODE_BINARY, **common)
    shutil.copyfile(ctx.out / "bin" / "calico", ctx.out / "bin" / "calico-ipam")  # one binary, two names upstream too


def calico_image(name: str) -> str:
    return f"docker.io/calico/{name}:{V.CALICO}"


def build_calico_images(ctx: Context) -> None:
    calico = output_dir("calico") / "bin"
    source = upstream.module_dir(V.CALICO_MODULE, V.CALICO_SOURCE)
    # calico/node: upstream's filesystem (runit services, Felix config, start_runit) on Debian.
    filesystem = source / "node" / "filesystem"
    files: dict[str, Path | bytes] = {f"etc/{p.relative_to(filesystem / 'etc')}": p
                                      for p in (filesystem / "etc").rglob("*") if p.is_file()}
    files.update({f"usr/sbin/{p.name}": p for p in (filesystem / "sbin").iterdir()})
    files.update({"bin/calico-node": calico / "calico-node", "bin/mountns": calico / "mountns"})
    objects = calico_bpf.node_files()
    files.update(objects)
    # Debian's runit links /etc/service to its own runsvdir; upstream's services need a real folder.
    service_dirs = sorted({str(Path(arc).parents[i]) for arc in files if arc.startswith("etc/service/")
                           for i in range(len(Path(arc).parts) - 2)})
    rootfs_image(ctx, calico_image("node"), "rootfs-calico", files,
                 [PATH_ENV, "ENV SVDIR=/etc/service/enabled", 'CMD ["start_runit"]'],
                 dirs=(*service_dirs, "usr/lib/calico", calico_bpf.OBJECT_DIR), modes=dict.fromkeys(objects, 0o644))
    # calico/cni: the installer copies everything in /opt/cni/bin onto the node.
    plugins = output_dir("node-runtime") / "cni"
    cni = {f"opt/cni/bin/{n}": calico / n for n in ("install", "calico", "calico-ipam")}
    cni.update({f"opt/cni/bin/{n}": plugins / n for n in ("host-local", "portmap", "loopback", "tuning", "bandwidth", "flannel")})
    static_image(ctx, calico_image("cni"), cni, ["ENV PATH=/opt/cni/bin:/usr/local/bin:/usr/bin:/bin", "WORKDIR /opt/cni/bin",
                                                 'CMD ["/opt/cni/bin/install"]'], extra_dirs=("opt", "opt/cni", "opt/cni/bin"))
    # calico/kube-controllers runs as uid 999 and writes its status and profiles.
    def owned_by_999(tar: tarfile.TarFile) -> None:
        for name in ("status", "profiles"):
            add_dirs(tar, name, mode=0o755)
        for name in ("status/status.json", "profiles/mem.pprof", "profiles/cpu.pprof"):
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = 0o644, 999, 0
            tar.addfile(info, io.BytesIO(b""))
    static_image(ctx, calico_image("kube-controllers"),
                 {"usr/bin/kube-controllers": calico / "kube-controllers", "usr/bin/check-status": calico / "check-status"},
                 ["USER 999", 'ENTRYPOINT ["/usr/bin/kube-controllers"]'], extra_dirs=("usr/bin",), extra=owned_by_999)


def steps() -> list[Step]:
    return [
        Step("calico", f"Calico {V.CALICO} binaries (source {V.CALICO_SOURCE}, api {V.CALICO_API})",
             {"calico": V.CALICO_SOURCE, "api": V.CALICO_API, "version": V.CALICO}, build_calico, needs=("calico-bpf",),
             files=tuple(f"bin/{n}" for n in (*NODE_BINARY.values(), *CALICO_BINARIES.values(), "calico-ipam")),
             sources=(calico_bpf.RECIPE,)),
        rootfs_step("calico", CALICO_NODE_PACKAGES),
        Step("calico-images", "Calico node, cni and kube-controllers images", {}, build_calico_images,
             needs=("calico", "calico-bpf", "rootfs-calico", "node-runtime"),
             images=tuple(calico_image(n) for n in ("node", "cni", "kube-controllers")), sources=(calico_bpf.RECIPE,)),
    ]
