"""One trainer for every mesh model (full GAN, vanilla GAN, reconstruction only), on Hugging Face Accelerate.

Per step (paper §3.2 and §3.3): the generator deforms the hemisphere through its blocks; the reconstruction
terms (Chamfer both ways, normal, edge, Laplacian, move) are applied to every block's output, as in Pixel2Mesh;
in GAN mode the discriminator is updated on real meshes (GT resampled onto the generator's topology) against the
detached fakes with (optionally smoothed) targets, then the generator adds the weighted adversarial term.

The study's options around that step (each a :class:`TrainConfig` switch, off by default): a dense per-vertex term
beside Chamfer, the landmark shape basis started at its ridge solution (:mod:`.landmark_ridge`), separate learning
rates for the shape basis and the offset heads, a warm-up and cosine decay of every learning rate (a function
of the step, so resuming continues it), and an auxiliary readout of the GT surface from the encoder's maps
(:mod:`.surface_readout`, kept in checkpoints, not in the model).

Checkpoints are written every ``checkpoint_every`` steps and at the end, atomically; ``resume=True`` continues from
the last one and reproduces an uninterrupted run exactly on the same CPU build (batch order and GT sampling are
seeded per step, the checkpoint holds models, optimizers and logs). A checkpoint from another configuration is
refused with the fields that differ; a corrupt one with its path.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from ..data.dataset import FaceDataset
from ..models import losses
from ..models.architectures import Architecture, get_architecture
from ..models.discriminator import MeshDiscriminator
from ..mesh.ops import sample_surface
from ..models.generator import MeshGenerator
from ..study.runtime import seed_everything
from .batches import (ASSEMBLY_PREFETCH, MeshBatches, StepBatches, assemble_step, checked_assembly_workers,
                      default_assembly_workers)
from .config import TrainConfig, config_differences
from .landmark_ridge import landmark_shape_targets, set_landmark_shape
from .surface_readout import SurfaceReadout, surface_readout_loss
from ..study.progress import progress_bar

CHECKPOINTS = "checkpoints"
RESUMABLE_FIELDS = ("steps", "checkpoint_every")   # a resumed run may extend training or checkpoint differently
LOG_FIELDS = ("step", "lr_factor", "g_total", "g_chamfer", "g_vertex", "g_normal", "g_edge", "g_laplacian",
              "g_move", "g_surface_readout", "g_adversarial", "d_loss", "d_real", "d_fake")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, or from another configuration."""


def build_models(cfg: TrainConfig, mean_face: FaceDataset | None = None
                 ) -> tuple[MeshGenerator, MeshDiscriminator | None]:
    """Generator (and discriminator in GAN mode) of ``cfg``'s architecture with its switches applied; the
    ``"mean_face"`` prior is taken from ``mean_face``'s morphable model when given."""
    arch: Architecture = get_architecture(cfg.architecture)
    generator = MeshGenerator(cfg.generator)
    if cfg.generator.prior == "mean_face" and mean_face is not None:
        if mean_face.model is None:
            raise ValueError(f"prior 'mean_face' needs a morphable model with the data; {mean_face.folder} has none")
        generator.set_mean_face(mean_face.model.mean, mean_face.uv, mean_face.faces, mean_face.model.landmark_index)
    if cfg.mode == "no_gan":
        return generator, None
    return generator, MeshDiscriminator(generator.edges(-1), replace(arch.discriminator, minibatch=cfg.minibatch))


