"""The Gateway API suite's world: a Gateway of the controller's class with one HTTP listener, echo
backends beside it, a second namespace for cross-namespace routes, and the front door."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from cnimatrix.ingress.frontdoor import FrontDoor
from cnimatrix.pytest_plugin import state_key
from fixtures.addons import deploy_backends, front_door
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace, render

GATEWAY = "gw"
PROGRAMMED_DEADLINE_S = 90


@dataclass
class GatewayEnv:
    ns: Namespace          # the Gateway and the backends
    routes: Namespace      # routes whose backends live in ns (cross-namespace)
    door: FrontDoor
    params: dict

    def apply(self, manifest: str, ns: Namespace | None = None) -> None:
        (ns or self.ns).apply(f"ingress/{manifest}", **self.params)

    def remove(self, manifest: str, ns: Namespace | None = None) -> None:
        """Delete what `apply(manifest, ns)` created."""
        self.ns.cluster.kubectl("delete", "-n", (ns or self.ns).name, "--ignore-not-found", "--wait=true", "-f", "-",
                                input=render(f"ingress/{manifest}", **self.params))

    def delete(self, kind: str, *names: str, ns: Namespace | None = None) -> None:
        self.ns.cluster.kubectl("delete", kind, "-n", (ns or self.ns).name, "--ignore-not-found", "--wait=true", *names)

    def get(self, kind: str, name: str, ns: Namespace | None = None) -> dict:
        return json.loads(self.ns.cluster.kubectl("get", kind, name, "-n", (ns or self.ns).name, "-o", "json"))

    def route_conditions(self, name: str, ns: Namespace | None = None) -> dict[str, tuple[str, str]]:
        """{condition type: (status, reason)} the controller wrote for our Gateway on this HTTPRoute."""
        for parent in (self.get("httproute", name, ns).get("status") or {}).get("parents") or []:
            if parent.get("parentRef", {}).get("name") == GATEWAY:
                return {c["type"]: (c["status"], c.get("reason", "")) for c in parent.get("conditions") or []}
        return {}

    def gateway_state(self) -> tuple[dict[str, str], list[str]]:
        status = self.get("gateway", GATEWAY).get("status") or {}
        return ({c["type"]: c["status"] for c in status.get("conditions") or []},
                [a.get("value") for a in status.get("addresses") or []])


def wait_programmed(env: GatewayEnv) -> float:
    """The Gateway accepted and programmed by the controller, with the LoadBalancer address in its
    status; otherwise every scenario errors with what the status says."""
    from cnimatrix.probe.engine import converge

    def judge(state):
        conditions, addresses = state
        good = conditions.get("Accepted") == "True" and conditions.get("Programmed") == "True"
        return good and env.door.lb.address in addresses, f"conditions {conditions}, addresses {addresses}"

    conv = converge(env.gateway_state, judge, deadline_s=PROGRAMMED_DEADLINE_S, stable=1, interval_s=1)
    if not conv.ok:
        pytest.fail(f"Gateway {env.ns.name}/{GATEWAY} not programmed by the controller within {PROGRAMMED_DEADLINE_S}s: {conv.reason}")
    return conv.settle_s


@pytest.fixture(scope="package")
def gw(request, cluster, addons, make_namespace, outside_client) -> GatewayEnv:
    traefik = addons.provides("traefik")
    ns, routes = make_namespace("gateway"), make_namespace("gateway-routes")
    deploy_backends(ns, {"webapp": 2, "api": 2})
    env = GatewayEnv(ns=ns, routes=routes, door=front_door(cluster, addons, outside_client),
                     params={"gateway_class": traefik["gateway_class"], "http_port": traefik["listener_ports"]["http"],
                             "gw_ns": ns.name, "routes_ns": routes.name})
    env.apply("gateway")
    metrics = request.config.stash[state_key].metrics.setdefault("gateway", {})
    metrics["gateway_programmed_s"] = wait_programmed(env)
    apply_requested_breakage(request, "gateway", cluster, {"ns": ns.name, "routes_ns": routes.name,
                                                           "traefik_ns": traefik["namespace"]})
    yield env
    if env.door.effects:
        metrics["time_to_effect_s"] = dict(sorted(env.door.effects.items()))
