"""Table 1 as the book shows it: the measured table beside the reported one, the calibration table, the
quality curves and an example grid."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..denoise.classical import CLASSICAL_LABELS
from ..denoise.evaluation import REPORTED
from ..denoise.networks import LABELS
from ..denoise.noise import PAPER_LEVELS
from .tables import markdown_table


def label(method: str) -> str:
    return {"noisy": "Original Image (noisy input)", **LABELS, **CLASSICAL_LABELS}.get(method, method)


def calibration_table(rows: list[dict]) -> str:
    reported = ["**paper (reported)**", " / ".join(f"{v:.1f}" for v in REPORTED["noisy"]["psnr"]),
                " / ".join(f"{v:.0f}" for v in REPORTED["noisy"]["ssim"]), "–", "–"]
    body = [[r["label"], " / ".join(f"{v:.1f}" for v in r["psnr"]), " / ".join(f"{v:.0f}" for v in r["ssim"]),
             r["rmse_psnr"], r["rmse_ssim"]] for r in rows]
    return markdown_table(["noise model", "PSNR dB per level", "SSIM % per level", "RMS Δ PSNR (dB)",
                           "RMS Δ SSIM (points)"], [reported] + body, digits=3)


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
