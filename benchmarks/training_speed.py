"""Benchmark: training throughput (samples/s) of the mesh models. Prints a table.

    python benchmarks/training_speed.py [--profile cpu] [--architecture A] [--batch B] [--steps 10] [--threads 2]
                                        [--device auto]

Trains each named model with the profile's ``train`` settings (architecture, prior, batch size, GT points, the
study options; ``--architecture``/``--batch`` override) for ``--steps`` steps on a small SynthFace split
(generated into the run cache on first use) after one warm-up step, and reports the median step time and samples
per second. Runs on CUDA too.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.profiles import load_train_section
from facerecon.training.config import NAMED_MODELS, named_config
from facerecon.training.trainer import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu", help="whose `train` section sets the run: smoke, cpu or gpu")
    parser.add_argument("--architecture", help="override: paper, cpu or smoke")
    parser.add_argument("--batch", type=int, help="override the profile's batch size")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n-train", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = load_train_section(args.profile)
    for key in ("n_train", "resolution", "steps", "checkpoint_every"):
        train.pop(key)
    train.update({k: v for k, v in (("architecture", args.architecture), ("batch_size", args.batch)) if v})
    data = load_synthface(SynthFaceConfig(split="train", n=args.n_train, seed=0, resolution=84), progress=False)
    rows = []
    for name in NAMED_MODELS:
        cfg = named_config(name, **train, steps=args.steps + 1, checkpoint_every=10 ** 9)
        with tempfile.TemporaryDirectory() as out:
            trainer = Trainer(cfg, data, out, progress=False, device=None if args.device == "auto" else args.device)
            sync = torch.cuda.synchronize if trainer.accelerator.device.type == "cuda" else (lambda: None)
            trainer.train_step()                       # warm-up
            times = []
            for _ in range(args.steps):
                trainer.step += 1
                start = time.perf_counter()
                trainer.train_step()
                sync()
                times.append(time.perf_counter() - start)
        step = statistics.median(times)
        rows.append((name, step * 1000, cfg.batch_size / step, str(trainer.accelerator.device)))
    print(f"profile {args.profile}: architecture {cfg.architecture}, prior {cfg.generator.prior}, batch {cfg.batch_size}, "
          f"GT points {cfg.gt_points}, torch threads {torch.get_num_threads()}")
    print(f"{'model':<12} {'ms/step':>10} {'samples/s':>10}  device")
    for name, ms, sps, device in rows:
        print(f"{name:<12} {ms:>10.1f} {sps:>10.2f}  {device}")


if __name__ == "__main__":
    main()
