"""Startup isolation: did any packet a deny policy covers pass in a new pod's first moments?

The attempts come from the probe engine's 100 ms watch (cnimatrix.probe.timeline): an init
container in the new pod (egress) or a prober aimed at its IP from when the API shows it (ingress).
Only an answer counts as admitted: a refused probe may be the CNI rejecting it or the pod's server
not listening yet, so it is counted apart and never judged.
"""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.timeline import Flip, Sample

MIN_ATTEMPTS = 10    # fewer attempts than this in the window watched proves nothing either way
MIN_OPEN_ANSWERS = 5  # the open twin's answers that show the probe reaches an open path


@dataclass(frozen=True)
class Window:
    """The attempts on a new pod's path, from its first attempt on."""

    attempts: int
    admitted: int               # answered: a packet the deny policy covers got through
    refused: int                # not judged (see the module docstring)
    first_admitted_s: float | None   # after the first attempt
    last_admitted_s: float | None
    watched_s: float            # first to last attempt sent

    @property
    def window_s(self) -> float | None:
        """How long denied packets got through: first attempt to the last admitted one (0.0 when
        only the very first was; None when none was)."""
        return self.last_admitted_s

    def to_dict(self) -> dict:
        return {"attempts": self.attempts, "admitted": self.admitted, "refused": self.refused,
                "window_s": self.window_s, "first_admitted_s": self.first_admitted_s, "watched_s": self.watched_s}


def window(samples: list[Sample]) -> Window:
    """The window over every attempt on the path (several targets merged, in sending order)."""
    ordered = sorted(samples, key=lambda s: s.sent)
    if not ordered:
        return Window(0, 0, 0, None, None, 0.0)
    start = ordered[0].sent
    admitted = [s for s in ordered if s.allowed]
    return Window(len(ordered), len(admitted), sum(1 for s in ordered if s.outcome is Outcome.REFUSED),
                  _since(admitted[0].sent, start) if admitted else None,
                  _since(admitted[-1].sent, start) if admitted else None,
                  _since(ordered[-1].sent, start))


def isolated_from_start(what: str):
    """Judge a Window: enough attempts, none admitted."""
    def judge(seen: Window) -> tuple[bool, str]:
        if seen.attempts < MIN_ATTEMPTS:
            return False, f"{what}: only {seen.attempts} attempt(s) seen (want {MIN_ATTEMPTS}): nothing proven"
        if seen.admitted:
            return False, (f"{what}: {seen.admitted}/{seen.attempts} denied attempts answered, from "
                           f"{seen.first_admitted_s:.3f} s to {seen.last_admitted_s:.3f} s after the first attempt")
        return True, f"{what}: 0/{seen.attempts} answered over {seen.watched_s:.1f} s ({seen.refused} refused)"
    return judge


def open_path_answers(what: str):
    """The positive twin: the same probes on a path no policy covers were answered, so the
    isolated path's silence is the policy's and not a broken probe's."""
    def judge(seen: Window) -> tuple[bool, str]:
        if seen.admitted < MIN_OPEN_ANSWERS:
            return False, f"{what}: {seen.admitted}/{seen.attempts} answered: the probe does not reach an open path, nothing proven"
        return True, f"{what}: {seen.admitted}/{seen.attempts} answered"
    return judge


def time_to_deny(flips: list[Flip]) -> tuple[float | None, str]:
    """A label change bringing a running pod under a deny policy: seconds until every watched
    path stayed denied (None: some never did, or the pod was not reachable before, so nothing
    was shown), and what was seen."""
    if not flips or not all(f.valid for f in flips):
        return None, "the pod was not answering before the change: nothing proven"
    if any(f.held_s is None for f in flips):
        return None, "probes to the pod still answered at the deadline: the deny never held"
    held = max(f.held_s for f in flips)
    return held, f"denied from {held:.3f} s after the label change ({sum(f.flaps for f in flips)} flap(s))"


def _since(moment: float, start: float) -> float:
    return round(moment - start, 3)
