"""A generator exported by :mod:`.export`, run by ONNX Runtime: no torch in the process (it imports in about a
second; ONNX Runtime in a tenth of that).

numpy and onnxruntime only. ``OnnxGenerator(path)(crop, landmarks)`` gives what the torch generator's last block
gives, in crop pixels; the file's metadata (written by :func:`~facerecon.models.export.export_onnx`) supplies the
faces, each vertex's (s, v) coordinates, the training config and the provenance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

ONNX_FORMAT = "facerecon-generator-onnx"
ONNX_SUFFIX = ".onnx"


class OnnxGenerator:
    """The exported generator at ``path``, on ``threads`` CPU threads.

    ``faces (F, 3)`` and ``output_uv (V, 2)`` describe the output mesh; ``config`` is the training config (a
    dict), ``provenance`` what came with the model."""

    def __init__(self, path: Path | str, threads: int = 1):
        import onnxruntime

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX model {self.path} not found")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3           # errors only: no notes on stderr between photos
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own types for a corrupt or foreign file
            raise ValueError(f"{self.path}: not an ONNX model ONNX Runtime can load ({err})") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if metadata.get("format") != ONNX_FORMAT:
            raise ValueError(f"{self.path}: not a facerecon generator (metadata format "
                             f"{metadata.get('format')!r}, expected {ONNX_FORMAT!r}; write one with "
                             "`facerecon export-onnx`)")
        self.faces = np.asarray(json.loads(metadata["faces"]), np.int64)
        self.output_uv = np.asarray(json.loads(metadata["output_uv"]), np.float32)
        self.config: dict[str, Any] = json.loads(metadata["config"])
        self.provenance: dict[str, Any] = json.loads(metadata["provenance"])

    def __call__(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """``crop (113, 113, 3)`` uint8 RGB and ``landmarks (68, 2)`` crop pixels → ``vertices (V, 3)`` crop
        pixels (float64), like the torch generator's last block."""
        image = np.ascontiguousarray(np.asarray(crop).transpose(2, 0, 1)[None], np.float32) / 255
        points = np.asarray(landmarks, np.float32)[None]
        if not (np.isfinite(image).all() and np.isfinite(points).all()):
            raise ValueError("crop or landmarks contain NaN/inf")
        vertices = self.session.run(["vertices"], {"image": image, "landmarks": points})[0]
        return vertices[0].astype(np.float64)
