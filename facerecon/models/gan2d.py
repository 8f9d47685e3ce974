"""The models of a controlled mode-collapse experiment: GANs on a ring of 2D Gaussians (paper §3.2's
modifications); trained by :func:`facerecon.training.gan2d.train_toy`.

The data are ``modes`` Gaussians of standard deviation ``std`` on a circle; a generator maps noise to 2D points.
A mode is *covered* when at least 1% of the generated samples fall within 3σ of it; a sample is *high quality*
when it lies within 3σ of any mode (VEEGAN / Unrolled-GAN protocol). Vanilla GANs on this problem often
collapse onto a few modes; each of the paper's modifications is a switch:

- ``minibatch``: minibatch discrimination in the discriminator (the same module as the mesh discriminator);
- ``identity_blocks``: residual identity blocks in the generator;
- ``label_smoothing``: discriminator targets 0.9 / 0.01;
- ``modified_loss``: the non-saturating generator loss (eq. 1) instead of the minimax form (eq. 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .discriminator import MinibatchDiscrimination

SWITCHES = ("minibatch", "identity_blocks", "label_smoothing", "modified_loss")


@dataclass(frozen=True)
class Toy2DConfig:
    modes: int = 8
    radius: float = 2.0
    std: float = 0.05
    z_dim: int = 16
    hidden: int = 128
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    minibatch: bool = False
    identity_blocks: bool = False
    label_smoothing: bool = False
    modified_loss: bool = False
    eval_samples: int = 2500
    seed: int = 0


def ring_modes(cfg: Toy2DConfig) -> np.ndarray:
    angles = 2 * np.pi * np.arange(cfg.modes) / cfg.modes
    return cfg.radius * np.stack([np.cos(angles), np.sin(angles)], 1)


def sample_real(cfg: Toy2DConfig, n: int, generator: torch.Generator) -> torch.Tensor:
    modes = torch.as_tensor(ring_modes(cfg), dtype=torch.float32)
    which = torch.randint(cfg.modes, (n,), generator=generator)
    return modes[which] + cfg.std * torch.randn(n, 2, generator=generator)


class ResidualBlock(nn.Module):
    """``h ← LeakyReLU(h + W2 LeakyReLU(W1 h))`` (the identity block without projection)."""

    def __init__(self, width: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, h):
        return F.leaky_relu(h + self.fc2(F.leaky_relu(self.fc1(h), 0.2)), 0.2)


class ToyGenerator(nn.Module):
    def __init__(self, cfg: Toy2DConfig):
        super().__init__()
        self.inp = nn.Linear(cfg.z_dim, cfg.hidden)
        if cfg.identity_blocks:
            self.body = nn.Sequential(ResidualBlock(cfg.hidden), ResidualBlock(cfg.hidden))
        else:
            self.body = nn.Sequential(nn.Linear(cfg.hidden, cfg.hidden), nn.LeakyReLU(0.2),
                                      nn.Linear(cfg.hidden, cfg.hidden), nn.LeakyReLU(0.2),
                                      nn.Linear(cfg.hidden, cfg.hidden), nn.LeakyReLU(0.2),
                                      nn.Linear(cfg.hidden, cfg.hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(cfg.hidden, 2)

    def forward(self, z):
        return self.out(self.body(F.leaky_relu(self.inp(z), 0.2)))


class ToyDiscriminator(nn.Module):
    def __init__(self, cfg: Toy2DConfig):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, cfg.hidden), nn.LeakyReLU(0.2), nn.Linear(cfg.hidden, cfg.hidden),
                                  nn.LeakyReLU(0.2))
        self.minibatch = MinibatchDiscrimination(cfg.hidden, 16, 8) if cfg.minibatch else None
        self.head = nn.Linear(cfg.hidden + (16 if cfg.minibatch else 0), 1)

    def forward(self, x):
        f = self.body(x)
        if self.minibatch is not None:
            f = self.minibatch(f)
        return self.head(f)[:, 0]


def mode_metrics(samples: np.ndarray, cfg: Toy2DConfig) -> dict[str, float]:
    """Modes covered (>= 1% of samples within 3σ) and the share of high-quality samples (within 3σ of a mode)."""
    d = np.linalg.norm(samples[:, None, :] - ring_modes(cfg)[None], axis=-1)
    near = d.min(1) <= 3 * cfg.std
    counts = np.bincount(d.argmin(1)[near], minlength=cfg.modes)
    return {"modes_covered": int((counts >= 0.01 * len(samples)).sum()), "high_quality": float(near.mean())}


def variants() -> dict[str, dict[str, bool]]:
    """Vanilla, each modification alone, and all of them (the paper's combination)."""
    off = {s: False for s in SWITCHES}
    out = {"vanilla": off}
    out.update({f"+{s.replace('_', ' ')}": {**off, s: True} for s in SWITCHES})
    out["all (paper)"] = {s: True for s in SWITCHES}
    return out
