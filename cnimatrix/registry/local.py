"""The local registry offline runs pull from: the CNCF distribution registry (built here under its
official name) in one container on kind's network, its storage kept on the host across runs.

Images are pushed under their registry host's name (127.0.0.1:PORT/docker.io/calico/node:v3.28.5),
and nodes reach it as http://cnimatrix-registry:5000 through mirrors.local_mirrors. An image is
pushed again only when the registry's copy has other content (its config digest is the local
image ID), so a warm registry costs one small request per image.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from cnimatrix.cluster.node_images import canonical
from cnimatrix.images.build import STATE
from cnimatrix.images.recipes.registry import REGISTRY_IMAGE

NAME = "cnimatrix-registry"
LABEL = "io.cnimatrix.registry"
IN_NETWORK = f"{NAME}:5000"          # how nodes reach it
PORT = int(os.environ.get("CNIMATRIX_REGISTRY_PORT", "5001"))   # published on loopback only, for pushes
STORAGE = STATE / "registry"
MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json"))


class RegistryError(RuntimeError):
    """The local registry could not be started, or an image not pushed to it."""


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True)


def api(path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/v2/{path}", method=method, headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), b""


def repository(image: str) -> tuple[str, str]:
    """(path in the local registry, tag): docker.io/calico/node:v3.28.5 -> (docker.io/calico/node, v3.28.5)."""
    name = canonical(image).partition("@")[0]
    repo, _, tag = name.rpartition(":")
    return repo, tag


def running() -> bool:
    return _docker("inspect", "--format", "{{.State.Running}}", NAME).stdout.strip() == "true"


def ensure(network: str = "kind", deadline_s: float = 30) -> str:
    """Start the registry (or keep the running one) on `network`; returns what was done, for the log."""
    if running():
        joined = _docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", NAME).stdout
        if network not in json.loads(joined or "{}"):
            _docker("network", "connect", network, NAME)
        return f"registry {NAME} already running (127.0.0.1:{PORT})"
    _docker("rm", "-f", NAME)   # a stopped one (the host rebooted): start afresh, the storage stays
    STORAGE.mkdir(parents=True, exist_ok=True)
    started = _docker("run", "-d", "--name", NAME, "--label", f"{LABEL}=1", "--network", network,
                      "-p", f"127.0.0.1:{PORT}:5000", "-v", f"{STORAGE}:/var/lib/registry", REGISTRY_IMAGE)
    if started.returncode != 0 and "already in use" in started.stderr and running():
        pass   # a run beside this one (make matrix) started it a moment earlier: share it
    elif started.returncode != 0:
        raise RegistryError(f"could not start {REGISTRY_IMAGE} as {NAME}: {started.stderr.strip()[:300]} "
                            "(run `make images`; CNIMATRIX_REGISTRY_PORT picks another loopback port)")
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        try:
            if api("")[0] == 200:
                return f"registry {NAME} started ({REGISTRY_IMAGE}, 127.0.0.1:{PORT}, storage {STORAGE})"
        except OSError:
            pass
        time.sleep(0.5)
    raise RegistryError(f"registry {NAME} did not answer on 127.0.0.1:{PORT} within {deadline_s:.0f}s: "
                        f"{_docker('logs', '--tail', '5', NAME).stderr.strip()[-300:]}")


def stop_if_unused(network: str = "kind") -> str | None:
    """Remove the registry once it is the last container on `network` (every cluster is gone), so
    nothing stays running; its storage stays for the next run. Returns what was done, or None."""
    if not running():
        return None
    names = _docker("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", network).stdout.split()
    if any(n != NAME for n in names):
        return None
    _docker("rm", "-f", NAME)
    return f"registry {NAME} stopped (no cluster left; its images stay in {STORAGE})"


def held_config(image: str) -> str | None:
    """The config digest (= Docker image ID) of the registry's copy of `image`, or None."""
    repo, tag = repository(image)
    status, _, body = api(f"{repo}/manifests/{tag}")
    if status != 200:
        return None
    try:
        return json.loads(body).get("config", {}).get("digest")
    except ValueError:
        return None


def local_id(image: str) -> str:
    proc = _docker("image", "inspect", "--format", "{{.Id}}", image)
    if proc.returncode != 0:
        raise RegistryError(f"image {image} is not on this host (run `make images`)")
    return proc.stdout.strip()


def push_one(image: str) -> str:
    """Push `image` unless the registry holds the same content; returns 'pushed' or 'present'."""
    if held_config(image) == local_id(image):
        return "present"
    repo, tag = repository(image)
    target = f"127.0.0.1:{PORT}/{repo}:{tag}"
    tagged = _docker("tag", image, target)
    if tagged.returncode != 0:
        raise RegistryError(f"docker tag {image} {target}: {tagged.stderr.strip()[:200]}")
    try:
        pushed = _docker("push", target)
        if pushed.returncode != 0:
            raise RegistryError(f"docker push {target}: {pushed.stderr.strip()[:300]}")
    finally:
        _docker("rmi", target)   # the push tag only; the image keeps its upstream name
    return "pushed"


def push(images: list[str], say=print) -> dict:
    """Make the registry hold every image as built here. Returns counts and the seconds taken."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(zip(images, pool.map(push_one, images)))
    pushed = sorted(i for i, o in outcomes.items() if o == "pushed")
    took = round(time.monotonic() - started, 1)
    say(f"registry holds {len(images)} image(s): {len(pushed)} pushed" + (f" ({', '.join(pushed)})" if pushed else "") + f" in {took}s")
    return {"pushed": pushed, "present": len(images) - len(pushed), "seconds": took}


def withhold(image: str) -> bool:
    """Delete `image`'s manifest from the registry (the next run that needs it pushes it again):
    a run then meets a missing image the way a typo'd tag would. True when there was one to delete."""
    repo, tag = repository(image)
    status, headers, _ = api(f"{repo}/manifests/{tag}", method="HEAD")
    digest = next((v for k, v in headers.items() if k.lower() == "docker-content-digest"), None)
    if status != 200 or not digest:
        return False
    deleted, _, _ = api(f"{repo}/manifests/{digest}", method="DELETE")
    if deleted != 202:
        raise RegistryError(f"could not delete {image} from the registry (HTTP {deleted})")
    return True


def access_log(since: str) -> str:
    """The registry's log lines since an RFC 3339 time (the access log goes to stdout)."""
    proc = _docker("logs", "--since", since, NAME)
    return proc.stdout + proc.stderr
