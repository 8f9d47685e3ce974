"""Shared fixtures: a private run cache per test session, the repository root, the real-samples folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
