"""``facerecon reconstruct``: photos to meshes (Algorithm 1); ``facerecon export-onnx``: a model for it without
torch; ``facerecon ship-model``: write the shipped model.

Everything ``reconstruct`` is told is checked before MediaPipe or the model is loaded: a missing photo, a folder
given as a photo or an unusable ``--out`` is reported at once. The shipped model runs through ONNX Runtime, so
the command never imports torch unless ``--model`` names a torch model.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

RECONSTRUCT_HELP = """\
Reconstruct a 3D face mesh from each photo (the paper's Algorithm 1: MediaPipe finds the face and its 68
landmarks, the face is cropped and, if noisy, denoised, and the model deforms its face mesh).

For each photo PHOTO.jpg it writes into the --out folder:
  PHOTO.obj (or .ply)   the mesh in the photo's pixels: x right, y down, z towards the camera, scaled like x
  PHOTO.json            the face box, the 68 landmarks read on the mesh and MediaPipe's, the denoiser used,
                        the model and the time taken
  PHOTO_overlay.jpg     the face region of the photo with the mesh and its landmarks drawn on it

Two photos with the same name in different folders (a/face.jpg, b/face.jpg) do not overwrite each other: the
second is written as face-2.*, the third face-3.*, and so on (the JSON record names its photo). A photo that
cannot be read, or in which no face is found, is reported with the reason; the others are still written, and
the exit status is 1 when any photo failed.

example:
  facerecon reconstruct photos/*.jpg --out meshes
"""


DEFAULT_THREADS = 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reconstruct", help="3D face meshes from photos (Algorithm 1)", description=RECONSTRUCT_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", type=Path, metavar="PHOTO",
                   help="JPEG, PNG or any image file Pillow reads, one face each (with several faces, the one "
                        "MediaPipe is most confident about)")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for the meshes, records and overlays (created if missing; existing files of "
                        "the same names are replaced)")
    p.add_argument("--model", type=Path, help="the model to use: an .onnx file from `facerecon export-onnx` "
                                               "(fastest: runs without torch), a .safetensors file, a generator.pt "
                                               "from `facerecon train`, or a run-cache model folder (default: the "
                                               "model shipped with facerecon, through ONNX Runtime)")
    p.add_argument("--format", choices=("obj", "ply"), default="obj", help="mesh file format (default: obj)")
    p.add_argument("--no-denoise", action="store_true",
                   help="skip the denoising step (Algorithm 1 step 1); by default a noisy crop is denoised")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"CPU threads for the model (default: {DEFAULT_THREADS}; the model is small: two threads "
                        "gain little on an idle machine and made each photo 4-5× slower on one busy with other "
                        "work, see the photos chapter)")
    p.set_defaults(handler=_reconstruct)

    e = sub.add_parser("export-onnx", help="export a trained model for `reconstruct --model` without torch",
                       description="Export a trained generator to ONNX: `facerecon reconstruct --model OUT.onnx` "
                                   "then runs it with ONNX Runtime and never imports torch (about 1 s less per "
                                   "call). The mesh is the torch model's up to float rounding.")
    e.add_argument("model", type=Path, help="a .safetensors file, a generator.pt from `facerecon train`, or a "
                                            "run-cache model folder")
    e.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    e.set_defaults(handler=_export)

    s = sub.add_parser("ship-model", help="write a trained model as the model `reconstruct` uses by default",
                       description="Write a run-cache model entry as the shipped safetensors model (for "
                                   "maintainers: the package's default model for `facerecon reconstruct`).")
    s.add_argument("entry", type=Path, help="a run-cache `model` entry folder (e.g. chapter 05's ours)")
    s.add_argument("--out", type=Path, help="output .safetensors (default: the package's assets)")
    s.add_argument("--profile", default="cpu", help="the profile the entry was trained under (default: cpu)")
    s.add_argument("--scores", type=Path, help="a results JSON whose Table 3 row `ours` is stored with the model")
    s.set_defaults(handler=_ship)


class UsageError(ValueError):
    """An argument that makes the whole command pointless (nothing was computed)."""


def check_out_folder(out: Path) -> None:
    """Create ``out`` if missing and make sure a file can be written there; :class:`UsageError` if not."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder: give a folder for the outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {out}: cannot create the folder ({err.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: the folder is not writable")


def output_stems(images: list[Path]) -> list[str]:
    """The output name of each photo: its stem, and ``stem-2``, ``stem-3``, ... for later photos whose stem (case
    ignored, for case-insensitive file systems) was already taken."""
    taken: set[str] = set()
    stems = []
    for path in images:
        stem, k = path.stem, 1
        while stem.lower() in taken:
            k += 1
            stem = f"{path.stem}-{k}"
        taken.add(stem.lower())
        stems.append(stem)
    return stems


def check_photo(path: Path) -> str | None:
    """Why ``path`` cannot be a photo (a missing file, a folder), or None; reading it comes later."""
    if path.is_dir():
        return f"{path}: is a folder, not a photo (give the photos inside it, e.g. {path}/*.jpg)"
    if not path.is_file():
        return f"{path}: image file not found"
    return None


def _error(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(f"facerecon reconstruct: error: {message}", file=sys.stderr)   # never onto a progress bar's line


def _reconstruct(args) -> int:
    try:
        check_out_folder(args.out)
        if args.model is not None and not args.model.exists():
            raise UsageError(f"--model {args.model}: file not found")
        if args.threads < 1:
            raise UsageError(f"--threads must be at least 1, got {args.threads}")
    except UsageError as err:
        print(f"facerecon reconstruct: error: {err}", file=sys.stderr)
        return 2
    jobs = []
    failed = 0
    for path, stem in zip(args.images, output_stems(args.images)):
        problem = check_photo(path)
        if problem:
            _error(problem)
            failed += 1
        else:
            jobs.append((path, stem))
    if not jobs:
        print(f"facerecon reconstruct: {failed} of {len(args.images)} photos failed", file=sys.stderr)
        return 1

    from tqdm.auto import tqdm

    from ..photo.files import read_photo, write_outputs
    from ..photo.pipeline import PhotoReconstructor
    from ..photo.shipped import load_photo_model, photo_calibration

    model = load_photo_model(args.model, args.threads)   # load errors end the command: nothing was computed yet
    framing, ranking = photo_calibration(model)
    reconstructor = PhotoReconstructor(model, framing, None if args.no_denoise else ranking)
    model_name = str(args.model or model.path.name)
    progress = tqdm(jobs, unit="photo", disable=len(jobs) < 3 or bool(os.environ.get("TQDM_DISABLE")))
    for path, stem in progress:
        try:
            image = read_photo(path)
            paths = write_outputs(args.out, path, image, reconstructor(image), model_name, args.format, stem=stem)
        except (ValueError, OSError) as err:
            failed += 1
            _error(str(err) if str(path) in str(err) else f"{path}: {err}")
            continue
        progress.write(f"{path} -> {paths['mesh']}")
    if failed:
        print(f"facerecon reconstruct: {failed} of {len(args.images)} photos failed", file=sys.stderr)
    return 1 if failed else 0


def _export(args) -> int:
    from ..models.onnx_runtime import ONNX_SUFFIX
    from ..photo.shipped import export_model_file

    if not args.model.exists():
        print(f"facerecon export-onnx: error: {args.model}: model not found", file=sys.stderr)
        return 2
    if args.out.suffix != ONNX_SUFFIX:
        print(f"facerecon export-onnx: error: --out {args.out}: the file name must end in {ONNX_SUFFIX}",
              file=sys.stderr)
        return 2
    path = export_model_file(args.model, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


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
