"""Provenance of every stored result: profile, parameters, commit, versions, device, seed, wall time."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

from .paths import PACKAGE_DIR


# The packages whose versions change results; recorded with every result.
TRACKED_PACKAGES = (
    "facerecon", "torch", "numpy", "scipy", "scikit-image", "torch-geometric", "diffusers",
    "accelerate", "mediapipe", "trimesh", "bm3d",
)


def git_commit(path: Path | str | None = None) -> str:
    """The commit of the checkout holding ``path`` (default: this package), with ``+dirty`` if modified.

    Returns ``"unknown"`` outside a git checkout (an installed wheel, a tarball).
    """
    cwd = Path(path) if path is not None else PACKAGE_DIR
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``"not installed"`` for a missing one)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def code_version() -> str:
    """A hash of the whole package's source (the run cache keys on finer hashes: :mod:`.codehash`)."""
    digest = hashlib.sha256()
    for file in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(file.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def device_description(device: Any = None) -> str:
    """A human-readable name of ``device`` (a ``torch.device`` or string), e.g. ``cpu (2 threads)``."""
    import torch

    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def provenance(*, profile: str, params: dict[str, Any], seed: int | None, device: Any = None,
               wall_time_s: float | None = None, **extra: Any) -> dict[str, Any]:
    """The provenance record stored beside every result."""
    return {
        "profile": profile,
        "params": params,
        "seed": seed,
        "git_commit": git_commit(),
        "code_version": code_version(),
        "versions": package_versions(),
        "device": device_description(device),
        "wall_time_s": wall_time_s,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
