"""The ``facerecon`` command line.

    facerecon run-notebooks --profile {auto,smoke,cpu,gpu} [--only STEM ...]
    facerecon build-book [--no-strict]
    facerecon check-offline [DIR]
    facerecon data synth|convert ...
    facerecon info [--config paper|cpu|smoke] [--json]
    facerecon train --profile P --model NAME --out DIR [--resume]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

COMMANDS: dict[str, Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {}


def command(name: str):
    """Register ``fn(subparser) -> handler`` as the sub-command ``name``."""
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


@command("run-notebooks")
def _run_notebooks(p: argparse.ArgumentParser):
    p.add_argument("--profile", default="auto", help="smoke, cpu, gpu, or auto (gpu when CUDA is available)")
    p.add_argument("--only", nargs="+", metavar="STEM", help="notebook stems, e.g. 00_data")
    p.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    p.add_argument("--no-progress", action="store_true")

    def run(args):
        from .notebooks import run_notebooks

        records = run_notebooks(args.profile, args.only, args.root, progress=not args.no_progress)
        for r in records:
            print(f"{r['notebook']}: {r['wall_time_s']:.1f} s under {r['profile']} -> {r['results']}")
        return 0
    return run


@command("build-book")
def _build_book(p: argparse.ArgumentParser):
    p.add_argument("--root", type=Path)
    p.add_argument("--no-strict", action="store_true", help="without -W -n --keep-going")

    def run(args):
        from .book import build_book

        index = build_book(args.root, strict=not args.no_strict)
        print(f"book built: {index}")
        return 0
    return run


@command("check-offline")
def _check_offline(p: argparse.ArgumentParser):
    p.add_argument("html_dir", nargs="?", type=Path, default=Path("_build/html"))

    def run(args):
        from .book import external_assets

        hits = external_assets(args.html_dir)
        for page, url in hits:
            print(f"{page}: loads {url}")
        print(f"{len(hits)} external JS/CSS references in {args.html_dir}")
        return 1 if hits else 0
    return run


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="facerecon", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"facerecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, configure in COMMANDS.items():
        sp = sub.add_parser(name)
        sp.set_defaults(handler=configure(sp))
    return parser


def main(argv: list[str] | None = None) -> int:
    # Sub-command modules register themselves on import.
    from . import cli_data, cli_models, cli_train  # noqa: F401

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError, RuntimeError, FloatingPointError) as err:
        print(f"facerecon {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
