"""The lightweight GCN discriminator (paper §3.3.2, Fig. 9) with minibatch discrimination (§3.2, Fig. 2).

``meshes (B, V, 3)`` on the generator's topology → logits ``(B,)``: a graph convolution 3 → 16, a GCN block of
five layers of 16 features each with dense concatenation (every layer sees the input and all previous outputs;
16 + 5·16 = 96 features), mean over the nodes, minibatch discrimination, and a linear layer to one logit.
Each part is switchable so the ablations can remove it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .graph import MeshGraphConv


@dataclass(frozen=True)
class DiscriminatorConfig:
    features: int = 16              # paper: 16 per layer
    gcn_layers: int = 5             # paper: 5 (→ 96 features)
    conv: str = "graphconv"         # "graphconv" (W0 f_i + Σ W1 f_j, as the generator) or "gcn" (Kipf & Welling)
    dense: bool = True              # dense concatenation inside the GCN block (paper Fig. 9)
    minibatch: bool = True          # minibatch discrimination (paper §3.2)
    mb_kernels: int = 32            # B in Salimans et al. 2016
    mb_dim: int = 16                # C in Salimans et al. 2016
    center: bool = True             # subtract each mesh's centroid (D judges shape, not placement)
    leaky_slope: float = 0.2

    def __post_init__(self):
        if self.conv not in ("graphconv", "gcn"):
            raise ValueError(f"conv must be 'graphconv' or 'gcn', got {self.conv!r}")
        if self.gcn_layers < 1 or self.features < 1:
            raise ValueError("gcn_layers and features must be >= 1")

    @property
    def block_width(self) -> int:
        return self.features * (self.gcn_layers + 1) if self.dense else self.features


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: ``M_i = f_i·T ∈ R^{B×C}``, ``o_b(x_i) = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖₁)``;
    returns ``[f, o]`` of shape ``(N, A + B)`` for features ``f (N, A)``."""

    def __init__(self, in_features: int, kernels: int, dim: int):
        super().__init__()
        self.T = nn.Parameter(torch.randn(in_features, kernels * dim) * 0.05)
        self.kernels, self.dim = kernels, dim

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.dim).transpose(0, 1)     # (B, N, C)
        l1 = torch.cdist(m, m, p=1)                                           # (B, N, N): ‖M_i,b − M_j,b‖₁
        o = torch.exp(-l1).sum(2).T - 1.0                                     # (N, B); drop j = i (exp(0) = 1)
        return torch.cat([f, o], 1)


class MeshDiscriminator(nn.Module):
    """See the module docstring. Call it on the real batch and on the fake batch separately (minibatch
    features compare samples within one batch)."""

    def __init__(self, edges: torch.Tensor, config: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        self.config = config
        self.register_buffer("edges", edges)
        if config.conv == "graphconv":
            conv = MeshGraphConv
        else:
            from torch_geometric.nn import GCNConv      # only this option needs PyG (a slow import)

            conv = lambda i, o: GCNConv(i, o, node_dim=-2)  # noqa: E731
        k = config.features
        self.input_conv = MeshGraphConv(3, k)
        self.block = nn.ModuleList([conv(k * (i + 1) if config.dense else k, k) for i in range(config.gcn_layers)])
        width = config.block_width
        self.minibatch = MinibatchDiscrimination(width, config.mb_kernels, config.mb_dim) if config.minibatch else None
        self.head = nn.Linear(width + (config.mb_kernels if config.minibatch else 0), 1)

    def features(self, meshes: torch.Tensor) -> torch.Tensor:
        """Pooled GCN-block features ``(B, 96)`` (also used for feature matching)."""
        if meshes.ndim != 3 or meshes.shape[-1] != 3:
            raise ValueError(f"meshes must be (B, V, 3), got {tuple(meshes.shape)}")
        x = meshes - meshes.mean(1, keepdim=True) if self.config.center else meshes
        act = lambda t: F.leaky_relu(t, self.config.leaky_slope)  # noqa: E731
        h = act(self.input_conv(x, self.edges))
        for layer in self.block:
            out = act(layer(h, self.edges))
            h = torch.cat([h, out], -1) if self.config.dense else out
        return h.mean(1)                                                      # mean node function

    def forward(self, meshes: torch.Tensor) -> torch.Tensor:
        f = self.features(meshes)
        if self.minibatch is not None:
            f = self.minibatch(f)
        return self.head(f)[:, 0]
