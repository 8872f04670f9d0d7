"""The CRDs every cluster gets before its CNI: network-policy-api's ClusterNetworkPolicy, at the
version the CNIs that implement it are built against (versions.NETWORK_POLICY_API), read from its
pinned module as released. A CNI that implements it (Cilium with k8sClusterNetworkPolicy enabled)
watches them from its first start; on the others the API accepts the policies and nothing enforces
them, which the cluster-wide policy cases report as each CNI's declaration says."""
from __future__ import annotations

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.cluster import crds

MODULE = "sigs.k8s.io/network-policy-api"
FILES = ("config/crd/standard/policy.networking.k8s.io_clusternetworkpolicies.yaml",)
CRD = "clusternetworkpolicies.policy.networking.k8s.io"
GROUP, VERSION, PLURAL = "policy.networking.k8s.io", "v1alpha2", "clusternetworkpolicies"


def install(cluster, say=print) -> None:
    """Apply the CRDs and wait until the API serves them."""
    paths = [upstream.module_file(MODULE, V.NETWORK_POLICY_API, path) for path in FILES]
    say(f"applying {MODULE}@{V.NETWORK_POLICY_API}: {', '.join(p.name for p in paths)}")
    for path in paths:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    crds.wait_established(cluster, [CRD])
