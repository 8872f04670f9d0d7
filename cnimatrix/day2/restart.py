"""Agent restart: what the CNI's agent pod on one node being deleted (and its DaemonSet starting a
new one) does to traffic to that node, seen from a client on another node.

Three records come from one restart, each from a 100 ms probe loop of cnimatrix.probe.timeline
started before the delete and stopped a settle period after the new agent pod was Ready:
- an established TCP connection (`hold_connection`): was it reset, did it stall, and the longest
  gap between answered requests;
- new TCP connections to a ClusterIP whose only backend is on that node (`watch`): the longest run
  of failed attempts (the outage) and how many failed;
- new TCP connections to a pod there under a deny-all ingress policy (`watch`): any answered one
  is a fail-open admission.
Times are epoch seconds; kind nodes share the test's clock (see cnimatrix.probe.timeline).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cnimatrix.datafiles import ReadinessRule
from cnimatrix.probe.timeline import Exchange, Sample

STALL_BOUND_S = 10.0     # longest gap an established connection may show: a restart must not hang it longer
OUTAGE_BOUND_S = 15.0    # longest new-connection outage: the agent's start-up may cost seconds, not minutes
MIN_BEFORE = 5           # answers before the delete that show the path worked: fewer prove nothing
ENDED = ("reset", "closed", "bad")   # hold_connection states after which the connection is gone


def agent_daemonset(rules: Iterable[ReadinessRule]) -> ReadinessRule | None:
    """The CNI's node agent: the first DaemonSet among the catalog's readiness rules (None: it has none)."""
    return next((rule for rule in rules if rule.kind == "DaemonSet"), None)


@dataclass(frozen=True)
class Restart:
    """The restart itself: when the old agent pod was deleted, when its replacement was Ready."""

    agent: str                  # namespace/DaemonSet
    node: str
    deleted_at: float
    ready_at: float | None      # None: not Ready within the observation bound
    observed_until: float       # the probe loops were told to stop here

    @property
    def ready_after_s(self) -> float | None:
        return _round(self.ready_at - self.deleted_at) if self.ready_at is not None else None

    @property
    def observed_s(self) -> float:
        return round(self.observed_until - self.deleted_at, 3)

    def to_dict(self) -> dict:
        return {"agent": self.agent, "node": self.node, "ready_after_s": self.ready_after_s, "observed_s": self.observed_s}


@dataclass(frozen=True)
class Connection:
    """The established connection across the restart."""

    fate: str                   # survived, stalled (some request waited past the loop's stall mark), reset, not-open
    how: str                    # for reset: reset, closed or bad (a wrong answer); for not-open: the connect error
    answered_before: int        # requests answered before the delete
    exchanges: int
    longest_gap_s: float | None     # between answered requests, the last one to the end when it was unanswered
    ended_after_s: float | None     # from the delete to the exchange that found the connection gone
    answering_at_end: bool

    def to_dict(self) -> dict:
        return {"fate": self.fate, "how": self.how or None, "answered_before": self.answered_before,
                "exchanges": self.exchanges, "longest_gap_s": self.longest_gap_s, "ended_after_s": self.ended_after_s,
                "answering_at_end": self.answering_at_end, "bound_s": STALL_BOUND_S}


def connection(exchanges: list[Exchange], connect_error: str, restart: Restart) -> Connection:
    if connect_error or not exchanges:
        return Connection("not-open", connect_error or "no exchange", 0, 0, None, None, False)
    answered = sorted(e.late if e.state != "ok" else e.sent for e in exchanges if e.state == "ok" or e.late is not None)
    before = sum(1 for e in exchanges if e.sent < restart.deleted_at and (e.state == "ok" or e.late is not None))
    gone = next((e for e in exchanges if e.state in ENDED), None)
    last = exchanges[-1]
    at_end = gone is None and (last.state == "ok" or last.late is not None)
    moments = answered + ([] if at_end else [max(restart.observed_until, last.sent)])
    gaps = [b - a for a, b in zip(moments, moments[1:])]
    if gone is not None:
        fate, how = "reset", gone.state
    elif any(e.state == "stalled" for e in exchanges):
        fate, how = "stalled", ""
    else:
        fate, how = "survived", ""
    return Connection(fate, how, before, len(exchanges), _round(max(gaps)) if gaps else None,
                      _round(gone.sent - restart.deleted_at) if gone is not None else None, at_end)


def connection_survives(bound_s: float, what: str):
    """Judge a Connection: open and answered before the delete, never reset, no gap over `bound_s`,
    answering at the end."""
    def judge(seen: Connection) -> tuple[bool, str]:
        if seen.fate == "not-open":
            return False, f"{what}: the connection never opened ({seen.how}): nothing proven"
        if seen.answered_before < MIN_BEFORE:
            return False, f"{what}: {seen.answered_before} request(s) answered before the delete (want {MIN_BEFORE}): nothing proven"
        tally = f"{seen.exchanges} requests, longest gap {seen.longest_gap_s or 0:.2f} s"
        if seen.fate == "reset":
            return False, f"{what}: connection {seen.how} {seen.ended_after_s:.2f} s after the agent pod was deleted ({tally})"
        if (seen.longest_gap_s or 0) > bound_s:
            return False, f"{what}: stalled, no answer for {seen.longest_gap_s:.2f} s (bound {bound_s:g} s; {tally})"
        if not seen.answering_at_end:
            return False, f"{what}: its last request was still unanswered when the observation ended ({tally})"
        return True, f"{what}: {seen.fate} ({tally})"
    return judge


@dataclass(frozen=True)
class NewConnections:
    """New connections to the ClusterIP from the delete on."""

    attempts: int
    failed: int
    answered_before: int        # attempts answered before the delete
    outage_s: float | None      # the longest run of failures: its first attempt to the next answered one (or the end)
    outage_from_s: float | None     # that run's start after the delete
    answering_at_end: bool

    def to_dict(self) -> dict:
        return {"attempts": self.attempts, "failed": self.failed, "answered_before": self.answered_before,
                "outage_s": self.outage_s, "outage_from_s": self.outage_from_s,
                "answering_at_end": self.answering_at_end, "bound_s": OUTAGE_BOUND_S}


def new_connections(samples: list[Sample], restart: Restart) -> NewConnections:
    ordered = sorted(samples, key=lambda s: s.sent)
    after = [s for s in ordered if s.sent >= restart.deleted_at]
    longest: tuple[float, float] | None = None     # (seconds, start)
    run_start: float | None = None
    for sample in [*after, None]:
        if sample is not None and not sample.allowed:
            run_start = sample.sent if run_start is None else run_start
            continue
        if run_start is not None:
            end = sample.sent if sample is not None else max(restart.observed_until, after[-1].sent)
            if longest is None or end - run_start > longest[0]:
                longest = (end - run_start, run_start)
            run_start = None
    return NewConnections(len(after), sum(1 for s in after if not s.allowed),
                          sum(1 for s in ordered if s.sent < restart.deleted_at and s.allowed),
                          _round(longest[0]) if longest else 0.0 if after else None,
                          _round(longest[1] - restart.deleted_at) if longest else None,
                          bool(after) and after[-1].allowed)


def outage_within(bound_s: float, what: str):
    """Judge NewConnections: answered before the delete, no run of failures over `bound_s`."""
    def judge(seen: NewConnections) -> tuple[bool, str]:
        if seen.answered_before < MIN_BEFORE:
            return False, f"{what}: {seen.answered_before} attempt(s) answered before the delete (want {MIN_BEFORE}): nothing proven"
        if not seen.attempts:
            return False, f"{what}: no attempt after the delete: nothing proven"
        tally = f"{seen.failed}/{seen.attempts} failed"
        if seen.outage_s > bound_s:
            return False, (f"{what}: new connections failed for {seen.outage_s:.2f} s from {seen.outage_from_s:.2f} s after "
                           f"the delete (bound {bound_s:g} s; {tally})")
        return True, f"{what}: longest outage {seen.outage_s:.2f} s ({tally})"
    return judge


@dataclass(frozen=True)
class FailOpen:
    """Attempts on a path a deny-all ingress policy covers, from the delete on."""

    attempts: int
    admitted: int               # answered: a denied connection that got through
    admitted_before: int        # answered before the delete: the deny was not in force
    first_admitted_s: float | None  # after the delete
    window_s: float | None      # first to last admitted (0.0 for one; None for none)

    def to_dict(self) -> dict:
        return {"attempts": self.attempts, "admitted": self.admitted, "admitted_before": self.admitted_before,
                "first_admitted_s": self.first_admitted_s, "window_s": self.window_s}


def fail_open(samples: list[Sample], restart: Restart) -> FailOpen:
    after = sorted((s for s in samples if s.sent >= restart.deleted_at), key=lambda s: s.sent)
    admitted = [s for s in after if s.allowed]
    return FailOpen(len(after), len(admitted), sum(1 for s in samples if s.sent < restart.deleted_at and s.allowed),
                    _round(admitted[0].sent - restart.deleted_at) if admitted else None,
                    _round(admitted[-1].sent - admitted[0].sent) if admitted else None)


def denied_throughout(what: str, open_path: NewConnections):
    """Judge a FailOpen: the open path from the same client answered before the delete (else the
    silence proves nothing), the deny held before the delete, and no attempt was admitted after it."""
    def judge(seen: FailOpen) -> tuple[bool, str]:
        if open_path.answered_before < MIN_BEFORE:
            return False, (f"{what}: the open path from the same client answered {open_path.answered_before} attempt(s) "
                           f"before the delete: nothing proven")
        if seen.admitted_before:
            return False, f"{what}: {seen.admitted_before} attempt(s) admitted before the delete: the deny was not in force"
        if not seen.attempts:
            return False, f"{what}: no attempt after the delete: nothing proven"
        if seen.admitted:
            return False, (f"fail-open during agent restart: {what}: {seen.admitted}/{seen.attempts} denied attempts answered, "
                           f"from {seen.first_admitted_s:.2f} s after the delete, over {seen.window_s:.2f} s")
        return True, f"{what}: 0/{seen.attempts} answered"
    return judge


def restart_completed(restart: Restart, bound_s: float) -> tuple[bool, str]:
    """Whether the agent came back: a figure over an agent that never did is no restart's."""
    if restart.ready_at is None:
        return False, f"the new {restart.agent} pod on {restart.node} was not Ready within {bound_s:g} s of the delete"
    return True, f"the new {restart.agent} pod on {restart.node} was Ready {restart.ready_after_s:.2f} s after the delete"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
