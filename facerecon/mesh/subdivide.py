"""Midpoint subdivision (the paper's "triangulation layer", §3.3.1), precomputed once as an index map.

Every edge gets a new vertex at its midpoint; every triangle becomes four. ``V' = V + E``, ``F' = 4F``:
141/210 → 491/840 → 1,821/3,360 → 7,001/13,440. Hidden features are subdivided the same way (the new vertex
gets the mean of its edge's endpoints), as in Pixel2Mesh's graph unpooling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """Undirected edges ``(E, 2)`` (sorted pairs, lexicographic order) of ``faces (F, 3)``."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def surface_topology(faces: np.ndarray, n_vertices: int) -> dict[str, int]:
    """Counts that say what surface ``faces (F, 3)`` on ``n_vertices`` is: vertices, faces, edges, rim vertices
    (on an edge of one face only) and the Euler characteristic ``V − E + F`` (1 for a disk such as a hemisphere,
    2 for a closed sphere)."""
    faces = np.asarray(faces)
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    edges, uses = np.unique(e, axis=0, return_counts=True)
    rim = np.unique(edges[uses == 1])
    return {"vertices": int(n_vertices), "faces": len(faces), "edges": len(edges), "rim_vertices": len(rim),
            "euler": int(n_vertices) - len(edges) + len(faces)}


@dataclass(frozen=True)
class Subdivision:
    """One subdivision step: ``edges (E, 2)`` whose midpoints are the new vertices ``V .. V+E-1``, and the
    subdivided ``faces (4F, 3)``."""

    n_vertices: int
    edges: np.ndarray
    faces: np.ndarray

    @property
    def n_new_vertices(self) -> int:
        return self.n_vertices + len(self.edges)


def subdivision(faces: np.ndarray, n_vertices: int) -> Subdivision:
    """The subdivision map of a mesh with ``n_vertices`` and ``faces (F, 3)``; preserves face orientation."""
    faces = np.asarray(faces, dtype=np.int64)
    edges = unique_edges(faces)
    lookup = {(int(a), int(b)): n_vertices + k for k, (a, b) in enumerate(edges)}
    mid = lambda a, b: lookup[(a, b) if a < b else (b, a)]  # noqa: E731
    new_faces = []
    for a, b, c in faces.tolist():
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        new_faces += [[a, ab, ca], [ab, b, bc], [ca, bc, c], [ab, bc, ca]]
    return Subdivision(n_vertices, edges, np.asarray(new_faces, dtype=np.int64))


def subdivide(x, edges):
    """Apply a subdivision to per-vertex values ``x (..., V, C)`` (tensor or array) → ``(..., V + E, C)``."""
    if isinstance(x, torch.Tensor):
        e = torch.as_tensor(edges, device=x.device)
        return torch.cat([x, 0.5 * (x[..., e[:, 0], :] + x[..., e[:, 1], :])], dim=-2)
    x = np.asarray(x)
    return np.concatenate([x, 0.5 * (x[..., edges[:, 0], :] + x[..., edges[:, 1], :])], axis=-2)


def subdivision_levels(faces: np.ndarray, n_vertices: int, levels: int) -> list[Subdivision]:
    """``levels`` successive subdivisions starting from ``faces``."""
    steps = []
    for _ in range(levels):
        step = subdivision(faces, n_vertices)
        steps.append(step)
        faces, n_vertices = step.faces, step.n_new_vertices
    return steps
