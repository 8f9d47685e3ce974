"""Scores per test face and the Table-3 rows built from them (metrics.md; design README, "Statistics").

:func:`score_faces` runs a predictor on test samples and keeps every face's numbers, so that any row can carry a
bootstrap interval over faces and any two rows a paired difference on the same faces:

- ``cd``, ``emd``: Chamfer (squared, both ways) and exact EMD **per point** (the study's convention: ``points``
  surface samples of each mesh in the metric frame, crop / 113 with each mesh's mean depth removed);
- ``nme2d``, ``nme3d``: 68-landmark NME ×100, normalized by √(w·h) of the GT 2D landmark box; in 3D both
  landmark sets have their mean depth removed (depth offsets are arbitrary), NaN where the GT has no depth;
- ``abs_yaw``: |yaw| in degrees (the bins [0, 30], (30, 60], (60, 90]); ``ms``: the predictor's wall time.
"""

from __future__ import annotations

import time
from typing import Iterable

import numpy as np
import torch

from ..data.synthface import yaw_bin_masks
from ..metrics import landmark_nme, metric_points, surface_distances
from ..study.statistics import bootstrap_ci, paired_difference
from .predictors import Predictor

METRICS = ("cd", "emd", "nme2d", "nme3d")


def _centred_depth(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64).copy()
    points[:, 2] -= points[:, 2].mean()
    return points


def score_faces(predict: Predictor, samples: Iterable[dict], *, gt_faces: np.ndarray, points: int = 1024,
                seed: int = 0, workers: int | None = None) -> dict[str, np.ndarray]:
    """Per-face arrays ``(N,)`` for ``cd``, ``emd``, ``nme2d``, ``nme3d``, ``abs_yaw``, ``ms``.

    ``samples``: dataset samples with a GT mesh (``vertices`` on ``gt_faces``), whose ``landmarks2d`` are what
    the predictor may use. The GT landmarks for NME are ``landmarks3d`` (the dataset's, never the input's).
    Surface samples are drawn from one seeded stream, so two predictors scored on the same samples with the same
    seed see the same GT points. The surface distances (exact EMD dominates: ~0.13 s per face at 1,024 points)
    run after all predictions in ``workers`` threads (:func:`~facerecon.metrics.surface_distances`)."""
    gen = torch.Generator().manual_seed(seed)
    rows, surfaces = [], []
    for sample in samples:
        start = time.perf_counter()
        pred = predict(sample)
        ms = 1000 * (time.perf_counter() - start)
        gt_points = metric_points(sample["vertices"], gt_faces, points, gen)
        surfaces.append((metric_points(pred.vertices, pred.faces, points, gen), gt_points))
        truth = np.asarray(sample["landmarks3d"], np.float64)
        nme3d = (landmark_nme(_centred_depth(pred.landmarks), _centred_depth(truth), dims=3)
                 if np.isfinite(truth[:, 2]).all() else np.nan)
        rows.append((landmark_nme(pred.landmarks[:, :2], truth[:, :2]), nme3d,
                     abs(float(np.degrees(sample["pose"][1]))), ms))
    if not rows:
        raise ValueError("score_faces got no samples")
    rows = [(*d, *r) for d, r in zip(surface_distances(surfaces, "mean", workers), rows)]
    names = (*METRICS, "abs_yaw", "ms")
    return {name: np.array(column, np.float64) for name, column in zip(names, zip(*rows))}


def summarize(values: np.ndarray, seed: int = 0) -> dict:
    """``{"mean", "ci95"}`` of the finite ``values`` (bootstrap over them; NaN interval below two values)."""
    finite = values[np.isfinite(values)]
    if len(finite) < 2:
        return {"mean": float(finite.mean()) if len(finite) else float("nan"), "ci95": [float("nan")] * 2}
    return {"mean": float(finite.mean()), "ci95": bootstrap_ci(finite, seed=seed)}


