"""Gateway API suite: HTTPRoutes on one Gateway, exercised from outside the cluster on this CNI.

Every scenario applies its routes (manifests/workloads/ingress/gw-*.yaml), then an outside client
sends real HTTP requests to the Gateway's LoadBalancer address until every answer (and, where the
scenario says so, the route's status) is right for several rounds in a row; the time from applying
to the first right answer is the scenario's time-to-effect. Checks are data, as in the Ingress suite.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from cnimatrix.ingress.frontdoor import ROUND_S
from cnimatrix.ingress.routing import Check, Want, ok, status
from cnimatrix.stats import weighted_verdict
from cnimatrix.testkit import expect

pytestmark = pytest.mark.suite("gateway")

PATHS = (ok("webapp", "/webapp", "paths.gw.example.com"), ok("webapp", "/webapp/deeper", "paths.gw.example.com"),
         status(404, "/webappx", "paths.gw.example.com"), ok("api", "/api", "paths.gw.example.com"),
         status(404, "/api/deeper", "paths.gw.example.com"), status(404, "/", "paths.gw.example.com"))

HEADERS = (ok("api", "/", "headers.gw.example.com", headers=(("X-Variant", "b"),)),
           ok("webapp", "/", "headers.gw.example.com", headers=(("X-Variant", "c"),)),
           ok("webapp", "/", "headers.gw.example.com"))

QUERY = (ok("api", "/?variant=b", "query.gw.example.com"), ok("webapp", "/?variant=c", "query.gw.example.com"),
         ok("webapp", "/", "query.gw.example.com"))

MODIFY = (Check(Want(service="webapp", seen_headers=(("X-Set", "one"), ("X-Added", "two"), ("X-Remove", None),
                                                     ("X-Kept", "yes"))),
                "/", "modify.gw.example.com", headers=(("X-Set", "original"), ("X-Remove", "gone"), ("X-Kept", "yes"))),)

REDIRECT = (Check(Want(status=301, location="https://redirect.gw.example.com/old/page"), "/old/page", "redirect.gw.example.com"),
            Check(Want(status=302, location="http://new.gw.example.com/moved"), "/moved", "redirect.gw.example.com"),
            ok("webapp", "/", "redirect.gw.example.com"))

SPLIT_WEIGHTS = {"webapp": 3, "api": 1}   # as in gw-split.yaml
# Enough that an even split is rejected (80 requests at 40/40 against 60/20: p ~ 2e-7) while each
# side's expected count stays >= 5; two rounds in a row must fit the weights.
SPLIT_REQUESTS = 80
SPLIT_DEADLINE_S = 120   # seconds; the table has no such wait, and the split is its one user

CROSS_NS_REFUSED = [status(500, "/", "crossns.gw.example.com")]   # the spec's answer for a backend not permitted
CROSS_NS_ALLOWED = [ok("api", "/", "crossns.gw.example.com")]

STATUS_SERVED = (ok("webapp", "/", "good.gw.example.com"), status(500, "/", "missing.gw.example.com"),
                 status(404, "/", "nolistener.gw.example.com"))
STATUS_WANTED = {  # route -> {condition: (status, reason)} for our Gateway
    "good": {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("True", "ResolvedRefs")},
    "missing-backend": {"ResolvedRefs": ("False", "BackendNotFound")},
    "no-listener": {"Accepted": ("False", "NoMatchingParent")},
}


def conditions_hold(gw, wanted: dict[str, dict[str, tuple[str, str]]], ns=None):
    """An extra observation for FrontDoor.hold: each route's conditions are as wanted."""
    def check() -> tuple[bool, str]:
        wrong = []
        for route, conditions in wanted.items():
            have = gw.route_conditions(route, ns)
            wrong += [f"{route} {kind}={have.get(kind)}, want {want}" for kind, want in conditions.items() if have.get(kind) != want]
        return not wrong, "; ".join(wrong) or "route status as wanted"
    return check


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    manifest: str                      # manifests/workloads/ingress/<manifest>.yaml: the routes
    checks: tuple[Check, ...]
    conditions: dict = field(default_factory=dict)   # route -> {condition: (status, reason)} for our Gateway


SCENARIOS = [
    Scenario("paths", "HTTPRoute path matches: PathPrefix by whole path elements, Exact only its path", "gw-paths", PATHS),
    Scenario("headers", "HTTPRoute header match sends requests with the header to one Service, the rest to another",
             "gw-headers", HEADERS),
    Scenario("query", "HTTPRoute query parameter match sends requests with the parameter to one Service", "gw-query", QUERY),
    Scenario("header-modifier", "RequestHeaderModifier sets, adds and removes request headers on their way to the backend",
             "gw-modify", MODIFY),
    Scenario("redirect", "RequestRedirect answers with the configured status and Location (scheme, host), the rest is routed",
             "gw-redirect", REDIRECT),
    Scenario("route-status", "Route status says what is served: accepted and resolved, backend not found (500), "
             "no matching listener (404)", "gw-status", STATUS_SERVED, STATUS_WANTED),
]


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name, marks=pytest.mark.title(s.title)) for s in SCENARIOS])
def test_route(gw, record, scenario):
    try:
        gw.door.serve(record, scenario.name, lambda: gw.apply(scenario.manifest), scenario.checks,
                      extra=conditions_hold(gw, scenario.conditions) if scenario.conditions else None)
    finally:
        gw.remove(scenario.manifest)


@pytest.mark.title("Weighted backends split requests 3:1 between two Services (chi-square, alpha 1e-3)")
def test_weighted_split(gw, record):
    check = Check(Want(), "/", "split.gw.example.com")

    def observe():
        sent, responses = gw.door.send([check], copies=SPLIT_REQUESTS)
        return gw.door.judge(sent, responses), Counter(r.echo.get("service", "?") for r in responses)

    def judge(observed):
        verdict, counts = observed
        if not verdict.ok:
            return False, verdict.reason
        split = weighted_verdict(dict(counts), SPLIT_WEIGHTS)
        return split.ok, split.reason

    def keep_counts(conv):
        record.metrics["split"] = dict(conv.last[1])

    try:
        gw.door.serve(record, "split", lambda: gw.apply("gw-split"), [check])
        expect(record, "weights", observe, judge, timeout=SPLIT_DEADLINE_S, stable=2, interval_s=ROUND_S,
               what="weighted split", then=keep_counts)
    finally:
        gw.remove("gw-split")


@pytest.mark.title("A route to a Service in another namespace is refused without a ReferenceGrant and served with one")
def test_reference_grant(gw, record):
    refused = conditions_hold(gw, {"crossns": {"ResolvedRefs": ("False", "RefNotPermitted")}}, gw.routes)
    allowed = conditions_hold(gw, {"crossns": {"ResolvedRefs": ("True", "ResolvedRefs")}}, gw.routes)
    try:
        gw.door.serve(record, "crossns-refused", lambda: gw.apply("gw-crossns-route", gw.routes), CROSS_NS_REFUSED, extra=refused)
        gw.door.serve(record, "crossns-granted", lambda: gw.apply("gw-crossns-grant"), CROSS_NS_ALLOWED, extra=allowed)
        gw.door.serve(record, "crossns-revoked", lambda: gw.delete("referencegrant", "routes-to-api"), CROSS_NS_REFUSED, extra=refused)
    finally:
        gw.delete("referencegrant", "routes-to-api")
        gw.delete("httproute", "crossns", ns=gw.routes)
