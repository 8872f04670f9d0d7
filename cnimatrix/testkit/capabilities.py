"""The closed capability vocabulary: the names a scenario may require and a CNI or add-on file may
declare. A misspelt name would otherwise run (or skip) a scenario silently."""
from __future__ import annotations

from collections.abc import Iterable

VOCABULARY: dict[str, str] = {
    "networkpolicy": "Kubernetes NetworkPolicy (networking.k8s.io/v1) is enforced",
    "networkpolicy_ipblock_pods": "an ipBlock peer selects pod IPs as well as addresses outside the cluster",
    "cluster_network_policy": "ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2: Admin and Baseline tiers) is enforced",
    "cluster_policy_networks_pods": "a ClusterNetworkPolicy `networks` peer selects pod IPs as well as addresses outside the cluster",
    "hairpin": "a pod reaches itself through its own Service",
    "udp_services": "Services translate UDP",
    "session_affinity": "sessionAffinity ClientIP keeps a client on one backend",
    "terminating_endpoints": "a Service with no ready endpoint to use (externalTrafficPolicy Local: none on the node) answers new connections from its serving terminating ones (KEP-1669)",
    "traffic_distribution_same_node": "trafficDistribution PreferSameNode sends a client to a backend on its own node when there is one",
    "node_pod_cidr": "pod IPs come from the node's spec.podCIDR",
    "host_port": "hostPort maps a node port to a pod",
    "egress_masquerade": "traffic leaving the cluster is masqueraded to the node's address",
    "encryption": "traffic between nodes is encrypted",
    "l7_policy": "policy on HTTP paths and methods",
}


class UnknownCapability(ValueError):
    pass


def check_known(names: Iterable[str], where: str) -> None:
    """Raise with one clear line when a name is not in the vocabulary."""
    unknown = sorted(set(names) - set(VOCABULARY))
    if unknown:
        raise UnknownCapability(f"{where}: unknown capability {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(sorted(VOCABULARY))} (cnimatrix/testkit/capabilities.py)")
