"""``facerecon data synth``, ``convert`` and ``demo-photo``: prepare data outside the notebooks."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="make SynthFace splits, convert real datasets, or write a demo photo")
    sub = p.add_subparsers(dest="data_command", required=True)
    synth = sub.add_parser("synth", help="generate a SynthFace split")
    synth.add_argument("--split", choices=["train", "test"], required=True,
                       help="train: 300W-LP-like poses; test: AFLW2000-3D-like poses, light and occluders")
    synth.add_argument("--n", type=int, required=True, help="number of faces")
    synth.add_argument("--seed", type=int, default=0, help="random seed of the split (default: 0)")
    synth.add_argument("--out", type=Path, required=True, help="folder to write the split into")
    synth.add_argument("--resolution", type=int, default=84, help="model grid (84 → 7,084 GT vertices)")
    synth.add_argument("--shard-size", type=int, default=1000, help="faces per shard file (default: 1000)")
    synth.add_argument("--workers", type=int, help="processes (default: one per core)")
    synth.add_argument("--overwrite", action="store_true", help="replace an existing split in --out")
    synth.add_argument("--no-progress", action="store_true", help="no progress bar")
    conv = sub.add_parser("convert", help="convert real 300W-LP / AFLW2000-3D folders")
    conv.add_argument("--dataset", choices=["300wlp", "aflw2000"], required=True, help="which dataset --root holds")
    conv.add_argument("--root", type=Path, required=True, help="the dataset's folder (its .jpg and .mat files)")
    conv.add_argument("--bfm", type=Path, help="face3d BFM.mat or 3DDFA Model_Shape.mat (dense GT meshes)")
    conv.add_argument("--out", type=Path, required=True, help="folder to write the converted split into")
    conv.add_argument("--skip-bad", action="store_true", help="skip and list unreadable samples")
    conv.add_argument("--overwrite", action="store_true", help="replace an existing split in --out")
    conv.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo = sub.add_parser("demo-photo", help="a photo-like PNG with a SynthFace face in it (to try reconstruct)")
    demo.add_argument("--out", type=Path, required=True, help="the PNG to write")
    demo.add_argument("--faces", type=int, default=8, help="SynthFace test faces to pick the most frontal from")
    p.set_defaults(handler=_run)


def _run(args) -> int:
    if args.data_command == "demo-photo":
        return _demo_photo(args)
    if args.data_command == "synth":
        from ..data.generate import generate_synthface
        from ..data.synthface import SynthFaceConfig

        cfg = SynthFaceConfig(split=args.split, n=args.n, seed=args.seed, resolution=args.resolution,
                              shard_size=args.shard_size)
        index = generate_synthface(cfg, args.out, workers=args.workers, progress=not args.no_progress,
                                   overwrite=args.overwrite)
        print(f"synthface {args.split}: {index['n']} samples, {index['mesh']['n_vertices']} GT vertices, "
              f"{index['samples_per_minute']:.0f} samples/min, yaw bins {index['yaw_bin_counts']} -> {args.out}")
        return 0
    from ..data.convert import convert_dataset

    index = convert_dataset(args.dataset, args.root, args.out, bfm_path=args.bfm, skip_bad=args.skip_bad,
                            overwrite=args.overwrite, progress=not args.no_progress)
    bad = index["bad_files"]
    print(f"{args.dataset}: {index['n']} samples converted, {len(bad)} skipped, mesh "
          f"{'yes' if index['mesh'] else 'absent (no BFM)'} -> {args.out}")
    for item in bad:
        print(f"  skipped {item['file']}: {item['error']}")
    return 0


def _demo_photo(args) -> int:
    from PIL import Image

    from ..data.generate import load_synthface
    from ..data.synthface import SynthFaceConfig
    from ..photo.demo import demo_face

    if args.out.suffix.lower() != ".png":
        raise ValueError(f"--out must be a .png file, got {args.out}")
    photo, _, index = demo_face(load_synthface(SynthFaceConfig(split="test", n=args.faces, seed=0, resolution=40),
                                               progress=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo).save(args.out)
    print(f"SynthFace test face {index} in a {photo.shape[1]}×{photo.shape[0]} photo -> {args.out}")
    return 0
