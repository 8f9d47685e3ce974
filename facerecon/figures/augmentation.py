"""Figures of the augmentation chapter: the geometry condition, generated samples, the edits, training curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..training.stability import moving_average


def _rgb(image) -> np.ndarray:
    """``(3, S, S)`` or ``(S, S, 3)`` tensor or array (uint8 or [0, 1]) → ``(S, S, 3)`` float in [0, 1]."""
    x = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    x = x.transpose(1, 2, 0) if x.shape[0] == 3 and x.shape[-1] != 3 else x
    return x / 255.0 if x.dtype == np.uint8 else np.clip(x, 0, 1)


def normal_rgb(geometry: torch.Tensor) -> np.ndarray:
    """The normal channels of ``geometry (4, S, S)`` as colours ((n + 1) / 2; background black)."""
    mask = (geometry[2] > 0).numpy()[..., None]
    return ((geometry[:3].permute(1, 2, 0).numpy() + 1) / 2) * mask


def shaded(geometry: torch.Tensor) -> np.ndarray:
    """A grey rendering of the mesh from ``geometry (4, S, S)``: light from the camera (normal z)."""
    return np.repeat(geometry[2].numpy()[..., None], 3, -1) * 0.85 + 0.15 * (geometry[2] > 0).numpy()[..., None]


def condition_figure(image: np.ndarray, geometry: torch.Tensor, title: str = "") -> plt.Figure:
    """A training image beside its condition: normals and depth at the generator's resolution."""
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.7))
    depth = geometry[3].numpy().copy()
    depth[geometry[2].numpy() <= 0] = np.nan
    for ax, picture, label in zip(axes, (_rgb(image), normal_rgb(geometry), depth),
                                  ("image (crop)", "normal map (x, y, z → r, g, b)", "depth (closer = brighter)")):
        ax.imshow(picture, cmap="viridis" if picture.ndim == 2 else None)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def samples_figure(columns: dict[str, list], geometry: torch.Tensor) -> plt.Figure:
    """Rows: faces; columns: the condition (shaded mesh) then each of ``columns`` (label → images of the rows)."""
    n = len(geometry)
    labels = list(columns)
    fig, axes = plt.subplots(n, 1 + len(labels), figsize=(1.9 * (1 + len(labels)), 1.9 * n), squeeze=False)
    for r in range(n):
        axes[r, 0].imshow(shaded(geometry[r]))
        for c, label in enumerate(labels, 1):
            axes[r, c].imshow(_rgb(columns[label][r]))
        for c, label in enumerate(["condition (mesh)"] + labels):
            axes[r, c].axis("off")
            if r == 0:
                axes[r, c].set_title(label, fontsize=8)
    fig.tight_layout()
    return fig


def edits_figure(rows: list[dict]) -> plt.Figure:
    """One row per edit: source image, source mesh, edited mesh, generated image (with the edit painted).
    ``rows``: ``{"edit", "source", "source_geometry", "edited_geometry", "generated"}``."""
    titles = ("source image", "source mesh", "edited mesh", "generated from the edit")
    fig, axes = plt.subplots(len(rows), 4, figsize=(7.6, 2.0 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        pictures = (_rgb(row["source"]), shaded(row["source_geometry"]), shaded(row["edited_geometry"]),
                    _rgb(row["generated"]))
        for c, picture in enumerate(pictures):
            axes[r, c].imshow(picture)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
        axes[r, 0].set_ylabel(row["edit"], fontsize=10)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, dict[str, list[float]]], window: int = 25) -> plt.Figure:
    """Per-step losses of each generator (``label → {"autoencoder"?, "denoiser"}``), smoothed over ``window``."""
    fig, ax = plt.subplots(figsize=(6.5, 3))
    for label, history in histories.items():
        for part, values in history.items():
            ax.plot(moving_average(np.asarray(values), window), label=f"{label}: {part}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (moving average)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
