"""Benchmark: generator/discriminator forward time and the metrics' speed. Prints a table.

    python benchmarks/model_speed.py [--config paper] [--threads 2] [--repeats 20] [--scaling 1 2 4 8 16]

Targets (issue 5): paper-layout generator forward at batch 1 on 2 CPU cores <= 150 ms; exact EMD on 2,048
points per pair <= 1 s; Chamfer on 7,001 x 7,001 points <= 50 ms. Issue 15: batching must pay, for the `paper`
and the `cpu` layouts: per image, the forward and a training step (forward and backward of the Chamfer term
against 1,024 points, and an Adam update) at batch 16 take at most half of batch 1's. Runs on CUDA too when
available.

Measured on 2 CPU cores (AMD EPYC, AVX2), ms per image, before (`b528a59`) → after (`16448e6`: the first graph layer
of each block reads its input as parts, the encoder channels-last, one distance matrix for both Chamfer terms):

=====================  ======================  =====================  ======================  =====================
layout                 forward, batch 1        forward, batch 16      train step, batch 1     train step, batch 16
=====================  ======================  =====================  ======================  =====================
``paper``              158.9 → 171.5           296.1 → 282.3          495.9 → 532.4           941.5 → 804.1
``cpu``                39.3 → 39.6             39.7 → 28.2            132.9 → 138.7           134.4 → 79.4
=====================  ======================  =====================  ======================  =====================

Batch 16 / batch 1 per image: ``cpu`` forward 1.01 → 0.71, training step 1.01 → 0.57; ``paper`` 1.86 → 1.65 and
1.90 → 1.51. Neither meets the target of 0.50 yet.

Then (``701bd9c`` → the ``cpu`` stem at stride 2, k-d tree nearest neighbours; ``--config cpu --repeats 8``):
``cpu`` forward 26.5 → 18.0 ms/image at batch 1, 25.1 → 11.9 at batch 16 (ratio 0.95 → 0.66); training step
95.5 → 98.5 at batch 1, 72.3 → 42.5 at batch 16 (ratio 0.76 → **0.43**, the target met). ``paper`` (unchanged
layout): forward 102 / 199 ms per image (ratio 1.95), training step 308 / 603 (1.96): at batch 16 the paper
layout's element-wise and sparse work over 16 × 7,001 × 128 activations is memory-bound on 2 cores; on one H200
the ratios are 0.10 and 0.08 (``results/gpu/benchmarks/``).

Why batching does not pay on 2 CPU cores (``--scaling``, ``results/cpu/benchmarks/batch_scaling_cpu.txt``): per
image, the *encoder* gets faster with the batch while its activations fit the 32 MiB last-level cache (``cpu``
layout: 9.0 → 3.0 ms from batch 1 to 8; ``paper``: 53.6 → 32.7 ms at batch 4, 18 MB per activation) and slower again
once they do not (``paper`` at 8 and 16: 44.8 and 60.2 ms, 36 and 72 MB). The *decoder* (generator − encoder) does not
get faster at all (``paper`` 109 → 158 ms per image from batch 1 to 16, ``cpu`` 11–16 ms at every batch): its work is
per vertex, each image's features are read and written once per layer and the weights it could share across images
are small, so a batch adds bytes in proportion to its size. It is most of the generator's time, so the forward's
per-image time cannot halve with the batch on this hardware without changing the model; on a GPU, where batch 1 is
bound by kernel launches, it falls to a tenth.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from facerecon.mesh.frame import CROP_SIZE
from facerecon.metrics import chamfer_distance, earth_movers_distance
from facerecon.models.losses import chamfer_terms
from facerecon.models.architectures import build, get_architecture
from facerecon.study.runtime import pick_device


def random_inputs(batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Generator inputs of random values: ``images (B, 3, 113, 113)`` in [0, 1), ``landmarks (B, 68, 2)`` in crop
    pixels."""
    images = torch.rand(batch, 3, CROP_SIZE, CROP_SIZE, device=device)
    return images, torch.rand(batch, 68, 2, device=device) * CROP_SIZE


