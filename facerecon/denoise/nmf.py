"""Matrix decomposition by non-negative matrix factorization: the "MD" of the U-shaped CNN with MD.

The Hamburger module (Geng et al., ICLR 2021), used by SUMD (arXiv 2204.04861) for denoising: the feature map
``X (B, C, N)`` (``N = H·W``, made non-negative) is factored as ``X ≈ D·C`` with bases ``D (B, C, R)`` and codes
``C (B, R, N)`` by Lee & Seung's multiplicative updates

    C ← C ⊙ (DᵀX) / (DᵀDC),    D ← D ⊙ (XCᵀ) / (DCCᵀ),

which never increase ``‖X − DC‖²``. Training uses the one-step gradient: all but the last update run without
gradient, so back-propagation sees one update (Geng et al., §2.3).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

EPS = 1e-6


def nmf(x: torch.Tensor, rank: int, steps: int, generator: torch.Generator | None = None,
        one_step_gradient: bool = True, return_errors: bool = False):
    """Factor non-negative ``x (B, C, N)`` into ``D (B, C, R)``, ``C (B, R, N)``; returns ``D @ C`` (and the
    relative reconstruction error at the start and after every update with ``return_errors``)."""
    if (x < 0).any():
        raise ValueError("NMF needs a non-negative input")
    b, c, n = x.shape
    bases = torch.rand(b, c, rank, generator=generator, dtype=x.dtype).to(x.device)
    bases = F.normalize(bases, dim=1)
    codes = torch.full((b, rank, n), 1.0 / rank, dtype=x.dtype, device=x.device)
    errors = [float((x - bases @ codes).norm() / x.norm().clamp_min(EPS))] if return_errors else []

    def update(bases, codes):
        codes = codes * (bases.transpose(1, 2) @ x) / (bases.transpose(1, 2) @ bases @ codes + EPS)
        bases = bases * (x @ codes.transpose(1, 2)) / (bases @ (codes @ codes.transpose(1, 2)) + EPS)
        return bases, codes
    with torch.set_grad_enabled(not one_step_gradient and torch.is_grad_enabled()):
        for _ in range(steps - 1):
            bases, codes = update(bases, codes)
            if return_errors:
                errors.append(float((x - bases @ codes).norm() / x.norm().clamp_min(EPS)))
    bases, codes = update(bases, codes)           # the step the gradient flows through
    out = bases @ codes
    if return_errors:
        errors.append(float((x - out).norm() / x.norm().clamp_min(EPS)))
        return out, errors
    return out


class Hamburger(nn.Module):
    """``x + norm(conv1×1(NMF(ReLU(conv1×1(x)))))``: the "lower bread", the NMF "ham", the "upper bread"."""

    def __init__(self, channels: int, rank: int = 64, train_steps: int = 6, eval_steps: int = 7, seed: int = 0):
        super().__init__()
        # The NMF bases start random. Their generator is the module's own, seeded by the caller, so a rerun
        # anywhere draws the same bases: in training one stream from ``seed``, in evaluation the same draw
        # for every call (outputs do not depend on what ran before).
        self.seed = seed
        self.train_generator = torch.Generator().manual_seed(seed)
        self.lower = nn.Conv2d(channels, channels, 1)
        self.upper = nn.Conv2d(channels, channels, 1, bias=False)
        self.norm = nn.GroupNorm(1, channels)
        self.rank, self.train_steps, self.eval_steps = rank, train_steps, eval_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        z = F.relu(self.lower(x)).reshape(b, c, h * w)
        steps = self.train_steps if self.training else self.eval_steps
        generator = self.train_generator if self.training else torch.Generator().manual_seed(self.seed)
        z = nmf(z, min(self.rank, c, h * w), steps, generator=generator).reshape(b, c, h, w)
        return F.relu(x + self.norm(self.upper(z)))
