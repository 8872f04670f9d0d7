"""Ingress suite: routing from outside the cluster through the ingress controller, on this CNI.

Every scenario applies its Ingress objects (manifests/workloads/ingress), then an outside client
(a container on the kind network) sends real HTTP and HTTPS requests to the controller's
LoadBalancer IP (and the NodePort of every node) until every answer is right for several rounds
in a row. The time from applying to the first right answer is the scenario's time-to-effect.
Scenarios are data: `ok(service, path, host)` must be answered by that Service's echo backend,
`status(code, path, host)` by the controller itself.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from cnimatrix.ingress.frontdoor import ROUND_S
from cnimatrix.ingress.routing import CLIENT_IP, Check, Want, ok, status
from cnimatrix.testkit import expect
from fixtures.addons import declared_gap, judge_declared

pytestmark = pytest.mark.suite("ingress")


def tls(service: str, host: str) -> Check:
    """HTTPS to `host`: its own certificate (SNI), answered by `service`."""
    return Check(Want(service=service, cert=host), "/", host, "https")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    manifest: str                                  # manifests/workloads/ingress/<manifest>.yaml
    checks: tuple[Check, ...]
    via: str = "each"                              # FrontDoor.entries: each (the LoadBalancer IP and each controller
                                                   # replica's own node port), lb-local, all (every node's NodePort too)
    secrets: tuple[tuple[str, str], ...] = ()      # TLS Secrets to make first: (name, host)
    addresses: tuple[tuple[str, bool], ...] = ()   # (Ingress, must its status show the LoadBalancer IP?)
    requires: tuple[str, str] | None = None        # (add-on, capability) the scenario needs


SCENARIOS = [
    Scenario("front-door", "The controller answers on its LoadBalancer IP and on every node's NodePort, over HTTP and HTTPS",
             "frontdoor", (ok("webapp", "/", "door.example.com"), tls("webapp", "door.example.com")),
             via="all", secrets=(("door-tls", "door.example.com"),)),
    Scenario("classic", "The documentation's example: host example.com, /webapp and /api as Prefix paths to Services by named port",
             "classic", (ok("api", "/api", "example.com"), ok("api", "/api/v1/users", "example.com"),
                         ok("webapp", "/webapp", "example.com"), ok("webapp", "/webapp/login", "example.com"),
                         status(404, "/", "example.com"), status(404, "/webappx", "example.com"),
                         status(404, "/api", "other.example.com")),
             addresses=(("classic", True),)),
    Scenario("path-types", "Exact matches only its path, Prefix matches whole path elements, the longest matching path wins",
             "path-types", (ok("webapp", "/exact", "paths.example.com"), status(404, "/exact/", "paths.example.com"),
                            status(404, "/exact/more", "paths.example.com"), ok("api", "/app", "paths.example.com"),
                            ok("api", "/app/other", "paths.example.com"), ok("webapp", "/app/special", "paths.example.com"),
                            ok("webapp", "/app/special/deeper", "paths.example.com"), ok("api", "/app/specialty", "paths.example.com"))),
    Scenario("exact-wins-tie", "An Exact and a Prefix path of the same value: Exact wins the tie, Prefix keeps the longer paths",
             "tie", (ok("webapp", "/tie", "tie.example.com"), ok("api", "/tie/more", "tie.example.com")),
             requires=("traefik", "ingress_exact_wins_tie")),
    Scenario("hosts", "Several hosts share one address, each routed to its own Service; a wildcard host covers one label",
             "hosts", (ok("webapp", "/", "a.hosts.example.com"), ok("api", "/", "b.hosts.example.com"),
                       ok("fallback", "/x", "one.wild.hosts.example.com"), status(404, "/", "two.levels.wild.hosts.example.com"),
                       status(404, "/", "wild.hosts.example.com"), status(404, "/", "c.hosts.example.com"))),
    Scenario("tls", "TLS termination: SNI picks each host's certificate (made by the suite); plain HTTP is still routed",
             "tls", (tls("webapp", "a.tls.example.com"), tls("api", "b.tls.example.com"),
                     ok("webapp", "/", "a.tls.example.com"), ok("api", "/", "b.tls.example.com")),
             secrets=(("tls-a", "a.tls.example.com"), ("tls-b", "b.tls.example.com"))),
    Scenario("ingress-class", "ingressClassName selects the controller: an Ingress of another class is not served, gets no address",
             "classes", (ok("webapp", "/mine", "class.example.com"), status(404, "/theirs", "class.example.com")),
             addresses=(("mine", True), ("theirs", False))),
    Scenario("source-ip", "With externalTrafficPolicy Local the backend sees the outside client's own address (X-Forwarded-For)",
             "source-ip", (Check(Want(service="webapp", seen_headers=(("X-Forwarded-For", CLIENT_IP), ("X-Real-Ip", CLIENT_IP))),
                                 "/", "source.example.com"),), via="lb-local"),
]

UNMATCHED = [status(404, "/", "nowhere.example.com"), status(404, "/elsewhere", "known.example.com")]
KNOWN = [ok("api", "/known", "known.example.com")]
FALLEN_BACK = [ok("fallback", "/", "nowhere.example.com"), ok("fallback", "/elsewhere", "known.example.com")]


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name, marks=pytest.mark.title(s.title)) for s in SCENARIOS])
def test_routing(ing, record, request, scenario):
    for name, host in scenario.secrets:
        ing.tls_secret(name, host)
    gap = declared_gap(ing.addons, scenario.requires)
    try:
        if gap:
            return judge_declared(ing.door, record, request, gap, scenario.name, lambda: ing.apply(scenario.manifest),
                                  scenario.checks, via=scenario.via)
        ing.door.serve(record, scenario.name, lambda: ing.apply(scenario.manifest), scenario.checks, via=scenario.via)
        for ingress, addressed in scenario.addresses:
            have, want = ing.ingress_addresses(ingress), [ing.door.lb.address] if addressed else []
            assert have == want, f"Ingress {ingress} status shows addresses {have}, want {want}"
    finally:
        ing.remove(scenario.manifest)


@pytest.mark.title("What no rule matches gets 404, until a default backend takes it; matched rules keep their Service")
def test_default_backend(ing, record):
    try:
        ing.door.serve(record, "rules-only", lambda: ing.apply("default-backend"), KNOWN + UNMATCHED)
        ing.door.serve(record, "default-backend", lambda: ing.apply("default-backend-fallback"), KNOWN + FALLEN_BACK)
    finally:
        ing.remove("default-backend-fallback")
        ing.remove("default-backend")
        # Later scenarios expect 404 for what they leave unmatched: wait until the default is gone.
        gone = ing.door.hold(UNMATCHED, stable=1)
        assert gone.ok, f"default backend removed: {gone.reason} (after {gone.count} rounds)"


@pytest.mark.title("Backends scaled up join the rotation; a backend made unready leaves it and returns when ready")
def test_backend_rotation(ing, record):
    check = ok("webapp", "/", "rotation.example.com")
    ns = ing.ns

    def judge_against(expected_ready: int):
        def judge(observed):
            ready, verdict, pods = observed
            if len(ready) != expected_ready:
                return False, f"{len(ready)} ready webapp pods, waiting for {expected_ready}"
            if not verdict.ok:
                return False, verdict.reason
            return pods == ready, f"answered by {sorted(pods)}, ready are {sorted(ready)}"
        return judge

    def observe():
        ready = {p.name for p in ns.pods("app=webapp") if p.ready}
        sent, responses = ing.door.send([check], via="each", copies=8 * max(len(ready), 1))
        return ready, ing.door.judge(sent, responses), {r.echo.get("pod") for r in responses}

    def gate(pods, command: str) -> None:
        for pod in pods:
            ns.executor(pod, "gate").sh(command, 20)

    try:
        ing.door.serve(record, "rotation", lambda: ing.apply("rotation"), [check])
        for label, change, want in (
            # The new pod's start-up is the cluster's, not the controller's: wait for it, then judge traffic.
            ("scale-up", lambda: (ns.scale("webapp", 3), ns.wait_deployment("webapp", timeout_s=240)), 3),
            ("unready", lambda: gate(sorted(p.name for p in ns.pods("app=webapp"))[:1], "touch /tmp/unready"), 2),
            ("ready-again", lambda: gate([p.name for p in ns.pods("app=webapp")], "rm -f /tmp/unready"), 3),
        ):
            change()
            expect(record, label, observe, judge_against(want), timeout="change", stable=3, interval_s=ROUND_S)
    finally:
        ing.remove("rotation")
        gate([p.name for p in ns.pods("app=webapp")], "rm -f /tmp/unready")
        ns.scale("webapp", 2)
        ns.wait_deployment("webapp")
