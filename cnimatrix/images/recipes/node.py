"""kind itself, what runs on a node (containerd, runc, crictl, the CNI plugins) and the node image.

The node image is assembled the way `kind build node-image` does it, minus the registry pulls:
every image a node needs is imported into its containerd at build time.
"""
from __future__ import annotations

import shutil

from cnimatrix import versions as V
from cnimatrix.images.assemble import FILES, go_build, rootfs_image, rootfs_step
from cnimatrix.images.build import KEY_LABEL, Context, Step, output_dir
from cnimatrix.images.recipes.kubernetes import CONTROL_PLANE
from cnimatrix.images.recipes.local_path import LOCAL_PATH_HELPER

# The node gets what kubelet, kubeadm and the CNIs exec.
NODE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "iptables", "nftables", "iproute2", "ethtool", "conntrack",
    "ipset", "util-linux", "mount", "kmod", "libseccomp2", "ca-certificates", "procps", "bash",
    "socat", "ebtables", "jq", "curl", "e2fsprogs", "pigz",
]
NODE_IMAGES_STEPS = ("control-plane-images", "etcd-image", "coredns-image", "pause-image", "agnhost-image", "local-path-images")


def build_kind(ctx: Context) -> None:
    go_build(ctx, "sigs.k8s.io/kind", V.KIND, {"sigs.k8s.io/kind": "kind"})


def build_node_runtime(ctx: Context) -> None:
    go_build(ctx, "sigs.k8s.io/cri-tools", V.CRICTL, {"sigs.k8s.io/cri-tools/cmd/crictl": "crictl"},
             ldflags=f"-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version={V.CRICTL}")
    containerd = "github.com/containerd/containerd/v2"
    go_build(ctx, containerd, V.CONTAINERD, {f"{containerd}/cmd/{c}": c for c in ("containerd", "ctr", "containerd-shim-runc-v2")},
             tags="no_aufs no_zfs no_btrfs no_devmapper", ldflags=f"-s -w -X {containerd}/version.Version={V.CONTAINERD}")
    # runc needs cgo and libseccomp for seccomp profiles.
    go_build(ctx, "github.com/opencontainers/runc", V.RUNC, {"github.com/opencontainers/runc": "runc"}, tags="seccomp",
             env={"CGO_ENABLED": "1"}, ldflags=f"-s -w -X main.version={V.RUNC.lstrip('v')}")
    plugins = "github.com/containernetworking/plugins"
    go_build(ctx, plugins, V.CNI_PLUGINS, {f"{plugins}/plugins/{p}": p.split("/")[-1] for p in (
        "main/bridge", "main/ptp", "main/loopback", "main/host-device", "ipam/host-local", "meta/portmap", "meta/tuning", "meta/bandwidth")},
        out=ctx.out / "cni")
    go_build(ctx, plugins, V.FLANNEL_CNI_PLUGIN, {f"{plugins}/plugins/meta/flannel": "flannel"}, out=ctx.out / "cni")


def node_preloaded_images() -> list[str]:
    return [
        *(f"registry.k8s.io/{n}:{V.KUBERNETES}" for n in CONTROL_PLANE + ("kube-proxy",)),
        f"registry.k8s.io/etcd:{V.ETCD}", f"registry.k8s.io/coredns/coredns:{V.COREDNS}", f"registry.k8s.io/pause:{V.PAUSE}",
        f"docker.io/rancher/local-path-provisioner:{V.LOCAL_PATH_PROVISIONER}", LOCAL_PATH_HELPER,
        # Not kind's, but every run needs it: the fixture image. CNI images are loaded into a
        # cluster when it is created, so one node image serves every CNI.
        f"registry.k8s.io/e2e-test-images/agnhost:{V.AGNHOST}",
    ]


def build_node_base(ctx: Context) -> None:
    runtime = output_dir("node-runtime")
    files = {f"usr/local/bin/{n}": runtime / "bin" / n for n in ("containerd", "ctr", "containerd-shim-runc-v2", "crictl")}
    files["usr/local/sbin/runc"] = runtime / "bin" / "runc"
    files.update({f"opt/cni/bin/{p.name}": p for p in sorted((runtime / "cni").iterdir())})
    node_files = FILES / "node"
    files.update({str(p.relative_to(node_files)): p for p in node_files.rglob("*") if p.is_file()})
    rootfs_image(ctx, "cnimatrix.local/node-base:build", "rootfs-node", files, [])
    # Finish inside a container: units, base runtime spec without rlimits (raising them needs
    # CAP_SYS_RESOURCE), then commit with kind's node conventions.
    cid = ctx.run("docker", "run", "-d", "--entrypoint=sleep", "cnimatrix.local/node-base:build", "infinity", capture=True).strip()
    try:
        ctx.run("docker", "exec", cid, "bash", "-euc", NODE_BASE_SETUP)
        commit_node(ctx, cid, "cnimatrix.local/node-base:latest")
    finally:
        ctx.run("docker", "rm", "-f", cid)
        ctx.run("docker", "rmi", "cnimatrix.local/node-base:build")


