"""kube-router's image: the kube-router and gobgp binaries, upstream's cni-install script and the four
CNI plugins it installs on the node, on kube-proxy's Debian root file system (rootfs-net)."""
from __future__ import annotations

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.images.assemble import IPTABLES_SELECT, PATH_ENV, SELECT_LINKS, bin_of, go_build, rootfs_image
from cnimatrix.images.build import Context, Step, output_dir

MODULE = "github.com/cloudnativelabs/kube-router/v2"
IMAGE = f"docker.io/cloudnativelabs/kube-router:{V.KUBE_ROUTER}"
# What upstream's build/image-assets/cni-install copies from /usr/libexec/cni onto the node.
CNI_PLUGINS = ("bridge", "portmap", "host-local", "loopback")


def build_kube_router(ctx: Context) -> None:
    version = f"-X {MODULE}/pkg/version.Version={V.KUBE_ROUTER}"
    go_build(ctx, MODULE, V.KUBE_ROUTER, {f"{MODULE}/cmd/kube-router": "kube-router"}, ldflags=f"-s -w {version}",
             sums_from=upstream.module_dir(MODULE, V.KUBE_ROUTER) / "go.sum")
    go_build(ctx, "github.com/osrg/gobgp/v3", V.KUBE_ROUTER_GOBGP, {"github.com/osrg/gobgp/v3/cmd/gobgp": "gobgp"})


def build_kube_router_image(ctx: Context) -> None:
    plugins = output_dir("node-runtime") / "cni"
    files = {"usr/local/bin/kube-router": bin_of("kube-router", "kube-router"), "usr/local/bin/gobgp": bin_of("kube-router", "gobgp"),
             "usr/local/bin/cni-install": upstream.module_file(MODULE, V.KUBE_ROUTER, "build/image-assets/cni-install"),
             "usr/local/sbin/iptables-select": IPTABLES_SELECT}
    files.update({f"usr/libexec/cni/{name}": plugins / name for name in CNI_PLUGINS})
    rootfs_image(ctx, IMAGE, "rootfs-net", files, [PATH_ENV, "WORKDIR /root", 'ENTRYPOINT ["/usr/local/bin/kube-router"]'], SELECT_LINKS)


def steps() -> list[Step]:
    return [
        Step("kube-router", f"kube-router {V.KUBE_ROUTER} and gobgp {V.KUBE_ROUTER_GOBGP}",
             {"kube-router": V.KUBE_ROUTER, "gobgp": V.KUBE_ROUTER_GOBGP}, build_kube_router, files=("bin/kube-router", "bin/gobgp")),
        Step("kube-router-image", "kube-router image", {}, build_kube_router_image, needs=("kube-router", "rootfs-net", "node-runtime"),
             images=(IMAGE,), sources=(IPTABLES_SELECT,)),
    ]
