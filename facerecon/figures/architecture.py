"""Figures and tables of the generator/discriminator chapter (``04_generator_discriminator``)."""

from __future__ import annotations

import statistics
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..mesh.frame import CROP_SIZE
from ..metrics import chamfer_distance, earth_movers_distance
from ..models.architectures import build, get_architecture
from .tables import markdown_table

GENERATOR_TARGET_MS = 150.0   # the study's target for the paper-layout generator, batch 1, 2 CPU cores

# The sizes the paper states (§3.3.1, §3.3.2, §4.2), for the side-by-side table.
PAPER_STATED = {
    "stem": "111×111×32", "stage 1": "111×111×16", "stage 2": "57×57×24", "stage 3": "—", "stage 4": "29×29×80",
    "stage 5": "—", "stage 6": "—", "stage 7": "29×29×320", "template": "141 vertices, 210 faces",
    "output mesh": "6,910 vertices, 13,440 faces", "GCN block": "96 features",
}


def _hw(shape) -> str:
    c, h, w = shape
    return f"{h}×{w}×{c}"


def paper_size_table(info: dict) -> str:
    """The sizes the code produces (the paper layout) beside the paper's stated sizes, as Markdown."""
    ours = {"stem": _hw(info["encoder"]["stem"])}
    ours.update({f"stage {k}": _hw(s) for k, s in enumerate(info["encoder"]["stages"], 1)})
    first, last = info["mesh_levels"][0], info["mesh_levels"][-1]
    ours["template"] = f"{first['vertices']} vertices, {first['faces']} faces"
    ours["output mesh"] = f"{last['vertices']:,} vertices, {last['faces']:,} faces"
    ours["GCN block"] = f"{info['discriminator']['gcn_block_width']} features"
    rows = [[k, PAPER_STATED[k], ours[k]] for k in PAPER_STATED]
    return markdown_table(["part", "paper (reported)", "this code (measured)"], rows)


def size_table(sizes: dict[str, dict]) -> str:
    rows = []
    for name, s in sizes.items():
        p, f = s["parameters"], s["flops_per_image"]
        rows.append([name, s["mesh_levels"][-1]["vertices"], f"{p['encoder']:,}", f"{p['decoder']:,}",
                     f"{p['discriminator']:,}", f"{f['encoder'] / 1e9:.3f}", f"{f['decoder'] / 1e9:.3f}",
                     f"{f['discriminator'] / 1e9:.4f}"])
    return markdown_table(["architecture", "output vertices", "encoder params", "decoder params", "D params",
                           "encoder GFLOPs", "decoder GFLOPs", "D GFLOPs"], rows)


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def timing_table(repeats: int, batch: int, emd_points: int) -> dict:
    """Median timings on this machine: paper-layout generator (batch 1 and ``batch``), discriminator, metrics."""
    generator, discriminator = build(get_architecture("paper"))
    generator.eval()
    discriminator.eval()
    out: dict = {"threads": torch.get_num_threads()}
    for b in sorted({1, batch}):
        images = torch.rand(b, 3, CROP_SIZE, CROP_SIZE)
        landmarks = torch.rand(b, 68, 2) * CROP_SIZE
        t = _median_time(lambda: generator(images, landmarks), repeats)
        out[f"generator_paper_batch{b}_ms"] = 1000 * t / b
    meshes = generator(torch.rand(max(batch, 2), 3, CROP_SIZE, CROP_SIZE), torch.rand(max(batch, 2), 68, 2) * 113)[-1]
    out["discriminator_ms_per_mesh"] = 1000 * _median_time(lambda: discriminator(meshes), repeats) / len(meshes)
    rng = np.random.default_rng(0)
    p, q = rng.random((emd_points, 3)), rng.random((emd_points, 3))
    out[f"emd_{emd_points}_ms"] = 1000 * _median_time(lambda: earth_movers_distance(p, q), max(1, repeats // 2))
    p, q = rng.random((7001, 3)), rng.random((7001, 3))
    out["chamfer_7001_ms"] = 1000 * _median_time(lambda: chamfer_distance(p, q), repeats)
    rows = [[k.replace("_", " "), f"{v:.1f}"] for k, v in out.items() if k != "threads"]
    out["table"] = f"torch threads: {out['threads']}\n\n" + markdown_table(["measurement", "ms"], rows)
    return out


def encoder_maps(image: torch.Tensor, stages: list[torch.Tensor]) -> plt.Figure:
    """The input crop and the channel-mean activation of stages 1, 2, 3 and 7."""
    fig, axes = plt.subplots(1, 5, figsize=(13, 2.8))
    axes[0].imshow(image.permute(1, 2, 0).numpy())
    axes[0].set_title("input 113×113×3")
    for ax, k in zip(axes[1:], (0, 1, 2, 6)):
        s = stages[k][0]
        ax.imshow(s.abs().mean(0).numpy(), cmap="magma")
        ax.set_title(f"stage {k + 1}: {s.shape[1]}×{s.shape[2]}×{s.shape[0]}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def template_levels(verts: list[np.ndarray], faces: list[np.ndarray], literal) -> plt.Figure:
    """Wireframes of the template and its subdivisions (front view), and the literal layout for contrast."""
    fig, axes = plt.subplots(1, len(verts) + 1, figsize=(3 * (len(verts) + 1), 3))
    for ax, v, f in zip(axes, verts, faces):
        ax.triplot(v[:, 0], -v[:, 1], f, lw=0.3 if len(v) > 1000 else 0.6, color="k")
        ax.set_title(f"{len(v):,} vertices / {len(f):,} faces", fontsize=9)
    lv = literal.vertices
    axes[-1].triplot(lv[:, 0], lv[:, 1], literal.faces, lw=0.5, color="firebrick")
    axes[-1].set_title("literal layout (141/210)", fontsize=9)
    for ax in axes:
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    return fig


def vertex_alignment(image: torch.Tensor, vertices: torch.Tensor, features: torch.Tensor) -> plt.Figure:
    """Projected template vertices on the input, and the same coloured by the first PCA component of the
    features sampled there."""
    px = vertices[:, :2].numpy() * CROP_SIZE
    f = features.numpy() - features.numpy().mean(0)
    pc1 = f @ np.linalg.svd(f, full_matrices=False)[2][0]
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax in axes:
        ax.imshow(image.permute(1, 2, 0).numpy())
        ax.axis("off")
    axes[0].scatter(px[:, 0], px[:, 1], s=6, c="cyan")
    axes[0].set_title("template vertices projected")
    sc = axes[1].scatter(px[:, 0], px[:, 1], s=14, c=pc1, cmap="coolwarm")
    axes[1].set_title("sampled features (1st PC)")
    fig.colorbar(sc, ax=axes[1], fraction=0.046)
    fig.tight_layout()
    return fig
