"""NetworkPolicy suite: every case of manifests/netpol/cases, judged as a reachability matrix.

Each case applies its policies (and labels), then every pod probes every pod on the case's ports
and protocols until the observed matrix equals the one the policy engine computes, and stays
equal for several rounds. Live-update cases change a policy or a label and wait for the next
expected matrix; the time each change took to show is recorded (time-to-effect).

A CNI that declares NetworkPolicy not enforced still runs every case: where it lets denied
traffic through, the case is reported "not enforced (declared)", never passed; where it enforces
anyway, that is flagged. A CNI that declares enforcement and lets denied traffic through fails.
"""
from __future__ import annotations

import time

import pytest

from cnimatrix.netpol import cases as catalog
from cnimatrix.netpol import timing
from cnimatrix.netpol.reachability import diff, expected, report, to_json, word
from cnimatrix.probe.engine import converge, dns
from cnimatrix.pytest_plugin import declared_key

pytestmark = pytest.mark.suite("netpol")

CASES = catalog.load_all()
ENFORCED_DEADLINE_S = 60     # a policy change must show within this
DECLARED_DEADLINE_S = 6      # a CNI that declares no enforcement: long enough to see it anyway
STABLE_ROUNDS = 3
DNS_NAME = "kubernetes.default.svc.cluster.local"


def apply_initial(env, case) -> None:
    env.reset()
    for logical, labels in case.namespace_labels.items():
        env.set_namespace_labels(logical, labels)
    for pod, labels in case.pod_labels.items():
        env.set_pod_labels(pod, labels)
    for policy in case.policies:
        env.apply_policy(policy)


def apply_step(env, step) -> None:
    if step.action == "apply":
        env.apply_policy(step.body)
    elif step.action == "delete":
        env.delete_policy(step.body)
    elif step.action == "pod_labels":
        for pod, labels in step.body.items():
            env.set_pod_labels(pod, labels)
    else:
        for logical, labels in step.body.items():
            env.set_namespace_labels(logical, labels)


def judge_against(want: dict):
    def judge(observed) -> tuple[bool, str]:
        diffs = [diff(want[t], observed[t]) for t in want]
        bad = [d for d in diffs if d.mismatches]
        if not bad:
            return True, "matrix as expected"
        cells = sum(len(d.mismatches) for d in bad)
        first = bad[0].mismatches[0]
        return False, (f"{cells} cell(s) differ, e.g. {first.src} -> {first.dst} {bad[0].expected.target}: "
                       f"expected {word(first.expected)}, observed {word(first.observed)}")
    return judge


def fail_open_only(want: dict, observed: dict) -> bool:
    """Every difference is traffic the policies deny getting through: no enforcement at all, as
    a CNI without NetworkPolicy support behaves (a denied-but-expected-allowed cell is a real fault)."""
    diffs = [diff(want[t], observed[t]) for t in want]
    return all(m.expected is False and m.observed is True for d in diffs for m in d.mismatches)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=pytest.mark.title(f"{c.category}: {c.description}"))
                                  for c in CASES])
def test_policy_case(netpol, cni, enforcing, not_enforced, declared_gaps, record, request, case):
    env = netpol
    gaps = declared_gaps(case)
    deadline = ENFORCED_DEADLINE_S if enforcing and not gaps else DECLARED_DEADLINE_S
    states = catalog.states(case, ips=env.ips, pod_cidr=env.pod_cidr)
    record.metrics.update(category=case.category, features=list(case.features), targets=[str(t) for t in case.targets])
    apply_initial(env, case)
    effects, matrices, live = {}, [], {}
    want: dict = {}
    for index, state in enumerate(states):
        before, want = want, {t: expected(state.policies, state.namespaces, state.pods, t) for t in case.targets}
        watch = None
        if index:
            # Enforcing CNIs: the cells this step flips are watched every 100 ms across the change.
            if enforcing:
                watch = env.watch_cells(timing.changing_cells(before, want, env.nodes), through_service=case.service)
                watch.start()
            apply_step(env, case.steps[index - 1])
        changed_at = time.time()
        conv = converge(lambda: env.observe(case.targets, through_service=case.service), judge_against(want),
                        deadline_s=deadline, stable=STABLE_ROUNDS, interval_s=0)
        record.convergence(state.title, conv, steady=False)
        effects[state.title] = conv.settle_s
        if watch is not None:
            live[state.title] = finish_watch(env, watch, changed_at, conv)
            record.metrics["live_update"] = live
        observed = conv.last or {}
        matrices.append({"state": state.title, "converged": conv.ok, "attempts": conv.count,
                         "tables": [to_json(diff(want[t], observed[t])) for t in case.targets if t in observed]})
        record.metrics["matrices"] = matrices
        record.metrics["time_to_effect_s"] = effects
        if conv.ok:
            if conv.settle_s is not None:
                env.effects.append(conv.settle_s)
            if not enforcing and any(w.denied() for w in want.values()):
                record.flags.append("works-despite-declared")
            continue
        text = "\n\n".join(report(diff(want[t], observed[t])) for t in case.targets if t in observed)
        attach(f"{case.name} {state.title}", text)
        if not enforcing and observed and fail_open_only(want, observed):
            not_enforced(f"{state.title}: {conv.reason}")
        if enforcing and gaps:  # a capability beyond enforcement, declared missing with evidence
            request.node.stash[declared_key] = gaps[0]
            pytest.skip(f"{cni.name} declares {gaps[0]['capability']} {gaps[0]['status']}: "
                        f"{state.title}: {conv.reason}")
        pytest.fail(f"{state.title}: {conv.reason} (after {conv.count} rounds)\n{text}", pytrace=False)
    if gaps:  # every state matched although the CNI declares a capability it needs missing
        record.flags.append("works-despite-declared")
    if case.dns:
        check_dns_still_resolves(env)


def finish_watch(env, watch, changed_at: float, conv) -> dict:
    """The step's 100 ms figures; the matrix time is the end of the first round of the final streak."""
    flips, gaps, error = watch.finish(changed_at)
    figures = timing.step_figures(flips, conv.settle_s if conv.ok else None)
    if error:
        figures.update(first_flip_s=None, all_flipped_s=None, note=error[:300])
    env.live_updates.append(figures)
    env.watch_spacing_ms.extend(gaps)
    return figures


def check_dns_still_resolves(env) -> None:
    """Egress denied except DNS: names must still resolve from every pod of the matrix."""
    for pod in catalog.MATRIX_PODS:
        answer = dns(env.executor(pod), [(DNS_NAME, "A")], timeout_s=2)[0]
        assert answer.ok and answer.status == "NOERROR" and answer.values(), \
            f"{pod}: {DNS_NAME} did not resolve while DNS egress is allowed: {answer.status or answer.error}"


def attach(name: str, text: str) -> None:
    try:
        import allure
    except ImportError:
        return
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