def table_row(method: str, setting: str, dataset: str, scores: dict[str, np.ndarray], *, seed: int = 0) -> dict:
    """One row of ``results["table"]``: ``{"method", "setting", "dataset", "n", "cd": {"mean", "ci95"}, "emd",
    "nme2d", "nme3d", "ms_per_image", "by_yaw": {bin: {"n", "cd", "emd", "nme2d", "nme3d"}}}``."""
    row = {"method": method, "setting": setting, "dataset": dataset, "n": int(len(scores["cd"]))}
    row.update({m: summarize(scores[m], seed) for m in METRICS})
    row["ms_per_image"] = float(np.median(scores["ms"]))
    row["by_yaw"] = {label: {"n": int(mask.sum()), **{m: summarize(scores[m][mask], seed) for m in METRICS}}
                     for label, mask in yaw_bin_masks(scores["abs_yaw"]).items()}
    return row


def paired_to(reference: dict[str, np.ndarray], scores: dict[str, np.ndarray], *, seed: int = 0) -> dict:
    """``scores − reference`` per metric on the same faces: mean, 95 % interval, ``detectable``."""
    if not np.array_equal(reference["abs_yaw"], scores["abs_yaw"]):
        raise ValueError("paired differences need the same test faces in the same order")
    out = {}
    for m in METRICS:
        both = np.isfinite(reference[m]) & np.isfinite(scores[m])
        out[m] = (paired_difference(scores[m][both], reference[m][both], seed=seed) if both.sum() > 1
                  else {"mean": float("nan"), "ci95": [float("nan")] * 2, "detectable": False})
    return out


def choose_on_validation(predictors: dict, validation: list[dict], *, gt_faces: np.ndarray, points: int = 512,
                         seed: int = 0) -> tuple[object, dict]:
    """The key of ``predictors`` with the lowest mean CD per point on ``validation`` samples (never the test
    split), and every key's mean validation CD."""
    if not predictors:
        raise ValueError("choose_on_validation got no candidates")
    means = {key: float(score_faces(p, validation, gt_faces=gt_faces, points=points, seed=seed)["cd"].mean())
             for key, p in predictors.items()}
    return min(means, key=means.get), means


def relative_reduction(reference: np.ndarray, scores: np.ndarray, *, floor: np.ndarray | None = None, seed: int = 0,
                       resamples: int = 2000) -> dict:
    """How much lower ``scores (N,)`` are than ``reference (N,)`` on the same faces, as a fraction of the
    reference: ``1 − mean(scores) / mean(reference)``; given ``floor (N,)`` (the sampling floor: the GT scored
    against itself resampled), as a fraction of what lies above the floor, ``(mean(reference) − mean(scores)) /
    (mean(reference) − mean(floor))``: the share of the removable error that ``scores`` remove. A bootstrap
    interval resamples faces (all columns together). ``{"mean", "ci95"}``; positive: ``scores`` are lower."""
    reference, scores = np.asarray(reference, np.float64), np.asarray(scores, np.float64)
    if reference.shape != scores.shape or reference.ndim != 1 or len(reference) < 2:
        raise ValueError(f"need two (N >= 2,) arrays over the same faces, got {reference.shape} and {scores.shape}")
    base = np.zeros_like(reference) if floor is None else np.asarray(floor, np.float64)
    if base.shape != reference.shape:
        raise ValueError(f"the floor must be scored on the same faces: {base.shape} against {reference.shape}")
    faces = np.arange(len(reference), dtype=np.float64)   # resampled as indices, so the columns move together

    def reduction(picked: np.ndarray) -> float:
        index = picked.astype(np.int64)
        return (reference[index].mean() - scores[index].mean()) / (reference[index].mean() - base[index].mean())
    return {"mean": float(reduction(faces)),
            "ci95": bootstrap_ci(faces, seed=seed, resamples=resamples, statistic=reduction)}


def reductions_against(reference: np.ndarray, scores: np.ndarray, floor: np.ndarray, *, seed: int = 0) -> dict:
    """``{"raw", "above_floor"}``: :func:`relative_reduction` of ``scores`` against ``reference (N,)`` (e.g. the
    mean face's CD per face), plain and as the share of ``reference``'s error above ``floor (N,)`` (the GT scored
    against itself resampled). ``scores``: ``(N,)``, or ``(S seeds, N)`` averaged over seeds first (the interval
    is over faces)."""
    scores = np.asarray(scores, np.float64)
    if scores.ndim == 2:
        scores = scores.mean(axis=0)
    return {"raw": relative_reduction(reference, scores, seed=seed),
            "above_floor": relative_reduction(reference, scores, floor=floor, seed=seed)}