NODE_BASE_SETUP = r"""
chmod 0644 /etc/systemd/system/*.service /etc/systemd/system/*.slice /etc/systemd/system/kubelet.service.d/* /etc/containerd/config.toml /etc/crictl.yaml /etc/default/kubelet /etc/sysctl.d/*
find /etc/systemd/system /lib/systemd/system -path '*.wants/*' -not -name '*journald*' -not -name '*systemd-tmpfiles*' -not -name '*systemd-user-sessions*' -delete
systemctl enable containerd kubelet
systemctl mask systemd-binfmt getty.target console-getty.service systemd-logind.service
mkdir -p /etc/kubernetes/manifests /kind /var/lib/containerd /opt/cni/bin
ctr oci spec | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
ln -sf /lib/systemd/systemd /sbin/init
"""


def commit_node(ctx: Context, cid: str, tag: str) -> None:
    # No STOPSIGNAL: Docker 20.10's commit refuses it, and kind removes nodes with `docker rm -f`.
    ctx.run("docker", "commit",
            "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
            "--change", "ENV container=docker",
            "--change", f"LABEL {KEY_LABEL}={ctx.key}",
            cid, tag)


def build_node_image(ctx: Context) -> None:
    k8s = output_dir("kubernetes") / "bin"
    images_dir = ctx.out / "images"
    shutil.rmtree(images_dir, ignore_errors=True)
    images_dir.mkdir()
    cid = ctx.run("docker", "run", "-d", "--privileged", "--entrypoint=sleep", "cnimatrix.local/node-base:latest", "infinity", capture=True).strip()
    try:
        for name in ("kubeadm", "kubelet", "kubectl"):
            ctx.run("docker", "cp", k8s / name, f"{cid}:/usr/bin/{name}")
        ctx.run("docker", "exec", cid, "sh", "-c", f"echo {V.KUBERNETES} > /kind/version && mkdir -p /kind/images")
        for manifest in (FILES / "kind-manifests").glob("*.yaml"):
            ctx.run("docker", "exec", cid, "mkdir", "-p", "/kind/manifests")
            ctx.run("docker", "cp", manifest, f"{cid}:/kind/manifests/{manifest.name}")
        archive = images_dir / "preload.tar"
        ctx.run("docker", "save", "-o", archive, *node_preloaded_images())
        ctx.run("docker", "cp", archive, f"{cid}:/kind/images/preload.tar")
        archive.unlink()
        # The same import `kind build node-image` performs, from local archives instead of a registry.
        ctx.run("docker", "exec", cid, "bash", "-euc", NODE_IMPORT)
        commit_node(ctx, cid, V.NODE_IMAGE)
    finally:
        ctx.run("docker", "rm", "-f", cid)


NODE_IMPORT = r"""
(containerd >/var/log/containerd-build.log 2>&1 &)
for i in $(seq 60); do ctr version >/dev/null 2>&1 && break; sleep 1; done
ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests /kind/images/preload.tar
ctr --namespace=k8s.io images list -q
rm -rf /kind/images
pkill containerd
for i in $(seq 30); do pgrep -x containerd >/dev/null || break; sleep 1; done
"""


def steps() -> list[Step]:
    return [
        Step("kind", f"kind {V.KIND}", {"kind": V.KIND}, build_kind, files=("bin/kind",)),
        Step("node-runtime", f"containerd {V.CONTAINERD}, runc {V.RUNC}, crictl {V.CRICTL}, CNI plugins {V.CNI_PLUGINS}",
             {"containerd": V.CONTAINERD, "runc": V.RUNC, "crictl": V.CRICTL, "cni": V.CNI_PLUGINS, "flannel-cni": V.FLANNEL_CNI_PLUGIN},
             build_node_runtime, files=("bin/containerd", "bin/runc", "bin/crictl", "cni/bridge", "cni/flannel")),
        rootfs_step("node", NODE_PACKAGES),
        Step("node-base", "kind node base (systemd, containerd, runc, CNI plugins)", {}, build_node_base, needs=("node-runtime", "rootfs-node"),
             images=("cnimatrix.local/node-base:latest",), sources=(FILES / "node",)),
        Step("node-image", f"kind node image {V.NODE_IMAGE}", {"images": node_preloaded_images()}, build_node_image,
             needs=("node-base", "kubernetes", *NODE_IMAGES_STEPS), images=(V.NODE_IMAGE,), sources=(FILES / "kind-manifests",)),
    ]
