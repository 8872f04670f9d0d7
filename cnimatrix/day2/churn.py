"""UDP Service churn: after a change to a Service's backends, how long one client socket (one
5-tuple, so one conntrack entry) keeps being answered by the wrong backend, or by none.

The samples come from cnimatrix.probe.udp_stream: one datagram every ~100 ms from the same
socket, each with the hostname that answered. "Live" backends are those the Service must reach
after the change; any other answer is stale (a conntrack entry kept pointing at the old one).
"""
from __future__ import annotations

from dataclasses import dataclass

from cnimatrix.probe.udp_stream import Datagram

HOLD = 10               # answers from live backends in a row that count as settled (about 1 s)
STALENESS_BOUND_S = 10.0  # kube-proxy syncs within ~1 s of an endpoint change; 10 s leaves room for a loaded host


@dataclass(frozen=True)
class Staleness:
    """What the client saw around one change."""

    before: int                 # datagrams sent before the change
    answered_before: int
    old_backends: tuple[str, ...]   # who answered before the change
    stale: int                  # after the change, answered by a backend that is not live
    silent: int                 # after the change, not answered (timed out, refused, error)
    last_stale_s: float | None  # the last stale answer, after the change
    settled_s: float | None     # start of the final run of >= HOLD live answers (None: never)

    def to_dict(self) -> dict:
        return {"settled_s": self.settled_s, "last_stale_s": self.last_stale_s, "stale": self.stale,
                "silent": self.silent, "before": self.before, "answered_before": self.answered_before,
                "old_backends": list(self.old_backends)}


def staleness(samples: list[Datagram], live: set[str], changed_at: float, hold: int = HOLD) -> Staleness:
    before = [d for d in samples if d.sent < changed_at]
    after = [d for d in samples if d.sent >= changed_at]
    stale = [d for d in after if d.answered and d.reply not in live]
    run = 0
    for datagram in reversed(after):
        if not (datagram.answered and datagram.reply in live):
            break
        run += 1
    settled = after[len(after) - run].sent - changed_at if run >= hold else None
    return Staleness(len(before), sum(1 for d in before if d.answered),
                     tuple(sorted({d.reply for d in before if d.answered})), len(stale),
                     sum(1 for d in after if not d.answered),
                     _round(stale[-1].sent - changed_at) if stale else None, _round(settled))


def settled(samples: list[Datagram], live: set[str], changed_at: float, hold: int = HOLD) -> bool:
    """Whether the stream may stop: the last `hold` datagrams were answered by live backends."""
    tail = [d for d in samples if d.sent >= changed_at][-hold:]
    return len(tail) == hold and all(d.answered and d.reply in live for d in tail)


def starved(samples: list[Datagram], changed_at: float, watched_s: float, interval_s: float) -> str:
    """Why the stream cannot show staleness after the change ("" when it can): it sent fewer than
    half the datagrams its interval promises over the watched time, e.g. its pod starved of CPU,
    so a gap in the answers may be the client's and not the Service's."""
    sent = sum(1 for d in samples if d.sent >= changed_at)
    promised = watched_s / interval_s
    if watched_s <= 0 or sent >= promised / 2:
        return ""
    return (f"not measured: the client sent {sent} datagram(s) in the {watched_s:.1f} s watched after the change, "
            f"where one every {interval_s * 1000:g} ms makes {promised:.0f}")


def reaches_live_within(bound_s: float, what: str):
    """Judge a Staleness: the client was answered before the change, and by live backends only
    within `bound_s` after it."""
    def judge(seen: Staleness) -> tuple[bool, str]:
        if not seen.answered_before:
            return False, f"{what}: no answer in {seen.before} datagrams before the change: nothing proven"
        tally = f"{seen.stale} stale and {seen.silent} unanswered datagrams after the change"
        if seen.settled_s is None:
            return False, f"{what}: never answered by a live backend alone ({tally}; before: {', '.join(seen.old_backends)})"
        if seen.settled_s > bound_s:
            return False, f"{what}: live backends alone only {seen.settled_s:.2f} s after the change, bound {bound_s:g} s ({tally})"
        return True, f"{what}: live backends alone {seen.settled_s:.2f} s after the change ({tally})"
    return judge


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
