"""Training several models at once: one process per CPU core, each single-threaded.

The `cpu` mesh models are small: on 2 cores one model trained with 2 torch threads takes 467 ms a step, two
trained side by side with one thread each 556 and 587 ms (``benchmarks/training_speed.py --threads 1``, two at
once; ``results/README.md``), so a chapter that trains many models (06's ablation, 05's learning-rate choices)
gets 1.6× more models per hour from two processes than from one. Each model is still a function of its config
alone (the trainer seeds everything from it); only the float kernels' summation order follows the thread count,
as it follows the CPU (compare across thread counts as across machines).

The processes are :func:`~facerecon.study.processes.map_in_processes`'s. Each trains through
:func:`~.cached.train_or_load`, so every finished model is in the run cache the moment it finishes: an interrupted
chapter keeps what it trained, and a failing model stops the chapter with its error after the others finished.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import torch

from ..data.generate import load_synthface
from ..data.synthface import SynthFaceConfig
from ..study.cache import RunCache
from ..study.processes import checked_processes, map_in_processes
from .cached import TrainedModel, model_entry_path, train_or_load
from .config import TrainConfig

Run = tuple[TrainConfig, SynthFaceConfig]


def train_or_load_all(runs: Sequence[Run], *, profile: str, processes: int = 1, cache: RunCache | None = None,
                      progress: bool = True) -> list[TrainedModel]:
    """:func:`~.cached.train_or_load` of every ``(config, split)`` in ``runs``, in order.

    ``processes`` 1 trains them one after another in this process (what every chapter did before). More trains
    the models missing from the run cache in that many spawned processes, the torch threads of this process
    shared among them (at least one each), then loads all from the cache; ``reused`` stays true only for models
    that were there before. A GPU run trains in this process whatever ``processes`` says (the processes would
    share one device).
    """
    processes = checked_processes(processes)
    cache = cache or RunCache()
    if processes == 1 or torch.cuda.is_available():
        return [train_or_load(cfg, data, profile=profile, cache=cache, progress=progress) for cfg, data in runs]
    splits = {repr(data): load_synthface(data, cache=cache, progress=progress, profile=profile) for _, data in runs}
    paths = [model_entry_path(cfg, splits[repr(data)], {"data": asdict(data)}, cache) for cfg, data in runs]
    missing = {path: run for path, run in zip(paths, runs) if not path.exists()}
    if len(missing) > 1:
        _train_in_processes(list(missing.values()), profile, processes, cache, progress)
    loaded = [train_or_load(cfg, data, profile=profile, cache=cache, progress=progress) for cfg, data in runs]
    return [replace(model, reused=path not in missing) for model, path in zip(loaded, paths)]


def _train_in_processes(runs: list[Run], profile: str, processes: int, cache: RunCache, progress: bool) -> None:
    map_in_processes(_train_one, [(cfg.to_dict(), asdict(data), profile, str(cache.root)) for cfg, data in runs],
                     processes=processes, desc=f"train {len(runs)} models", progress=progress)


def _train_one(cfg: dict, data: dict, profile: str, cache_root: str) -> str:
    """In a worker process: train one model into the run cache; returns its entry folder."""
    model = train_or_load(TrainConfig.from_dict(cfg), SynthFaceConfig(**data), profile=profile,
                          cache=RunCache(cache_root), progress=False)
    return str(Path(model.path))
