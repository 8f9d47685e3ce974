"""The on-disk sample format shared by SynthFace and the real-data converter.

A dataset folder holds::

    index.json                  format, source, split, count, shard list, array specs, provenance, bad files
    model.npz                   (SynthFace) the morphable model, so meshes are rebuilt from coefficients
    faces.npy                   (real data with a BFM) the GT mesh triangles, shared by all samples
    shard-00000/<array>.npy     one .npy per per-sample array, first axis = sample

``.npy`` files are memory-mapped on read, so a dataset of any size streams with bounded memory.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

FORMAT = "facerecon-samples/1"
INDEX = "index.json"


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


def write_shard(folder: Path, samples: list[dict[str, np.ndarray]], spec: dict[str, tuple[tuple, str]]) -> int:
    """Stack ``samples`` per array name and save one ``.npy`` each (checked against ``spec``)."""
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.mkdir(parents=True)
    for name, (shape, dtype) in spec.items():
        stacked = np.stack([np.asarray(s[name]) for s in samples]).astype(dtype, copy=False)
        if stacked.shape[1:] != tuple(shape):
            raise ValueError(f"array {name!r}: samples have shape {stacked.shape[1:]}, expected {tuple(shape)}")
        np.save(tmp / f"{name}.npy", stacked)
    os.replace(tmp, folder)
    return len(samples)


def write_index(folder: Path, index: dict[str, Any]) -> None:
    tmp = folder / f".{INDEX}.tmp"
    tmp.write_text(json.dumps({"format": FORMAT, **index}, indent=2, sort_keys=True, default=str))
    os.replace(tmp, folder / INDEX)


def read_index(folder: Path | str) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / INDEX
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder {folder} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a facerecon dataset: {INDEX} is missing (write one with "
                                "`facerecon data synth` or `facerecon data convert`)")
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if index.get("format") != FORMAT:
        raise ValueError(f"{path}: format {index.get('format')!r}, expected {FORMAT!r}")
    return index


class ShardReader:
    """Random access to the per-sample arrays of a dataset folder, memory-mapped shard by shard."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        counts = [s["n"] for s in self.index["shards"]]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._open: dict[int, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def array_names(self) -> list[str]:
        return list(self.index["arrays"])

    def _shard(self, k: int) -> dict[str, np.ndarray]:
        if k not in self._open:
            if len(self._open) >= 4:           # keep a few shards mapped, not all (bounded memory)
                self._open.pop(next(iter(self._open)))
            folder = self.folder / self.index["shards"][k]["name"]
            arrays = {}
            for name in self.array_names:
                path = folder / f"{name}.npy"
                if not path.is_file():
                    raise FileNotFoundError(f"dataset shard {folder} lacks {name}.npy")
                arrays[name] = np.load(path, mmap_mode="r")
            self._open[k] = arrays
        return self._open[k]

    def get(self, i: int) -> dict[str, np.ndarray]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range for a dataset of {len(self)}")
        i = i % len(self)
        k = int(np.searchsorted(self.offsets, i, side="right") - 1)
        shard = self._shard(k)
        return {name: np.array(arr[i - self.offsets[k]]) for name, arr in shard.items()}


def finalize_folder(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move a completed dataset from ``tmp`` to ``out`` (never leaving a half-written ``out``)."""
    if out.exists():
        if not overwrite:
            shutil.rmtree(tmp, ignore_errors=True)
            raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
        shutil.rmtree(out)
    os.replace(tmp, out)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
