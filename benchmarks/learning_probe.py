"""Benchmark: how far a profile's full model gets below the mean face within a wall-clock budget. Prints a table.

    python benchmarks/learning_probe.py [--profile gpu] [--minutes 4] [--n-train 2000] [--eval-n 200]
                                        [--eval-every 100] [--device auto] [--workers N] [--lr-generator LR]

Trains the full model with the profile's ``train`` section (its architecture, batch, GT points, study options; the
training split shrunk to ``--n-train`` faces) for at most ``--minutes``, and every ``--eval-every`` steps scores
it on ``--eval-n`` SynthFace test faces (CD per point, 512 surface points, the Table 3 protocol) against the mean
face of the training split, paired on the same faces. ``--lr-generator`` replaces the profile's generator learning
rate (e.g. the one the Table 3 chapter chose on validation). A probe of what a budget buys (issue 14 asks what the `gpu`
profile changes against `cpu`), not a profile run: the profile trains longer on more faces.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

import numpy as np
import torch

from facerecon.comparison.predictors import MeanFace, generator_prediction
from facerecon.comparison.scoring import relative_reduction, score_faces
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.profiles import load_train_section
from facerecon.training.config import named_config
from facerecon.training.trainer import Trainer

EVAL_POINTS = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--eval-n", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--lr-generator", type=float, default=None, help="default: the profile's")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    section = load_train_section(args.profile)
    resolution = section.pop("resolution")
    for key in ("n_train", "steps", "checkpoint_every"):
        section.pop(key)
    if args.lr_generator is not None:
        section["lr_generator"] = args.lr_generator
    start = time.perf_counter()
    train = load_synthface(SynthFaceConfig(split="train", n=args.n_train, seed=0, resolution=resolution),
                           workers=args.workers, progress=False, profile=args.profile)
    test = load_synthface(SynthFaceConfig(split="test", n=args.eval_n, seed=0, resolution=resolution),
                          workers=args.workers, progress=False, profile=args.profile)
    faces, landmark_index = train.faces, train.model.landmark_index
    samples = [test.sample(i) for i in range(len(test))]
    mean_face = score_faces(MeanFace(np.stack([train.sample(i)["vertices"] for i in range(len(train))]), faces,
                                     landmark_index), samples, gt_faces=faces, points=EVAL_POINTS)["cd"]
    print(f"profile {args.profile}: data ready in {time.perf_counter() - start:.0f} s; {len(train)} training "
          f"faces, {len(samples)} test faces; mean face CD / point {mean_face.mean():.5f}", flush=True)
    cfg = named_config("full", **section, steps=10 ** 9, checkpoint_every=10 ** 9)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, train, out, progress=False, device=None if args.device == "auto" else args.device)
        device = trainer.accelerator.device
        generator = trainer.accelerator.unwrap_model(trainer.generator)
        landmark_uv = train.uv[landmark_index]
        print(f"architecture {cfg.architecture}, batch {cfg.batch_size}, generator learning rate {cfg.lr_generator:g}, "
              f"device {device}")
        print("| steps | samples seen | train time (s) | CD / point | below the mean face [95 %] |")
        print("|---|---|---|---|---|")
        trained_s, budget = 0.0, 60 * args.minutes
        batches = trainer.batches_from(0)              # one stream for the whole probe (worker processes on a GPU)
        while trained_s < budget:
            tick = time.perf_counter()
            for assembled in itertools.islice(batches, args.eval_every):
                trainer.train_step(assembled)
                trainer.step += 1
            if device.type == "cuda":
                torch.cuda.synchronize()
            trained_s += time.perf_counter() - tick
            cd = score_faces(generator_prediction(generator, landmark_uv, device), samples, gt_faces=faces,
                             points=EVAL_POINTS)["cd"]
            generator.train()
            r = relative_reduction(mean_face, cd)
            print(f"| {trainer.step} | {trainer.step * cfg.batch_size} | {trained_s:.0f} | {cd.mean():.5f} | "
                  f"{100 * r['mean']:.1f} % [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}] |", flush=True)


if __name__ == "__main__":
    main()
