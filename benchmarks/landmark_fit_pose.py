"""Benchmark: how much of the landmark 3DMM fit's error is its pose. Prints a table.

    python benchmarks/landmark_fit_pose.py [--profile cpu] [--faces 200] [--lambdas 0.1 1 3] [--alternations 4 20]

Table 3's landmark 3DMM fit (:func:`facerecon.data.landmark_information.fit_to_landmarks`: PCA-100 of the
training meshes, alternating a weak-perspective pose fit to the current shape's landmarks and a ridge fit of the
shape coefficients to the 2D landmarks at that pose) on the first ``--faces`` faces of 05's test split, with each
number of ``--alternations`` (05's row: its ``fit_iterations``, 20; 4 before), and with the pose taken from the GT 3D
landmarks (a similarity fit of the mean
shape's landmarks to them: what an exact pose would give the 2D fit). Per-vertex error in crop pixels, each mesh's
mean depth removed, and its reduction against 05's mean-face row (the mean shape posed by the 2D landmarks).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from facerecon.comparison.predictors import y_up
from facerecon.data.generate import load_synthface
from facerecon.data.landmark_information import ShapeSpace, coefficients_at_pose, fit_to_landmarks, posed_shape
from facerecon.data.synthface import SynthFaceConfig
from facerecon.mesh.pose import Y_DOWN
from facerecon.study.profiles import load_profile
from facerecon.study.provenance import git_commit


def pose_from_3d_landmarks(space: ShapeSpace, landmark_index: np.ndarray, landmarks3d: np.ndarray):
    """``(scale (1,), rotation (1, 3, 3), translation (1, 2))`` of the similarity that best maps the mean shape's
    landmarks (y up, shown y down) onto ``landmarks3d (68, 3)`` (crop pixels, y down): orthogonal Procrustes."""
    x = space.mean[landmark_index] * np.asarray(Y_DOWN)
    g = np.asarray(landmarks3d, np.float64)
    xc, gc = x - x.mean(0), g - g.mean(0)
    u, sv, vt = np.linalg.svd(gc.T @ xc)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt
    scale = (sv * [1.0, 1.0, d]).sum() / (xc ** 2).sum()
    translation = g.mean(0)[:2] - scale * (x.mean(0) @ rotation.T)[:2]
    return torch.tensor([scale]), torch.as_tensor(rotation[None]), torch.as_tensor(translation[None])


def fit_at_pose(space: ShapeSpace, landmark_index: np.ndarray, landmarks2d: np.ndarray, pose, lam: float | None
                ) -> np.ndarray:
    """``(V, 3)`` crop vertices (mean depth removed): the shape coefficients' ridge fit to ``landmarks2d`` at a
    given ``pose`` (the mean shape when ``lam`` is None), as one alternation of the landmark fit does it."""
    coeffs = np.zeros(len(space.basis)) if lam is None else coefficients_at_pose(
        space, torch.as_tensor(np.asarray(landmarks2d, np.float64)[None]), landmark_index, pose, lam)
    return posed_shape(space, coeffs, pose)


def vertex_error(vertices: np.ndarray, sample: dict) -> float:
    gt = np.asarray(sample["vertices"], np.float64)
    return float(np.linalg.norm(vertices - (gt - np.array([0.0, 0.0, gt[:, 2].mean()])), axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.1, 1.0, 3.0])
    parser.add_argument("--alternations", type=int, nargs="+", default=[4, 20])
    args = parser.parse_args()
    params = load_profile(args.profile)["05_table3_comparison"]
    split = lambda kind, n: load_synthface(  # noqa: E731
        SynthFaceConfig(split=kind, n=n, seed=0, resolution=params["resolution"]), profile=args.profile,
        progress=False)
    train, test = split("train", params["n_train"]), split("test", params["n_test"])
    index = train.model.landmark_index
    space = ShapeSpace.fit(y_up(np.stack([train.sample(i)["vertices"] for i in range(len(train))])),
                           params["pca_components"])
    samples = [test.sample(i) for i in range(min(args.faces, len(test)))]
    exact_poses = [pose_from_3d_landmarks(space, index, s["landmarks3d"]) for s in samples]

    def mean_error(fit) -> float:
        return float(np.mean([vertex_error(fit(s, pose), s) for s, pose in zip(samples, exact_poses)]))
    estimated_base = mean_error(lambda s, _: fit_to_landmarks(space, s["landmarks2d"], index, None))
    exact_base = mean_error(lambda s, pose: fit_at_pose(space, index, s["landmarks2d"], pose, None))
    print(f"commit {git_commit()}; profile {args.profile}, {len(samples)} test faces; mean per-vertex error (crop px, "
          f"mean depth removed) of the posed mean shape: pose from the 2D landmarks {estimated_base:.3f}, pose "
          f"from the GT 3D landmarks {exact_base:.3f}")
    print("each cell: per-vertex error, and its reduction against the mean shape posed by the 2D landmarks")
    columns = [f"{n} alternations" for n in args.alternations] + ["pose from the GT 3D landmarks"]
    print("| λ | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for lam in args.lambdas:
        fits = [lambda s, _, n=n: fit_to_landmarks(space, s["landmarks2d"], index, lam, n) for n in args.alternations]
        fits.append(lambda s, pose: fit_at_pose(space, index, s["landmarks2d"], pose, lam))
        cells = []
        for fit in fits:
            error = mean_error(fit)
            cells.append(f"{error:.3f} px ({100 * (1 - error / estimated_base):.1f} %)")
        print(f"| {lam:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
