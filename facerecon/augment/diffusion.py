"""The two image generators of the augmentation, trained from scratch with ``diffusers`` (paper §3.1: "LDM and
DDIM"), both conditioned on a mesh's geometry rendering (:mod:`.geometry`) given as extra input channels:

- ``kind="pixel"``: a ``UNet2DModel`` denoising RGB pixels, sampled with ``DDIMScheduler`` (Song et al. 2021);
- ``kind="latent"``: an ``AutoencoderKL`` trained on the same images, a ``UNet2DModel`` denoising its latents
  (Rombach et al. 2022), the geometry area-pooled to the latent grid; DDIM on the latents, then decoded.

Training regresses the network's output on a target at a noisy ``x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε`` with ``t``
uniform: ``ε`` (DDPM, Ho et al. 2020, eq. 14), ``x₀`` itself, or the velocity ``v = √ᾱ_t ε − √(1−ᾱ_t) x₀``
(Salimans & Ho 2022), :attr:`DiffusionConfig.prediction`. At the CPU budget (600 updates on 300 images) the
ε- and v-models still leave noise in their samples, while the x₀-model draws blurred faces that follow their
condition: ``x₀`` is the study's default (measured: the chapter's first ``cpu`` run used ε). Sampling is deterministic DDIM (η = 0) from noise drawn with an explicit
``torch.Generator``: the same seed and geometry give the same image. The paper names the two models and nothing
else (no sizes, schedules or step counts): every value here is the study's, in :class:`DiffusionConfig`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import FaceDataset
from ..study.cache import RunCache
from ..study.processes import checked_processes, map_in_processes
from ..study.progress import progress_bar
from ..study.runtime import pick_device
from .geometry import GEOMETRY_CHANNELS, geometry_maps

KINDS = ("pixel", "latent")
PREDICTIONS = ("epsilon", "sample", "v_prediction")


@dataclass(frozen=True)
class DiffusionConfig:
    """One generator. Defaults: the ``gpu`` profile's scale (the paper gives no values)."""

    kind: str = "pixel"
    resolution: int = 64                       # generated image side (upsampled to the 113-pixel crop for training)
    channels: tuple[int, ...] = (32, 64, 128)  # the denoising UNet's block widths (one down/up block each)
    steps: int = 20000                         # denoiser updates
    batch_size: int = 32
    lr: float = 2e-4                           # AdamW
    train_timesteps: int = 1000
    schedule: str = "squaredcos_cap_v2"        # the cosine schedule (Nichol & Dhariwal 2021): small images
    prediction: str = "sample"                 # what the UNet predicts: "sample" (x₀), "epsilon" or "v_prediction"
    ae_channels: tuple[int, ...] = (32, 64, 64)   # latent: the autoencoder's widths; downsampling 2^(len − 1)
    ae_steps: int = 5000
    ae_lr: float = 1e-3
    kl_weight: float = 1e-6
    latent_channels: int = 4
    seed: int = 0

    def __post_init__(self):
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.resolution % self.factor or (self.resolution // self.factor) % 2 ** (len(self.channels) - 1):
            raise ValueError(f"resolution {self.resolution} must be divisible by the autoencoder's factor "
                             f"{self.factor} and then by 2^{len(self.channels) - 1} (the UNet's downsamplings)")
        for name in ("steps", "batch_size", "train_timesteps", "ae_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def factor(self) -> int:
        """Pixels per cell of the grid the UNet denoises: 1 for the pixel model, the autoencoder's factor else."""
        return 2 ** (len(self.ae_channels) - 1) if self.kind == "latent" else 1

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "DiffusionConfig":
        return DiffusionConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _groups(channels: tuple[int, ...]) -> int:
    return min(8, *channels)


class GeometryDiffusion(nn.Module):
    """Generator of :class:`DiffusionConfig` ``cfg``: images ``(B, 3, S, S)`` in [0, 1] from geometry ``(B, 4, S, S)``."""

    def __init__(self, cfg: DiffusionConfig):
        from diffusers import AutoencoderKL, UNet2DModel

        super().__init__()
        self.cfg = cfg
        grid = cfg.resolution // cfg.factor
        work = cfg.latent_channels if cfg.kind == "latent" else 3
        self.autoencoder = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=cfg.latent_channels, layers_per_block=1,
            block_out_channels=cfg.ae_channels, down_block_types=("DownEncoderBlock2D",) * len(cfg.ae_channels),
            up_block_types=("UpDecoderBlock2D",) * len(cfg.ae_channels), norm_num_groups=_groups(cfg.ae_channels),
            sample_size=cfg.resolution) if cfg.kind == "latent" else None
        self.unet = UNet2DModel(
            sample_size=grid, in_channels=work + GEOMETRY_CHANNELS, out_channels=work, layers_per_block=1,
            block_out_channels=cfg.channels, down_block_types=("DownBlock2D",) * len(cfg.channels),
            up_block_types=("UpBlock2D",) * len(cfg.channels), norm_num_groups=_groups(cfg.channels))
        self.register_buffer("latent_scale", torch.ones(()))   # 1 / std of the training latents (LDM's scale)

    def scheduler(self):
        from diffusers import DDIMScheduler

        return DDIMScheduler(num_train_timesteps=self.cfg.train_timesteps, beta_schedule=self.cfg.schedule,
                             clip_sample=self.cfg.kind == "pixel", set_alpha_to_one=True,
                             prediction_type=self.cfg.prediction)

    def condition(self, geometry: torch.Tensor) -> torch.Tensor:
        """``(B, 4, S, S)`` → the UNet's grid ``(B, 4, S/f, S/f)`` (area average)."""
        if geometry.ndim != 4 or geometry.shape[1:] != (GEOMETRY_CHANNELS, self.cfg.resolution, self.cfg.resolution):
            raise ValueError(f"geometry must be (B, {GEOMETRY_CHANNELS}, {self.cfg.resolution}, "
                             f"{self.cfg.resolution}), got {tuple(geometry.shape)}")
        return geometry if self.cfg.factor == 1 else F.avg_pool2d(geometry, self.cfg.factor)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 3, S, S)`` in [0, 1] → the diffusion's ``x₀``: pixels in [−1, 1], or scaled latent means."""
        x = images * 2 - 1
        if self.autoencoder is None:
            return x
        return self.autoencoder.encode(x).latent_dist.mean * self.latent_scale

    def decode(self, x0: torch.Tensor) -> torch.Tensor:
        if self.autoencoder is not None:
            x0 = self.autoencoder.decode(x0 / self.latent_scale).sample
        return ((x0 + 1) / 2).clamp(0, 1)

    def denoising_loss(self, x0: torch.Tensor, geometry: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The denoising objective (see the module docstring) on a batch of ``x₀`` with its geometry (already on
        the UNet's grid)."""
        scheduler = self.scheduler()
        # drawn on the CPU generator and then moved: the same draws on every device
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        t = torch.randint(0, self.cfg.train_timesteps, (len(x0),), generator=generator).to(x0.device)
        noisy = scheduler.add_noise(x0, noise, t)
        target = {"epsilon": noise, "sample": x0}.get(self.cfg.prediction)
        if target is None:
            target = scheduler.get_velocity(x0, noise, t)
        return F.mse_loss(self.unet(torch.cat([noisy, geometry], 1), t).sample, target)

    @torch.no_grad()
    def sample(self, geometry: torch.Tensor, ddim_steps: int, generator: torch.Generator,
               batch_size: int = 64) -> torch.Tensor:
        """Images ``(B, 3, S, S)`` in [0, 1] for ``geometry (B, 4, S, S)`` by DDIM (η = 0) in ``ddim_steps``;
        the initial noise of all ``B`` is drawn first from ``generator`` (a CPU one), so batching does not change
        them. Runs on the model's device; returns CPU tensors."""
        if ddim_steps < 1:
            raise ValueError(f"ddim_steps must be >= 1, got {ddim_steps}")
        self.eval()
        device = self.latent_scale.device
        cond = self.condition(geometry.float().to(device))
        work = self.unet.config.out_channels
        noise = torch.randn((len(cond), work, *cond.shape[2:]), generator=generator).to(device)
        out = []
        for start in range(0, len(cond), batch_size):
            x, c = noise[start:start + batch_size], cond[start:start + batch_size]
            scheduler = self.scheduler()
            scheduler.set_timesteps(ddim_steps)
            for t in scheduler.timesteps:
                eps = self.unet(torch.cat([x, c], 1), t).sample
                x = scheduler.step(eps, t, x, eta=0.0).prev_sample
            out.append(self.decode(x).cpu())
        return torch.cat(out)


def training_pairs(dataset: FaceDataset, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` samples of ``dataset`` at the generator's resolution: images ``(n, 3, size, size)`` in [0, 1]
    (area-downsampled crops) and their meshes' geometry ``(n, 4, size, size)``."""
    if not dataset.has_mesh:
        raise ValueError(f"dataset {dataset.folder} has no GT meshes: the generators are conditioned on them")
    n = min(n, len(dataset))
    images, geometry = [], []
    for i in range(n):
        sample = dataset.sample(i)
        images.append(torch.from_numpy(sample["image"]).permute(2, 0, 1).float() / 255)
        geometry.append(geometry_maps(sample["vertices"], dataset.faces, size))
    return F.interpolate(torch.stack(images), size=(size, size), mode="area"), torch.stack(geometry)


def _adamw_loop(parameters, loss_of_step, steps: int, lr: float, desc: str, progress: bool) -> list[float]:
    opt = torch.optim.AdamW(parameters, lr=lr)
    history = []
    for _ in progress_bar(range(steps), desc=desc, unit="step", enabled=progress):
        loss = loss_of_step()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(loss.item())
        if not np.isfinite(history[-1]):
            raise FloatingPointError(f"{desc}: non-finite loss at step {len(history)}")
    return history


def train_diffusion(cfg: DiffusionConfig, images: torch.Tensor, geometry: torch.Tensor, *, progress: bool = True,
                    device: str | None = None) -> tuple[GeometryDiffusion, dict[str, list[float]]]:
    """Train the generator of ``cfg`` on ``images (N, 3, S, S)`` in [0, 1] with their ``geometry (N, 4, S, S)``
    on ``device`` (:func:`~facerecon.study.runtime.pick_device`: CUDA when available); returns it (eval mode, on
    that device) and per-step losses (``"autoencoder"`` for the latent model, ``"denoiser"``). Every random draw
    comes from one CPU generator, so a run is repeatable on each device."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    target = pick_device(device)
    model = GeometryDiffusion(cfg).to(target)
    images, geometry = images.to(target), geometry.to(target)
    n, history = len(images), {}
    batch = lambda: torch.randint(0, n, (min(cfg.batch_size, n),), generator=generator)  # noqa: E731
    if model.autoencoder is not None:
        ae = model.autoencoder

        def ae_loss() -> torch.Tensor:
            x = images[batch()] * 2 - 1
            posterior = ae.encode(x).latent_dist
            return F.mse_loss(ae.decode(posterior.sample(generator=generator)).sample, x) + \
                cfg.kl_weight * posterior.kl().mean()
        ae.train()
        history["autoencoder"] = _adamw_loop(ae.parameters(), ae_loss, cfg.ae_steps, cfg.ae_lr, "train autoencoder",
                                             progress)
        ae.eval().requires_grad_(False)
        with torch.no_grad():
            latents = torch.cat([ae.encode(images[i:i + 64] * 2 - 1).latent_dist.mean for i in range(0, n, 64)])
        model.latent_scale.fill_(1.0 / float(latents.std()))
    with torch.no_grad():
        x0_all = torch.cat([model.encode(images[i:i + 64]) for i in range(0, n, 64)])
        cond_all = model.condition(geometry)

    def denoiser_loss() -> torch.Tensor:
        index = batch()
        return model.denoising_loss(x0_all[index], cond_all[index], generator)
    model.unet.train()
    history["denoiser"] = _adamw_loop(model.unet.parameters(), denoiser_loss, cfg.steps, cfg.lr,
                                      f"train {cfg.kind} diffusion", progress)
    return model.eval(), history


@dataclass
class TrainedDiffusion:
    model: GeometryDiffusion
    config: DiffusionConfig
    history: dict[str, list[float]]
    meta: dict[str, Any]
    reused: bool
    key: str                      # the run-cache entry: splits generated with it name it as a parent


def _entry_config(cfg: DiffusionConfig, n: int) -> dict[str, Any]:
    """The run cache's config of the generator ``cfg`` trained on a split's first ``n`` samples."""
    return {**asdict(cfg), "n": n}


def train_or_load_diffusion(cfg: DiffusionConfig, dataset: FaceDataset, n: int, *, profile: str,
                            cache: RunCache | None = None, progress: bool = True) -> TrainedDiffusion:
    """The generator of ``cfg`` trained on the first ``n`` samples of ``dataset`` (a cached split), from the run
    cache or trained now."""
    if dataset.cache_key is None:
        raise ValueError("train_or_load_diffusion needs a dataset from the run cache (load_synthface); for another "
                         "folder call train_diffusion")
    cache = cache or RunCache()

    def build(tmp: Path) -> dict[str, Any]:
        start = time.perf_counter()
        images, geometry = training_pairs(dataset, n, cfg.resolution)
        model, history = train_diffusion(cfg, images, geometry, progress=progress)
        torch.save(model.state_dict(), tmp / "diffusion.pt")
        (tmp / "history.json").write_text(json.dumps(history))
        return {"train_time_s": round(time.perf_counter() - start, 2), "n_images": len(images),
                "parameters": sum(p.numel() for p in model.parameters()),
                "final_loss": {k: float(np.mean(v[-50:])) for k, v in history.items()}}

    entry = cache.get_or_build("diffusion", _entry_config(cfg, n), build, code=(__name__,),
                               parents=(dataset.cache_key,), profile=profile, seed=cfg.seed)
    model = GeometryDiffusion(cfg)
    model.load_state_dict(torch.load(entry.file("diffusion.pt"), map_location="cpu", weights_only=True))
    return TrainedDiffusion(model.to(pick_device()).eval(), cfg, json.loads(entry.file("history.json").read_text()),
                            entry.meta, entry.reused, entry.path.name)


def train_or_load_diffusions(cfgs: Sequence[DiffusionConfig], dataset: FaceDataset, n: int, *, profile: str,
                             processes: int = 1, cache: RunCache | None = None, progress: bool = True
                             ) -> list[TrainedDiffusion]:
    """:func:`train_or_load_diffusion` of every config in ``cfgs``, in order. ``processes`` > 1 trains the ones
    missing from the run cache that many at once on the CPU, one single-threaded process each
    (:func:`~facerecon.study.processes.map_in_processes`), then loads all; with CUDA they train one after another
    (the processes would share one device). ``reused`` stays true only for those that were there before."""
    processes = checked_processes(processes)
    if dataset.cache_key is None:
        raise ValueError("train_or_load_diffusions needs a dataset from the run cache (load_synthface)")
    cache = cache or RunCache()
    missing = [cfg for cfg in cfgs if not cache.entry_path("diffusion", _entry_config(cfg, n), code=(__name__,),
                                                           parents=(dataset.cache_key,)).exists()]
    if processes > 1 and len(missing) > 1 and not torch.cuda.is_available():
        map_in_processes(_train_in_process, [(cfg, str(dataset.folder), dataset.cache_key, n, profile,
                                              str(cache.root)) for cfg in missing],
                         processes=processes, desc=f"train {len(missing)} generators", progress=progress)
    loaded = [train_or_load_diffusion(cfg, dataset, n, profile=profile, cache=cache, progress=progress)
              for cfg in cfgs]
    return [replace(g, reused=g.config not in missing) for g in loaded]


def _train_in_process(cfg: DiffusionConfig, folder: str, cache_key: str, n: int, profile: str, cache_root: str
                      ) -> None:
    """In a worker process: train one generator into the run cache (the split reopened from its folder)."""
    train_or_load_diffusion(cfg, FaceDataset(folder, cache_key=cache_key), n, profile=profile,
                            cache=RunCache(cache_root), progress=False)
