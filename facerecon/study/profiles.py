"""Run profiles: one YAML per profile (``profiles/<name>.yaml``) with a section per notebook.

``smoke`` (CI, nbval: seconds per notebook), ``cpu`` (``make book`` without a GPU: a budget of 150 minutes for
the whole book on 2 cores), ``gpu`` (paper scale, chosen automatically when CUDA is available).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .paths import find_root

PROFILE_NAMES = ("smoke", "cpu", "gpu")
# Sections that are not notebooks: the profile's description, and `train` (read by `facerecon train`).
RESERVED_SECTIONS = ("description", "train")

def resolve_profile_name(name: str) -> str:
    """``auto`` → ``gpu`` when CUDA is available, else ``cpu``; other names are checked."""
    if name == "auto":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILE_NAMES)} or 'auto'")
    return name


def _read_profile(name: str, root: Path | None) -> tuple[Path, dict[str, Any]]:
    """The profile's file and its top-level mapping."""
    name = resolve_profile_name(name)
    path = (root or find_root()) / "profiles" / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"profile file {path} is missing (expected one YAML per profile in profiles/)")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of notebook sections, got {type(data).__name__}")
    return path, data


def load_profile(name: str, root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The profile's sections: ``{notebook_stem: {parameter: value}}``."""
    path, data = _read_profile(name, root)
    sections = {k: v for k, v in data.items() if k not in RESERVED_SECTIONS}
    for stem, section in sections.items():
        if not isinstance(section, dict):
            raise ValueError(f"{path}: section {stem!r} must be a mapping of parameter: value")
    return sections


def load_train_section(name: str, root: Path | None = None) -> dict[str, Any]:
    """The profile's ``train`` section (``facerecon train``): training settings and the training split."""
    path, data = _read_profile(name, root)
    section = data.get("train")
    if not isinstance(section, dict):
        raise ValueError(f"{path} has no `train` section (training settings for `facerecon train`)")
    # Its keys are checked where they are used: facerecon.training.config.TrainConfig.from_profile.
    return dict(section)
