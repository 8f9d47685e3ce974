"""The study's own 68-point landmark detector: a small CNN trained from scratch on SynthFace's training split.

Image ``(B, 3, 113, 113)`` in [0, 1] → 68 heat maps at 29×29 → a spatial softmax per point → its expected
position (integral regression, Sun et al., ECCV 2018), in crop pixels. Trained with an L1 loss on the
coordinates of every landmark, the hidden ones included (the dataset's landmarks are the 3D model's, like
AFLW2000-3D's). It sees only the image; what it predicts is the *detected* landmark setting of every
reconstruction method in the study.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..data.dataset import FaceDataset
from ..mesh.frame import CROP_SIZE
from ..study.cache import RunCache
from ..study.progress import progress_bar

N_LANDMARKS = 68


@dataclass(frozen=True)
class DetectorConfig:
    """Training of the landmark CNN (the paper uses given landmarks and says nothing about a detector)."""

    width: int = 32               # channels of the first block; doubled twice
    steps: int = 1500
    batch_size: int = 32
    lr: float = 2e-3              # Adam, cosine decay to 0
    n_train: int | None = None    # first n samples of the split (None: all)
    seed: int = 0

    def __post_init__(self):
        if self.width < 4 or self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"invalid detector config: {self}")


def _block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """``logits (B, K, H, W)`` → expected positions ``(B, K, 2)`` (x, y) under a softmax over each map, in crop
    pixels: the ``W`` (``H``) cells cover the crop's width (height) evenly."""
    b, k, h, w = logits.shape
    prob = F.softmax(logits.reshape(b, k, h * w), -1).reshape(b, k, h, w)
    xs = (torch.arange(w, dtype=logits.dtype, device=logits.device) + 0.5) * CROP_SIZE / w - 0.5
    ys = (torch.arange(h, dtype=logits.dtype, device=logits.device) + 0.5) * CROP_SIZE / h - 0.5
    return torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)], -1)


class LandmarkCNN(nn.Module):
    """113 → 57 → 29 (two strided blocks), two blocks at 29×29, 1×1 conv to 68 heat maps, soft-argmax."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(_block(3, width, 2), _block(width, 2 * width, 2), _block(2 * width, 4 * width, 1),
                                  _block(4 * width, 4 * width, 1))
        self.heatmaps = nn.Conv2d(4 * width, N_LANDMARKS, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images (B, 3, 113, 113)`` in [0, 1] → landmarks ``(B, 68, 2)`` in crop pixels (x, y)."""
        if images.ndim != 4 or images.shape[1:] != (3, CROP_SIZE, CROP_SIZE):
            raise ValueError(f"images must be (B, 3, {CROP_SIZE}, {CROP_SIZE}), got {tuple(images.shape)}")
        return soft_argmax(self.heatmaps(self.body(images - 0.5)))


def _images(dataset: FaceDataset, index: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack([dataset.sample(int(i))["image"] for i in index])).permute(0, 3, 1, 2) / 255.0


def train_detector(cfg: DetectorConfig, dataset: FaceDataset, progress: bool = True
                   ) -> tuple[LandmarkCNN, list[float]]:
    """Train on ``dataset``'s images and 68 landmarks; returns the model (eval mode) and per-step losses."""
    n = len(dataset) if cfg.n_train is None else min(cfg.n_train, len(dataset))
    images = _images(dataset, np.arange(n))
    targets = torch.from_numpy(np.stack([dataset.sample(i)["landmarks2d"] for i in range(n)]))
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    model = LandmarkCNN(cfg.width)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    history = []
    model.train()
    for _ in progress_bar(range(cfg.steps), desc="train landmark CNN", unit="step", enabled=progress):
        batch = torch.randint(0, n, (min(cfg.batch_size, n),), generator=generator)
        loss = (model(images[batch]) - targets[batch]).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        history.append(loss.item())
        if not np.isfinite(history[-1]):
            raise FloatingPointError(f"landmark CNN: non-finite loss at step {len(history)}")
    return model.eval(), history


@dataclass
class TrainedDetector:
    model: LandmarkCNN
    config: DetectorConfig
    history: list[float]
    meta: dict[str, Any]
    reused: bool


def train_or_load_detector(cfg: DetectorConfig, dataset: FaceDataset, *, profile: str,
                           cache: RunCache | None = None, progress: bool = True) -> TrainedDetector:
    """The detector trained with ``cfg`` on ``dataset`` (a cached split: its key is part of this entry's)."""
    if dataset.cache_key is None:
        raise ValueError("train_or_load_detector needs a dataset from the run cache (load_synthface); for "
                         "another folder call train_detector")
    cache = cache or RunCache()

    def build(tmp: Path) -> dict[str, Any]:
        start = time.perf_counter()
        model, history = train_detector(cfg, dataset, progress)
        torch.save(model.state_dict(), tmp / "detector.pt")
        (tmp / "history.json").write_text(json.dumps(history))
        return {"train_time_s": round(time.perf_counter() - start, 2), "final_loss": history[-1],
                "parameters": sum(p.numel() for p in model.parameters())}

    entry = cache.get_or_build("landmark_cnn", asdict(cfg), build, code=(__name__,), parents=(dataset.cache_key,),
                               profile=profile, seed=cfg.seed)
    model = LandmarkCNN(cfg.width)
    model.load_state_dict(torch.load(entry.file("detector.pt"), map_location="cpu", weights_only=True))
    history = json.loads(entry.file("history.json").read_text())
    return TrainedDetector(model.eval(), cfg, history, entry.meta, entry.reused)


@torch.no_grad()
def predict(model: LandmarkCNN, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """``images (N, 113, 113, 3)`` uint8 (or float in [0, 1]) → landmarks ``(N, 68, 2)`` in crop pixels."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    model.eval()
    out = [model(torch.from_numpy(images[i:i + batch_size]).permute(0, 3, 1, 2).float() / scale).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out)
