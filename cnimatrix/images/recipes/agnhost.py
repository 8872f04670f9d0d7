"""agnhost, the image every scenario's pods run (its binary comes with Kubernetes'), on a Debian
root file system with the tools the probes exec."""
from __future__ import annotations

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.images.assemble import PATH_ENV, bin_of, rootfs_image, rootfs_step
from cnimatrix.images.build import Context, Step, output_dir

# dig for DNS answers, perl (Time::HiRes) to time libc lookups without a process per lookup; wget,
# socat and iperf (2) because upstream's agnhost image has them and e2e tests exec them.
TOOLS_PACKAGES = ["dnsutils", "curl", "netcat-openbsd", "iproute2", "iputils-ping", "procps", "ca-certificates", "iperf3", "perl",
                  "wget", "socat", "iperf"]
# What upstream's agnhost Dockerfile (test/images/agnhost) adds beside the binary and its Alpine
# packages: porter's TLS pair, a CoreDNS binary at /coredns (ours: the CoreDNS this project builds,
# v1.14.6, where upstream downloads the v1.6.2 release), /uploads for netexec, an iperf link, and
# the user and group a SupplementalGroups e2e test expects.
AGNHOST_USERS = {"etc/passwd": "user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n",
                 "etc/group": "user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n"}


def build_agnhost_image(ctx: Context) -> None:
    porter = upstream.module_dir("k8s.io/kubernetes", V.KUBERNETES) / "test" / "images" / "agnhost" / "porter"
    root = output_dir("rootfs-tools") / "root"
    files = {"agnhost": bin_of("kubernetes", "agnhost"), "coredns": bin_of("coredns", "coredns"),
             "localhost.crt": porter / "localhost.crt", "localhost.key": porter / "localhost.key",
             **{arc: ((root / arc).read_text() + extra).encode() for arc, extra in AGNHOST_USERS.items()}}
    rootfs_image(ctx, f"registry.k8s.io/e2e-test-images/agnhost:{V.AGNHOST}", "rootfs-tools", files,
                 [PATH_ENV, 'ENTRYPOINT ["/agnhost"]', 'CMD ["pause"]'], {"agnhost-2": "/agnhost", "usr/local/bin/iperf": "/usr/bin/iperf"},
                 dirs=("uploads",), modes={arc: 0o644 for arc in ("localhost.crt", "localhost.key", *AGNHOST_USERS)})


def steps() -> list[Step]:
    return [
        rootfs_step("tools", TOOLS_PACKAGES),
        Step("agnhost-image", "agnhost fixture image", {}, build_agnhost_image, needs=("kubernetes", "coredns", "rootfs-tools"),
             images=(f"registry.k8s.io/e2e-test-images/agnhost:{V.AGNHOST}",)),
    ]