def reconstruction_loss(inputs: list[torch.Tensor], outputs: list[torch.Tensor], generator: MeshGenerator,
                        batch: dict[str, torch.Tensor], weights: losses.LossWeights,
                        surface_samples: torch.Generator | None = None, fit_levels: str = "all",
                        centre_depth: bool = False, edge_on: str = "mesh") -> dict[str, torch.Tensor]:
    """The reconstruction terms summed over the blocks' outputs (each ``()``), weighted.

    The Chamfer terms compare the GT points with the predicted *vertices* (Pixel2Mesh) or, given a seeded
    ``surface_samples`` generator, with as many points sampled on the predicted *surface* (Mesh R-CNN; what
    the CD/EMD metrics measure, and insensitive to how the vertices are spread). ``centre_depth`` compares both
    point sets with their mean depth removed, the metric frame's convention (depth is not observed in the image).
    ``edge_on="mesh"`` penalizes squared edge lengths (Pixel2Mesh; it also pulls a mesh to shrink),
    ``"displacement"`` the squared edge lengths of the displacement from the generator's prior (smooth
    deformations of the prior cost little, and its size is not penalized). With ``weights.vertex`` > 0 the
    dense term compares each fitted level's vertices with ``batch["real_meshes"]`` (the GT on the output
    topology; a coarser level's vertices are its first ``V_l``: subdivision keeps them).
    """
    priors = generator.priors(batch["landmarks"]) if edge_on == "displacement" else None
    gt = batch["gt_points"] - _mean_depth(batch["gt_points"]) if centre_depth else batch["gt_points"]
    terms = {"chamfer": 0.0, "normal": 0.0, "edge": 0.0, "laplacian": 0.0, "move": 0.0}
    if weights.vertex:
        terms["vertex"] = 0.0
    for level, (before, after) in enumerate(zip(inputs, outputs)):
        edges = generator.edges(level)
        if fit_levels == "all" or level == len(outputs) - 1:
            vertices = after
            if weights.chamfer_pred_to_gt or weights.chamfer_gt_to_pred:
                pred = after if surface_samples is None else sample_surface(after, generator.faces(level),
                                                                             gt.shape[1], surface_samples)
                if centre_depth:                      # the predicted surface's mean depth moves its vertices too
                    offset = _mean_depth(pred)
                    pred, vertices = pred - offset, after - offset
                d_pg, d_gp, nearest = losses.chamfer_terms(pred, gt)
                if surface_samples is not None:       # the normal term pairs vertices, not samples, with GT
                    nearest = losses.nearest_index(vertices, gt)
                terms["chamfer"] = terms["chamfer"] + (weights.chamfer_pred_to_gt * d_pg
                                                       + weights.chamfer_gt_to_pred * d_gp).mean()
            else:                                     # Chamfer off: only the normal term needs the neighbours
                if centre_depth:
                    vertices = after - _mean_depth(after)
                nearest = losses.nearest_index(vertices, gt)
            terms["normal"] = terms["normal"] + weights.normal * losses.normal_loss(
                after, edges, batch["gt_normals"], nearest).mean()
            if weights.vertex:
                target = batch["real_meshes"][:, :after.shape[1]]
                if centre_depth:
                    target, vertices = target - _mean_depth(target), after - _mean_depth(after)
                terms["vertex"] = terms["vertex"] + weights.vertex * losses.vertex_loss(vertices, target).mean()
        shape = after if priors is None else after - priors[level]
        terms["edge"] = terms["edge"] + weights.edge * losses.edge_loss(shape, edges).mean()
        terms["laplacian"] = terms["laplacian"] + weights.laplacian * losses.laplacian_loss(before, after, edges).mean()
        terms["move"] = terms["move"] + weights.move * losses.move_loss(before, after).mean()
    return terms


def parameter_groups(generator: MeshGenerator, cfg: TrainConfig) -> list[dict[str, Any]]:
    """The generator's Adam groups: the landmark shape basis at ``lr_shape_basis``, the offset heads at
    ``lr_offset_heads`` when set, the rest at the optimizer's ``lr_generator`` (groups without parameters left
    out, so that an unset option leaves the optimizer as it was)."""
    named = list(generator.named_parameters())
    basis = [p for n, p in named if n.startswith("shape_basis.")]
    heads = [p for n, p in named if n.startswith("offsets.")] if cfg.lr_offset_heads is not None else []
    rest = [p for n, p in named if not n.startswith("shape_basis.") and not any(p is h for h in heads)]
    groups = [{"params": rest}]
    if basis:
        groups.append({"params": basis, "lr": cfg.lr_shape_basis})
    if heads:
        groups.append({"params": heads, "lr": cfg.lr_offset_heads})
    return groups


