"""68 landmarks at test time, in two settings behind one interface (data.md; paper §3.3.3).

- ``"dataset"``: the 68 points the dataset provides (SynthFace's projected GT landmarks, hidden ones included;
  AFLW2000-3D's ``pt3d_68``): the paper's setting;
- ``"cnn"``: the study's own detector (:mod:`.cnn`), trained on SynthFace's training split, from the image alone;
- ``"mediapipe"``: MediaPipe Face Mesh, pretrained, mapped 468 → 68 (:mod:`.mediapipe68`), for real photos.

Every reconstruction model and baseline takes its landmarks from :func:`detect`.
"""

from __future__ import annotations

import numpy as np

METHODS = ("dataset", "cnn", "mediapipe")


def detect(image: np.ndarray, method: str, *, dataset_landmarks: np.ndarray | None = None,
           model=None) -> np.ndarray | None:
    """The 68 landmarks ``(68, 2)`` of ``image (H, W, 3)`` in its pixels (x right, y down); ``None`` when the
    detector finds no face.

    ``dataset_landmarks`` are required for ``"dataset"`` (they come with the sample, not from the image);
    ``model`` (a trained :class:`~facerecon.landmarks.cnn.LandmarkCNN`) for ``"cnn"``, which expects a
    113×113 crop.
    """
    if method == "dataset":
        if dataset_landmarks is None:
            raise ValueError("method 'dataset' returns the sample's own landmarks: pass dataset_landmarks=")
        landmarks = np.asarray(dataset_landmarks, dtype=np.float64)
        if landmarks.shape != (68, 2):
            raise ValueError(f"dataset_landmarks must be (68, 2), got {landmarks.shape}")
        return landmarks
    if method == "cnn":
        from .cnn import predict

        if model is None:
            raise ValueError("method 'cnn' needs model= (train_or_load_detector(...).model)")
        return predict(model, image)[0].astype(np.float64)
    if method == "mediapipe":
        from .mediapipe68 import mediapipe_points, to_ibug68

        points = mediapipe_points(image)
        return None if points is None else to_ibug68(points)[:, :2]
    raise ValueError(f"unknown landmark method {method!r}: expected one of {METHODS}")
