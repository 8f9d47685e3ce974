"""SynthFace's morphable face model: the project's own, procedural, structured like the BFM.

How it is built (the book's ``00_data`` page explains it with figures):

1. **Parameter domain**: the square ``(s, v) ∈ [-1, 1]²`` (``s`` across the face, subject's right at ``s < 0``;
   ``v`` from chin ``-1`` to hairline ``+1``), sampled on a ``resolution × resolution`` grid, plus the 68 iBUG
   landmarks inserted as exact vertices, triangulated by Delaunay in ``(s, v)``: an open disk like the BFM's
   face mask.
2. **Mean shape**: the square is wrapped around a head-like profile (``X = R(v)·sin(s·φmax(v))``, the sides
   going back in depth), then facial features are added as smooth bumps at fixed ``(s, v)``: nose bridge,
   tip and alae, eye sockets with eyeballs, brow ridge, cheekbones, lips, chin. Units are roughly millimetres
   (face height 200), ``x`` right, ``y`` up, ``z`` towards the viewer, the BFM's model frame.
3. **Identity** (48 components by default): 26 semantic displacement fields (face width and height,
   jaw width, chin length, nose length/width/protrusion, eye spacing/size/depth, brow height, lip fullness,
   mouth width, ...) plus 42 smooth polynomial fields (deterministic products ``P_a(s)·P_b(v)`` of Legendre
   polynomials with ``1 ≤ a + b ≤ 4``, along each of x, y, z), orthonormalized by an exact PCA of their covariance. ``shape = mean + Σ α_k · B_k`` with
   ``α ~ N(0, 1)`` (the basis is scaled by its standard deviations, like ``shapePC·√shapeEV``).
4. **Expression** (12 named): jaw open is a rotation of the lower face about a hinge axis near the ears
   (:func:`hinge_jaw`; not linear in its coefficient); smile, brow raise, eye close, pucker, frown, cheek puff,
   mouth left/right, jaw left/right, lip press, nose wrinkle and upper-lip raise are displacement fields, linear
   in their coefficients like the 3DDFA expression basis.
4b. **Hidden shape** (SynthFace v2, :mod:`.hidden_shape`): :data:`HIDDEN_NAMES` regional identity fields and
   per-face local bumps, all zero at the landmark vertices, so that the 68 landmarks do not determine the mesh.
5. **Albedo**: a procedural texture of ``(s, v)`` (skin, lips, brows, sclera/iris/pupil, nostrils, hairline,
   blush) plus 10 linear components (skin tone, redness, lip colour, brow darkness, iris colour, ...). The
   renderer evaluates it per pixel at interpolated ``(s, v)`` (sharp eyes at any mesh density); the per-vertex
   albedo model is the same function at the vertices.

Differences from the BFM: no ears, neck or mouth cavity; the mouth is a closed surface (jaw open stretches the
lips); far fewer vertices (about 7k at the default resolution against 53k); its statistics are designed, not
learned from scans.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np
import torch
from numpy.polynomial import legendre
from scipy.interpolate import PchipInterpolator
from scipy.spatial import Delaunay

from ..mesh.ops import vertex_normals
from .hidden_shape import HiddenShapeConfig, bump_displacement, clearance_mask
from .landmark_uv import LANDMARKS_SV

FACE_HALF_HEIGHT = 100.0


# SynthFace v2: identity components where the landmarks are not (each zero at every landmark vertex)
HIDDEN_NAMES = ("cheek_volume", "cheekbones", "forehead_slope", "forehead_curvature", "temples", "eye_socket_depth",
                "chin_depth", "nasal_hump", "nasal_dorsum_height", "under_eye", "jowls", "nasolabial_folds",
                "lip_chin_groove", "depth_asymmetry")
N_HIDDEN = len(HIDDEN_NAMES)
EXPRESSION_NAMES = ("jaw_open", "smile", "brow_raise", "eye_close", "pucker", "frown", "cheek_puff",
                    "mouth_shift", "jaw_shift", "lip_press", "nose_wrinkle", "upper_lip_raise")
# Expressions whose coefficient is one-sided (0 = neutral, 1 = full); the others (shifts) are two-sided.
ONE_SIDED_EXPRESSIONS = frozenset(EXPRESSION_NAMES) - {"mouth_shift", "jaw_shift"}


# --- small field helpers -------------------------------------------------------------------------------------

def _gauss(s, v, s0, v0, ss, sv):
    return np.exp(-0.5 * (((s - s0) / ss) ** 2 + ((v - v0) / sv) ** 2))


def _pair(s, v, s0, v0, ss, sv):
    """A bump at ``(±s0, v0)`` (both sides of the face)."""
    return _gauss(s, v, s0, v0, ss, sv) + _gauss(s, v, -s0, v0, ss, sv)


def _smoothstep(x, lo, hi):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _ellipse_mask(s, v, s0, v0, a, b, softness=0.15):
    """Soft inside-mask of the ellipse centred ``(s0, v0)`` with semi-axes ``a, b``."""
    r = np.sqrt(((s - s0) / a) ** 2 + ((v - v0) / b) ** 2)
    return 1.0 - _smoothstep(r, 1.0 - softness, 1.0 + softness)


# --- geometry ------------------------------------------------------------------------------------------------

_R_OF_V = PchipInterpolator([-1, -0.8, -0.5, -0.2, 0.1, 0.5, 1.0], [30, 46, 60, 69, 73, 71, 65])
_PHI_OF_V = PchipInterpolator([-1, -0.8, -0.5, -0.2, 0.1, 0.5, 1.0], np.radians([55, 66, 76, 82, 85, 80, 70]))


def _feature_terms(s, v) -> dict[str, np.ndarray]:
    """Depth bumps (before scaling) of each facial feature at ``(s, v)``; their sum shapes the mean face."""
    t = np.clip((0.24 - v) / 0.40, 0, 1)
    bridge_window = _smoothstep(v, -0.20, -0.15) * (1 - _smoothstep(v, 0.22, 0.30))
    bridge = (5 + 17 * t ** 1.5) * np.exp(-0.5 * (s / (0.05 + 0.045 * t)) ** 2) * bridge_window
    return {
        "bridge": bridge,
        "tip": 6 * _gauss(s, v, 0, -0.16, 0.07, 0.05) + 9 * _gauss(s, v, 0, -0.21, 0.05, 0.035),
        "alae": 8 * _pair(s, v, 0.115, -0.22, 0.05, 0.045),
        "sockets": -11 * _pair(s, v, 0.40, 0.20, 0.16, 0.08),
        "eyeballs": 6 * _pair(s, v, 0.40, 0.20, 0.10, 0.04),
        "brow": 5 * np.exp(-0.5 * ((v - 0.33) / 0.06) ** 2) * (1 - _smoothstep(np.abs(s), 0.6, 0.8)),
        "cheekbones": 5 * _pair(s, v, 0.55, 0.02, 0.14, 0.10),
        "muzzle": 6 * _gauss(s, v, 0, -0.55, 0.35, 0.18),
        "upper_lip": 6 * _gauss(s, v, 0, -0.49, 0.15, 0.04),
        "lower_lip": 6 * _gauss(s, v, 0, -0.61, 0.14, 0.045),
        "mouth_line": -2 * _gauss(s, v, 0, -0.55, 0.22, 0.012),
        "chin": 7 * _gauss(s, v, 0, -0.84, 0.2, 0.08) - 3 * _gauss(s, v, 0, -0.72, 0.2, 0.035),
        "temples": -4 * _pair(s, v, 0.75, 0.45, 0.12, 0.15),
    }


def _base_surface(s, v) -> np.ndarray:
    """The head-like profile the square is wrapped onto (no features): ``(N, 3)``."""
    radius, phi = _R_OF_V(v), _PHI_OF_V(v) * s
    x = radius * np.sin(phi)
    z = 1.05 * radius * (np.cos(phi) - 1)
    z = z - 30 * _smoothstep(v, 0.35, 1.0) ** 2 - 25 * _smoothstep(-v, 0.8, 1.0) ** 2
    return np.stack([x, FACE_HALF_HEIGHT * v, z], axis=1)


def _region_masks(s, v) -> dict[str, np.ndarray]:
    return {
        "nose": _ellipse_mask(s, v, 0, 0.0, 0.2, 0.3, 0.3),
        "eye_r": _ellipse_mask(s, v, -0.40, 0.20, 0.2, 0.11, 0.4),
        "eye_l": _ellipse_mask(s, v, 0.40, 0.20, 0.2, 0.11, 0.4),
        "brows": np.exp(-0.5 * ((v - 0.36) / 0.07) ** 2) * (1 - _smoothstep(np.abs(s), 0.65, 0.85)),
        "mouth": _ellipse_mask(s, v, 0, -0.55, 0.36, 0.16, 0.35),
        "upper_lip_zone": _ellipse_mask(s, v, 0, -0.48, 0.3, 0.07, 0.4),
        "lower_lip_zone": _ellipse_mask(s, v, 0, -0.62, 0.28, 0.07, 0.4),
        "lower_face": _smoothstep(-v, 0.52, 0.62),
        "chin": _smoothstep(-v, 0.65, 1.0),
        "forehead": _smoothstep(v, 0.3, 1.0),
    }


def _identity_fields(s, v, base, terms) -> list[tuple[np.ndarray, float]]:
    """Semantic identity displacement fields ``(N, 3)`` with their standard deviations (model units)."""
    x, y, z = base.T
    m = _region_masks(s, v)
    zero = np.zeros_like(s)

    def f(dx=zero, dy=zero, dz=zero):
        return np.stack([dx, dy, dz], 1)

    eyes = m["eye_r"] + m["eye_l"]
    eye_cx = np.where(s < 0, _R_OF_V(0.2) * np.sin(_PHI_OF_V(0.2) * -0.4), _R_OF_V(0.2) * np.sin(_PHI_OF_V(0.2) * 0.4))
    nose_terms = terms["bridge"] + terms["tip"] + terms["alae"]
    fields = [
        (f(dx=x / 70), 5.0),                                       # face width
        (f(dy=y / 100), 6.0),                                      # face height
        (f(dz=z / 60), 5.0),                                       # face depth
        (f(dy=m["forehead"]), 5.0),                                # forehead height
        (f(dz=-m["forehead"] * (1 + v)), 3.0),                     # forehead slope
        (f(dx=x / 60 * m["lower_face"]), 5.0),                     # jaw width
        (f(dy=-m["chin"]), 5.0),                                   # chin length
        (f(dz=terms["chin"] / 7), 3.0),                            # chin protrusion
        (f(dy=-m["nose"] * np.clip((0.24 - v) / 0.4, 0, 1)), 4.0),  # nose length
        (f(dz=nose_terms / 20), 4.0),                              # nose protrusion
        (f(dx=x / 30 * m["nose"] * (v < 0)), 2.0),                 # nose width
        (f(dz=terms["bridge"] / 15 * (v > 0)), 2.0),               # bridge height
        (f(dx=np.sign(s) * eyes), 3.0),                            # eye spacing
        (f(dx=(x - eye_cx) / 20 * eyes, dy=(y - 20) / 20 * eyes), 1.5),  # eye size
        (f(dz=terms["sockets"] / 11), 3.0),                        # eye depth
        (f(dy=eyes), 3.0),                                         # eye height
        (f(dy=np.sign(s) * eyes * 0.5), 1.5),                      # eye tilt (canthal)
        (f(dy=m["brows"]), 3.0),                                   # brow height
        (f(dz=terms["brow"] / 5), 2.0),                            # brow prominence
        (f(dz=terms["cheekbones"] / 5), 3.0),                      # cheekbones
        (f(dz=terms["upper_lip"] / 6), 2.0),                       # upper lip fullness
        (f(dz=terms["lower_lip"] / 6), 2.0),                       # lower lip fullness
        (f(dx=x / 25 * m["mouth"]), 2.5),                          # mouth width
        (f(dy=m["mouth"]), 3.0),                                   # mouth height
        (f(dx=np.sign(s) * _pair(s, v, 0.55, -0.35, 0.15, 0.15),
           dz=_pair(s, v, 0.55, -0.35, 0.15, 0.15)), 3.0),         # cheek fullness
        (f(dz=s * np.exp(-0.5 * v ** 2)), 2.0),                    # asymmetry
    ]
    # smooth polynomial fields: products of Legendre polynomials P_a(s) P_b(v), 1 <= a + b <= 4, per axis
    for axis in range(3):
        for a in range(5):
            for b in range(5 - a):
                if a + b == 0:
                    continue
                pa = legendre.legval(s, [0] * a + [1])
                pb = legendre.legval(v, [0] * b + [1])
                d = [zero, zero, zero]
                d[axis] = pa * pb
                fields.append((np.stack(d, 1), 1.5 / (a + b)))
    return fields


def _hidden_identity_fields(s, v, base, terms) -> list[tuple[np.ndarray, float]]:
    """Identity where the landmarks are not (SynthFace v2), in the order of :data:`HIDDEN_NAMES`: ``(N, 3)``
    fields with their standard deviations, before the clearance mask (:mod:`.hidden_shape`) zeroes them at the
    landmark vertices."""
    m = _region_masks(s, v)
    zero = np.zeros_like(s)
    side = np.sign(s)

    def f(dx=zero, dy=zero, dz=zero):
        return np.stack([dx, dy, dz], 1)

    cheeks = _pair(s, v, 0.5, -0.28, 0.17, 0.16)
    temples = _pair(s, v, 0.75, 0.45, 0.12, 0.15)
    jowls = _pair(s, v, 0.58, -0.62, 0.15, 0.14)
    malar = _pair(s, v, 0.36, 0.04, 0.11, 0.06)
    folds = _pair(s, v, 0.24, -0.38, 0.05, 0.11)
    dorsum = _gauss(s, v, 0, 0.03, 0.05, 0.1) * (np.abs(s) < 0.2)
    return [
        (f(dx=0.6 * side * cheeks, dz=cheeks), 5.0),                       # cheek volume
        (f(dx=0.4 * side * terms["cheekbones"] / 5, dz=terms["cheekbones"] / 5), 4.0),   # cheekbones
        (f(dz=-m["forehead"] * (1 + v)), 5.0),                             # forehead slope
        (f(dz=-m["forehead"] * np.clip(np.abs(s) / 0.6, 0, 1) ** 2), 4.0),  # forehead curvature
        (f(dx=-side * temples, dz=0.5 * temples), 4.0),                    # temples
        (f(dz=terms["sockets"] / 11), 4.0),                                # eye-socket depth
        (f(dz=_gauss(s, v, 0, -0.9, 0.22, 0.09)), 4.0),                    # chin depth
        (f(dz=dorsum), 3.0),                                               # nasal dorsum (hump)
        (f(dz=terms["bridge"] / 15 * (v > -0.05)), 3.0),                   # nasal dorsum (height)
        (f(dz=malar), 3.0),                                                # under-eye fullness
        (f(dx=side * jowls, dz=0.5 * jowls), 4.0),                         # jowls
        (f(dz=-folds), 2.5),                                               # nasolabial folds
        (f(dz=-_gauss(s, v, 0, -0.72, 0.2, 0.04)), 2.5),                   # lip-chin groove
        (f(dz=s * _gauss(s, v, 0, 0.1, 0.5, 0.5)), 3.0),                   # asymmetry of depth
    ]


def _expression_fields(s, v, base) -> np.ndarray:
    """The named expression displacement fields, ``(12, N, 3)``, each a full expression at coefficient 1."""
    x, y, z = base.T
    m = _region_masks(s, v)
    zero = np.zeros_like(s)

    def f(dx=zero, dy=zero, dz=zero):
        return np.stack([dx, dy, dz], 1)

    # jaw open is a rotation (FaceModel.shape: JAW_HINGE), not a linear field: its row stays zero
    jaw = f()
    corners = _pair(s, v, 0.28, -0.55, 0.1, 0.08)
    eyelids = _pair(s, v, 0.40, 0.215, 0.13, 0.03)
    lips = m["upper_lip_zone"] + m["lower_lip_zone"]
    fields = {
        "jaw_open": jaw,
        "smile": f(dx=6 * np.sign(s) * corners, dy=5 * corners + 2 * _pair(s, v, 0.45, -0.2, 0.15, 0.12),
                   dz=-2 * corners),
        "brow_raise": f(dy=6 * m["brows"], dz=0.5 * m["brows"]),
        "eye_close": f(dy=-3.4 * eyelids, dz=1.0 * eyelids),
        "pucker": f(dx=-0.25 * x * lips, dz=7 * lips),
        "frown": f(dx=-3 * np.sign(s) * m["brows"] * (np.abs(s) < 0.5), dy=-3 * m["brows"]),
        "cheek_puff": f(dx=4 * np.sign(s) * _pair(s, v, 0.5, -0.4, 0.17, 0.15),
                        dz=5 * _pair(s, v, 0.5, -0.4, 0.17, 0.15)),
        "mouth_shift": f(dx=6 * m["mouth"]),
        "jaw_shift": f(dx=7 * m["lower_face"]),
        "lip_press": f(dy=-2 * m["upper_lip_zone"] + 2 * m["lower_lip_zone"], dz=-2 * lips),
        "nose_wrinkle": f(dy=3 * m["nose"] * (v < 0), dz=-1 * m["nose"]),
        "upper_lip_raise": f(dy=4 * m["upper_lip_zone"], dz=1.5 * m["upper_lip_zone"]),
    }
    return np.stack([fields[name] for name in EXPRESSION_NAMES])


# Jaw opening (SynthFace v2): the lower face rotates about a horizontal axis near the ears, ``pivot`` (y, z) in
# model units, by ``max_angle`` radians at coefficient 1, weighted by the lower-face mask. Not linear in the
# coefficient: no linear basis holds it.
JAW_HINGE = {"pivot": (-5.0, -80.0), "max_angle": 0.25}


def hinge_jaw(vertices: np.ndarray, weight: np.ndarray, opening: np.ndarray | float) -> np.ndarray:
    """Rotate ``vertices (..., N, 3)`` about the jaw hinge by ``JAW_HINGE["max_angle"]·opening`` (per batch
    element), blended per vertex by ``weight (N,)``: ``v + w·(R(θ)(v − p) + p − v)``."""
    opening = np.asarray(opening, dtype=np.float64)
    theta = JAW_HINGE["max_angle"] * opening[..., None]                    # (..., 1)
    py, pz = JAW_HINGE["pivot"]
    y, z = vertices[..., 1] - py, vertices[..., 2] - pz
    cos, sin = np.cos(theta), np.sin(theta)
    dy = py + y * cos - z * sin - vertices[..., 1]
    dz = pz + y * sin + z * cos - vertices[..., 2]
    out = np.array(vertices, dtype=np.float64, copy=True)
    out[..., 1] += weight * dy
    out[..., 2] += weight * dz
    return out


# --- albedo --------------------------------------------------------------------------------------------------

ALBEDO_NAMES = ("skin_lightness", "skin_redness", "skin_darkness", "lip_colour", "brow_darkness", "iris_colour",
                "blush", "stubble", "hair_colour", "under_eye")
N_ALBEDO = len(ALBEDO_NAMES)


def _texture_masks(s, v) -> dict[str, np.ndarray]:
    abs_s = np.abs(s)
    eye_open = np.clip(1 - ((abs_s - 0.40) / 0.13) ** 2, 0, None)
    eye = 1 - _smoothstep(np.abs(v - 0.20) - 0.034 * np.sqrt(eye_open), -0.006, 0.006)
    eye = eye * (eye_open > 0)
    iris_r = np.sqrt(((abs_s - 0.40) / 1.0) ** 2 + ((v - 0.20) / 0.75) ** 2)
    brow_curve = 0.35 + 0.035 * np.sin(np.pi * np.clip((abs_s - 0.17) / 0.47, 0, 1))
    brow = (1 - _smoothstep(np.abs(v - brow_curve), 0.018, 0.03)) * _smoothstep(abs_s, 0.15, 0.2) \
        * (1 - _smoothstep(abs_s, 0.6, 0.66))
    lips = np.maximum(_ellipse_mask(s, v, 0, -0.50, 0.27, 0.05, 0.2), _ellipse_mask(s, v, 0, -0.605, 0.24, 0.058, 0.2))
    hair = _smoothstep(v, 0.86, 0.93) + (1 - _smoothstep(abs_s, 0.0, 0.95)) * 0  # hairline along the top
    return {
        "eye": eye,
        "iris": eye * (1 - _smoothstep(iris_r, 0.04, 0.05)),
        "pupil": eye * (1 - _smoothstep(iris_r, 0.015, 0.022)),
        "lash": np.clip(eye_open > 0, 0, 1) * (1 - _smoothstep(np.abs(v - 0.20 - 0.034 * np.sqrt(eye_open)), 0.0,
                                                              0.008)),
        "brow": brow,
        "lips": lips,
        "mouth_line": _ellipse_mask(s, v, 0, -0.552, 0.24, 0.007, 0.3),
        "nostrils": _pair(s, v, 0.055, -0.245, 0.022, 0.01),
        "cheeks": _pair(s, v, 0.5, -0.2, 0.15, 0.12),
        "beard": _smoothstep(-v, 0.45, 0.75) * (1 - lips),
        "hair": np.clip(hair, 0, 1),
        "under_eye": _pair(s, v, 0.40, 0.13, 0.12, 0.03),
    }


def albedo_field(s: np.ndarray, v: np.ndarray, tex_coeffs: np.ndarray | None = None) -> np.ndarray:
    """Albedo RGB in [0, 1] at parameter points ``s, v (P,)`` for ``tex_coeffs (10,)`` (default: mean face)."""
    s = np.asarray(s, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    c = np.zeros(N_ALBEDO) if tex_coeffs is None else np.asarray(tex_coeffs, dtype=np.float64)
    if c.shape != (N_ALBEDO,):
        raise ValueError(f"tex_coeffs must have shape ({N_ALBEDO},), got {c.shape}")
    m = _texture_masks(s, v)
    skin = np.array([0.80, 0.60, 0.50]) + c[0] * np.array([0.07, 0.07, 0.06]) \
        + c[1] * np.array([0.03, -0.015, -0.025]) + np.clip(c[2], 0, None) * np.array([-0.2, -0.17, -0.13])
    out = np.broadcast_to(skin, s.shape + (3,)).copy()
    out += (m["cheeks"] * (0.5 + 0.3 * c[6]))[:, None] * np.array([0.06, -0.03, -0.03])
    out += (m["under_eye"] * (0.5 + 0.3 * c[9]))[:, None] * np.array([-0.06, -0.07, -0.04])
    out -= (m["beard"] * np.clip(0.5 * c[7], 0, None))[:, None] * np.array([0.18, 0.16, 0.14])
    hair_rgb = np.clip(np.array([0.22, 0.15, 0.10]) + c[8] * np.array([0.12, 0.09, 0.05]), 0.03, 0.9)
    brow_rgb = np.clip(hair_rgb * (1 - 0.25 * np.tanh(c[4])), 0, 1)
    lip_rgb = np.array([0.66, 0.34, 0.34]) + c[3] * np.array([0.05, -0.03, -0.02])
    iris_rgb = np.clip(np.array([0.32, 0.22, 0.13]) + c[5] * np.array([0.08, 0.1, 0.12]), 0, 1)
    for mask, rgb in ((m["hair"], hair_rgb), (m["brow"] * 0.85, brow_rgb), (m["lips"], lip_rgb),
                      (m["mouth_line"] * 0.8, np.array([0.25, 0.1, 0.1])),
                      (m["nostrils"] * 0.7, np.array([0.25, 0.13, 0.12])),
                      (m["eye"], np.array([0.88, 0.86, 0.82])), (m["iris"], iris_rgb),
                      (m["pupil"], np.array([0.04, 0.03, 0.03])), (m["lash"] * 0.8, np.array([0.08, 0.06, 0.05]))):
        out = out * (1 - mask[:, None]) + mask[:, None] * rgb
    return np.clip(out, 0.0, 1.0)


# --- the model -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaceModelConfig:
    """Build settings of the SynthFace morphable model."""

    resolution: int = 84      # grid points per side of the (s, v) square: 84 → 7,084 vertices (cf. BFM 53,215)
    n_identity: int = 48      # identity components kept after PCA (>= 40)
    atlas_size: int = 256     # texels per side of the baked albedo atlas
    hidden: HiddenShapeConfig = HiddenShapeConfig()   # shape the landmarks cannot see (v2); see hidden_shape

    def __post_init__(self):
        if not 16 <= self.resolution <= 400:
            raise ValueError(f"resolution must be in [16, 400], got {self.resolution}")
        if not 1 <= self.n_identity <= 80:
            raise ValueError(f"n_identity must be in [1, 80], got {self.n_identity}")


@dataclass(frozen=True)
class FaceModel:
    """The SynthFace morphable model (shapes below: N vertices, F faces): linear identity and expression, plus
    (v2) hidden identity and local detail that never move a landmark, and a hinged jaw.

    Attributes:
        config: how it was built.
        uv: ``(N, 2)`` parameter coordinates ``(s, v)`` of every vertex (the fixed UV correspondence).
        faces: ``(F, 3)`` int64 triangles, counter-clockwise seen from the front (normals towards +z).
        mean: ``(N, 3)`` mean shape, model frame (x right, y up, z towards the viewer).
        id_basis: ``(K_id, N, 3)`` identity basis, scaled by its standard deviations (coefficients ~ N(0, 1)).
        exp_basis: ``(K_exp, N, 3)`` expression basis (:data:`EXPRESSION_NAMES`; the jaw_open row is zero: the
            jaw is hinged, :func:`hinge_jaw`).
        hidden_basis: ``(K_h, N, 3)`` hidden regional identity, scaled by its standard deviations, zero at
            the landmarks.
        normals: ``(N, 3)`` unit normals of the mean shape (the direction of the local detail).
        clearance: ``(N,)`` the mask that keeps hidden shape off the landmarks (0 there).
        jaw_weight: ``(N,)`` how much each vertex follows the jaw's rotation.
        landmark_index: ``(68,)`` vertex indices of the iBUG landmarks.
        albedo_mean: ``(N, 3)``, albedo_basis: ``(10, N, 3)``: the per-vertex albedo model.
        albedo_atlas: ``(11, 3, T, T)``: the same linear albedo model (mean, then the 10 components) baked
            over the (s, v) square (row 0 at v = -1, column 0 at s = -1), sampled per pixel by the renderer.
    """

    config: FaceModelConfig
    uv: np.ndarray
    faces: np.ndarray
    mean: np.ndarray
    id_basis: np.ndarray
    exp_basis: np.ndarray
    hidden_basis: np.ndarray
    normals: np.ndarray
    clearance: np.ndarray
    jaw_weight: np.ndarray
    landmark_index: np.ndarray
    albedo_mean: np.ndarray
    albedo_basis: np.ndarray
    albedo_atlas: np.ndarray

    @property
    def n_vertices(self) -> int:
        return len(self.mean)

    def shape(self, id_coeffs: np.ndarray | None = None, exp_coeffs: np.ndarray | None = None,
              hidden_coeffs: np.ndarray | None = None, detail: np.ndarray | None = None) -> np.ndarray:
        """Vertices ``(N, 3)``, or ``(B, N, 3)`` for coefficient batches ``(B, K)``.

        ``hidden_coeffs (K_h,)`` weight the hidden regional identity, ``detail (K, 4)`` are the local bumps
        (:func:`~facerecon.data.hidden_shape.sample_bumps`); both default to none. The jaw_open expression
        coefficient rotates the jaw (:func:`hinge_jaw`).
        """
        id_coeffs = np.zeros(len(self.id_basis)) if id_coeffs is None else np.asarray(id_coeffs, np.float64)
        exp_coeffs = np.zeros(len(self.exp_basis)) if exp_coeffs is None else np.asarray(exp_coeffs, np.float64)
        if id_coeffs.shape[-1] != len(self.id_basis) or exp_coeffs.shape[-1] != len(self.exp_basis):
            raise ValueError(f"expected id_coeffs (..., {len(self.id_basis)}) and exp_coeffs "
                             f"(..., {len(self.exp_basis)}), got {id_coeffs.shape} and {exp_coeffs.shape}")
        shape = (self.mean + np.tensordot(id_coeffs, self.id_basis, axes=(-1, 0))
                 + np.tensordot(exp_coeffs, self.exp_basis, axes=(-1, 0)))
        if hidden_coeffs is not None:
            hidden_coeffs = np.asarray(hidden_coeffs, np.float64)
            if hidden_coeffs.shape[-1] != len(self.hidden_basis):
                raise ValueError(f"expected hidden_coeffs (..., {len(self.hidden_basis)}), got {hidden_coeffs.shape}")
            shape = shape + np.tensordot(hidden_coeffs, self.hidden_basis, axes=(-1, 0))
        if detail is not None:
            shape = shape + bump_displacement(self.uv.astype(np.float64), self.normals, self.clearance, detail)
        return hinge_jaw(shape, self.jaw_weight, exp_coeffs[..., EXPRESSION_NAMES.index("jaw_open")])

    def albedo(self, tex_coeffs: np.ndarray | None = None) -> np.ndarray:
        """Per-vertex albedo ``(N, 3)`` in [0, 1]."""
        c = np.zeros(N_ALBEDO) if tex_coeffs is None else np.asarray(tex_coeffs, np.float64)
        return np.clip(self.albedo_mean + np.tensordot(c, self.albedo_basis, axes=(0, 0)), 0, 1)

    def save(self, path) -> None:
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "config"}
        np.savez(path, **arrays, config=np.array(json.dumps(asdict(self.config))))

    @staticmethod
    def load(path) -> "FaceModel":
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        missing = sorted({f.name for f in fields(FaceModel)} - {"config"} - set(arrays))
        if missing:
            raise ValueError(f"{path} is a SynthFace model without {missing} (made by SynthFace v1?): regenerate "
                             "the dataset with this version (`facerecon data synth`)")
        config = json.loads(str(arrays.pop("config")))
        config["hidden"] = HiddenShapeConfig(**config["hidden"])
        return FaceModel(config=FaceModelConfig(**config), **arrays)


def _parameter_mesh(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid of the (s, v) square plus the 68 landmarks, Delaunay-triangulated: ``uv (N,2), faces, lmk (68,)``."""
    grid = np.linspace(-1.0, 1.0, resolution)
    ss, vv = np.meshgrid(grid, grid)
    points = np.stack([ss.ravel(), vv.ravel()], 1)
    spacing = 2.0 / (resolution - 1)
    # drop grid points too close to a landmark (they would make slivers), but keep the square's boundary
    dist = np.sqrt(((points[:, None, :] - LANDMARKS_SV[None]) ** 2).sum(-1)).min(1)
    on_boundary = (np.abs(points) > 1 - 1e-9).any(1)
    points = points[(dist > 0.45 * spacing) | on_boundary]
    uv = np.concatenate([points, LANDMARKS_SV])
    tri = Delaunay(uv)
    if len(getattr(tri, "coplanar", [])):
        raise RuntimeError("Delaunay dropped points while building the SynthFace mesh")
    faces = tri.simplices.astype(np.int64)
    a, b, c = (uv[faces[:, i]] for i in range(3))
    cross = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    faces = faces[np.abs(cross) > 1e-12]
    cross = cross[np.abs(cross) > 1e-12]
    faces[cross < 0] = faces[cross < 0][:, [0, 2, 1]]  # counter-clockwise in (s, v) → normals towards +z
    landmark_index = np.arange(len(points), len(uv), dtype=np.int64)
    return uv, faces, landmark_index


