"""The suites `cnimatrix run` runs, in run order (the reports order them by results.SUITES)."""
from __future__ import annotations

SUITES = ("podnet", "service", "dns", "netpol", "ingress", "gateway")   # what a run runs by default
# Opt-in suites: only when asked for (`--suite perf`, `make conformance SUITES=perf`); `make
# matrix` runs them too. perf takes minutes of the machine to itself.
OPT_IN_SUITES = ("perf",)
ALL_SUITES = SUITES + OPT_IN_SUITES
