"""Benchmark: training throughput (samples/s) of the mesh models. Prints a table.

    python benchmarks/training_speed.py [--profile cpu] [--architecture A] [--batch B] [--steps 10] [--threads 2]
                                        [--device auto] [--models full ...] [--workers auto 0 6 ...]

Trains each named model with the profile's ``train`` settings (architecture, prior, batch size, GT points, the
study options; ``--architecture``/``--batch`` override) for ``--steps`` steps on a small SynthFace split
(generated into the run cache on first use) after one warm-up step, and reports the median step time and samples
per second. Steps go through the trainer's own loop (``Trainer.batches_from``), so a step's time includes waiting
for its batch; ``--workers`` gives the numbers of worker processes that build batches ahead, one row each (0:
inline; ``auto``: the trainer's choice, none on a CPU and up to 6 on a GPU). Runs on CUDA too.

Issue 15 asked for training twice as fast at equal results. Measured on 2 CPU cores (AMD EPYC, a shared host whose
timings move by ±20 % between runs), ``--steps 20``, ms per step at batch 8 (median of three interleaved runs of
each), before (``701bd9c``) → after (the ``cpu`` architecture's stem at stride 2, nearest neighbours from k-d
trees):

=============  ==============  ===========
model          ms/step          speed-up
=============  ==============  ===========
full           805 → 546        1.47×
vanilla_gan    900 → 535        1.68×
no_gan         765 → 433        1.77×
=============  ==============  ===========

The target of 2× is not met for the full model. Per step after the change (full, ~575 ms by parts): generator
backward ~220, forward ~130, discriminator update ~85 (+ ~15 on the fakes for the generator), batch assembly ~60
(the morphable model's shapes and the GT surface samples), reconstruction terms ~60. Building batches ahead gains
nothing on 2 cores (it competes with the step for them): on a CPU the trainer builds them inline.

On a GPU the step is bound by batch assembly on the CPU. One H200 with 16 cores, ``--profile gpu --device cuda
--threads 8 --steps 20 --workers 0 2 6`` (``results/gpu/benchmarks/training_speed_workers_gpu.txt``), ms per step:
full 221 / 165 / 105, no GAN 160 / 103 / 72 with 0 / 2 / 6 worker processes (2.1× and 2.2×); a thread building the
next batch instead had made the full model's step slower (208 against 162 ms inline). On the 2,000-face split of
a real run (``benchmarks/learning_probe.py``) the gain was only about 1.15× (``results/README.md``).

``benchmarks/equal_results.py`` shows the CPU speed-up did not move the scores
(``results/cpu/benchmarks/equal_results.txt``); worker processes build the same batches as inline, to the bit
(``tests/test_training.py``'s resume test).
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
    parser.add_argument("--models", nargs="+", default=list(NAMED_MODELS), choices=list(NAMED_MODELS),
                        help="which named models to time (default: all)")
    parser.add_argument("--workers", nargs="+", default=[None], type=workers_argument,
                        help="worker processes building batches ahead, one row per value (0: inline; auto: the "
                             "trainer's choice)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = load_train_section(args.profile)
    for key in ("n_train", "resolution", "steps", "checkpoint_every"):
        train.pop(key)
    train.update({k: v for k, v in (("architecture", args.architecture), ("batch_size", args.batch)) if v})
    data = load_synthface(SynthFaceConfig(split="train", n=args.n_train, seed=0, resolution=84), progress=False)
    rows = []
    for name in args.models:
        cfg = named_config(name, **train, steps=args.steps + 1, checkpoint_every=10 ** 9)
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as out:
                trainer = Trainer(cfg, data, out, progress=False, device=None if args.device == "auto" else args.device,
                                  assembly_workers=workers)
                times = time_steps(trainer)
            step = statistics.median(times)
            rows.append((name, trainer.assembly_workers, step * 1000, cfg.batch_size / step,
                         str(trainer.accelerator.device)))
    print(f"profile {args.profile}: architecture {cfg.architecture}, prior {cfg.generator.prior}, batch {cfg.batch_size}, "
          f"GT points {cfg.gt_points}, torch threads {torch.get_num_threads()}")
    print(f"{'model':<12} {'workers':>7} {'ms/step':>10} {'samples/s':>10}  device")
    for name, workers, ms, sps, device in rows:
        print(f"{name:<12} {workers:>7} {ms:>10.1f} {sps:>10.2f}  {device}")


def workers_argument(text: str) -> int | None:
    """``auto`` (None: the trainer's choice) or a whole number of worker processes."""
    if text == "auto":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"--workers takes 'auto' or whole numbers >= 0, got {text!r}")
    return int(text)


def time_steps(trainer: Trainer) -> list[float]:
    """Seconds per step after one warm-up step, each from the end of the previous step to the end of this one
    (so waiting for a batch counts), through the trainer's loop."""
    sync = torch.cuda.synchronize if trainer.accelerator.device.type == "cuda" else (lambda: None)
    times, last = [], None
    for assembled in trainer.batches_from(0):
        trainer.train_step(assembled)
        sync()
        trainer.step += 1
        now = time.perf_counter()
        if last is not None:                           # step 0 is the warm-up
            times.append(now - last)
        last = now
    return times


if __name__ == "__main__":
    main()
