"""The five learned denoisers of Table 1, each an ``nn.Module`` mapping ``(B, 3, H, W)`` in [0, 1] to the same.

- ``unet_md``: the U-shaped CNN with MD: a three-level U-Net with a :class:`Hamburger` (NMF) block at the
  bottleneck, predicting the noise residual (``x̂ = y − f(y)``) as SUMD does. A single-stage simplification of
  SUMD (which stacks two U-Nets).
- ``dense_unet``: D-U-Net read as a dense U-Net: every level is a dense block (3 convolutions, each seeing the
  concatenation of all earlier outputs) with a 1×1 transition; residual prediction.
- ``vae``: a convolutional VAE with a spatial latent (mean and log-variance maps, 1/4 resolution); trained with
  reconstruction + β·KL; denoises with the posterior mean.
- ``autoencoder``: the same encoder-decoder without skips or sampling, predicting the clean image.
- ``attention_cnn``: a DnCNN-style plain CNN whose blocks carry squeeze-and-excitation channel attention,
  residual prediction.

The paper gives none of their sizes; ``width`` sets the first level's channels for all of them. Inputs of any
size: each network pads by reflection to a multiple of 4 and crops back.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..models.blocks import SqueezeExcite
from .nmf import Hamburger

METHODS = ("unet_md", "dense_unet", "vae", "autoencoder", "attention_cnn")
LABELS = {"unet_md": "U-shaped CNN with MD", "dense_unet": "D-U-NET", "vae": "VAEs", "autoencoder": "Auto-encoder",
          "attention_cnn": "CNN with attention"}


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(1, c_out), nn.LeakyReLU(0.1),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(1, c_out), nn.LeakyReLU(0.1))


class DenseBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, growth: int, layers: int = 3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Sequential(nn.Conv2d(c_in + i * growth, growth, 3, padding=1),
                                                   nn.LeakyReLU(0.1)) for i in range(layers)])
        self.transition = nn.Conv2d(c_in + layers * growth, c_out, 1)

    def forward(self, x):
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, 1)))
        return F.leaky_relu(self.transition(torch.cat(feats, 1)), 0.1)


class Padded(nn.Module):
    """Reflect-pad to a multiple of ``multiple``, run ``body``, crop back."""

    multiple = 4

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.ndim != 4 or y.shape[1] != 3:
            raise ValueError(f"a denoiser takes (B, 3, H, W) images, got {tuple(y.shape)}")
        h, w = y.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(y, (0, pw, 0, ph), mode="reflect") if ph or pw else y
        return self.body(x)[..., :h, :w]


class UNet(Padded):
    """Three-level U-Net; ``block`` builds each level; an optional module at the bottleneck; residual output."""

    def __init__(self, width: int, block, bottleneck: nn.Module | None = None):
        super().__init__()
        w = width
        self.enc = nn.ModuleList([block(3, w), block(w, 2 * w)])
        self.mid = block(2 * w, 4 * w)
        self.bottleneck = bottleneck or nn.Identity()
        self.up = nn.ModuleList([nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), nn.ConvTranspose2d(2 * w, w, 2, stride=2)])
        self.dec = nn.ModuleList([block(4 * w, 2 * w), block(2 * w, w)])
        self.out = nn.Conv2d(w, 3, 1)

    def body(self, y):
        skips, x = [], y
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(self.mid(x))
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], 1))
        return (y - self.out(x)).clamp(0, 1)          # the network predicts the noise


class AutoEncoder(Padded):
    """Encoder (two stride-2 convolutions) → decoder (two transposed convolutions), no skips."""

    def __init__(self, width: int, variational: bool = False):
        super().__init__()
        w = width
        self.variational = variational
        self.encoder = nn.Sequential(conv_block(3, w), nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.LeakyReLU(0.1),
                                     conv_block(2 * w, 2 * w), nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1),
                                     nn.LeakyReLU(0.1))
        self.latent = nn.Conv2d(4 * w, 2 * 4 * w if variational else 4 * w, 1)
        self.decoder = nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), nn.LeakyReLU(0.1),
                                     conv_block(2 * w, 2 * w), nn.ConvTranspose2d(2 * w, w, 2, stride=2),
                                     nn.LeakyReLU(0.1), conv_block(w, w), nn.Conv2d(w, 3, 1))
        self.kl = torch.zeros(())

    def body(self, y):
        z = self.latent(self.encoder(y))
        if self.variational:
            mean, logvar = z.chunk(2, 1)
            logvar = logvar.clamp(-10, 10)
            self.kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()
            z = mean + torch.randn_like(mean) * (0.5 * logvar).exp() if self.training else mean
        return torch.sigmoid(self.decoder(z))


class AttentionCNN(Padded):
    def __init__(self, width: int, depth: int = 6):
        super().__init__()
        layers = [nn.Conv2d(3, 2 * width, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(depth):
            layers += [nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.GroupNorm(1, 2 * width), nn.LeakyReLU(0.1),
                       SqueezeExcite(2 * width, max(1, 2 * width // 4), nn.ReLU)]
        layers.append(nn.Conv2d(2 * width, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def body(self, y):
        return (y - self.net(y)).clamp(0, 1)


def build_denoiser(method: str, width: int = 16, nmf_rank: int = 16, seed: int = 0) -> nn.Module:
    """One of :data:`METHODS` at ``width`` (paper: sizes not stated); ``seed`` seeds the NMF bases of
    ``unet_md``."""
    if method == "unet_md":
        return UNet(width, conv_block, Hamburger(4 * width, rank=nmf_rank, seed=seed))
    if method == "dense_unet":
        return UNet(width, lambda i, o: DenseBlock(i, o, growth=max(4, width // 2)))
    if method == "vae":
        return AutoEncoder(width, variational=True)
    if method == "autoencoder":
        return AutoEncoder(width)
    if method == "attention_cnn":
        return AttentionCNN(width)
    raise ValueError(f"unknown denoiser {method!r}: expected one of {METHODS}")
