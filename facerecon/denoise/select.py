"""Best-image selection (Algorithm 1, step 5: "choose best noise-free image using PSNR and SSIM").

PSNR and SSIM need a clean reference, which exists only in evaluation. So there are two rules:

- ``select_with_reference``: with a clean image, rank the candidates by ``PSNR/PSNR_max + SSIM`` — each metric
  normalized so that neither dominates (the paper names both metrics and no combination);
- ``select_blind`` (what the reconstruction pipeline calls): estimate the noise σ of the input
  (``skimage.restoration.estimate_sigma``), look up the level nearest to it in a ranking measured on
  validation images (``ranking[level] = methods, best first``), and return that level's best candidate.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .noise import estimate_noise
from .quality import psnr, ssim


def selection_score(clean: np.ndarray, candidate: np.ndarray, psnr_max: float = 50.0) -> float:
    """``PSNR/psnr_max + SSIM`` of one candidate image against the clean one (higher is better)."""
    return float(psnr(clean, candidate)[0] / psnr_max + ssim(clean, candidate)[0])


def select_with_reference(clean: np.ndarray, candidates: Mapping[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The name of the best candidate ``(H, W, 3)`` against ``clean``, and every candidate's score."""
    if not candidates:
        raise ValueError("no candidate images to choose from")
    scores = {name: selection_score(clean, image) for name, image in candidates.items()}
    return max(scores, key=scores.get), scores


def select_blind(noisy: np.ndarray, candidates: Mapping[str, np.ndarray],
                 ranking: Mapping[float, list[str]], level_of_sigma=lambda s: s) -> tuple[str, float]:
    """The candidate the validation ranking prefers at the input's estimated noise level, and that level.

    ``level_of_sigma`` maps the estimated σ to the noise model's level (identity for additive Gaussian noise).
    """
    return choose_blind(noisy, list(candidates), ranking, level_of_sigma)


def choose_blind(noisy: np.ndarray, names: list[str], ranking: Mapping[float, list[str]],
                 level_of_sigma=lambda s: s) -> tuple[str, float]:
    """:func:`select_blind` by name only, so that only the chosen denoiser has to run."""
    if not names:
        raise ValueError("no candidate images to choose from")
    if not ranking:
        raise ValueError("the validation ranking is empty: measure it first (denoise validation images at each level)")
    level = level_of_sigma(estimate_noise(noisy))
    nearest = min(ranking, key=lambda lv: abs(float(lv) - level))
    for name in ranking[nearest]:
        if name in names:
            return name, float(nearest)
    raise ValueError(f"none of the candidates {sorted(names)} is in the ranking {ranking[nearest]}")
