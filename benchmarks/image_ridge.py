"""Benchmark: does the image carry shape that a linear map can read? Prints a table.

    python benchmarks/image_ridge.py [--profile cpu] [--n-train 2000] [--eval-n 200] [--points 1024]
                                     [--lambdas 1 10 100 1000 10000]

A ridge regression (the landmark shape basis's closed form, ``training/landmark_ridge.py``, at the generator's
output level instead of its first) from the generator's 145 landmark features, alone or together with the image
sampled at the posed mean face's output vertices, to the GT surface resampled there (canonical frame, the pose of
the landmark fit undone). The image features are each vertex's grey level divided by the face's mean (``norm``)
or each colour channel divided by its mean (``normrgb``): shading with the albedo's and the light's overall level
removed. Features are standardised on the training faces, so one λ weighs every feature alike. Scored on the
validation split (the train split at seed 1) in CD per point against the posed mean face, with the share of the CD
above the sampling floor, as ``learning_probe.py --on validation`` scores a trained model. A reference, not a
model: if the image's columns do not lower the error, what the image says about shape is not linear in its pixels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from facerecon.comparison.prediction import Prediction, UVLandmarks
from facerecon.comparison.predictors import MeanFace, sampling_floor
from facerecon.comparison.scoring import reductions_against, score_faces
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.mesh.frame import CROP_SIZE
from facerecon.mesh.pose import apply_weak_perspective, shape_unit
from facerecon.mesh.resample import TemplateResampler
from facerecon.study.formatting import percent_interval
from facerecon.study.profiles import load_train_section
from facerecon.training.config import named_config
from facerecon.training.landmark_ridge import canonical_offsets, ridge_solution
from facerecon.training.trainer import build_models

IMAGE_FEATURES = ("norm", "normrgb")


@torch.no_grad()
def features_and_targets(generator, dataset, batch: int = 256):
    """``(landmark features (N, 145), colours (N, 3, V), targets (N, 3V), pose, posed priors (N, V, 3))`` at the
    generator's output level: the targets are the GT surface minus the posed prior, in the canonical frame and
    :func:`shape_unit` units."""
    level_uv = generator.level_uv[-1]
    resample = TemplateResampler(dataset.uv, dataset.faces, level_uv)
    unit = shape_unit(generator.prior_landmarks)
    landmark_features, colours, targets, poses, priors = [], [], [], [], []
    for start in range(0, len(dataset), batch):
        samples = [dataset.sample(i) for i in range(start, min(start + batch, len(dataset)))]
        landmarks = torch.from_numpy(np.stack([s["landmarks2d"] for s in samples])).float()
        images = torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2).float() / 255
        levels, pose = generator._posed_priors(landmarks)
        prior = levels[-1]
        colours.append(generator.vertex_alignment([images], prior).transpose(1, 2))
        gt = torch.from_numpy(np.stack([resample(s["vertices"].astype(np.float64) / CROP_SIZE)
                                        for s in samples])).float()
        canonical = canonical_offsets(gt, prior, pose, unit)
        landmark_features.append(generator.landmark_features(landmarks, pose))
        targets.append(canonical.reshape(len(samples), -1))
        poses.append(pose)
        priors.append(prior)
    pose = tuple(torch.cat([p[i] for p in poses]) for i in range(3))
    return torch.cat(landmark_features), torch.cat(colours), torch.cat(targets), pose, torch.cat(priors)


def image_features(colours: torch.Tensor, kind: str) -> torch.Tensor:
    """``colours (N, 3, V)`` → ``(N, V)`` (``norm``: grey over the face's mean grey, minus 1) or ``(N, 3V)``
    (``normrgb``: each channel over its mean, minus 1)."""
    if kind == "norm":
        grey = colours.mean(1)
        return grey / grey.mean(1, keepdim=True).clamp_min(1e-3) - 1
    if kind == "normrgb":
        return (colours / colours.mean(2, keepdim=True).clamp_min(1e-3) - 1).reshape(len(colours), -1)
    raise ValueError(f"unknown image features {kind!r}: expected one of {IMAGE_FEATURES}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--eval-n", type=int, default=200)
    parser.add_argument("--points", type=int, default=1024, help="surface points per face in the score")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[1.0, 10.0, 100.0, 1000.0, 10000.0])
    args = parser.parse_args()
    section = load_train_section(args.profile)
    resolution = section.pop("resolution")
    for key in ("n_train", "steps", "checkpoint_every"):
        section.pop(key)
    start = time.perf_counter()
    train = load_synthface(SynthFaceConfig(split="train", n=args.n_train, seed=0, resolution=resolution),
                           progress=False, profile=args.profile)
    validation = load_synthface(SynthFaceConfig(split="train", n=args.eval_n, seed=1, resolution=resolution),
                                progress=False, profile=args.profile)
    generator, _ = build_models(named_config("no_gan", **section), train)
    train_lm, train_colours, train_targets, _, _ = features_and_targets(generator, train)
    val_lm, val_colours, _, (scale, rotation, _), val_priors = features_and_targets(generator, validation)
    samples = [validation.sample(i) for i in range(len(validation))]
    faces = generator.faces(-1).numpy()
    landmarks = UVLandmarks(generator.output_uv, faces, train.uv[train.model.landmark_index])
    mean_face = score_faces(MeanFace(np.stack([train.sample(i)["vertices"] for i in range(len(train))]),
                                     train.faces, train.model.landmark_index),
                            samples, gt_faces=train.faces, points=args.points)["cd"]
    floor = score_faces(sampling_floor(train.faces), samples, gt_faces=train.faces, points=args.points)["cd"]
    unit = shape_unit(generator.prior_landmarks)
    print(f"profile {args.profile}: {len(train)} training faces, {len(samples)} validation faces, features in "
          f"{time.perf_counter() - start:.0f} s; mean face CD / point {mean_face.mean():.5f}, sampling floor "
          f"{floor.mean():.5f}")

    def score(predicted: torch.Tensor) -> str:
        change = predicted.reshape(len(predicted), -1, 3) * unit
        vertices = (val_priors + apply_weak_perspective(change, scale, rotation, torch.zeros(len(change), 2)))
        vertices = vertices.double().numpy() * CROP_SIZE
        order = iter(range(len(samples)))

        def predict(sample: dict) -> Prediction:
            i = next(order)
            return Prediction(vertices[i], faces, landmarks(vertices[i]))
        cd = score_faces(predict, samples, gt_faces=train.faces, points=args.points)["cd"]
        shares = reductions_against(mean_face, cd, floor)
        return f"{cd.mean():.5f} | {percent_interval(shares['raw'])} | {percent_interval(shares['above_floor'])}"

    print("| features | λ | CD / point | below the mean face [95 %] | of the CD above the floor [95 %] |")
    print("|---|---|---|---|---|")
    sets = [("landmarks", train_lm, val_lm)] + [
        (f"landmarks + image ({kind})", torch.cat([train_lm, image_features(train_colours, kind)], 1),
         torch.cat([val_lm, image_features(val_colours, kind)], 1)) for kind in IMAGE_FEATURES]
    for name, x_train, x_val in sets:
        mean, sd = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
        for lam in args.lambdas:
            weight, bias = ridge_solution((x_train - mean) / sd, train_targets, lam)
            print(f"| {name} | {lam:g} | {score(((x_val - mean) / sd) @ weight.T + bias)} |", flush=True)


if __name__ == "__main__":
    main()
