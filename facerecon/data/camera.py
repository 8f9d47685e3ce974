"""The 3DDFA camera convention and the paper's 113×113 cropping (§3.3.3).

Rotation ``R = Rx(φ)·Ry(γ)·Rz(θ)`` (pitch φ, yaw γ, roll θ) with the matrices of 3DDFA / face3d, scaled
orthographic projection ``P = f·R·V + t``, image ``y = H + 1 − P_y`` (MATLAB, 1-based). Throughout the project,
image and crop coordinates are 0-based pixel centres: x right, y down; z scaled like x and y, larger z = closer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh.frame import CROP_SIZE



def rotation_3ddfa(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """The 3×3 rotation of 3DDFA for angles in radians (equals scipy ``from_euler('XYZ', [-φ, -γ, -θ])``)."""
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    cr, sr = np.cos(roll), np.sin(roll)
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cr, sr, 0], [-sr, cr, 0], [0, 0, 1]])
    return rx @ ry @ rz


def project_3ddfa(vertices: np.ndarray, pose_para: np.ndarray, image_height: int) -> np.ndarray:
    """Model vertices ``(N, 3)`` → image points ``(N, 3)`` (0-based pixels, y down, z larger = closer).

    ``pose_para``: the 7 values of 300W-LP / AFLW2000-3D ``Pose_Para``: pitch, yaw, roll, tx, ty, tz, f.
    """
    pose_para = np.asarray(pose_para, dtype=np.float64).reshape(-1)
    if pose_para.shape != (7,):
        raise ValueError(f"Pose_Para must hold 7 values (pitch, yaw, roll, tx, ty, tz, f), got {pose_para.shape}")
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (N, 3), got {vertices.shape}")
    pitch, yaw, roll, tx, ty, tz, f = pose_para
    projected = f * vertices @ rotation_3ddfa(pitch, yaw, roll).T + np.array([tx, ty, tz])
    x = projected[:, 0] - 1.0                      # MATLAB 1-based → 0-based
    y = image_height + 1.0 - projected[:, 1] - 1.0
    return np.stack([x, y, projected[:, 2]], axis=1)


@dataclass(frozen=True)
class CropBox:
    """A square box in image pixels: left ``x0``, top ``y0``, side ``side``; maps to ``size``×``size``."""

    x0: float
    y0: float
    side: float
    size: int = CROP_SIZE

    @property
    def scale(self) -> float:
        return self.size / self.side

    def to_array(self) -> np.ndarray:
        return np.array([self.x0, self.y0, self.side, self.size], dtype=np.float64)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Image points ``(N, 2|3)`` → crop points: ``x' = (x − x0)·S/s``, ``y' = (y − y0)·S/s``, ``z' = z·S/s``."""
        points = np.asarray(points, dtype=np.float64)
        out = points * self.scale
        out[:, 0] -= self.x0 * self.scale
        out[:, 1] -= self.y0 * self.scale
        return out


def crop_box_from_points(points: np.ndarray, margin: float = 1.0, size: int = CROP_SIZE) -> CropBox:
    """The paper's box: square, centred on the bounding box of ``points (N, ≥2)``, side ``max(w, h)·margin``."""
    points = np.asarray(points, dtype=np.float64)
    finite = points[np.isfinite(points[:, :2]).all(axis=1), :2]
    if len(finite) < 2:
        raise ValueError("crop_box_from_points needs at least 2 finite points")
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    side = float(max(hi - lo)) * margin
    if side <= 0:
        raise ValueError("crop_box_from_points: the points have zero extent")
    cx, cy = (lo + hi) / 2
    return CropBox(cx - side / 2, cy - side / 2, side, size)


def crop_image(image: np.ndarray, box: CropBox) -> np.ndarray:
    """Crop ``image (H, W, 3)`` to ``box`` with zero padding outside, resampled bilinearly to S×S.

    Output pixel ``j`` samples the image at ``x0 + j·s/S``: the same map as :meth:`CropBox.apply`, so the
    mapped mesh and landmarks land exactly on the image content. Bilinear interpolation is separable: rows first,
    then columns, in float64 (numpy only: the photo tool runs without torch; torch's ``grid_sample`` with
    ``align_corners=True, padding_mode="zeros"`` gives the same up to its float32 rounding).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got {image.shape}")
    offsets = np.arange(box.size, dtype=np.float64) / box.scale
    rows, row_weights = _bilinear_taps(box.y0 + offsets, image.shape[0])            # (S, 2) each
    cols, col_weights = _bilinear_taps(box.x0 + offsets, image.shape[1])
    picked = image[rows].astype(np.float64)                                          # (S, 2, W, 3)
    between_rows = (picked * row_weights[:, :, None, None]).sum(1)                   # (S, W, 3)
    out = (between_rows[:, cols] * col_weights[None, :, :, None]).sum(2)             # (S, S, 3)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8) if image.dtype == np.uint8 else out.astype(image.dtype)


def _bilinear_taps(positions: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The two pixels (of ``0 … n-1``) on either side of each position and their linear-interpolation weights,
    ``(len(positions), 2)`` each; a pixel outside the image weighs nothing (zero padding)."""
    lower = np.floor(positions).astype(np.int64)
    frac = positions - lower
    index = np.stack([lower, lower + 1], 1)
    weight = np.stack([1 - frac, frac], 1)
    inside = (index >= 0) & (index < n)
    return np.clip(index, 0, n - 1), np.where(inside, weight, 0.0)
