"""Shared fixtures: the repository root, the real-samples folder, and each chapter's smoke results."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

SESSION_START = time.time()

ROOT = Path(__file__).resolve().parent.parent
REAL_SAMPLES = ROOT.parent / "shared" / "real-samples"

os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """A test that runs `facerecon reconstruct` in-process sets torch's thread count (``--threads``, 1 by default);
    later tests that recompute a chapter's number to 1e-9 must run with the threads the chapters ran with."""
    import sys

    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    yield
    if threads is not None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def has_real_samples() -> bool:
    """Whether the real samples lie beside the project (the chapters then show them)."""
    return (REAL_SAMPLES / "AFLW2000").is_dir()


@pytest.fixture
def real_samples() -> Path:
    if not (REAL_SAMPLES / "AFLW2000").is_dir():
        pytest.skip(f"real samples folder {REAL_SAMPLES} is absent")
    return REAL_SAMPLES


@pytest.fixture(scope="session")
def smoke_run(root) -> str:
    """Every chapter executed under ``smoke`` once per test session, its results in ``_results/smoke/``.

    ``make test`` collects ``notebooks/`` before ``tests/`` with the ``facerecon.study.nbval_pages`` plugin: nbval
    has then executed the committed chapters (whose parameters cells are the smoke values) and compared their
    outputs, their results files are fresh, and the plugin has written this run's executed chapters and their
    times to ``_executed/`` for the book. Run alone, this fixture executes the chapters with papermill instead.
    Returns which of the two happened.
    """
    from facerecon.study.results import results_path
    from facerecon.study.runner import list_notebooks, run_notebooks

    def fresh(path):
        return path.is_file() and path.stat().st_mtime >= SESSION_START

    notebooks = list_notebooks(root)
    if all(fresh(results_path(stem, "smoke", root)) and fresh(root / "_executed" / path.name)
           for stem, path in notebooks.items()):
        return "nbval"
    run_notebooks("smoke", root=root, progress=False)
    return "papermill"
