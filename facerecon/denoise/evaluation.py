"""Table 1's measurements: the denoisers' scores, the calibration of the paper's "Original Image" row, and
best-image selection (Algorithm 1 step 5) evaluated against its reference-based counterpart."""

from __future__ import annotations

import numpy as np

from .noise import PAPER_LEVELS, add_noise, estimate_noise
from .quality import psnr, ssim
from .select import select_blind, select_with_reference

# Paper Table 1 (PSNR dB, SSIM %), levels 0.1, 0.25, 0.5, 0.75.
REPORTED = {
    "noisy": {"psnr": [18.31, 17.31, 12.34, 8.34], "ssim": [81.31, 70.20, 43.23, 35.81]},
    "attention_cnn": {"psnr": [23.9, 22.85, 26.89, 25.02], "ssim": [87.99, 82.96, 79.67, 72.06]},
    "vae": {"psnr": [31.8, 30.96, 28.19, 24.87], "ssim": [89.12, 85.36, 82.9, 79.18]},
    "autoencoder": {"psnr": [30.7, 28.81, 25.43, 24.98], "ssim": [81.25, 76.42, 73.9, 72.08]},
    "dense_unet": {"psnr": [38.4, 36.14, 35.42, 26.77], "ssim": [94.80, 93.03, 91.21, 83.32]},
    "unet_md": {"psnr": [41.29, 40.10, 34.10, 28.80], "ssim": [95.98, 94.04, 92.7, 86.09]},
}
CALIBRATION = [("gaussian", 1.0, "Gaussian σ = level"), ("gaussian", 0.5, "Gaussian σ = level/2"),
               ("speckle", 1.0, "speckle σ = level"), ("speckle", 0.5, "speckle σ = level/2"),
               ("salt_pepper", 1.0, "salt & pepper amount = level"),
               ("salt_pepper", 0.5, "salt & pepper amount = level/2")]


def _mean_std(values: np.ndarray) -> list[float]:
    return [float(np.mean(values)), float(np.std(values))]


