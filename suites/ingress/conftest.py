"""The Ingress suite's world: echo backends behind Services, the controller's front door as an
outside client sees it, a CA for the TLS scenarios, and an IngressClass of a controller that is
not installed."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import pytest

from cnimatrix.addons.install import Installed
from cnimatrix.ingress.certs import TestCA
from cnimatrix.ingress.frontdoor import FrontDoor
from cnimatrix.pytest_plugin import state_key
from fixtures.addons import deploy_backends, front_door
from fixtures.cluster import apply_requested_breakage
from fixtures.workloads import Namespace, render


@dataclass
class IngressEnv:
    ns: Namespace
    addons: Installed
    door: FrontDoor
    ca: TestCA
    ingress_class: str
    other_class: str

    def apply(self, manifest: str) -> None:
        self.ns.apply(f"ingress/{manifest}", ingress_class=self.ingress_class, other_class=self.other_class)

    def remove(self, manifest: str) -> None:
        """Delete what `apply(manifest)` created."""
        self.ns.cluster.kubectl("delete", "-n", self.ns.name, "--ignore-not-found", "--wait=true", "-f", "-",
                                input=render(f"ingress/{manifest}", ingress_class=self.ingress_class, other_class=self.other_class))

    def tls_secret(self, name: str, host: str) -> None:
        doc = self.ca.issue(host).secret(name)
        self.ns.cluster.kubectl("apply", "-n", self.ns.name, "-f", "-", input=json.dumps(doc))

    def ingress_addresses(self, name: str) -> list[str]:
        status = self.ns.cluster.kubectl("get", "ingress", name, "-n", self.ns.name, "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
        return status.split()


@pytest.fixture(scope="package")
def ing(request, cluster, addons, make_namespace, outside_client) -> IngressEnv:
    ns = make_namespace("ingress")
    deploy_backends(ns, {"webapp": 2, "api": 2, "fallback": 1})
    ca = TestCA()
    door = front_door(cluster, addons, outside_client)
    door.ca_pem = ca.cert_pem
    env = IngressEnv(ns=ns, addons=addons, door=door, ca=ca, ingress_class=addons.provides("traefik")["ingress_class"],
                     other_class=f"cnimatrix-other-{secrets.token_hex(3)}")
    env.apply("other-class")
    apply_requested_breakage(request, "ingress", cluster, {"ns": ns.name, "other_class": env.other_class,
                                                           "traefik_ns": addons.provides("traefik")["namespace"],
                                                           "outside_client": outside_client.container})
    yield env
    if door.effects:
        request.config.stash[state_key].metrics.setdefault("ingress", {})["time_to_effect_s"] = dict(sorted(door.effects.items()))
    ca.close()
    cluster.kubectl("delete", "ingressclass", env.other_class, "--ignore-not-found")
