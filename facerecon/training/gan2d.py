"""Training the 2D toy GANs of :mod:`facerecon.models.gan2d` (the mode-collapse experiment of the GAN chapter)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch

from ..models import losses
from ..models.gan2d import Toy2DConfig, ToyDiscriminator, ToyGenerator, mode_metrics, sample_real


def train_toy(cfg: Toy2DConfig) -> dict:
    """Train one toy GAN; returns its final samples, per-step losses and the mode metrics."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    g, d = ToyGenerator(cfg), ToyDiscriminator(cfg)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    smoothing = losses.LabelSmoothing() if cfg.label_smoothing else losses.NO_SMOOTHING
    g_losses, d_losses = np.zeros(cfg.steps), np.zeros(cfg.steps)
    for step in range(cfg.steps):
        real = sample_real(cfg, cfg.batch_size, gen)
        fake = g(torch.randn(cfg.batch_size, cfg.z_dim, generator=gen))
        d_loss = losses.discriminator_loss(d(real), d(fake.detach()), smoothing)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        logits = d(fake)
        g_loss = losses.generator_gan_loss(logits, cfg.modified_loss, smoothing)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        g_losses[step], d_losses[step] = g_loss.item(), d_loss.item()
    with torch.no_grad():
        samples = g(torch.randn(cfg.eval_samples, cfg.z_dim, generator=gen)).numpy()
    return {"config": asdict(cfg), "samples": samples, "g_loss": g_losses, "d_loss": d_losses,
            **mode_metrics(samples, cfg)}