def _mean_depth(points: torch.Tensor) -> torch.Tensor:
    """``(B, 1, 3)``: ``(0, 0, mean z)`` of each set of ``points (B, N, 3)``."""
    return F.pad(points[..., 2:].mean(1, keepdim=True), (2, 0))


@dataclass
class TrainResult:
    """What one run leaves: its folder, the trained generator, per-step logs and the summary."""

    out_dir: Path
    generator: MeshGenerator
    logs: list[dict[str, float]]
    summary: dict[str, Any]


def _release_accelerate_state_on_other_device(device: torch.device) -> None:
    """Accelerate keeps one device per process: without this, a CUDA trainer made after a CPU one (or the reverse)
    would silently run on the first one's device."""
    from accelerate.state import AcceleratorState

    current = AcceleratorState._shared_state.get("device")
    if current is not None and torch.device(current).type != device.type:
        AcceleratorState._reset_state(reset_partial_state=True)


class Trainer:
    """Train ``cfg`` on ``train`` into ``out_dir`` (checkpoints, logs, final weights)."""

    def __init__(self, cfg: TrainConfig, train: FaceDataset, out_dir: Path | str, *, progress: bool = True,
                 device: str | None = None, assembly_workers: int | None = None):
        from accelerate import Accelerator

        from ..study.runtime import pick_device

        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.progress = progress
        chosen = pick_device(device)
        _release_accelerate_state_on_other_device(chosen)
        self.accelerator = Accelerator(cpu=chosen.type == "cpu", mixed_precision=cfg.mixed_precision)
        seed_everything(cfg.seed)
        self.generator, self.discriminator = build_models(cfg, train)
        if cfg.shape_basis_init == "ridge":
            targets = landmark_shape_targets(self.generator, train, landmark_noise=cfg.landmark_noise, seed=cfg.seed,
                                             progress=progress)
            set_landmark_shape(self.generator, *targets, cfg.shape_basis_lambda)
        self.batches = MeshBatches(train, self.generator.output_uv, cfg.gt_points, cfg.landmark_noise)
        groups = parameter_groups(self.generator, cfg)
        # built after the models, and only when on: an unset option draws no random numbers
        self.readout = SurfaceReadout(self.generator.image_channels) if cfg.surface_readout_weight else None
        if self.readout is not None:
            self.readout.to(self.accelerator.device)
            groups.append({"params": list(self.readout.parameters())})
        self.opt_g = torch.optim.Adam(groups, lr=cfg.lr_generator, betas=cfg.betas)
        self.opt_d = (torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_discriminator, betas=cfg.betas)
                      if self.discriminator is not None else None)
        self.weights = losses.LossWeights(adversarial=cfg.adversarial_weight,
                                          vertex=cfg.vertex_weight).scaled_chamfer(cfg.chamfer_weight)
        self.smoothing = losses.LabelSmoothing() if cfg.label_smoothing else losses.NO_SMOOTHING
        prepared = self.accelerator.prepare(self.generator, self.opt_g)
        self.generator, self.opt_g = prepared
        if self.discriminator is not None:
            self.discriminator, self.opt_d = self.accelerator.prepare(self.discriminator, self.opt_d)
        self.base_lrs = [[g["lr"] for g in opt.param_groups] if opt is not None else []
                         for opt in (self.opt_g, self.opt_d)]
        self.logs: list[dict[str, float]] = []
        self.step = 0
        self.assembly_workers = (default_assembly_workers(self.accelerator.device) if assembly_workers is None
                                 else checked_assembly_workers(assembly_workers))

    # --- checkpoints -------------------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / CHECKPOINTS

    def checkpoints(self) -> list[Path]:
        return sorted(self.checkpoint_dir.glob("step-*.pt")) if self.checkpoint_dir.is_dir() else []

    def save_checkpoint(self) -> Path:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        unwrap = self.accelerator.unwrap_model
        state = {"config": self.cfg.to_dict(), "step": self.step, "logs": self.logs,
                 "generator": unwrap(self.generator).state_dict(), "opt_g": self.opt_g.state_dict(),
                 "discriminator": unwrap(self.discriminator).state_dict() if self.discriminator is not None else None,
                 "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
                 "surface_readout": self.readout.state_dict() if self.readout is not None else None}
        path = self.checkpoint_dir / f"step-{self.step:08d}.pt"
        tmp = path.with_suffix(".pt.tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)                         # never a half-written checkpoint
        for old in self.checkpoints()[:-2]:            # keep the last two
            old.unlink()
        return path

    def load_checkpoint(self, path: Path) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({type(err).__name__}: {err}); "
                                  "delete it to resume from the one before") from None
        if not isinstance(state, dict) or "config" not in state:
            raise CheckpointError(f"checkpoint {path} is not a facerecon training checkpoint")
        diffs = config_differences(state["config"], self.cfg.to_dict(), ignore=RESUMABLE_FIELDS)
        if diffs:
            raise CheckpointError(f"checkpoint {path} is from another configuration; fields that differ "
                                  f"(checkpoint != requested): {'; '.join(diffs)}")
        unwrap = self.accelerator.unwrap_model
        unwrap(self.generator).load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.discriminator is not None:
            unwrap(self.discriminator).load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        if self.readout is not None:
            self.readout.load_state_dict(state["surface_readout"])
        self.step, self.logs = state["step"], state["logs"]

    # --- one step ----------------------------------------------------------------------------------------------
    def assemble_batch(self, step: int) -> tuple[dict[str, torch.Tensor], torch.Generator]:
        """Step ``step``'s batch on the trainer's device and the generator that drew its GT samples, left where the
        batch stopped (the loss's surface samples continue its stream): :func:`~.batches.assemble_step`."""
        return assemble_step(self.batches, self.cfg.seed, self.cfg.batch_size, step, self.accelerator.device)

    def batches_from(self, first: int) -> Iterator[tuple[dict[str, torch.Tensor], torch.Generator]]:
        """:meth:`assemble_batch` of steps ``first, first + 1, ...``, in order: inline when
        ``assembly_workers`` is 0, else built on the CPU by that many worker processes ahead of the steps and moved
        to the device (the same numbers either way)."""
        if self.assembly_workers == 0 or first >= self.cfg.steps:
            for step in range(first, self.cfg.steps):
                yield self.assemble_batch(step)
            return
        device = self.accelerator.device
        steps = StepBatches(self.batches, self.cfg.seed, self.cfg.batch_size, first, self.cfg.steps)
        loader = DataLoader(steps, batch_size=None, num_workers=self.assembly_workers,
                            prefetch_factor=ASSEMBLY_PREFETCH, pin_memory=device.type == "cuda")
        for batch, state in loader:
            gen = torch.Generator()
            gen.set_state(state)
            yield {k: v.to(device, non_blocking=True) for k, v in batch.items()}, gen

    def train_step(self, assembled: tuple[dict[str, torch.Tensor], torch.Generator] | None = None
                   ) -> dict[str, float]:
        """One step at ``self.step``; ``assembled`` is :meth:`assemble_batch` of that step when built ahead."""
        cfg = self.cfg
        batch, gen = assembled if assembled is not None else self.assemble_batch(self.step)
        factor = cfg.lr_factor(self.step)           # a function of the step: resumed runs continue the schedule
        for opt, bases in zip((self.opt_g, self.opt_d), self.base_lrs):
            for group, base in zip(opt.param_groups if opt is not None else [], bases):
                group["lr"] = base * factor
        self.generator.train()
        generator = self.accelerator.unwrap_model(self.generator)
        features = generator.encode(batch["images"]) if self.readout is not None else None
        inputs, outputs = generator.deform(batch["images"], batch["landmarks"], features=features)
        fake = outputs[-1]
        log = {"step": self.step, "lr_factor": factor}
        if self.discriminator is not None:
            for _ in range(cfg.d_steps):
                real_logits = self.discriminator(batch["real_meshes"])
                fake_logits = self.discriminator(fake.detach())
                d_loss = losses.discriminator_loss(real_logits, fake_logits, self.smoothing)
                self.opt_d.zero_grad(set_to_none=True)
                self.accelerator.backward(d_loss)
                self.opt_d.step()
            log.update(d_loss=d_loss.item(), d_real=torch.sigmoid(real_logits).mean().item(),
                       d_fake=torch.sigmoid(fake_logits).mean().item())
        surface = gen if cfg.chamfer_on == "surface" else None     # the same seeded stream: resume-safe
        terms = reconstruction_loss(inputs, outputs, generator, batch,
                                    self.weights, surface, cfg.fit_levels, cfg.centre_depth, cfg.edge_on)
        if self.readout is not None:
            terms["surface_readout"] = cfg.surface_readout_weight * surface_readout_loss(
                self.readout, features, batch["gt_points"], batch["gt_normals"])
        total = sum(terms.values())
        if self.discriminator is not None:
            self.discriminator.requires_grad_(False)
            fake_logits = self.discriminator(fake)
            self.discriminator.requires_grad_(True)
            adv = losses.generator_gan_loss(fake_logits, cfg.modified_loss, self.smoothing)
            terms["adversarial"] = self.weights.adversarial * adv
            total = total + terms["adversarial"]
        self.opt_g.zero_grad(set_to_none=True)
        self.accelerator.backward(total)
        self.opt_g.step()
        log.update({f"g_{k}": float(torch.as_tensor(v).detach()) for k, v in terms.items()},
                   g_total=float(total.detach()))
        if not all(torch.isfinite(torch.tensor(v)) for v in log.values()):
            raise FloatingPointError(f"non-finite loss at step {self.step}: {log}")
        return log

    # --- the loop ----------------------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainResult:
        existing = self.checkpoints()
        if existing and not resume:
            raise FileExistsError(f"{self.out_dir} already holds checkpoints; pass --resume to continue, or choose "
                                  "another --out (nothing was overwritten)")
        if resume and existing:
            self.load_checkpoint(existing[-1])
        start, wall0 = self.step, time.perf_counter()
        bar = progress_bar(total=self.cfg.steps, initial=self.step, desc=f"train {self.cfg.model}", unit="step",
                           enabled=self.progress)
        for assembled in self.batches_from(self.step):
            log = self.train_step(assembled)
            self.logs.append(log)
            self.step += 1
            bar.update(1)
            bar.set_postfix(g=f"{log['g_total']:.4f}", d=f"{log.get('d_loss', float('nan')):.3f}")
            if self.step % self.cfg.checkpoint_every == 0 or self.step == self.cfg.steps:
                self.save_checkpoint()
        bar.close()
        wall = time.perf_counter() - wall0
        steps_run = self.step - start
        summary = {"config": self.cfg.to_dict(), "steps": self.step, "steps_this_run": steps_run,
                   "wall_time_s": round(wall, 2),
                   "samples_per_s": round(steps_run * self.cfg.batch_size / wall, 2) if steps_run else None,
                   "device": str(self.accelerator.device)}
        self._write_outputs(summary)
        return TrainResult(self.out_dir, self.accelerator.unwrap_model(self.generator), self.logs, summary)

    def _write_outputs(self, summary: dict[str, Any]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        gen = self.accelerator.unwrap_model(self.generator)
        final = {"config": self.cfg.to_dict(), "generator": gen.state_dict()}
        tmp = self.out_dir / "generator.pt.tmp"
        torch.save(final, tmp)
        os.replace(tmp, self.out_dir / "generator.pt")
        with open(self.out_dir / "log.csv.tmp", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.logs)
        os.replace(self.out_dir / "log.csv.tmp", self.out_dir / "log.csv")
        for name, data in (("log.json", self.logs), ("summary.json", summary)):
            (self.out_dir / f"{name}.tmp").write_text(json.dumps(data))
            os.replace(self.out_dir / f"{name}.tmp", self.out_dir / name)


def load_generator(path: Path | str) -> tuple[MeshGenerator, TrainConfig]:
    """A trained generator from ``generator.pt`` (final weights + config), in eval mode."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        cfg = TrainConfig.from_dict(state["config"])
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable facerecon generator ({type(err).__name__}: {err})") from None
    generator, _ = build_models(cfg)
    generator.load_state_dict(state["generator"])
    return generator.eval(), cfg
