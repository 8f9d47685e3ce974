"""Predictors: a dataset sample (its image and the 68 landmarks of the chosen setting) → a mesh.

Every Table-3 row is a predictor with one signature, ``predict(sample) -> Prediction``, where ``sample`` is a
:meth:`~facerecon.data.dataset.FaceDataset.sample` dict whose ``landmarks2d`` hold the landmarks the method may
use (the dataset's, or a detector's: :func:`with_landmarks`). A prediction is in crop pixels (x right, y down,
z towards the camera, scaled like x), on the method's own topology, with its 68 landmark points so that NME can
be measured for every method.

- :class:`MeanFace`: the training meshes' mean shape posed by a weak-perspective fit to the landmarks (row 1);
- :class:`LandmarkShapeFit`: a PCA shape model of the training meshes fitted to the landmarks with pose by ridge
  regression, λ chosen on a validation split, never on test (row 2: the optimisation family that made 3DDFA's
  ground truth);
- :func:`sampling_floor`: the GT itself (what point sampling alone leaves);
- :func:`generator_prediction`: a trained mesh generator (rows 4–6), its landmarks interpolated at the landmark
  vertices' UV coordinates.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.landmark_information import DEFAULT_LAMBDAS, ShapeSpace, fit_to_landmarks
from ..mesh.frame import CROP_SIZE
from .prediction import Prediction, Predictor, UVLandmarks  # noqa: F401 (the chapters import them from here)


def with_landmarks(sample: dict, landmarks2d: np.ndarray) -> dict:
    """``sample`` with its ``landmarks2d`` replaced (the *detected* setting); the GT stays in ``vertices`` and
    ``landmarks3d``."""
    landmarks2d = np.asarray(landmarks2d, np.float32)
    if landmarks2d.shape != (68, 2):
        raise ValueError(f"landmarks2d must be (68, 2) crop pixels, got {landmarks2d.shape}")
    return {**sample, "landmarks2d": landmarks2d}


def sampling_floor(faces: np.ndarray) -> Predictor:
    """The GT itself as the prediction (``faces``: the GT topology): scored, it measures the *sampling floor*, the
    CD and EMD that two independent point samples of the same surface leave, which no method removes."""
    return lambda sample: Prediction(sample["vertices"], faces, sample["landmarks3d"])


def y_up(vertices: np.ndarray) -> np.ndarray:
    """Crop-frame vertices ``(..., V, 3)`` (y down) → the y-up frame the shape models and pose fits use."""
    return np.asarray(vertices, np.float64) * np.array([1.0, -1.0, 1.0])


class LandmarkShapeFit:
    """PCA-``k`` of Procrustes-aligned training meshes, fitted to a sample's 2D landmarks with pose.

    ``lam=None`` poses the mean shape only (:class:`MeanFace`). ``select_lambda`` picks λ on validation samples.
    """

    def __init__(self, train_meshes: np.ndarray, faces: np.ndarray, landmark_index: np.ndarray, *, k: int = 100,
                 lam: float | None = None, iterations: int = 4):
        """``train_meshes (M, V, 3)`` in crop pixels (any pose: they are aligned), ``faces (F, 3)``,
        ``landmark_index (68,)`` into the vertices."""
        self.space = ShapeSpace.fit(y_up(train_meshes), k)
        self.faces = np.asarray(faces)
        self.landmark_index = np.asarray(landmark_index)
        self.lam = lam
        self.iterations = iterations

    def fit(self, landmarks2d: np.ndarray, lam: float | None) -> np.ndarray:
        """``(V, 3)`` crop-pixel vertices (mean depth removed) fitted to ``landmarks2d (68, 2)``."""
        return fit_to_landmarks(self.space, landmarks2d, self.landmark_index, lam, self.iterations)

    def __call__(self, sample: dict) -> Prediction:
        vertices = self.fit(sample["landmarks2d"], self.lam)
        return Prediction(vertices, self.faces, vertices[self.landmark_index])

    def select_lambda(self, validation: list[dict], lambdas: np.ndarray = DEFAULT_LAMBDAS) -> dict[str, float]:
        """Set ``lam`` to the λ with the lowest mean per-vertex error (mean depth removed) on ``validation``
        samples; returns that error for every λ."""
        if not validation:
            raise ValueError("select_lambda needs at least one validation sample")
        errors = {}
        for lam in lambdas:
            per_face = []
            for sample in validation:
                gt = np.asarray(sample["vertices"], np.float64)
                gt = gt - np.array([0.0, 0.0, gt[:, 2].mean()])
                per_face.append(np.linalg.norm(self.fit(sample["landmarks2d"], float(lam)) - gt, axis=1).mean())
            errors[float(lam)] = float(np.mean(per_face))
        self.lam = min(errors, key=errors.get)
        return errors


class MeanFace(LandmarkShapeFit):
    """The training meshes' mean shape posed by the landmarks (no shape fit)."""

    def __init__(self, train_meshes: np.ndarray, faces: np.ndarray, landmark_index: np.ndarray):
        super().__init__(train_meshes, faces, landmark_index, k=1, lam=None)


def generator_prediction(generator, landmark_uv: np.ndarray, device: torch.device | None = None) -> Predictor:
    """A predictor from a trained :class:`~facerecon.models.generator.MeshGenerator`: its last block's mesh in
    crop pixels, with the landmarks at ``landmark_uv (68, 2)`` (the dataset's ``uv[landmark_index]``)."""
    device = device or torch.device("cpu")
    generator = generator.to(device).eval()
    faces = generator.faces(-1).cpu().numpy()
    landmarks = UVLandmarks(generator.output_uv, faces, landmark_uv)

    @torch.no_grad()
    def predict(sample: dict) -> Prediction:
        image = torch.from_numpy(sample["image"]).permute(2, 0, 1).float()[None].to(device) / 255
        lm = torch.from_numpy(np.asarray(sample["landmarks2d"], np.float32))[None].to(device)
        vertices = generator(image, lm)[-1][0].double().cpu().numpy() * CROP_SIZE
        return Prediction(vertices, faces, landmarks(vertices))
    return predict
