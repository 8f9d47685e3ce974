"""Where the study lives: the repository root, and the folders a run writes below it."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent   # facerecon/


def find_root(start: Path | str | None = None) -> Path:
    """The repository root: the first folder upwards from ``start`` (default: cwd) holding ``_toc.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "profiles").is_dir():
            return folder
    package_root = PACKAGE_DIR.parent
    if (package_root / "_toc.yml").is_file():
        return package_root
    raise FileNotFoundError(f"no facerecon checkout (a folder with _toc.yml and profiles/) above {here}; "
                            "run from the repository root or pass --root")


def results_dir(root: Path | None = None) -> Path:
    """``$FACERECON_RESULTS``, default ``_results/`` at the repository root."""
    return Path(os.environ.get("FACERECON_RESULTS", (root or find_root()) / "_results"))


def cache_dir() -> Path:
    """``$FACERECON_CACHE`` if set, else ``_cache/`` at the repository root (the current folder outside one)."""
    if "FACERECON_CACHE" in os.environ:
        return Path(os.environ["FACERECON_CACHE"]).resolve()
    try:
        return find_root() / "_cache"
    except FileNotFoundError:
        return Path("_cache").resolve()


def relative_to_root(path: Path | str, root: Path | None = None) -> str:
    """``path`` relative to the repository root when it lies below it (committed results carry no machine
    paths), else as given."""
    path = Path(path).resolve()
    try:
        return path.relative_to((root or find_root()).resolve()).as_posix()
    except (ValueError, FileNotFoundError):
        return path.as_posix()
