"""Training batches for the mesh models, built on the fly from any dataset folder with GT meshes.

A batch holds, in the normalized crop frame (crop pixels / 113):

- ``images (B, 3, 113, 113)`` in [0, 1] and ``landmarks (B, 68, 2)`` (crop pixels: the generator's inputs; with
  ``landmark_noise`` > 0 the dataset's landmarks plus Gaussian noise of that s.d. per coordinate, drawn after the
  GT samples from the step's generator, so a run without noise draws the same numbers as before);
- ``gt_points (B, K, 3)`` and ``gt_normals (B, K, 3)``: K points sampled by area from the GT surface, with the
  normal of the face each lies on (Chamfer and normal terms);
- ``real_meshes (B, V, 3)``: the GT resampled onto the generator's output topology (the discriminator's real
  samples must share the fake samples' topology).

Each step's batch is a function of the run's seed and the step (:func:`assemble_step`), so worker processes can
build batches ahead of a GPU step (:class:`StepBatches`) and a resumed run draws the same numbers.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset

from ..mesh.frame import CROP_SIZE
from ..data.dataset import FaceDataset
from ..mesh.resample import TemplateResampler
from ..mesh.ops import normals_at, sample_surface


class MeshBatches:
    def __init__(self, dataset: FaceDataset, output_uv: np.ndarray, gt_points: int, landmark_noise: float = 0.0):
        if not dataset.has_mesh:
            raise ValueError(f"dataset {dataset.folder} has no GT meshes: training needs them (convert real data "
                             "with --bfm, or use SynthFace)")
        if not landmark_noise >= 0:
            raise ValueError(f"landmark_noise must be >= 0 crop pixels, got {landmark_noise}")
        self.dataset = dataset
        self.gt_points = gt_points
        self.landmark_noise = landmark_noise
        self.faces = torch.as_tensor(dataset.faces)
        self.resampler = TemplateResampler(dataset.uv, dataset.faces, output_uv)

    def __len__(self) -> int:
        return len(self.dataset)

    def batch(self, indices, generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
        samples = [self.dataset.sample(int(i)) for i in indices]
        vertices = torch.from_numpy(np.stack([s["vertices"] for s in samples])).double() / CROP_SIZE
        points, face_idx = sample_surface(vertices, self.faces, self.gt_points, generator, return_faces=True)
        normals = normals_at(vertices, self.faces, face_idx)
        landmarks = torch.from_numpy(np.stack([s["landmarks2d"] for s in samples])).float()
        if self.landmark_noise:
            landmarks = landmarks + self.landmark_noise * torch.randn(landmarks.shape, generator=generator)
        out = {
            "images": torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2).float() / 255,
            "landmarks": landmarks,
            "gt_points": points.float(),
            "gt_normals": normals.float(),
            "real_meshes": self.resampler(vertices).float(),
        }
        return {k: v.to(device) for k, v in out.items()}


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of one epoch: a permutation seeded by ``(seed, epoch)`` (resume-safe)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def step_indices(n: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """The sample indices of training step ``step`` (incomplete last batches of an epoch are dropped)."""
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise ValueError(f"batch_size {batch_size} exceeds the {n} training samples")
    epoch, k = divmod(step, per_epoch)
    return epoch_order(n, seed, epoch)[k * batch_size:(k + 1) * batch_size]


ASSEMBLY_PREFETCH = 2          # batches each worker process builds ahead
MAX_ASSEMBLY_WORKERS = 6       # hid assembly behind an H200 step in the benchmark (see default_assembly_workers)


def default_assembly_workers(device: torch.device) -> int:
    """Worker processes that build batches ahead: none on a CPU, where they would compete with the step for the
    same cores; on an accelerator up to :data:`MAX_ASSEMBLY_WORKERS`, leaving two cores to the step. Measured on an
    H200 with 16 cores (`gpu` profile, batch 16): assembling a batch takes 100–180 ms, the step on a built batch
    60–100 ms, and a thread building the next batch was slower than none (it competes with the step for the
    interpreter), hence processes: 2.1× faster steps in ``benchmarks/training_speed.py``, about 1.15× on a real
    run's 2,000-face split (``results/README.md``)."""
    if device.type == "cpu":
        return 0
    return max(0, min(MAX_ASSEMBLY_WORKERS, (os.cpu_count() or 1) - 2))


def checked_assembly_workers(workers: int) -> int:
    """``workers`` if it is a whole number of worker processes (0: inline), else a ValueError naming it."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"assembly_workers must be a whole number >= 0 (0: build batches inline), got {workers!r}")
    return workers


def assemble_step(batches: MeshBatches, seed: int, batch_size: int, step: int, device: torch.device
                  ) -> tuple[dict[str, torch.Tensor], torch.Generator]:
    """Training step ``step``'s batch of run ``seed`` and the generator that drew its GT samples (a function of
    ``(seed, step)`` alone, so another process can build it and a resumed run draws the same numbers)."""
    gen = torch.Generator().manual_seed(seed * 7_919 + step)
    return batches.batch(step_indices(len(batches), batch_size, seed, step), gen, device), gen


class StepBatches(Dataset):
    """Item ``i``: step ``first + i``'s batch on the CPU and its generator's state (a generator object does not
    cross processes), for a DataLoader's worker processes."""

    def __init__(self, batches: MeshBatches, seed: int, batch_size: int, first: int, steps: int):
        self.batches, self.seed, self.batch_size, self.first, self.n = batches, seed, batch_size, first, steps - first

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        batch, gen = assemble_step(self.batches, self.seed, self.batch_size, self.first + i, torch.device("cpu"))
        return batch, gen.get_state()
