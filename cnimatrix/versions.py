"""Pinned upstream versions: one place that decides what every build, cluster and report uses."""

KIND = "v0.33.0"
KUBERNETES = "v1.37.1"  # newest 1.37 patch the Go module proxy serves whole (v1.37.2's zip is withheld)
KUBERNETES_MINOR = "1.37"

# What kubeadm v1.37.1 asks for (cmd/kubeadm/app/constants): these tags must match exactly.
ETCD = "3.7.0-0"
COREDNS = "v1.14.6"
PAUSE = "3.10.2"
AGNHOST = "2.66.1"  # test/utils/image/manifest.go of v1.37.1
AGNHOST_IMAGE = f"registry.k8s.io/e2e-test-images/agnhost:{AGNHOST}"  # as manifests and clients name it (image recipes spell it out: their source is their cache key)

CONTAINERD = "v2.2.1"
RUNC = "v1.4.3"
CRICTL = "v1.36.0"  # newest cri-tools release the proxy serves
CNI_PLUGINS = "v1.9.1"
FLANNEL_CNI_PLUGIN = "v0.9.1"  # last containernetworking/plugins release carrying plugins/meta/flannel
FLANNEL = "v0.28.4"
# kube-router: the proxy serves only v2.1.0 of the v2 module (v2.1.3 to v2.11.x are withheld); its go.mod
# pins GoBGP v3.23.0, whose gobgp CLI goes into the image as upstream's Dockerfile puts it there.
KUBE_ROUTER = "v2.1.0"
KUBE_ROUTER_GOBGP = "v3.23.0"
LOCAL_PATH_PROVISIONER = "v0.0.30"

# Calico: the proxy serves no v3.28.x tag (the module path has no /v3) and exactly one source, a
# release-v3.28 branch commit after v3.28.5 whose manifests and images say v3.28.5.
CALICO = "v3.28.5"
CALICO_MODULE = "github.com/projectcalico/calico"
CALICO_SOURCE = "v1.11.0-cni-plugin.0.20250813170300-a0db560f0520"  # commit a0db560f0520, 2025-08-13
# The nested api module (replace => ./api) is not in the zip and its branch versions are withheld;
# this served July 2024 version compiles (the Sept 2025 one does not).
CALICO_API = "v0.0.0-20240708202104-e3f70b269c2c"
DEBIAN_SUITE = "bookworm"  # systemd 252 still boots on cgroup v1; trixie's 257 treats v1 as obsolete


NODE_IMAGE = f"kindest/node:{KUBERNETES}"

# Cilium: the proxy serves v1.20.2 but withholds three of its dependencies; each is raised or
# stubbed to what it serves (cnimatrix/images/recipes/cilium.py says how).
CILIUM = "v1.20.2"
CILIUM_STATEDB = "v0.8.3"  # pinned v0.8.4 is withheld
CILIUM_GOBGP = "v4.8.0"  # pinned pseudo-version v4.6.1-0.20260630022313-d6dee8360046 is withheld
# network-policy-api (ClusterNetworkPolicy, v1alpha2): the version Cilium v1.20.2's go.mod requires,
# whose CRDs every cluster gets before its CNI (cnimatrix/cluster/policy_crds.py).
NETWORK_POLICY_API = "v0.2.0"
# The CNCF distribution registry: the offline runs' stand-in for docker.io, quay.io, ghcr.io and
# registry.k8s.io (cnimatrix/registry/). 3.1.0 is the newest whose official image tag
# (docker.io/library/registry:3.1.0) is known to exist; the proxy serves it when asked directly.
REGISTRY = "v3.1.0"
HELM = "v3.22.0"  # renders Cilium's chart from its module; newest v3 the proxy serves
