"""Robustness measurements (Figs. 10–12): error against a nuisance variable, and noisy inputs with and without
Algorithm 1's first step (a blind noise estimate, then the denoiser a validation ranking prefers at that level)."""

from __future__ import annotations

import numpy as np

from ..denoise.classical import classical_denoise
from ..denoise.noise import add_noise
from ..denoise.select import choose_blind, select_with_reference

CANDIDATES = ("nl_means", "tv")


def binned_curve(values: np.ndarray, variable: np.ndarray, edges, *, seed: int = 0,
                 labels: list[str] | None = None) -> dict[str, list]:
    """Mean of ``values (N,)`` with its bootstrap interval in each bin ``(edges[i], edges[i+1]]`` of ``variable``
    (the first bin closed): ``{"x": labels, "n", "mean", "lo", "hi"}``; empty bins give NaN."""
    from .scoring import summarize   # here: scoring brings SynthFace and scipy (0.3 s of the photo tool's start)

    values, variable, edges = np.asarray(values, float), np.asarray(variable, float), np.asarray(edges, float)
    out = {"x": labels or [f"{lo:g}–{hi:g}" for lo, hi in zip(edges[:-1], edges[1:])], "n": [], "mean": [],
           "lo": [], "hi": []}
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        mask = ((variable >= lo) if k == 0 else (variable > lo)) & (variable <= hi)
        s = summarize(values[mask], seed) if mask.any() else {"mean": float("nan"), "ci95": [float("nan")] * 2}
        out["n"].append(int(mask.sum()))
        out["mean"].append(s["mean"])
        out["lo"].append(s["ci95"][0])
        out["hi"].append(s["ci95"][1])
    return out


def noisy_images(images: np.ndarray, level: float, *, seed: int = 0) -> np.ndarray:
    """``images (N, H, W, 3)`` uint8 with Gaussian noise of σ = ``level`` (on [0, 1]) → uint8."""
    noisy = add_noise(np.asarray(images, np.float64) / 255, "gaussian", level, rng=np.random.default_rng(seed))
    return (np.clip(noisy, 0, 1) * 255).round().astype(np.uint8)


def validation_ranking(clean: np.ndarray, levels, *, seed: int = 0) -> dict[float, list[str]]:
    """Per noise level, :data:`CANDIDATES` (and ``"none"``) ranked by how often each wins the PSNR/SSIM selection on
    ``clean (N, H, W, 3)`` uint8 validation images corrupted at that level."""
    ranking = {}
    for level in [0.0, *levels]:
        noisy = noisy_images(clean, level, seed=seed) if level > 0 else np.asarray(clean)
        outputs = {name: classical_denoise(noisy / 255, name) for name in CANDIDATES}
        wins = {name: 0 for name in (*CANDIDATES, "none")}
        for i in range(len(clean)):
            best, _ = select_with_reference(clean[i] / 255, {"none": noisy[i] / 255,
                                                             **{n: o[i] for n, o in outputs.items()}})
            wins[best] += 1
        ranking[float(level)] = sorted(wins, key=wins.get, reverse=True)
    return ranking


def denoise_for_reconstruction(noisy: np.ndarray, validation_clean: np.ndarray, levels, *, seed: int = 0
                               ) -> tuple[np.ndarray, list[str]]:
    """Algorithm 1, step 1 on ``noisy (N, H, W, 3)`` uint8: each image's noise is estimated blind and the
    candidate that the validation ranking prefers at that level is applied (possibly none). Returns the images
    (uint8) and the name chosen for each."""
    ranking = validation_ranking(validation_clean, levels, seed=seed)
    out, chosen = zip(*(denoise_blind(image, ranking) for image in noisy))
    return np.stack(out), list(chosen)


def denoise_blind(image: np.ndarray, ranking: dict[float, list[str]]) -> tuple[np.ndarray, str]:
    """Algorithm 1, step 1 on one ``image (H, W, 3)`` uint8: the candidate (or ``"none"``) that ``ranking``
    (:func:`validation_ranking`) prefers at the image's blind noise estimate, applied. Returns the image (uint8)
    and the name; only the chosen denoiser runs."""
    name, _ = choose_blind(image / 255, ["none", *CANDIDATES], ranking)
    if name == "none":
        return np.asarray(image), name
    return (np.clip(classical_denoise(image[None] / 255, name)[0], 0, 1) * 255).round().astype(np.uint8), name
