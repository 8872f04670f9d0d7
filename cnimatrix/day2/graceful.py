"""Graceful termination (issue 28, item 3): what deleting a backend does to the traffic it serves
while its preStop hook keeps it draining (terminating, still serving, for a while).

- In-flight: a slow request (agnhost netexec's /shell running `sleep`) is accepted by a backend
  through a ClusterIP, and that backend is deleted while the request runs. It completes when its
  answer comes back, from that backend: the connection outlived the endpoint's leaving the
  Service's ready set.
- Terminating fallback (KEP-1669): a NodePort with externalTrafficPolicy Local, on the node whose
  only local endpoint is terminating but serving, keeps answering new connections from that
  endpoint; a ready endpoint on another node must not answer (Local never forwards).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from cnimatrix.probe.outcomes import ProbeResult

IN_FLIGHT_LEFT_S = 2.0   # the request must still have had this long to run when the delete was answered


def logged_at(log: str, marker: str) -> float | None:
    """Epoch seconds of the first line of a pod log read with timestamps (RFC3339, nanoseconds at
    most) that holds `marker`: when the server had the request (None: no such line)."""
    for line in log.splitlines():
        stamp, _, text = line.partition(" ")
        if marker in text:
            found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
            if found is None:
                return None
            whole, fraction, zone = found.groups()
            seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
            return seconds + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    return None


@dataclass(frozen=True)
class InFlight:
    """One slow request and the deletion of the backend that accepted it (times: epoch seconds)."""

    backend: str                    # the pod whose log showed the request ("" when none did)
    accepted_at: float | None       # when that log line was written
    terminating_at: float | None    # when the API answered the delete (the pod was terminating from then on)
    work_s: float                   # how long the backend takes to answer once it has the request
    outcome: str                    # the client's: ok, timeout, refused, error
    reply: str
    request_s: float                # how long the client waited for the answer

    @property
    def left_at_delete_s(self) -> float | None:
        """How long the backend still had to work on the request when it became terminating."""
        if self.accepted_at is None or self.terminating_at is None:
            return None
        return round(self.accepted_at + self.work_s - self.terminating_at, 3)

    @property
    def completed(self) -> bool:
        return self.outcome == "ok" and bool(self.backend) and self.backend in self.reply

    def to_dict(self) -> dict:
        return {"completed": self.completed, "outcome": self.outcome, "backend": self.backend or None,
                "request_s": round(self.request_s, 3), "work_s": self.work_s, "left_at_delete_s": self.left_at_delete_s}


def completes_in_flight(what: str, left_s: float = IN_FLIGHT_LEFT_S):
    """Judge an InFlight: the request was with the backend when it was deleted (at least `left_s`
    of its work still to do), and its answer came back, from that backend."""
    def judge(seen: InFlight) -> tuple[bool, str]:
        if not seen.backend or seen.accepted_at is None:
            return False, f"{what}: no backend's log showed the request ({seen.outcome} after {seen.request_s:.2f} s): nothing proven"
        left = seen.left_at_delete_s
        if left is None:
            return False, f"{what}: {seen.backend} was never deleted: nothing proven"
        if left < left_s:
            return False, (f"{what}: the request had {left:.2f} s of work left when {seen.backend} was deleted "
                           f"(want {left_s:g} s): it was not in flight, nothing proven")
        if seen.outcome != "ok":
            return False, (f"{what}: the in-flight request was cut: {seen.outcome} after {seen.request_s:.2f} s, "
                           f"{seen.backend} deleted with {left:.2f} s of its work left ({seen.reply[:120]!r})")
        if not seen.completed:
            return False, f"{what}: answered, but not by {seen.backend} that accepted it: {seen.reply[:120]!r}"
        return True, f"{what}: completed by the terminating {seen.backend} after {seen.request_s:.2f} s ({left:.2f} s after its delete)"
    return judge


@dataclass(frozen=True)
class Fallback:
    """New connections to a node whose only local endpoint is terminating."""

    terminating: str
    attempts: int
    by_terminating: int             # answered by the terminating local endpoint: the fallback
    elsewhere: tuple[str, ...]      # who else answered (a ready endpoint on another node)
    failed: dict[str, int]          # outcome -> count of the unanswered ones

    def to_dict(self) -> dict:
        return {"attempts": self.attempts, "by_terminating": self.by_terminating, "elsewhere": len(self.elsewhere),
                "failed": sum(self.failed.values())}


def fallback(results: list[ProbeResult], terminating: str) -> Fallback:
    answered = [r for r in results if r.ok]
    return Fallback(terminating, len(results), sum(1 for r in answered if r.reply == terminating),
                    tuple(r.reply for r in answered if r.reply != terminating),
                    dict(Counter(r.outcome.value for r in results if not r.ok)))


def answered_by_terminating(what: str, terminating: str):
    """Judge a round of probes: every one answered, by the terminating local endpoint."""
    def judge(results: list[ProbeResult]) -> tuple[bool, str]:
        seen = fallback(results, terminating)
        if not seen.attempts:
            return False, f"{what}: no probe sent"
        problems = []
        if seen.failed:
            problems.append(f"{sum(seen.failed.values())}/{seen.attempts} new connections not answered {seen.failed}: "
                            f"no fallback to the terminating {terminating}")
        if seen.elsewhere:
            problems.append(f"{len(seen.elsewhere)}/{seen.attempts} answered by {sorted(set(seen.elsewhere))[:3]}, "
                            f"not the node's own endpoint: forwarded despite externalTrafficPolicy Local")
        if problems:
            return False, f"{what}: " + "; ".join(problems)
        return True, f"{what}: {seen.attempts}/{seen.attempts} answered by the terminating {terminating}"
    return judge
