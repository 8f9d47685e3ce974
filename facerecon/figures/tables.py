"""Markdown tables for the book (rendered by MyST; no pandas needed)."""

from __future__ import annotations

import math


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


def interval_cell(mean: float, lo: float | None, hi: float | None, signed: bool = False, digits: int = 2,
                  decimals: int | None = None) -> str:
    """``"m [lo, hi]"`` in fixed point, the same style everywhere: ``decimals`` (a table column's), or by default
    enough to show ``digits`` significant digits of the interval's half-width (so ``+0.00013`` and ``-1.77e-05``
    become ``+0.000130 [...]`` and ``-0.000018 [...]``); never ``-0.0…``; without an interval (one seed: ``None``),
    the mean and "one seed"."""
    finite = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
    half = (hi - lo) / 2 if finite else 0.0
    scale = half if half > 0 else abs(mean)
    if decimals is None:
        decimals = max(0, digits - 1 - math.floor(math.log10(scale))) if scale > 0 else 0
    number = lambda x: f"{round(x, decimals) + 0.0:{'+' if signed else ''}.{decimals}f}"  # noqa: E731 (+0.0: no -0)
    if not finite:
        return f"{number(mean)} (no interval: one seed)"
    return f"{number(mean)} [{number(lo)}, {number(hi)}]"


def markdown_table(header: list[str], rows: list[list], digits: int = 4) -> str:
    """A MyST/GitHub markdown table of ``rows`` under ``header``. A ``|`` inside a header or cell (``|yaw|``) is
    escaped: unescaped, it splits the cell and the whole table renders as text."""
    cells = lambda values: "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"  # noqa: E731
    lines = [cells([str(h) for h in header]), "|" + "---|" * len(header)]
    lines += [cells([format_cell(c, digits) for c in row]) for row in rows]
    return "\n".join(lines)
