"""The study's uncertainty, computed one way everywhere (design README, "Statistics"): percentile bootstrap
intervals over test faces, and paired differences on the same faces."""

from __future__ import annotations

import numpy as np


def bootstrap_ci(values, *, level: float = 0.95, resamples: int = 2000, seed: int = 0,
                 statistic=np.mean) -> list[float]:
    """Percentile bootstrap interval ``[lo, hi]`` of ``statistic`` over ``values (N,)`` (NaNs dropped)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 finite values, got {len(values)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(values), (resamples, len(values)))
    stats = np.apply_along_axis(statistic, 1, values[draws]) if statistic is not np.mean else values[draws].mean(1)
    tail = (1 - level) / 2
    return [float(np.quantile(stats, tail)), float(np.quantile(stats, 1 - tail))]


def paired_difference(a, b, **kwargs) -> dict[str, float | list[float]]:
    """Mean of ``a − b`` over the same items with its bootstrap interval; ``detectable`` when it excludes 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values must have the same shape, got {a.shape} and {b.shape}")
    diff = a - b
    ci = bootstrap_ci(diff, **kwargs)
    return {"mean": float(np.nanmean(diff)), "ci95": ci, "detectable": bool(ci[0] > 0 or ci[1] < 0)}
