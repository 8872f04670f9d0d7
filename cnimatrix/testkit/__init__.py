"""The testkit every suite is written on: one convergence-and-assert path (`expect`, and `settle`
for a verdict beyond pass/fail), one timeout table, one way a declared gap is run and reported
(`declared`), a closed capability vocabulary, the run's state (`run`), and the pytest plugin.

A scenario is a declaration: its title (`@pytest.mark.title`), the capabilities it needs
(`@pytest.mark.requires`), the workloads its suite conftest applies, and checks made with `expect`.
docs/writing-a-suite.md shows the pattern.
"""
from cnimatrix.testkit.capabilities import VOCABULARY, UnknownCapability, check_known
from cnimatrix.testkit.expect import expect, settle
from cnimatrix.testkit.timeouts import TIMEOUTS, deadline

__all__ = ["VOCABULARY", "UnknownCapability", "check_known", "expect", "settle", "TIMEOUTS", "deadline"]
