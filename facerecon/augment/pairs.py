"""Generated image–mesh pairs (Algorithm 1, step 2) as a dataset folder the trainer reads like SynthFace.

Pair ``j`` takes face ``j mod n_real`` of the real subset and edit ``EDITS[j mod 3]``: the mesh is edited
(:mod:`.edits`), its geometry rendered at the generator's resolution, an image generated from it, upsampled to
the 113-pixel crop (bilinear) and, for glasses, painted. The folder holds the real subset followed by the pairs,
with the source's morphable model, so every sample's mesh is rebuilt from its (edited) coefficients. Whether
the generated images are good enough to train on is the chapter's question, not an assumption.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import FaceDataset
from ..data.render import to_numpy_uint8
from ..data.shards import shard_name, write_index, write_shard
from ..mesh.frame import CROP_SIZE
from ..study.cache import RunCache
from ..study.progress import progress_bar
from .diffusion import GeometryDiffusion, TrainedDiffusion
from .edits import EDITS, EditConfig, edit_sample, paint_edit
from .geometry import geometry_maps, landmark_visibility

SHARD = 500


def pair_rng(seed: int, j: int) -> np.random.Generator:
    return np.random.default_rng([seed, 2, j])


def edited_samples(source: FaceDataset, n_real: int, n_pairs: int, edits: tuple[str, ...], cfg: EditConfig,
                   seed: int) -> list[dict]:
    """The ``n_pairs`` edited raw samples (meshes only, images not generated yet), in pair order."""
    if source.model is None:
        raise ValueError(f"dataset {source.folder} has no morphable model: edits change its coefficients")
    if not edits or set(edits) - set(EDITS):
        raise ValueError(f"edits must be a non-empty subset of {EDITS}, got {edits}")
    margin = float(source.index.get("config", {}).get("crop_margin", 1.0))
    return [edit_sample(source.sample(j % n_real), source.model, edits[j % len(edits)], cfg, pair_rng(seed, j),
                        margin=margin, size=CROP_SIZE) for j in range(n_pairs)]


def generate_images(model: GeometryDiffusion, samples: list[dict], faces: np.ndarray, *, ddim_steps: int,
                    seed: int, batch_size: int = 64, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 3, S, S)`` in [0, 1] generated from the samples' meshes, and their geometry ``(N, 4, S, S)``;
    one seeded stream for the whole set (the same seed and meshes give the same images)."""
    size = model.cfg.resolution
    geometry = torch.stack([geometry_maps(s["vertices"], faces, size) for s in samples])
    generator = torch.Generator().manual_seed(seed)
    images = []
    chunks = range(0, len(samples), batch_size)
    for start in progress_bar(chunks, desc=f"generate ({model.cfg.kind}, {ddim_steps} DDIM steps)", unit="batch",
                              enabled=progress):
        images.append(model.sample(geometry[start:start + batch_size], ddim_steps, generator, batch_size))
    return torch.cat(images), geometry


def to_crop(images: torch.Tensor) -> torch.Tensor:
    """Generated ``(N, 3, S, S)`` → ``(N, 113, 113, 3)`` (bilinear upsampling to the crop)."""
    return F.interpolate(images, size=(CROP_SIZE, CROP_SIZE), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)


def finish_pairs(samples: list[dict], images: torch.Tensor, faces: np.ndarray, landmark_index: np.ndarray,
                 seed: int) -> list[dict]:
    """The generated pairs in the sample contract: images at the crop size with their edits painted, landmark
    visibility from the edited mesh (and the glasses), no sensor noise."""
    out = []
    for j, (sample, image) in enumerate(zip(samples, to_crop(images))):
        image = image.clone()
        mask = paint_edit(sample, image, pair_rng(seed, j))
        visible = landmark_visibility(sample["vertices"], faces, landmark_index)
        pixel = np.clip(np.rint(sample["landmarks2d"]).astype(int), 0, CROP_SIZE - 1)
        visible &= ~mask.numpy()[pixel[:, 1], pixel[:, 0]]
        out.append({**sample, "image": to_numpy_uint8(image), "landmark_visible": visible,
                    "noise_sd": np.float32(0.0)})
    return out


def write_split(source: FaceDataset, real: list[dict], generated: list[dict], out: Path, info: dict[str, Any]) -> None:
    """Write ``real`` then ``generated`` raw samples, in ``source``'s contract and with its model, to ``out``."""
    spec = {name: (tuple(a["shape"]), a["dtype"]) for name, a in source.index["arrays"].items()}
    samples = real + generated
    out.mkdir(parents=True)
    shutil.copy2(source.folder / "model.npz", out / "model.npz")
    shards = []
    for k in range(math.ceil(len(samples) / SHARD)):
        chunk = samples[k * SHARD:(k + 1) * SHARD]
        write_shard(out / shard_name(k), chunk, spec)
        shards.append({"name": shard_name(k), "n": len(chunk)})
    write_index(out, {**{key: source.index[key] for key in ("source", "arrays", "mesh")},
                      "split": "augmented", "n": len(samples), "shards": shards, "config": source.index["config"],
                      "augmentation": info, "bad_files": []})


def augmented_split(source: FaceDataset, n_real: int, *, diffusion: TrainedDiffusion | None = None,
                    n_pairs: int = 0, edits: tuple[str, ...] = EDITS, edit: EditConfig = EditConfig(),
                    ddim_steps: int = 50, seed: int = 0, profile: str, cache: RunCache | None = None,
                    progress: bool = True) -> FaceDataset:
    """The first ``n_real`` faces of ``source`` plus ``n_pairs`` generated pairs (none: the real subset alone),
    through the run cache."""
    if source.cache_key is None:
        raise ValueError("augmented_split needs a source split from the run cache (load_synthface)")
    if not 1 <= n_real <= len(source):
        raise ValueError(f"n_real must be in [1, {len(source)}], got {n_real}")
    if n_pairs and diffusion is None:
        raise ValueError("generated pairs need a trained diffusion model")
    cache = cache or RunCache()
    parents = (source.cache_key,) + ((diffusion.key,) if n_pairs else ())
    config = {"n_real": n_real, "n_pairs": n_pairs, "seed": seed}
    if n_pairs:
        config.update(edits=list(edits), edit=asdict(edit), ddim_steps=ddim_steps)

    def build(tmp: Path) -> dict[str, Any]:
        start = time.perf_counter()
        real = [source.reader.get(i) for i in range(n_real)]
        generated: list[dict] = []
        if n_pairs:
            edited = edited_samples(source, n_real, n_pairs, tuple(edits), edit, seed)
            images, _ = generate_images(diffusion.model, edited, source.faces, ddim_steps=ddim_steps, seed=seed,
                                        progress=progress)
            generated = finish_pairs(edited, images, source.faces, source.model.landmark_index, seed)
        write_split(source, real, generated, tmp / "data", {"n_real": n_real, "n_pairs": n_pairs,
                                                            "edits": [s["edit"] for s in generated]})
        return {"n": n_real + n_pairs, "wall_time_s": round(time.perf_counter() - start, 2)}

    entry = cache.get_or_build("augmented_split", config, build, code=(__name__,), parents=parents, profile=profile,
                               seed=seed)
    return FaceDataset(entry.path / "data", cache_key=entry.path.name)
