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
   (the paper's equation; computed as a sparse product, :mod:`facerecon.models.graph`; ``aggregation="mean"``
   averages the neighbours instead), optionally with the last two as a residual identity block; then a linear layer
   giving each vertex an offset (zero-initialized: the first forward pass returns the template).

A triangulation (midpoint subdivision) layer follows every block except the last:
141 → 491 → 1,821 → 7,001 vertices with the paper's 4 blocks.

**Prior** (what the blocks deform): ``"hemisphere"`` is the paper's template, the same for every image.
``"mean_face"`` (a study option, not in the paper) is a mean face resampled onto each level's vertices and posed
by a weak-perspective fit to the input landmarks; the blocks then learn the residual from it, and subdivision
carries the residual (not the coarse mesh) to the next level, so block ``b``'s output is
``prior_b + subdivide(residual_{b-1}) + offset_b``. With the hemisphere this is exactly plain subdivision.

**Landmark input**: ``"broadcast"`` (the paper's reading) feeds the raw landmarks to an MLP whose code every
vertex receives; ``"residual"`` feeds their offsets from the posed mean face's landmarks, in the image plane
divided by the fitted scale (translation and scale removed, rotation *not*: the offsets are not rotated back into
the face's frame, so one shape gives different features at different yaw), together with the fitted rotation.
``landmark_shape`` adds a linear shape basis of the mean face driven by those residual features (a
3DMM-style regression, zero-initialized) before the first block; the blocks then refine from image features.
Both are study options, not in the paper: see the GAN chapter for why the `cpu` profile uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..mesh.frame import CROP_SIZE
from ..mesh.resample import TemplateResampler
from ..mesh.ops import edge_index
from ..mesh.pose import apply_weak_perspective, fit_weak_perspective, landmark_residuals, shape_unit
from ..mesh.subdivide import subdivide, subdivision_levels
from ..mesh.template import hemisphere, initial_mesh
from .encoder import EfficientNetEncoder, EncoderConfig
from .graph import AGGREGATIONS, MeshGraphConv, project_parts

N_LANDMARKS = 68


@dataclass(frozen=True)
class GeneratorConfig:
    """Generator settings; defaults are the paper's layout (4 blocks, 7,001 output vertices)."""

    blocks: int = 4                          # paper: 4 reconstruction blocks
    hidden: int = 128                        # NODE-block width (paper: not stated)
    template: str = "graded"                 # "graded" rings or the "literal" pole + 2×70 rings
    feature_stages: tuple[int, ...] = (1, 2, 6)   # encoder stages sampled by vertex alignment: 24@57, 40@29, 320@29
    landmarks: str = "broadcast"             # "broadcast" an MLP code of the 68 landmarks to every vertex,
    #                                          "residual": of their offsets from the posed mean face (needs that prior)
    #                                          and the fitted rotation, or "none"
    landmark_code: int = 64
    landmark_shape: bool = False             # study option: a linear shape basis of the mean face driven by the
    #                                          "residual" landmark features, applied before the first block
    prior: str = "hemisphere"                # "hemisphere" (paper) or "mean_face" posed by the landmarks (study option)
    identity_blocks: bool = False            # residual identity block inside each NODE block (paper §3.2)
    graph_blocks: bool = True                # False: no NODE block moves a vertex (the prior and the landmark
    #                                          shape basis only, subdivided to the output level: an ablation)
    message_passing: bool = True             # False: the NODE blocks' graph convolutions become per-vertex linear
    #                                          layers of the same widths (Table 4's "without GCN" ablation)
    aggregation: str = "add"                 # the graph convolutions' neighbour "add" (the paper's Σ) or "mean"
    leaky_slope: float = 0.2
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def __post_init__(self):
        if not 1 <= self.blocks <= 5:
            raise ValueError(f"blocks must be in [1, 5], got {self.blocks}")
        if self.landmarks not in ("broadcast", "residual", "none"):
            raise ValueError(f"landmarks must be 'broadcast', 'residual' or 'none', got {self.landmarks!r}")
        if self.landmarks == "residual" and self.prior != "mean_face":
            raise ValueError("landmarks='residual' measures offsets from the posed mean face: it needs prior='mean_face'")
        if self.landmark_shape and self.landmarks != "residual":
            raise ValueError("landmark_shape reads the residual landmark features: it needs landmarks='residual'")
        if not self.feature_stages or not all(0 <= s < 7 for s in self.feature_stages):
            raise ValueError(f"feature_stages must be encoder stage indices in [0, 6], got {self.feature_stages}")
        if self.prior not in ("hemisphere", "mean_face"):
            raise ValueError(f"prior must be 'hemisphere' or 'mean_face', got {self.prior!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if not self.graph_blocks and not self.landmark_shape:
            raise ValueError("graph_blocks=False leaves nothing to learn without landmark_shape=True")


class VertexLinear(nn.Linear):
    """``f_i' = W0 f_i + b`` on ``x (B, V, C)``: a graph convolution without its neighbour sum (the edges are
    ignored), for the "without GCN" ablation."""

    def forward(self, x: torch.Tensor, edges: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)

    def forward_parts(self, parts: list[torch.Tensor], edges: torch.Tensor | None = None) -> torch.Tensor:
        """``forward(cat(parts, -1))`` from parts ``(B, V, C_i)`` or per-image ``(B, C_i)`` (see
        :meth:`MeshGraphConv.forward_parts`)."""
        n_vertices = next(p.shape[1] for p in parts if p.ndim == 3)
        per_vertex, per_image = project_parts(parts, self.weight, n_vertices)
        out = per_vertex if per_image is None else per_vertex + per_image[:, None, :]
        return out + self.bias if self.bias is not None else out


class NodeBlock(nn.Module):
    """Three graph convolutions (paper Fig. 8); ``identity=True`` makes the last two a residual block;
    ``message_passing=False`` replaces them by per-vertex linear layers of the same widths."""

    def __init__(self, c_in: int, hidden: int, identity: bool, slope: float, message_passing: bool = True,
                 aggregation: str = "add"):
        super().__init__()
        layer = (lambda i, o: MeshGraphConv(i, o, aggregation)) if message_passing else VertexLinear
        self.convs = nn.ModuleList([layer(c_in, hidden), layer(hidden, hidden), layer(hidden, hidden)])
        self.identity = identity
        self.slope = slope

    def forward(self, x: torch.Tensor | list[torch.Tensor], edges: torch.Tensor) -> torch.Tensor:
        """``x (B, V, C_in)``, or its activated parts in concatenation order (``(B, V, C_i)`` or per-image
        ``(B, C_i)``: see :meth:`MeshGraphConv.forward_parts`) → ``(B, V, hidden)``."""
        act = lambda t: F.leaky_relu(t, self.slope)  # noqa: E731
        first = self.convs[0].forward_parts(x, edges) if isinstance(x, list) else self.convs[0](x, edges)
        h = act(first)
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
        for level, f in enumerate(faces):
            self.register_buffer(f"faces_{level}", torch.as_tensor(f))
            self.register_buffer(f"edges_{level}", edge_index(f))
        for level, s in enumerate(steps):
            self.register_buffer(f"subdivision_{level}", torch.as_tensor(s.edges))
        self.level_uv, prior = [template.uv], [initial_mesh(template)]
        for s in steps:
            self.level_uv.append(subdivide(self.level_uv[-1], s.edges))
            prior.append(subdivide(prior[-1], s.edges))
        self.output_uv = self.level_uv[-1].astype(np.float32)   # (V_last, 2): the output mesh's UV correspondence
        if config.prior == "mean_face":  # filled by set_mean_face (or a state dict); canonical frame, y up
            prior = [np.zeros_like(p) for p in prior]
            self.register_buffer("prior_landmarks", torch.zeros(N_LANDMARKS, 3))
            self.register_buffer("prior_ready", torch.tensor(False))
        for level, p in enumerate(prior):
            self.register_buffer(f"prior_{level}", torch.tensor(p, dtype=torch.float32))
        image_channels = self.image_channels
        code = config.landmark_code if config.landmarks != "none" else 0
        if code:
            code_in = 2 * N_LANDMARKS + (9 if config.landmarks == "residual" else 0)
            self.landmark_mlp = nn.Sequential(nn.Linear(code_in, code), nn.LeakyReLU(config.leaky_slope),
                                              nn.Linear(code, code))
        if config.landmark_shape:   # zero-initialized: training starts from the posed mean face
            self.shape_basis = nn.Linear(2 * N_LANDMARKS + 9, 3 * len(prior[0]))
            nn.init.zeros_(self.shape_basis.weight)
            nn.init.zeros_(self.shape_basis.bias)
        self.node_blocks = nn.ModuleList()
        self.offsets = nn.ModuleList()
        for b in range(config.blocks):
            c_in = image_channels + 3 + code + (config.hidden if b else 0)
            self.node_blocks.append(NodeBlock(c_in, config.hidden, config.identity_blocks, config.leaky_slope,
                                              config.message_passing, config.aggregation))
            offset = nn.Linear(config.hidden, 3)
            nn.init.zeros_(offset.weight)
            nn.init.zeros_(offset.bias)
            self.offsets.append(offset)

    def prior_only(self) -> "MeshGenerator":
        """A copy whose offset heads and landmark shape basis are zero: it outputs its prior (the mean face posed
        by the landmarks, or the hemisphere), the baseline a trained model must beat on the same inputs."""
        copy = MeshGenerator(self.config)
        copy.load_state_dict(self.state_dict())
        with torch.no_grad():
            for name, parameter in copy.named_parameters():
                if name.startswith(("offsets.", "shape_basis.")):
                    parameter.zero_()
        return copy.eval()

    def faces(self, level: int = -1) -> torch.Tensor:
        return getattr(self, f"faces_{level % self.config.blocks}")

    def edges(self, level: int = -1) -> torch.Tensor:
        return getattr(self, f"edges_{level % self.config.blocks}")

    def set_mean_face(self, vertices: np.ndarray, uv: np.ndarray, faces: np.ndarray,
                      landmark_index: np.ndarray) -> None:
        """Use the mean face ``vertices (N, 3)`` (y up, any unit), with its ``uv (N, 2)`` correspondence,
        ``faces (F, 3)`` and ``landmark_index (68,)``, as the ``"mean_face"`` prior."""
        if self.config.prior != "mean_face":
            raise ValueError(f"set_mean_face needs prior='mean_face'; this generator's prior is {self.config.prior!r}")
        vertices = np.asarray(vertices, dtype=np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(landmark_index) != N_LANDMARKS:
            raise ValueError(f"mean face must be (N, 3) with {N_LANDMARKS} landmark indices, got "
                             f"{vertices.shape} and {len(landmark_index)}")
        for level, level_uv in enumerate(self.level_uv):
            getattr(self, f"prior_{level}").copy_(torch.as_tensor(
                TemplateResampler(uv, faces, level_uv)(vertices), dtype=torch.float32))
        self.prior_landmarks.copy_(torch.as_tensor(vertices[np.asarray(landmark_index)], dtype=torch.float32))
        self.prior_ready.fill_(True)

    def priors(self, landmarks: torch.Tensor) -> list[torch.Tensor]:
        """What the blocks deform, per level: ``[(B, V_l, 3)]`` in the normalized crop frame."""
        return self._posed_priors(landmarks)[0]

    def _posed_priors(self, landmarks: torch.Tensor, pose: tuple | None = None
                      ) -> tuple[list[torch.Tensor], tuple | None]:
        """The priors and, for the mean face, its weak-perspective pose ``(s (B,), R (B, 3, 3), t (B, 2))``
        (fitted to ``landmarks`` unless given)."""
        batch = landmarks.shape[0]
        levels = [getattr(self, f"prior_{level}") for level in range(self.config.blocks)]
        if self.config.prior == "hemisphere":
            return [p.expand(batch, -1, -1) for p in levels], None
        if not bool(self.prior_ready):
            raise RuntimeError("the mean-face prior is not set: call set_mean_face (the trainer does it from the "
                               "training data) or load a trained state dict")
        with torch.no_grad():
            if pose is None:
                pose = fit_weak_perspective(self.prior_landmarks, landmarks / CROP_SIZE)
            posed = [apply_weak_perspective(p, *pose) for p in levels]
            # depth is not observed: centre it like the GT meshes (zero mean depth over the finest level)
            depth = posed[-1][..., 2:].mean(1, keepdim=True)
            return [p - F.pad(depth, (2, 0)) for p in posed], pose

    def landmark_features(self, landmarks: torch.Tensor, pose: tuple | None) -> torch.Tensor:
        """What the landmark MLP reads, ``(B, 136)`` or ``(B, 145)``: the landmarks in the normalized crop frame
        (``"broadcast"``), or (``"residual"``) their offsets from the posed mean face's landmarks in tenths of the
        mean face's landmark RMS radius (O(1) values), with the fitted rotation. The offsets are in the image
        plane: translation and scale are removed, the rotation is not (it is passed alongside instead)."""
        if self.config.landmarks == "broadcast":
            return landmarks.reshape(landmarks.shape[0], -1) / CROP_SIZE
        return landmark_residuals(self.prior_landmarks, landmarks / CROP_SIZE, pose)

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
        return self.deform(images, landmarks)[1]

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The encoder stages that vertex alignment samples: ``[(B, C_s, H_s, W_s)]`` for ``feature_stages``."""
        stage_outputs = self.encoder(images)
        return [stage_outputs[s] for s in self.config.feature_stages]

    @property
    def image_channels(self) -> int:
        """``ΣC_s``: the width of a vertex's sampled image features."""
        return sum(self.encoder.out_channels[s] for s in self.config.feature_stages)

    def deform(self, images: torch.Tensor, landmarks: torch.Tensor, pose: tuple | None = None,
               features: list[torch.Tensor] | None = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``(inputs, outputs)``: each block's mesh before and after its deformation (for the Laplacian and
        move terms). ``pose``: the mean face's pose when computed elsewhere (the ONNX export), else fitted.
        ``features``: :meth:`encode` of ``images`` when the caller needs them too (training's surface readout)."""
        if landmarks.ndim != 3 or landmarks.shape[1:] != (N_LANDMARKS, 2):
            raise ValueError(f"landmarks must be (B, {N_LANDMARKS}, 2) crop pixels, got {tuple(landmarks.shape)}")
        if landmarks.shape[0] != images.shape[0]:
            raise ValueError(f"batch sizes differ: images {images.shape[0]}, landmarks {landmarks.shape[0]}")
        if not (torch.isfinite(images).all() and torch.isfinite(landmarks).all()):
            raise ValueError("images or landmarks contain NaN/inf")
        if self.config.graph_blocks and features is None:   # without graph blocks nothing reads the image
            features = self.encode(images)
        batch = images.shape[0]
        priors, pose = self._posed_priors(landmarks, pose)
        vertices = priors[0]
        code = None
        if self.config.landmarks != "none":
            landmark_features = self.landmark_features(landmarks, pose)
            code = self.landmark_mlp(landmark_features)
        if self.config.landmark_shape:   # a shape change of the mean face (its frame, y up), posed like it
            change = self.shape_basis(landmark_features).reshape(batch, -1, 3) * shape_unit(self.prior_landmarks)
            scale, rotation, _ = pose
            vertices = vertices + apply_weak_perspective(change, scale, rotation, torch.zeros_like(pose[2]))
        hidden, meshes, inputs = None, [], []
        for b in range(self.config.blocks):
            inputs.append(vertices)
            if not self.config.graph_blocks:            # the ablation: carry the landmark-driven mesh down
                meshes.append(vertices)
                if b < self.config.blocks - 1:
                    vertices = priors[b + 1] + subdivide(vertices - priors[b], getattr(self, f"subdivision_{b}"))
                continue
            # act(cat(parts)) as its activated parts: the landmark code stays one vector per image
            parts = [self.vertex_alignment(features, vertices), vertices]
            if code is not None:
                parts.append(code)
            if hidden is not None:
                parts.append(hidden)
            parts = [F.leaky_relu(p, self.config.leaky_slope) for p in parts]
            hidden = self.node_blocks[b](parts, self.edges(b))
            vertices = vertices + self.offsets[b](hidden)
            meshes.append(vertices)
            if b < self.config.blocks - 1:                  # triangulation layer
                edges = getattr(self, f"subdivision_{b}")
                vertices = priors[b + 1] + subdivide(vertices - priors[b], edges)   # carry the residual
                hidden = subdivide(hidden, edges)
        return inputs, meshes
