"""Generating SynthFace splits to disk: shards in parallel processes, bounded memory, through the run cache."""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..study.cache import RunCache
from ..study.provenance import provenance
from .dataset import FaceDataset
from .shards import finalize_folder, shard_name, write_index, write_shard
from .synthface import SynthFaceConfig, render_sample, sample_contract, synthface_model, yaw_bin_masks
from ..study.progress import progress_bar


def _make_shard(args: tuple[SynthFaceConfig, int, str]) -> int:
    cfg, k, folder = args
    model = synthface_model(cfg)
    start = k * cfg.shard_size
    samples = [render_sample(model, cfg, i) for i in range(start, min(start + cfg.shard_size, cfg.n))]
    return write_shard(Path(folder) / shard_name(k), samples, sample_contract(cfg))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


def generate_synthface(cfg: SynthFaceConfig, out: Path | str, *, workers: int | None = None,
                       progress: bool = True, overwrite: bool = False, profile: str = "cli") -> dict[str, Any]:
    """Write the split ``cfg`` to the folder ``out`` (shards + index + model); returns the index.

    Shards are generated in parallel processes and written as they finish (bounded memory); the folder
    appears only when complete.
    """
    out = Path(out).resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    start = time.perf_counter()
    try:
        model = synthface_model(cfg)
        model.save(tmp / "model.npz")
        n_shards = math.ceil(cfg.n / cfg.shard_size)
        jobs = [(cfg, k, str(tmp)) for k in range(n_shards)]
        workers = min(workers or default_workers(), n_shards)
        bar = progress_bar(total=cfg.n, desc=f"SynthFace {cfg.split}", unit="img", enabled=progress)
        if workers == 1:
            for job in jobs:
                bar.update(_make_shard(job))
        else:
            # One process per core, each single-threaded; the parent's thread count is left alone.
            with multiprocessing.get_context("fork").Pool(workers, initializer=torch.set_num_threads,
                                                          initargs=(1,)) as pool:
                for count in pool.imap_unordered(_make_shard, jobs):
                    bar.update(count)
        bar.close()
        yaw = np.degrees(np.abs(np.concatenate([np.load(tmp / shard_name(k) / "pose.npy")[:, 1]
                                                 for k in range(n_shards)])))
        wall = time.perf_counter() - start
        index = {
            "source": "synthface", "split": cfg.split, "n": cfg.n,
            "shards": [{"name": shard_name(k), "n": min(cfg.shard_size, cfg.n - k * cfg.shard_size)}
                       for k in range(n_shards)],
            "arrays": {k: {"shape": list(s), "dtype": d} for k, (s, d) in sample_contract(cfg).items()},
            "mesh": {"source": "model.npz", "n_vertices": model.n_vertices, "n_faces": len(model.faces)},
            "config": asdict(cfg),
            "yaw_bin_counts": {label: int(mask.sum()) for label, mask in yaw_bin_masks(yaw).items()},
            "samples_per_minute": round(60 * cfg.n / wall, 1),
            "bad_files": [],
            "provenance": provenance(profile=profile, params=asdict(cfg), seed=cfg.seed, wall_time_s=round(wall, 2),
                                     workers=workers),
        }
        write_index(tmp, index)
        finalize_folder(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return index


def load_synthface(cfg: SynthFaceConfig, *, cache: RunCache | None = None, workers: int | None = None,
                   progress: bool = True, profile: str = "smoke") -> "FaceDataset":
    """The split ``cfg`` from the run cache, generated on first use."""
    cache = cache or RunCache()

    def build(tmp: Path) -> dict[str, Any]:
        index = generate_synthface(cfg, tmp / "data", workers=workers, progress=progress, profile=profile)
        return {"n": index["n"], "samples_per_minute": index["samples_per_minute"],
                "yaw_bin_counts": index["yaw_bin_counts"]}

    entry = cache.get_or_build("synthface", asdict(cfg), build, code=(__name__,), profile=profile, seed=cfg.seed)
    return FaceDataset(entry.path / "data", cache_key=entry.path.name)
