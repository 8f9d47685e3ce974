"""``facerecon info``: the architecture of a named configuration, as the code builds it."""

from __future__ import annotations

import argparse
import json


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="shapes, vertex counts, parameters and FLOPs of an architecture")
    p.add_argument("--config", default="paper", help="architecture name: paper (default), cpu, smoke")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_run)


def _run(args) -> int:
    from ..models.architectures import summary

    info = summary(args.config)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"architecture {info['architecture']}: input {info['input']}, stem {info['encoder']['stem']}")
    for k, shape in enumerate(info["encoder"]["stages"], 1):
        print(f"  encoder stage {k}: {shape}")
    for k, level in enumerate(info["mesh_levels"]):
        print(f"  mesh level {k}: {level['vertices']:,} vertices, {level['faces']:,} faces")
    print(f"  discriminator GCN-block width: {info['discriminator']['gcn_block_width']}")
    for part in ("encoder", "decoder", "discriminator"):
        print(f"  {part}: {info['parameters'][part]:,} parameters, "
              f"{info['flops_per_image'][part] / 1e9:.3f} GFLOPs per image")
    return 0
