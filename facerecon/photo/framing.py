"""Where the 113×113 crop of a photo goes, from its 68 landmarks alone.

SynthFace crops every face from the bounding box of its *ground-truth mesh* (paper §3.3.3: "cropped to the face
bounding box"), and the models learn that framing. A photo has no mesh, only landmarks, whose box is smaller
(no forehead) and lower. The study frames a photo like the training crops: the crop box is the landmark box
scaled and shifted by the ratios measured on SynthFace (:func:`measure_framing`), medians over faces. The values
travel with the shipped model (its provenance JSON) and are a parameter of ``facerecon reconstruct``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..data.camera import CropBox
from ..mesh.frame import CROP_SIZE


@dataclass(frozen=True)
class LandmarkFraming:
    """The crop box from the 68-landmark box: side = ``side_ratio`` × the landmark box's longer side; centre =
    the landmark box's centre + ``(offset_x, offset_y)`` × that side (image pixels, y down)."""

    side_ratio: float
    offset_x: float
    offset_y: float

    def __post_init__(self):
        if not (np.isfinite(self.side_ratio) and self.side_ratio > 0):
            raise ValueError(f"side_ratio must be a positive number, got {self.side_ratio}")
        if not (np.isfinite(self.offset_x) and np.isfinite(self.offset_y)):
            raise ValueError(f"offsets must be finite, got {self.offset_x}, {self.offset_y}")

    def box(self, landmarks68: np.ndarray, size: int = CROP_SIZE) -> CropBox:
        """The crop box of ``landmarks68 (68, ≥2)`` (image pixels)."""
        centre, side = landmark_box(landmarks68)
        crop_side = self.side_ratio * side
        cx, cy = centre + np.array([self.offset_x, self.offset_y]) * side
        return CropBox(cx - crop_side / 2, cy - crop_side / 2, crop_side, size)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def crop_to_image(box: CropBox, points: np.ndarray) -> np.ndarray:
    """Crop points ``(N, 2|3)`` → image points: the inverse of ``box.apply`` (z scaled back like x)."""
    points = np.asarray(points, dtype=np.float64)
    out = points / box.scale
    out[:, 0] += box.x0
    out[:, 1] += box.y0
    return out


def landmark_box(landmarks68: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre ``(2,)`` and longer side of the bounding box of ``landmarks68 (68, ≥2)``."""
    points = np.asarray(landmarks68, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] != 68 or points.shape[1] < 2 or not np.isfinite(points[:, :2]).all():
        raise ValueError(f"landmarks must be 68 finite points (68, 2), got shape {points.shape}")
    lo, hi = points[:, :2].min(0), points[:, :2].max(0)
    side = float((hi - lo).max())
    if side <= 0:
        raise ValueError("the 68 landmarks have zero extent")
    return (lo + hi) / 2, side


def measure_framing(landmarks: np.ndarray, size: int = CROP_SIZE) -> LandmarkFraming:
    """The framing of crops whose landmarks are ``landmarks (N, 68, ≥2)`` in crop pixels (the crop box is
    ``[0, size]²``, centre ``size / 2``): medians over the N faces."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 3 or len(landmarks) == 0:
        raise ValueError(f"landmarks must be (N >= 1, 68, 2), got shape {landmarks.shape}")
    boxes = [landmark_box(lm) for lm in landmarks]
    sides = np.array([side for _, side in boxes])
    offsets = np.array([(size / 2 - centre) / side for centre, side in boxes])
    return LandmarkFraming(side_ratio=float(np.median(size / sides)), offset_x=float(np.median(offsets[:, 0])),
                           offset_y=float(np.median(offsets[:, 1])))
