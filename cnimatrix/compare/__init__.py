"""Cross-CNI comparison: reports/<cni>/summary.json files lined up as comparison.json,
comparison.md (GitHub job summary / PR comment) and index.html (one self-contained page).

`python -m cnimatrix.compare [--reports DIR] [--output DIR] [CNI ...]`; see `write_comparison`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnimatrix.compare import render_html, render_md
from cnimatrix.compare.load import InputError, Run, load_runs
from cnimatrix.compare.model import build, validate
from cnimatrix.results import write_text_atomic

OUTPUTS = ("comparison.json", "comparison.md", "index.html")

__all__ = ["OUTPUTS", "InputError", "Run", "build", "load_runs", "write_comparison"]


def write_comparison(doc: dict[str, Any], output_dir: str | Path) -> list[Path]:
    """Validate the comparison, then write it and its two renderings; returns their paths."""
    validate(doc)
    out = Path(output_dir)
    texts = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n", render_md.render(doc, out), render_html.render(doc, out))
    return [write_text_atomic(out / name, text) for name, text in zip(OUTPUTS, texts)]
