"""The verdicts of the claims chapter and the small rules that decide them.

A claim row is ``{"id", "where", "claim", "reported", "measured", "verdict", "why", "chapter"}``; ``verdict`` is
one of :data:`VERDICTS`. Rules are deliberately simple and stated in the book: a paired difference decides when
its 95 % interval excludes zero; seed-level statistics decide when the mean ± std intervals of the two sides do
not overlap; otherwise the difference is "not detectable at this budget".
"""

from __future__ import annotations

from typing import Any

from ..study.formatting import interval_cell

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_TESTABLE = "not testable here"
INCONSISTENT = "inconsistent within the paper"
PENDING = "pending"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE, INCONSISTENT, PENDING)


def row(claim_id: str, where: str, claim: str, reported: Any, measured: Any, verdict: str, why: str,
        chapter: str | None) -> dict[str, Any]:
    """One claim row (see the module docstring)."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}: expected one of {VERDICTS}")
    return {"id": claim_id, "where": where, "claim": claim, "reported": reported, "measured": measured,
            "verdict": verdict, "why": why, "chapter": chapter}


def pending(claim_id: str, where: str, claim: str, reported: Any, chapter: str, what: str) -> dict[str, Any]:
    """A claim whose measuring chapter has no results under this profile (not run, or not built yet)."""
    return row(claim_id, where, claim, reported, None, PENDING, f"{what}: chapter `{chapter}` has no results "
               "under this profile yet", chapter)


def interval_text(mean: float, lo: float | None, hi: float | None) -> str:
    """``"+m [+lo, +hi]"`` (signed, the book's one interval style: :func:`~facerecon.study.formatting.interval_cell`);
    an interval that does not exist (one training seed: stored as None) is said so."""
    return interval_cell(mean, lo, hi, signed=True)


def paired_direction(diff: dict[str, Any]) -> int:
    """+1 when a paired difference ``{"mean", "ci95", "detectable"}`` is detectably above 0, −1 below, 0 else."""
    if not diff.get("detectable"):
        return 0
    return 1 if diff["mean"] > 0 else -1


def seed_direction(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Compare ``a = (mean, std)`` with ``b`` over seeds: +1 when a's mean − std lies above b's mean + std, −1 in
    the mirror case, 0 when the intervals overlap (not detectable with these seeds)."""
    (ma, sa), (mb, sb) = a, b
    if ma - sa > mb + sb:
        return 1
    if ma + sa < mb - sb:
        return -1
    return 0
