"""The 3DMM regression CNN (Table 3, row 3): the 3DDFA / Deep3D / DECA family on the study's data.

A PCA shape model of the training meshes (the landmark fit's, :class:`~facerecon.data.landmark_information.
ShapeSpace`) is posed by a weak-perspective fit of its mean landmarks to the input landmarks, exactly as the
study's generator poses its mean-face prior; the network regresses the ``k`` PCA coefficients from the image (the
same EfficientNet encoder as the generator, global-average-pooled last stage) and, with ``landmarks=True``, the
landmarks' offsets from the posed mean (the generator's ``"residual"`` features). The last layer starts at zero:
training begins at the posed mean face. Loss: the mean squared per-vertex error against the GT mesh in the
normalized crop frame, each mesh's mean depth removed (a vertex loss, as these methods' supervised variants use).

``images (B, 3, 113, 113)`` in [0, 1], ``landmarks (B, 68, 2)`` crop pixels → ``vertices (B, V, 3)`` in the
normalized crop frame on the GT topology.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..data.dataset import FaceDataset
from ..data.landmark_information import ShapeSpace
from ..mesh.frame import CROP_SIZE
from ..mesh.pose import apply_weak_perspective, fit_weak_perspective, landmark_residuals
from ..models.encoder import EfficientNetEncoder, EncoderConfig
from ..study.cache import RunCache
from ..study.progress import progress_bar
from ..study.runtime import seed_everything
from ..training.batches import step_indices
from .predictors import Prediction, y_up


@dataclass(frozen=True)
class RegressorConfig:
    """One regression run; ``steps × batch_size`` is its budget of samples seen (match the mesh models')."""

    components: int = 100
    landmarks: bool = True
    hidden: int = 256
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    steps: int = 2000
    batch_size: int = 16
    lr: float = 1e-4
    seed: int = 0

    def __post_init__(self):
        for name in ("components", "hidden", "steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


class ShapeRegressor(nn.Module):
    """Encoder → PCA coefficients; the PCA shape posed by the landmarks (see the module docstring)."""

    def __init__(self, cfg: RegressorConfig, space: ShapeSpace, landmark_index: np.ndarray):
        super().__init__()
        self.cfg = cfg
        self.encoder = EfficientNetEncoder(cfg.encoder)
        self.register_buffer("mean", torch.as_tensor(space.mean, dtype=torch.float32))
        self.register_buffer("basis", torch.as_tensor(space.basis[:cfg.components], dtype=torch.float32))
        self.register_buffer("landmark_index", torch.as_tensor(np.asarray(landmark_index), dtype=torch.long))
        features = self.encoder.out_channels[-1] + (2 * 68 + 9 if cfg.landmarks else 0)
        self.head = nn.Sequential(nn.Linear(features, cfg.hidden), nn.SiLU(), nn.Linear(cfg.hidden, len(self.basis)))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, images: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        observed = landmarks / CROP_SIZE
        mean_landmarks = self.mean[self.landmark_index]
        with torch.no_grad():
            pose = fit_weak_perspective(mean_landmarks, observed)
        parts = [F.adaptive_avg_pool2d(self.encoder(images)[-1], 1).flatten(1)]
        if self.cfg.landmarks:
            parts.append(landmark_residuals(mean_landmarks, observed, pose))
        coeffs = self.head(torch.cat(parts, 1))                                       # (B, k)
        shape = self.mean + torch.einsum("bk,kvc->bvc", coeffs, self.basis)
        vertices = apply_weak_perspective(shape, *pose)
        return vertices - F.pad(vertices[..., 2:].mean(1, keepdim=True), (2, 0))   # mean depth removed


def _batch(dataset: FaceDataset, indices) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    samples = [dataset.sample(int(i)) for i in indices]
    images = torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2).float() / 255
    landmarks = torch.from_numpy(np.stack([s["landmarks2d"] for s in samples])).float()
    vertices = torch.from_numpy(np.stack([s["vertices"] for s in samples])).float() / CROP_SIZE
    return images, landmarks, vertices - F.pad(vertices[..., 2:].mean(1, keepdim=True), (2, 0))


def train_regressor(cfg: RegressorConfig, train: FaceDataset, *, progress: bool = True
                    ) -> tuple[ShapeRegressor, list[float]]:
    """Fit the PCA on the training meshes, then train the regressor; returns it (eval mode) and the loss per step."""
    seed_everything(cfg.seed)
    if len(train) <= cfg.components:
        raise ValueError(f"a PCA of {cfg.components} components needs more than {cfg.components} training meshes, "
                         f"got {len(train)}")
    meshes = np.stack([train.sample(i)["vertices"] for i in range(len(train))])
    space = ShapeSpace.fit(y_up(meshes), cfg.components)
    model = ShapeRegressor(cfg, space, train.model.landmark_index)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history = []
    model.train()
    for step in progress_bar(range(cfg.steps), desc="3DMM regression", unit="step", enabled=progress):
        images, landmarks, target = _batch(train, step_indices(len(train), cfg.batch_size, cfg.seed, step))
        loss = (model(images, landmarks) - target).square().sum(-1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    return model.eval(), history


@dataclass
class TrainedRegressor:
    model: ShapeRegressor
    config: RegressorConfig
    history: list[float]
    meta: dict[str, Any]
    reused: bool


def train_or_load_regressor(cfg: RegressorConfig, train: FaceDataset, *, profile: str, cache: RunCache | None = None,
                            progress: bool = True) -> TrainedRegressor:
    """The regressor trained with ``cfg`` on ``train`` (a cached split: its key is part of this entry's)."""
    if train.cache_key is None or train.model is None:
        raise ValueError("train_or_load_regressor needs a SynthFace split from the run cache (load_synthface)")
    cache = cache or RunCache()

    def build(tmp: Path) -> dict[str, Any]:
        start = time.perf_counter()
        model, history = train_regressor(cfg, train, progress=progress)
        torch.save(model.state_dict(), tmp / "regressor.pt")
        (tmp / "history.json").write_text(json.dumps(history))
        return {"train_time_s": round(time.perf_counter() - start, 2), "final_loss": history[-1]}

    entry = cache.get_or_build("regressor", asdict(cfg), build, code=(__name__,), parents=(train.cache_key,),
                               profile=profile, seed=cfg.seed)
    state = torch.load(entry.file("regressor.pt"), map_location="cpu", weights_only=True)
    space = ShapeSpace(mean=state["mean"].numpy(), basis=state["basis"].numpy())
    model = ShapeRegressor(cfg, space, state["landmark_index"].numpy())
    model.load_state_dict(state)
    history = json.loads(entry.file("history.json").read_text())
    return TrainedRegressor(model.eval(), cfg, history, entry.meta, entry.reused)


def regressor_prediction(model: ShapeRegressor, faces: np.ndarray):
    """A Table-3 predictor from a trained regressor (vertices on the GT topology, its landmark vertices)."""
    index = model.landmark_index.numpy()

    @torch.no_grad()
    def predict(sample: dict) -> Prediction:
        image = torch.from_numpy(sample["image"]).permute(2, 0, 1).float()[None] / 255
        lm = torch.from_numpy(np.asarray(sample["landmarks2d"], np.float32))[None]
        vertices = model(image, lm)[0].double().numpy() * CROP_SIZE
        return Prediction(vertices, faces, vertices[index])
    return predict
