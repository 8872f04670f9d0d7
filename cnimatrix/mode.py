"""Online or offline: decides whether images are built here or official images are pulled."""
from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request

from cnimatrix import versions as V
from cnimatrix.images.build import KEY_LABEL

REGISTRY_PROBE = "https://registry.k8s.io/v2/"


class BadSetting(ValueError):
    pass


def _built_node_image_present() -> bool:
    proc = subprocess.run(["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{KEY_LABEL}"}}}}', V.NODE_IMAGE],
                          capture_output=True, text=True)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def offline() -> tuple[bool, str]:
    """(offline?, why). OFFLINE=1/0 decides; a node image built here means this host builds its
    own; otherwise one request to the Kubernetes registry decides."""
    forced = os.environ.get("OFFLINE", "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True, "OFFLINE=1"
    if forced in ("0", "false", "no"):
        return False, "OFFLINE=0"
    if forced:
        raise BadSetting(f"OFFLINE must be 1 or 0, not {forced!r}")
    if _built_node_image_present():
        return True, f"{V.NODE_IMAGE} was built on this host"
    try:
        urllib.request.urlopen(REGISTRY_PROBE, timeout=3)
    except urllib.error.HTTPError:
        return False, "registry.k8s.io answered"  # 401 is the normal answer of /v2/
    except OSError as exc:
        return True, f"registry.k8s.io unreachable ({exc.__class__.__name__})"
    return False, "registry.k8s.io answered"
