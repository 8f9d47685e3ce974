"""Benchmark: what a user waits for. ``facerecon reconstruct`` in a fresh process on N photos, against a fresh
process that runs MediaPipe alone on the same photos, on an idle machine and beside a competing 2-thread process.
Prints a table.

    python benchmarks/reconstruct_fresh.py [--photos 16] [--threads 1 2] [--repeats 3] [--runtimes onnx torch]

Photos: the real AFLW2000-3D samples beside the project when present, the rest demo photos (SynthFace faces
drawn into 640×480 photos at several places). For each condition (idle, busy) and each ``--threads`` value it
times, as separate processes, ``facerecon reconstruct`` on 1 and on N photos and a MediaPipe-only script on N
photos (medians of ``--repeats``); start-up is the 1-photo wall minus one photo, per photo is the difference of the
two walls over N − 1. Each run uses the shipped model through ONNX Runtime (the default: no torch import) and,
for comparison, through torch (``--model ours_cpu.safetensors``). The target (issue 29): N = 16 photos within 4× MediaPipe alone, idle and busy. "Busy" is a
process that multiplies matrices on 2 threads for the whole measurement, as another job on a 2-core machine would.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEDIAPIPE_ALONE = """
import sys
import numpy as np
from PIL import Image
import mediapipe as mp
mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
found = 0
for path in sys.argv[1:]:
    found += mesh.process(np.asarray(Image.open(path).convert("RGB"))).multi_face_landmarks is not None
print(found)
"""

COMPETITOR = """
import torch
torch.set_num_threads(2)
a = torch.randn(1500, 1500)
while True:
    a = torch.tanh(a @ a / 1500)
"""


def _runtimes() -> dict[str, list[str]]:
    from facerecon.photo.shipped import SHIPPED_MODEL

    return {"onnx": [], "torch": ["--model", str(SHIPPED_MODEL)]}


RUNTIMES = _runtimes()


def write_photos(folder: Path, n: int, real_samples: Path) -> list[Path]:
    """``n`` photos of faces in ``folder``: the real samples first, then demo photos."""
    from PIL import Image

    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.landmarks.mediapipe68 import mediapipe_points
    from facerecon.photo.demo import demo_photo

    photos = sorted((real_samples / "AFLW2000").glob("*.jpg"))[:n] if real_samples.is_dir() else []
    test = load_synthface(SynthFaceConfig(split="test", n=8, seed=0, resolution=40), progress=False)
    found = [i for i in range(len(test)) if mediapipe_points(demo_photo(test.sample(i))[0]) is not None]
    k = 0
    while len(photos) < n:
        sample = test.sample(found[k % len(found)])
        photo, _ = demo_photo(sample, at=(60 + 40 * (k % 7), 40 + 20 * (k % 4)), seed=k)
        path = folder / f"demo{k:02d}.png"
        Image.fromarray(photo).save(path)
        photos.append(path)
        k += 1
    return photos


def wall(command: list[str]) -> float:
    """Seconds ``command`` took; exit status 1 is allowed (a photo without a face MediaPipe finds)."""
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--real-samples", type=Path, default=None)
    parser.add_argument("--runtimes", nargs="+", choices=sorted(RUNTIMES), default=sorted(RUNTIMES),
                        help="onnx: the default (the shipped model's ONNX export, no torch); torch: the same "
                             "model's safetensors through torch")
    args = parser.parse_args()
    from facerecon.study.paths import find_root

    real = args.real_samples or find_root().parent / "shared" / "real-samples"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos = [str(p) for p in write_photos(tmp, args.photos, real)]
        cli = [sys.executable, "-c", "import sys; from facerecon.cli import main; sys.exit(main())", "reconstruct",
               "--out", str(tmp / "out")]         # what the `facerecon` script runs
        print(f"{len(photos)} photos ({sum('AFLW' in p for p in photos)} real), medians of {args.repeats} fresh "
              "processes")
        print("| machine | model runtime | threads | MediaPipe alone, N photos (s) | reconstruct, N photos (s) | "
              "ratio (≤ 4) | start-up (s) | per photo (ms) |")
        print("|---|---|---|---|---|---|---|---|")
        for condition in ("idle", "busy"):
            competitor = (subprocess.Popen([sys.executable, "-c", COMPETITOR]) if condition == "busy" else None)
            try:
                time.sleep(2 if competitor else 0)
                alone = statistics.median(wall([sys.executable, "-c", MEDIAPIPE_ALONE, *photos])
                                          for _ in range(args.repeats))
                for runtime in args.runtimes:
                    for threads in args.threads:
                        flags = ["--threads", str(threads), *RUNTIMES[runtime]]
                        one = statistics.median(wall(cli + flags + photos[:1]) for _ in range(args.repeats))
                        all_ = statistics.median(wall(cli + flags + photos) for _ in range(args.repeats))
                        per_photo = (all_ - one) / (len(photos) - 1)
                        print(f"| {condition} | {runtime} | {threads} | {alone:.2f} | {all_:.2f} | "
                              f"{all_ / alone:.1f} | {one - per_photo:.2f} | {1000 * per_photo:.0f} |", flush=True)
            finally:
                if competitor is not None:
                    competitor.kill()
                    competitor.wait()


if __name__ == "__main__":
    main()
