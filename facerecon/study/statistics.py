"""The study's uncertainty, computed one way everywhere (design README, "Statistics"): percentile bootstrap
intervals over test faces and paired differences on the same faces; for trained variants, t-intervals over
training seeds (:func:`seeds_and_faces_ci`)."""

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



def seeds_and_faces_ci(values, *, level: float = LEVEL) -> list[float]:
    """Interval ``[lo, hi]`` of the mean of ``values (S seeds, N faces)`` of a trained variant, over training seeds
    and test faces: ``mean ± t_{S−1} · √(se_seeds² + se_faces²)``, where ``se_seeds`` is the standard error of the
    per-seed means and ``se_faces`` that of the per-face means (averaged over seeds). ``[nan, nan]`` with one seed.

    Why a t-interval and not a bootstrap over seeds: with 3 seeds a bootstrap has 10 distinct resamples and cannot
    contain 0 whenever all three seeds agree in sign, so it called 13–26 % of no-effect differences "detectable"
    (``tests/test_statistics.py`` simulates it). The t quantile with ``S − 1`` degrees of freedom pays for
    estimating the seed spread from so few seeds (4.30 for 3 seeds at 95 %). ``se_faces`` adds what the per-seed
    means cannot show: a variant that differs on these faces in the same way for every seed; with independent
    face noise it counts that noise twice (a slightly conservative interval)."""
    values = np.asarray(values, np.float64)
    if values.ndim != 2 or values.shape[1] < 2 or not np.isfinite(values).all():
        raise ValueError(f"need finite (seeds, faces >= 2) values, got shape {values.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n_seeds, n_faces = values.shape
    if n_seeds < 2:
        return [float("nan"), float("nan")]
    from scipy.stats import t

    se_seeds = values.mean(1).std(ddof=1) / np.sqrt(n_seeds)
    se_faces = values.mean(0).std(ddof=1) / np.sqrt(n_faces)
    half = float(t.ppf(0.5 + level / 2, n_seeds - 1) * np.hypot(se_seeds, se_faces))
    mean = float(values.mean())
    return [mean - half, mean + half]


def mean_over_seeds(values, *, seed: int | None = None, level: float = LEVEL) -> dict[str, float | list[float]]:
    """A trained variant's scores ``(S seeds, N faces)``: ``mean``, ``std`` of the per-seed means, ``ci95``
    (:func:`seeds_and_faces_ci`) and ``per_seed`` means. ``seed`` has no effect (see
    :func:`paired_difference_over_seeds`)."""
    values = np.asarray(values, np.float64)
    ci = seeds_and_faces_ci(values, level=level)       # checks the (seeds, faces) shape
    per_seed = values.mean(1)
    return {"mean": float(values.mean()), "std": float(per_seed.std()), "ci95": ci,
            "per_seed": [float(v) for v in per_seed]}


def paired_difference_over_seeds(a, b, *, seed: int | None = None, level: float = LEVEL
                                 ) -> dict[str, float | bool | list[float]]:
    """Mean of ``a − b`` for scores ``(S, N)`` of two trained variants paired by training seed (row) and test
    face (column), with its :func:`seeds_and_faces_ci` interval; ``detectable`` when that excludes 0 (never with
    one seed); ``per_seed``: each seed's mean difference; ``smallest_detectable``: the interval's half-width, the
    smallest mean difference that this spread and seed count could call detectable. ``seed`` is accepted for the
    callers of the former bootstrap rule and has no effect: the interval is not random."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must have the same shape, got {a.shape} and {b.shape}")
    diff = a - b
    ci = seeds_and_faces_ci(diff, level=level)
    mean = float(diff.mean())
    return {"mean": mean, "ci95": ci, "detectable": bool(ci[0] > 0 or ci[1] < 0),
            "smallest_detectable": float(ci[1] - mean), "per_seed": [float(d) for d in diff.mean(1)]}


def component_verdict(without_minus_full: dict) -> str:
    """An ablation row's verdict from the paired difference (variant without the component − full model) of an
    error metric (lower is better): removing it raises the error detectably → the component "helps"."""
    if not without_minus_full["detectable"]:
        return "no effect detectable at this budget"
    return "helps" if without_minus_full["mean"] > 0 else "hurts"
