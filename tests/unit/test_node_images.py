"""cluster.node_images: what a node already holds is not loaded again; what it lacks, or holds with
other content under the same name, is."""
from __future__ import annotations

import json

from cnimatrix.cluster.node_images import canonical, missing, parse_crictl, plan

WANTED = {"calico/node:v3.28.5": "sha256:aaa", "registry.k8s.io/pause:3.10.2": "sha256:bbb", "busybox": "sha256:ccc"}


def test_canonical_names_as_containerd_lists_them():
    assert canonical("calico/node:v3.28.5") == "docker.io/calico/node:v3.28.5"
    assert canonical("busybox") == "docker.io/library/busybox:latest"
    assert canonical("traefik:v3.6.12") == "docker.io/library/traefik:v3.6.12"
    assert canonical("docker.io/traefik:v3.6.12") == "docker.io/library/traefik:v3.6.12"
    assert canonical("index.docker.io/calico/node:v3.28.5") == "docker.io/calico/node:v3.28.5"
    assert canonical("docker.io/library/busybox") == "docker.io/library/busybox:latest"
    assert canonical("registry.k8s.io/pause:3.10.2") == "registry.k8s.io/pause:3.10.2"
    assert canonical("localhost/x:1") == "localhost/x:1"
    assert canonical("cnimatrix.local/node-base") == "cnimatrix.local/node-base:latest"
    assert canonical("quay.io/metallb/speaker@sha256:dd") == "quay.io/metallb/speaker@sha256:dd"


def test_a_node_holding_every_image_lacks_none():
    present = {("docker.io/calico/node:v3.28.5", "sha256:aaa"), ("registry.k8s.io/pause:3.10.2", "sha256:bbb"),
               ("docker.io/library/busybox:latest", "sha256:ccc")}
    assert missing(WANTED, present) == []


def test_a_node_lacks_what_it_does_not_hold_and_what_it_holds_with_other_content():
    present = {("docker.io/calico/node:v3.28.5", "sha256:old"), ("registry.k8s.io/pause:3.10.2", "sha256:bbb")}
    assert missing(WANTED, present) == ["calico/node:v3.28.5", "busybox"]


def test_nodes_lacking_the_same_images_share_one_archive_and_full_nodes_get_none():
    full = {("docker.io/calico/node:v3.28.5", "sha256:aaa"), ("registry.k8s.io/pause:3.10.2", "sha256:bbb"),
            ("docker.io/library/busybox:latest", "sha256:ccc")}
    groups = plan(WANTED, {"cp": full, "w1": set(), "w2": set(), "w3": {("registry.k8s.io/pause:3.10.2", "sha256:bbb")}})
    assert groups == {tuple(WANTED): ["w1", "w2"], ("calico/node:v3.28.5", "busybox"): ["w3"]}


def test_parse_crictl_reads_every_tag_with_its_id():
    text = json.dumps({"images": [{"id": "sha256:aaa", "repoTags": ["docker.io/calico/node:v3.28.5", "x:1"]},
                                  {"id": "sha256:bbb", "repoTags": None}]})
    assert parse_crictl(text) == {("docker.io/calico/node:v3.28.5", "sha256:aaa"), ("x:1", "sha256:aaa")}
    assert parse_crictl("") == set()
