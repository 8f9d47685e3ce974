"""Every quantitative claim of the paper against what the study measured (the claims chapter, ``08_claims``).

:func:`evaluate_claims` turns the chapters' results into claim rows (``verdicts.row``): the cells of Tables 1, 3
and 4 (``tables``) and the claims in the text (``text``).
"""

from __future__ import annotations

from typing import Any

from .tables import table1_claims, table3_claims, table3_order_claims, table4_claims
from .text import TEXT_CLAIMS

# The chapters whose results the claims read.
CHAPTERS = ("01_noise_table1", "02_augmentation", "03_gan_modifications", "04_generator_discriminator",
            "05_table3_comparison", "06_table4_ablation", "07_loss_stability")


def evaluate_claims(results: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """All claim rows, tables first; ``results`` maps each of :data:`CHAPTERS` to its results (``None``: none)."""
    unknown = set(results) - set(CHAPTERS)
    if unknown:
        raise ValueError(f"results for unknown chapter(s) {sorted(unknown)}; expected some of {CHAPTERS}")
    results = {stem: results.get(stem) for stem in CHAPTERS}
    return (table1_claims(results["01_noise_table1"]) + table3_claims(results["05_table3_comparison"])
            + table3_order_claims(results["05_table3_comparison"]) + table4_claims(results["06_table4_ablation"])
            + [claim(results) for claim in TEXT_CLAIMS])
