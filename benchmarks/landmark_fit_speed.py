"""Benchmark: ms per face of 05's landmark 3DMM fit, single-threaded (the study's) against the caller's threads.
Prints a table.

    python benchmarks/landmark_fit_speed.py [--profile cpu] [--faces 40] [--repeats 3]

Fits PCA-100 of the profile's 05 training split (its first 300 meshes) to ``--faces`` SynthFace training faces at
05's ``fit_iterations``, ``--repeats`` interleaved rounds of each mode, and reports the median ms per face. "threaded"
replaces :func:`facerecon.study.threads.single_threaded` by a no-op, so torch and OpenBLAS keep the caller's
threads (2 on the study's machine); the answers of the two modes are compared too (they differ only in the last
bits). Measured on 2 cores (AMD EPYC, 20 alternations; `results/cpu/benchmarks/landmark_fit_speed_cpu.txt`):
163 ms a face threaded, 57 ms single-threaded.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

import facerecon.data.landmark_information as information
from facerecon.comparison.predictors import LandmarkShapeFit
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.profiles import load_profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--faces", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = load_profile(args.profile)["05_table3_comparison"]
    train = load_synthface(SynthFaceConfig(split="train", n=params["n_train"], seed=0,
                                           resolution=params["resolution"]), progress=False)
    meshes = np.stack([train.sample(i)["vertices"] for i in range(min(300, len(train)))])
    iterations = params.get("fit_iterations", 20)
    fit = LandmarkShapeFit(meshes, train.faces, train.model.landmark_index, k=100, lam=1.0, iterations=iterations)
    faces = [train.sample(len(train) - 1 - i) for i in range(args.faces)]
    modes = {"single-threaded": information.single_threaded, "threaded": contextlib.nullcontext}
    times, answers = {mode: [] for mode in modes}, {}
    for _ in range(args.repeats):
        for mode, context in modes.items():
            information.single_threaded = context
            start = time.perf_counter()
            answers[mode] = [fit(face).vertices for face in faces]
            times[mode].append(1000 * (time.perf_counter() - start) / len(faces))
    information.single_threaded = modes["single-threaded"]
    largest = max(np.abs(a - b).max() for a, b in zip(*answers.values()))
    print(f"profile {args.profile}: {args.faces} faces, {iterations} alternations, PCA-100 of {len(meshes)} meshes; "
          f"largest difference between the modes {largest:.2e} crop px")
    print(f"{'mode':<16} {'ms/face':>8}")
    for mode, values in times.items():
        print(f"{mode:<16} {statistics.median(values):>8.1f}")


if __name__ == "__main__":
    main()
