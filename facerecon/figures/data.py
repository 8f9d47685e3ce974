"""Figures of the data chapter (``00_data``): model overview, sample grids, pose histograms, real samples."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..data.morphable import EXPRESSION_NAMES, FaceModel
from ..data.render import Light, to_numpy_uint8
from ..data.synthface import AFLW2000_YAW_BIN_COUNTS, render_face, yaw_bin_masks

FRONT_LIGHT = Light(direction=(0.3, 0.4, 1.0), ambient=0.35, diffuse=0.75, specular=0.05)


def render_preview(model: FaceModel, shape: np.ndarray, yaw_deg: float = 0.0, size: int = 160) -> np.ndarray:
    """A shaded rendering ``(size, size, 3)`` uint8 of ``shape (N, 3)`` on white (mean albedo)."""
    face = render_face(model, shape, np.radians([0.0, yaw_deg, 0.0]), np.zeros(len(model.albedo_basis)),
                       FRONT_LIGHT, size, supersample=2, margin=1.05)
    return to_numpy_uint8(face.rgb + (1 - face.coverage))


def model_overview(model: FaceModel) -> plt.Figure:
    """Mean face (front, profile), the identity spectrum, and each expression at full strength."""
    n_exp = len(EXPRESSION_NAMES)
    fig = plt.figure(figsize=(13, 6.2))
    grid = fig.add_gridspec(3, 8)
    ax = fig.add_subplot(grid[0:2, 0:2])
    ax.imshow(render_preview(model, model.mean, 0))
    ax.set_title("mean, frontal")
    ax = fig.add_subplot(grid[0:2, 2:4])
    ax.imshow(render_preview(model, model.mean, 70))
    ax.set_title("mean, yaw 70°")
    ax = fig.add_subplot(grid[2, 0:4])
    sd = np.linalg.norm(model.id_basis.reshape(len(model.id_basis), -1), axis=1)
    ax.bar(np.arange(1, len(sd) + 1), sd)
    ax.set_xlabel("identity component")
    ax.set_ylabel("std (model units)")
    for k, name in enumerate(EXPRESSION_NAMES):
        ax = fig.add_subplot(grid[k // 4, 4 + k % 4])
        coeffs = np.zeros(n_exp)
        coeffs[k] = 1.0
        ax.imshow(render_preview(model, model.shape(exp_coeffs=coeffs), 25 if "shift" in name else 0, 96))
        ax.set_title(name, fontsize=9)
    for ax in fig.axes:
        if ax.images:
            ax.axis("off")
    fig.tight_layout()
    return fig


def sample_grid(datasets, titles, n: int, columns: int = 8) -> plt.Figure:
    """``n`` samples of each dataset with landmarks (green visible, red hidden)."""
    rows_per = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows_per * len(datasets), columns, figsize=(columns * 1.6, rows_per * len(datasets) * 1.75))
    axes = np.atleast_2d(axes)
    for d, (ds, title) in enumerate(zip(datasets, titles)):
        for j in range(rows_per * columns):
            ax = axes[d * rows_per + j // columns, j % columns]
            ax.axis("off")
            if j >= min(n, len(ds)):
                continue
            s = ds.sample(j)
            ax.imshow(s["image"])
            visible = s.get("landmark_visible", np.ones(68, bool))
            ax.scatter(*s["landmarks2d"].T, s=2, c=np.where(visible, "lime", "red"))
            ax.set_title(f"yaw {np.degrees(s['pose'][1]):.0f}°", fontsize=8)
            if j == 0:
                ax.text(0, -18, title, fontsize=10, fontweight="bold")
    fig.tight_layout()
    return fig


def pose_histograms(train_pose: np.ndarray, test_pose: np.ndarray) -> plt.Figure:
    """Yaw/pitch/roll histograms of both splits, and |yaw| bin shares against AFLW2000-3D."""
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for k, name in enumerate(["pitch", "yaw", "roll"]):
        bins = np.linspace(-90, 90, 37)
        axes[k].hist(np.degrees(train_pose[:, k]), bins, alpha=0.6, density=True, label="train")
        axes[k].hist(np.degrees(test_pose[:, k]), bins, alpha=0.6, density=True, label="test")
        axes[k].set_xlabel(f"{name} (degrees)")
    axes[0].legend()
    real = np.array(AFLW2000_YAW_BIN_COUNTS) / sum(AFLW2000_YAW_BIN_COUNTS)
    yaw = np.degrees(np.abs(test_pose[:, 1]))
    yaw_bins = yaw_bin_masks(yaw)
    ours = np.array([mask.mean() for mask in yaw_bins.values()])
    x = np.arange(3)
    axes[3].bar(x - 0.2, real, 0.4, label="AFLW2000-3D (reported)")
    axes[3].bar(x + 0.2, ours, 0.4, label="SynthFace test")
    axes[3].set_xticks(x, list(yaw_bins))
    axes[3].set_xlabel("|yaw| bin (degrees)")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def real_samples(samples) -> plt.Figure:
    """Cropped real samples with their landmarks."""
    fig, axes = plt.subplots(1, len(samples), figsize=(1.9 * len(samples), 2.2))
    for ax, s in zip(np.atleast_1d(axes), samples):
        ax.imshow(s.image)
        ax.scatter(*s.landmarks2d.T, s=3, c="lime")
        ax.set_title(s.id, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig
