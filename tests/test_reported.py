"""The paper's reported numbers, as the study typed them, against the paper's own text (``../shared/seeds/``, beside
the project; skipped when absent). Every "reported" column of the book and every claim reads these constants."""

from __future__ import annotations

from pathlib import Path

import pytest

from facerecon.claims.tables import TABLE1_NAMES
from facerecon.comparison.reported import PAPER_TABLE3, PAPER_TABLE4
from facerecon.denoise.evaluation import REPORTED

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="module")
def paper_rows() -> dict[str, list[float]]:
    """Every tab-separated row of the paper's tables: its first cell → its numbers (a % sign dropped)."""
    texts = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not texts:
        pytest.skip(f"the paper's text is not beside the project ({SEEDS})")
    rows = {}
    for line in texts[0].read_text().splitlines():
        cells = line.split("\t")
        if len(cells) < 5 or not cells[0]:
            continue
        try:
            rows[cells[0].strip()] = [float(c.strip().rstrip("%")) for c in cells[1:] if c.strip()]
        except ValueError:
            continue
    return rows


def test_table1_as_typed_is_the_papers(paper_rows):
    for method, name in TABLE1_NAMES.items():
        assert paper_rows[name] == REPORTED[method]["psnr"] + REPORTED[method]["ssim"], name


def test_tables3_and_4_as_typed_are_the_papers(paper_rows):
    for method, values in PAPER_TABLE3.items():
        assert paper_rows[method] == list(values), method
    for model, values in PAPER_TABLE4.items():
        assert paper_rows[model] == list(values), model
