"""Keep an offline cluster's traffic among the project's own containers.

On a host without registries nothing in a kind cluster needs to reach beyond the kind network, but
a node can still send packets there by accident: a host-network pod talking to a Service IP
before kube-proxy has programmed it, a pod route a CNI has not installed yet, or Docker's DNS
forwarding a name CoreDNS does not know. One host firewall rule in Docker's DOCKER-USER chain
rejects everything forwarded from the kind bridge to any other interface.
"""
from __future__ import annotations

import subprocess

COMMENT = "cnimatrix: kind network stays local"


def bridge_of(network: str) -> str | None:
    proc = subprocess.run(["docker", "network", "inspect", "--format", "{{.Id}}", network], capture_output=True, text=True)
    return f"br-{proc.stdout.strip()[:12]}" if proc.returncode == 0 and proc.stdout.strip() else None


def rule(bridge: str) -> list[str]:
    return ["DOCKER-USER", "-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", COMMENT,
            "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"]


def confine(network: str = "kind") -> str:
    """Install the rule once; returns what was done, for the log."""
    bridge = bridge_of(network)
    if bridge is None:
        return f"no docker network {network!r}: nothing to confine"
    if subprocess.run(["iptables", "-C", *rule(bridge)], capture_output=True).returncode == 0:
        return f"{network} ({bridge}) already confined"
    proc = subprocess.run(["iptables", "-I", *rule(bridge)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"could not confine {network} ({bridge}): {proc.stderr.strip()}")
    return f"{network} ({bridge}) confined: forwarded traffic to other interfaces is rejected"


def release(network: str = "kind") -> str | None:
    """Remove the rule once no container is left on the network (the last cluster is gone), so
    the host's firewall is as it was before cnimatrix ran. Returns what was done, or None."""
    bridge = bridge_of(network)
    if bridge is None:
        return None
    users = subprocess.run(["docker", "network", "inspect", "--format", "{{len .Containers}}", network],
                           capture_output=True, text=True).stdout.strip()
    if users not in ("", "0"):
        return None
    removed = 0
    while subprocess.run(["iptables", "-D", *rule(bridge)], capture_output=True).returncode == 0:
        removed += 1
    return f"{network} ({bridge}) no longer confined: last cluster gone" if removed else None
