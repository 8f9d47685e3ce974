"""Seeds and device, handled once: every notebook's setup cell calls :func:`setup`."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from .. import __version__
from .provenance import device_description, git_commit


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; returns a torch CPU generator seeded with ``seed``.

    Bitwise determinism holds on the same CPU build; across machines results agree within tolerance.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when available, else CPU. ``prefer`` ("cpu", "cuda", "auto" or None) overrides.

    Nothing in the project hard-codes ``cuda:0``: code takes the device this returns.
    """
    prefer = (prefer or os.environ.get("FACERECON_DEVICE") or "auto").lower()
    if prefer == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if prefer not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {prefer!r}")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but CUDA is not available; use 'auto' or 'cpu'")
    return torch.device(prefer)


@dataclass(frozen=True)
class Session:
    """What a notebook's setup cell resolved: profile, seed, device, and the generator to pass around."""

    profile: str
    seed: int
    device: torch.device
    generator: torch.Generator
    commit: str


def setup(profile: str, seed: int, device: str | None = None, quiet: bool = False) -> Session:
    """Seed everything, pick the device, and print version, commit, device and profile."""
    generator = seed_everything(seed)
    chosen = pick_device(device)
    commit = git_commit()
    if not quiet:
        print(f"facerecon {__version__} | commit {commit} | device {device_description(chosen)} | "
              f"profile {profile} | seed {seed} | torch {torch.__version__}")
    return Session(profile=profile, seed=seed, device=chosen, generator=generator, commit=commit)
