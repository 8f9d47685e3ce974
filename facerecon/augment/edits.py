"""Edits applied to a sample's mesh and to its image alike (Algorithm 1, lines 10–11: "apply the same
transformation to the 2D image and the 3D mesh").

- ``pose``: the head turned by ``yaw_change_deg`` (a rigid rotation of the mesh; the direction away from the
  nearer ±90° limit, at random when both are free); the crop is redone around the turned mesh (paper §3.3.3);
- ``smile``: the morphable model's ``smile`` expression set to ``smile`` (the other expressions kept);
- ``glasses``: an occluder painted over the eyes of the generated image from the mesh's eye landmarks, exactly as
  SynthFace paints its occluders; the face surface under it, and so the mesh, is unchanged.

The mesh and its geometry rendering change first; the image is then generated from the edited geometry
(:mod:`.pairs`), so image and mesh stay paired by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.morphable import EXPRESSION_NAMES, FaceModel
from ..data.synthface import OCCLUDERS, draw_occluder, model_to_crop

EDITS = ("pose", "smile", "glasses")


@dataclass(frozen=True)
class EditConfig:
    """How strong each edit is (the paper names the edits, not their size)."""

    yaw_change_deg: float = 30.0
    smile: float = 1.0

    def __post_init__(self):
        if not 0 < self.yaw_change_deg <= 90:
            raise ValueError(f"yaw_change_deg must be in (0, 90], got {self.yaw_change_deg}")
        if not 0 <= self.smile <= 1:
            raise ValueError(f"smile must be in [0, 1] (0 neutral, 1 full), got {self.smile}")


def edited_yaw(yaw: float, change: float, rng: np.random.Generator) -> float:
    """``yaw`` turned by ``change`` (radians) within ±90°: away from a limit it would cross, else either way."""
    signs = [s for s in (1.0, -1.0) if abs(yaw + s * change) <= np.pi / 2]
    return float(yaw + (rng.choice(signs) if signs else -np.sign(yaw)) * change)


def edit_sample(sample: dict, model: FaceModel, edit: str, cfg: EditConfig, rng: np.random.Generator,
                margin: float = 1.0, size: int = 113) -> dict:
    """The raw ``sample`` (a :meth:`FaceDataset.sample` of a morphable-model split) with ``edit`` applied to its
    mesh: ``pose``, ``exp_coeffs``, ``crop_transform``, ``landmarks2d``/``3d``, ``vertices`` and ``occluder``
    updated, ``edit`` added. The image is left to the generator."""
    if edit not in EDITS:
        raise ValueError(f"unknown edit {edit!r}: expected one of {EDITS}")
    out = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in sample.items()}
    out["edit"] = edit
    if edit == "glasses":
        out["occluder"] = np.int8(OCCLUDERS.index("glasses"))
        return out
    if edit == "pose":
        pitch, yaw, roll = (float(a) for a in sample["pose"])
        out["pose"] = np.array([pitch, edited_yaw(yaw, np.radians(cfg.yaw_change_deg), rng), roll], np.float32)
    else:
        out["exp_coeffs"][EXPRESSION_NAMES.index("smile")] = cfg.smile
    shape = model.shape(out["id_coeffs"], out["exp_coeffs"], out.get("hidden_coeffs"), out.get("detail"))
    vertices, transform = model_to_crop(shape, out["pose"].astype(np.float64), margin, size)
    out["crop_transform"] = transform
    out["vertices"] = vertices.astype(np.float32)
    landmarks3d = vertices[model.landmark_index].astype(np.float32)
    out["landmarks3d"], out["landmarks2d"] = landmarks3d, landmarks3d[:, :2].copy()
    return out


def paint_edit(sample: dict, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """What an edit does to a generated ``image (S, S, 3)`` in [0, 1] beyond its geometry (glasses: painted in
    place); returns the occluder's mask ``(S, S)`` bool (all False for the other edits)."""
    return draw_occluder(rng, int(sample.get("occluder", 0)) if sample.get("edit") == "glasses" else 0, image,
                         np.asarray(sample["landmarks2d"]))

