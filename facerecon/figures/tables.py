"""Markdown tables for the book (rendered by MyST; no pandas needed)."""

from __future__ import annotations

import math

from ..study.formatting import interval_cell, percent_interval  # noqa: F401 (the chapters import them from here)


def format_cell(value, digits: int = 4) -> str:
    """Numbers to ``digits`` significant digits (NaN as an en dash), everything else as ``str``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}" if isinstance(value, float) else f"{value:,}"


def choices_text(values: dict, digits: int = 4) -> str:
    """A validation sweep ``{setting: score}`` as ``"setting: score, ..."`` (scores to ``digits`` significant
    digits), instead of a dict's repr with 17-digit floats."""
    return ", ".join(f"{k}: {format_cell(float(v), digits)}" for k, v in values.items())


def markdown_table(header: list[str], rows: list[list], digits: int = 4) -> str:
    """A MyST/GitHub markdown table of ``rows`` under ``header``. A ``|`` inside a header or cell (``|yaw|``) is
    escaped: unescaped, it splits the cell and the whole table renders as text."""
    cells = lambda values: "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"  # noqa: E731
    lines = [cells([str(h) for h in header]), "|" + "---|" * len(header)]
    lines += [cells([format_cell(c, digits) for c in row]) for row in rows]
    return "\n".join(lines)
