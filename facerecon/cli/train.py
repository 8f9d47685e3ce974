"""``facerecon train``: train a named mesh model under a profile's ``train`` settings."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a mesh model on SynthFace with a profile's settings")
    p.add_argument("--profile", default="auto", help="smoke, cpu, gpu or auto: its `train` section sets the run")
    p.add_argument("--model", required=True, help="full, vanilla_gan or no_gan")
    p.add_argument("--out", type=Path, required=True, help="folder for checkpoints, logs and final weights")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--steps", type=int, help="override the profile's number of steps")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    p.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--assembly-workers", type=int, help="worker processes that build batches ahead of the steps "
                   "(default: none on a CPU, up to 6 on a GPU; 0: inline)")
    p.set_defaults(handler=_run)


def _run(args) -> int:
    from ..data.generate import load_synthface
    from ..study.profiles import load_train_section, resolve_profile_name
    from ..training.batches import checked_assembly_workers
    from ..training.cached import run_config
    from ..training.trainer import Trainer

    if args.assembly_workers is not None:
        checked_assembly_workers(args.assembly_workers)      # refused before any data is built
    profile = resolve_profile_name(args.profile)
    section = load_train_section(profile, args.root)
    if args.steps is not None:
        section["steps"] = args.steps
    cfg, data = run_config(args.model, seed=args.seed, **section)
    train = load_synthface(data, progress=not args.no_progress, profile=profile)
    trainer = Trainer(cfg, train, args.out, progress=not args.no_progress, assembly_workers=args.assembly_workers)
    result = trainer.run(resume=args.resume)
    last = result.logs[-1]
    print(f"trained {cfg.model} ({cfg.architecture}) for {result.summary['steps']} steps under {profile}: "
          f"final G loss {last['g_total']:.5f}, {result.summary['samples_per_s']} samples/s -> {args.out}")
    return 0
