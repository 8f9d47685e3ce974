"""Landmark accuracy: 68-point NME (metrics.md, item 5) per |yaw| bin, with detection rates."""

from __future__ import annotations

import numpy as np

from ..data.synthface import yaw_bin_masks
from ..metrics import landmark_nme
from ..study.statistics import bootstrap_ci


def nme_by_yaw(predicted: list[np.ndarray | None], truth: np.ndarray, abs_yaw_deg: np.ndarray,
               seed: int = 0) -> dict:
    """``predicted``: ``(68, 2)`` per face, or ``None`` where the detector found no face (counted, not dropped:
    the detection rate is reported beside the NME of the faces found). ``truth (N, 68, 2|3)`` (the 2D box of
    the GT normalizes), ``abs_yaw_deg (N,)``. Returns per bin and overall: ``n``, ``detected``, ``rate``,
    ``nme`` (mean over detected faces, ×100) with its bootstrap 95 % interval; and the unweighted mean of the
    bins' NME (the literature's headline)."""
    if len(predicted) != len(truth) or len(truth) != len(abs_yaw_deg):
        raise ValueError(f"predicted, truth and abs_yaw_deg must have one entry per face, got {len(predicted)}, "
                         f"{len(truth)}, {len(abs_yaw_deg)}")
    found = np.array([p is not None for p in predicted])
    nme = np.array([landmark_nme(p, t[:, :2]) if p is not None else np.nan for p, t in zip(predicted, truth)])
    bins = {**yaw_bin_masks(np.asarray(abs_yaw_deg)), "all": np.ones(len(truth), bool)}
    out = {}
    for name, mask in bins.items():
        values = nme[mask & found]
        out[name] = {"n": int(mask.sum()), "detected": int((mask & found).sum()),
                     "rate": float((mask & found).sum() / max(mask.sum(), 1)),
                     "nme": float(values.mean()) if len(values) else float("nan"),
                     "ci95": bootstrap_ci(values, seed=seed) if len(values) > 1 else [float("nan")] * 2}
    per_bin = [out[b]["nme"] for b in bins if b != "all" and np.isfinite(out[b]["nme"])]
    out["mean_of_bins"] = float(np.mean(per_bin)) if per_bin else float("nan")
    return out
