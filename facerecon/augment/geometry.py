"""A mesh's geometry rendering: the condition every generated image is drawn from (Algorithm 1, lines 8–12).

Four channels at the generator's resolution ``S``: the unit surface normal in the camera frame (x right, y up,
z towards the camera; two-sided, so z ≥ 0) and the depth (crop-frame z / 56.5, larger = closer; the crop mesh
has zero mean depth). The background is 0 in every channel, so the normal's z also marks the face's silhouette.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.render import rasterize
from ..mesh.frame import CROP_SIZE
from ..mesh.ops import vertex_normals

GEOMETRY_CHANNELS = 4
_CAMERA = torch.tensor([1.0, -1.0, 1.0])        # crop frame (y down) → camera frame (y up)


def _to_resolution(vertices: torch.Tensor, size: int) -> torch.Tensor:
    """Crop-pixel vertices ``(V, 3)`` → pixels of an ``size × size`` image of the same crop (z scaled alike)."""
    scale = size / CROP_SIZE
    return torch.cat([(vertices[:, :2] + 0.5) * scale - 0.5, vertices[:, 2:] * scale], 1)


def geometry_maps(vertices: np.ndarray, faces: np.ndarray, size: int) -> torch.Tensor:
    """``vertices (V, 3)`` in crop pixels on triangles ``faces (F, 3)`` → ``(4, size, size)`` float32:
    normal x, y, z and depth (see the module docstring), zero on the background."""
    vertices = torch.as_tensor(np.asarray(vertices), dtype=torch.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (V, 3) crop pixels, got {tuple(vertices.shape)}")
    faces_t = torch.as_tensor(np.asarray(faces), dtype=torch.long)
    fragments = rasterize(_to_resolution(vertices, size), faces_t, size, size)
    normals = vertex_normals((vertices * _CAMERA).float(), faces_t)
    attributes = torch.cat([normals, (vertices[:, 2:] / (CROP_SIZE / 2)).float()], 1)
    maps = fragments.interpolate(attributes, faces_t)                       # (S, S, 4)
    unit = F.normalize(maps[..., :3], dim=-1, eps=1e-12)
    unit = torch.where(unit[..., 2:3] < 0, -unit, unit)                      # two-sided, as the renderer shades
    maps = torch.cat([unit, maps[..., 3:]], -1) * fragments.mask[..., None]
    return maps.permute(2, 0, 1).contiguous()


def landmark_visibility(vertices: np.ndarray, faces: np.ndarray, landmark_index: np.ndarray,
                        size: int = CROP_SIZE) -> np.ndarray:
    """``(68,)`` bool: the landmark vertex is the closest surface at its pixel (within 1.5 crop pixels of depth),
    the test SynthFace uses, at ``size`` pixels."""
    vertices = torch.as_tensor(np.asarray(vertices), dtype=torch.float64)
    scaled = _to_resolution(vertices, size)
    depth = rasterize(scaled, torch.as_tensor(np.asarray(faces), dtype=torch.long), size, size).depth.numpy()
    points = scaled[torch.as_tensor(landmark_index)].numpy()
    pixel = np.rint(points[:, :2]).astype(int)
    inside = ((pixel >= 0) & (pixel < size)).all(1)
    visible = np.zeros(len(points), dtype=bool)
    tolerance = 1.5 * size / CROP_SIZE
    visible[inside] = points[inside, 2] >= depth[pixel[inside, 1], pixel[inside, 0]] - tolerance
    return visible