def calibrate_original_row(clean: np.ndarray, levels=PAPER_LEVELS, seed: int = 0) -> list[dict]:
    """The noisy-input row for each candidate noise model, and its RMS distance to the paper's row."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, factor, name in CALIBRATION:
        p, s = [], []
        for lv in levels:
            noisy = add_noise(clean, model, lv * factor, rng)
            p.append(float(psnr(clean, noisy).mean()))
            s.append(float(100 * ssim(clean, noisy).mean()))
        ref = {lv: i for i, lv in enumerate(PAPER_LEVELS)}
        rp = [REPORTED["noisy"]["psnr"][ref[lv]] for lv in levels if lv in ref]
        rs = [REPORTED["noisy"]["ssim"][ref[lv]] for lv in levels if lv in ref]
        mp = [v for lv, v in zip(levels, p) if lv in ref]
        ms = [v for lv, v in zip(levels, s) if lv in ref]
        rows.append({"label": name, "model": model, "factor": factor, "psnr": p, "ssim": s,
                     "rmse_psnr": float(np.sqrt(np.mean((np.array(mp) - rp) ** 2))) if rp else float("nan"),
                     "rmse_ssim": float(np.sqrt(np.mean((np.array(ms) - rs) ** 2))) if rs else float("nan")})
    return rows


def score_table(clean: np.ndarray, noisy: dict[float, np.ndarray], outputs: dict[float, dict[str, np.ndarray]],
                levels) -> dict[str, dict]:
    """``{method: {"psnr": {level: [mean, std]}, "ssim": {level: [mean %, std %]}, "n": ...}}``, the noisy
    input as ``"noisy"``. Methods scored on fewer images use the first ones."""
    table = {"noisy": {"psnr": {}, "ssim": {}, "n": len(clean)}}
    for lv in levels:
        table["noisy"]["psnr"][lv] = _mean_std(psnr(clean, noisy[lv]))
        table["noisy"]["ssim"][lv] = _mean_std(100 * ssim(clean, noisy[lv]))
        for method, out in outputs[lv].items():
            entry = table.setdefault(method, {"psnr": {}, "ssim": {}, "n": len(out)})
            entry["psnr"][lv] = _mean_std(psnr(clean[:len(out)], out))
            entry["ssim"][lv] = _mean_std(100 * ssim(clean[:len(out)], out))
    return table


def evaluate_selection(clean, noisy, outputs, levels, methods) -> dict[float, dict]:
    """Validation ranking on the first half of the images; on the second half, the blind rule's pick against the
    reference pick (highest PSNR/50 + SSIM, which needs the clean image)."""
    half = max(1, len(clean) // 2)
    ranking = {}
    for lv in levels:
        mean_psnr = {m: float(psnr(clean[:half], outputs[lv][m][:half]).mean()) for m in methods}
        ranking[lv] = sorted(methods, key=mean_psnr.get, reverse=True)
    result = {}
    for lv in levels:
        agree, blind, reference = [], [], []
        for i in range(half, len(clean)):
            candidates = {m: outputs[lv][m][i:i + 1] for m in methods}
            reference_name, _ = select_with_reference(clean[i:i + 1], candidates)
            blind_name, _ = select_blind(noisy[lv][i:i + 1], candidates, ranking)
            agree.append(blind_name == reference_name)
            blind.append(float(psnr(clean[i:i + 1], candidates[blind_name])[0]))
            reference.append(float(psnr(clean[i:i + 1], candidates[reference_name])[0]))
        result[lv] = {"ranking": ranking[lv], "agreement": float(np.mean(agree)) if agree else float("nan"),
                      "psnr_blind": float(np.mean(blind)) if blind else float("nan"),
                      "psnr_reference": float(np.mean(reference)) if reference else float("nan"),
                      "estimated_sigma": float(np.mean([estimate_noise(noisy[lv][i]) for i in range(len(clean))]))}
    return result


def learned_vs_classical(clean, outputs, levels, methods, classical, n: int) -> dict[float, dict]:
    """Per level, the best learned denoiser minus the best classical anchor in mean PSNR, both on the same first
    ``n`` images (the classical anchors are run on those only)."""
    gaps = {}
    run = [m for m in classical if m in outputs[levels[0]]]
    if not run:
        return gaps
    for lv in levels:
        mean = {m: float(psnr(clean[:n], outputs[lv][m][:n]).mean()) for m in list(methods) + run}
        learned, anchor = max(methods, key=mean.get), max(run, key=mean.get)
        gaps[lv] = {"learned": learned, "classical": anchor, "gap_db": mean[learned] - mean[anchor], "n": n}
    return gaps


def calibration_finding(rows: list[dict], levels) -> dict[str, str]:
    """The calibration's finding as text: the families' PSNR drop from level 0.1 to 0.25 (measured) against the
    paper's (reported), and how far the paper's SSIM lies above the family with the nearest PSNR at each level."""
    paper = REPORTED["noisy"]
    index = {lv: i for i, lv in enumerate(levels)}
    out = {"paper_drop": f"{paper['psnr'][0] - paper['psnr'][1]:.1f}", "family_drop": "–", "ssim_excess": "–"}
    if 0.1 in index and 0.25 in index:
        drops = [r["psnr"][index[0.1]] - r["psnr"][index[0.25]] for r in rows]
        out["family_drop"] = f"{min(drops):.1f}–{max(drops):.1f}"
    excess = []
    for k, lv in enumerate(PAPER_LEVELS):
        if lv in index:
            nearest = min(rows, key=lambda r: abs(r["psnr"][index[lv]] - paper["psnr"][k]))
            excess.append(paper["ssim"][k] - nearest["ssim"][index[lv]])
    if excess:
        out["ssim_excess"] = f"{min(excess):.0f} to {max(excess):.0f}"
    return out
