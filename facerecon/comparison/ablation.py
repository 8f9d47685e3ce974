"""Table 4's ablation (paper §4.3): the full model ("ours" of Table 3) against itself with one component removed.

Each :class:`Variant` is the full model's training settings with a few flat overrides (or another named model),
so every variant shares the data, the budget and everything else with the full model (chapter 06 uses Table 3's
ours, whose first seed is chapter 05's cached model). The augmentation chapter builds its "without augmentation"
row with the same function. A row of ``results["ablation"]`` (:func:`ablation_row`) holds
a variant's scores over seeds and its paired difference to the full model on the same test faces; the verdict
is :func:`~facerecon.study.statistics.component_verdict`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..study.statistics import component_verdict, mean_over_seeds, paired_difference_over_seeds

METRICS = ("cd", "emd")


@dataclass(frozen=True)
class Variant:
    """The full model without ``component``: the named model ``model`` with ``overrides`` on the full model's
    training settings. ``source``: "paper" for a component the paper describes (§3.2, Table 4), "study" for an
    option the study added in chapter 03 (its removal restores the paper's choice)."""

    name: str
    component: str
    source: str
    model: str = "full"
    overrides: dict[str, Any] = field(default_factory=dict)

    def settings(self, train: dict[str, Any]) -> dict[str, Any]:
        """The variant's flat training settings from the full model's (``train``)."""
        return {**train, **self.overrides}


VARIANTS: tuple[Variant, ...] = (
    Variant("without GCN", "graph convolutions (NODE blocks → per-vertex MLPs of the same widths)", "paper",
            overrides={"message_passing": False}),
    Variant("without the GAN", "the adversarial game (reconstruction losses only)", "paper", model="no_gan"),
    Variant("without minibatch discrimination", "minibatch discrimination", "paper", overrides={"minibatch": False}),
    Variant("without identity blocks", "identity blocks", "paper", overrides={"identity_blocks": False}),
    Variant("without label smoothing", "label smoothing", "paper", overrides={"label_smoothing": False}),
    Variant("minimax generator loss", "the modified (non-saturating) generator loss", "paper",
            overrides={"modified_loss": False}),
    # The study's additions. The mean-face prior carries the residual landmark features, which carry the shape
    # basis (and its ridge start): removing one removes those that depend on it.
    Variant("hemisphere template", "the posed mean-face prior (and the residual landmarks and shape basis it "
            "carries)", "study", overrides={"prior": "hemisphere", "landmarks": "broadcast", "landmark_shape": False,
                                            "shape_basis_init": "zero"}),
    Variant("broadcast landmark code", "the residual landmark features (and the shape basis they drive)", "study",
            overrides={"landmarks": "broadcast", "landmark_shape": False, "shape_basis_init": "zero"}),
    Variant("without the landmark shape basis", "the landmark shape basis", "study",
            overrides={"landmark_shape": False, "shape_basis_init": "zero"}),
    Variant("landmark basis from zero", "the closed-form (ridge) start of the landmark shape basis", "study",
            overrides={"shape_basis_init": "zero"}),
    Variant("sum aggregation", "the mean over neighbours in the graph convolutions (the paper's Σ instead)",
            "study", overrides={"aggregation": "add"}),
    Variant("without the dense term", "the dense per-vertex term (the paper's Chamfer terms alone)", "study",
            overrides={"vertex_weight": 0.0, "chamfer_weight": 1.0}),
    Variant("constant learning rate, β1 0.5", "warm-up, cosine decay and Adam's β1 = 0.9", "study",
            overrides={"warmup_steps": 0, "lr_schedule": "constant", "betas": [0.5, 0.999]}),
    Variant("Chamfer on every block", "fitting the last block only", "study", overrides={"fit_levels": "all"}),
    Variant("edge term on the mesh", "the edge term on the displacement", "study", overrides={"edge_on": "mesh"}),
    Variant("adversarial weight 0.01", "the study's adversarial weight 0.001", "study",
            overrides={"adversarial_weight": 0.01}),
    Variant("exact landmarks in training", "the noise on the training landmarks (its gain is under detected "
            "landmarks; this table scores the dataset's)", "study", overrides={"landmark_noise": 0.0}),
)


def get_variant(name: str) -> Variant:
    found = next((v for v in VARIANTS if v.name == name), None)
    if found is None:
        raise ValueError(f"unknown ablation variant {name!r}; known: {[v.name for v in VARIANTS]}")
    return found


def ablation_row(variant: str, seeds: list[int], scores: dict[str, np.ndarray], full: dict[str, np.ndarray], *,
                 seed: int = 0) -> dict[str, Any]:
    """One row of ``results["ablation"]``: ``{"variant", "seeds", "cd": {"mean", "std", "ci95", "per_seed"},
    "emd": {...}, "delta_vs_full": {"cd": {"mean", "ci95", "detectable", "per_seed"}, "emd": {...}}, "verdict"}``.

    ``scores[m]`` and ``full[m]``: per-face errors ``(S seeds, N faces)``, paired by row (training seed, or the
    same model for a variant that needs no retraining) and column (test face)."""
    out: dict[str, Any] = {"variant": variant, "seeds": list(seeds)}
    for m in METRICS:
        values = np.asarray(scores[m], np.float64)
        if values.shape[0] != len(seeds):
            raise ValueError(f"{variant}: {m} scores have {values.shape[0]} rows for {len(seeds)} seeds")
        out[m] = mean_over_seeds(values, seed=seed)
    out["delta_vs_full"] = {m: paired_difference_over_seeds(scores[m], full[m], seed=seed) for m in METRICS}
    out["verdict"] = component_verdict(out["delta_vs_full"]["cd"])
    return out
