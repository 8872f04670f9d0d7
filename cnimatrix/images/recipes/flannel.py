"""flannel's image: flanneld on kube-proxy's Debian root file system (rootfs-net). Its CNI
plugin is one of the node's (node.py)."""
from __future__ import annotations

from cnimatrix import versions as V
from cnimatrix.images.assemble import IPTABLES_SELECT, PATH_ENV, SELECT_LINKS, bin_of, go_build, rootfs_image
from cnimatrix.images.build import Context, Step


def build_flannel(ctx: Context) -> None:
    # flannel pins tencentcloud-sdk-go common v1.3.79, which the proxy withholds; v1.3.103 is served.
    # Its UDP backend is cgo on amd64 (as upstream builds it); the image's Debian glibc matches the host's.
    go_build(ctx, "github.com/flannel-io/flannel", V.FLANNEL, {"github.com/flannel-io/flannel": "flannel"}, env={"CGO_ENABLED": "1"},
             ldflags=f"-s -w -X github.com/flannel-io/flannel/pkg/version.Version={V.FLANNEL}",
             upgrades={"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common": "v1.3.103"})


def build_flannel_image(ctx: Context) -> None:
    rootfs_image(ctx, f"ghcr.io/flannel-io/flannel:{V.FLANNEL}", "rootfs-net",
                 {"opt/bin/flanneld": bin_of("flannel", "flannel"), "usr/local/sbin/iptables-select": IPTABLES_SELECT},
                 [PATH_ENV, 'ENTRYPOINT ["/opt/bin/flanneld"]'], SELECT_LINKS)


def steps() -> list[Step]:
    return [
        Step("flannel", f"flanneld {V.FLANNEL}", {"flannel": V.FLANNEL}, build_flannel, files=("bin/flannel",)),
        Step("flannel-image", "flannel image", {}, build_flannel_image, needs=("flannel", "rootfs-net"),
             images=(f"ghcr.io/flannel-io/flannel:{V.FLANNEL}",), sources=(IPTABLES_SELECT,)),
    ]
