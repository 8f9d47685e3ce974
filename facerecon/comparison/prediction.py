"""What every reconstruction method returns (:class:`Prediction`), and the 68 landmarks read on any mesh with the
face's (s, v) correspondence (:class:`UVLandmarks`). numpy only: the photo tool imports it without torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..mesh.resample import TemplateResampler


@dataclass(frozen=True)
class Prediction:
    """``vertices (V, 3)`` and ``landmarks (68, 3)`` in crop pixels, ``faces (F, 3)``."""

    vertices: np.ndarray
    faces: np.ndarray
    landmarks: np.ndarray


Predictor = Callable[[dict], Prediction]


class UVLandmarks:
    """The 68 landmarks of a mesh on another topology: barycentric interpolation at the landmark vertices' UV
    coordinates (both meshes parameterize the face by the same (s, v) square)."""

    def __init__(self, mesh_uv: np.ndarray, mesh_faces: np.ndarray, landmark_uv: np.ndarray):
        self.resample = TemplateResampler(mesh_uv, mesh_faces, landmark_uv)

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        return self.resample(vertices)


def exported_prediction(model, landmark_uv: np.ndarray) -> Predictor:
    """A predictor from an :class:`~facerecon.models.onnx_runtime.OnnxGenerator` (``model(crop, landmarks) →
    vertices``): what :func:`~facerecon.comparison.predictors.generator_prediction` gives for the torch model it
    was exported from, without torch."""
    landmarks = UVLandmarks(model.output_uv, model.faces, landmark_uv)

    def predict(sample: dict) -> Prediction:
        vertices = model(sample["image"], sample["landmarks2d"])
        return Prediction(vertices, model.faces, landmarks(vertices))
    return predict
