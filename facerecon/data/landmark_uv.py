"""The 68 iBUG landmarks on the face's (s, v) parameterization: where each landmark vertex of the morphable
model sits, and where every mesh with the same (s, v) correspondence (the generator's outputs) reads its 68
landmarks. numpy only: the photo tool reads them without loading the morphable model."""

from __future__ import annotations

import numpy as np


def _jaw_points() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 9)
    right = np.stack([-0.97 * np.cos(t * np.pi / 2) ** 0.55, 0.12 - 1.08 * np.sin(t * np.pi / 2) ** 1.1], 1)
    left = right[:-1][::-1] * np.array([-1.0, 1.0])
    return np.concatenate([right, left])  # 0 (subject's right, image left) → 8 chin → 16


def _mirror(points: np.ndarray) -> np.ndarray:
    return points * np.array([-1.0, 1.0])


_RIGHT_BROW = np.array([[-0.62, 0.33], [-0.52, 0.37], [-0.41, 0.385], [-0.30, 0.375], [-0.19, 0.35]])
_NOSE_BRIDGE = np.array([[0.0, 0.22], [0.0, 0.10], [0.0, -0.03], [0.0, -0.16]])
_LOWER_NOSE = np.array([[-0.13, -0.255], [-0.065, -0.27], [0.0, -0.275], [0.065, -0.27], [0.13, -0.255]])
_RIGHT_EYE = np.array([[-0.53, 0.20], [-0.45, 0.232], [-0.35, 0.232], [-0.27, 0.20], [-0.35, 0.168],
                       [-0.45, 0.168]])
_LEFT_EYE = np.array([[0.27, 0.20], [0.35, 0.232], [0.45, 0.232], [0.53, 0.20], [0.45, 0.168], [0.35, 0.168]])
_OUTER_LIPS = np.array([[-0.27, -0.55], [-0.19, -0.48], [-0.09, -0.445], [0.0, -0.455], [0.09, -0.445],
                        [0.19, -0.48], [0.27, -0.55], [0.19, -0.615], [0.10, -0.65], [0.0, -0.66],
                        [-0.10, -0.65], [-0.19, -0.615]])
_INNER_LIPS = np.array([[-0.23, -0.55], [-0.09, -0.53], [0.0, -0.532], [0.09, -0.53], [0.23, -0.55],
                        [0.09, -0.572], [0.0, -0.575], [-0.09, -0.572]])

LANDMARKS_SV = np.concatenate([_jaw_points(), _RIGHT_BROW, _mirror(_RIGHT_BROW)[::-1], _NOSE_BRIDGE,
                               _LOWER_NOSE, _RIGHT_EYE, _LEFT_EYE, _OUTER_LIPS, _INNER_LIPS])
assert LANDMARKS_SV.shape == (68, 2)
