"""Training batches for the mesh models, built on the fly from any dataset folder with GT meshes.

A batch holds, in the normalized crop frame (crop pixels / 113):

- ``images (B, 3, 113, 113)`` in [0, 1] and ``landmarks (B, 68, 2)`` (crop pixels: the generator's inputs);
- ``gt_points (B, K, 3)`` and ``gt_normals (B, K, 3)``: K points sampled by area from the GT surface, with the
  normal of the face each lies on (Chamfer and normal terms);
- ``real_meshes (B, V, 3)``: the GT resampled onto the generator's output topology (the discriminator's real
  samples must share the fake samples' topology).
"""

from __future__ import annotations

import numpy as np
import torch

from ..mesh.frame import CROP_SIZE
from ..data.dataset import FaceDataset
from ..mesh.resample import TemplateResampler
from ..mesh.ops import normals_at, sample_surface


class MeshBatches:
    def __init__(self, dataset: FaceDataset, output_uv: np.ndarray, gt_points: int):
        if not dataset.has_mesh:
            raise ValueError(f"dataset {dataset.folder} has no GT meshes: training needs them (convert real data "
                             "with --bfm, or use SynthFace)")
        self.dataset = dataset
        self.gt_points = gt_points
        self.faces = torch.as_tensor(dataset.faces)
        self.resampler = TemplateResampler(dataset.uv, dataset.faces, output_uv)

    def __len__(self) -> int:
        return len(self.dataset)

    def batch(self, indices, generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
        samples = [self.dataset.sample(int(i)) for i in indices]
        vertices = torch.from_numpy(np.stack([s["vertices"] for s in samples])).double() / CROP_SIZE
        points, face_idx = sample_surface(vertices, self.faces, self.gt_points, generator, return_faces=True)
        normals = normals_at(vertices, self.faces, face_idx)
        out = {
            "images": torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2).float() / 255,
            "landmarks": torch.from_numpy(np.stack([s["landmarks2d"] for s in samples])).float(),
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
