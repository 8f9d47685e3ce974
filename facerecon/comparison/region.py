"""A common-region comparison for methods without a full head mesh (MediaPipe's 468 points).

MediaPipe Face Mesh returns 468 surface points on its own topology and scale, with a relative depth. To compare
it with the GT on equal terms, every method (MediaPipe and the mesh methods alike) is treated the same way:

1. **alignment**: the method's 68 landmarks (3D) are moved onto the GT's 68 landmarks by the least-squares
   similarity (Umeyama: scale, rotation, translation), and the method's points with them. This removes pose,
   scale and depth-offset errors for everyone, so the numbers measure shape only (labelled so in the book);
2. **region**: points whose image-plane position lies inside the convex hull of the GT's 68 landmarks (the face
   from the brows to the chin, between the jaw contours), for the method's points and the GT's alike;
3. CD and EMD per point on ``k`` points drawn (seeded, with replacement when a set is smaller) from each region.

The mesh methods use their vertices, like MediaPipe, so point density is the same kind of sample for everyone.
"""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path as Polygon
from scipy.spatial import ConvexHull

from ..metrics import chamfer_distance, earth_movers_distance
from ..mesh.frame import CROP_SIZE
from ..mesh.pose import apply_similarity, similarity_transform


def face_region(points: np.ndarray, gt_landmarks: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: which ``points (N, ≥2)`` lie inside the 2D convex hull of ``gt_landmarks (68, ≥2)``."""
    hull = ConvexHull(gt_landmarks[:, :2])
    return Polygon(gt_landmarks[hull.vertices, :2]).contains_points(points[:, :2])


def region_scores(points: np.ndarray, landmarks: np.ndarray, gt_vertices: np.ndarray, gt_landmarks: np.ndarray,
                  k: int, rng: np.random.Generator) -> tuple[float, float]:
    """CD and EMD per point (metric frame: crop / 113) between a method's aligned face region and the GT's.

    ``points (N, 3)`` and ``landmarks (68, 3)`` of the method, ``gt_vertices (V, 3)`` and ``gt_landmarks (68, 3)``
    in crop pixels."""
    aligned = apply_similarity(points, similarity_transform(landmarks, gt_landmarks))
    ours, theirs = aligned[face_region(aligned, gt_landmarks)], gt_vertices[face_region(gt_vertices, gt_landmarks)]
    if len(ours) < 3 or len(theirs) < 3:
        raise ValueError(f"the face region holds too few points (method {len(ours)}, GT {len(theirs)})")
    pick = lambda p: p[rng.choice(len(p), k, replace=len(p) < k)] / CROP_SIZE   # noqa: E731
    a, b = pick(ours), pick(np.asarray(theirs, np.float64))
    return chamfer_distance(a, b, "mean"), earth_movers_distance(a, b, "mean")
