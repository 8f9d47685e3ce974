"""Benchmark: generated image–mesh pairs per second for the augmentation's two generators. Prints a table.

    python benchmarks/generation_speed.py [--profile cpu] [--steps 5 10 25 50] [--batch 32] [--threads 2]
                                          [--repeats 3] [--device auto]

Builds the pixel DDIM and the LDM at the sizes of a profile's ``02_augmentation`` section (speed does not depend
on the weights, so they are not trained) and times, per DDIM step count, the whole making of a pair: an edit of a
SynthFace mesh, its geometry rendering, DDIM sampling (batches of ``--batch``), decoding and upsampling to the
113-pixel crop. Reports the median over ``--repeats`` as pairs per second and milliseconds per pair, the
geometry rendering alone, and each generator's training step (the denoiser at the profile's ``diffusion_batch``,
and the latent model's autoencoder), from which a profile's training time follows. Runs on CUDA too. Target
(issue 16): none; the chapter reports what a budget buys.
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
from facerecon.study.runtime import pick_device
from facerecon.study.runner import list_notebooks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu", help="whose 02_augmentation section sets the sizes")
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 25, 50])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
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
    print(f"profile {args.profile}: {size}×{size} generators, batches of {args.batch}, device {device}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}; edit + geometry rendering alone: "
          f"{geometry_ms:.1f} ms per pair (mesh grid {p['resolution']})")
    print("| generator | parameters | DDIM steps | ms per pair | pairs per s |")
    print("|---|---|---|---|---|")
    training = []
    for kind, channels in (("pixel", p["pixel_channels"]), ("latent", p["latent_channels"])):
        torch.manual_seed(0)
        model = GeometryDiffusion(DiffusionConfig(kind=kind, resolution=size, channels=tuple(channels),
                                                  ae_channels=tuple(p["ae_channels"]))).to(device)
        parameters = sum(q.numel() for q in model.parameters())
        for k in args.steps:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                to_crop(model.sample(condition(), k, torch.Generator().manual_seed(0), args.batch))
                times.append((time.perf_counter() - start) / args.batch)
            ms = 1000 * statistics.median(times)
            print(f"| {kind} | {parameters / 1e6:.2f} M | {k} | {ms:.1f} | {1000 / ms:.1f} |")
        training += training_steps(model, kind, p, device, sync, args.repeats)
    print("| training | batch | ms per step | steps per s |")
    print("|---|---|---|---|")
    for what, batch, ms in training:
        print(f"| {what} | {batch} | {ms:.1f} | {1000 / ms:.1f} |")


def training_steps(model, kind: str, p: dict, device, sync, repeats: int) -> list[tuple[str, int, float]]:
    """Median milliseconds of one AdamW step of the denoiser (and of the autoencoder) at the profile's batch."""
    import torch.nn.functional as F

    batch = p["diffusion_batch"]
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, model.cfg.resolution, model.cfg.resolution, device=device)
    geometry = model.condition(torch.rand(batch, 4, model.cfg.resolution, model.cfg.resolution, device=device))
    with torch.no_grad():
        x0 = model.encode(images)
    losses = {f"{kind} denoiser": (model.unet, lambda: model.denoising_loss(x0, geometry, generator))}
    if model.autoencoder is not None:
        ae = model.autoencoder
        losses["latent autoencoder"] = (ae, lambda: F.mse_loss(ae(images * 2 - 1).sample, images * 2 - 1))
    rows = []
    for what, (module, loss_of_step) in losses.items():
        module.train()
        opt = torch.optim.AdamW(module.parameters(), lr=1e-4)
        times = []
        for i in range(repeats + 1):                  # the first is a warm-up
            start = time.perf_counter()
            loss = loss_of_step()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sync()
            times.append(time.perf_counter() - start)
        rows.append((what, batch, 1000 * statistics.median(times[1:])))
        module.eval()
    return rows


if __name__ == "__main__":
    main()
