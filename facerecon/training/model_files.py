"""Trained generators on disk: the trainer's ``generator.pt`` (read with ``weights_only=True``) and the
safetensors file the project ships (tensors only, so that loading a model never runs code from the file).

A safetensors model holds the generator's ``state_dict`` and, in its string metadata, the training config
(``"config"``, JSON) and the provenance (``"provenance"``, JSON: what it was trained on, the commit, the
measured scores).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.generator import MeshGenerator
from .config import TrainConfig
from .trainer import CheckpointError, build_models, load_generator

SAFETENSORS_SUFFIX = ".safetensors"


@dataclass
class LoadedModel:
    """A generator in eval mode, its training config, and whatever provenance came with it."""

    generator: MeshGenerator
    config: TrainConfig
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def save_safetensors(generator: MeshGenerator, config: TrainConfig, path: Path | str,
                     provenance: dict[str, Any] | None = None) -> Path:
    """Write ``generator``'s weights and buffers with ``config`` and ``provenance`` to ``path`` (.safetensors)."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != SAFETENSORS_SUFFIX:
        raise ValueError(f"a safetensors model file must end in {SAFETENSORS_SUFFIX}, got {path.name}")
    tensors = {name: t.detach().cpu().contiguous().clone() for name, t in generator.state_dict().items()}
    metadata = {"format": "facerecon-generator", "config": json.dumps(config.to_dict()),
                "provenance": json.dumps(provenance or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)
    return path


def _load_safetensors(path: Path) -> LoadedModel:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            metadata = fh.metadata() or {}
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({type(err).__name__}: {err})") from None
    if metadata.get("format") != "facerecon-generator" or "config" not in metadata:
        raise CheckpointError(f"{path}: a safetensors file, but not a facerecon generator (its metadata has no "
                              "'format': 'facerecon-generator' and 'config')")
    config = TrainConfig.from_dict(json.loads(metadata["config"]))
    generator, _ = build_models(config)
    try:
        generator.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: the weights do not fit the generator its config describes: {err}") from None
    return LoadedModel(generator.eval(), config, json.loads(metadata.get("provenance", "{}")), path)


def load_model(path: Path | str) -> LoadedModel:
    """A generator from ``path``: a ``.safetensors`` file written by :func:`save_safetensors`, a
    ``generator.pt`` written by ``facerecon train``, or a folder holding one (a run-cache ``model`` entry or a
    ``train`` output folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "generator.pt"
    if not path.is_file():
        raise FileNotFoundError(f"model {path} not found: expected a .safetensors file, a generator.pt, or a folder "
                                "holding generator.pt (a `facerecon train` output or a run-cache model entry)")
    if path.suffix == SAFETENSORS_SUFFIX:
        return _load_safetensors(path)
    generator, config = load_generator(path)
    provenance_file = path.parent / "summary.json"
    provenance = json.loads(provenance_file.read_text()) if provenance_file.is_file() else {}
    return LoadedModel(generator, config, provenance, path)

