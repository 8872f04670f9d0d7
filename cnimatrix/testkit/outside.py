"""A client outside the cluster: an agnhost container on the kind nodes' Docker network (not a
pod, not a node), labelled so that deleting the cluster (or `make clean`) removes it too. One
implementation for every suite that needs the world outside the cluster."""
from __future__ import annotations

import subprocess

from cnimatrix import versions as V
from cnimatrix.cluster.kind import HELPER_LABEL
from cnimatrix.probe.executors import ContainerExecutor

AGNHOST = V.AGNHOST_IMAGE


def start(kind_name: str, node: str, purpose: str, *agnhost_args: str) -> ContainerExecutor:
    """Run `agnhost <args>` (default: pause) as `<kind_name>-<purpose>` on `node`'s Docker network."""
    network = subprocess.run(["docker", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", node],
                             capture_output=True, text=True).stdout.split()
    name = f"{kind_name}-{purpose}"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(["docker", "run", "-d", "--name", name, "--label", f"{HELPER_LABEL}={kind_name}",
                    "--network", network[0] if network else "kind", "--entrypoint", "/agnhost", AGNHOST,
                    *(agnhost_args or ("pause",))], check=True, capture_output=True)
    return ContainerExecutor(name)


def stop(client: ContainerExecutor) -> None:
    subprocess.run(["docker", "rm", "-f", client.container], capture_output=True)


def address_of(client: ContainerExecutor) -> str:
    """The client's IPv4 address on the kind network, as a server sees it without NAT."""
    return client.sh("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1", timeout_s=20).split()[0]
