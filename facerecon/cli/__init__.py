"""The ``facerecon`` command line.

    facerecon run-notebooks --profile {auto,smoke,cpu,gpu} [--only STEM ...]
    facerecon build-book [--no-strict]
    facerecon check-offline [DIR]
    facerecon check-kernels test|derive|write [--settings native avx2] [--seeds 1 2 3]
    facerecon data synth|convert|demo-photo ...
    facerecon info [--config paper|cpu|smoke] [--json]
    facerecon train --profile P --model NAME --out DIR [--resume]
    facerecon reconstruct PHOTO... --out DIR [--model PATH] [--format obj|ply] [--no-denoise] [--threads N]
    facerecon export-onnx MODEL --out FILE.onnx
    facerecon ship-model ENTRY [--out PATH] [--scores RESULTS_JSON]

Each command module adds its sub-parser(s) and handler in ``add_commands``; this module wires them explicitly.
Nothing in the package imports the command line.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import book, data, info, kernels, reconstruct, train

COMMAND_MODULES = (book, data, info, kernels, reconstruct, train)
DESCRIPTION = ("facerecon: a reproducible study of GCN-GAN 3D face reconstruction from one photo (Fathallah et al., "
               "Sensors 2024): run its chapters, train its models, and reconstruct faces from your photos.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facerecon", description=DESCRIPTION,
                                     epilog="`facerecon COMMAND --help` explains a command and its options.")
    parser.add_argument("--version", action="version", version=f"facerecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError, RuntimeError, FloatingPointError) as err:
        print(f"facerecon {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
