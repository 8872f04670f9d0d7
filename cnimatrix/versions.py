"""Pinned upstream versions: one place that decides what every build, cluster and report uses."""

KIND = "v0.33.0"
KUBERNETES = "v1.37.1"  # newest 1.37 patch the Go module proxy serves whole (v1.37.2's zip is withheld)
KUBERNETES_MINOR = "1.37"

# What kubeadm v1.37.1 asks for (cmd/kubeadm/app/constants): these tags must match exactly.
ETCD = "3.7.0-0"
COREDNS = "v1.14.6"
PAUSE = "3.10.2"
AGNHOST = "2.66.1"  # test/utils/image/manifest.go of v1.37.1

CONTAINERD = "v2.2.1"
RUNC = "v1.4.3"
CRICTL = "v1.36.0"  # newest cri-tools release the proxy serves
CNI_PLUGINS = "v1.9.1"
FLANNEL_CNI_PLUGIN = "v0.9.1"  # last containernetworking/plugins release carrying plugins/meta/flannel
FLANNEL = "v0.28.4"
LOCAL_PATH_PROVISIONER = "v0.0.30"
DEBIAN_SUITE = "bookworm"  # systemd 252 still boots on cgroup v1; trixie's 257 treats v1 as obsolete

# kind v0.33.0's own default CNI image. Its Go module (sigs.k8s.io/kind/images/kindnetd) has no
# tags and the proxy serves none of its pseudo-versions, so it cannot be built here.
KINDNETD_IMAGE = "docker.io/kindest/kindnetd:v20260820-69b56db7"

NODE_IMAGE = f"kindest/node:{KUBERNETES}"
