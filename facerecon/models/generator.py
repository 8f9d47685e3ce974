"""The mesh-deforming generator (paper §3.3.1, Figs. 5, 7, 8).

``image (B, 3, 113, 113)`` and ``landmarks (B, 68, 2)`` (crop pixels) → meshes ``(B, V_l, 3)`` after each of
the reconstruction blocks, in the normalized crop frame (crop pixels / 113; x right, y down, z towards the
camera). Each block (after Pixel2Mesh / Mesh R-CNN's refinement stage):

1. **vertex alignment**: project every vertex orthographically into the crop (weak perspective, the 3DDFA
   convention; the paper's "camera intrinsic matrix" is a pinhole alternative) and bilinearly sample the
   encoder's feature maps there (``grid_sample``, ``align_corners=True``, border padding);
2. concatenate with the vertex coordinates, the landmark code and the previous block's hidden features, then
   LeakyReLU;
3. **NODE block**: three ``GraphConv(aggr='add')`` layers, ``f_i' = LeakyReLU(W0 f_i + Σ_{j∈N(i)} W1 f_j)``
   (the paper's equation; computed as a sparse product, :mod:`facerecon.models.graph`), optionally with the last two as a residual identity block; then a linear layer
   giving each vertex an offset (zero-initialized: the first forward pass returns the template).

A triangulation (midpoint subdivision) layer follows every block except the last:
141 → 491 → 1,821 → 7,001 vertices with the paper's 4 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..data.camera import CROP_SIZE
from ..mesh.ops import edge_index
from ..mesh.subdivide import subdivide, subdivision_levels
from ..mesh.template import hemisphere, initial_mesh
from .encoder import EfficientNetEncoder, EncoderConfig
from .graph import MeshGraphConv

N_LANDMARKS = 68


@dataclass(frozen=True)
class GeneratorConfig:
    """Generator settings; defaults are the paper's layout (4 blocks, 7,001 output vertices)."""

    blocks: int = 4                          # paper: 4 reconstruction blocks
    hidden: int = 128                        # NODE-block width (paper: not stated)
    template: str = "graded"                 # "graded" rings or the "literal" pole + 2×70 rings
    feature_stages: tuple[int, ...] = (1, 2, 6)   # encoder stages sampled by vertex alignment: 24@57, 40@29, 320@29
    landmarks: str = "broadcast"             # "broadcast" an MLP code of the 68 landmarks to every vertex, or "none"
    landmark_code: int = 64
    identity_blocks: bool = False            # residual identity block inside each NODE block (paper §3.2)
    leaky_slope: float = 0.2
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def __post_init__(self):
        if not 1 <= self.blocks <= 5:
            raise ValueError(f"blocks must be in [1, 5], got {self.blocks}")
        if self.landmarks not in ("broadcast", "none"):
            raise ValueError(f"landmarks must be 'broadcast' or 'none', got {self.landmarks!r}")
        if not self.feature_stages or not all(0 <= s < 7 for s in self.feature_stages):
            raise ValueError(f"feature_stages must be encoder stage indices in [0, 6], got {self.feature_stages}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")


class NodeBlock(nn.Module):
    """Three graph convolutions (paper Fig. 8); ``identity=True`` makes the last two a residual block."""

    def __init__(self, c_in: int, hidden: int, identity: bool, slope: float):
        super().__init__()
        self.convs = nn.ModuleList([MeshGraphConv(c_in, hidden), MeshGraphConv(hidden, hidden),
                                    MeshGraphConv(hidden, hidden)])
        self.identity = identity
        self.slope = slope

    def forward(self, x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, self.slope)  # noqa: E731
        h = act(self.convs[0](x, edges))
        if self.identity:  # h ← LeakyReLU(h + GC2(LeakyReLU(GC1(h))))
            return act(h + self.convs[2](act(self.convs[1](h, edges)), edges))
        return act(self.convs[2](act(self.convs[1](h, edges)), edges))


