"""Train-or-load through the run cache: the notebooks' way to get a trained mesh model.

The key is the training config, the training split's cache key and the code this module imports (the
trainer, models, mesh, data and metrics modules, found from the import graph). Training writes its checkpoints to a persistent work folder beside the cache entry (keyed the same), so
a notebook run that is interrupted resumes from its last checkpoint the next time; the entry itself appears only
when training finished.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..data.dataset import FaceDataset
from ..data.generate import load_synthface
from ..data.synthface import SynthFaceConfig
from ..study.cache import RunCache
from .config import TrainConfig, flat_keys, named_config
from .trainer import Trainer, load_generator

OUTPUTS = ("generator.pt", "log.csv", "log.json", "summary.json")


SPLIT_KEYS = ("n_train", "resolution")   # the training split's size and model grid


def train_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The training settings among a notebook's parameters: every flat :class:`TrainConfig` key it declares and the
    training split's size and grid (``model`` and ``seed`` are chosen per run). Notebooks that share these
    values (03, 05, 06, 07) share the cached models."""
    keys = (set(flat_keys()) - {"model", "seed"}) | set(SPLIT_KEYS)
    return {k: v for k, v in params.items() if k in keys}


def run_config(name: str, *, seed: int, n_train: int, resolution: int, **train: Any
               ) -> tuple[TrainConfig, SynthFaceConfig]:
    """The training config of model ``name`` and its SynthFace training split from a profile's training
    settings (the profile's ``train`` section; notebooks 03 and 07 pass the same values, so they share models)."""
    return named_config(name, seed=seed, **train), SynthFaceConfig(split="train", n=n_train, seed=0,
                                                                    resolution=resolution)


@dataclass
class TrainedModel:
    """A model from the run cache: weights loaded, its config, per-step logs, summary, entry path, and whether
    the entry existed already."""

    generator: Any
    config: TrainConfig
    logs: list[dict[str, float]]
    summary: dict[str, Any]
    path: Path
    reused: bool


def train_or_load(cfg: TrainConfig, data: SynthFaceConfig, *, profile: str, cache: RunCache | None = None,
                  progress: bool = True, workers: int | None = None) -> TrainedModel:
    """The model trained with ``cfg`` on the SynthFace split ``data``, from the cache or trained now."""
    cache = cache or RunCache()
    train = load_synthface(data, cache=cache, workers=workers, progress=progress, profile=profile)
    return train_or_load_on(cfg, train, {"data": asdict(data)}, profile=profile, cache=cache, progress=progress)


def _model_key(cfg: TrainConfig, train: FaceDataset, data_key: dict[str, Any]
               ) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    if train.cache_key is None:
        raise ValueError(f"train_or_load_on needs a dataset from the run cache; {train.folder} is not one (train "
                         "it with Trainer directly)")
    return {"train": cfg.to_dict(), **data_key}, dict(code=(__name__,), parents=(train.cache_key,))


def model_entry_path(cfg: TrainConfig, train: FaceDataset, data_key: dict[str, Any], cache: RunCache) -> Path:
    """Where the run cache keeps (or will keep) the model :func:`train_or_load_on` trains with these arguments."""
    key_config, key = _model_key(cfg, train, data_key)
    return cache.entry_path("model", key_config, **key)


def train_or_load_on(cfg: TrainConfig, train: FaceDataset, data_key: dict[str, Any], *, profile: str,
                     cache: RunCache | None = None, progress: bool = True) -> TrainedModel:
    """The model trained with ``cfg`` on ``train``, any dataset from the run cache (its entry is this one's
    parent; ``data_key`` describes it in this entry's key), from the cache or trained now."""
    import json

    cache = cache or RunCache()
    key_config, key = _model_key(cfg, train, data_key)
    final = cache.entry_path("model", key_config, **key)
    work = final.parent / f".work-{final.name}"

    def build(tmp: Path) -> dict[str, Any]:
        result = Trainer(cfg, train, work, progress=progress).run(resume=True)
        for name in OUTPUTS:
            shutil.copy2(work / name, tmp / name)
        return result.summary

    entry = cache.get_or_build("model", key_config, build, **key, profile=profile, seed=cfg.seed)
    shutil.rmtree(work, ignore_errors=True)
    generator, loaded_cfg = load_generator(entry.file("generator.pt"))
    logs = json.loads(entry.file("log.json").read_text())
    return TrainedModel(generator, loaded_cfg, logs, entry.meta, entry.path, entry.reused)
