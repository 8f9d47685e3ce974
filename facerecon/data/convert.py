"""Converting real 300W-LP / AFLW2000-3D folders into the project's sample format (see ``shards.py``)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..study.provenance import provenance
from ..mesh.frame import CROP_SIZE
from .readers import RealSample, iter_samples, list_pairs, load_bfm
from .shards import batched, finalize_folder, shard_name, write_index, write_shard
from ..study.progress import progress_bar


def _spec(sample: RealSample) -> dict[str, tuple[tuple[int, ...], str]]:
    return {name: (np.asarray(a).shape, str(np.asarray(a).dtype)) for name, a in sample.arrays().items()}


def convert_dataset(dataset: str, root: Path | str, out: Path | str, *, bfm_path: Path | str | None = None,
                    skip_bad: bool = False, overwrite: bool = False, shard_size: int = 500, margin: float = 1.0,
                    progress: bool = True) -> dict[str, Any]:
    """Read every sample of ``root`` and write it to ``out``; returns the index (with the bad files listed)."""
    out = Path(out).resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    files = list_pairs(dataset, root)               # checks the folder before any work
    bfm = load_bfm(bfm_path) if bfm_path is not None else None
    if bfm is None:
        print(f"[facerecon] no BFM given: {dataset} samples carry image, 68 landmarks and pose; the GT mesh is "
              "absent (pass --bfm for dense meshes)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    start = time.perf_counter()
    bad: list[dict[str, str]] = []
    shards, spec = [], None
    try:
        samples = progress_bar(iter_samples(dataset, root, bfm, skip_bad=skip_bad, bad=bad, margin=margin),
                               total=len(files), desc=f"convert {dataset}", unit="img", enabled=progress)
        ids: list[str] = []
        for k, batch in enumerate(batched(samples, shard_size)):
            spec = spec or _spec(batch[0])
            write_shard(tmp / shard_name(k), [s.arrays() for s in batch], spec)
            shards.append({"name": shard_name(k), "n": len(batch)})
            ids.extend(s.id for s in batch)
        if not shards:
            raise ValueError(f"{root}: every sample was bad; nothing converted ({len(bad)} bad files)")
        if bfm is not None:
            np.save(tmp / "faces.npy", bfm.faces)
            np.save(tmp / "uv.npy", bfm.uv().astype(np.float32))
        n = sum(s["n"] for s in shards)
        params = {"dataset": dataset, "root": str(root), "bfm": str(bfm_path) if bfm_path else None,
                  "margin": margin, "size": CROP_SIZE}
        index = {
            "source": dataset, "split": "test" if dataset == "aflw2000" else "train", "n": n, "shards": shards,
            "ids": ids,
            "arrays": {k: {"shape": list(s), "dtype": d} for k, (s, d) in spec.items()},
            "mesh": {"source": "faces.npy", "n_vertices": bfm.n_vertices, "n_faces": len(bfm.faces)} if bfm else None,
            "bad_files": bad,
            "provenance": provenance(profile="cli", params=params, seed=None,
                                     wall_time_s=round(time.perf_counter() - start, 2)),
        }
        write_index(tmp, index)
        finalize_folder(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return index
