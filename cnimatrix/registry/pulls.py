"""What the nodes pulled and failed to pull: the registry's access log read as (client, image)
pairs, and pods stuck on an image no registry has.

Judged here, as pure functions, so that unit tests hold them to both outcomes.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cnimatrix.cluster.node_images import canonical

# The access log distribution writes (combined log format):
# 172.18.0.3 - - [07/Dec/2026:04:50:00 +0000] "GET /v2/docker.io/calico/node/manifests/v3.28.5?ns=docker.io HTTP/1.1" 200 1234 "" "containerd/v2.2.1"
_ACCESS = re.compile(r'^(?:.*?\s)?(?P<client>[0-9a-fA-F.:]+) - \S+ \[[^\]]+\] "(?P<method>GET|HEAD) /v2/(?P<repo>\S+?)/manifests/'
                     r'(?P<ref>[^\s?"]+)\S* HTTP/[\d.]+" (?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"')
PULL_FAILED = ("ErrImagePull", "ImagePullBackOff")
# kubelet's message when the registry answered that the reference does not exist (no retry helps)
NOT_FOUND = re.compile(r"\bnot found\b|manifest unknown|404 Not Found", re.I)


@dataclass(frozen=True)
class Pull:
    client: str    # the node's address on the kind network
    image: str     # canonical reference, e.g. docker.io/calico/node:v3.28.5
    status: int
    agent: str


def parse_access_log(text: str) -> list[Pull]:
    """Manifest requests by tag from containerd (a node pulling), in log order."""
    pulls = []
    for line in text.splitlines():
        found = _ACCESS.search(line)
        if found is None or not found["agent"].startswith("containerd"):
            continue
        ref = found["ref"]
        if ref.startswith("sha256:"):
            continue   # a digest, fetched after the tag resolved: the tag's line counts
        pulls.append(Pull(found["client"], canonical(f"{found['repo']}:{ref}"), int(found["status"]), found["agent"]))
    return pulls


def not_from_mirror(running: Mapping[str, Iterable[str]], pulls: Iterable[Pull], node_addresses: Mapping[str, Iterable[str]],
                    mirrored: Iterable[str]) -> list[str]:
    """'node: image' where a node runs an image the mirror holds but never pulled it from the
    mirror: `running` is node -> images its pods run, `node_addresses` node -> its addresses."""
    served = {(p.client, p.image) for p in pulls if p.status == 200}
    wanted = {canonical(i) for i in mirrored}
    missing = []
    for node, images in sorted(running.items()):
        for image in sorted({canonical(i) for i in images} & wanted):
            if not any((address, image) in served for address in node_addresses.get(node, ())):
                missing.append(f"{node}: {image}")
    return missing


def unpullable(pods: Iterable[dict]) -> list[str]:
    """'image (pod ns/name: message)' for containers waiting on an image the registry says does not
    exist. `pods` are Pod objects as dicts (the API's JSON)."""
    found = []
    for pod in pods:
        meta, status = pod.get("metadata", {}), pod.get("status", {})
        specs = {c["name"]: c.get("image", "") for c in pod.get("spec", {}).get("initContainers", []) + pod.get("spec", {}).get("containers", [])}
        for cs in status.get("initContainerStatuses", []) + status.get("containerStatuses", []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            message = waiting.get("message", "")
            if waiting.get("reason") in PULL_FAILED and NOT_FOUND.search(message):
                image = specs.get(cs.get("name"), cs.get("image", ""))
                found.append(f"{image} (pod {meta.get('namespace')}/{meta.get('name')}: {' '.join(message.split())[:240]})")
    return sorted(set(found))
