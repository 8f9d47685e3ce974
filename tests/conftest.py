"""Shared fixtures: the repository root, the real-samples folder, and each chapter's smoke results."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

SESSION_START = time.time()

ROOT = Path(__file__).resolve().parent.parent
REAL_SAMPLES = ROOT.parent / "shared" / "real-samples"

os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def real_samples() -> Path:
    if not (REAL_SAMPLES / "AFLW2000").is_dir():
        pytest.skip(f"real samples folder {REAL_SAMPLES} is absent")
    return REAL_SAMPLES


@pytest.fixture(scope="session")
def smoke_run(root) -> str:
    """Every chapter executed under ``smoke`` once per test session, its results in ``_results/smoke/``.

    ``make test`` collects ``notebooks/`` before ``tests/``: nbval has then executed the committed chapters (whose
    parameters cells are the smoke values) and compared their outputs, and their results files are fresh. The
    book is then built from those notebooks, whose stored outputs nbval has just checked. Run alone, this fixture
    executes the chapters with papermill instead. Returns which of the two happened.
    """
    from facerecon.study.results import results_path
    from facerecon.study.runner import list_notebooks, run_notebooks, write_run_info

    notebooks = list_notebooks(root)
    fresh = [stem for stem in notebooks
             if results_path(stem, "smoke", root).is_file()
             and results_path(stem, "smoke", root).stat().st_mtime >= SESSION_START]
    if len(fresh) == len(notebooks):
        executed = root / "_executed"
        executed.mkdir(exist_ok=True)
        for stem, path in notebooks.items():
            shutil.copy2(path, executed / path.name)
        write_run_info(root, "smoke", [{"notebook": stem, "wall_time_s": float("nan")} for stem in notebooks])
        return "nbval"
    run_notebooks("smoke", root=root, progress=False)
    return "papermill"
