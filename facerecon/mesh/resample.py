"""Resampling a GT mesh onto another disk-topology template through a fixed UV correspondence.

The discriminator must see "real" meshes with the generator's topology (or it tells real from fake by
topology alone). Every GT vertex has parameter coordinates ``uv ∈ [-1, 1]²`` (SynthFace: its ``(s, v)``; real
data: the normalized frontal projection of the BFM mean). A template whose vertices also carry ``uv`` (the
generator's hemisphere: :func:`disk_to_square` of its orthographic disk coordinates) gets, for each of its
vertices, the GT triangle containing that ``uv`` and the barycentric weights in it, computed once; resampling a
mesh is then a gather and a weighted sum.
"""

from __future__ import annotations

import numpy as np


def disk_to_square(points: np.ndarray) -> np.ndarray:
    """Map the unit disk onto the square ``[-1, 1]²`` radially: ``p ↦ p·‖p‖₂/‖p‖∞`` (``(M, 2)`` → ``(M, 2)``)."""
    points = np.asarray(points, dtype=np.float64)
    l2 = np.linalg.norm(points, axis=1, keepdims=True)
    linf = np.abs(points).max(axis=1, keepdims=True)
    scale = np.divide(l2, linf, out=np.ones_like(l2), where=linf > 1e-12)
    return np.clip(points * scale, -1.0, 1.0)


def barycentric(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Barycentric coordinates ``(M, 3)`` of 2D points ``p (M, 2)`` in triangles ``a, b, c (M, 2)``."""
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    denom = d00 * d11 - d01 * d01
    w1 = (d11 * d20 - d01 * d21) / denom
    w2 = (d00 * d21 - d01 * d20) / denom
    return np.stack([1 - w1 - w2, w1, w2], 1)


BRUTE_FORCE_PAIRS = 2_000_000   # target points × triangles below which every pair is tested directly


def containing_triangles(source_uv: np.ndarray, faces: np.ndarray, target_uv: np.ndarray) -> np.ndarray:
    """For each target point ``(M, 2)``, a triangle of ``faces (F, 3)`` over ``source_uv (N, 2)`` that contains it,
    or −1 (outside every one). Few points (the 68 landmarks) are tested against every triangle; many go through
    matplotlib's trapezoid-map finder, whose import and build cost 0.4 s of a photo command's start-up."""
    if len(target_uv) * len(faces) > BRUTE_FORCE_PAIRS:
        from matplotlib.tri import Triangulation

        finder = Triangulation(source_uv[:, 0], source_uv[:, 1], faces).get_trifinder()
        return np.asarray(finder(target_uv[:, 0], target_uv[:, 1]), dtype=np.int64)
    corners = source_uv[faces]                                                     # (F, 3, 2)
    m, f = len(target_uv), len(faces)
    weights = barycentric(np.repeat(target_uv, f, 0), *(np.tile(corners[:, k], (m, 1)) for k in range(3)))
    inside = (weights >= -1e-12).all(1).reshape(m, f)
    return np.where(inside.any(1), inside.argmax(1), -1).astype(np.int64)


class TemplateResampler:
    """Precomputed map from a source mesh ``(uv (N, 2), faces (F, 3))`` to target points ``uv (M, 2)``.

    ``resampler(vertices)`` maps source vertices ``(..., N, C)`` to ``(..., M, C)``. Target points outside
    the source domain snap to the nearest source triangle (barycentrics clamped and renormalized).
    """

    def __init__(self, source_uv: np.ndarray, source_faces: np.ndarray, target_uv: np.ndarray):
        source_uv = np.asarray(source_uv, dtype=np.float64)
        target_uv = np.asarray(target_uv, dtype=np.float64)
        faces = np.asarray(source_faces, dtype=np.int64)
        if source_uv.ndim != 2 or source_uv.shape[1] != 2 or target_uv.ndim != 2 or target_uv.shape[1] != 2:
            raise ValueError(f"uv arrays must be (N, 2) and (M, 2), got {source_uv.shape} and {target_uv.shape}")
        tri = containing_triangles(source_uv, faces, target_uv)
        outside = np.flatnonzero(tri < 0)
        if len(outside):  # nearest triangle by centroid
            centroids = source_uv[faces].mean(1)
            d = ((target_uv[outside, None, :] - centroids[None]) ** 2).sum(-1)
            tri[outside] = d.argmin(1)
        corners = source_uv[faces[tri]]
        weights = barycentric(target_uv, corners[:, 0], corners[:, 1], corners[:, 2])
        weights = np.clip(weights, 0, None)
        weights /= weights.sum(1, keepdims=True)
        self.vertex_index = faces[tri]          # (M, 3)
        self.weights = weights                  # (M, 3)

    def __call__(self, vertices):
        if not isinstance(vertices, np.ndarray) and hasattr(vertices, "device"):   # a tensor: torch is loaded
            import torch

            w = torch.as_tensor(self.weights, dtype=vertices.dtype, device=vertices.device)
            idx = torch.as_tensor(self.vertex_index, device=vertices.device)
            return (vertices[..., idx, :] * w[..., None]).sum(-2)
        vertices = np.asarray(vertices)
        return (vertices[..., self.vertex_index, :] * self.weights[..., None]).sum(-2)