class MeshGenerator(nn.Module):
    """EfficientNet encoder + reconstruction blocks with subdivision (see the module docstring)."""

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.config = config
        self.encoder = EfficientNetEncoder(config.encoder)
        template = hemisphere(config.template)
        steps = subdivision_levels(template.faces, len(template.vertices), config.blocks - 1)
        faces = [template.faces] + [s.faces for s in steps]
        self.register_buffer("template_vertices", torch.tensor(initial_mesh(template), dtype=torch.float32))
        for level, f in enumerate(faces):
            self.register_buffer(f"faces_{level}", torch.as_tensor(f))
            self.register_buffer(f"edges_{level}", edge_index(f))
        for level, s in enumerate(steps):
            self.register_buffer(f"subdivision_{level}", torch.as_tensor(s.edges))
        uv = template.uv
        for s in steps:
            uv = subdivide(uv, s.edges)
        self.output_uv = uv.astype(np.float32)         # (V_last, 2): the UV correspondence of the output mesh
        image_channels = sum(self.encoder.out_channels[s] for s in config.feature_stages)
        code = config.landmark_code if config.landmarks == "broadcast" else 0
        if code:
            self.landmark_mlp = nn.Sequential(nn.Linear(2 * N_LANDMARKS, code), nn.LeakyReLU(config.leaky_slope),
                                              nn.Linear(code, code))
        self.node_blocks = nn.ModuleList()
        self.offsets = nn.ModuleList()
        for b in range(config.blocks):
            c_in = image_channels + 3 + code + (config.hidden if b else 0)
            self.node_blocks.append(NodeBlock(c_in, config.hidden, config.identity_blocks, config.leaky_slope))
            offset = nn.Linear(config.hidden, 3)
            nn.init.zeros_(offset.weight)
            nn.init.zeros_(offset.bias)
            self.offsets.append(offset)

    def faces(self, level: int = -1) -> torch.Tensor:
        return getattr(self, f"faces_{level % self.config.blocks}")

    def edges(self, level: int = -1) -> torch.Tensor:
        return getattr(self, f"edges_{level % self.config.blocks}")

    @staticmethod
    def vertex_alignment(features: list[torch.Tensor], vertices: torch.Tensor) -> torch.Tensor:
        """Bilinear samples of ``features [(B, C_s, H_s, W_s)]`` at the projections of ``vertices (B, V, 3)``
        (normalized crop frame) → ``(B, V, ΣC_s)``."""
        pixels = vertices[..., :2] * CROP_SIZE                       # orthographic projection into the crop
        grid = (2 * pixels / (CROP_SIZE - 1) - 1)[:, :, None, :]     # (B, V, 1, 2), align_corners=True
        sampled = [F.grid_sample(f, grid, mode="bilinear", padding_mode="border", align_corners=True)
                   for f in features]
        return torch.cat(sampled, 1)[..., 0].transpose(1, 2)

    def forward(self, images: torch.Tensor, landmarks: torch.Tensor) -> list[torch.Tensor]:
        """Meshes after each block: ``[(B, 141, 3), (B, 491, 3), ...]`` (normalized crop frame)."""
        if landmarks.ndim != 3 or landmarks.shape[1:] != (N_LANDMARKS, 2):
            raise ValueError(f"landmarks must be (B, {N_LANDMARKS}, 2) crop pixels, got {tuple(landmarks.shape)}")
        if landmarks.shape[0] != images.shape[0]:
            raise ValueError(f"batch sizes differ: images {images.shape[0]}, landmarks {landmarks.shape[0]}")
        if not (torch.isfinite(images).all() and torch.isfinite(landmarks).all()):
            raise ValueError("images or landmarks contain NaN/inf")
        stage_outputs = self.encoder(images)
        features = [stage_outputs[s] for s in self.config.feature_stages]
        batch = images.shape[0]
        vertices = self.template_vertices.expand(batch, -1, -1)
        code = None
        if self.config.landmarks == "broadcast":
            code = self.landmark_mlp(landmarks.reshape(batch, -1) / CROP_SIZE)
        hidden, meshes = None, []
        for b in range(self.config.blocks):
            parts = [self.vertex_alignment(features, vertices), vertices]
            if code is not None:
                parts.append(code[:, None, :].expand(-1, vertices.shape[1], -1))
            if hidden is not None:
                parts.append(hidden)
            x = F.leaky_relu(torch.cat(parts, -1), self.config.leaky_slope)
            hidden = self.node_blocks[b](x, self.edges(b))
            vertices = vertices + self.offsets[b](hidden)
            meshes.append(vertices)
            if b < self.config.blocks - 1:                  # triangulation layer
                edges = getattr(self, f"subdivision_{b}")
                vertices = subdivide(vertices, edges)
                hidden = subdivide(hidden, edges)
        return meshes
