"""Training configuration and the named models of the study.

Each of the paper's GAN modifications (§3.2) is a switch of its own:

- ``minibatch``: minibatch discrimination in the discriminator (Fig. 2);
- ``identity_blocks``: residual identity blocks in the generator's NODE blocks (Fig. 3);
- ``label_smoothing``: discriminator targets 0.9 / 0.01 instead of 1 / 0 (Fig. 4);
- ``modified_loss``: the study's reading of the "modified loss": the non-saturating generator loss of eq. (1)
  (``−log D(G(z))``) instead of the saturating minimax form of eq. (3) (``log(1 − D(G(z)))``).

``mode="no_gan"`` trains with the reconstruction losses only (Pixel2Mesh-style); every GAN mode keeps them too,
since the generator is conditioned on an image and must match its GT mesh.

The generator's settings live in one place, :class:`~facerecon.models.generator.GeneratorConfig`, held by
:class:`TrainConfig` (its ``architecture`` names the starting point). Profiles and notebooks pass flat keys;
:meth:`TrainConfig.from_flat` sorts them into the two dataclasses and :func:`flat_keys` lists the allowed ones,
derived from the dataclasses' fields.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..models.architectures import get_architecture
from ..models.encoder import EncoderConfig
from ..models.generator import GeneratorConfig


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults: the full model at the paper's layout."""

    model: str = "full"
    architecture: str = "paper"          # facerecon.models.architectures: paper, cpu, smoke
    generator: GeneratorConfig | None = None   # None: the architecture's generator, identity blocks on
    mode: str = "gan"                    # "gan" or "no_gan"
    minibatch: bool = True
    label_smoothing: bool = True
    modified_loss: bool = True
    adversarial_weight: float = 0.01     # interpretation: the paper gives none
    chamfer_on: str = "surface"          # Chamfer against predicted "surface" samples (Mesh R-CNN) or "vertices"
    centre_depth: bool = True            # Chamfer/normal terms in the metric frame: each set's mean depth removed
    edge_on: str = "mesh"                # edge term on the "mesh" (Pixel2Mesh) or its "displacement" from the prior
    fit_levels: str = "all"              # Chamfer/normal terms on "all" blocks' outputs (Pixel2Mesh) or the "last"
    chamfer_weight: float = 1.0          # both Chamfer terms scaled by this (the paper's loss: 1)
    vertex_weight: float = 0.0           # study option: dense per-vertex term against the GT on the output topology
    steps: int = 2000
    batch_size: int = 16
    lr_generator: float = 1e-4           # paper: not stated for the GAN (Adam; the denoisers use Adamax 1e-5)
    lr_discriminator: float = 1e-4
    lr_shape_basis: float = 1e-3         # the landmark_shape basis: a linear map, learnt faster than the GCN
    lr_offset_heads: float | None = None # the blocks' offset heads (None: lr_generator); they read every hidden feature
    betas: tuple[float, float] = (0.5, 0.999)
    warmup_steps: int = 0                # learning rates rise linearly from 0 over these steps (paper: not stated)
    lr_schedule: str = "constant"        # then stay ("constant") or decay to 0 by the last step ("cosine")
    shape_basis_init: str = "zero"       # the landmark_shape basis starts at "zero" or at its "ridge" optimum
    shape_basis_lambda: float = 1.0      # that ridge's penalty (features are O(1): see landmark_ridge)
    landmark_noise: float = 0.0          # study option: s.d. (crop pixels, per coordinate) of Gaussian noise on the
    #                                      generator's input landmarks in training and in the ridge start, so that
    #                                      detected landmarks are what it has seen (0: the dataset's, the paper's)
    surface_readout_weight: float = 0.0  # study option: weight of the encoder's auxiliary readout of the GT
    #                                      surface's normals and depth (training/surface_readout.py; 0: off;
    #                                      0.1 and 1 lost 7.5 points above the floor: results/README.md)
    d_steps: int = 1                     # discriminator updates per generator update
    gt_points: int = 2048                # GT surface points per sample for the Chamfer/normal terms
    checkpoint_every: int = 500
    seed: int = 0
    mixed_precision: str = "no"          # Accelerate: "no", "fp16", "bf16"

    def __post_init__(self):
        if self.generator is None:
            base = get_architecture(self.architecture).generator
            object.__setattr__(self, "generator", replace(base, identity_blocks=True))
        if self.mode not in ("gan", "no_gan"):
            raise ValueError(f"mode must be 'gan' or 'no_gan', got {self.mode!r}")
        for name in ("steps", "batch_size", "gt_points", "checkpoint_every", "d_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr_offset_heads is not None and self.lr_offset_heads <= 0:
            raise ValueError(f"lr_offset_heads must be > 0 or None, got {self.lr_offset_heads}")
        for name in ("warmup_steps", "chamfer_weight", "vertex_weight", "shape_basis_lambda", "landmark_noise",
                     "surface_readout_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.chamfer_weight == 0 and self.vertex_weight == 0:
            raise ValueError("chamfer_weight and vertex_weight are both 0: nothing would fit the GT")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.shape_basis_init not in ("zero", "ridge"):
            raise ValueError(f"shape_basis_init must be 'zero' or 'ridge', got {self.shape_basis_init!r}")
        if self.shape_basis_init == "ridge" and not self.generator.landmark_shape:
            raise ValueError("shape_basis_init='ridge' sets the landmark shape basis: it needs landmark_shape=True")
        if self.surface_readout_weight and not self.generator.graph_blocks:
            raise ValueError("surface_readout_weight > 0 trains the encoder, which graph_blocks=False never reads")
        if self.mode == "gan" and self.batch_size < 2 and self.minibatch:
            raise ValueError("minibatch discrimination needs batch_size >= 2")
        if self.fit_levels not in ("all", "last"):
            raise ValueError(f"fit_levels must be 'all' or 'last', got {self.fit_levels!r}")
        if self.edge_on not in ("mesh", "displacement"):
            raise ValueError(f"edge_on must be 'mesh' or 'displacement', got {self.edge_on!r}")
        if self.chamfer_on not in ("surface", "vertices"):
            raise ValueError(f"chamfer_on must be 'surface' or 'vertices', got {self.chamfer_on!r}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be 'no', 'fp16' or 'bf16', got {self.mixed_precision!r}")

    def lr_factor(self, step: int) -> float:
        """The learning rates' multiplier at ``step`` (0-based): linear warm-up over ``warmup_steps``, then
        constant or a cosine decay that reaches 0 after the last step."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant":
            return 1.0
        progress = (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-normal (tuples as lists), as stored in checkpoints and cache keys."""
        return json.loads(json.dumps(asdict(self)))

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "TrainConfig":
        """The inverse of :meth:`to_dict` (a checkpoint's or cache entry's stored config)."""
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training parameters {unknown}; known: {sorted(known)}")
        d = dict(d)
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        if isinstance(d.get("generator"), dict):
            d["generator"] = _generator_from_dict(d["generator"])
        return TrainConfig(**d)

    @staticmethod
    def from_flat(**flat: Any) -> "TrainConfig":
        """A config from flat keys (a profile's ``train`` section, a notebook's parameters): the
        :class:`GeneratorConfig` fields among them adjust the architecture's generator."""
        unknown = sorted(set(flat) - set(flat_keys()))
        if unknown:
            raise ValueError(f"unknown training parameters {unknown}; allowed: {sorted(flat_keys())}")
        generator_keys = {f.name for f in fields(GeneratorConfig)}
        base = get_architecture(flat.get("architecture", "paper")).generator
        generator = replace(base, **{"identity_blocks": True,
                                     **{k: v for k, v in flat.items() if k in generator_keys}})
        return TrainConfig.from_dict({**{k: v for k, v in flat.items() if k not in generator_keys},
                                      "generator": generator})


def flat_keys() -> tuple[str, ...]:
    """Every key :meth:`TrainConfig.from_flat` takes: the training fields and the generator's switches."""
    own = [f.name for f in fields(TrainConfig) if f.name != "generator"]
    return tuple(own + [f.name for f in fields(GeneratorConfig) if f.name != "encoder"])


def _generator_from_dict(d: dict[str, Any]) -> GeneratorConfig:
    d = dict(d)
    d["feature_stages"] = tuple(d["feature_stages"])
    d["encoder"] = EncoderConfig(**d["encoder"])
    return GeneratorConfig(**d)


# The named models: the full model, the GAN without the paper's modifications, reconstruction only.
NAMED_MODELS: dict[str, dict[str, Any]] = {
    "full": dict(mode="gan", minibatch=True, identity_blocks=True, label_smoothing=True, modified_loss=True),
    "vanilla_gan": dict(mode="gan", minibatch=False, identity_blocks=False, label_smoothing=False,
                        modified_loss=False),
    "no_gan": dict(mode="no_gan", minibatch=False, identity_blocks=True, label_smoothing=False,
                   modified_loss=False),
}


def named_config(name: str, **overrides: Any) -> TrainConfig:
    """The configuration of a named model, with flat overrides (e.g. ``steps``, ``architecture``, ``prior``)."""
    if name not in NAMED_MODELS:
        raise ValueError(f"unknown model {name!r}: expected one of {sorted(NAMED_MODELS)}")
    return TrainConfig.from_flat(**{**NAMED_MODELS[name], **overrides, "model": name})


def config_differences(a: dict[str, Any], b: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """``"field: a != b"`` for every field (except ``ignore``) that differs between two config dicts."""
    return [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if k not in ignore and a.get(k) != b.get(k)]