def timed(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="paper")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scaling", type=int, nargs="+", metavar="BATCH",
                        help="instead: the encoder's and the whole generator's forward time per image at these "
                             "batch sizes (where batching stops paying)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    generator, discriminator = build(get_architecture(args.config))
    generator.to(device).eval()
    discriminator.to(device).eval()
    if args.scaling:
        scaling_table(generator, args.scaling, args.repeats, device, sync)
        return
    rows, forward = [], {}
    with torch.no_grad():
        for batch in (1, 16):
            images, landmarks = random_inputs(batch, device)
            t = timed(lambda: generator(images, landmarks), args.repeats if batch == 1 else max(3, args.repeats // 4), sync)
            forward[batch] = t / batch
            rows.append((f"generator forward, batch {batch}", f"{1000 * t / batch:.1f} ms/image",
                         f"{batch / t:.1f} images/s"))
            meshes = generator(images, landmarks)[-1]
            if batch > 1:
                t = timed(lambda: discriminator(meshes), args.repeats, sync)
                rows.append((f"discriminator forward, batch {batch}", f"{1000 * t / batch:.2f} ms/mesh",
                             f"{batch / t:.1f} meshes/s"))
    generator.train()
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-6)
    per_image = {}
    for batch in (1, 16):
        images, landmarks = random_inputs(batch, device)
        gt = torch.rand(batch, 1024, 3, device=device)

        def step():
            d_pg, d_gp, _ = chamfer_terms(generator(images, landmarks)[-1], gt)
            optimizer.zero_grad(set_to_none=True)
            (d_pg + d_gp).mean().backward()
            optimizer.step()
        per_image[batch] = timed(step, max(3, args.repeats // 4), sync) / batch
        rows.append((f"generator training step, batch {batch}", f"{1000 * per_image[batch]:.1f} ms/image",
                     f"{1 / per_image[batch]:.1f} images/s"))
    rows.append(("training step: batch 16 / batch 1", f"{per_image[16] / per_image[1]:.2f} per image",
                 "target <= 0.50"))
    rows.insert(3, ("forward: batch 16 / batch 1", f"{forward[16] / forward[1]:.2f} per image", "target <= 0.50"))
    rng = np.random.default_rng(0)
    p, q = rng.random((2048, 3)), rng.random((2048, 3))
    t = timed(lambda: earth_movers_distance(p, q), 3)
    rows.append(("exact EMD, 2,048 x 2,048 points", f"{1000 * t:.0f} ms", "target <= 1000 ms"))
    p, q = rng.random((7001, 3)), rng.random((7001, 3))
    t = timed(lambda: chamfer_distance(p, q), 10)
    rows.append(("Chamfer, 7,001 x 7,001 points", f"{1000 * t:.1f} ms", "target <= 50 ms"))
    print(f"config {args.config}, device {device}, torch threads {torch.get_num_threads()}")
    print(f"| {'what':<36} | {'time':>16} | {'rate':>20} |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 22}|")
    for what, time_s, rate in rows:
        print(f"| {what:<36} | {time_s:>16} | {rate:>20} |")


@torch.no_grad()
def scaling_table(generator, batches: list[int], repeats: int, device: torch.device, sync) -> None:
    """Forward time per image of the encoder alone and of the whole generator (eval mode) at each batch size, with
    the largest encoder activation per batch (MB, float32): where it outgrows the last-level cache, per-image time
    stops falling with the batch (the working set streams from memory)."""
    print(f"device {device}, torch threads {torch.get_num_threads()}")
    print("| batch | largest encoder activation (MB) | encoder ms/image | generator ms/image |")
    print("|---|---|---|---|")
    for batch in batches:
        images, landmarks = random_inputs(batch, device)
        largest = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: largest.append(out.numel() * 4 / 2 ** 20))
                 for m in generator.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
        generator.encoder(images)
        for hook in hooks:
            hook.remove()
        runs = max(3, repeats // batch)
        encoder = timed(lambda: generator.encoder(images), runs, sync) / batch
        whole = timed(lambda: generator(images, landmarks), runs, sync) / batch
        print(f"| {batch} | {max(largest):.1f} | {1000 * encoder:.1f} | {1000 * whole:.1f} |", flush=True)


if __name__ == "__main__":
    main()
