"""Does a generated image show the mesh it was generated from? The project's landmark CNN is run on it and its
68 points are compared with the conditioning mesh's landmarks (NME ×100, normalized by √(w·h) of the landmark
box), beside the same on real renders: at the crop's resolution, and through the generator's resolution (area
down, bilinear up) so that the blur of the smaller image is not counted against the generator."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ..landmarks.cnn import LandmarkCNN, predict
from ..metrics import landmark_nme
from .diffusion import GeometryDiffusion
from .pairs import to_crop


def crop_images(images: torch.Tensor) -> np.ndarray:
    """``(N, 3, S, S)`` in [0, 1] → ``(N, 113, 113, 3)`` float in [0, 1], as the crop-sized inputs of the CNN."""
    return to_crop(images).clamp(0, 1).numpy()


def through_resolution(images: np.ndarray, size: int) -> torch.Tensor:
    """Real crops ``(N, 113, 113, 3)`` uint8 → ``(N, 3, size, size)`` in [0, 1] (area downsampling)."""
    x = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2).float() / 255
    return F.interpolate(x, size=(size, size), mode="area")


def landmark_consistency(detector: LandmarkCNN, images: np.ndarray, landmarks2d: np.ndarray) -> np.ndarray:
    """Per-image NME ``(N,)`` of the detector on ``images (N, 113, 113, 3)`` against ``landmarks2d (N, 68, 2)``."""
    detected = predict(detector, images)
    return np.array([landmark_nme(d, t) for d, t in zip(detected, np.asarray(landmarks2d))])


def ddim_step_sweep(model: GeometryDiffusion, geometry: torch.Tensor, landmarks2d: np.ndarray,
                    detector: LandmarkCNN, steps: list[int], seed: int) -> list[dict]:
    """For each DDIM step count: per-image NME ``(N,)`` of the generated images and the generation time per pair
    (``ms_per_pair``, wall time of the whole batch / N, on this machine's threads)."""
    rows = []
    for k in steps:
        start = time.perf_counter()
        images = model.sample(geometry, k, torch.Generator().manual_seed(seed))
        ms = 1000 * (time.perf_counter() - start) / len(geometry)
        rows.append({"steps": int(k), "nme": landmark_consistency(detector, crop_images(images), landmarks2d),
                     "ms_per_pair": ms})
    return rows
