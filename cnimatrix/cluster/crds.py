"""Waiting until the API serves CustomResourceDefinitions just applied (the cluster-wide policy
CRDs before the CNI, an add-on's CRDs before its resources). `kubectl wait
--for=condition=Established` fails at once, rather than waiting, while a just-applied CRD has no
status conditions yet (seen here: ".status.conditions accessor error: <nil>", which failed a
cluster's creation), so the condition is polled instead."""
from __future__ import annotations

import time
from collections.abc import Iterable

ESTABLISHED = 'jsonpath={.status.conditions[?(@.type=="Established")].status}'


class NotEstablished(RuntimeError):
    """The API did not serve a CRD in time."""


def wait_established(cluster, names: Iterable[str], timeout_s: float = 60.0, poll_s: float = 0.5) -> None:
    """Poll each CRD's Established condition until all are True, or raise at `timeout_s` naming those
    still waiting and the condition last seen for each."""
    deadline, waiting = time.monotonic() + timeout_s, {name: "" for name in names}
    while True:
        for name in list(waiting):
            waiting[name] = cluster.kubectl("get", f"crd/{name}", "-o", ESTABLISHED, check=False).strip()
            if waiting[name] == "True":
                del waiting[name]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise NotEstablished("; ".join(f"CRD {name} not Established within {timeout_s:g} s (condition: {state or 'none yet'})"
                                           for name, state in waiting.items()))
        time.sleep(poll_s)
