"""Run profiles: one YAML per profile (``profiles/<name>.yaml``) with a section per notebook.

``smoke`` (CI, nbval: seconds per notebook), ``cpu`` (``make book`` without a GPU: about 30 minutes for the
whole book on 2 cores), ``gpu`` (paper scale, chosen automatically when CUDA is available).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROFILE_NAMES = ("smoke", "cpu", "gpu")
# Sections that are not notebooks: the profile's description, and `train` (read by `facerecon train`).
RESERVED_SECTIONS = ("description", "train")
TRAIN_KEYS = {"architecture", "prior", "landmarks", "landmark_shape", "fit_levels", "edge_on", "steps", "batch_size",
              "gt_points", "checkpoint_every", "n_train", "resolution", "adversarial_weight", "lr_generator",
              "lr_discriminator", "lr_shape_basis"}


def find_root(start: Path | str | None = None) -> Path:
    """The repository root: the first folder upwards from ``start`` (default: cwd) holding ``_toc.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "profiles").is_dir():
            return folder
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / "_toc.yml").is_file():
        return package_root
    raise FileNotFoundError(f"no facerecon checkout (a folder with _toc.yml and profiles/) above {here}; "
                            "run from the repository root or pass --root")


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
    unknown = sorted(set(section) - TRAIN_KEYS)
    missing = sorted({"n_train", "resolution"} - set(section))
    if unknown or missing:
        raise ValueError(f"{path} `train` section: unknown keys {unknown}, missing keys {missing}; "
                         f"allowed: {sorted(TRAIN_KEYS)}")
    return dict(section)
