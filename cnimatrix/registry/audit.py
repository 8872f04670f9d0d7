"""After a fresh cluster came up through the local registry: did every node pull every mirrored
image its pods run from the registry? (Nothing else may have put it there: no import, no other
registry.) Read from the registry's access log and the pods the API lists."""
from __future__ import annotations

import subprocess
from collections import Counter

from kubernetes import client

from cnimatrix.registry import local
from cnimatrix.registry.pulls import not_from_mirror, parse_access_log


def node_addresses(containers: list[str], network: str = "kind") -> dict[str, set[str]]:
    """Node name (= its container's name) -> its addresses on the kind network."""
    found = {}
    for name in containers:
        fmt = f'{{{{with index .NetworkSettings.Networks "{network}"}}}}{{{{.IPAddress}}}} {{{{.GlobalIPv6Address}}}}{{{{end}}}}'
        proc = subprocess.run(["docker", "inspect", "--format", fmt, name], capture_output=True, text=True)
        found[name] = set(proc.stdout.split())
    return found


def running_images(api: client.ApiClient) -> dict[str, set[str]]:
    """Node -> the images its pods' containers (init containers too) run."""
    running: dict[str, set[str]] = {}
    for pod in client.CoreV1Api(api).list_pod_for_all_namespaces().items:
        if pod.spec.node_name:
            specs = (pod.spec.init_containers or []) + (pod.spec.containers or [])
            running.setdefault(pod.spec.node_name, set()).update(c.image for c in specs)
    return running


def audit(api: client.ApiClient, node_containers: list[str], mirrored: list[str], since: str) -> dict:
    """What summary.json keeps under metrics.images: pulls per image, and the (node, image) pairs
    that did not come from the registry (empty when the pull path held)."""
    pulls = [p for p in parse_access_log(local.access_log(since)) if p.status == 200]
    missing = not_from_mirror(running_images(api), pulls, node_addresses(node_containers), mirrored)
    return {"pulls": dict(sorted(Counter(p.image for p in pulls).items())), "not_from_registry": missing}
