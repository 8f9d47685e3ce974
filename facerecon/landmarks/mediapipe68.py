"""MediaPipe Face Mesh (pretrained, bundled with ``mediapipe==0.10.21``, runs offline) and its 468 → 68 mapping.

MediaPipe returns 468 points: x and y normalized by the image's width and height, z a relative depth on about
the x scale with *smaller* z closer to the camera (the opposite of the study's convention). The study maps them
to the 68 iBUG points (``data.md``) by a fixed table, :data:`MEDIAPIPE_TO_IBUG68`: each iBUG point is one
MediaPipe vertex or the mean of two. The table follows the correspondence published by P. Yan
(Mediapipe_2_Dlib_Landmarks, 2024), checked here vertex by vertex against the iBUG layout (tests: every index
valid, iBUG left-right pairs map to MediaPipe points mirrored about the face's midline on the canonical mesh,
and on the real AFLW2000-3D samples the mapped points land within a few percent of ``pt3d_68``).

Known limit, stated in the book: iBUG's jaw points 0–16 of AFLW2000-3D are the 3D model's contour points
projected (the hidden side of a turned face included), while MediaPipe's face oval follows the visible outline:
on large yaw the jaw points disagree most.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

# iBUG point k (0-based) ← mean of these MediaPipe vertices.
MEDIAPIPE_TO_IBUG68: tuple[tuple[int, ...], ...] = (
    # jaw 0–16 (8: chin)
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,), (400,), (379,), (365,),
    (397, 288), (361,), (323,), (454,), (356,),
    # right brow 17–21, left brow 22–26
    (70,), (63,), (105,), (66,), (107,), (336,), (296,), (334,), (293,), (300,),
    # nose bridge 27–30 (30: tip), lower nose 31–35
    (168, 6), (197, 195), (5,), (4,), (75,), (97,), (2,), (326,), (305,),
    # right eye 36–41, left eye 42–47
    (33,), (160,), (158,), (133,), (153,), (144,), (362,), (385,), (387,), (263,), (373,), (380,),
    # outer lips 48–59 (48, 54: corners)
    (61,), (39,), (37,), (0,), (267,), (269,), (291,), (321,), (314,), (17,), (84,), (91,),
    # inner lips 60–67
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),
)
N_MEDIAPIPE = 468


def to_ibug68(points: np.ndarray) -> np.ndarray:
    """``points (468, D)`` (MediaPipe order; 478 with iris refinement is accepted) → ``(68, D)`` iBUG points."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < N_MEDIAPIPE:
        raise ValueError(f"MediaPipe landmarks must be (468, D) or (478, D), got {points.shape}")
    return np.stack([points[list(group)].mean(0) for group in MEDIAPIPE_TO_IBUG68])


@contextmanager
def _native_stderr_silenced():
    """MediaPipe's C++ layers log to file descriptor 2 (TFLite and absl start-up notices, with times and thread
    ids). Notebook kernels capture that descriptor at unpredictable moments, so the notices would appear in
    some runs' outputs and not others: they are sent to /dev/null. Python exceptions are unaffected."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@lru_cache(maxsize=1)
def mediapipe_triangles() -> np.ndarray:
    """``(F, 3)`` triangles of MediaPipe's 468-point mesh: the 3-cliques of its published tessellation edges
    (``FACEMESH_TESSELATION`` lists edges, not faces; 854 triangles, about 95 % of the canonical mesh's 898)."""
    from collections import defaultdict

    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = {tuple(sorted(e)) for e in FACEMESH_TESSELATION}
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    return np.array(sorted({tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}),
                    dtype=np.int64)


@lru_cache(maxsize=1)
def _face_mesh():
    """One FaceMesh per process: building it costs about 0.1 s, and in static-image mode it keeps nothing from one
    image to the next."""
    import mediapipe as mp   # imported on first use: a second or two, and only the photo paths need it

    return mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                           min_detection_confidence=0.5)


def mediapipe_points(image: np.ndarray) -> np.ndarray | None:
    """MediaPipe's 468 points for the largest face of ``image (H, W, 3)`` (uint8 RGB, or float in [0, 1]) in image
    pixels: x right, y down, z towards the camera scaled like x (the study's convention). ``None``: no face."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    with _native_stderr_silenced():
        result = _face_mesh().process(np.ascontiguousarray(image))
    if not result.multi_face_landmarks:
        return None
    h, w = image.shape[:2]
    return np.array([[p.x * w, p.y * h, -p.z * w] for p in result.multi_face_landmarks[0].landmark])


def mediapipe_on_crop(crop: np.ndarray, pad: float = 0.5, upscale: int = 2) -> np.ndarray | None:
    """The 68 iBUG points ``(68, 2)`` of a tight face crop (e.g. SynthFace's 113×113, the face filling it), in the
    crop's pixels; ``None`` when no face is found (see :func:`mediapipe_mesh_on_crop`)."""
    points = mediapipe_mesh_on_crop(crop, pad, upscale)
    return None if points is None else to_ibug68(points)[:, :2]


def mediapipe_mesh_on_crop(crop: np.ndarray, pad: float = 0.5, upscale: int = 2) -> np.ndarray | None:
    """MediaPipe's 468 points ``(468, 3)`` of a tight face crop in the crop's pixels (z scaled like x, towards the
    camera); ``None`` when no face is found.

    MediaPipe's face detector expects a face with context around it: the crop is padded by ``pad`` of its side
    on every side (edge pixels repeated) and enlarged ``upscale`` times before detection, and the points are
    mapped back.
    """
    from PIL import Image

    crop = np.asarray(crop)
    if crop.dtype != np.uint8:
        crop = (np.clip(crop, 0, 1) * 255).round().astype(np.uint8)
    margin = int(round(pad * crop.shape[0]))
    padded = np.pad(crop, ((margin, margin), (margin, margin), (0, 0)), mode="edge")
    size = padded.shape[0] * upscale
    big = np.asarray(Image.fromarray(padded).resize((size, size), Image.BICUBIC))
    points = mediapipe_points(big)
    if points is None:
        return None
    out = points / upscale
    out[:, :2] += 0.5 / upscale - 0.5 - margin
    return out
