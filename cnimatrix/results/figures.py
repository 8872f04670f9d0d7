"""Small figure helpers the readers of summaries share (the comparison, bench/)."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any


def finite_number(value: Any) -> float | None:
    """`value` as a float when it is a finite JSON number (not a bool), else None."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def elapsed_s(started_at: str, finished_at: str) -> float | None:
    """Seconds between two RFC 3339 timestamps, to a tenth; None when unreadable or negative."""
    try:
        seconds = (datetime.fromisoformat(finished_at) - datetime.fromisoformat(started_at)).total_seconds()
    except ValueError:
        return None
    return round(seconds, 1) if seconds >= 0 else None
