"""Figures of bench/results records as one-line text for docs/measurements.md."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnimatrix.results.figures import finite_number

NOT_RECORDED = "not recorded"
Record = Mapping[str, Any]


def number(value: Any) -> str:
    """A figure as people write it: no trailing zeros, at most 3 significant decimals."""
    if finite_number(value) is None:
        return "—" if value is None else str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def seconds(value: Any) -> str:
    if finite_number(value) is None:
        return number(value)
    return f"{number(value)} s" + (f" ({value / 60:.1f} min)" if value >= 120 else "")


def flat(value: Any) -> str:
    """Any JSON value on one line, for fields no table knows."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {flat(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(flat(v) for v in value) or "—"
    return number(value)


def host_load(record: Record) -> str:
    """The host's load as the record has it (three shapes are written today), or 'not recorded'."""
    host = record.get("host") if isinstance(record.get("host"), Mapping) else {}
    cores = host.get("cpus", record.get("cpus"))
    on = f" on {cores} cores" if isinstance(cores, int) else ""
    if finite_number(host.get("load_1m_mean")) is not None:
        peak = f", max {number(host['load_1m_max'])}" if finite_number(host.get("load_1m_max")) is not None else ""
        return f"mean {number(host['load_1m_mean'])}{peak}{on}"
    start, end = host.get("load_at_start"), host.get("load_at_end")
    if isinstance(start, list) and isinstance(end, list) and start and end:
        return f"{number(start[0])} at start, {number(end[0])} at end (1 min){on}"
    if finite_number(record.get("host_load_1m_mean")) is not None:
        return f"mean {number(record['host_load_1m_mean'])}{on}"
    return NOT_RECORDED


def extras(record: Record, shown: Sequence[str]) -> str:
    """The fields a table has no column for, so that nothing in a record goes unseen."""
    rest = [f"{key}: {flat(value)}" for key, value in record.items() if key not in shown and value not in (None, {}, [])]
    return "; ".join(rest)