@lru_cache(maxsize=8)
def build_face_model(config: FaceModelConfig = FaceModelConfig()) -> FaceModel:
    """Build the SynthFace model (deterministic; about a second at the default resolution)."""
    uv, faces, landmark_index = _parameter_mesh(config.resolution)
    s, v = uv[:, 0], uv[:, 1]
    base = _base_surface(s, v)
    terms = _feature_terms(s, v)
    mean = base + np.stack([np.zeros_like(s), np.zeros_like(s), sum(terms.values())], 1)
    # exact PCA of the identity fields' covariance: Σ = Σ_i σ_i² f_i f_iᵀ
    fields = _identity_fields(s, v, base, terms)
    scaled = np.stack([sigma * field.ravel() for field, sigma in fields])  # (n_fields, 3N)
    _, singular, vt = np.linalg.svd(scaled, full_matrices=False)
    k = config.n_identity
    if k > len(singular):
        raise ValueError(f"n_identity={k} exceeds the {len(singular)} identity fields")
    # sign convention: the largest-magnitude entry of each component is positive (deterministic across BLAS)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(1)])
    id_basis = (singular[:k, None] * vt[:k] * signs[:k, None]).reshape(k, -1, 3)
    exp_basis = _expression_fields(s, v, mean)
    clearance = clearance_mask(uv, uv[landmark_index], config.hidden.clearance)
    hidden_basis = np.stack([config.hidden.region_scale * sigma * clearance[:, None] * field
                             for field, sigma in _hidden_identity_fields(s, v, base, terms)])
    normals = vertex_normals(torch.from_numpy(mean).double(), torch.from_numpy(faces)).numpy()
    jaw_weight = _region_masks(s, v)["lower_face"]
    albedo_mean, albedo_basis = _linear_albedo(s, v)
    grid = np.linspace(-1, 1, config.atlas_size)
    gs, gv = np.meshgrid(grid, grid)
    atlas_mean, atlas_basis = _linear_albedo(gs.ravel(), gv.ravel())
    atlas = np.concatenate([atlas_mean[None], atlas_basis]).reshape(1 + N_ALBEDO, config.atlas_size,
                                                                    config.atlas_size, 3).transpose(0, 3, 1, 2)
    as32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return FaceModel(config=config, uv=as32(uv), faces=faces, mean=as32(mean), id_basis=as32(id_basis),
                     exp_basis=as32(exp_basis), hidden_basis=as32(hidden_basis), normals=as32(normals),
                     clearance=as32(clearance), jaw_weight=as32(jaw_weight), landmark_index=landmark_index,
                     albedo_mean=as32(albedo_mean),
                     albedo_basis=as32(albedo_basis), albedo_atlas=as32(atlas))


def _linear_albedo(s: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The albedo model linearized at the mean: ``mean (P, 3)`` and ``basis (10, P, 3)`` at ``(s, v)``."""
    mean = albedo_field(s, v)
    return mean, np.stack([albedo_field(s, v, np.eye(N_ALBEDO)[i]) - mean for i in range(N_ALBEDO)])
