"""The study's intervals against what normal theory gives on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from facerecon.study.statistics import bootstrap_ci, paired_difference


def test_bootstrap_interval_has_the_width_of_the_standard_error():
    """For N normal values the 95 % interval of the mean is about ±1.96·sd/√N; a bootstrap that resampled fewer
    values than N (or more) would be wider (or narrower) by √ of the ratio."""
    values = np.random.default_rng(0).normal(3.0, 2.0, 400)
    lo, hi = bootstrap_ci(values, resamples=4000)
    expected = 2 * 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert hi - lo == pytest.approx(expected, rel=0.1)
    assert lo < values.mean() < hi


def test_paired_difference_is_detectable_only_beyond_noise():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 300)
    assert paired_difference(a + 0.5, a + rng.normal(0, 0.1, 300))["detectable"]
    noise = rng.normal(0, 0.1, 300)
    assert not paired_difference(a + noise - noise.mean(), a)["detectable"]   # mean difference exactly 0
