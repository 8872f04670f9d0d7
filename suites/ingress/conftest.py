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
from fixtures.addons import FrontDoorSuite, deploy_backends, front_door
from fixtures.cluster import apply_requested_breakage


@dataclass
class IngressEnv(FrontDoorSuite):   # params: ingress_class (ours), other_class (not installed)
    addons: Installed
    ca: TestCA

    def tls_secret(self, name: str, host: str) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps(self.ca.issue(host).secret(name)))

    def ingress_addresses(self, name: str) -> list[str]:
        return self.kubectl("get", "ingress", name, "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}").split()


@pytest.fixture(scope="package")
def ing(request, cluster, addons, make_namespace, outside_client) -> IngressEnv:
    ns = make_namespace("ingress")
    deploy_backends(ns, {"webapp": 2, "api": 2, "fallback": 1})
    ca = TestCA()
    door = front_door(cluster, addons, outside_client)
    door.ca_pem = ca.cert_pem
    other_class = f"cnimatrix-other-{secrets.token_hex(3)}"
    env = IngressEnv(ns=ns, door=door, addons=addons, ca=ca,
                     params={"ingress_class": addons.provides("traefik")["ingress_class"], "other_class": other_class})
    env.apply("other-class")
    apply_requested_breakage(request, "ingress", cluster, {"ns": ns.name, "other_class": other_class,
                                                           "traefik_ns": addons.provides("traefik")["namespace"],
                                                           "outside_client": outside_client.container})
    yield env
    env.keep_effects(request, "ingress")
    ca.close()
    cluster.kubectl("delete", "ingressclass", other_class, "--ignore-not-found")
