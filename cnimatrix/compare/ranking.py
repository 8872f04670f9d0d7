"""Which CNI is ahead on one perf ratio, said only where the 95% intervals allow it.

A column takes part when its ratio has an interval and no plausibility mark (suspect or noisy:
cnimatrix.perf.plausibility); of two such columns one is called ahead (faster) only when their
intervals do not overlap, otherwise there is no measurable difference. Works on the comparison's
own view of a ratio (cnimatrix.compare.perf: median, min, max, n, ci95, marks), so a comparison.json
made before rankings can be ranked when it is rendered again.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_DIFFERENCE = "no measurable difference here"
NO_INTERVAL = "no interval recorded"
# How "ahead" reads for a figure; faster for throughput and round-trip latency alike.
AHEAD_WORDS = {"udp_jitter_ms": "steadier than"}


def unranked_reason(value: Mapping[str, Any] | None) -> str | None:
    """Why a measured ratio is left out of the ranking (its marks, or no interval), or None when it
    takes part; None also for an unmeasured one (nothing to explain)."""
    if value is None:
        return None
    kinds = list(dict.fromkeys(m["kind"] for m in value.get("marks") or ()))
    if kinds:
        return ", ".join(kinds)
    if not value.get("ci95"):
        return NO_INTERVAL
    return None


def _ahead(a: Mapping[str, Any], b: Mapping[str, Any], better: str) -> bool:
    """a's interval lies wholly on the better side of b's."""
    return a["low"] > b["high"] if better == "higher" else a["high"] < b["low"]


def rank(values: Mapping[str, Mapping[str, Any] | None], better: str) -> dict[str, Any]:
    """comparison.json perf.ratios[].ranking: pairs of columns in column order, [ahead, behind] in
    `faster` or [a, b] in `no_difference`, and `unranked` column -> why."""
    unranked = {c: why for c, v in values.items() if (why := unranked_reason(v))}
    ranked = [c for c, v in values.items() if v is not None and c not in unranked]
    faster, same = [], []
    for i, a in enumerate(ranked):
        for b in ranked[i + 1:]:
            ia, ib = values[a]["ci95"], values[b]["ci95"]
            if _ahead(ia, ib, better):
                faster.append([a, b])
            elif _ahead(ib, ia, better):
                faster.append([b, a])
            else:
                same.append([a, b])
    return {"faster": faster, "no_difference": same, "unranked": unranked}


def verdict(ranking: Mapping[str, Any], figure: str) -> str:
    """The ranking in one line: "cilium faster than flannel; calico vs cilium: no measurable
    difference here; not ranked: kindnet (noisy)"; with one pair, just what it is."""
    word = AHEAD_WORDS.get(figure, "faster than")
    pairs = [f"{a} {word} {b}" for a, b in ranking["faster"]]
    if len(ranking["faster"]) + len(ranking["no_difference"]) == 1 and ranking["no_difference"]:
        pairs.append(NO_DIFFERENCE)
    else:
        pairs += [f"{a} vs {b}: {NO_DIFFERENCE}" for a, b in ranking["no_difference"]]
    if ranking["unranked"]:
        pairs.append("not ranked: " + ", ".join(f"{c} ({why})" for c, why in ranking["unranked"].items()))
    return "; ".join(pairs) or "—"
