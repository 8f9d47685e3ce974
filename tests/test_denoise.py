"""Noise models, PSNR/SSIM against scikit-image, the clipping-aware PSNR expectation, the denoisers, NMF,
best-image selection and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from facerecon.denoise.classical import CLASSICAL, classical_denoise
from facerecon.denoise.networks import METHODS, build_denoiser
from facerecon.denoise.nmf import nmf
from facerecon.denoise.noise import add_noise, check_images, estimate_noise
from facerecon.denoise.quality import expected_gaussian_psnr, psnr, ssim
from facerecon.denoise.select import select_blind, select_with_reference
from facerecon.denoise.train import DenoiserTrainConfig, denoise, train_denoiser


def smooth_images(n=3, size=40, seed=0):
    """Smooth colour images in [0.1, 0.9] with some edges (a stand-in for face crops)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        a, b, c = rng.random(3)
        base = 0.5 + 0.3 * np.sin(6 * a * xx + 4 * b * yy) * np.cos(5 * c * yy)
        disk = ((xx - a) ** 2 + (yy - b) ** 2 < 0.05).astype(float) * 0.2
        out.append(np.stack([base, 0.8 * base + disk, 1 - base], -1).clip(0.1, 0.9))
    return np.stack(out)


def test_psnr_and_ssim_agree_with_scikit_image():
    clean = smooth_images()
    noisy = add_noise(clean, "gaussian", 0.1, np.random.default_rng(1))
    for i in range(len(clean)):
        assert psnr(clean, noisy)[i] == pytest.approx(peak_signal_noise_ratio(clean[i], noisy[i], data_range=1))
        ref = structural_similarity(clean[i], noisy[i], data_range=1, channel_axis=-1, gaussian_weights=True,
                                    sigma=1.5, use_sample_covariance=False)
        assert ssim(clean, noisy)[i] == pytest.approx(ref, abs=1e-6)
    assert ssim(clean, clean) == pytest.approx(np.ones(len(clean)))


def test_noise_estimate_equals_scikit_images_estimate_sigma():
    """The blind estimate is skimage's wavelet MAD reimplemented (to keep scipy.stats out of the photo tool's
    start-up): the same numbers to the bit, on clean and noisy images and on one with flat (zero-detail) areas."""
    from skimage.restoration import estimate_sigma

    rng = np.random.default_rng(0)
    flat = np.zeros((64, 64, 3))
    flat[20:40] = rng.random((20, 64, 3))
    for image in (rng.random((113, 113, 3)), np.clip(0.5 + rng.normal(0, 0.2, (90, 70, 3)), 0, 1), flat):
        assert estimate_noise(image) == float(np.mean(estimate_sigma(image, channel_axis=-1)))
    noisy = add_noise(np.full((1, 113, 113, 3), 0.5), "gaussian", 0.1, rng=np.random.default_rng(1))[0]
    assert estimate_noise(noisy) == pytest.approx(0.1, rel=0.1)


def test_gaussian_noisy_psnr_matches_the_clipping_aware_expectation():
    clean = smooth_images(4, 96)
    clean[:, :20] = 0.02                                   # dark areas, where clipping matters
    measured = psnr(clean, add_noise(clean, "gaussian", 0.1, np.random.default_rng(0)))
    expected = expected_gaussian_psnr(clean, 0.1)
    assert np.abs(measured - expected).max() < 0.5
    assert np.abs(expected - 20.0).max() > 0.1              # clipping moves it off the naive 20 dB


def test_noise_models_and_levels():
    clean = smooth_images(2)
    rng = np.random.default_rng(0)
    sp = add_noise(clean, "salt_pepper", 0.25, rng)
    changed = (sp != clean).any(-1).mean()
    assert 0.2 < changed < 0.3 and set(np.unique(sp[(sp != clean).any(-1)])) <= {0.0, 1.0}
    speckle = add_noise(clean, "speckle", 0.5, rng)
    assert speckle.min() >= 0 and speckle.max() <= 1
    assert psnr(clean, add_noise(clean, "gaussian", 0.5, rng)).mean() < psnr(clean, add_noise(clean, "gaussian", 0.1, rng)).mean()


def test_bad_images_and_unknown_names_are_refused():
    clean = smooth_images(1)
    with pytest.raises(ValueError, match=r"float in \[0, 1\].*uint8"):
        check_images((clean * 255).astype(np.uint8))
    with pytest.raises(ValueError, match=r"got range \[0.3.*, 1.6"):
        add_noise(clean * 2)
    with pytest.raises(ValueError, match=r"RGB \(N, H, W, 3\)"):
        psnr(clean[..., 0], clean[..., 0])
    with pytest.raises(ValueError, match="unknown noise model 'poisson'"):
        add_noise(clean, "poisson")
    with pytest.raises(ValueError, match="unknown denoiser 'transformer'"):
        build_denoiser("transformer")
    with pytest.raises(ValueError, match="unknown denoiser 'dncnn'"):
        DenoiserTrainConfig(method="dncnn")
    with pytest.raises(ValueError, match="unknown classical denoiser"):
        classical_denoise(clean, "wiener")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        build_denoiser("unet_md")(torch.zeros(1, 1, 8, 8))


