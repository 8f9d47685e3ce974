"""A vectorized z-buffer rasterizer in torch (headless CPU, no OpenGL) and Lambertian shading.

Coordinates are crop pixels: pixel ``(row j, col i)`` has its centre at ``(x=i, y=j)``; ``z`` larger = closer.
Under the orthographic (weak-perspective) camera, screen-space barycentrics are the 3D ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# Triangles are rasterized in buckets of similar pixel extent, each with a fixed candidate window.
_BUCKETS = ((1, 2), (3, 4), (5, 8), (9, 16), (17, 64), (65, 4096))


@dataclass
class Fragments:
    """Per-pixel rasterization output for an ``H×W`` image.

    face: ``(H, W)`` int64 triangle index, -1 where no triangle covers the pixel.
    bary: ``(H, W, 3)`` barycentric weights of the covering triangle's vertices.
    depth: ``(H, W)`` interpolated z (``-inf`` on the background).
    """

    face: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        return self.face >= 0

    def interpolate(self, attributes: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """Interpolate per-vertex ``attributes (N, C)`` → ``(H, W, C)`` (zeros on the background)."""
        h, w = self.face.shape
        out = attributes.new_zeros(h, w, attributes.shape[1])
        m = self.mask
        tri = faces[self.face[m]]                                  # (P, 3)
        out[m] = torch.einsum("pkc,pk->pc", attributes[tri], self.bary[m].to(attributes.dtype))
        return out


def rasterize(vertices: torch.Tensor, faces: torch.Tensor, height: int, width: int) -> Fragments:
    """Z-buffer rasterization of ``vertices (N, 3)`` (pixels, z larger = closer) with ``faces (F, 3)``.

    A pixel is covered by a triangle when its centre lies inside (edges inclusive); the closest covering
    triangle wins. Degenerate (zero-area) triangles are skipped.
    """
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (N, 3), got {tuple(vertices.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got {tuple(faces.shape)}")
    verts = vertices.to(torch.float64)
    tri = verts[faces]                                            # (F, 3, 3)
    xy = tri[..., :2]
    lo = torch.ceil(xy.amin(1))
    hi = torch.floor(xy.amax(1))
    lo = torch.maximum(lo, lo.new_zeros(2))
    hi = torch.minimum(hi, torch.tensor([width - 1.0, height - 1.0], dtype=hi.dtype))
    extent = (hi - lo + 1).amax(1)
    (x0, y0), (x1, y1), (x2, y2) = (xy[:, i].unbind(-1) for i in range(3))
    denom = (y1 - y2) * (x0 - x2) + (x2 - x1) * (y0 - y2)
    valid = (hi >= lo).all(1) & (denom.abs() > 1e-12)

    pixel_ids, depths, face_ids, barys = [], [], [], []
    for small, large in _BUCKETS:
        sel = torch.nonzero(valid & (extent >= small) & (extent <= large)).squeeze(1)
        if len(sel) == 0:
            continue
        k = int(extent[sel].max())
        offsets = torch.arange(k, dtype=torch.float64)
        px = (lo[sel, 0, None, None] + offsets[None, None, :]).expand(-1, k, k)
        py = (lo[sel, 1, None, None] + offsets[None, :, None]).expand(-1, k, k)
        in_box = (px <= hi[sel, 0, None, None]) & (py <= hi[sel, 1, None, None])
        e = lambda t: t[sel, None, None]  # noqa: E731
        l0 = ((e(y1) - e(y2)) * (px - e(x2)) + (e(x2) - e(x1)) * (py - e(y2))) / e(denom)
        l1 = ((e(y2) - e(y0)) * (px - e(x2)) + (e(x0) - e(x2)) * (py - e(y2))) / e(denom)
        l2 = 1 - l0 - l1
        eps = -1e-9
        inside = in_box & (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
        fi, jj, ii = torch.nonzero(inside, as_tuple=True)
        lam = torch.stack([l0[fi, jj, ii], l1[fi, jj, ii], l2[fi, jj, ii]], 1)
        z = (lam * tri[sel[fi], :, 2]).sum(1)
        pixel_ids.append((py[fi, jj, ii] * width + px[fi, jj, ii]).long())
        depths.append(z)
        face_ids.append(sel[fi])
        barys.append(lam)

    face_map = torch.full((height * width,), -1, dtype=torch.long)
    bary_map = torch.zeros(height * width, 3, dtype=torch.float32)
    zbuf = torch.full((height * width,), float("-inf"), dtype=torch.float64)
    if pixel_ids:
        pix = torch.cat(pixel_ids)
        z = torch.cat(depths)
        zbuf.scatter_reduce_(0, pix, z, reduce="amax")
        win = z >= zbuf[pix]
        face_map[pix[win]] = torch.cat(face_ids)[win]
        bary_map[pix[win]] = torch.cat(barys)[win].float()
    return Fragments(face_map.view(height, width), bary_map.view(height, width, 3),
                     zbuf.view(height, width).float())


@dataclass(frozen=True)
class Light:
    """Ambient + one directional light (Lambertian) with a weak Blinn-Phong highlight; colours are RGB."""

    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)   # towards the light, camera frame (y up)
    ambient: float = 0.45
    diffuse: float = 0.65
    specular: float = 0.08
    shininess: float = 20.0
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)


def shade(albedo: torch.Tensor, normals: torch.Tensor, light: Light) -> torch.Tensor:
    """Lambertian shading of per-pixel ``albedo (..., 3)`` with unit ``normals (..., 3)`` → RGB (..., 3).

    Normals pointing away from the camera (silhouette folds) are flipped: the surface is two-sided.
    """
    n = torch.where(normals[..., 2:3] < 0, -normals, normals)
    d = F.normalize(torch.tensor(light.direction, dtype=n.dtype), dim=0)
    lambert = (n * d).sum(-1, keepdim=True).clamp_min(0)
    half = F.normalize(d + torch.tensor([0.0, 0.0, 1.0], dtype=n.dtype), dim=0)
    spec = (n * half).sum(-1, keepdim=True).clamp_min(0) ** light.shininess
    colour = torch.tensor(light.colour, dtype=n.dtype)
    return (albedo * (light.ambient + light.diffuse * lambert) + light.specular * spec) * colour


def downsample(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Box-filter ``image (H·f, W·f, C)`` to ``(H, W, C)`` (anti-aliasing after supersampling)."""
    if factor == 1:
        return image
    return F.avg_pool2d(image.permute(2, 0, 1)[None], factor)[0].permute(1, 2, 0)


def to_numpy_uint8(image: torch.Tensor) -> np.ndarray:
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
