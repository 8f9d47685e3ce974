"""Numbers as the book writes them: one interval style for every chapter and the claims (infrastructure, so that
the claims' domain code and the figures share it)."""

from __future__ import annotations

import math


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


def percent_interval(share: dict) -> str:
    """A share ``{"mean", "ci95"}`` (fractions, e.g. :func:`~facerecon.comparison.scoring.relative_reduction`'s)
    as ``"23.5 % [19.7, 27.3]"``: percent to one decimal, the interval in brackets."""
    lo, hi = share["ci95"]
    return f"{100 * share['mean']:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
