"""tools/soak.py's record of repeated runs (reports/<cni>/soak.json) as typed records.

soak.json is never validated when it is written, so a reader checks it first (`problem`): the
counts the comparison sums must be there; keys the records do not name are kept as written.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from cnimatrix.results.summary import raise_first_schema_error
from cnimatrix.results.typed import Record, fact, rest, schema_defs

# per scenario: how many of its runs ended each way (not_run: interrupted or never reached)
COUNTS = ("passed", "flaky", "failed", "skipped", "not_run")


def _count(description: str):
    return fact(description, minimum=0, required=True)


@dataclass(frozen=True)
class SoakFailure(Record):
    """A distinct failure of a scenario (its first line), and the run it first happened in."""

    run: int | None = fact("The run (from 1).", minimum=0)
    message: str | None = fact("The failure's first line.")


@dataclass(frozen=True)
class SoakScenario(Record):
    """One scenario over the soak's runs."""

    suite: str | None = fact("Its suite.")
    title: str | None = fact("Its title.")
    runs: int | None = _count("Runs that reported it.")
    passed: int | None = _count("Runs it passed in at once.")
    flaky: int | None = _count("Runs it passed in only after retries.")
    failed: int | None = _count("Runs it failed or errored in.")
    skipped: int | None = _count("Runs it was skipped or not enforced in.")
    not_run: int | None = _count("Runs it did not run in.")
    failures: list[SoakFailure] | None = fact("Up to three distinct failures.")
    extra: dict[str, Any] | None = rest("Further keys, kept as written.")


@dataclass(frozen=True)
class SoakRun(Record):
    """One run of the soak."""

    run: int | None = fact("The run (from 1).", minimum=0)
    exit: int | None = fact("The run's exit code.")
    seconds: float | None = fact("Its wall time.", minimum=0)
    status: str | None = fact("Its summary's run status, or 'no summary'.")
    reason: str | None = fact("Its summary's run reason.")
    counts: dict[str, int] | None = fact("Its summary's counts.")
    host_load_1m: list[float | None] | None = fact("The host's 1-minute load during the run: mean, max.")
    extra: dict[str, Any] | None = rest("Further keys, kept as written.")


@dataclass(frozen=True)
class SoakRecord(Record):
    """reports/<cni>/soak.json: the suites run N times on one healthy cluster, tallied per scenario."""

    cni: str | None = fact("The CNI soaked.")
    cluster: str | None = fact("The kept cluster the runs shared.")
    runs_planned: int | None = _count("Runs asked for.")
    runs_done: int | None = _count("Runs made.")
    started_at: str | None = fact("When the soak started (RFC 3339).")
    finished_at: str | None = fact("When it finished.")
    stopped_by: str | None = fact("The signal that stopped it early; null when it ran to the end.", nullable=True)
    concurrency: int | None = fact("The --concurrency every run was given (1: one scenario at a time); null: each run's default.",
                                   nullable=True, minimum=1)
    per_run: list[SoakRun] | None = fact("Each run, in order.")
    scenarios: dict[str, SoakScenario] | None = fact("Test id -> its tally.", required=True)
    totals: dict[str, int] | None = fact("Scenario-runs by outcome.")
    flaky_scenarios: list[str] | None = fact("Test ids that were flaky at least once.")
    failing_scenarios: list[str] | None = fact("Test ids that failed at least once.")
    extra: dict[str, Any] | None = rest("Further keys, kept as written.")


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator({"$defs": schema_defs(SoakRecord), "$ref": f"#/$defs/{SoakRecord.schema_name()}"})


def problem(doc: Any) -> str | None:
    """Why `doc` is not a soak record the comparison can read (one line), or None."""
    try:
        raise_first_schema_error(_validator(), doc, "soak record")
    except ValueError as exc:
        return str(exc)
    return None
