"""Installing the add-ons on a cluster after its CNI: apply, wait until ready, check addresses.

Any failure is an AddonError whose message says which add-on and why (a controller that never
became ready, with its unready pods; a LoadBalancer Service that never got an address), so the
suites that need the add-ons error with that reason while the other suites still run.
"""
from __future__ import annotations

import ipaddress
import json
import string
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import yaml
from kubernetes import client

from cnimatrix import upstream
from cnimatrix.addons.catalog import REPO_ROOT, Addon, InstallStep, ServiceRef
from cnimatrix.cluster import crds, kind
from cnimatrix.cni import catalog as cni_catalog
from cnimatrix.cni.shapes import DEFAULT as DEFAULT_SHAPE

POOL_SIZE = 16
# Clusters share kind's Docker network, so two runs at once must not answer ARP for the same
# addresses: each cluster takes one of this many blocks at the top, chosen by its name.
POOL_SLOTS = 32
LB_DEADLINE_S = 60.0
WEBHOOK_DEADLINE_S = 60.0


class AddonError(RuntimeError):
    """An add-on could not be installed or never became ready."""


@dataclass
class Installed:
    """What the suites need to know about the installed add-ons."""

    addons: dict[str, Addon]
    addresses: dict[str, str] = field(default_factory=dict)        # "ns/name" -> LoadBalancer IP
    node_ports: dict[str, dict[str, int]] = field(default_factory=dict)  # "ns/name" -> {port name: nodePort}
    timings: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def provides(self, addon: str) -> dict:
        return self.addons[addon].provides


# --- the address pool ---------------------------------------------------------------------------

def pool_slot(cluster_name: str) -> int:
    """The block a cluster's pool takes (0 = the topmost): the same for a name on every run, by its
    hash. The default clusters of the catalog's CNIs (cnimatrix-<cni>) never share one: taken in the
    catalog's order, one whose hash lands on a block an earlier one holds takes the next free block."""
    hashed = lambda name: zlib.crc32(name.encode()) % POOL_SLOTS
    held: dict[str, int] = {}
    for name in (DEFAULT_SHAPE.cluster_name(cni) for cni in cni_catalog.known()[:POOL_SLOTS]):
        slot = hashed(name)
        while slot in held.values():
            slot = (slot + 1) % POOL_SLOTS
        held[name] = slot
    return held.get(cluster_name, hashed(cluster_name))


def carve_pool(subnet: str, used: list[str], size: int = POOL_SIZE, slot: int = 0) -> str:
    """`size` addresses near the top of `subnet`, as "first-last": block `slot` counted down from
    the one just below the broadcast address; Docker hands out addresses from the bottom, so the
    top is free. Refuses a subnet too small to spare the blocks or a block that holds a used address."""
    network = ipaddress.ip_network(subnet, strict=False)
    if network.version != 4:
        raise AddonError(f"address pool: {subnet} is not an IPv4 subnet")
    if network.num_addresses < 4 * size * (slot + 1):
        raise AddonError(f"address pool: {subnet} has {network.num_addresses} addresses, too few to spare {size * (slot + 1)}")
    last = network.broadcast_address - 1 - slot * size
    first = last - (size - 1)
    addresses = [ipaddress.ip_address(ip) for ip in used]
    taken = sorted(str(ip) for ip in addresses if ip.version == 4 and first <= ip <= last)
    if taken:
        raise AddonError(f"address pool {first}-{last} of {subnet} holds addresses in use: {', '.join(taken)}")
    return f"{first}-{last}"


