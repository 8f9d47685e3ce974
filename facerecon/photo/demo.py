"""A photo-like test image with a known face: a SynthFace crop enlarged and drawn into a textured background.

Used by the tests, the photos chapter and the README's example, because the project ships no real photo (the
real samples live beside it, never in it)."""

from __future__ import annotations

import numpy as np


def demo_photo(sample: dict, *, scale: int = 3, at: tuple[int, int] = (180, 70), size: tuple[int, int] = (640, 480),
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``sample``'s 113×113 ``image`` enlarged ``scale``× (bicubic) with its top-left corner at ``at = (x, y)`` in a
    ``size = (width, height)`` photo of smooth colour bands and sensor-like noise. Returns the photo
    ``(H, W, 3)`` uint8 and the sample's 68 ground-truth landmarks ``(68, 2)`` in the photo's pixels."""
    from PIL import Image

    crop = np.asarray(sample["image"])
    side = crop.shape[0] * scale
    (x0, y0), (width, height) = at, size
    if x0 < 0 or y0 < 0 or x0 + side > width or y0 + side > height:
        raise ValueError(f"a {side}-pixel face at {at} does not fit a {width}×{height} photo")
    yy, xx = np.mgrid[:height, :width]
    photo = np.stack([120 + 60 * np.sin(xx / 90), 140 + 40 * np.cos(yy / 70), 110 + 30 * np.sin((xx + yy) / 120)], -1)
    photo = np.clip(photo + np.random.default_rng(seed).normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    photo[y0:y0 + side, x0:x0 + side] = np.asarray(Image.fromarray(crop).resize((side, side), Image.BICUBIC))
    # the resize maps the centre of crop pixel c to (c + 0.5)·scale − 0.5
    landmarks = (np.asarray(sample["landmarks3d"])[:, :2] + 0.5) * scale - 0.5 + np.array(at, dtype=np.float64)
    return photo, landmarks


def demo_face(dataset, **photo_options) -> tuple[np.ndarray, np.ndarray, int]:
    """The demo photo of the most frontal face of ``dataset`` that MediaPipe finds in it (SynthFace's renders
    are not always found: see the data chapter's detection rates). Returns the photo, its 68 landmarks and the
    sample's index; ``photo_options`` go to :func:`demo_photo`."""
    from ..landmarks.mediapipe68 import mediapipe_points

    order = sorted(range(len(dataset)), key=lambda i: abs(float(dataset.sample(i)["pose"][1])))
    for index in order:
        photo, landmarks = demo_photo(dataset.sample(index), **photo_options)
        if mediapipe_points(photo) is not None:
            return photo, landmarks, index
    raise ValueError(f"MediaPipe finds none of the {len(dataset)} faces of {dataset.folder}: use more faces")
