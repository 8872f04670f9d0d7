"""The Gateway API suite's world: a Gateway of the controller's class with one HTTP listener, echo
backends beside it, a second namespace for cross-namespace routes, and the front door."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from cnimatrix.probe.converge import converge
from cnimatrix.testkit.run import run_metrics
from cnimatrix.testkit import deadline
from fixtures.addons import FrontDoorSuite, deploy_backends, front_door
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace

GATEWAY = "gw"


@dataclass
class GatewayEnv(FrontDoorSuite):   # ns: the Gateway and the backends
    routes: Namespace               # routes whose backends live in ns (cross-namespace)

    def delete(self, kind: str, *names: str, ns: Namespace | None = None) -> None:
        self.kubectl("delete", kind, "--ignore-not-found", "--wait=true", *names, ns=ns)

    def get(self, kind: str, name: str, ns: Namespace | None = None) -> dict:
        return json.loads(self.kubectl("get", kind, name, "-o", "json", ns=ns))

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
    def judge(state):
        conditions, addresses = state
        good = conditions.get("Accepted") == "True" and conditions.get("Programmed") == "True"
        return good and env.door.lb.address in addresses, f"conditions {conditions}, addresses {addresses}"

    conv = converge(env.gateway_state, judge, deadline_s=deadline("change"), stable=1, interval_s=1)
    if not conv.ok:
        pytest.fail(f"Gateway {env.ns.name}/{GATEWAY} not programmed by the controller within {deadline('change'):g}s: {conv.reason}")
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
    run_metrics(request, "gateway")["gateway_programmed_s"] = wait_programmed(env)
    apply_requested_breakage(request, "gateway", cluster, {"ns": ns.name, "routes_ns": routes.name,
                                                           "traefik_ns": traefik["namespace"]})
    yield env
    env.keep_effects(request, "gateway")
