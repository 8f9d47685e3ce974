"""Figures of the data chapter (``00_data``): model overview, sample grids, pose histograms, real samples."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..data.morphable import EXPRESSION_NAMES, FaceModel
from ..data.render import Light, to_numpy_uint8
from ..data.hidden_shape import sample_bumps
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


def same_landmarks_figure(model: FaceModel, rng: np.random.Generator, pairs: int = 2, yaw_deg: float = 35.0,
                          hidden_sd: float = 1.5) -> tuple[plt.Figure, float]:
    """Faces with the same 68 landmarks and different shapes (v2's hidden identity at ``hidden_sd`` standard
    deviations, and detail), rendered at ``yaw_deg``, with the depth difference between each pair; returns the
    figure and the largest landmark displacement between the two faces of a pair (model units: 0 up to
    rounding)."""
    fig, axes = plt.subplots(pairs, 3, figsize=(8.4, 2.9 * pairs))
    axes = np.atleast_2d(axes)
    largest = 0.0
    for row in range(pairs):
        id_c = rng.standard_normal(len(model.id_basis))
        shapes = [model.shape(id_c, None, hidden_sd * rng.standard_normal(len(model.hidden_basis)),
                              sample_bumps(rng, model.config.hidden)) for _ in range(2)]
        largest = max(largest, float(np.abs(shapes[0][model.landmark_index] - shapes[1][model.landmark_index]).max()))
        for col, shape in enumerate(shapes):
            axes[row, col].imshow(render_preview(model, shape, yaw_deg))
            axes[row, col].set_title(f"pair {row + 1}, face {'AB'[col]}", fontsize=9)
        diff = axes[row, 2].scatter(model.uv[:, 0], model.uv[:, 1], c=shapes[0][:, 2] - shapes[1][:, 2], s=2,
                                    cmap="coolwarm")
        lm = model.uv[model.landmark_index]
        axes[row, 2].plot(lm[:, 0], lm[:, 1], "k.", markersize=3)
        axes[row, 2].set(title="depth A − B (mm) over the (s, v) square; dots: landmarks", aspect="equal")
        axes[row, 2].title.set_fontsize(8)
        fig.colorbar(diff, ax=axes[row, 2], shrink=0.8)
    for ax in axes[:, :2].ravel():
        ax.axis("off")
    fig.tight_layout()
    return fig, largest


def mode_extremes_figure(model: FaceModel, mean: np.ndarray, basis: np.ndarray, modes: int = 3,
                         yaw_deg: float = 30.0) -> plt.Figure:
    """The mean of the aligned training meshes and ``±3σ`` along the first ``modes`` principal components
    (``basis (k, N, 3)`` scaled by σ, as :class:`~facerecon.data.landmark_information.ShapeSpace` holds it)."""
    fig, axes = plt.subplots(modes, 3, figsize=(6.6, 2.3 * modes))
    axes = np.atleast_2d(axes)
    for k in range(modes):
        for col, sign in enumerate((-3, 0, 3)):
            axes[k, col].imshow(render_preview(model, mean + sign * basis[k], yaw_deg, 128))
            axes[k, col].set_title(f"mode {k + 1}: {sign:+d}σ" if sign else f"mode {k + 1}: mean", fontsize=9)
            axes[k, col].axis("off")
    fig.tight_layout()
    return fig


def unexplained_histogram(measure: dict) -> plt.Figure:
    """Per-face fractions of the landmark-fit measures (``landmark_information``'s output)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    series = [("oracle_3d", "oracle: 3D landmark vertices"),
              ("exact_inversion", "bound: exact identity and expression"),
              ("realistic_2d", "realistic: 2D landmarks, estimated pose"),
              ("pca_residual", "PCA representation residual (whole mesh)")]
    bins = np.linspace(0, 1, 41)
    for key, label in series:
        if key in measure:
            ax.hist(measure[key], bins=bins, alpha=0.55, label=f"{label} (median {measure[key + '_median']:.2f})")
    ax.axvline(0.35, color="k", ls="--", lw=1)
    ax.set(xlabel="fraction of the deviation from the mean left unexplained", ylabel="test faces")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
