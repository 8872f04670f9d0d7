"""The metrics records' JSON Schema fragments in summary.schema.json, generated from the records.

    .venv/bin/python -m cnimatrix.results.metrics.schema [--write]

Without --write: exit 1 (and say so) when the checked-in schema is not what the records generate.
With it: rewrite the generated parts, which are the `$defs` marked GENERATED, `metrics` at the top
level and in a test, and the per-suite conditions that pick a test's metrics record by its suite.
"""
from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from cnimatrix.results.metrics import TEST_METRICS, RunMetrics, TestMetrics
from cnimatrix.results.typed import schema_defs

GENERATED = "generated from cnimatrix.results.metrics: python -m cnimatrix.results.metrics.schema --write"
SCHEMA_FILE = "summary.schema.json"


def fragments() -> dict[str, dict[str, Any]]:
    """$defs name -> fragment of every metrics record, each marked GENERATED."""
    defs = schema_defs(RunMetrics, TestMetrics, *TEST_METRICS.values())
    return {name: {"$comment": GENERATED, **fragment} for name, fragment in defs.items()}


def _picks_metrics(condition: Any) -> bool:
    return isinstance(condition, dict) and "metrics" in condition.get("then", {}).get("properties", {})


def synced(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (a summary schema) with its generated parts made anew from the records."""
    doc = json.loads(json.dumps(schema))
    defs = {name: d for name, d in doc["$defs"].items() if not (isinstance(d, dict) and d.get("$comment") == GENERATED)}
    doc["properties"]["metrics"] = {
        "description": "Run-level measurements, one block per suite (and host, addons, breakage, service_programmed_s); "
                       "every block and key is declared in cnimatrix/results/metrics.",
        "$ref": f"#/$defs/{RunMetrics.schema_name()}"}
    test = defs["test"]
    test["properties"]["metrics"] = {
        "description": "Optional measurements taken by this test: settle_s for every suite, then its suite's own keys "
                       "(declared in cnimatrix/results/metrics; further keys are kept as written).",
        "$ref": f"#/$defs/{TestMetrics.schema_name()}"}
    conditions = [c for c in test.get("allOf", []) if not _picks_metrics(c)]
    conditions += [{"if": {"properties": {"suite": {"const": suite}}, "required": ["suite"]},
                    "then": {"properties": {"metrics": {"$ref": f"#/$defs/{record.schema_name()}"}}}}
                   for suite, record in TEST_METRICS.items()]
    test["allOf"] = conditions
    doc["$defs"] = {**defs, **fragments()}
    return doc


def text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(str(resources.files("cnimatrix.results").joinpath(SCHEMA_FILE)))
    current = path.read_text(encoding="utf-8")
    wanted = text(synced(json.loads(current)))
    if current == wanted:
        print(f"{path}: the metrics fragments are up to date")
        return 0
    if "--write" in argv:
        path.write_text(wanted, encoding="utf-8")
        print(f"{path}: metrics fragments rewritten")
        return 0
    print(f"{path}: the metrics fragments differ from the records; run with --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
