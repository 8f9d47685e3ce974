"""``facerecon run-notebooks``, ``build-book`` and ``check-offline``: executing and rendering the book."""

from __future__ import annotations

import argparse
from pathlib import Path



def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run-notebooks", help="execute the chapters under a profile")
    p.add_argument("--profile", default="auto", help="smoke, cpu, gpu, or auto (gpu when CUDA is available)")
    p.add_argument("--only", nargs="+", metavar="STEM", help="notebook stems, e.g. 00_data")
    p.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter in every selected notebook on top of the profile (VALUE is read as YAML: "
                        "-p seed=1 -p 'seeds=[0, 1]'); a name a notebook does not declare is an error")
    p.add_argument("--no-progress", action="store_true", help="no progress bar while executing")
    p.add_argument("--store-smoke-outputs", action="store_true",
                   help="execute the chapters in place with their smoke parameters and keep the outputs: the "
                        "reference nbval compares (commit the notebooks afterwards)")
    p.set_defaults(handler=_run_notebooks)

    p = sub.add_parser("build-book", help="strict build of the executed chapters")
    p.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    p.add_argument("--no-strict", action="store_true", help="without -W -n --keep-going")
    p.add_argument("--reference", metavar="PROFILE",
                   help="build the reader's book from the committed pages of PROFILE (results/PROFILE/pages/) into "
                        "_reader/_build/html, running nothing")
    p.set_defaults(handler=_build_book)

    p = sub.add_parser("store-reference", help="copy the chapters' last runs under a profile (results and executed "
                                               "pages) into results/PROFILE/ for the reader's book")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--only", nargs="+", metavar="STEM", help="chapter stems (default: every chapter)")
    p.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    p.set_defaults(handler=_store_reference)

    p = sub.add_parser("check-offline", help="fail if a built page loads JS/CSS from the internet")
    p.add_argument("html_dir", nargs="?", type=Path, default=Path("_build/html"),
                   help="the built book's HTML folder (default: _build/html)")
    p.set_defaults(handler=_check_offline)


def _run_notebooks(args) -> int:
    from ..study.runner import run_notebooks, store_smoke_outputs   # here: papermill is slow to import

    if args.store_smoke_outputs:
        for path in store_smoke_outputs(args.root, args.only):
            print(f"stored smoke outputs in {path}")
        return 0
    records = run_notebooks(args.profile, args.only, args.root, progress=not args.no_progress,
                            overrides=parse_overrides(args.parameter))
    for r in records:
        print(f"{r['notebook']}: {r['wall_time_s']:.1f} s under {r['profile']} -> {r['results']}")
    return 0


def parse_overrides(pairs: list[str]) -> dict:
    """``["seed=1", "seeds=[0, 1]", "lr=2e-3"]`` → ``{"seed": 1, "seeds": [0, 1], "lr": 0.002}`` (values read as
    YAML; a number YAML 1.1 reads as text, such as ``2e-3`` without a dot, is read as the number it is)."""
    import yaml

    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"-p {pair!r}: expected NAME=VALUE with a parameter name, e.g. -p seed=1")
        overrides[name.strip()] = _number_if_numeric(yaml.safe_load(value))
    return overrides


def _number_if_numeric(value):
    """``"2e-3"`` (YAML 1.1 needs ``2.0e-3`` for a float) → ``0.002``; lists element-wise; anything else as is."""
    if isinstance(value, list):
        return [_number_if_numeric(v) for v in value]
    if isinstance(value, str):
        try:
            return float(value) if value.strip().lower() not in ("nan", "inf", "-inf", "infinity") else value
        except ValueError:
            return value
    return value


def _build_book(args) -> int:
    from ..study.book import build_book

    if args.reference:
        from ..study.reference_pages import assemble_reader_book

        root = assemble_reader_book(args.reference, args.root)
    else:
        root = args.root
    print(f"book built: {build_book(root, strict=not args.no_strict)}")
    return 0


def _store_reference(args) -> int:
    from ..study.reference_pages import store_reference

    for path in store_reference(args.profile, args.root, args.only):
        print(f"stored {path}")
    return 0


def _check_offline(args) -> int:
    from ..study.book import external_assets

    hits = external_assets(args.html_dir)
    for page, url in hits:
        print(f"{page}: loads {url}")
    print(f"{len(hits)} external JS/CSS references in {args.html_dir}")
    return 1 if hits else 0
