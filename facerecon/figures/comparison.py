"""Figures and tables of the comparison chapter (``05_table3_comparison``): Table 3 with intervals, the paired
differences, robustness curves (Figs. 10–12) and the qualitative grid (Fig. 14)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from plotly.subplots import make_subplots
from scipy.spatial import cKDTree

from ..data.render import Light, rasterize, shade
from ..mesh.frame import CROP_SIZE
from ..mesh.ops import vertex_normals
from ..training.stability import moving_average
from .plotly_offline import CROP_CAMERA, mesh_trace
from .tables import interval_cell, markdown_table

GREY_LIGHT = Light(direction=(0.3, 0.4, 1.0), ambient=0.3, diffuse=0.75, specular=0.05)


def interval(entry: dict, digits: int = 5) -> str:
    """``mean [lo, hi]`` of a ``{"mean", "ci95"}`` summary, ``digits`` decimals."""
    return interval_cell(entry["mean"], *entry["ci95"], decimals=digits)


def table3(rows: list[dict], *, digits: int = 5) -> str:
    """Markdown of ``results["table"]`` rows: mean and bootstrap 95 % interval per metric (times apart:
    :func:`timing_table`, since they vary from run to run)."""
    body = [[r["method"], r["setting"], r["n"], interval(r["cd"], digits), interval(r["emd"], 4),
             interval(r["nme2d"], 2), interval(r["nme3d"], 2)] for r in rows]
    return markdown_table(["method", "landmarks", "n", "CD / point", "EMD / point", "NME 2D", "NME 3D"], body)


def timing_table(rows: list[dict]) -> str:
    """Markdown: median inference time per image of each row (the predictor alone, model loaded)."""
    return markdown_table(["method", "landmarks", "ms / image (median)"],
                          [[r["method"], r["setting"], f"{r['ms_per_image']:.1f}"] for r in rows])


def paired_table(differences: dict[str, dict], *, digits: int = 5) -> str:
    """Markdown of paired differences ``row − ours`` (``{label: {metric: {"mean", "ci95", "detectable"}}}``)."""
    def cell(d, k):
        mark = "" if d["detectable"] else " (within noise)"
        return interval_cell(d["mean"], *d["ci95"], signed=True, decimals=k) + mark
    return markdown_table(["row − ours", "Δ CD / point", "Δ EMD / point", "Δ NME 2D", "Δ NME 3D"],
                          [[label, cell(d["cd"], digits), cell(d["emd"], 4), cell(d["nme2d"], 2), cell(d["nme3d"], 2)]
                           for label, d in differences.items()])


def robustness_figure(curves: dict[str, dict[str, dict[str, list]]]) -> plt.Figure:
    """``curves[panel][method] = {"x": labels, "mean": [...], "lo": [...], "hi": [...]}``: CD per point with its
    interval against each robustness axis (one panel per axis)."""
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4), squeeze=False)
    for ax, (panel, methods) in zip(axes[0], curves.items()):
        for method, c in methods.items():
            x = np.arange(len(c["x"]))
            ax.errorbar(x, c["mean"], yerr=[np.subtract(c["mean"], c["lo"]), np.subtract(c["hi"], c["mean"])],
                        marker="o", capsize=3, label=method)
            ax.set_xticks(x, c["x"])
        ax.set_title(panel)
        ax.set_ylabel("CD / point")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def render_mesh(vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray | None = None, scale: int = 2
                ) -> np.ndarray:
    """A shaded image ``(113·scale, 113·scale, 3)`` in [0, 1] of a crop-pixel mesh on white; ``colours (V, 3)``
    replace the grey albedo (error maps)."""
    v = torch.as_tensor(np.asarray(vertices, np.float64)).float()
    f = torch.as_tensor(np.asarray(faces, np.int64))
    size = CROP_SIZE * scale
    screen = torch.cat([(v[:, :2] + 0.5) * scale - 0.5, v[:, 2:] * scale], 1)
    frags = rasterize(screen, f, size, size)
    normals = vertex_normals(v * torch.tensor([1.0, -1.0, 1.0]), f)                 # camera frame, y up
    albedo = torch.full((len(v), 3), 0.75) if colours is None else torch.as_tensor(colours).float()
    attributes = frags.interpolate(torch.cat([normals, albedo], 1), f)
    rgb = shade(attributes[..., 3:], torch.nn.functional.normalize(attributes[..., :3], dim=-1, eps=1e-12), GREY_LIGHT)
    mask = frags.mask[..., None].float()
    return (rgb * mask + (1 - mask)).clamp(0, 1).numpy()


def surface_error(vertices: np.ndarray, gt_vertices: np.ndarray) -> np.ndarray:
    """``(V,)``: each predicted vertex's distance (crop pixels) to the nearest GT vertex, mean depths removed."""
    centre = lambda p: np.asarray(p, np.float64) - np.array([0, 0, np.mean(np.asarray(p)[:, 2])])   # noqa: E731
    return cKDTree(centre(gt_vertices)).query(centre(vertices))[0]


