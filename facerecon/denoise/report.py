"""Table 1 as the notebook shows it: scores, the reported values, the noise-model calibration, figures and the
evaluation of best-image selection."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..plotting.tables import markdown_table
from .classical import CLASSICAL_LABELS
from .networks import LABELS
from .noise import add_noise, estimate_noise
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
PAPER_LEVELS = (0.1, 0.25, 0.5, 0.75)
CALIBRATION = [("gaussian", 1.0, "Gaussian σ = level"), ("gaussian", 0.5, "Gaussian σ = level/2"),
               ("speckle", 1.0, "speckle σ = level"), ("speckle", 0.5, "speckle σ = level/2"),
               ("salt_pepper", 1.0, "salt & pepper amount = level"),
               ("salt_pepper", 0.5, "salt & pepper amount = level/2")]


def label(method: str) -> str:
    return {"noisy": "Original Image (noisy input)", **LABELS, **CLASSICAL_LABELS}.get(method, method)


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


def calibration_table(rows: list[dict]) -> str:
    reported = ["**paper (reported)**", " / ".join(f"{v:.1f}" for v in REPORTED["noisy"]["psnr"]),
                " / ".join(f"{v:.0f}" for v in REPORTED["noisy"]["ssim"]), "–", "–"]
    body = [[r["label"], " / ".join(f"{v:.1f}" for v in r["psnr"]), " / ".join(f"{v:.0f}" for v in r["ssim"]),
             r["rmse_psnr"], r["rmse_ssim"]] for r in rows]
    return markdown_table(["noise model", "PSNR dB per level", "SSIM % per level", "RMS Δ PSNR (dB)",
                           "RMS Δ SSIM (points)"], [reported] + body, digits=3)


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


def table1(scores: dict[str, dict], levels) -> str:
    """Markdown Table 1: measured mean ± std with the reported value in brackets."""
    ref = {lv: i for i, lv in enumerate(PAPER_LEVELS)}

    def cell(method, metric, lv):
        mean, std = scores[method][metric][lv]
        rep = REPORTED.get(method, {}).get(metric)
        reported = f" ({rep[ref[lv]]:.1f})" if rep is not None and lv in ref else ""
        return f"{mean:.1f} ± {std:.1f}{reported}"
    header = (["method"] + [f"PSNR {lv}" for lv in levels] + [f"SSIM % {lv}" for lv in levels] + ["n"])
    rows = [[label(m)] + [cell(m, "psnr", lv) for lv in levels] + [cell(m, "ssim", lv) for lv in levels]
            + [scores[m]["n"]] for m in scores]
    return markdown_table(header, rows)


def quality_plot(scores: dict[str, dict], levels) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for method, entry in scores.items():
        style = "k--" if method == "noisy" else ("-o" if method in LABELS else ":s")
        for ax, metric in zip(axes, ("psnr", "ssim")):
            ax.plot(levels, [entry[metric][lv][0] for lv in levels], style, label=label(method), markersize=4)
    for method in ("unet_md", "noisy"):
        axes[0].plot(PAPER_LEVELS, REPORTED[method]["psnr"], "x", color="grey", markersize=8)
        axes[1].plot(PAPER_LEVELS, REPORTED[method]["ssim"], "x", color="grey", markersize=8)
    axes[0].set(xlabel="noise level", ylabel="PSNR (dB)", title="PSNR (× paper: noisy input and U-Net+MD)")
    axes[1].set(xlabel="noise level", ylabel="SSIM (%)", title="SSIM")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def example_grid(clean, noisy, outputs, levels, index: int = 0) -> plt.Figure:
    methods = list(outputs[levels[0]])
    fig, axes = plt.subplots(len(levels), len(methods) + 2, figsize=(1.6 * (len(methods) + 2), 1.7 * len(levels)))
    axes = np.atleast_2d(axes)
    for r, lv in enumerate(levels):
        panels = [("clean", clean[index]), (f"noisy {lv}", noisy[lv][index])]
        panels += [(label(m), outputs[lv][m][index]) for m in methods if len(outputs[lv][m]) > index]
        for c, ax in enumerate(axes[r]):
            ax.axis("off")
            if c < len(panels):
                ax.imshow(np.clip(panels[c][1], 0, 1))
                if r == 0 or c == 1:
                    ax.set_title(panels[c][0], fontsize=7)
    fig.tight_layout()
    return fig


def evaluate_selection(clean, noisy, outputs, levels, methods) -> dict[float, dict]:
    """Validation ranking on the first half of the images, blind vs oracle selection on the second half."""
    half = max(1, len(clean) // 2)
    ranking = {}
    for lv in levels:
        mean_psnr = {m: float(psnr(clean[:half], outputs[lv][m][:half]).mean()) for m in methods}
        ranking[lv] = sorted(methods, key=mean_psnr.get, reverse=True)
    result = {}
    for lv in levels:
        agree, blind, oracle = [], [], []
        for i in range(half, len(clean)):
            candidates = {m: outputs[lv][m][i:i + 1] for m in methods}
            oracle_name, _ = select_with_reference(clean[i:i + 1], candidates)
            blind_name, _ = select_blind(noisy[lv][i:i + 1], candidates, ranking)
            agree.append(blind_name == oracle_name)
            blind.append(float(psnr(clean[i:i + 1], candidates[blind_name])[0]))
            oracle.append(float(psnr(clean[i:i + 1], candidates[oracle_name])[0]))
        result[lv] = {"ranking": ranking[lv], "agreement": float(np.mean(agree)) if agree else float("nan"),
                      "psnr_blind": float(np.mean(blind)) if blind else float("nan"),
                      "psnr_oracle": float(np.mean(oracle)) if oracle else float("nan"),
                      "estimated_sigma": float(np.mean([estimate_noise(noisy[lv][i]) for i in range(len(clean))]))}
    return result
