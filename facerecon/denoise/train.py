"""Training the learned denoisers (paper §4.1: Adamax, lr 1e-5, 200 epochs), through the run cache.

One model per method serves every level: each training batch draws a level uniformly from ``levels`` per
image, so the network sees the whole range (the paper does not say whether it trained one model per level).
The loss is the mean squared error to the clean image (plus β·KL for the VAE).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from ..study.cache import RunCache
from ..study.processes import checked_processes, map_in_processes
from ..study.progress import progress_bar
from .networks import METHODS, build_denoiser
from .noise import NOISE_MODELS, PAPER_LEVELS, add_noise, check_images


@dataclass(frozen=True)
class DenoiserTrainConfig:
    """Defaults are the paper's setting where it states one."""

    method: str = "unet_md"
    width: int = 16                      # paper: not stated
    nmf_rank: int = 16                   # Hamburger rank (Geng et al. use 64 at 512 channels)
    noise: str = "gaussian"
    levels: tuple[float, ...] = PAPER_LEVELS
    epochs: int = 200                    # paper: 200
    batch_size: int = 16                 # paper: not stated
    lr: float = 1e-5                     # paper: 1e-5 (Adamax)
    kl_weight: float = 1e-3              # VAE only
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown denoiser {self.method!r}: expected one of {METHODS}")
        if self.noise not in NOISE_MODELS:
            raise ValueError(f"unknown noise model {self.noise!r}: expected one of {NOISE_MODELS}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"epochs, batch_size and lr must be positive, got {self.epochs}, {self.batch_size}, "
                             f"{self.lr}")


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()


def train_denoiser(cfg: DenoiserTrainConfig, clean: np.ndarray, progress: bool = True
                   ) -> tuple[torch.nn.Module, list[float]]:
    """Train ``cfg.method`` on ``clean (N, H, W, 3)`` images in [0, 1]; returns the model and per-epoch losses."""
    clean = check_images(clean, "clean training images")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_denoiser(cfg.method, cfg.width, cfg.nmf_rank, cfg.seed)
    opt = torch.optim.Adamax(model.parameters(), lr=cfg.lr)
    history = []
    for _ in progress_bar(range(cfg.epochs), desc=f"train {cfg.method}", enabled=progress):
        order = rng.permutation(len(clean))
        total = 0.0
        for start in range(0, len(order), cfg.batch_size):
            batch = clean[order[start:start + cfg.batch_size]]
            level = rng.choice(cfg.levels, size=len(batch))
            noisy = np.stack([add_noise(img, cfg.noise, lv, rng)[0] for img, lv in zip(batch, level)])
            out = model(_to_tensor(noisy))
            loss = F.mse_loss(out, _to_tensor(batch))
            if cfg.method == "vae":
                loss = loss + cfg.kl_weight * model.kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        history.append(total / len(clean))
        if not np.isfinite(history[-1]):
            raise FloatingPointError(f"{cfg.method}: non-finite training loss at epoch {len(history)}")
    return model.eval(), history


@torch.no_grad()
def denoise(model: torch.nn.Module, noisy: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """``noisy (N, H, W, 3)`` in [0, 1] through a trained denoiser → float64 images in [0, 1]."""
    noisy = check_images(noisy, "noisy images")
    model.eval()
    out = [model(_to_tensor(noisy[i:i + batch_size])).clamp(0, 1).numpy().transpose(0, 2, 3, 1)
           for i in range(0, len(noisy), batch_size)]
    return np.concatenate(out).astype(np.float64)


@dataclass
class TrainedDenoiser:
    model: torch.nn.Module
    config: DenoiserTrainConfig
    history: list[float]
    meta: dict[str, Any] = field(default_factory=dict)
    reused: bool = False


def _entry_key(cfg: DenoiserTrainConfig, data_key: dict[str, Any], source_key: str | None
               ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The run cache's config and parents of the denoiser ``cfg`` trained on ``data_key``'s images."""
    return ({"train": {**asdict(cfg), "levels": list(cfg.levels)}, "data": data_key},
            (source_key,) if source_key else ())


def _entry_path(cfg: DenoiserTrainConfig, data_key: dict[str, Any], source_key: str | None, cache: RunCache
                ) -> Path:
    config, parents = _entry_key(cfg, data_key, source_key)
    return cache.entry_path("denoiser", config, code=(__name__,), parents=parents)


def train_or_load_denoiser(cfg: DenoiserTrainConfig, clean: np.ndarray, data_key: dict[str, Any], *, profile: str,
                           source_key: str | None, cache: RunCache | None = None,
                           progress: bool = True) -> TrainedDenoiser:
    """The denoiser trained with ``cfg`` on the images described by ``data_key``, from the cache or trained now.

    ``source_key`` is the cache key of the dataset the images come from (``FaceDataset.cache_key``), so that a
    change to the data's code or config gives a new denoiser; ``None`` only for images from outside the cache.
    """
    import json

    cache = cache or RunCache()

    def build(tmp: Path) -> dict[str, Any]:
        start = time.perf_counter()
        model, history = train_denoiser(cfg, clean, progress)
        torch.save(model.state_dict(), tmp / "denoiser.pt")
        (tmp / "history.json").write_text(json.dumps(history))
        return {"train_time_s": round(time.perf_counter() - start, 2), "final_loss": history[-1],
                "parameters": sum(p.numel() for p in model.parameters())}

    config, parents = _entry_key(cfg, data_key, source_key)
    entry = cache.get_or_build("denoiser", config, build, code=(__name__,), parents=parents, profile=profile,
                               seed=cfg.seed)
    model = build_denoiser(cfg.method, cfg.width, cfg.nmf_rank, cfg.seed)
    model.load_state_dict(torch.load(entry.file("denoiser.pt"), map_location="cpu", weights_only=True))
    history = json.loads(entry.file("history.json").read_text())
    return TrainedDenoiser(model.eval(), cfg, history, entry.meta, entry.reused)


def train_or_load_denoisers(cfgs: Sequence[DenoiserTrainConfig], clean: np.ndarray, data_key: dict[str, Any], *,
                            profile: str, source_key: str | None, processes: int = 1, cache: RunCache | None = None,
                            progress: bool = True) -> list[TrainedDenoiser]:
    """:func:`train_or_load_denoiser` of every config in ``cfgs``, in order. ``processes`` > 1 trains the ones
    missing from the run cache that many at once, one single-threaded process each
    (:func:`~facerecon.study.processes.map_in_processes`), then loads all; ``reused`` stays true only for the
    denoisers that were there before."""
    processes = checked_processes(processes)
    cache = cache or RunCache()
    missing = [cfg for cfg in cfgs if not _entry_path(cfg, data_key, source_key, cache).exists()]
    if processes > 1 and len(missing) > 1:
        map_in_processes(_train_in_process, [(cfg, clean, data_key, profile, source_key, str(cache.root))
                                             for cfg in missing],
                         processes=processes, desc=f"train {len(missing)} denoisers", progress=progress)
    loaded = [train_or_load_denoiser(cfg, clean, data_key, profile=profile, source_key=source_key, cache=cache,
                                     progress=progress) for cfg in cfgs]
    return [replace(t, reused=t.config not in missing) for t in loaded]


def _train_in_process(cfg: DenoiserTrainConfig, clean: np.ndarray, data_key: dict[str, Any], profile: str,
                      source_key: str | None, cache_root: str) -> None:
    """In a worker process: train one denoiser into the run cache."""
    train_or_load_denoiser(cfg, clean, data_key, profile=profile, source_key=source_key, cache=RunCache(cache_root),
                           progress=False)