@pytest.mark.parametrize("method", METHODS)
def test_every_denoiser_keeps_the_shape_and_trains_a_step_without_nans(method):
    torch.manual_seed(0)
    model = build_denoiser(method, width=8, nmf_rank=4)
    y = torch.rand(2, 3, 37, 41)                           # odd sizes: padded and cropped back
    out = model(y)
    assert out.shape == y.shape and torch.isfinite(out).all()
    loss = torch.nn.functional.mse_loss(out, y) + (model.kl if method == "vae" else 0)
    loss.backward()
    torch.optim.Adamax(model.parameters(), lr=1e-3).step()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_nmf_reconstruction_error_falls_over_its_iterations():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 32, 5, generator=gen) @ torch.rand(2, 5, 60, generator=gen)   # rank 5, non-negative
    _, errors = nmf(x, rank=5, steps=30, generator=gen, return_errors=True)
    assert all(b <= a + 1e-6 for a, b in zip(errors, errors[1:]))                   # monotone (Lee & Seung)
    assert errors[-1] < 0.5 * errors[0]
    with pytest.raises(ValueError, match="non-negative"):
        nmf(-x, 3, 2)


def _nmf_gradient(x, one_step_gradient):
    x = x.clone().requires_grad_(True)
    nmf(x, rank=3, steps=5, generator=torch.Generator().manual_seed(0), one_step_gradient=one_step_gradient).sum().backward()
    return x.grad


def test_one_step_gradient_flows_through_the_last_update_only():
    x = torch.rand(1, 8, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    one_step = _nmf_gradient(x, True)
    # naive reference: four updates on a detached input, then the last update with gradient
    xr = x.clone().requires_grad_(True)
    bases = torch.nn.functional.normalize(torch.rand(1, 8, 3, generator=torch.Generator().manual_seed(0),
                                                     dtype=torch.float64), dim=1)
    codes = torch.full((1, 3, 20), 1 / 3, dtype=torch.float64)
    eps = 1e-6

    def update(x, bases, codes):
        codes = codes * (bases.transpose(1, 2) @ x) / (bases.transpose(1, 2) @ bases @ codes + eps)
        bases = bases * (x @ codes.transpose(1, 2)) / (bases @ (codes @ codes.transpose(1, 2)) + eps)
        return bases, codes
    for _ in range(4):
        bases, codes = update(x, bases, codes)
    bases, codes = update(xr, bases.detach(), codes.detach())
    (bases @ codes).sum().backward()
    torch.testing.assert_close(one_step, xr.grad)
    full = _nmf_gradient(x, False)
    assert torch.isfinite(full).all() and not torch.allclose(one_step, full, rtol=1e-3, atol=1e-6)


def test_nmf_block_is_seeded_by_its_caller():
    x = torch.rand(2, 64, 12, 12, generator=torch.Generator().manual_seed(0))
    a = build_denoiser("unet_md", width=16, nmf_rank=4, seed=3).eval()
    b = build_denoiser("unet_md", width=16, nmf_rank=4, seed=3).eval()
    b.load_state_dict(a.state_dict())
    hamburger_a = next(m for m in a.modules() if type(m).__name__ == "Hamburger")
    hamburger_b = next(m for m in b.modules() if type(m).__name__ == "Hamburger")
    torch.manual_seed(123)
    out_a = hamburger_a(x)
    torch.manual_seed(456)                              # the global RNG must not matter
    torch.testing.assert_close(hamburger_b(x), out_a)
    torch.testing.assert_close(hamburger_a(x), out_a)   # nor what ran before, in evaluation
    hamburger_b.seed = 4
    assert not torch.allclose(hamburger_b(x), out_a)


def test_training_lowers_the_loss_and_denoises():
    clean = smooth_images(32, 32)
    cfg = DenoiserTrainConfig(method="dense_unet", width=8, epochs=30, batch_size=8, lr=1e-2, levels=(0.1,))
    model, history = train_denoiser(cfg, clean, progress=False)
    assert history[-1] < history[0]
    held_out = smooth_images(4, 32, seed=9)
    noisy = add_noise(held_out, "gaussian", 0.1, np.random.default_rng(5))
    restored = denoise(model, noisy)
    assert restored.shape == held_out.shape
    assert psnr(held_out, restored).mean() > psnr(held_out, noisy).mean() + 1.0   # it denoises unseen images


def test_classical_anchors_improve_psnr():
    clean = smooth_images(1, 48)
    noisy = add_noise(clean, "gaussian", 0.1, np.random.default_rng(2))
    for method in CLASSICAL:
        assert psnr(clean, classical_denoise(noisy, method))[0] > psnr(clean, noisy)[0] + 2, method


def test_best_image_selection_rules():
    clean = smooth_images(1, 48)
    rng = np.random.default_rng(0)
    noisy = add_noise(clean, "gaussian", 0.25, rng)
    candidates = {"good": add_noise(clean, "gaussian", 0.02, rng)[0], "bad": noisy[0]}
    best, scores = select_with_reference(clean[0], candidates)
    assert best == "good" and scores["good"] > scores["bad"]
    ranking = {0.1: ["bad", "good"], 0.25: ["good", "bad"]}
    name, level = select_blind(noisy[0], candidates, ranking)
    assert (name, level) == ("good", 0.25)
    with pytest.raises(ValueError, match="validation ranking is empty"):
        select_blind(noisy[0], candidates, {})
