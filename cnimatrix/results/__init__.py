"""Per-CNI run results (summary.json) that the comparison report merges."""

from cnimatrix.results.summary import (
    OUTCOMES,
    SCHEMA_VERSION,
    SUITES,
    RunSummary,
    TestResult,
    count_outcomes,
    read_summary,
    rfc3339,
    schema,
    validate,
    write_summary,
)

__all__ = [
    "OUTCOMES",
    "SCHEMA_VERSION",
    "SUITES",
    "RunSummary",
    "TestResult",
    "count_outcomes",
    "read_summary",
    "rfc3339",
    "schema",
    "validate",
    "write_summary",
]
