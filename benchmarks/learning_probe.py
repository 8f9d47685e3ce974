"""Benchmark: how far a profile's model gets below the mean face within a wall-clock budget. Prints a table.

    python benchmarks/learning_probe.py [--profile gpu] [--model full] [--minutes 4] [--steps N] [--n-train 2000]
                                        [--eval-n 200] [--eval-every 100] [--on test|validation|train] [--device auto]
                                        [--eval-points 512] [--workers N] [--set KEY=VALUE ...]

Trains the named model with the profile's ``train`` section (its architecture, batch, GT points, study options; the
training split shrunk to ``--n-train`` faces; ``--set`` overrides any training key, YAML values, e.g. ``--set
lr_generator=1e-3 --set aggregation=mean``) for at most ``--minutes`` (or ``--steps``; a cosine schedule decays
over ``--steps``), and every ``--eval-every`` steps scores it on ``--eval-n`` faces of the Table 3 test split
(``--on validation``: the validation split, the training distribution at another seed; what a recipe should be
chosen on; ``--on train``: the first ``--eval-n`` training faces, which the model has seen: whether it fits at all)
in CD per point
against the mean face of the training split, paired on the same faces (``--eval-points`` per surface; 05 scores
1,024), and as the share of the CD above the
sampling floor (the GT against itself resampled) that it removes. Before and after, one Adam step on each part of
the generator is measured by how far it moves the output (``training.step_scales``). A probe of what a budget and a
recipe buy, not a profile run.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

import numpy as np
import torch

from facerecon.cli.book import parse_overrides
from facerecon.comparison.predictors import MeanFace, generator_prediction, sampling_floor
from facerecon.comparison.scoring import reductions_against, score_faces
from facerecon.data.generate import load_synthface
from facerecon.study.formatting import percent_interval
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.profiles import load_train_section
from facerecon.training.config import named_config
from facerecon.models.losses import vertex_loss
from facerecon.training.step_scales import output_step_scales
from facerecon.training.trainer import Trainer

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--eval-n", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-points", type=int, default=512, help="surface points per face in the score")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default="full", help="a named model: full, vanilla_gan, no_gan")
    parser.add_argument("--steps", type=int, default=None, help="train this many steps (default: until --minutes)")
    parser.add_argument("--on", choices=("validation", "test", "train"), default="test",
                        help="score on the test split, the validation split, or the first --eval-n training faces "
                             "(what the model has seen: whether it can fit at all)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training key (YAML value); repeatable")
    args = parser.parse_args()
    if args.on == "train" and args.eval_n > args.n_train:
        parser.error(f"--on train scores the first --eval-n training faces: at most --n-train ({args.n_train}), "
                     f"got --eval-n {args.eval_n}")
    if args.threads:
        torch.set_num_threads(args.threads)
    section = load_train_section(args.profile)
    resolution = section.pop("resolution")
    for key in ("n_train", "steps", "checkpoint_every"):
        section.pop(key)
    section.update(parse_overrides(args.set))
    start = time.perf_counter()
    train = load_synthface(SynthFaceConfig(split="train", n=args.n_train, seed=0, resolution=resolution),
                           workers=args.workers, progress=False, profile=args.profile)
    split = {"validation": ("train", 1), "test": ("test", 0), "train": ("train", 0)}[args.on]
    scored = load_synthface(SynthFaceConfig(split=split[0], n=args.eval_n, seed=split[1], resolution=resolution),
                            workers=args.workers, progress=False, profile=args.profile)
    faces, landmark_index = train.faces, train.model.landmark_index
    samples = [scored.sample(i) for i in range(len(scored))]
    mean_face = score_faces(MeanFace(np.stack([train.sample(i)["vertices"] for i in range(len(train))]), faces,
                                     landmark_index), samples, gt_faces=faces, points=args.eval_points)["cd"]
    floor = score_faces(sampling_floor(faces), samples, gt_faces=faces,
                        points=args.eval_points)["cd"]
    print(f"profile {args.profile}: data ready in {time.perf_counter() - start:.0f} s; {len(train)} training "
          f"faces, {len(samples)} {args.on} faces; mean face CD / point {mean_face.mean():.5f}, sampling floor "
          f"{floor.mean():.5f}", flush=True)
    steps = args.steps or 10 ** 9
    cfg = named_config(args.model, **section, steps=steps, checkpoint_every=10 ** 9)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, train, out, progress=False, device=None if args.device == "auto" else args.device)
        device = trainer.accelerator.device
        generator = trainer.accelerator.unwrap_model(trainer.generator)
        landmark_uv = train.uv[landmark_index]
        print(f"{args.model}, architecture {cfg.architecture}, batch {cfg.batch_size}, generator learning rate "
              f"{cfg.lr_generator:g}, device {device}; overrides {parse_overrides(args.set)}")
        probe_batch, _ = trainer.assemble_batch(0)
        print_step_scales("before training", generator, probe_batch, cfg.lr_generator)
        print("| steps | samples seen | train time (s) | CD / point | below the mean face [95 %] | "
              "of the CD above the floor [95 %] |")
        print("|---|---|---|---|---|---|")
        trained_s, budget = 0.0, 60 * args.minutes
        batches = trainer.batches_from(0)              # one stream for the whole probe (worker processes on a GPU)
        while trained_s < budget and trainer.step < steps:
            tick = time.perf_counter()
            for assembled in itertools.islice(batches, min(args.eval_every, steps - trainer.step)):
                trainer.train_step(assembled)
                trainer.step += 1
            if device.type == "cuda":
                torch.cuda.synchronize()
            trained_s += time.perf_counter() - tick
            cd = score_faces(generator_prediction(generator, landmark_uv, device), samples, gt_faces=faces,
                             points=args.eval_points)["cd"]
            generator.train()
            shares = reductions_against(mean_face, cd, floor)
            print(f"| {trainer.step} | {trainer.step * cfg.batch_size} | {trained_s:.0f} | {cd.mean():.5f} | "
                  f"{percent_interval(shares['raw'])} | {percent_interval(shares['above_floor'])} |", flush=True)
        print_step_scales("after training", generator, probe_batch, cfg.lr_generator)


def print_step_scales(when: str, generator, batch: dict, lr: float) -> None:
    """One Adam step of size ``lr`` on each part of the generator: how far it moves the output (crop pixels)."""
    loss = lambda meshes: vertex_loss(meshes[-1], batch["real_meshes"]).mean()   # noqa: E731
    scales = output_step_scales(generator, batch["images"], batch["landmarks"], loss, lr)
    print(f"one step of {lr:g} moves the output, {when} (px RMS): "
          + ", ".join(f"{part} {px:.3g}" for part, px in scales.items()), flush=True)


if __name__ == "__main__":
    main()
