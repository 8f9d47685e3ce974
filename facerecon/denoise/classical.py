"""Classical denoisers a practitioner would reach for, as anchors for Table 1: BM3D (``bm3d``), non-local
means and total variation (scikit-image). All are blind here: the noise σ is estimated from the noisy image
(``skimage.restoration.estimate_sigma``), as it would be at inference time.
"""

from __future__ import annotations

import numpy as np

from .noise import check_images, estimate_noise

CLASSICAL = ("bm3d", "nl_means", "tv")
CLASSICAL_LABELS = {"bm3d": "BM3D", "nl_means": "non-local means", "tv": "total variation"}


def _one(image: np.ndarray, method: str) -> np.ndarray:
    sigma = max(estimate_noise(image), 1e-3)
    if method == "bm3d":
        import bm3d
        return np.clip(bm3d.bm3d_rgb(image, sigma), 0, 1)
    # imported here: skimage.restoration brings scipy.stats (0.6 s), which the photo tool mostly does not need
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    if method == "nl_means":
        return denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                                channel_axis=-1, fast_mode=True)
    return denoise_tv_chambolle(image, weight=sigma, channel_axis=-1)


def classical_denoise(images: np.ndarray, method: str) -> np.ndarray:
    """``images (N, H, W, 3)`` in [0, 1] denoised by ``method`` (one of :data:`CLASSICAL`) → same shape."""
    if method not in CLASSICAL:
        raise ValueError(f"unknown classical denoiser {method!r}: expected one of {CLASSICAL}")
    images = check_images(images)
    return np.stack([_one(image, method) for image in images])
