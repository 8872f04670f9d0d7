"""One policy case, run on one namespace set (a MatrixEnv), start to finish, without a verdict.

The cases run ahead of their tests, several at once on separate sets (testkit.ahead); what a case
observed comes back as a CaseRun (its own record, the verdict it calls for, matrices to attach),
and the test gives the verdict. Each case applies its policies (and labels), then every pod probes
every pod on the case's ports and protocols until the observed matrix equals the one the policy
engine computes, and stays equal for several rounds. Live-update cases change a policy or a label
and wait for the next expected matrix; the time each change took to show is recorded.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cnimatrix.netpol import cases as catalog
from cnimatrix.netpol import cluster_cases, timing
from cnimatrix.netpol.reachability import diff, expected, report, to_json, where
from cnimatrix.probe.probes import dns
from cnimatrix.testkit import declared
from cnimatrix.testkit.record import TestRecord

DNS_NAME = "kubernetes.default.svc.cluster.local"
PASSED, NOT_ENFORCED, DECLARED, FAILED = "passed", "not-enforced", "declared", "failed"


@dataclass
class CaseRun:
    """What a case observed and the verdict it calls for: passed; not-enforced (fail-open on a CNI
    that declares no enforcement); declared (a capability beyond enforcement, declared missing);
    failed. `reason` says why; `gap` is the declaration a `declared` verdict observed; `attachments`
    are the mismatching matrices, printed."""

    record: TestRecord
    verdict: str = PASSED
    reason: str = ""
    gap: dict | None = None
    attachments: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Engine:
    """How a kind of case is run: its states, a state's expected table, how it is applied, and
    what a CNI that does not enforce its policies shows instead (`unenforced`: a judge for the
    rounds to wait on, given whether the CNI enforces NetworkPolicy) and whether an observation
    is only that (`only_unenforced`)."""

    states: Callable
    expected: Callable          # (state, target) -> Table
    apply_initial: Callable     # (env, case)
    apply_step: Callable        # (env, step)
    unenforced: Callable        # (state, want, targets, networkpolicy_enforced) -> judge
    only_unenforced: Callable   # (want, observed) -> bool
    telling: Callable           # (state, want, targets) -> bool: matching `want` shows enforcement
    capability: str             # the CNI declaration that says whether it enforces this kind
    key_prefix: str             # a case's key in the pool is this + its name (the catalogs name apart)


def run_case(env, case, enforcing: bool, gaps: list, check=lambda: None, networkpolicy_enforced: bool = True) -> CaseRun:
    """Apply the case on `env` and walk its states; `check()` between steps raises to stop early.
    `enforcing`: the CNI declares the case's kind of policy enforced."""
    engine = engine_of(case)
    run = CaseRun(TestRecord())
    record = run.record
    states = engine.states(case, ips=env.ips, pod_cidr=env.pod_cidr)
    record.metrics.update(category=case.category, features=list(case.features), targets=[str(t) for t in case.targets])
    engine.apply_initial(env, case)
    want: dict = {}
    told = False   # some state's match showed enforcement (only asked of a CNI that declares none)
    for index, state in enumerate(states):
        check()
        before, want = want, {t: engine.expected(state, t) for t in case.targets}
        watch, changed_at = step_into(env, case, index, before, want, watched=enforcing)
        # Without enforcement the rounds wait for what such a CNI shows (the declaration), steadily.
        conv = env.settle(record, state.title, lambda: env.observe(case.targets, through_service=case.service, check=check),
                          judge_against(want) if enforcing else engine.unenforced(state, want, case.targets, networkpolicy_enforced),
                          enforced=not gaps)
        keep(env, record, case, state.title, want, conv, watch, changed_at)
        observed = conv.last or {}
        matched, mismatch = judge_against(want)(observed) if observed else (False, conv.reason)
        if conv.ok and matched:
            if conv.settle_s is not None:
                env.effects.append(conv.settle_s)
            if not enforcing and engine.telling(state, want, case.targets):
                told = True
                declared.worked(record)
            continue
        text = "\n\n".join(report(diff(want[t], observed[t])) for t in case.targets if t in observed)
        run.attachments.append((f"{case.name} {state.title}", text))
        if not enforcing and conv.ok and engine.only_unenforced(want, observed):
            return _verdict(run, NOT_ENFORCED, f"{state.title}: {mismatch}")
        if enforcing and gaps:  # a capability beyond enforcement, declared missing with evidence (reported skipped)
            run.gap = gaps[0]
            return _verdict(run, DECLARED, f"{state.title}: {conv.reason}")
        return _verdict(run, FAILED, f"{state.title}: {conv.reason} (after {conv.count} rounds)\n{text}")
    if gaps:  # every state matched although the CNI declares a capability it needs missing
        declared.worked(record)
    if not enforcing and not told:
        # Every state expects what a CNI without this enforcement shows anyway: matching it proves
        # nothing, so the declaration stands (never a pass for a CNI that declares no support).
        return _verdict(run, NOT_ENFORCED, "every state expects what a CNI that does not enforce these policies shows; "
                                           "the case cannot tell enforcement apart here")
    if case.dns:
        unresolved = dns_still_resolves(env)
        if unresolved:
            return _verdict(run, FAILED, unresolved)
    return run


def _verdict(run: CaseRun, verdict: str, reason: str) -> CaseRun:
    run.verdict, run.reason = verdict, reason
    return run


def apply_initial(env, case) -> None:
    env.reset()
    for logical, labels in case.namespace_labels.items():
        env.set_namespace_labels(logical, labels)
    for pod, labels in case.pod_labels.items():
        env.set_pod_labels(pod, labels)
    for policy in case.policies:
        env.apply_policy(policy)


