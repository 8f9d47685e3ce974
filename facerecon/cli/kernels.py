"""``facerecon check-kernels``: the tests under the CPU's own float kernels and under the AVX2 settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..study.kernel_settings import KERNEL_SETTINGS


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-kernels", help="run the tests, or derive the smoke references, under several "
                                             "float-kernel settings (as other CPUs would compute)")
    p.add_argument("action", choices=("test", "derive", "write"),
                   help="test: `make test` once per setting, each with its own run cache, and both summaries; "
                        "derive: execute every chapter under smoke in the runs the tolerances come from, then "
                        "write tests/smoke_reference/ (about 5 min per run); write: only the last step, from "
                        "the runs kept in _kernels/")
    p.add_argument("--settings", nargs="+", default=list(KERNEL_SETTINGS), choices=list(KERNEL_SETTINGS),
                   help="kernel settings for `test` (default: all)")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3],
                   help="the extra training seeds of `derive` (default: 1 2 3)")
    p.add_argument("--reuse", action="store_true",
                   help="`derive`: keep the chapters a run already executed in _kernels/ (resume)")
    p.add_argument("--only", nargs="+", metavar="STEM",
                   help="`derive`, `write`: these chapters only (e.g. 09_photos); the other references stay")
    p.add_argument("--root", type=Path, help="repository root (default: found from the current folder)")
    p.set_defaults(handler=_check_kernels)


def _check_kernels(args) -> int:
    from ..study.kernels import run_derivation, run_tests, write_references
    from ..study.paths import find_root

    root = args.root or find_root()
    if args.action == "test":
        records = run_tests(root, args.settings)
        print("\n| kernels | exit | time | pytest summary |\n|---|---|---|---|")
        for r in records:
            print(f"| {r['setting']} | {r['exit_code']} | {r['wall_time_s']:.0f} s | {r['summary']} |")
        return 0 if all(r["exit_code"] == 0 for r in records) else 1
    if args.action == "derive":
        run_derivation(root, args.seeds, reuse=args.reuse, only=args.only)
    rows = write_references(root, args.seeds, only=args.only)
    print("\n| chapter | leaves | numbers at the rounding floor | numbers with a measured spread | exact | varies "
          "| machine or provenance | cells whose outputs vary |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['notebook']} | {r['leaves']} | {r['numbers at the floor']} | {r['numbers with a spread']} "
              f"| {r['exact']} | {r['varies']} | {r['machine']} | {r['cells that vary']} |")
    return 0
