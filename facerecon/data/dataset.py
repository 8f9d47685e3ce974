"""Generating SynthFace splits to disk (parallel, cached) and streaming any dataset folder to PyTorch.

The sample contract (SynthFace and real data alike), as :meth:`FaceDataset.sample` returns it:

==================== ============== =========================================================================
key                  shape / dtype  meaning
==================== ============== =========================================================================
image                (S, S, 3) u8   the crop (S = 113); ``__getitem__`` gives ``(3, S, S)`` float in [0, 1]
landmarks2d          (68, 2) f32    iBUG landmarks, crop pixels (x right, y down, 0-based pixel centres)
landmarks3d          (68, 3) f32    the same with z (scaled like x, y; larger = closer); NaN z if unknown
pose                 (3,) f32       pitch, yaw, roll in radians (3DDFA convention)
vertices             (V, 3) f32     GT mesh in crop coordinates, zero-mean z; absent without a mesh
faces                (F, 3) i64     GT triangles (shared: :attr:`FaceDataset.faces`)
id                   str            sample id
==================== ============== =========================================================================

plus source-specific arrays (coefficients, light, occluder, visibility flags).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..cache import RunCache
from ..provenance import provenance
from .camera import rotation_3ddfa
from .morphable import FaceModel
from .shards import ShardReader, finalize_folder, shard_name, write_index, write_shard
from .synthface import SynthFaceConfig, apply_crop_transform, render_sample, sample_contract, \
    synthface_model, yaw_bin_masks

SYNTHFACE_CODE = ("data/morphable.py", "data/render.py", "data/synthface.py", "data/camera.py", "data/shards.py",
                  "data/dataset.py")


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
        bar = tqdm(total=cfg.n, desc=f"SynthFace {cfg.split}", unit="img", disable=not progress)
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
        import shutil

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

    entry = cache.get_or_build("synthface", asdict(cfg), build, profile=profile, seed=cfg.seed,
                               code_modules=SYNTHFACE_CODE)
    return FaceDataset(entry.path / "data")


class FaceDataset(torch.utils.data.Dataset):
    """A dataset folder (SynthFace or converted real data) as a map-style PyTorch dataset.

    ``__getitem__`` returns tensors: ``image (3, S, S)`` float32 in [0, 1], ``landmarks2d (68, 2)``,
    ``landmarks3d (68, 3)``, ``pose (3,)``, ``vertices (V, 3)`` when the source has a mesh, and
    ``template_vertices (M, 3)`` when a :class:`~facerecon.data.resample.TemplateResampler` is given.
    :meth:`sample` returns the raw numpy sample (uint8 image).
    """

    def __init__(self, folder: Path | str, resampler: Any = None):
        self.reader = ShardReader(folder)
        self.folder = Path(folder)
        self.index = self.reader.index
        self.resampler = resampler
        mesh = self.index.get("mesh") or {}
        self.model: FaceModel | None = None
        self._faces: np.ndarray | None = None
        if mesh.get("source") == "model.npz":
            self.model = FaceModel.load(self.folder / "model.npz")
            self._faces = self.model.faces
        elif mesh.get("source") == "faces.npy":
            self._faces = np.load(self.folder / "faces.npy")

    def __len__(self) -> int:
        return len(self.reader)

    @property
    def has_mesh(self) -> bool:
        return self._faces is not None

    @property
    def faces(self) -> np.ndarray:
        if self._faces is None:
            raise ValueError(f"dataset {self.folder} has no GT mesh (converted without a BFM)")
        return self._faces

    @property
    def uv(self) -> np.ndarray:
        """``(V, 2)`` parameter coordinates of the GT mesh vertices (the fixed UV correspondence)."""
        if self.model is not None:
            return self.model.uv
        path = self.folder / "uv.npy"
        if not path.is_file():
            raise ValueError(f"dataset {self.folder} has no UV parameterization of its GT mesh")
        return np.load(path)

    def sample(self, i: int) -> dict[str, Any]:
        raw = self.reader.get(i)
        raw["id"] = f"{self.index['source']}-{self.index.get('split', 'all')}-{i:06d}"
        if self.model is not None:
            shape = self.model.shape(raw["id_coeffs"], raw["exp_coeffs"])
            rotated = shape @ rotation_3ddfa(*raw["pose"].astype(np.float64)).T
            raw["vertices"] = apply_crop_transform(rotated, raw["crop_transform"]).astype(np.float32)
        return raw

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        raw = self.sample(i)
        item = {
            "image": torch.from_numpy(raw["image"]).permute(2, 0, 1).float() / 255.0,
            "landmarks2d": torch.from_numpy(raw["landmarks2d"]),
            "landmarks3d": torch.from_numpy(raw["landmarks3d"]),
            "pose": torch.from_numpy(raw["pose"]),
            "index": torch.tensor(i),
        }
        if "vertices" in raw:
            item["vertices"] = torch.from_numpy(raw["vertices"])
            if self.resampler is not None:
                item["template_vertices"] = torch.from_numpy(self.resampler(raw["vertices"]).astype(np.float32))
        return item
