"""A common-region comparison for methods without a full head mesh (MediaPipe's 468 points).

MediaPipe Face Mesh returns 468 surface points on its own topology and scale, with a relative depth. To compare
it with the GT on equal terms, every method (MediaPipe and the mesh methods alike) is treated the same way:

1. **alignment**: the method's 68 landmarks (3D) are moved onto the GT's 68 landmarks by the least-squares
   similarity (Umeyama: scale, rotation, translation), and the method's points with them. This removes pose,
   scale and depth-offset errors for everyone, so the numbers measure shape only (labelled so in the book);
2. **region**: points whose image-plane position lies inside the convex hull of the GT's 68 landmarks (the face
   from the brows to the chin, between the jaw contours), for the method's points and the GT's alike;
3. CD and EMD per point on ``k`` points drawn from each region: every surface (MediaPipe's with the triangles of
   its tessellation) is sampled by area with ``oversample·k`` seeded points, and ``k`` of those inside the
   region are kept (with replacement when fewer fall inside).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.path import Path as Polygon
from scipy.spatial import ConvexHull

from ..metrics import chamfer_distance, earth_movers_distance
from ..mesh.frame import CROP_SIZE
from ..mesh.ops import sample_surface
from ..mesh.pose import apply_similarity, similarity_transform


def face_region(points: np.ndarray, gt_landmarks: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: which ``points (N, ≥2)`` lie inside the 2D convex hull of ``gt_landmarks (68, ≥2)``."""
    hull = ConvexHull(gt_landmarks[:, :2])
    return Polygon(gt_landmarks[hull.vertices, :2]).contains_points(points[:, :2])


def region_scores(prediction: tuple[np.ndarray, np.ndarray, np.ndarray], gt: tuple[np.ndarray, np.ndarray, np.ndarray],
                  k: int, generator: torch.Generator, oversample: int = 4) -> tuple[float, float]:
    """CD and EMD per point (metric frame: crop / 113) between a method's aligned face region and the GT's.

    ``prediction`` and ``gt``: ``(vertices (V, 3), faces (F, 3), landmarks (68, 3))`` in crop pixels."""
    vertices, faces, landmarks = prediction
    gt_vertices, gt_faces, gt_landmarks = gt
    transform = similarity_transform(landmarks, gt_landmarks)
    regions = []
    for verts, tri, move in ((vertices, faces, True), (gt_vertices, gt_faces, False)):
        points = sample_surface(torch.as_tensor(np.asarray(verts, np.float64)), torch.as_tensor(np.asarray(tri)),
                                oversample * k, generator).numpy()
        points = apply_similarity(points, transform) if move else points
        inside = points[face_region(points, np.asarray(gt_landmarks, np.float64))]
        if len(inside) < 3:
            raise ValueError(f"the face region holds too few surface samples ({len(inside)})")
        pick = torch.randint(len(inside), (k,), generator=generator).numpy() if len(inside) < k else \
            torch.randperm(len(inside), generator=generator)[:k].numpy()
        regions.append(inside[pick] / CROP_SIZE)
    return chamfer_distance(*regions, "mean"), earth_movers_distance(*regions, "mean")
