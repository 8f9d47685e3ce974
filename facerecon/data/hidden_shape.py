"""Shape that the 68 landmarks cannot see (SynthFace v2; data.md, "What the landmarks may explain").

SynthFace v1 shapes were ``mean + 48 identity + 12 expression`` linear components: the 68 landmarks determined
the mesh exactly. v2 adds, on top of that linear model:

1. **hidden regional identity**: cheek volume, cheekbones, forehead slope and curvature, temples, eye-socket
   depth, chin depth and the nasal dorsum between its landmarks, each a smooth displacement field multiplied
   by a *clearance mask* that is 0 at every landmark vertex and rises to 1 a short distance away, so these
   components never move a landmark: the landmarks carry no information about them (their coefficients are
   drawn independently of everything else);
2. **local detail**: ``n_bumps`` Gaussian bumps along the mean surface's normal at random places of the face,
   with random widths of several crop pixels and random signed amplitudes, masked the same way. Their centres
   and widths enter non-linearly, so no low-rank linear model holds them (the PCA-100 residual measures it);
3. **a hinged jaw** (:mod:`facerecon.data.morphable`): jaw opening rotates the lower face about a hinge axis
   instead of adding a linear field.

Nothing here is noise: the smallest bump is ``min_width`` wide in the (s, v) square (the face spans 2 units,
about 100 pixels of the 113-pixel crop), so every component varies over several pixels and moves the shading
and the silhouette.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HiddenShapeConfig:
    """How much shape the landmarks cannot see. Model units are roughly millimetres (face height 200)."""

    n_bumps: int = 24                    # local detail: Gaussian bumps per face
    min_width: float = 0.07              # bump σ in (s, v) units: ~3.5 crop pixels
    max_width: float = 0.22              # ~11 crop pixels
    bump_sd: float = 3.0                 # bump amplitude ~ N(0, bump_sd) along the normal
    region_scale: float = 1.15           # multiplies the regional fields' standard deviations
    clearance: float = 0.06              # (s, v) radius over which the hidden shape fades in around a landmark
    extent: float = 0.9                  # bump centres uniform in [-extent, extent]² of the (s, v) square

    def __post_init__(self):
        if self.n_bumps < 0 or not 0 < self.min_width <= self.max_width or self.bump_sd < 0:
            raise ValueError(f"invalid hidden-shape settings: {self}")
        if not 0 < self.clearance < 0.5 or not 0 < self.extent <= 1:
            raise ValueError(f"clearance must be in (0, 0.5) and extent in (0, 1], got {self}")


def clearance_mask(uv: np.ndarray, landmark_uv: np.ndarray, clearance: float) -> np.ndarray:
    """``(N,)`` in [0, 1): ``1 − exp(−(d / clearance)²)`` with ``d`` the (s, v) distance to the nearest landmark.

    Exactly 0 at the landmark vertices, so the hidden shape never moves a landmark."""
    d2 = ((uv[:, None, :] - landmark_uv[None]) ** 2).sum(-1).min(1)
    return 1.0 - np.exp(-d2 / clearance ** 2)


def sample_bumps(rng: np.random.Generator, cfg: HiddenShapeConfig) -> np.ndarray:
    """``(n_bumps, 4)``: centre s, centre v, width σ, signed amplitude (model units)."""
    centres = rng.uniform(-cfg.extent, cfg.extent, (cfg.n_bumps, 2))
    widths = np.exp(rng.uniform(np.log(cfg.min_width), np.log(cfg.max_width), cfg.n_bumps))
    amplitudes = rng.normal(0.0, cfg.bump_sd, cfg.n_bumps)
    return np.concatenate([centres, widths[:, None], amplitudes[:, None]], 1)


def bump_displacement(uv: np.ndarray, normals: np.ndarray, mask: np.ndarray, bumps: np.ndarray) -> np.ndarray:
    """``(N, 3)``: ``mask · Σ_k a_k exp(−‖uv − c_k‖² / 2σ_k²) · normal`` for ``bumps (K, 4)`` (or ``(B, N, 3)`` for
    ``(B, K, 4)``)."""
    bumps = np.asarray(bumps, np.float64)
    centre_u, centre_v, width, amplitude = (bumps[..., j] for j in range(4))       # each (..., K)
    d2 = (uv[:, 0] - centre_u[..., None]) ** 2 + (uv[:, 1] - centre_v[..., None]) ** 2   # (..., K, N)
    gaussians = np.exp(-d2 / (2 * width[..., None] ** 2))
    height = (amplitude[..., None, :] @ gaussians)[..., 0, :]                      # (..., N): Σ_k a_k g_k
    return (mask * height)[..., None] * normals
