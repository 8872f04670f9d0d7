"""What one scenario observed beyond pass/fail: attempts, flakiness, notes, measurements, flags.
Suites get it as the `record` fixture and fill it through `expect` and `record.metrics`."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TestRecord:
    """What a test observed beyond pass/fail."""

    __test__ = False

    attempts: int = 0
    flaky: bool = False
    notes: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    not_enforced: bool = False      # a declared gap observed as declared (set before the skip)
    flags: list[str] = field(default_factory=list)
    waits_s: float = 0.0            # wall time inside settle/expect (metrics.timeline: convergence waits)
    rounds: int = 0                 # convergence attempts those made (probe rounds)
    under_gap: bool = False         # runs under a declared gap: its waits are capped (timeouts: declared)

    def waited(self, seconds: float, rounds: int) -> None:
        """Count one settle/expect: how long it waited to converge and how many rounds it took."""
        self.waits_s += seconds
        self.rounds += rounds

    def absorb(self, other: TestRecord, waited_s: float) -> None:
        """Take in what a scenario run ahead of its test observed (testkit.ahead). Its own time inside
        settle/expect overlapped other scenarios', so the test counts the time it waited for it."""
        self.attempts += other.attempts
        self.flaky = self.flaky or other.flaky
        self.notes.extend(other.notes)
        self.metrics.update(other.metrics)
        self.not_enforced = self.not_enforced or other.not_enforced
        self.flags.extend(f for f in other.flags if f not in self.flags)
        self.waited(waited_s, other.rounds)

    def convergence(self, name: str, conv, steady: bool = True) -> None:
        """Fold a probe Convergence into the record. For a steady-state expectation any miss
        before the final streak is flakiness; for a change, only a lost match is."""
        self.attempts += conv.count
        missed = [a for a in conv.attempts if not a.matched]
        if conv.ok and (conv.flapped or (steady and missed)):
            self.flaky = True
            note = f"{name}: matched only after {len(missed)} miss(es), first: {missed[0].reason[:200]}"
            lost = conv.lost
            if lost is not None and lost is not missed[0]:  # for a change, the lost round is what made it flaky
                note += f"; match lost at {lost.at_s:.1f} s: {lost.reason[:200]}"
            self.notes.append(note)
        if conv.settle_s is not None:
            self.metrics.setdefault("settle_s", {})[name] = conv.settle_s


def failure_text(report) -> str:
    """What a failed pytest report says went wrong: the crash message, else the whole report (capped)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.strip()[:2000]
