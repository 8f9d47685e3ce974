"""Benchmark: does a change to training keep its results? Trains (or reuses from the run cache) the ``cpu``
full model ("ours" of chapter 05: its learning rate) at several seeds and scores it on the same test faces.

    python benchmarks/equal_results.py score OUT.npz [--seeds 0 1 2] [--lr 6e-6] [--eval-n 200] [--points 512]
    python benchmarks/equal_results.py compare BEFORE.npz AFTER.npz

Run ``score`` in a checkout before the change and in one after it (the same data: the SynthFace splits come
from the run cache), then ``compare``: per seed and pooled, the paired difference after − before on the same
test faces with a 95 % interval over seeds and faces, and the training wall time per model. A speed-up keeps
results "equal within noise" when every interval holds 0 or is far below the seed-to-seed spread.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def score(args) -> None:
    from facerecon.comparison.predictors import generator_prediction
    from facerecon.comparison.scoring import score_faces
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.study.profiles import load_train_section
    from facerecon.training.cached import run_config, train_or_load

    torch.set_num_threads(args.threads)
    train = {**load_train_section("cpu"), "lr_generator": args.lr}
    test = load_synthface(SynthFaceConfig(split="test", n=1000, seed=0, resolution=train["resolution"]),
                          progress=False, profile="cpu")
    samples = [test.sample(i) for i in range(args.eval_n)]
    configs = {seed: run_config("full", seed=seed, **train) for seed in args.seeds}
    split = load_synthface(configs[args.seeds[0]][1], progress=False, profile="cpu")   # one split for every seed
    landmark_uv = split.uv[split.model.landmark_index]
    out: dict[str, np.ndarray] = {}
    for seed, (cfg, data) in configs.items():
        start = time.perf_counter()
        model = train_or_load(cfg, data, profile="cpu", progress=False)
        wall = model.summary.get("wall_time_s", time.perf_counter() - start)
        scores = score_faces(generator_prediction(model.generator, landmark_uv), samples,
                             gt_faces=test.faces, points=args.points)
        for key in ("cd", "emd", "nme2d"):
            out[f"{key}_seed{seed}"] = scores[key]
        out[f"wall_seed{seed}"] = np.array(wall)
        print(f"seed {seed}: CD {scores['cd'].mean():.6f} EMD {scores['emd'].mean():.5f} "
              f"NME2d {scores['nme2d'].mean():.3f}; training {wall:.0f} s ({'reused' if model.reused else 'trained'})",
              flush=True)
    np.savez(args.out, seeds=np.array(args.seeds), **out)


def compare(args) -> None:
    from facerecon.study.statistics import paired_difference, paired_difference_over_seeds

    before, after = np.load(args.before), np.load(args.after)
    seeds = [int(s) for s in before["seeds"]]
    if list(after["seeds"]) != seeds:
        raise ValueError(f"the two files score different seeds: {list(before['seeds'])} and {list(after['seeds'])}")
    print(f"{'metric':<7} {'seed':<6} {'before':>10} {'after':>10} {'after − before [95 % CI]':>34}")
    for key in ("cd", "emd", "nme2d"):
        a = np.stack([after[f"{key}_seed{s}"] for s in seeds])
        b = np.stack([before[f"{key}_seed{s}"] for s in seeds])
        for i, s in enumerate(seeds):
            d = paired_difference(a[i], b[i])
            print(f"{key:<7} {s:<6} {b[i].mean():>10.6f} {a[i].mean():>10.6f} {d['mean']:>+12.6f} "
                  f"[{d['ci95'][0]:+.6f}, {d['ci95'][1]:+.6f}]")
        d = paired_difference_over_seeds(a, b)
        spread = np.std(b.mean(1), ddof=1) if len(seeds) > 1 else float("nan")
        print(f"{key:<7} {'all':<6} {b.mean():>10.6f} {a.mean():>10.6f} {d['mean']:>+12.6f} "
              f"[{d['ci95'][0]:+.6f}, {d['ci95'][1]:+.6f}]  seed-to-seed sd before {spread:.6f}")
    walls = {name: [float(f[f"wall_seed{s}"]) for s in seeds] for name, f in (("before", before), ("after", after))}
    print("training wall time per model (s): " + json.dumps(walls)
          + f"; median ratio before/after {np.median(walls['before']) / np.median(walls['after']):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score")
    s.add_argument("out")
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    s.add_argument("--lr", type=float, default=6e-6, help="05's validated learning rate for ours at cpu")
    s.add_argument("--eval-n", type=int, default=200)
    s.add_argument("--points", type=int, default=512)
    s.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    args = parser.parse_args()
    score(args) if args.command == "score" else compare(args)


if __name__ == "__main__":
    main()
