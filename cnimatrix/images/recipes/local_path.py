"""kind's storage: the local-path provisioner and its helper image."""
from __future__ import annotations

from cnimatrix import versions as V
from cnimatrix.images.assemble import PATH_ENV, bin_of, go_build, rootfs_image, rootfs_step, static_image
from cnimatrix.images.build import Context, Step

LOCAL_PATH_HELPER = "docker.io/kindest/local-path-helper:v20260131-7181c60a"  # kind v0.33.0's helper: sh, rm and mkdir from Debian
MIN_PACKAGES = ["coreutils", "dash"]


def build_local_path(ctx: Context) -> None:
    go_build(ctx, "github.com/rancher/local-path-provisioner", V.LOCAL_PATH_PROVISIONER,
             {"github.com/rancher/local-path-provisioner": "local-path-provisioner"}, ldflags=f"-s -w -X main.VERSION={V.LOCAL_PATH_PROVISIONER}")


def build_local_path_images(ctx: Context) -> None:
    static_image(ctx, f"docker.io/rancher/local-path-provisioner:{V.LOCAL_PATH_PROVISIONER}",
                 {"usr/bin/local-path-provisioner": bin_of("local-path", "local-path-provisioner")},
                 ['ENTRYPOINT ["/usr/bin/local-path-provisioner"]'])
    rootfs_image(ctx, LOCAL_PATH_HELPER, "rootfs-min", {}, [PATH_ENV, 'CMD ["sh"]'])


def steps() -> list[Step]:
    return [
        Step("local-path", f"local-path-provisioner {V.LOCAL_PATH_PROVISIONER}", {"lpp": V.LOCAL_PATH_PROVISIONER}, build_local_path, files=("bin/local-path-provisioner",)),
        rootfs_step("min", MIN_PACKAGES),
        Step("local-path-images", "local-path-provisioner and helper images", {}, build_local_path_images, needs=("local-path", "rootfs-min"),
             images=(f"docker.io/rancher/local-path-provisioner:{V.LOCAL_PATH_PROVISIONER}", LOCAL_PATH_HELPER)),
    ]
