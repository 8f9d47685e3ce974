"""Small building blocks shared by the encoder and the denoisers."""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Channel attention (Hu et al. 2018): ``x (B, C, H, W) ↦ x · σ(W2 act(W1 mean_hw(x)))``, ``W1: C → reduced``."""

    def __init__(self, channels: int, reduced: int, activation: type[nn.Module] = nn.SiLU):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.activation = activation()
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(self.activation(self.reduce(s))))
