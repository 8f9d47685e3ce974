"""The generator's initial mesh: a hemisphere ("semi-sphere") with 141 vertices and 210 faces (paper §3.3.1).

Any open disk with V = 141 and F = 210 has E = V + F − 1 = 350 edges, 70 boundary and 71 interior vertices.
``layout="graded"`` (default) uses rings of 1/10/20/40/70 vertices at polar angles 0, 22.5°, 45°, 67.5°, 90°:
well-shaped triangles, maximum valence 10. ``layout="literal"`` is a pole plus two rings of 70 (the simplest
reading of the paper): a 70-valent pole and sliver triangles. Coordinates: unit hemisphere, x right, y up,
pole at +z (towards the camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .resample import disk_to_square

RING_LAYOUTS = {"graded": (1, 10, 20, 40, 70), "literal": (1, 70, 70)}


def _strip(ring_a: np.ndarray, angles_a: np.ndarray, ring_b: np.ndarray, angles_b: np.ndarray) -> list[list[int]]:
    """Triangulate the band between two closed rings (vertex ids + angles): ``len(a) + len(b)`` triangles."""
    faces, i, j = [], 0, 0
    na, nb = len(ring_a), len(ring_b)
    while i < na or j < nb:
        next_a = angles_a[(i + 1) % na] + (2 * np.pi if i + 1 >= na else 0)
        next_b = angles_b[(j + 1) % nb] + (2 * np.pi if j + 1 >= nb else 0)
        if j >= nb or (i < na and next_a <= next_b):
            faces.append([ring_a[i % na], ring_b[j % nb], ring_a[(i + 1) % na]])
            i += 1
        else:
            faces.append([ring_a[i % na], ring_b[j % nb], ring_b[(j + 1) % nb]])
            j += 1
    return faces


@dataclass(frozen=True)
class Template:
    """vertices ``(V, 3)`` on the unit hemisphere, faces ``(F, 3)`` counter-clockwise seen from +z,
    uv ``(V, 2)`` in ``[-1, 1]²`` (the orthographic disk mapped onto the square: the UV correspondence)."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray


def hemisphere(layout: str = "graded") -> Template:
    """The 141-vertex, 210-face hemisphere of ``layout`` (see the module docstring)."""
    if layout not in RING_LAYOUTS:
        raise ValueError(f"unknown template layout {layout!r}: expected one of {sorted(RING_LAYOUTS)}")
    counts = RING_LAYOUTS[layout]
    n_rings = len(counts) - 1
    vertices, rings, ring_angles = [np.array([0.0, 0.0, 1.0])], [np.array([0])], [np.array([0.0])]
    for k, n in enumerate(counts[1:], start=1):
        theta = (np.pi / 2) * k / n_rings
        phi = 2 * np.pi * (np.arange(n) + 0.5 * (k % 2)) / n      # stagger alternate rings
        ids = np.arange(len(vertices), len(vertices) + n)
        vertices.extend(np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                                  np.full(n, np.cos(theta))], 1))
        rings.append(ids)
        ring_angles.append(phi)
    faces = [[0, rings[1][i], rings[1][(i + 1) % counts[1]]] for i in range(counts[1])]
    for k in range(1, n_rings):
        faces += _strip(rings[k], ring_angles[k], rings[k + 1], ring_angles[k + 1])
    vertices = np.asarray(vertices)
    faces = np.asarray(faces, dtype=np.int64)
    # orient counter-clockwise seen from +z (outward normals at the pole)
    a, b, c = (vertices[faces[:, i], :2] for i in range(3))
    cross = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    faces[cross < 0] = faces[cross < 0][:, [0, 2, 1]]
    return Template(vertices=vertices, faces=faces, uv=disk_to_square(vertices[:, :2]))


def initial_mesh(template: Template, centre=(0.5, 0.5), radius: float = 0.45, depth: float = 0.3) -> np.ndarray:
    """The template placed in the normalized crop frame (crop pixels / 113: x right, y down, z towards the
    camera): ``(V, 3)``."""
    v = template.vertices
    return np.stack([centre[0] + radius * v[:, 0], centre[1] - radius * v[:, 1], depth * v[:, 2]], 1)
