"""Benchmark: SynthFace generation speed and peak memory. Prints a table.

    python benchmarks/synthface_speed.py [--n 2000] [--workers 2] [--resolution 84]

Target (issue 3): >= 2,000 samples per minute on 2 CPU cores at 113x113 with the gpu profile's mesh density
(resolution 84: 7,084 GT vertices); memory bounded however many samples (shards are streamed to disk).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from facerecon.data.generate import generate_synthface
from facerecon.data.synthface import SynthFaceConfig, synthface_model


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--resolution", type=int, default=84)
    parser.add_argument("--shard-size", type=int, default=500)
    args = parser.parse_args()
    rows = []
    for split in ("train", "test"):
        cfg = SynthFaceConfig(split=split, n=args.n, seed=0, resolution=args.resolution, shard_size=args.shard_size)
        synthface_model(cfg)  # build the model outside the timing
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            index = generate_synthface(cfg, Path(tmp) / "data", workers=args.workers, progress=False)
            wall = time.perf_counter() - start
        rows.append((split, args.n, index["mesh"]["n_vertices"], wall, 60 * args.n / wall))
    print(f"workers {args.workers}, image 113x113, supersample 2, shard size {args.shard_size}")
    print("| split | samples | GT vertices | wall (s) | samples/min |")
    print("|---|---|---|---|---|")
    for split, n, v, wall, rate in rows:
        print(f"| {split} | {n:,} | {v:,} | {wall:.1f} | {rate:,.0f} |")
    print(f"peak resident memory of one process: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
