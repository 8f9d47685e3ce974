"""Each notebook's machine-readable results: ``_results/<profile>/<stem>.json``, with provenance.

Tests and the claims chapter read these files; numbers in the book's prose are glued from the same values.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .paths import relative_to_root, results_dir
from .provenance import provenance


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, Path):  # committed results carry no machine paths
        return relative_to_root(value)
    if hasattr(value, "item") and callable(value.item):  # 0-d tensors
        return _jsonable(value.item())
    return value


def results_path(stem: str, profile: str, root: Path | None = None) -> Path:
    """``$FACERECON_RESULTS/<profile>/<stem>.json``, default ``_results/`` at the repository root."""
    return results_dir(root) / profile / f"{stem}.json"


def save_results(stem: str, results: dict[str, Any], *, params: dict[str, Any], seed: int | None,
                 wall_time_s: float | None = None, device: Any = None, root: Path | None = None) -> Path:
    """Write a notebook's results with provenance (atomically); returns the path."""
    profile = params.get("profile", "smoke")
    path = results_path(stem, profile, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"notebook": stem, "results": _jsonable(results),
              "provenance": provenance(profile=profile, params=_jsonable(params), seed=seed, device=device,
                                       wall_time_s=wall_time_s)}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return path


def load_results(stem: str, profile: str, root: Path | None = None) -> dict[str, Any]:
    path = results_path(stem, profile, root)
    if not path.is_file():
        raise FileNotFoundError(f"no results for {stem} under profile {profile!r} at {path}; run "
                                f"`facerecon run-notebooks --profile {profile} --only {stem}` first")
    return json.loads(path.read_text())