def kind_network(cluster: kind.Cluster) -> tuple[str, list[str]]:
    """The IPv4 subnet of the Docker network the cluster's nodes are on, and the addresses in use."""
    nodes = cluster.node_containers()
    if not nodes:
        raise AddonError("address pool: no kind node containers found (an existing cluster needs its own load balancer)")
    names = subprocess.run(["docker", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", nodes[0]],
                           capture_output=True, text=True).stdout.split()
    proc = subprocess.run(["docker", "network", "inspect", names[0] if names else "kind"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AddonError(f"address pool: docker network inspect failed: {proc.stderr.strip()[:200]}")
    info = json.loads(proc.stdout)[0]
    subnets = [c["Subnet"] for c in info["IPAM"]["Config"] if ":" not in c.get("Subnet", ":")]
    if not subnets:
        raise AddonError(f"address pool: docker network {info['Name']} has no IPv4 subnet")
    used = [c["IPv4Address"].split("/")[0] for c in (info.get("Containers") or {}).values() if c.get("IPv4Address")]
    used += [c["Gateway"] for c in info["IPAM"]["Config"] if c.get("Gateway")]
    return subnets[0], used


# --- applying -------------------------------------------------------------------------------------

def step_documents(step: InstallStep, params: dict[str, str]) -> list[dict]:
    """The objects one step applies: module files as released (only `kinds`, when given), or our
    own manifest with its $placeholders filled."""
    if step.manifest:
        texts = [string.Template((REPO_ROOT / step.manifest).read_text()).substitute(params)]
    else:
        try:
            texts = [upstream.module_file(step.module, step.version, f).read_text() for f in step.files]
        except upstream.UpstreamError as exc:
            raise AddonError(str(exc)) from exc
    docs = [d for text in texts for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    return [d for d in docs if not step.kinds or d.get("kind") in step.kinds]


def apply_documents(cluster: kind.Cluster, docs: list[dict], what: str) -> int:
    """Server-side apply; a validating webhook that is not reachable yet (MetalLB's, just after its
    controller turned ready) is waited for, every other error fails at once. Returns the attempts."""
    text = yaml.safe_dump_all(docs, sort_keys=False)
    deadline = time.monotonic() + WEBHOOK_DEADLINE_S
    attempts = 0
    while True:
        attempts += 1
        proc = subprocess.run([str(kind.tool("kubectl")), "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side",
                               "--force-conflicts", "-f", "-"], input=text, capture_output=True, text=True)
        if proc.returncode == 0:
            return attempts
        error = " ".join(proc.stderr.split())[:400]
        if "failed calling webhook" not in error or time.monotonic() > deadline:
            raise AddonError(f"applying {what} failed (attempt {attempts}): {error}")
        time.sleep(2)


def wait_crds(cluster: kind.Cluster, docs: list[dict], timeout_s: float) -> None:
    names = [d["metadata"]["name"] for d in docs if d.get("kind") == "CustomResourceDefinition"]
    try:
        crds.wait_established(cluster, names, timeout_s)
    except crds.NotEstablished as exc:
        raise AddonError(str(exc)[:400]) from exc


def wait_address(cluster: kind.Cluster, ref: ServiceRef, deadline_s: float = LB_DEADLINE_S) -> tuple[str, dict[str, int]]:
    """The LoadBalancer IP the Service got, and its node ports; AddonError naming the Service and
    its events when no address came within the deadline."""
    core = client.CoreV1Api(cluster.api())
    started = time.monotonic()
    while True:
        svc = core.read_namespaced_service(ref.name, ref.namespace)
        ingress = (svc.status.load_balancer.ingress or []) if svc.status.load_balancer else []
        ip = next((i.ip for i in ingress if i.ip), None)
        if ip:
            return ip, {p.name: p.node_port for p in svc.spec.ports if p.node_port}
        if time.monotonic() - started > deadline_s:
            events = core.list_namespaced_event(ref.namespace, field_selector=f"involvedObject.name={ref.name}").items
            said = "; ".join(f"{e.reason}: {e.message}" for e in events[-3:]) or "no events"
            raise AddonError(f"LoadBalancer IP never assigned to Service {ref} within {deadline_s:.0f}s ({said})")
        time.sleep(1)


def install(cluster: kind.Cluster, addons: list[Addon], workdir: Path, images_via: str, images: tuple[str, ...] = ()) -> Installed:
    """Install `addons` in order (see catalog.install_order). Offline, their images (and `images`,
    the suites' own) are loaded into the nodes first (`images_via` import) or pushed to the local
    registry the nodes pull from (registry); see registry/pull_path.py."""
    result = Installed(addons={a.name: a for a in addons})
    started = time.monotonic()
    if images_via in ("import", "registry"):
        wanted = sorted({tag for a in addons for tag in a.images} | set(images))
        try:
            result.timings["images_load"] = (kind.load_images(cluster, wanted, workdir) if images_via == "import"
                                             else kind.push_images(wanted)["seconds"])
        except kind.ClusterError as exc:
            raise AddonError(f"add-on images: {exc}") from exc
    for addon in addons:
        begun = time.monotonic()
        for step in addon.install:
            wanted = step.params()
            if "address_pool" in wanted and "address_pool" not in result.params:
                result.params["address_pool"] = carve_pool(*kind_network(cluster), slot=pool_slot(cluster.name))
            docs = step_documents(step, result.params)
            kind.say(f"add-on {addon.name}: applying {step.label}")
            apply_documents(cluster, docs, f"{addon.name}: {step.label}")
            wait_crds(cluster, docs, addon.ready_timeout_s)
            if step.ready:
                try:
                    kind.wait_ready(cluster, SimpleNamespace(readiness=step.ready, ready_timeout_s=addon.ready_timeout_s))
                except kind.ClusterError as exc:
                    raise AddonError(f"add-on {addon.name} {addon.version} not ready: {exc}") from exc
        for ref in addon.load_balancers:
            result.addresses[str(ref)], result.node_ports[str(ref)] = wait_address(cluster, ref)
        result.timings[addon.name] = round(time.monotonic() - begun, 1)
    result.timings["total"] = round(time.monotonic() - started, 1)
    kind.say(f"add-ons ready in {result.timings['total']}s: " + ", ".join(f"{a.name} {a.version}" for a in addons)
             + "".join(f"; {svc} at {ip}" for svc, ip in result.addresses.items()))
    return result
