"""The study's uncertainty, computed one way everywhere (design README, "Statistics"): percentile bootstrap
intervals over test faces, and paired differences on the same faces."""

from __future__ import annotations

import numpy as np

LEVEL = 0.95   # the confidence level of every interval in the study


def bootstrap_ci(values, *, level: float = LEVEL, resamples: int = 2000, seed: int = 0,
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



def seeds_and_faces_ci(values, *, level: float = LEVEL, resamples: int = 2000, seed: int = 0) -> list[float]:
    """Two-level percentile bootstrap interval ``[lo, hi]`` of the mean of ``values (S seeds, N faces)``: seeds
    and faces are resampled independently, so the interval carries the spread over training seeds as well as over
    test faces."""
    values = np.asarray(values, np.float64)
    if values.ndim != 2 or values.shape[1] < 2 or not np.isfinite(values).all():
        raise ValueError(f"need finite (seeds, faces >= 2) values, got shape {values.shape}")
    rng = np.random.default_rng(seed)
    n_seeds, n_faces = values.shape
    seeds = rng.integers(0, n_seeds, (resamples, n_seeds))
    faces = rng.integers(0, n_faces, (resamples, n_faces))
    stats = np.array([values[np.ix_(s, f)].mean() for s, f in zip(seeds, faces)])
    tail = (1 - level) / 2
    return [float(np.quantile(stats, tail)), float(np.quantile(stats, 1 - tail))]


def mean_over_seeds(values, **kwargs) -> dict[str, float | list[float]]:
    """A trained variant's scores ``(S seeds, N faces)``: ``mean``, ``std`` of the per-seed means, ``ci95``
    (:func:`seeds_and_faces_ci`) and ``per_seed`` means."""
    values = np.asarray(values, np.float64)
    ci = seeds_and_faces_ci(values, **kwargs)          # checks the (seeds, faces) shape
    per_seed = values.mean(1)
    return {"mean": float(values.mean()), "std": float(per_seed.std()), "ci95": ci,
            "per_seed": [float(v) for v in per_seed]}


def paired_difference_over_seeds(a, b, **kwargs) -> dict[str, float | bool | list[float]]:
    """Mean of ``a − b`` for scores ``(S, N)`` of two trained variants paired by training seed (row) and test
    face (column), with its :func:`seeds_and_faces_ci` interval; ``detectable`` when that excludes 0;
    ``per_seed``: each seed's mean difference."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must have the same shape, got {a.shape} and {b.shape}")
    diff = a - b
    ci = seeds_and_faces_ci(diff, **kwargs)
    return {"mean": float(diff.mean()), "ci95": ci, "detectable": bool(ci[0] > 0 or ci[1] < 0),
            "per_seed": [float(d) for d in diff.mean(1)]}


def component_verdict(without_minus_full: dict) -> str:
    """An ablation row's verdict from the paired difference (variant without the component − full model) of an
    error metric (lower is better): removing it raises the error detectably → the component "helps"."""
    if not without_minus_full["detectable"]:
        return "no effect detectable at this budget"
    return "helps" if without_minus_full["mean"] > 0 else "hurts"
