"""The model that ships with the project, and what a photo needs besides the weights.

``facerecon/assets/ours_cpu.safetensors`` is the ``cpu`` reference "ours" of chapter 05 (trained on SynthFace
only), written by ``facerecon ship-model`` from its run-cache entry; ``ours_cpu.onnx`` beside it is the same
model exported for ONNX Runtime (:mod:`facerecon.models.export`), which ``facerecon reconstruct`` runs by default
so that it never imports torch. Its provenance (also in
``ours_cpu.json`` beside it, for people) records the training data and config, the commit and the "photo"
calibration that ``facerecon reconstruct`` uses with *any* model trained on SynthFace crops:

- ``framing``: the crop box from the 68-landmark box, measured on the model's training split (:mod:`.framing`);
- ``denoise_ranking``: Algorithm 1 step 1's validation ranking of the classical denoisers (and none) per noise
  level, measured on SynthFace validation crops (``comparison.robustness.validation_ranking``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models.onnx_runtime import ONNX_SUFFIX, OnnxGenerator
from .framing import LandmarkFraming, measure_framing

if TYPE_CHECKING:   # torch, loaded only for a torch model or to ship one
    from ..study.cache import RunCache
    from .pipeline import PhotoModel

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SHIPPED_MODEL = ASSETS / "ours_cpu.safetensors"
SHIPPED_ONNX = SHIPPED_MODEL.with_suffix(ONNX_SUFFIX)   # the same weights for ONNX Runtime (written beside it)
RANKING_LEVELS = (0.1, 0.25, 0.5)   # the noise levels of chapter 05's robustness section (σ on [0, 1])


def load_photo_model(path: Path | None = None, threads: int = 1) -> PhotoModel:
    """The model for photos: ``path`` (.onnx, .safetensors, a ``generator.pt`` or a run-cache folder), or by
    default the shipped model, through ONNX Runtime when its export and onnxruntime are there (no torch import),
    else through torch. ``threads``: CPU threads for the model."""
    if path is None:
        try:
            import onnxruntime  # noqa: F401
            path = SHIPPED_ONNX if SHIPPED_ONNX.is_file() else SHIPPED_MODEL
        except ImportError:
            path = SHIPPED_MODEL
    if Path(path).suffix == ONNX_SUFFIX:
        return OnnxGenerator(path, threads)
    import torch

    from ..training.model_files import load_model

    torch.set_num_threads(threads)
    return load_model(path)


def photo_calibration(model: PhotoModel) -> tuple[LandmarkFraming, dict[float, list[str]]]:
    """The framing and denoising ranking for photos: ``model``'s own when it carries them, else the shipped
    model's (both are properties of SynthFace crops, not of one model's weights)."""
    photo = model.provenance.get("photo")
    if photo is None:
        photo = shipped_provenance()["photo"]
    ranking = {float(level): list(names) for level, names in photo["denoise_ranking"].items()}
    return LandmarkFraming(**photo["framing"]), ranking


def shipped_provenance() -> dict[str, Any]:
    """The shipped model's provenance, read from its metadata without loading its weights."""
    from safetensors import safe_open

    if not SHIPPED_MODEL.is_file():
        raise FileNotFoundError(f"the shipped model {SHIPPED_MODEL} is missing from this installation; pass "
                                "--model with a model from `facerecon train` or the run cache")
    with safe_open(str(SHIPPED_MODEL), framework="pt") as fh:
        return json.loads((fh.metadata() or {}).get("provenance", "{}"))


def ship_model(entry: Path | str, out: Path | str = SHIPPED_MODEL, *, profile: str, cache: RunCache | None = None,
               validation_n: int = 32, scores: dict[str, Any] | None = None) -> Path:
    """Write the run-cache ``model`` entry ``entry`` as safetensors at ``out`` (its provenance as JSON and its ONNX
    export beside it, same stem), measuring the photo calibration on the SynthFace splits it was trained on (from the cache, or
    generated).

    ``scores``: what the study measured for this model (e.g. its Table 3 row), stored in the provenance."""
    from ..comparison.robustness import validation_ranking
    from ..data.generate import load_synthface
    from ..data.synthface import SynthFaceConfig
    from ..study.cache import RunCache
    from ..study.provenance import provenance
    from ..training.model_files import load_model, save_safetensors

    entry = Path(entry)
    manifest = json.loads((entry / "manifest.json").read_text())
    data = SynthFaceConfig(**manifest["config"]["data"])
    loaded = load_model(entry)
    cache = cache or RunCache()
    train = load_synthface(data, cache=cache, profile=profile, progress=False)
    # stored arrays only (sample() would also compose every GT mesh)
    framing = measure_framing(np.stack([train.reader.get(i)["landmarks2d"] for i in range(len(train))]))
    validation = load_synthface(SynthFaceConfig(**{**manifest["config"]["data"], "n": validation_n, "seed": 1}),
                                cache=cache, profile=profile, progress=False)
    ranking = validation_ranking(np.stack([validation.reader.get(i)["image"] for i in range(len(validation))]),
                                 RANKING_LEVELS)
    record = provenance(profile=profile,
                        params={"train": manifest["config"]["train"], "data": manifest["config"]["data"]},
                        seed=loaded.config.seed, trained_on="SynthFace v2 (synthetic faces only; no real photo)",
                        cache_entry=entry.name, training_provenance=manifest.get("provenance"),
                        training_summary=loaded.provenance, scores=scores or {},
                        photo={"framing": framing.to_dict(),
                               "denoise_ranking": {str(level): names for level, names in ranking.items()},
                               "measured_on": {"framing": f"{len(train)} training faces",
                                               "denoise_ranking": f"{len(validation)} validation crops"}})
    path = save_safetensors(loaded.generator, loaded.config, out, record)
    path.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str))
    export_model_file(path, path.with_suffix(ONNX_SUFFIX))
    return path


def export_model_file(model: Path | str, out: Path | str) -> Path:
    """Export the torch model at ``model`` (anything :func:`~facerecon.training.model_files.load_model` reads) to
    the ONNX file ``out``, its provenance extended by the source file's name and SHA-256 (for a file)."""
    from ..models.export import export_onnx, file_sha256
    from ..training.model_files import load_model

    model = Path(model)
    loaded = load_model(model)
    source = {"file": model.name, "sha256": file_sha256(model) if model.is_file() else None}
    return export_onnx(loaded.generator, loaded.config.to_dict(), out, {**loaded.provenance, "exported_from": source})
