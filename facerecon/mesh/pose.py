"""Weak-perspective pose from landmarks: the 3DDFA-style camera that places a 3D shape on 2D landmarks.

Used by the mean-face baseline and by the generator's landmark-posed prior; and the similarity (Procrustes)
alignment of one point set onto another. The shape is in a y-up frame; the
image in y-down pixels (or normalized crop units); depth follows the rotated shape, centred on its origin.
"""

from __future__ import annotations

import numpy as np
import torch

Y_DOWN = (1.0, -1.0, 1.0)


def fit_weak_perspective(model_points: torch.Tensor, image_points: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scale ``s (B,)``, rotation ``R (B, 3, 3)``, translation ``t (B, 2)`` with ``image ≈ s·(R·X)[:2] + t``.

    ``model_points (N, 3)`` (y up) shared by the batch; ``image_points (B, N, 2)`` (y down). Least-squares
    affine camera, then the nearest scaled rotation by SVD (the rows of a weak-perspective camera are
    orthonormal). Needs no gradient.
    """
    if model_points.ndim != 2 or model_points.shape[1] != 3:
        raise ValueError(f"model_points must be (N, 3), got {tuple(model_points.shape)}")
    if image_points.ndim != 3 or image_points.shape[1:] != (model_points.shape[0], 2):
        raise ValueError(f"image_points must be (B, {model_points.shape[0]}, 2), got {tuple(image_points.shape)}")
    x = model_points * model_points.new_tensor(Y_DOWN)
    x_mean, p_mean = x.mean(0), image_points.mean(1)
    affine = torch.linalg.pinv(x - x_mean) @ (image_points - p_mean[:, None])        # (B, 3, 2)
    u, sv, vh = torch.linalg.svd(affine.transpose(1, 2), full_matrices=False)         # (B, 2, 3) camera rows
    rows = u @ vh
    rotation = torch.cat([rows, torch.linalg.cross(rows[:, 0], rows[:, 1])[:, None]], 1)
    scale = sv.mean(-1)
    translation = p_mean - scale[:, None] * (x_mean @ rows.transpose(1, 2))
    return scale, rotation, translation


def weak_perspective_solver(model_points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What :func:`fit_weak_perspective_closed_form` needs of ``model_points (N, 3)`` (y up): their mean in
    the y-down frame ``(3,)`` and the pseudo-inverse of the centred points ``(3, N)``."""
    x = model_points * model_points.new_tensor(Y_DOWN)
    return x.mean(0), torch.linalg.pinv(x - x.mean(0))


def fit_weak_perspective_closed_form(model_mean: torch.Tensor, model_pinv: torch.Tensor, image_points: torch.Tensor
                                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`fit_weak_perspective` without an SVD (ONNX has none), from :func:`weak_perspective_solver`'s
    ``model_mean (3,)`` and ``model_pinv (3, N)`` and ``image_points (B, N, 2)``.

    The nearest scaled rotation of the affine camera ``M (2, 3)`` is its polar factor ``(M Mᵀ)^{-1/2} M``. For the
    2×2 ``G = M Mᵀ`` with ``δ = √det G`` and ``τ = √(tr G + 2δ)`` (= the sum of M's singular values),
    ``√G = (G + δI) / τ`` and ``(√G)^{-1} = adj(G + δI) / (δ τ)``; the scale is ``τ / 2``, the mean singular
    value. Same pose as the SVD for any camera of rank 2.
    """
    p_mean = image_points.mean(1)
    camera = (model_pinv @ (image_points - p_mean[:, None])).transpose(1, 2)          # (B, 2, 3)
    gram = camera @ camera.transpose(1, 2)
    a, b, c = gram[:, 0, 0], gram[:, 0, 1], gram[:, 1, 1]
    delta = (a * c - b * b).clamp(min=0).sqrt()
    tau = (a + c + 2 * delta).sqrt()
    inverse_root = torch.stack([torch.stack([c + delta, -b], -1), torch.stack([-b, a + delta], -1)], 1)
    rows = inverse_root @ camera / (delta * tau)[:, None, None]
    r0, r1 = rows[:, 0], rows[:, 1]
    third = torch.stack([r0[:, 1] * r1[:, 2] - r0[:, 2] * r1[:, 1], r0[:, 2] * r1[:, 0] - r0[:, 0] * r1[:, 2],
                         r0[:, 0] * r1[:, 1] - r0[:, 1] * r1[:, 0]], -1)
    rotation = torch.cat([rows, third[:, None]], 1)
    scale = tau / 2
    translation = p_mean - scale[:, None] * (model_mean @ rows.transpose(1, 2))
    return scale, rotation, translation


def apply_weak_perspective(points: torch.Tensor, scale: torch.Tensor, rotation: torch.Tensor,
                           translation: torch.Tensor) -> torch.Tensor:
    """``points (M, 3)`` or ``(B, M, 3)`` (y up) posed per batch element → ``(B, M, 3)`` in the image frame
    (y down)."""
    out = scale[:, None, None] * ((points * points.new_tensor(Y_DOWN)) @ rotation.transpose(1, 2))
    return torch.cat([out[..., :2] + translation[:, None], out[..., 2:]], -1)


def shape_unit(model_landmarks: torch.Tensor) -> torch.Tensor:
    """A tenth of the RMS radius of ``model_landmarks (68, 3)``: the unit in which shape offsets are O(1)."""
    centred = model_landmarks - model_landmarks.mean(0)
    return centred.square().sum(1).mean().sqrt() / 10


def landmark_residuals(model_landmarks: torch.Tensor, observed: torch.Tensor, pose: tuple) -> torch.Tensor:
    """``(B, 2·68 + 9)``: the offsets of ``observed (B, 68, 2)`` (image frame) from ``model_landmarks (68, 3)``
    posed by ``pose`` (:func:`fit_weak_perspective`), in the image plane divided by the fitted scale and
    :func:`shape_unit` (translation and scale removed, the rotation not), followed by the rotation ``(B, 9)``."""
    scale, rotation, translation = pose
    posed = apply_weak_perspective(model_landmarks, scale, rotation, translation)[..., :2]
    offsets = (observed - posed) / (scale[:, None, None] * shape_unit(model_landmarks))
    return torch.cat([offsets.reshape(observed.shape[0], -1), rotation.reshape(observed.shape[0], 9)], 1)


def similarity_transform(source, target) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The least-squares similarity moving ``source (N, 3)`` onto ``target (N, 3)`` (Umeyama 1991):
    ``(scale, rotation (3, 3), source mean, target mean)`` for :func:`apply_similarity`."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mu_s, mu_t = source.mean(0), target.mean(0)
    a, b = source - mu_s, target - mu_t
    u, sig, vt = np.linalg.svd(a.T @ b)
    corr = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ corr @ vt                     # a @ rotation ≈ b / scale
    scale = float((sig * np.diag(corr)).sum() / (a ** 2).sum())
    return scale, rotation, mu_s, mu_t


def apply_similarity(points, transform) -> np.ndarray:
    """``points (N, 3)`` moved by a :func:`similarity_transform`."""
    scale, rotation, mu_s, mu_t = transform
    return scale * (np.asarray(points, np.float64) - mu_s) @ rotation + mu_t
