"""Loss-stability statistics (the study's quantitative stand-in for reading the paper's Fig. 13 by eye).

Over the last ``tail`` fraction of a loss curve ``values (T,)``:

- ``mean``: the level reached;
- ``spread``: the standard deviation of the loss;
- ``oscillation``: the RMS of the loss minus its centred moving average (``window`` steps): step-to-step
  swings, with the slow trend removed, in the loss's own units. Adding a constant to the loss (as the
  adversarial term does to the generator's total) does not change it; it is compared between models on the
  *same* loss term, never across terms. (Dividing by the mean, as an earlier version did, lets a shift of the
  mean decide the comparison.)
- ``drift``: the least-squares slope per 100 steps (a loss still falling, or diverging, is not "stable").
"""

from __future__ import annotations

import numpy as np


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average (valid part) of ``values (T,)`` over ``window`` steps, the window clipped to ``[1, T]``."""
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def stability_stats(values, tail: float = 0.5, window: int = 10) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 4:
        raise ValueError(f"a loss curve must be 1-D with at least 4 steps, got shape {values.shape}")
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail}")
    part = values[int(round(len(values) * (1 - tail))):]
    trend = moving_average(part, window)
    start = (len(part) - len(trend)) // 2
    residual = part[start:start + len(trend)] - trend
    slope = np.polyfit(np.arange(len(part)), part, 1)[0] if len(part) > 1 else 0.0
    mean = float(part.mean())
    oscillation = float(np.sqrt((residual ** 2).mean()))
    return {"mean": mean, "spread": float(part.std()), "oscillation": oscillation, "drift": float(slope * 100)}
