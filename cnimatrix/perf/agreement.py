"""Whether two perf runs of one CNI agree: every ratio to the host network that both runs measured,
held interval against interval (issue 30's bar: two back-to-back runs on a quiet host agree within
their intervals on every ratio).

Two ratios agree when their 95% intervals overlap. An interval narrower than RESOLUTION of its median
is widened to it first: a UDP stream at a set rate gives ratios like 1.0002 +- 0.0003, and two such
intervals can miss each other by 0.1% with nothing to say about the datapath.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RESOLUTION = 0.01   # +-1% of the median: below it the figures' own rounding and rate settings decide


@dataclass(frozen=True)
class Pair:
    route: str
    figure: str
    a: Mapping[str, Any] | None   # the comparison's view of a spread: median, ci95 {low, high}, marks
    b: Mapping[str, Any] | None

    @property
    def verdict(self) -> str:
        """"agree", "disagree", or why it cannot be told ("only in a", "no interval in b", ...)."""
        for side, value in (("a", self.a), ("b", self.b)):
            if value is None:
                return f"only in {'b' if side == 'a' else 'a'}"
        for side, value in (("a", self.a), ("b", self.b)):
            if not value.get("ci95"):
                return f"no interval in {side}"
        low_a, high_a = widened(self.a)
        low_b, high_b = widened(self.b)
        return "agree" if low_a <= high_b and low_b <= high_a else "disagree"

    @property
    def marks(self) -> list[str]:
        return sorted({f"{side}: {m['kind']}" for side, v in (("a", self.a), ("b", self.b))
                       for m in (v or {}).get("marks") or ()})


def widened(value: Mapping[str, Any]) -> tuple[float, float]:
    """The interval, at least +-RESOLUTION of the median wide."""
    ci, median = value["ci95"], value["median"]
    floor = abs(median) * RESOLUTION
    return min(ci["low"], median - floor), max(ci["high"], median + floor)


def pairs(a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]]) -> list[Pair]:
    """route -> figure -> spread, for two runs: one Pair per route and figure either measured."""
    out = []
    for route in sorted(set(a) | set(b)):
        figures_a, figures_b = a.get(route) or {}, b.get(route) or {}
        for figure in sorted(set(figures_a) | set(figures_b)):
            out.append(Pair(route, figure, figures_a.get(figure), figures_b.get(figure)))
    return out


def tally(found: Iterable[Pair]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pair in found:
        key = pair.verdict if pair.verdict in ("agree", "disagree") else "not comparable"
        counts[key] = counts.get(key, 0) + 1
    return counts


def agreed(found: Iterable[Pair]) -> bool:
    """Every ratio compared agrees, and there was at least one."""
    verdicts = [p.verdict for p in found]
    return bool(verdicts) and all(v == "agree" for v in verdicts)


def _number(value: Mapping[str, Any] | None) -> str:
    if not value:
        return "-"
    ci = value.get("ci95")
    return f"{value['median']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]" if ci else f"{value['median']:.3f}"


def table(found: Iterable[Pair], names: tuple[str, str] = ("run a", "run b")) -> str:
    """A Markdown table: route, figure, each run's median [95% interval], the verdict and any marks."""
    lines = [f"| route | ratio | {names[0]} | {names[1]} | verdict | marks |", "|---|---|---|---|---|---|"]
    for p in found:
        lines.append(f"| {p.route} | {p.figure} | {_number(p.a)} | {_number(p.b)} | {p.verdict} | {', '.join(p.marks)} |")
    return "\n".join(lines)
