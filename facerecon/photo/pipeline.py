"""Algorithm 1 on an ordinary photo: landmarks, the crop, denoising, reconstruction, back to the photo's pixels.

1. MediaPipe Face Mesh finds a face (one: its most confident) and its 468 points; the fixed 468 → 68 table
   gives the iBUG landmarks (``landmarks/mediapipe68.py``).
2. The crop box is framed from those landmarks like SynthFace's training crops (:mod:`.framing`), and the photo is
   resampled to 113×113 (paper §3.3.3).
3. Algorithm 1 step 1 on the crop: the blind noise estimate picks the denoiser a validation ranking prefers at that
   level, or none (a clean photo stays untouched). The crop, not the photo, is denoised: it is what the model
   sees, and the ranking was measured on crops.
4. The generator reconstructs the mesh in crop pixels; the crop box's inverse puts it, and the 68 landmarks read
   on it, into the photo's pixels (x right, y down, z towards the camera, scaled like x).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np

from ..comparison.prediction import Predictor, exported_prediction
from ..comparison.robustness import denoise_blind
from ..data.camera import CropBox, crop_image
from ..data.landmark_uv import LANDMARKS_SV
from ..landmarks.mediapipe68 import mediapipe_points, to_ibug68
from ..models.onnx_runtime import OnnxGenerator
from .framing import LandmarkFraming, crop_to_image

if TYPE_CHECKING:   # torch is imported only for a torch model
    from ..training.model_files import LoadedModel

PhotoModel = Union["LoadedModel", OnnxGenerator]


class NoFaceError(ValueError):
    """The photo holds no face that the landmark detector finds."""


@dataclass
class PhotoReconstruction:
    """One photo's result, in the photo's pixels."""

    vertices: np.ndarray               # (V, 3) x right, y down, z towards the camera (scaled like x)
    faces: np.ndarray                  # (F, 3)
    box: CropBox                       # the crop the model saw
    landmarks68: np.ndarray            # (68, 2) read on the reconstructed mesh
    detector_landmarks68: np.ndarray   # (68, 2) MediaPipe's, mapped to iBUG
    crop: np.ndarray                   # (113, 113, 3) uint8, after step 1
    denoiser: str                      # "none", a denoiser's name, or "off" (step 1 disabled)
    ms: float                          # wall time, detection to mesh
    stage_ms: dict[str, float]         # of which: detect, crop, denoise, model


TARGET_MS_PER_PHOTO = 150.0   # the study's speed target for the shipped model on 2 CPU cores (issue 17)


class PhotoReconstructor:
    """Reconstructs faces from photos with one loaded model (see the module docstring).

    ``ranking``: the validation ranking of Algorithm 1 step 1 (``{noise level: [denoiser, ...]}``); ``None``
    switches step 1 off.
    """

    def __init__(self, model: PhotoModel, framing: LandmarkFraming, ranking: dict[float, list[str]] | None):
        self.model = model
        self.framing = framing
        self.ranking = ranking
        self.predict = model_prediction(model)

    def __call__(self, image: np.ndarray) -> PhotoReconstruction:
        """Reconstruct the face MediaPipe finds in ``image (H, W, 3)`` uint8 RGB; :class:`NoFaceError` when none."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        clock = _StageClock()
        points = mediapipe_points(image)
        clock.lap("detect")
        if points is None:
            raise NoFaceError("no face found (MediaPipe Face Mesh detected none; a frontal or moderately turned "
                              "face, at least about 100 pixels wide, is expected)")
        detected = to_ibug68(points)[:, :2]
        box = self.framing.box(detected)
        crop = crop_image(image, box)
        clock.lap("crop")
        denoiser = "off"
        if self.ranking is not None:
            crop, denoiser = denoise_blind(crop, self.ranking)
        clock.lap("denoise")
        prediction = self.predict({"image": crop, "landmarks2d": box.apply(detected).astype(np.float32)})
        clock.lap("model")
        return PhotoReconstruction(vertices=crop_to_image(box, prediction.vertices), faces=prediction.faces, box=box,
                                   landmarks68=crop_to_image(box, prediction.landmarks)[:, :2],
                                   detector_landmarks68=detected, crop=crop, denoiser=denoiser,
                                   ms=sum(clock.ms.values()), stage_ms=clock.ms)


def model_prediction(model: PhotoModel) -> Predictor:
    """The predictor of a torch model (:class:`~facerecon.training.model_files.LoadedModel`) or of its ONNX
    export (:class:`OnnxGenerator`), reading the 68 landmarks on the mesh at SynthFace's landmark (s, v)."""
    if isinstance(model, OnnxGenerator):
        return exported_prediction(model, LANDMARKS_SV)
    from ..comparison.predictors import generator_prediction

    return generator_prediction(model.generator, LANDMARKS_SV)


class _StageClock:
    """Milliseconds per named stage, each from the end of the previous one."""

    def __init__(self):
        self.ms: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] = 1000 * (now - self._last)
        self._last = now
