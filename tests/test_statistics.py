"""The study's intervals against what normal theory gives on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from facerecon.study.statistics import (bootstrap_ci, component_verdict, mean_over_seeds, paired_difference,
                                        paired_difference_over_seeds, seeds_and_faces_ci)


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


# --- intervals over training seeds -----------------------------------------------------------------------------

def test_seeds_and_faces_interval_matches_a_naive_t_interval():
    values = np.random.default_rng(1).normal(size=(3, 20))
    per_seed = [sum(row) / len(row) for row in values.tolist()]
    per_face = [sum(col) / len(col) for col in values.T.tolist()]
    grand = sum(per_seed) / 3
    var_seeds = sum((m - np.mean(per_seed)) ** 2 for m in per_seed) / 2 / 3
    var_faces = sum((m - np.mean(per_face)) ** 2 for m in per_face) / 19 / 20
    half = 4.302652729911275 * np.sqrt(var_seeds + var_faces)    # t quantile 0.975 with 2 degrees of freedom
    assert seeds_and_faces_ci(values) == pytest.approx([grand - half, grand + half])


def no_effect_and_large_effect_rates(n_seeds: int, face_sd: float, face_effect_sd: float, effect: float,
                                     trials: int = 400) -> float:
    """How often ``paired_difference_over_seeds`` calls a simulated difference of mean ``effect`` detectable:
    3 sources of variation as in a trained comparison, a seed effect (sd 1, shared by a seed's faces), a per-face
    effect shared by every seed (sd ``face_effect_sd``: a variant better on some faces), independent face noise
    (sd ``face_sd``); 200 faces."""
    rng = np.random.default_rng(12345)
    hits = 0
    for _ in range(trials):
        faces = rng.normal(0, 3, 200)                                 # the faces' own difficulty: cancels in a pair
        a = faces + rng.normal(0, face_sd, (n_seeds, 200))
        b = faces + effect + rng.normal(0, 1, (n_seeds, 1)) + rng.normal(0, face_effect_sd, 200) \
            + rng.normal(0, face_sd, (n_seeds, 200))
        hits += paired_difference_over_seeds(b, a)["detectable"]
    return hits / trials


@pytest.mark.parametrize("n_seeds", [2, 3, 5])
@pytest.mark.parametrize("face_sd, face_effect_sd", [(0.0, 0.0), (1.0, 0.0), (5.0, 0.0), (1.0, 5.0)])
def test_over_seeds_rule_keeps_its_false_positive_rate(n_seeds, face_sd, face_effect_sd):
    """No difference between the variants: "detectable" at most 8 % of the time for a nominal 5 % (the former
    two-level bootstrap said it 13–26 % of the time with 3 seeds)."""
    assert no_effect_and_large_effect_rates(n_seeds, face_sd, face_effect_sd, effect=0.0) <= 0.08


@pytest.mark.parametrize("face_sd, face_effect_sd", [(0.0, 0.0), (1.0, 0.0), (5.0, 0.0), (1.0, 5.0)])
def test_over_seeds_rule_detects_a_large_effect(face_sd, face_effect_sd):
    """A difference of 5 seed standard deviations is found nearly always with 3 seeds."""
    assert no_effect_and_large_effect_rates(3, face_sd, face_effect_sd, effect=5.0) >= 0.9


def test_one_seed_gives_no_interval_and_no_verdict():
    a = np.random.default_rng(0).normal(size=(1, 50))
    d = paired_difference_over_seeds(a + 1.0, a)
    assert not d["detectable"] and all(np.isnan(d["ci95"])) and component_verdict(d).startswith("no effect")


def test_seed_spread_widens_the_interval_and_verdicts_follow_it():
    faces = np.random.default_rng(0).normal(0, 0.01, 40)
    steady = np.stack([faces + 0.1] * 3)
    shaky = steady + np.array([[0.3], [-0.3], [0.0]])
    ci_steady, ci_shaky = seeds_and_faces_ci(steady), seeds_and_faces_ci(shaky)
    assert ci_shaky[1] - ci_shaky[0] > 10 * (ci_steady[1] - ci_steady[0])
    assert mean_over_seeds(shaky)["std"] == pytest.approx(np.std([0.4, -0.2, 0.1]))
    worse = paired_difference_over_seeds(steady, steady - 0.05)
    assert worse["detectable"] and worse["per_seed"] == pytest.approx([0.05] * 3)
    assert component_verdict(worse) == "helps"
    assert component_verdict(paired_difference_over_seeds(steady - 0.05, steady)) == "hurts"
    assert component_verdict(paired_difference_over_seeds(shaky, steady)) == "no effect detectable at this budget"
    with pytest.raises(ValueError, match="same shape"):
        paired_difference_over_seeds(steady, steady[:2])
