"""Table 4's variants and rows (chapter 06)."""

from __future__ import annotations

import numpy as np
import pytest

from facerecon.comparison.ablation import VARIANTS, ablation_row, get_variant
from facerecon.study.profiles import load_train_section
from facerecon.training.cached import run_config
from facerecon.training.config import config_differences


@pytest.mark.parametrize("profile", ["smoke", "cpu", "gpu"])
def test_each_variant_differs_from_the_full_model_in_what_it_removes(root, profile):
    train = load_train_section(profile, root)
    full = run_config("full", seed=0, **train)[0].to_dict()
    expected = {
        "without GCN": {"generator.message_passing"},
        "without the GAN": {"mode", "minibatch", "label_smoothing", "modified_loss", "model"},
        "without minibatch discrimination": {"minibatch"},
        "without identity blocks": {"generator.identity_blocks"},
        "without label smoothing": {"label_smoothing"},
        "minimax generator loss": {"modified_loss"},
        "hemisphere template": {"generator.prior", "generator.landmarks", "generator.landmark_shape",
                                "shape_basis_init"},
        "broadcast landmark code": {"generator.landmarks", "generator.landmark_shape", "shape_basis_init"},
        "without the landmark shape basis": {"generator.landmark_shape", "shape_basis_init"},
        "landmark basis from zero": {"shape_basis_init"},
        "sum aggregation": {"generator.aggregation"},
        "without the dense term": {"vertex_weight"},
        "constant learning rate, β1 0.5": {"warmup_steps", "lr_schedule", "betas"},
        "Chamfer on every block": {"fit_levels"},
        "edge term on the mesh": {"edge_on"},
        "adversarial weight 0.01": {"adversarial_weight"},
        "exact landmarks in training": {"landmark_noise"},
    }
    assert [v.name for v in VARIANTS] == list(expected)
    for variant in VARIANTS:
        cfg = run_config(variant.model, seed=0, **variant.settings(train))[0].to_dict()
        flat = lambda d: {**{k: v for k, v in d.items() if k != "generator"},  # noqa: E731
                          **{f"generator.{k}": v for k, v in d["generator"].items()}}
        changed = {line.split(":")[0] for line in config_differences(flat(cfg), flat(full))}
        assert changed == expected[variant.name], variant.name


def test_unknown_variant_is_an_error():
    with pytest.raises(ValueError, match="unknown ablation variant 'without GNC'"):
        get_variant("without GNC")


def naive_two_level_mean(values):
    return float(np.mean([np.mean(row) for row in values]))


def test_ablation_row_against_a_naive_computation():
    rng = np.random.default_rng(0)
    full = {m: rng.uniform(1, 2, (3, 40)) for m in ("cd", "emd")}
    worse = {m: v + 0.5 + rng.normal(0, 0.05, v.shape) for m, v in full.items()}
    row = ablation_row("without GCN", [0, 1, 2], worse, full, seed=0)
    assert set(row) == {"variant", "seeds", "cd", "emd", "delta_vs_full", "verdict"}
    for m in ("cd", "emd"):
        assert row[m]["mean"] == pytest.approx(naive_two_level_mean(worse[m]))
        assert row[m]["std"] == pytest.approx(np.std([r.mean() for r in worse[m]]))
        assert row["delta_vs_full"][m]["mean"] == pytest.approx(naive_two_level_mean(worse[m] - full[m]))
        lo, hi = row["delta_vs_full"][m]["ci95"]
        assert lo < 0.5 < hi and lo > 0.4
    assert row["verdict"] == "helps"                   # removing it raised the error
    assert ablation_row("x", [0, 1, 2], full, worse, seed=0)["verdict"] == "hurts"
    same = ablation_row("x", [0, 1, 2], {m: v + rng.normal(0, 0.05, v.shape) for m, v in full.items()}, full)
    assert same["verdict"] == "no effect detectable at this budget"
    with pytest.raises(ValueError, match="3 rows for 2 seeds"):
        ablation_row("x", [0, 1], worse, full)
