"""A trained generator as an ONNX graph, for inference without torch (``facerecon reconstruct``'s fast path).

Importing torch takes about a second, longer than MediaPipe's whole work on a photo; ONNX Runtime imports in a
tenth of that and runs the same graph (the anchors' answer too: 3DDFA_V2 ships an ONNX Runtime path). Two parts of
the generator have no ONNX operator and are expressed otherwise in the exported copy, with the same result up to
float rounding (tested):

- the mean face's weak-perspective pose: the polar factor in closed form instead of an SVD
  (:func:`~facerecon.mesh.pose.fit_weak_perspective_closed_form`);
- the graph convolutions' sparse product: a padded neighbour table (``MeshGraphConv.gather``).

The graph: ``image (B, 3, 113, 113)`` RGB in [0, 1] and ``landmarks (B, 68, 2)`` crop pixels → ``vertices
(B, V, 3)`` crop pixels (the last block's mesh: x right, y down, z towards the camera). The file's metadata
carries what a user of the mesh needs besides: ``format``, ``faces``, ``output_uv`` (each vertex's (s, v)
coordinates), ``config`` (the training config) and ``provenance``, each as JSON.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..mesh.frame import CROP_SIZE
from ..mesh.pose import fit_weak_perspective_closed_form, weak_perspective_solver
from .generator import MeshGenerator
from .graph import MeshGraphConv
from .onnx_runtime import ONNX_FORMAT, ONNX_SUFFIX

OPSET = 17   # GridSample needs 16


class ExportableGenerator(nn.Module):
    """A copy of ``generator`` whose forward ONNX can express: ``(image, landmarks) → vertices`` (module
    docstring)."""

    def __init__(self, generator: MeshGenerator):
        super().__init__()
        self.generator = MeshGenerator(generator.config)     # a copy (deepcopy fails on the sparse caches)
        self.generator.load_state_dict(generator.state_dict())
        self.generator.eval()
        for module in self.generator.modules():
            if isinstance(module, MeshGraphConv):
                module.gather = True
        self.posed = generator.config.prior == "mean_face"
        if self.posed:
            model_mean, model_pinv = weak_perspective_solver(generator.prior_landmarks)
            self.register_buffer("model_mean", model_mean)
            self.register_buffer("model_pinv", model_pinv)
        with torch.no_grad():   # builds the neighbour tables now, so that a trace sees them as constants
            self(*example_inputs())

    def forward(self, image: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        pose = (fit_weak_perspective_closed_form(self.model_mean, self.model_pinv, landmarks / CROP_SIZE)
                if self.posed else None)
        return self.generator.deform(image, landmarks, pose)[1][-1] * CROP_SIZE


def example_inputs(batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A random image ``(batch, 3, 113, 113)`` and landmarks ``(batch, 68, 2)`` about the crop's centre."""
    rng = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 3, CROP_SIZE, CROP_SIZE, generator=rng)
    return image, CROP_SIZE / 2 + 20 * torch.randn(batch, 68, 2, generator=rng)


def file_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export_onnx(generator: MeshGenerator, config_dict: dict[str, Any], path: Path | str,
                provenance: dict[str, Any] | None = None) -> Path:
    """Write ``generator`` (eval mode) to ``path`` (.onnx) with its faces, output UV, ``config_dict`` (the
    training config) and ``provenance`` as metadata. Needs the ``onnx`` package (only here, not to run it)."""
    import warnings

    import onnx

    path = Path(path)
    if path.suffix != ONNX_SUFFIX:
        raise ValueError(f"an ONNX model file must end in {ONNX_SUFFIX}, got {path.name}")
    module = ExportableGenerator(generator)
    image, landmarks = example_inputs()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")   # tracer warnings: the input checks become constants, as intended
        torch.onnx.export(module, (image, landmarks), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=["image", "landmarks"], output_names=["vertices"],
                          dynamic_axes={"image": {0: "batch"}, "landmarks": {0: "batch"}, "vertices": {0: "batch"}})
    model = onnx.load(str(tmp))
    metadata = {"format": ONNX_FORMAT,
                "faces": json.dumps(generator.faces(-1).cpu().tolist()),
                "output_uv": json.dumps(generator.output_uv.tolist()),
                "config": json.dumps(config_dict),
                "provenance": json.dumps(provenance or {}, default=str)}
    onnx.helper.set_model_props(model, metadata)
    onnx.save(model, str(tmp))
    tmp.replace(path)
    return path
