"""Image quality: PSNR and SSIM per image (Table 1's metrics), and the clipping-aware PSNR expectation.

SSIM follows Wang et al. (2004) with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, population
covariances, averaged over the valid region and the colour channels: the settings of scikit-image's
``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1)``.
"""

from __future__ import annotations

import numpy as np

from .noise import check_images


def psnr(clean: np.ndarray, test: np.ndarray) -> np.ndarray:
    """PSNR in dB per image, data range 1: ``(N, H, W, 3)`` pairs → ``(N,)``."""
    clean, test = check_images(clean, "clean"), check_images(test, "test")
    if clean.shape != test.shape:
        raise ValueError(f"clean and test images differ in shape: {clean.shape} vs {test.shape}")
    mse = ((clean - test) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-20))


def ssim(clean: np.ndarray, test: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Mean SSIM per image (data range 1): ``(N, H, W, 3)`` pairs → ``(N,)``."""
    clean, test = check_images(clean, "clean"), check_images(test, "test")
    if clean.shape != test.shape:
        raise ValueError(f"clean and test images differ in shape: {clean.shape} vs {test.shape}")
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    truncate = 3.5                                  # 2·⌊3.5σ + 0.5⌋ + 1 = 11 taps at σ = 1.5
    from scipy.ndimage import gaussian_filter   # here: the photo tool imports this module, rarely needs it

    blur = lambda a: gaussian_filter(a, sigma=(0, sigma, sigma, 0), truncate=truncate)  # noqa: E731
    mu_x, mu_y = blur(clean), blur(test)
    var_x = blur(clean * clean) - mu_x ** 2
    var_y = blur(test * test) - mu_y ** 2
    cov = blur(clean * test) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    pad = int(truncate * sigma + 0.5)
    return s[:, pad:-pad, pad:-pad].mean(axis=(1, 2, 3))


def expected_gaussian_psnr(clean: np.ndarray, sigma: float) -> np.ndarray:
    """The PSNR per image that clipped additive Gaussian noise of ``sigma`` gives in expectation.

    For a pixel ``x`` and ``e = clip(x + σz, 0, 1) − x`` with ``a = −x/σ``, ``b = (1 − x)/σ``:
    ``E[e²] = σ²([Φ(b) − Φ(a)] − [bφ(b) − aφ(a)]) + x²Φ(a) + (1 − x)²(1 − Φ(b))``.
    """
    from scipy.stats import norm      # here: scipy.stats costs 0.35 s of every command that imports this module

    x = check_images(clean, "clean")
    a, b = -x / sigma, (1 - x) / sigma
    inside = (norm.cdf(b) - norm.cdf(a)) - (b * norm.pdf(b) - a * norm.pdf(a))
    mse = sigma ** 2 * inside + x ** 2 * norm.cdf(a) + (1 - x) ** 2 * norm.sf(b)
    return 10 * np.log10(1.0 / mse.mean(axis=(1, 2, 3)))
