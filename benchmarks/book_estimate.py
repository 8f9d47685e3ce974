"""Benchmark: the training time a profile's book needs, from the models a finished run trained. Prints a table.

    python benchmarks/book_estimate.py CACHE --profile gpu --step-ms full=105 vanilla_gan=105 no_gan=72
                                       [--extra vanilla_gan=1] [--subsets 6] [--processes 1]

Every mesh model a book trains is one entry of its run cache (chapters share models through the cache, so each
is counted once): this reads the ``model`` entries of ``CACHE`` (e.g. a `cpu` book's, made from an empty cache),
maps each to ``--profile``'s training length (its ``train`` section's ``steps``; a model of 02's augmentation
subsets to its ``aug_steps``), adds ``--extra`` models the profile trains beyond that run (e.g. `gpu`'s third seed
in 07), and multiplies by a measured time per step of each named model (``--step-ms``: e.g. the H200's, with 6
batch-building processes, in ``results/gpu/benchmarks/training_speed_workers_gpu.txt``), divided among
``--processes`` models trained at once (their measured throughput, not an assumption: give 1 unless measured).
Training only: data generation, the denoisers, the diffusion models and scoring come on top.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from facerecon.study.profiles import load_profile, load_train_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cache", type=Path, help="a run cache holding a finished book's models")
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--step-ms", nargs="+", required=True, metavar="MODEL=MS")
    parser.add_argument("--extra", nargs="*", default=[], metavar="MODEL=COUNT")
    parser.add_argument("--subsets", type=int, default=0, help="02's augmentation-subset models beyond the cache's")
    parser.add_argument("--processes", type=float, default=1.0, help="measured speed-up of training at once")
    args = parser.parse_args()
    step_ms = {k: float(v) for k, v in (s.split("=") for s in args.step_ms)}
    sections = load_profile(args.profile)
    main_steps, aug_steps = load_train_section(args.profile)["steps"], sections["02_augmentation"]["aug_steps"]
    run_steps = Counter()
    for manifest in sorted((args.cache / "model").glob("*/manifest.json")):
        config = json.loads(manifest.read_text())["config"]
        augmented = "augmented_split" in config.get("data", {})
        run_steps[(config["train"]["model"], "02 subsets" if augmented else "chapters")] += 1
    if args.subsets:
        run_steps[("full", "02 subsets")] += args.subsets
    for pair in args.extra:
        name, count = pair.split("=")
        run_steps[(name, "chapters")] += int(count)
    print(f"profile {args.profile}: steps {main_steps} (02's subsets {aug_steps}), models from {args.cache}, "
          f"{args.processes:g}× for training at once")
    print("| model | where | models | steps each | ms / step | hours |\n|---|---|---|---|---|---|")
    total = 0.0
    for (name, where), count in sorted(run_steps.items()):
        steps = aug_steps if where == "02 subsets" else main_steps
        hours = count * steps * step_ms[name] / 1000 / 3600 / args.processes
        total += hours
        print(f"| {name} | {where} | {count} | {steps:,} | {step_ms[name]:g} | {hours:.1f} |")
    print(f"\n{sum(run_steps.values())} models, {total:.1f} hours of training")


if __name__ == "__main__":
    main()
