"""``facerecon reconstruct``: photos to meshes (Algorithm 1); ``facerecon ship-model``: write the shipped model.

    facerecon reconstruct IMAGE... --out DIR [--model PATH] [--format obj|ply] [--no-denoise]

For each photo, into DIR: ``<stem>.obj`` (or ``.ply``), the mesh in the photo's pixels (x right, y down, z towards
the camera, scaled like x); ``<stem>.json``, ``{"image", "box": [x0, y0, x1, y1], "landmarks68" (read on the
mesh), "detector_landmarks68" (MediaPipe's), "denoiser", "model", "ms"}``; ``<stem>_overlay.png``. A photo that
cannot be read or holds no face is reported with its reason; the others are still processed, and the exit
status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="3D face meshes from photos (Algorithm 1)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", type=Path,
                   help="JPEG or PNG photos, one face each (with several, the one MediaPipe reports)")
    p.add_argument("--out", type=Path, required=True, help="folder for the meshes, records and overlays")
    p.add_argument("--model", type=Path, help="a .safetensors model, a generator.pt from `facerecon train`, or a "
                                               "run-cache model folder (default: the shipped model)")
    p.add_argument("--format", choices=("obj", "ply"), default="obj", help="mesh file format (default obj)")
    p.add_argument("--no-denoise", action="store_true", help="skip Algorithm 1 step 1 (blind denoising)")
    p.set_defaults(handler=_reconstruct)

    s = sub.add_parser("ship-model", help="write a run-cache model entry as the shipped safetensors model")
    s.add_argument("entry", type=Path, help="a run-cache `model` entry folder (e.g. chapter 05's ours)")
    s.add_argument("--out", type=Path, help="output .safetensors (default: the package's assets)")
    s.add_argument("--profile", default="cpu", help="the profile the entry was trained under")
    s.add_argument("--scores", type=Path, help="a results JSON whose Table 3 row `ours` is stored with the model")
    s.set_defaults(handler=_ship)


def _reconstruct(args) -> int:
    from tqdm.auto import tqdm

    from ..photo.files import read_photo, write_outputs
    from ..photo.pipeline import PhotoReconstructor
    from ..photo.shipped import SHIPPED_MODEL, photo_calibration
    from ..training.model_files import load_model

    model = load_model(args.model or SHIPPED_MODEL)   # load errors end the command: nothing was computed yet
    framing, ranking = photo_calibration(model)
    reconstructor = PhotoReconstructor(model, framing, None if args.no_denoise else ranking)
    model_name = str(args.model or SHIPPED_MODEL.name)
    failed = 0
    progress = tqdm(args.images, unit="photo", disable=len(args.images) < 3 or bool(os.environ.get("TQDM_DISABLE")))
    for path in progress:
        try:
            image = read_photo(path)
            paths = write_outputs(args.out, path, image, reconstructor(image), model_name, args.format)
        except (ValueError, OSError) as err:
            failed += 1
            message = str(err) if str(path) in str(err) else f"{path}: {err}"
            print(f"facerecon reconstruct: error: {message}", file=sys.stderr)
            continue
        progress.write(f"{path} -> {paths['mesh']}")
    if failed:
        print(f"facerecon reconstruct: {failed} of {len(args.images)} photos failed", file=sys.stderr)
    return 1 if failed else 0


def _ship(args) -> int:
    import json

    from ..photo.shipped import SHIPPED_MODEL, ship_model

    scores = None
    if args.scores:
        table = json.loads(args.scores.read_text())["results"]["table"]
        scores = {"table3": [row for row in table if row["method"] == "ours"], "source": str(args.scores)}
    path = ship_model(args.entry, args.out or SHIPPED_MODEL, profile=args.profile, scores=scores)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {path.with_suffix('.json').name}")
    return 0
