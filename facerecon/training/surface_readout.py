"""An auxiliary readout of the GT surface from the encoder's maps (a study option, not in the paper).

The generator reads the image only through its encoder's maps sampled at each vertex's projection (vertex
alignment, :meth:`~facerecon.models.generator.MeshGenerator.vertex_alignment`); how shading becomes shape the
encoder learns only through the graph blocks and the offset heads, from the mesh terms. This readout gives it a
direct and dense target: a linear map of the same maps, sampled at each GT surface point's projection, predicts that
point's normal and its depth (relative to the sample's mean depth, in units of the sample's depth spread: depth is
not observed in the image, its variation is). ``TrainConfig.surface_readout_weight`` weights the term (0: off, the
paper's training); the readout trains with the generator, is kept in checkpoints and is not part of the model:
inference never uses it.

Points on the far side of the surface (their normal facing away from the camera, as the far cheek at large yaw) are
left out: the image shows another surface at their projection. Normals keep the GT mesh's orientation, whatever it
is: "towards the camera" is the sign most of a sample's area has (a face is seen from its front).
"""

from __future__ import annotations

import torch
from torch import nn

from ..models.generator import MeshGenerator


class SurfaceReadout(nn.Module):
    """``features [(B, C_s, H_s, W_s)]`` (the generator's sampled encoder stages) and ``points (B, P, 3)``
    (normalized crop frame) → predicted ``normals (B, P, 3)`` and ``depth (B, P)`` at the points' projections."""

    def __init__(self, channels: int):
        super().__init__()
        self.linear = nn.Linear(channels, 4)

    def forward(self, features: list[torch.Tensor], points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.linear(MeshGenerator.vertex_alignment(features, points))
        return out[..., :3], out[..., 3]


def facing_camera(normals: torch.Tensor) -> torch.Tensor:
    """``(B, P)`` bool: the points whose normal ``(B, P, 3)`` has the depth sign most of their sample has."""
    towards = torch.sign(normals[..., 2].sum(1, keepdim=True))
    return normals[..., 2] * towards > 0


def surface_readout_loss(readout: SurfaceReadout, features: list[torch.Tensor], points: torch.Tensor,
                         normals: torch.Tensor) -> torch.Tensor:
    """``()``: per sample, the mean over its camera-facing points of the squared normal error plus the squared
    error of the centred depth in units of the GT's depth spread; averaged over the batch. ``points, normals
    (B, P, 3)``: GT surface samples and their normals (the batch's ``gt_points``, ``gt_normals``)."""
    weight = facing_camera(normals).to(points.dtype)
    weight = weight / weight.sum(1, keepdim=True).clamp_min(1.0)

    def centred(depth: torch.Tensor) -> torch.Tensor:
        return depth - (weight * depth).sum(1, keepdim=True)

    predicted_normals, predicted_depth = readout(features, points)
    target = centred(points[..., 2])
    spread = (weight * target ** 2).sum(1, keepdim=True).sqrt().clamp_min(1e-6)
    depth_error = ((centred(predicted_depth) - target) / spread) ** 2
    normal_error = ((predicted_normals - normals) ** 2).sum(-1)
    return (weight * (normal_error + depth_error)).sum(1).mean()
