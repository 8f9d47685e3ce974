"""Figures of the GAN chapters: the four modifications (paper Figs. 2–4), the toy experiment, loss curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.nn import functional as F

from ..models.gan2d import ring_modes
from ..models import losses
from ..models.discriminator import MinibatchDiscrimination
from ..training.stability import moving_average


def _identity_gradient(depth: int, residual: bool, width: int = 64, seed: int = 0) -> float:
    """‖∂(output sum)/∂input‖ through ``depth`` blocks of two linear layers, plain or residual, at init."""
    torch.manual_seed(seed)
    layers = [(torch.nn.Linear(width, width), torch.nn.Linear(width, width)) for _ in range(depth)]
    x = torch.randn(16, width, requires_grad=True)
    h = x
    for fc1, fc2 in layers:
        inner = fc2(F.leaky_relu(fc1(h), 0.2))
        h = F.leaky_relu(h + inner if residual else inner, 0.2)
    (grad,) = torch.autograd.grad(h.sum(), x)
    return float(grad.norm())


def modifications_figure(seed: int = 0) -> plt.Figure:
    """Four panels, one per modification: what each changes, computed from the study's own modules."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    mb = MinibatchDiscrimination(32, 8, 4)
    diverse = torch.randn(16, 32, generator=gen)
    collapsed = diverse[:1] + 0.05 * torch.randn(16, 32, generator=gen)
    with torch.no_grad():
        o_div, o_col = mb(diverse)[:, 32:].mean(0), mb(collapsed)[:, 32:].mean(0)
    k = np.arange(len(o_div))
    axes[0].bar(k - 0.2, o_div.numpy(), 0.4, label="diverse batch")
    axes[0].bar(k + 0.2, o_col.numpy(), 0.4, label="collapsed batch")
    axes[0].set(title="minibatch discrimination (Fig. 2)", xlabel="kernel b", ylabel="o_b (batch mean)")
    axes[0].legend(fontsize=8)

    depths = [1, 2, 4, 8, 16, 32]
    for residual, label in ((False, "plain blocks"), (True, "identity blocks")):
        axes[1].semilogy(depths, [_identity_gradient(d, residual) for d in depths], "o-", label=label)
    axes[1].set(title="identity blocks (Fig. 3)", xlabel="blocks", ylabel="‖∂out/∂input‖ at init")
    axes[1].legend(fontsize=8)

    p = np.linspace(0.001, 0.999, 400)
    for (real, fake), style in (((1.0, 0.0), "-"), ((0.9, 0.01), "--")):
        axes[2].plot(p, -(real * np.log(p) + (1 - real) * np.log(1 - p)), style, label=f"real target {real}")
        axes[2].plot(p, -(fake * np.log(p) + (1 - fake) * np.log(1 - p)), style, label=f"fake target {fake}")
    axes[2].set(title="label smoothing (Fig. 4)", xlabel="D(x)", ylabel="discriminator BCE", ylim=(0, 5))
    axes[2].legend(fontsize=7)

    logits = torch.linspace(-8, 4, 400, requires_grad=True)
    for modified, label in ((False, "minimax log(1 − D), eq. 3"), (True, "modified −log D, eq. 1")):
        (grad,) = torch.autograd.grad(losses.generator_gan_loss(logits, modified, losses.NO_SMOOTHING) * 400, logits)
        axes[3].semilogy(torch.sigmoid(logits).detach(), grad.abs().clamp_min(1e-8), label=label)
    axes[3].set(title="modified loss", xlabel="D(G(z))", ylabel="|∂L_G/∂logit|")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def toy_scatter(runs: dict[str, dict], config, columns: int = 3) -> plt.Figure:
    """Generated samples of one seed per variant over the ring's modes, on axes fitted to the ring (±1.5 radius;
    a diverged generator's far samples would otherwise shrink the ring to a dot), the share outside the view in
    each title; ``columns`` panels per row."""
    rows = -(-len(runs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.4 * rows), sharex=True, sharey=True,
                             squeeze=False)
    modes = ring_modes(config)
    limit = 1.5 * config.radius
    for ax, (name, run) in zip(axes.flat, runs.items()):
        samples = np.asarray(run["samples"][:1000])
        outside = float(np.mean(np.abs(samples).max(1) > limit))
        ax.scatter(*samples.T, s=3, alpha=0.4)
        ax.scatter(*modes.T, s=30, c="red", marker="x")
        ax.set_title(f"{name}\n{run['modes_covered']}/{config.modes} modes"
                     + (f", {100 * outside:.0f} % outside" if outside else ""), fontsize=10)
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    for ax in list(axes.flat)[len(runs):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def loss_curves(logs: dict[str, list[list[dict]]], window: int = 10) -> plt.Figure:
    """Generator (total and adversarial) and discriminator losses per step: one colour per model, one line per
    seed (moving average over ``window`` steps). ``logs[model][seed_index]`` is a trainer log."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    keys = (("g_total", "generator loss (total)"), ("g_adversarial", "generator adversarial term"),
            ("d_loss", "discriminator loss"))
    for colour, (model, runs) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], logs.items()):
        for i, log in enumerate(runs):
            for ax, (key, title) in zip(axes, keys):
                if key not in log[0]:
                    continue
                y = moving_average(np.array([row[key] for row in log]), window)
                ax.plot(np.arange(len(y)) + window // 2, y, color=colour, alpha=0.8,
                        label=model if i == 0 else None)
                ax.set(title=title, xlabel="step")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
