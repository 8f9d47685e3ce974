"""Weak-perspective pose from landmarks: the 3DDFA-style camera that places a 3D shape on 2D landmarks.

Used by the mean-face baseline and by the generator's landmark-posed prior. The shape is in a y-up frame; the
image in y-down pixels (or normalized crop units); depth follows the rotated shape, centred on its origin.
"""

from __future__ import annotations

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


def apply_weak_perspective(points: torch.Tensor, scale: torch.Tensor, rotation: torch.Tensor,
                           translation: torch.Tensor) -> torch.Tensor:
    """``points (M, 3)`` or ``(B, M, 3)`` (y up) posed per batch element → ``(B, M, 3)`` in the image frame
    (y down)."""
    out = scale[:, None, None] * ((points * points.new_tensor(Y_DOWN)) @ rotation.transpose(1, 2))
    return torch.cat([out[..., :2] + translation[:, None], out[..., 2:]], -1)