def examples_figure(samples: list[dict], gt_faces: np.ndarray, predictions: dict[str, list], max_error: float = 6.0
                    ) -> plt.Figure:
    """Fig. 14: per sample (rows) the input crop, the GT mesh, and each method's mesh coloured by its distance
    to the GT surface (0 → ``max_error`` crop pixels, blue → red)."""
    cmap = plt.get_cmap("coolwarm")
    columns = 2 + len(predictions)
    fig, axes = plt.subplots(len(samples), columns, figsize=(1.9 * columns, 1.9 * len(samples)), squeeze=False)
    for r, sample in enumerate(samples):
        axes[r][0].imshow(sample["image"])
        axes[r][1].imshow(render_mesh(sample["vertices"], gt_faces))
        for c, (name, preds) in enumerate(predictions.items(), start=2):
            p = preds[r]
            error = np.clip(surface_error(p.vertices, sample["vertices"]) / max_error, 0, 1)
            axes[r][c].imshow(render_mesh(p.vertices, p.faces, cmap(error)[:, :3]))
        for c, title in enumerate(["input", "GT", *predictions]):
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def learning_curves(curves: dict[str, dict[str, np.ndarray]], window: int = 20) -> plt.Figure:
    """Training loss against samples seen, one panel per loss: ``curves[panel][row] = {"samples": (T,), "loss":
    (T,)}`` (moving average over ``window`` steps, log scale)."""
    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 3.6), squeeze=False)
    for ax, (panel, rows) in zip(axes[0], curves.items()):
        for name, c in rows.items():
            loss = moving_average(np.asarray(c["loss"], np.float64), window)
            ax.plot(np.asarray(c["samples"])[window // 2: window // 2 + len(loss)], loss, label=name)
        ax.set(title=panel, xlabel="training samples seen", yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def interactive_examples(sample: dict, gt_faces: np.ndarray, predictions: dict, max_error: float = 6.0):
    """Fig. 14, interactive: the GT of ``sample`` and each ``predictions[name]`` (a ``Prediction``) as 3D meshes
    side by side (plotly, offline renderer), each prediction coloured by its distance to the GT surface in crop
    pixels (0 to ``max_error``, as in :func:`examples_figure`); coordinates rounded to 0.01 pixel."""
    meshes = {"ground truth": (sample["vertices"], gt_faces, None)}
    meshes.update({name: (p.vertices, p.faces, surface_error(p.vertices, sample["vertices"]))
                   for name, p in predictions.items()})
    fig = make_subplots(rows=1, cols=len(meshes), specs=[[{"type": "scene"}] * len(meshes)],
                        subplot_titles=list(meshes))
    for col, (vertices, faces, error) in enumerate(meshes.values(), start=1):
        shading = {} if error is None else dict(intensity=np.round(np.minimum(error, max_error), 2),
                                                colorscale="Turbo", showscale=col == len(meshes), cmin=0,
                                                cmax=max_error,
                                                colorbar=dict(title=dict(text="distance to the GT<br>(crop pixels)",
                                                                         side="right")))
        fig.add_trace(mesh_trace(np.round(np.asarray(vertices, np.float64), 2), faces, **shading), row=1, col=col)
        fig.update_scenes(dict(aspectmode="data", camera=CROP_CAMERA, xaxis_visible=False, yaxis_visible=False,
                               zaxis_visible=False), row=1, col=col)
    # the titles sit below the top edge and the toolbar stands on the right: it hid the last title
    fig.update_layout(height=440, margin=dict(l=0, r=40, t=60, b=0), modebar=dict(orientation="v"))
    return fig
