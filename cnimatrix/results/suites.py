"""The suites, once: their names in report order, the order a run takes them, and which run only when asked for."""
from __future__ import annotations

SUITES = ("service", "dns", "netpol", "ingress", "gateway", "podnet", "day2", "perf")   # report order (summary.json's enum)
# A run starts with the pod network (the basics the others build on) and ends with the opt-in suites.
RUN_ORDER = ("podnet", "service", "dns", "netpol", "ingress", "gateway", "day2", "perf")
# Only when asked for (`--suite perf`); `make matrix` runs them too. perf takes minutes of the machine to itself.
OPT_IN_SUITES = ("perf",)
DEFAULT_SUITES = tuple(s for s in RUN_ORDER if s not in OPT_IN_SUITES)   # what a run runs without --suite
