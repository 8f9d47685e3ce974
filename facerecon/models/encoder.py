"""The generator's image encoder: EfficientNet-B0-style MBConv stages at 113×113 (paper §3.3.1, Fig. 6).

The paper: a 3×3 stem with padding 0 and stride 1 giving 111×111×32, MBConv stages giving 111×111×16,
57×57×24, ..., and a final 29×29×320. With B0's stage table (expansion t, kernel k, channels c) the strides
and paddings below reproduce those sizes: 16@111, 24@57, 40@29, 80@29, 112@29, 192@29, 320@29. One block per
stage by default; ``depth="b0"`` uses B0's repeats (1, 2, 2, 3, 3, 4, 1). Written in the project (torchvision
does not import beside the CPU torch used here).

The encoder computes in the channels-last layout (NHWC), weights and activations: on CPUs (oneDNN) the depthwise
convolutions' backward pass is about three times faster in it, the encoder's training step a third faster
(``benchmarks/model_speed.py``). The values are those of the default layout up to float rounding.

``stem_stride=2`` (the ``cpu`` and ``smoke`` architectures, not the paper's) runs the stem with stride 2: every
stage then works at about half the side (16@56, 24@29, 40@15, ...). At 111×111 the first two stages were most of
a ``cpu`` training step's time; the vertex-aligned features are sampled bilinearly at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..mesh.frame import CROP_SIZE
from .blocks import SqueezeExcite

# (expansion t, kernel k, out channels c, stride, padding of the first block, B0 repeats)
B0_STAGES = ((1, 3, 16, 1, 1, 1), (6, 3, 24, 2, 2, 2), (6, 5, 40, 2, 2, 2), (6, 3, 80, 1, 1, 3),
             (6, 5, 112, 1, 2, 3), (6, 5, 192, 1, 2, 4), (6, 3, 320, 1, 1, 1))
STEM_CHANNELS = 32


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1×1 expand → k×k depthwise (stride s) → squeeze-excite → 1×1 project,
    with a residual connection when shapes allow (Tan & Le 2019)."""

    def __init__(self, c_in: int, c_out: int, expansion: int, kernel: int, stride: int, padding: int):
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.SiLU()]
        layers += [nn.Conv2d(hidden, hidden, kernel, stride, padding, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.SiLU(), SqueezeExcite(hidden, max(1, c_in // 4)),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


@dataclass(frozen=True)
class EncoderConfig:
    depth: str = "one"          # "one" block per stage (the paper's 7 blocks) or "b0" (B0's repeats)
    width: float = 1.0          # channel multiplier (smaller profiles); 1.0 = the paper's channels
    stem_stride: int = 1        # the paper's 1 (111×111 stem); 2 halves every stage's side (CPU architectures)

    def __post_init__(self):
        if self.depth not in ("one", "b0"):
            raise ValueError(f"encoder depth must be 'one' or 'b0', got {self.depth!r}")
        if not 0 < self.width <= 2:
            raise ValueError(f"encoder width must be in (0, 2], got {self.width}")
        if self.stem_stride not in (1, 2):
            raise ValueError(f"encoder stem_stride must be 1 (the paper's) or 2, got {self.stem_stride}")

    def channels(self, c: int) -> int:
        return max(4, int(round(c * self.width)))


class EfficientNetEncoder(nn.Module):
    """``images (B, 3, 113, 113)`` → list of 7 stage outputs ``(B, C_s, H_s, W_s)``."""

    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = config
        stem = config.channels(STEM_CHANNELS)
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, config.stem_stride, 0, bias=False), nn.BatchNorm2d(stem),
                                  nn.SiLU())
        stages, c_in = [], stem
        for t, k, c, stride, pad, repeats in B0_STAGES:
            c_out = config.channels(c)
            n = repeats if config.depth == "b0" else 1
            blocks = [MBConv(c_in, c_out, t, k, stride, pad)]
            blocks += [MBConv(c_out, c_out, t, k, 1, k // 2) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self.out_channels = [config.channels(s[2]) for s in B0_STAGES]
        self.to(memory_format=torch.channels_last)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[2:] != (CROP_SIZE, CROP_SIZE):
            raise ValueError(f"images must be (B, 3, {CROP_SIZE}, {CROP_SIZE}), got {tuple(images.shape)}")
        x = self.stem(images.contiguous(memory_format=torch.channels_last))
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs
