"""Noise models at the paper's levels (§4.1: 0.10, 0.25, 0.50, 0.75).

The paper gives the levels but not the noise model. Images are float RGB in ``[0, 1]``, ``(N, H, W, 3)`` or
``(H, W, 3)``; every model clips its output to ``[0, 1]`` (an image file cannot hold anything else):

- ``gaussian`` (default): ``y = clip(x + σ·n)``, ``n ~ N(0, 1)``, σ = level;
- ``speckle``: ``y = clip(x + σ·x·n)``, multiplicative, σ = level;
- ``salt_pepper``: a fraction ``amount = level`` of the pixels (all channels together) set to 0 or 1 with equal
  probability.
"""

from __future__ import annotations

import numpy as np

PAPER_LEVELS = (0.1, 0.25, 0.5, 0.75)
NOISE_MODELS = ("gaussian", "speckle", "salt_pepper")


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """``images`` as float64 ``(N, H, W, 3)`` in ``[0, 1]``, or a ``ValueError`` saying what is wrong."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{name} must be RGB (N, H, W, 3) or (H, W, 3), got shape {images.shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1], got dtype {images.dtype} (divide uint8 images by 255)")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise ValueError(f"{name} must be float in [0, 1], got range [{np.nanmin(images):.3g}, "
                         f"{np.nanmax(images):.3g}]")
    return images.astype(np.float64, copy=False)


def add_noise(images: np.ndarray, model: str = "gaussian", level: float = 0.1,
              rng: np.random.Generator | None = None) -> np.ndarray:
    """``images (N, H, W, 3)`` in [0, 1] corrupted by ``model`` at ``level`` → same shape, float64 in [0, 1]."""
    if model not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {model!r}: expected one of {NOISE_MODELS}")
    if not 0 <= level <= 1:
        raise ValueError(f"noise level must be in [0, 1], got {level}")
    x = check_images(images)
    rng = rng or np.random.default_rng(0)
    if model == "gaussian":
        return np.clip(x + level * rng.standard_normal(x.shape), 0, 1)
    if model == "speckle":
        return np.clip(x + level * x * rng.standard_normal(x.shape), 0, 1)
    y = x.copy()
    hit = rng.random(x.shape[:3]) < level
    y[hit] = (rng.random(int(hit.sum())) < 0.5)[:, None].astype(np.float64)
    return y


NORMAL_Q75 = 0.6744897501960817   # the standard normal's 75th percentile (scipy.stats.norm.ppf(0.75), to the bit)


def estimate_noise(image: np.ndarray) -> float:
    """Blind estimate of the Gaussian noise σ of ``image (H, W, 3)``: per channel, the median absolute value of
    the finest diagonal db2 wavelet coefficients (zeros left out) over the normal's 75th percentile (Donoho and
    Johnstone 1994), averaged over channels. The same numbers as ``skimage.restoration.estimate_sigma(image,
    channel_axis=-1)`` (a test compares them) without importing it: skimage.restoration brings scipy.stats, 0.6 s
    of every ``facerecon reconstruct``'s start-up."""
    import pywt

    image = check_images(image)[0]
    sigmas = []
    for channel in range(image.shape[-1]):
        detail = pywt.dwtn(image[..., channel], wavelet="db2")["dd"]
        sigmas.append(np.median(np.abs(detail[np.nonzero(detail)])) / NORMAL_Q75)
    return float(np.mean(sigmas))
