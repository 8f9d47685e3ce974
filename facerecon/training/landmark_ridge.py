"""The generator's landmark shape basis in closed form: a ridge regression of the training shapes on the
generator's own landmark features.

The ``landmark_shape`` basis (:class:`~facerecon.models.generator.MeshGenerator`) is a linear map from the 145
residual landmark features (68 in-plane offsets from the posed mean face and the fitted rotation) to a shape
change of the mean face at the first level, in its canonical frame (y up) and in :func:`shape_unit` units. Its
least-squares optimum on the training set is a ridge regression, solved once:

``W = argmin Σ_n ‖[f_n, 1] W − c_n‖² + λ ‖W_f‖²`` (the bias is not penalized),

where ``c_n`` is training face ``n``'s GT surface resampled onto the level's vertices, minus the posed prior, taken
back into the canonical frame (rotation and scale of the landmark fit undone). Learnt by gradient steps from zero
the basis reached a fifth of this optimum's norm in 600 steps (the learning issue's measurement), so training
starts from it instead (``shape_basis_init="ridge"``); the same solution with no graph block is Table 3's
ridge-from-landmarks row: the linear reference every trained row must beat.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import torch
from torch.nn import functional as F

from ..data.dataset import FaceDataset
from ..mesh.frame import CROP_SIZE
from ..mesh.pose import Y_DOWN, shape_unit
from ..mesh.resample import TemplateResampler
from ..models.generator import MeshGenerator
from ..study.progress import progress_bar


REMEMBERED_TARGETS = 4    # the last few targets a process computed (a chapter's models share their split and prior)
_remembered: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()


def _targets_key(generator: MeshGenerator, dataset: FaceDataset, batch: int, landmark_noise: float, seed: int
                 ) -> str | None:
    """What the targets depend on, hashed: the run-cache split (None for a folder outside the cache, whose content
    may change), the first level's UV and prior, the prior's landmarks, the landmark features, the noise (drawn
    batch by batch, so the batch size too)."""
    if dataset.cache_key is None:
        return None
    digest = hashlib.sha256(f"{dataset.cache_key}|{len(dataset)}|{generator.config.landmarks}|{batch}|"
                            f"{landmark_noise!r}|{seed}".encode())
    for array in (np.asarray(generator.level_uv[0]), generator.prior_0.numpy(), generator.prior_landmarks.numpy()):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@torch.no_grad()
def landmark_shape_targets(generator: MeshGenerator, dataset: FaceDataset, *, batch: int = 256,
                           landmark_noise: float = 0.0, seed: int = 0, progress: bool = False
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features (N, 145), changes (N, V_0·3))`` of every sample of ``dataset``: the generator's landmark
    features and the shape change (canonical frame, :func:`shape_unit` units) that takes its posed prior to the
    GT surface at the first level's vertices (both depth-centred). ``landmark_noise`` > 0 moves each sample's
    landmarks by Gaussian noise of that s.d. (crop pixels, drawn from ``seed``) before both, as training does.

    A process remembers the last :data:`REMEMBERED_TARGETS` results for run-cache splits (about 5 s each on a
    `cpu` split, one core; a chapter's models, trained one after another in a process, share them): the same tensors are
    returned again, so callers must not change them in place."""
    if not landmark_noise >= 0:
        raise ValueError(f"landmark_noise must be >= 0 crop pixels, got {landmark_noise}")
    if not generator.config.landmark_shape:
        raise ValueError("the ridge fits the landmark shape basis: the generator needs landmark_shape=True")
    if not dataset.has_mesh:
        raise ValueError(f"dataset {dataset.folder} has no GT meshes: the ridge needs them")
    key = _targets_key(generator, dataset, batch, landmark_noise, seed)
    if key is not None and key in _remembered:
        _remembered.move_to_end(key)
        return _remembered[key]
    targets = _computed_targets(generator, dataset, batch, landmark_noise, seed, progress)
    if key is not None:
        _remembered[key] = targets
        while len(_remembered) > REMEMBERED_TARGETS:
            _remembered.popitem(last=False)
    return targets


def _computed_targets(generator: MeshGenerator, dataset: FaceDataset, batch: int, landmark_noise: float, seed: int,
                      progress: bool) -> tuple[torch.Tensor, torch.Tensor]:
    noise = torch.Generator().manual_seed(seed)
    resample = TemplateResampler(dataset.uv, dataset.faces, generator.level_uv[0])
    unit = shape_unit(generator.prior_landmarks)
    features, changes = [], []
    bar = progress_bar(total=len(dataset), desc="landmark ridge", unit="face", enabled=progress)
    for start in range(0, len(dataset), batch):
        samples = [dataset.sample(i) for i in range(start, min(start + batch, len(dataset)))]
        landmarks = torch.from_numpy(np.stack([s["landmarks2d"] for s in samples])).float()
        if landmark_noise:
            landmarks = landmarks + landmark_noise * torch.randn(landmarks.shape, generator=noise)
        gt = torch.from_numpy(np.stack([resample(s["vertices"].astype(np.float64) / CROP_SIZE)
                                        for s in samples])).float()
        priors, pose = generator._posed_priors(landmarks)
        canonical = canonical_offsets(gt, priors[0], pose, unit)
        features.append(generator.landmark_features(landmarks, pose))
        changes.append(canonical.reshape(len(samples), -1))
        bar.update(len(samples))
    bar.close()
    return torch.cat(features), torch.cat(changes)


def canonical_offsets(gt: torch.Tensor, prior: torch.Tensor, pose: tuple, unit: torch.Tensor) -> torch.Tensor:
    """``(B, V, 3)``: the GT surface ``gt (B, V, 3)`` (normalized crop frame, resampled on the prior's vertices) minus
    the posed ``prior (B, V, 3)``, in the canonical frame (y up) and ``unit`` units: the change of the mean face that
    a shape basis posed by ``pose`` (:func:`~facerecon.mesh.pose.fit_weak_perspective`) would have to give."""
    gt = gt - F.pad(gt[..., 2:].mean(1, keepdim=True), (2, 0))     # the prior's depth is centred the same way
    scale, rotation, _ = pose
    # undo apply_weak_perspective's s·(X ⊙ Y_DOWN)·Rᵀ (R orthonormal) for the offset from the posed prior
    return (gt - prior) @ rotation / scale[:, None, None] * gt.new_tensor(Y_DOWN) / unit


def ridge_solution(features: torch.Tensor, targets: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight (T, D), bias (T,))`` minimizing ``‖features·weightᵀ + bias − targets‖² + lam·‖weight‖²`` for
    ``features (N, D)`` and ``targets (N, T)`` (float64 normal equations; the bias is not penalized)."""
    if lam < 0:
        raise ValueError(f"the ridge penalty must be >= 0, got {lam}")
    x = torch.cat([features, torch.ones(len(features), 1, dtype=features.dtype)], 1).double()
    penalty = torch.full((x.shape[1],), float(lam), dtype=torch.float64)
    penalty[-1] = 0.0
    solution = torch.linalg.solve(x.T @ x + torch.diag(penalty), x.T @ targets.double())   # (D + 1, T)
    return solution[:-1].T.float().contiguous(), solution[-1].float().contiguous()


def set_landmark_shape(generator: MeshGenerator, features: torch.Tensor, targets: torch.Tensor, lam: float) -> None:
    """Set ``generator``'s landmark shape basis to the ridge solution of :func:`landmark_shape_targets`."""
    weight, bias = ridge_solution(features, targets, lam)
    with torch.no_grad():
        generator.shape_basis.weight.copy_(weight)
        generator.shape_basis.bias.copy_(bias)
