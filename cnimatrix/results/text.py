"""Cutting text to what a report cell holds: one line, at most so many characters."""
from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def one_line(text: str, limit: int) -> str:
    """The first non-blank line of `text`, whitespace collapsed, clipped to `limit` characters."""
    line = next((" ".join(part.split()) for part in text.splitlines() if part.strip()), "")
    return clip(line, limit)
