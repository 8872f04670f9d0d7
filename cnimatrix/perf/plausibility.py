"""Plausibility marks on the datapath figures: what a reader (and the comparison) should not rank.

- suspect: the figure cannot be right as measured. A route through the CNI more than 10% faster
  than its own host network (a pod's traffic rides on the node's stack, so the baseline was held
  back by something else), or a hostNetwork baseline that moved by more than 2x between repetitions
  (the ratio then divides by a moving target).
- noisy: the host was overloaded through the datapath phase (1-minute load above its core count plus
  the measurement's own two tasks for more than a fifth of the phase): the figure may be right, but it
  says more about the host than the CNI. The two: a throughput test keeps its client and its server
  runnable the whole time, so on this 2-core host a run with nothing else beside it sat at load 2.3-3.2
  (calico, 2026-12-07); against the bare core count every figure measured here would be noisy.

A mark is {"kind": "suspect" | "noisy", "reason": one line}.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from cnimatrix import hostload
from cnimatrix.perf.datapath import FIGURES

SUSPECT, NOISY = "suspect", "noisy"
RATIO_CEILING = 1.1        # a throughput ratio above this to the host network is suspect
BASELINE_SWING = 2.0       # a baseline whose largest repetition is more than this times its smallest
OVERLOADED_SHARE = 0.2     # noisy when the load was above the limit for more than this share
OWN_TASKS = 2              # the measured pair (client and server), runnable through a throughput test
THROUGHPUT_FIGURES = tuple(name for name, (_, unit, _) in FIGURES.items() if unit == "Gbit/s")


def mark(kind: str, reason: str) -> dict[str, str]:
    return {"kind": kind, "reason": reason}


def faster_than_host(figure: str, ratio_median: float) -> dict[str, str] | None:
    """suspect when a throughput ratio's median is above 1.1 (None for latency, jitter and plausible ratios)."""
    if figure not in THROUGHPUT_FIGURES or ratio_median <= RATIO_CEILING:
        return None
    return mark(SUSPECT, f"{FIGURES[figure][0]} at {ratio_median:.2f}x the host network's (above {RATIO_CEILING:g}x): "
                         "traffic through the CNI cannot outrun the node's own stack")


def baseline_moved(figure: str, baseline_values: Sequence[float | None], whose: str = "the hostNetwork baseline's") -> dict[str, str] | None:
    """suspect when the baseline's largest repetition is more than 2x its smallest (only positive
    values compare: a zero has no ratio)."""
    kept = [float(v) for v in baseline_values if v is not None and math.isfinite(v) and v > 0]
    if len(kept) < 2 or max(kept) <= BASELINE_SWING * min(kept):
        return None
    label, unit, _ = FIGURES[figure]
    return mark(SUSPECT, f"{whose} {label} moved {max(kept) / min(kept):.1f}x between repetitions "
                         f"({min(kept):.3g}-{max(kept):.3g} {unit})")


def host_load(samples: Sequence[float], cores: int) -> dict[str, float | int]:
    """metrics.perf.datapath.load: the 1-minute load samples of the phase against the core count and
    against the limit (cores + OWN_TASKS)."""
    if not samples:
        return {"cpus": cores, "samples": 0}
    limit = cores + OWN_TASKS
    return {"cpus": cores, "samples": len(samples), "load_1m_max": round(max(samples), 2),
            "above_cores_share": hostload.share_above(list(samples), cores), "limit": limit,
            "above_limit_share": hostload.share_above(list(samples), limit)}


def overloaded_host(load: Mapping[str, float | int]) -> dict[str, str] | None:
    """noisy when the load was above the limit for more than a fifth of the samples (a record made
    before the limit: above the core count)."""
    share = load.get("above_limit_share", load.get("above_cores_share"))
    if share is None or share <= OVERLOADED_SHARE:
        return None
    above = (f"{load['limit']:g} ({load['cpus']} cores + the measured pair)" if "limit" in load
             else f"its {load['cpus']} cores")
    return mark(NOISY, f"host load above {above} for {share:.0%} of the datapath phase "
                       f"(more than {OVERLOADED_SHARE:.0%}; max {load['load_1m_max']:g})")


def in_words(spreads: Mapping[str, Mapping]) -> str | None:
    """The marks on a route's spreads (figure -> spread) in one line, each distinct reason once."""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for figure, summary in spreads.items():
        for found in summary.get("marks") or ():
            by_reason.setdefault((found["kind"], found["reason"]), []).append(figure)
    if not by_reason:
        return None
    return "; ".join(f"{kind} ({', '.join(figures)}): {reason}" for (kind, reason), figures in by_reason.items())
