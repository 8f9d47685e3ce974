"""Benchmark: ``facerecon reconstruct`` end to end per photo, model loaded, by stage. Prints a table.

    python benchmarks/reconstruct_speed.py [--model PATH] [--threads 2] [--repeats 10] [--real-samples DIR]

Target (issue 17): at most 150 ms per photo on 2 CPU cores for the shipped model, from the decoded photo to the
mesh in its pixels (MediaPipe detection, crop, Algorithm 1 step 1, the generator). Photos: the demo photo (a
SynthFace face in a 640×480 image), the same with Gaussian noise (step 1 then denoises) and, when present, the
real AFLW2000-3D samples (450×450).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from facerecon.comparison.robustness import noisy_images
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.photo.demo import demo_face
from facerecon.photo.files import read_photo
from facerecon.photo.pipeline import TARGET_MS_PER_PHOTO, PhotoReconstructor
from facerecon.photo.shipped import SHIPPED_MODEL, photo_calibration
from facerecon.study.paths import find_root
from facerecon.training.model_files import load_model

TARGET_MS = TARGET_MS_PER_PHOTO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--real-samples", type=Path, default=find_root().parent / "shared" / "real-samples")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    framing, ranking = photo_calibration(model)
    photos = {"demo photo 640×480": demo_face(load_synthface(
        SynthFaceConfig(split="test", n=8, seed=0, resolution=40), progress=False))[0]}
    photos["demo photo, Gaussian noise σ 0.1"] = noisy_images(photos["demo photo 640×480"][None], 0.1)[0]
    for path in sorted((args.real_samples / "AFLW2000").glob("*.jpg"))[:3]:
        photos[f"AFLW2000 {path.stem} 450×450"] = read_photo(path)
    print(f"model {args.model.name} ({sum(p.numel() for p in model.generator.parameters()) / 1e6:.2f} M parameters), "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"| photo | step 1 | detect ms | crop ms | denoise ms | model ms | total ms | ≤ {TARGET_MS:.0f} ms |")
    print("|---|---|---|---|---|---|---|---|")
    for denoise in (True, False):
        reconstructor = PhotoReconstructor(model, framing, ranking if denoise else None)
        for name, photo in photos.items():
            reconstructor(photo)                      # warm-up: MediaPipe's graph, the first forward
            runs = [reconstructor(photo) for _ in range(args.repeats)]
            stages = {k: statistics.median(r.stage_ms[k] for r in runs) for k in runs[0].stage_ms}
            total = statistics.median(r.ms for r in runs)
            print(f"| {name} | {runs[0].denoiser} | " + " | ".join(f"{stages[k]:.1f}" for k in
                  ("detect", "crop", "denoise", "model")) + f" | {total:.1f} | {'yes' if total <= TARGET_MS else 'NO'} |")


if __name__ == "__main__":
    main()