def apply_cluster_initial(env, case) -> None:
    env.reset()
    for policy in case.cluster_policies:
        env.apply_cluster_policy(policy)
    for policy in case.policies:
        env.apply_policy(policy)


def apply_step(env, step) -> None:
    if step.action == "apply":
        env.apply_policy(step.body)
    elif step.action == "delete":
        env.delete_policy(step.body)
    elif step.action == "apply_cluster_policy":
        env.apply_cluster_policy(step.body)
    elif step.action == "delete_cluster_policy":
        env.delete_cluster_policy(step.body)
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
        return False, where(diffs)
    return judge


def judge_allowed(want: dict):
    """What the policies allow gets through (what they deny may too): a CNI without enforcement."""
    def judge(observed) -> tuple[bool, str]:
        diffs = [diff(want[t], observed[t]) for t in want]
        blocked = [replace(d, mismatches=tuple(m for m in d.mismatches if m.expected is True)) for d in diffs]
        if not any(d.mismatches for d in blocked):
            return True, "every allowed cell answered"
        return False, "allowed cells blocked: " + where(blocked)
    return judge


def fail_open_only(want: dict, observed: dict) -> bool:
    """Every difference is traffic the policies deny getting through: no enforcement at all, as
    a CNI without NetworkPolicy support behaves (a denied-but-expected-allowed cell is a real fault)."""
    diffs = [diff(want[t], observed[t]) for t in want]
    return all(m.expected is False and m.observed is True for d in diffs for m in d.mismatches)


def ignoring_cluster_policies(state, targets) -> dict:
    return {t: cluster_cases.ignoring_cluster_policies(state, t) for t in targets}


def without_cluster_policies(state, want: dict, targets, networkpolicy_enforced: bool):
    """A CNI that ignores ClusterNetworkPolicies shows the NetworkPolicies' verdict alone (or, if it
    enforces no NetworkPolicy either, lets at least what they allow through)."""
    ignored = ignoring_cluster_policies(state, targets)
    declared = judge_against(ignored) if networkpolicy_enforced else judge_allowed(ignored)
    exact = judge_against(want)

    def judge(observed) -> tuple[bool, str]:
        # A CNI that enforces them after all matches `want`: a wrong declaration, flagged, not a timeout.
        matched, reason = declared(observed)
        if not matched and exact(observed)[0]:
            return True, "matrix as expected with the cluster-wide policies enforced"
        return matched, reason
    return judge


def cluster_policies_tell(state, want: dict, targets) -> bool:
    return any(want[t].cells != ignored.cells for t, ignored in ignoring_cluster_policies(state, targets).items())


NETWORK_POLICY = Engine(catalog.states, lambda state, t: expected(state.policies, state.namespaces, state.pods, t),
                        apply_initial, apply_step, lambda state, want, targets, np: judge_allowed(want), fail_open_only,
                        lambda state, want, targets: any(w.denied() for w in want.values()), "networkpolicy", "")
# the rounds' judge already held the cluster without its cluster policies: whatever differs is theirs
CLUSTER_POLICY = Engine(cluster_cases.states, cluster_cases.expected_table, apply_cluster_initial, apply_step,
                        without_cluster_policies, lambda want, observed: True, cluster_policies_tell,
                        "cluster_network_policy", "cluster/")


def engine_of(case) -> Engine:
    return CLUSTER_POLICY if isinstance(case, cluster_cases.ClusterCase) else NETWORK_POLICY


def case_key(case) -> str:
    """The case's key in the pool of cases run ahead."""
    return engine_of(case).key_prefix + case.name


def step_into(env, case, index: int, before: dict, want: dict, watched: bool):
    """Make the step into state `index` (state 0 is the case as applied); `watched` (enforcing CNIs):
    the cells it flips are probed every 100 ms across the change. Returns the watch and the change's time."""
    watch = None
    if index:
        if watched:
            watch = env.watch_cells(timing.changing_cells(before, want, env.nodes), through_service=case.service)
            watch.start()
        engine_of(case).apply_step(env, case.steps[index - 1])
    return watch, time.time()


def keep(env, record, case, title: str, want: dict, conv, watch, changed_at: float) -> None:
    """A state's figures into the record: its 100 ms watch, its matrices, its time to effect."""
    if watch is not None:
        record.metrics.setdefault("live_update", {})[title] = finish_watch(env, watch, changed_at, conv)
    observed = conv.last or {}
    record.metrics.setdefault("matrices", []).append(
        {"state": title, "converged": conv.ok, "attempts": conv.count,
         "tables": [to_json(diff(want[t], observed[t])) for t in case.targets if t in observed]})
    record.metrics.setdefault("time_to_effect_s", {})[title] = conv.settle_s


def finish_watch(env, watch, changed_at: float, conv) -> dict:
    """The step's 100 ms figures; the matrix time is the end of the first round of the final streak."""
    flips, spacing, error = watch.finish(changed_at)
    figures = timing.step_figures(flips, conv.settle_s if conv.ok else None)
    if error:
        figures.update(first_flip_s=None, all_flipped_s=None, note=error[:300])
    env.live_updates.append(figures)
    env.watch_spacing_ms.extend(spacing)
    return figures


def dns_still_resolves(env) -> str:
    """Egress denied except DNS: names must still resolve from every pod of the matrix. Returns
    what did not (empty when every pod resolved)."""
    for pod in catalog.MATRIX_PODS:
        answer = dns(env.executor(pod), [(DNS_NAME, "A")], timeout_s=2)[0]
        if not (answer.ok and answer.status == "NOERROR" and answer.values()):
            return f"{pod}: {DNS_NAME} did not resolve while DNS egress is allowed: {answer.status or answer.error}"
    return ""
