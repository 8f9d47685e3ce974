"""Held-out evaluation of mesh predictors with the study's metric convention, and the trivial baseline.

Every predictor maps a dataset sample to a mesh in crop pixels; CD and EMD are computed on ``points`` samples
of each surface in the metric frame (:func:`facerecon.metrics.metric_points`), reported as sums (the paper's
eqs. 6–7) and per point, overall and by |yaw| bin.

The trivial baseline places the dataset's mean face by its landmarks: a weak-perspective camera (scaled
rotation + translation) fitted to the sample's 68 2D landmarks from the mean face's 3D landmarks. It uses the
GT landmarks and the dataset's own mean shape, so a model must learn identity and expression to beat it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..mesh.frame import CROP_SIZE
from ..data.dataset import FaceDataset
from ..data.synthface import yaw_bin_masks
from ..data.landmark_information import procrustes
from ..mesh.pose import apply_weak_perspective, fit_weak_perspective
from ..metrics import metric_points, surface_distances


def mean_face_baseline(dataset: FaceDataset) -> Callable[[dict], np.ndarray]:
    """A predictor: the dataset's mean face placed by the sample's 2D landmarks (crop pixels, y down)."""
    if dataset.model is None:
        raise ValueError(f"the mean-face baseline needs the dataset's morphable model; {dataset.folder} has none")
    mean = torch.as_tensor(dataset.model.mean, dtype=torch.float64)
    lm_index = torch.as_tensor(dataset.model.landmark_index)

    def predict(sample: dict) -> np.ndarray:
        landmarks = torch.as_tensor(sample["landmarks2d"], dtype=torch.float64)[None]
        return apply_weak_perspective(mean, *fit_weak_perspective(mean[lm_index], landmarks))[0].numpy()
    return predict


def generator_predictor(generator, device: torch.device | None = None) -> Callable[[dict], np.ndarray]:
    """A predictor from a trained generator: its last block's mesh, in crop pixels."""
    device = device or torch.device("cpu")
    generator = generator.to(device).eval()

    @torch.no_grad()
    def predict(sample: dict) -> np.ndarray:
        image = torch.from_numpy(sample["image"]).permute(2, 0, 1).float()[None].to(device) / 255
        landmarks = torch.from_numpy(sample["landmarks2d"]).float()[None].to(device)
        return generator(image, landmarks)[-1][0].double().cpu().numpy() * CROP_SIZE
    return predict


def evaluate(predict: Callable[[dict], np.ndarray], faces: np.ndarray, dataset: FaceDataset, *, n: int | None = None,
             points: int = 1024, seed: int = 0) -> dict:
    """Mean CD and EMD (sum and per point) of ``predict`` on the first ``n`` samples, overall and per yaw bin, and
    each face's CD per point (``"cd_per_face"``, ``(n,)``: for paired comparisons)."""
    n = min(n or len(dataset), len(dataset))
    gen = torch.Generator().manual_seed(seed)
    yaw, pairs = [], []
    for i in range(n):
        sample = dataset.sample(i)
        gt = metric_points(sample["vertices"], dataset.faces, points, gen)
        pairs.append((metric_points(predict(sample), faces, points, gen), gt))
        yaw.append(abs(np.degrees(sample["pose"][1])))
    yaw = np.array(yaw)
    cd, emd = (np.array(c) for c in zip(*surface_distances(pairs)))

    def stats(mask):
        if not mask.any():
            return {"n": 0}
        return {"n": int(mask.sum()), "cd": float(cd[mask].mean()), "cd_per_point": float(cd[mask].mean() / points),
                "emd": float(emd[mask].mean()), "emd_per_point": float(emd[mask].mean() / points)}
    by_bin = {label: stats(mask) for label, mask in yaw_bin_masks(yaw).items()}
    return {"points": points, **stats(np.ones(n, bool)), "by_yaw": by_bin, "cd_per_face": cd / points}


ROUND_OFF = 1e-9


def shape_diversity(meshes: np.ndarray, iterations: int = 3) -> float:
    """How much ``meshes (N, V, 3)`` (one topology) differ in shape, pose removed: generalized Procrustes
    alignment (similarity transforms) to a reference of unit RMS radius, then the RMS distance of the aligned
    meshes from their mean. 0 when every mesh is the same shape; unitless."""
    meshes = np.asarray(meshes, dtype=np.float64)
    if meshes.ndim != 3 or meshes.shape[-1] != 3 or len(meshes) < 2:
        raise ValueError(f"meshes must be (N >= 2, V, 3), got {meshes.shape}")
    reference = meshes[0] - meshes[0].mean(0)
    reference /= np.sqrt((reference ** 2).sum(1).mean())
    for _ in range(iterations):
        aligned = np.stack([procrustes(m, reference) for m in meshes])
        mean = aligned.mean(0)
        reference = procrustes(mean, reference)   # keep the reference's scale and frame
    spread = float(np.sqrt(((aligned - aligned.mean(0)) ** 2).sum(-1).mean()))
    # the aligned meshes have unit RMS radius: a spread at round-off level is one shape, and its digits would
    # differ between BLAS builds
    return 0.0 if spread < ROUND_OFF else spread
