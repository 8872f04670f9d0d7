"""NetworkPolicy and connections already open: manifests/netpol/established.yaml.

A matrix pod holds one TCP connection to another (an HTTP keep-alive request every 100 ms), then
a policy denying that path is applied. Kubernetes leaves the fate of the open connection to the
implementation (conntrack may keep it): kept or cut, and when, is reported, not judged. New
connections on the path must be denied, as for any policy: that is asserted.
"""
from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager

import pytest

from cnimatrix.netpol import scenarios
from cnimatrix.netpol.reachability import Target
from cnimatrix.probe import timeline
from cnimatrix.testkit import declared
from cnimatrix.testkit.timeouts import deadline

pytestmark = pytest.mark.suite("netpol")

SCENARIOS = scenarios.load_established()
KEEP_WATCHING_S = 3.0     # after new connections are denied, how long the open one is still watched
BEFORE_CHANGE_S = 0.5     # exchanges on the open connection before the policy lands


def pick_client(env, scenario: scenarios.Established) -> str:
    """The first pod of the client namespace on the server's node (same) or on another one."""
    for name in ("a", "b", "c"):
        pod = f"{scenario.client_namespace}/{name}"
        if pod != scenario.server and (env.nodes[pod] == env.nodes[scenario.server]) == scenario.same_node:
            return pod
    pytest.fail(f"no pod of {scenario.client_namespace} on {'the same' if scenario.same_node else 'another'} "
                f"node as {scenario.server} with this placement: {env.nodes}", pytrace=False)


def judge_denied(client: str, server: str):
    def judge(result) -> tuple[bool, str]:
        return not result.ok, f"a new connection {client} -> {server}:80 {'was answered' if result.ok else result.outcome.value}"
    return judge


@contextmanager
def open_connection(env, client: str, server: str):
    """One connection client -> server kept busy while the block runs (it outlives the policy
    timeout, so only the stop file ends it); yields a dict that holds "result", (exchanges, error),
    once the holder has stopped."""
    stop_file = f"/tmp/cnimatrix-hold-{secrets.token_hex(4)}"
    ready, box = threading.Event(), {}
    holder = threading.Thread(daemon=True, target=lambda: box.update(result=timeline.hold_connection(
        env.executor(client, side=True), server, stop_file, ready=ready, max_s=deadline("policy") + 60)))
    holder.start()
    try:
        ready.wait(30)
        yield box
    finally:
        env.executor(client).sh(f"touch {stop_file}", timeout_s=30)
        holder.join(30)


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name, marks=pytest.mark.title(f"established connection: {s.description}"))
                                      for s in SCENARIOS])
def test_established_connection(netpol, enforcing, not_enforced, record, scenario):
    env = netpol
    env.reset()
    client = pick_client(env, scenario)
    server = f"{env.ips[scenario.server]}:80"
    with open_connection(env, client, server) as box:
        watch = env.watch_cells([(client, scenario.server, Target(80, "TCP"), False)]) if enforcing else None
        if watch is not None:  # a CNI that declares no enforcement would keep it busy to its deadline
            watch.start()
        time.sleep(BEFORE_CHANGE_S)
        env.apply_policy(scenario.policy)
        changed_at = time.time()
        conv = env.settle(record, "new connections denied", lambda: env.probe([(client, env.executor(client), server)])[0],
                          judge_denied(client, scenario.server), enforced=enforcing)
        flips, _, watch_error = watch.finish(changed_at) if watch is not None else ([], [], "")
        held = flips[0].held_s if flips and flips[0].valid else None
        denied_at = changed_at + held if held is not None else None
        if denied_at is not None:
            time.sleep(max(0.0, denied_at + KEEP_WATCHING_S + 0.3 - time.time()))
    exchanges, connect_error = box.get("result", ([], "the client never reported"))
    fate = timeline.connection_fate(exchanges, changed_at, denied_at, KEEP_WATCHING_S)
    observed = {
        "client": client, "server": scenario.server, "same_node": env.nodes[client] == env.nodes[scenario.server],
        "behaviour": fate.behaviour, "how": fate.how or None, "cut_after_s": fate.cut_after_s,
        "kept_for_s": fate.kept_for_s, "exchanges_after_change": fate.exchanges_after,
        "new_connections_denied_after_s": held, "watch_error": watch_error or None,
    }
    record.metrics["established_connection"] = observed
    env.established[scenario.name] = observed
    record.flags.append(f"established-connection-{fate.behaviour}")
    if connect_error or not exchanges:
        pytest.fail(f"no connection {client} -> {server} before any policy: {connect_error or 'no exchange'}", pytrace=False)
    if fate.behaviour == "broken-before":
        pytest.fail(f"the open connection {client} -> {server} failed ({fate.how}) before any policy", pytrace=False)
    if conv.ok and not enforcing:
        declared.worked(record)
    if not conv.ok:
        if not enforcing and conv.last is not None and conv.last.ok:
            not_enforced(f"new connections {client} -> {scenario.server}:80 still answered; the open one was {fate.behaviour}")
        pytest.fail(f"new connections were not steadily denied after the policy: {conv.reason} (after {conv.count} rounds)",
                    pytrace=False)
