"""The cluster's front door as an outside client sees it: the controller's LoadBalancer addresses
and the NodePort of every node, reached from a container on the kind network.

Checks (cnimatrix.ingress.routing) are sent through one or more entries and judged per round; a
change (an Ingress or route applied) is followed until its checks hold for several rounds, and the
time from the change to the first round of that streak is its time-to-effect. A change is followed
through the testkit's `settle`, so its rounds land in the test's record; deadlines are named in the
testkit's timeout table ("route" by default). Without a record, `hold` is a plain wait.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from cnimatrix.ingress.routing import Check, RoundVerdict, judge_round
from cnimatrix.probe.converge import Convergence, converge
from cnimatrix.probe.executors import Executor
from cnimatrix.probe.web import Response, send
from cnimatrix.testkit.expect import settle
from cnimatrix.testkit.timeouts import deadline

STABLE_ROUNDS = 3
ROUND_S = 0.5   # between two rounds of requests


@dataclass(frozen=True)
class Entry:
    """One way in: an address and the port for each scheme."""

    name: str
    address: str
    ports: dict[str, int]


@dataclass
class FrontDoor:
    client: Executor
    client_ip: str
    lb: Entry                        # externalTrafficPolicy Cluster
    lb_local: Entry                  # externalTrafficPolicy Local
    node_ports: list[Entry]          # every node's IP with the Cluster Service's node ports
    # per controller replica: its node's IP with the Local Service's node ports, which only that
    # node's replica answers, so a fault of one replica shows as one entry's
    replicas: list[Entry] = field(default_factory=list)
    ca_pem: str = ""
    effects: dict[str, float] = field(default_factory=dict)   # change -> seconds to its first correct answer

    def entries(self, via: str) -> list[Entry]:
        """lb, lb-local, nodeports; each: the LoadBalancer and each controller replica on its own
        (a request through the LoadBalancer lands on either replica by chance); all: every way in."""
        return {"lb": [self.lb], "lb-local": [self.lb_local], "nodeports": self.node_ports,
                "each": [self.lb, *self.replicas], "all": [self.lb, *self.node_ports, *self.replicas]}[via]

    def entry_of(self, response: Response) -> str:
        """The name of the entry a response came through (its address and port)."""
        for entry in [self.lb, self.lb_local, *self.node_ports, *self.replicas]:
            if entry.address == response.request.address and response.request.port in entry.ports.values():
                return entry.name
        return f"{response.request.address}:{response.request.port}"

    def send(self, checks: list[Check], via: str = "lb", copies: int = 1) -> tuple[list[Check], list[Response]]:
        """Every check through every entry of `via`, `copies` times (both controller replicas
        answer behind one address); returns the checks as sent, aligned with their responses."""
        sent = [c for entry in self.entries(via) for c in checks for _ in range(copies)]
        requests = [c.request(entry.address, entry.ports) for entry in self.entries(via) for c in checks for _ in range(copies)]
        return sent, send(self.client, requests, ca_pem=self.ca_pem)

    def judge(self, sent: list[Check], responses: list[Response]) -> RoundVerdict:
        return judge_round(sent, responses, self.client_ip, self.entry_of)

    def hold(self, checks: list[Check], via: str = "each", copies: int = 2, timeout: str | float = "route",
             stable: int = STABLE_ROUNDS, extra: Callable[[], tuple[bool, str]] | None = None,
             record=None, name: str = "") -> Convergence:
        """Send `checks` in rounds until every response matches (and `extra`, a second observation
        such as a route's status, holds) for `stable` rounds in a row. By default through the
        LoadBalancer and each controller replica (`each`), so every replica answers every check.
        With a test `record` the rounds are folded into it under `name`, as following a change;
        without, it is a wait."""
        def observe():
            verdict = self.judge(*self.send(checks, via, copies))
            return verdict, extra() if extra else (True, "")

        def judge(observed) -> tuple[bool, str]:
            verdict, (extra_ok, extra_reason) = observed
            if not verdict.ok:
                return False, verdict.reason
            return extra_ok, extra_reason or verdict.reason

        if record is None:
            return converge(observe, judge, deadline_s=deadline(timeout), stable=stable, interval_s=ROUND_S)
        return settle(record, name, observe, judge, timeout=timeout, stable=stable, interval_s=ROUND_S, steady=False)

    def after(self, name: str, change: Callable[[], None], checks: list[Check], record=None, **kwargs) -> Convergence:
        """Make `change`, then `hold` its checks (into `record`, when given); keeps the
        time-to-effect under `name`."""
        started = time.monotonic()
        change()
        applied = time.monotonic() - started
        conv = self.hold(checks, record=record, name=name, **kwargs)
        if conv.ok and conv.settle_s is not None:
            self.effects[name] = round(applied + conv.settle_s, 3)
        return conv

    def serve(self, record, name: str, change: Callable[[], None], checks, **kwargs) -> Convergence:
        """`after`, folded into the test's record (attempts, time-to-effect); fails the test with
        the last wrong answer when the checks never held."""
        conv = self.after(name, change, list(checks), record, **kwargs)
        if name in self.effects:
            record.metrics.setdefault("time_to_effect_s", {})[name] = self.effects[name]
        if not conv.ok:
            raise AssertionError(f"{name}: {conv.reason} (after {conv.count} rounds)")
        return conv
