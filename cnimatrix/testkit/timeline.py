"""Where a run's time goes (summary.json `metrics.timeline`): the run-level phases the fixtures time
(`RunState.timings`), each suite's set-up, convergence waits, checks and teardown from pytest's own
report durations, and "other", the rest of the wall time, so that the phases add up to it.

The plugin feeds a `Recorder` one `add` per report (setup, call, teardown); `timeline` is the
arithmetic, pure, from plain values:

- a run-level phase that ran inside a report (the cluster created in the first test's set-up, the
  add-ons in the first Ingress test's, the cluster deleted in the last test's teardown) counts as
  that phase, not twice: it is taken off the report's duration;
- a test call splits into convergence waits (its time inside settle/expect) and checks (the rest);
- "other" is the wall time no phase covers: collection, pytest between reports, evidence
  collection, writing the summary.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cnimatrix.results.metrics import BackgroundWork, SuiteTime, Timeline, TimelinePhase

RUN_PHASES = ("cluster_create", "images_load", "cni_ready", "addons_ready")   # before the suites, in this order
END_PHASES = ("cluster_delete",)                                             # after them
PARTS = ("setup", "convergence waits", "checks", "teardown")
OTHER = "other"


@dataclass(frozen=True)
class Step:
    """One pytest report of a test: its suite, which phase (setup, call, teardown), how long it took,
    the run-level phases that ran inside it, and (for a call) its time inside settle/expect and rounds."""

    suite: str
    when: str
    duration_s: float
    nested_s: float = 0.0
    waits_s: float = 0.0
    rounds: int = 0


def _r(seconds: float) -> float:
    return round(max(seconds, 0.0), 3)


def timeline(run_phases: Mapping[str, float | None], steps: Iterable[Step], total_s: float,
             background: Iterable[Mapping] = ()) -> Timeline:
    """The run's timeline: run-level phases (None: did not run, left out), then per suite in the order
    its first report came, then the end phases and "other". total_s is the wall time, or the sum of
    the phases should rounding make that larger; the phases always add up to it. `background`: the
    work that ran beside the tests ({name, started_s, seconds}), kept apart, in start order."""
    parts: dict[str, dict[str, float]] = {}
    rounds: dict[str, int] = {}
    for step in steps:
        own = max(step.duration_s - step.nested_s, 0.0)
        suite = parts.setdefault(step.suite, dict.fromkeys(PARTS, 0.0))
        rounds[step.suite] = rounds.get(step.suite, 0) + step.rounds
        if step.when == "call":
            waits = min(max(step.waits_s, 0.0), own)
            suite["convergence waits"] += waits
            suite["checks"] += own - waits
        else:
            suite["setup" if step.when == "setup" else "teardown"] += own
    known = [k for k in RUN_PHASES if run_phases.get(k) is not None]
    known += [k for k, v in run_phases.items() if v is not None and k not in RUN_PHASES and k not in END_PHASES]
    phases = [TimelinePhase(name=k, seconds=_r(run_phases[k])) for k in known]
    phases += [TimelinePhase(name=f"{suite}: {part}", seconds=_r(seconds))
               for suite, by_part in parts.items() for part, seconds in by_part.items()]
    phases += [TimelinePhase(name=k, seconds=_r(run_phases[k])) for k in END_PHASES if run_phases.get(k) is not None]
    covered = round(sum(p.seconds for p in phases), 3)
    total = max(round(total_s, 3), covered)
    phases.append(TimelinePhase(name=OTHER, seconds=round(total - covered, 3)))
    suites = {suite: SuiteTime(setup_s=_r(p["setup"]), waits_s=_r(p["convergence waits"]), checks_s=_r(p["checks"]),
                               teardown_s=_r(p["teardown"]), rounds=rounds[suite]) for suite, p in parts.items()}
    beside = [BackgroundWork(name=b["name"], started_s=_r(b["started_s"]), seconds=_r(b["seconds"]))
              for b in sorted(background, key=lambda b: b["started_s"])]
    return Timeline(total_s=total, phases=phases, suites=suites, background=beside or None)


@dataclass
class Recorder:
    """Collects the steps as the reports come: which run-level phases are new since the last report
    (they ran inside it), and each test's settle/expect time and rounds since its last report."""

    steps: list[Step] = field(default_factory=list)
    attributed: set[str] = field(default_factory=set)        # run-level phases already inside a step
    waited: dict[str, tuple[float, int]] = field(default_factory=dict)  # test id -> (waits_s, rounds) counted

    def add(self, test_id: str, suite: str, when: str, duration_s: float, run_phases: Mapping[str, float | None],
            waits_s: float = 0.0, rounds: int = 0) -> Step:
        """One report. `waits_s` and `rounds` are the test record's totals so far; a call gets what
        came since its set-up (waits inside a fixture stay in the set-up)."""
        new = [k for k, v in run_phases.items() if k not in self.attributed and v is not None]
        self.attributed.update(new)
        before_waits, before_rounds = self.waited.get(test_id, (0.0, 0))
        self.waited[test_id] = (waits_s, rounds)
        step = Step(suite=suite, when=when, duration_s=duration_s, nested_s=sum(run_phases[k] for k in new),
                    waits_s=waits_s - before_waits if when == "call" else 0.0, rounds=rounds - before_rounds)
        self.steps.append(step)
        return step
