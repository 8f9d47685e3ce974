"""Benchmark: generated image–mesh pairs per second for the augmentation's two generators. Prints a table.

    python benchmarks/generation_speed.py [--profile cpu] [--steps 5 10 25 50] [--batch 32] [--threads 2]
                                          [--repeats 3]

Builds the pixel DDIM and the LDM at the sizes of a profile's ``02_augmentation`` section (speed does not depend
on the weights, so they are not trained) and times, per DDIM step count, the whole making of a pair: an edit of a
SynthFace mesh, its geometry rendering, DDIM sampling (batches of ``--batch``), decoding and upsampling to the
113-pixel crop. Reports the median over ``--repeats`` as pairs per second and milliseconds per pair, and the
geometry rendering alone. Target (issue 16): none; the chapter reports what a budget buys.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from facerecon.augment.diffusion import DiffusionConfig, GeometryDiffusion
from facerecon.augment.edits import EditConfig, edit_sample
from facerecon.augment.geometry import geometry_maps
from facerecon.augment.pairs import to_crop
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.parameters import resolve_parameters
from facerecon.study.paths import find_root
from facerecon.study.profiles import load_profile
from facerecon.study.runner import list_notebooks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu", help="whose 02_augmentation section sets the sizes")
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 25, 50])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stem = "02_augmentation"
    root = find_root()
    p = resolve_parameters(list_notebooks(root)[stem], load_profile(args.profile, root).get(stem, {}), args.profile)
    data = load_synthface(SynthFaceConfig(split="train", n=args.batch, seed=0, resolution=p["resolution"]),
                          progress=False)
    samples = [data.sample(i) for i in range(args.batch)]
    size = p["gen_resolution"]

    def condition() -> torch.Tensor:
        rng = np.random.default_rng(0)
        edited = [edit_sample(s, data.model, "pose", EditConfig(), rng) for s in samples]
        return torch.stack([geometry_maps(s["vertices"], data.faces, size) for s in edited])

    start = time.perf_counter()
    geometry = condition()
    geometry_ms = 1000 * (time.perf_counter() - start) / args.batch
    print(f"profile {args.profile}: {size}×{size} generators, batches of {args.batch}, {torch.get_num_threads()} "
          f"threads, median of {args.repeats}; edit + geometry rendering alone: {geometry_ms:.1f} ms per pair "
          f"(mesh grid {p['resolution']})")
    print("| generator | parameters | DDIM steps | ms per pair | pairs per s |")
    print("|---|---|---|---|---|")
    for kind, channels in (("pixel", p["pixel_channels"]), ("latent", p["latent_channels"])):
        torch.manual_seed(0)
        model = GeometryDiffusion(DiffusionConfig(kind=kind, resolution=size, channels=tuple(channels),
                                                  ae_channels=tuple(p["ae_channels"])))
        parameters = sum(q.numel() for q in model.parameters())
        for k in args.steps:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                to_crop(model.sample(condition(), k, torch.Generator().manual_seed(0), args.batch))
                times.append((time.perf_counter() - start) / args.batch)
            ms = 1000 * statistics.median(times)
            print(f"| {kind} | {parameters / 1e6:.2f} M | {k} | {ms:.1f} | {1000 / ms:.1f} |")


if __name__ == "__main__":
    main()
