"""The host's load while a run goes on. On a small shared host (2 cores here) a run beside other
clusters sees probes starved of CPU, and timing-sensitive checks can fail for that reason alone:
every summary says how loaded the host was, and each failed scenario carries the load when it ended,
so that a reader can tell such a failure from the CNI's."""
from __future__ import annotations

import os
import threading

SAMPLE_EVERY_S = 5.0
# Above this many runnable tasks per core the probes' own timeouts (about a second) stop meaning
# what they say: a connection can wait that long for a CPU.
OVERLOADED_PER_CPU = 4.0


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def overloaded(load: float, cores: int) -> bool:
    return load > OVERLOADED_PER_CPU * cores


def share_above(samples: list[float], limit: float) -> float:
    """The share of the samples above `limit` (samples must not be empty)."""
    return round(sum(1 for s in samples if s > limit) / len(samples), 3)


def summarize(samples: list[float], cores: int) -> dict:
    """What metrics.host says: cores, the 1-minute load average's mean and max over the run, and the
    share of the run spent overloaded."""
    if not samples:
        return {"cpus": cores, "samples": 0}
    return {"cpus": cores, "samples": len(samples), "load_1m_mean": round(sum(samples) / len(samples), 2),
            "load_1m_max": round(max(samples), 2), "overloaded_share": share_above(samples, OVERLOADED_PER_CPU * cores),
            "overloaded_above": OVERLOADED_PER_CPU * cores}


def warning(load: float, cores: int) -> str | None:
    if not overloaded(load, cores):
        return None
    return (f"host load {load:.0f} on {cores} core(s) (> {OVERLOADED_PER_CPU * cores:.0f}): probes may be starved "
            "of CPU and timing-sensitive checks fail for that reason; metrics.host in summary.json records it")


class Sampler:
    """Samples the 1-minute load average in a daemon thread until stopped."""

    def __init__(self, every_s: float = SAMPLE_EVERY_S):
        self.every_s, self.samples = every_s, [load_1m()]
        self.also: list = []      # more readings on the same beat (a cluster's footprint), each a callable
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostload", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples.append(load_1m())
            for reading in list(self.also):
                reading()

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(timeout=1)
        self.samples.append(load_1m())
        return summarize(self.samples, cpus())
