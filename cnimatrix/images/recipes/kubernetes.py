"""Kubernetes' own parts: its binaries (and agnhost's), the control-plane and kube-proxy images,
etcd, CoreDNS and pause."""
from __future__ import annotations

from cnimatrix import versions as V
from cnimatrix.images.assemble import (FILES, GO_ENV, IPTABLES_SELECT, PATH_ENV, SCRIPTS, SELECT_LINKS, bin_of, go_build,
                                       rootfs_image, rootfs_step, static_image)
from cnimatrix.images.build import Context, Step

CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
# kube-proxy's root file system (flannel's image uses it too).
NET_PACKAGES = ["iptables", "nftables", "conntrack", "ipset", "iproute2", "kmod", "procps"]


def build_kubernetes(ctx: Context) -> None:
    ctx.run("bash", SCRIPTS / "go-kubernetes.sh", env={**GO_ENV, "KUBERNETES_VERSION": V.KUBERNETES, "OUT": str(ctx.out)})


def build_etcd(ctx: Context) -> None:
    # etcd's go.mods replace sibling modules with local paths: build through a wrapper module.
    version = "v" + V.ETCD.split("-")[0]
    for module, name in (("go.etcd.io/etcd/server/v3", "etcd"), ("go.etcd.io/etcd/etcdctl/v3", "etcdctl"), ("go.etcd.io/etcd/etcdutl/v3", "etcdutl")):
        go_build(ctx, module, version, {module: name})


def build_coredns(ctx: Context) -> None:
    go_build(ctx, "github.com/coredns/coredns", V.COREDNS, {"github.com/coredns/coredns": "coredns"})


def build_pause(ctx: Context) -> None:
    (ctx.out / "bin").mkdir(exist_ok=True)
    ctx.run("gcc", "-Os", "-Wall", "-Werror", "-static", f'-DVERSION="{V.PAUSE}"', "-o", ctx.out / "bin" / "pause", FILES / "pause" / "pause.c")
    ctx.run("strip", ctx.out / "bin" / "pause")


def build_control_plane_images(ctx: Context) -> None:
    for name in CONTROL_PLANE:
        static_image(ctx, f"registry.k8s.io/{name}:{V.KUBERNETES}", {f"usr/local/bin/{name}": bin_of("kubernetes", name)},
                     [PATH_ENV, f'ENTRYPOINT ["/usr/local/bin/{name}"]'])
    rootfs_image(ctx, f"registry.k8s.io/kube-proxy:{V.KUBERNETES}", "rootfs-net",
                 {"usr/local/bin/kube-proxy": bin_of("kubernetes", "kube-proxy"), "usr/local/sbin/iptables-select": IPTABLES_SELECT},
                 [PATH_ENV, 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]'], SELECT_LINKS)


def build_etcd_image(ctx: Context) -> None:
    static_image(ctx, f"registry.k8s.io/etcd:{V.ETCD}", {f"usr/local/bin/{n}": bin_of("etcd", n) for n in ("etcd", "etcdctl", "etcdutl")},
                 [PATH_ENV, "WORKDIR /var/lib/etcd", 'CMD ["/usr/local/bin/etcd"]'], extra_dirs=("var/lib", "var/lib/etcd"))


def build_coredns_image(ctx: Context) -> None:
    static_image(ctx, f"registry.k8s.io/coredns/coredns:{V.COREDNS}", {"coredns": bin_of("coredns", "coredns")},
                 ['ENTRYPOINT ["/coredns"]'])


def build_pause_image(ctx: Context) -> None:
    static_image(ctx, f"registry.k8s.io/pause:{V.PAUSE}", {"pause": bin_of("pause", "pause")}, ['ENTRYPOINT ["/pause"]'])


def steps() -> list[Step]:
    return [
        Step("kubernetes", f"Kubernetes {V.KUBERNETES} binaries and agnhost {V.AGNHOST}", {"k8s": V.KUBERNETES}, build_kubernetes,
             files=tuple(f"bin/{n}" for n in CONTROL_PLANE + ("kube-proxy", "kubelet", "kubeadm", "kubectl", "agnhost")), sources=(SCRIPTS / "go-kubernetes.sh",)),
        Step("etcd", f"etcd {V.ETCD}", {"etcd": V.ETCD}, build_etcd, files=("bin/etcd", "bin/etcdctl")),
        Step("coredns", f"CoreDNS {V.COREDNS}", {"coredns": V.COREDNS}, build_coredns, files=("bin/coredns",)),
        Step("pause", f"pause {V.PAUSE}", {"pause": V.PAUSE}, build_pause, files=("bin/pause",), sources=(FILES / "pause",)),
        rootfs_step("net", NET_PACKAGES),
        Step("control-plane-images", "control-plane and kube-proxy images", {}, build_control_plane_images, needs=("kubernetes", "rootfs-net"),
             images=tuple(f"registry.k8s.io/{n}:{V.KUBERNETES}" for n in CONTROL_PLANE + ("kube-proxy",)), sources=(IPTABLES_SELECT,)),
        Step("etcd-image", "etcd image", {}, build_etcd_image, needs=("etcd",), images=(f"registry.k8s.io/etcd:{V.ETCD}",)),
        Step("coredns-image", "CoreDNS image", {}, build_coredns_image, needs=("coredns",), images=(f"registry.k8s.io/coredns/coredns:{V.COREDNS}",)),
        Step("pause-image", "pause image", {}, build_pause_image, needs=("pause",), images=(f"registry.k8s.io/pause:{V.PAUSE}",)),
    ]
