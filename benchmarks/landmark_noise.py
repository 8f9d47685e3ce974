"""Benchmark: what Gaussian noise on the training landmarks (``landmark_noise``) does to ours with the dataset's and
with detected landmarks. Prints a table.

    python benchmarks/landmark_noise.py [--profile cpu] [--noise 0 0.67 1.33 2.66] [--faces 200] [--seed 0]
                                        [--real-samples ../shared/real-samples]

Trains (or takes from the run cache) the full model with the profile's Table 3 settings (``05_table3_comparison``)
at each noise level, and scores it on the first ``--faces`` faces of the Table 3 test split in CD per point (1,024
surface points, as 05) with the dataset's landmarks and with the study's landmark CNN's (05's detector, from the
cache, seed 0 whatever ``--seed``), against the posed mean face given the same landmarks: reduction of its CD with
a bootstrap interval over faces, and the paired difference to the model without noise. The detector's error on 200 validation faces is
printed first (what the noise levels are compared with). Then, where the real AFLW2000-3D samples are beside the
project, each model through the photo pipeline (MediaPipe's landmarks, chapter 09's framing and denoising): its
landmark NME against the GT, against its own posed prior's (paired over the faces) and MediaPipe's. One seed: a
probe of a recipe, not a profile run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from facerecon.comparison.predictors import MeanFace, generator_prediction, with_landmarks
from facerecon.comparison.scoring import relative_reduction
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.landmarks.cnn import DetectorConfig, predict as detect_landmarks, train_or_load_detector
from facerecon.data.readers import read_aflw2000
from facerecon.metrics import chamfer_distance, landmark_nme, metric_points
from facerecon.photo.files import read_photo
from facerecon.photo.framing import crop_to_image
from facerecon.photo.pipeline import PhotoReconstructor
from facerecon.photo.shipped import photo_calibration
from facerecon.study.paths import find_root
from facerecon.study.provenance import device_description, git_commit
from facerecon.training.model_files import LoadedModel, load_model
from facerecon.study.profiles import load_profile
from facerecon.study.statistics import paired_difference
from facerecon.training.cached import run_config, train_or_load, train_settings

POINTS = 1024


def chamfer_per_face(predict, samples: list[dict], gt_faces: np.ndarray) -> np.ndarray:
    """CD per point ``(N,)`` of ``predict`` on ``samples``, surface points drawn from one seeded stream (the same
    GT points for every predictor)."""
    gen = torch.Generator().manual_seed(0)
    scores = []
    for s in samples:
        p = predict(s)
        scores.append(chamfer_distance(metric_points(p.vertices, p.faces, POINTS, gen),
                                       metric_points(s["vertices"], gt_faces, POINTS, gen), "mean"))
    return np.array(scores)


def real_sample_nme(entry, folder: Path, seed: int) -> list[str] | None:
    """``[NME ours, NME its prior, ours − prior [95 %], NME MediaPipe, ratio]`` of the model in run-cache ``entry``
    on the AFLW2000-3D samples in ``folder`` (as chapter 09 measures them), or None without samples."""
    mats = sorted((folder / "AFLW2000").glob("*.mat")) if (folder / "AFLW2000").is_dir() else []
    if not mats:
        return None
    loaded = load_model(entry)
    framing, ranking = photo_calibration(loaded)
    ours = PhotoReconstructor(loaded, framing, ranking)
    prior = PhotoReconstructor(LoadedModel(loaded.generator.prior_only(), loaded.config, loaded.provenance),
                               framing, ranking)
    nme = {"ours": [], "prior": [], "mediapipe": []}
    for mat in mats:
        sample = read_aflw2000(mat)
        gt = crop_to_image(sample.crop, sample.landmarks3d.astype(np.float64))[:, :2]
        image = read_photo(mat.with_suffix(".jpg"))
        result = ours(image)
        nme["ours"].append(landmark_nme(result.landmarks68, gt))
        nme["mediapipe"].append(landmark_nme(result.detector_landmarks68, gt))
        nme["prior"].append(landmark_nme(prior(image).landmarks68, gt))
    mean = {k: float(np.mean(v)) for k, v in nme.items()}
    return [f"{mean['ours']:.2f}", f"{mean['prior']:.2f}",
            interval(paired_difference(nme["ours"], nme["prior"], seed=seed), scale=1.0, digits=2),
            f"{mean['mediapipe']:.2f}", f"{mean['ours'] / mean['mediapipe']:.2f}"]


def interval(d: dict, scale: float = 100.0, digits: int = 1) -> str:
    lo, hi = d["ci95"]
    return f"{scale * d['mean']:+.{digits}f} [{scale * lo:+.{digits}f}, {scale * hi:+.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.67, 1.33, 2.66])
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real-samples", default="../shared/real-samples",
                        help="folder with AFLW2000/*.mat and .jpg (relative to the project root)")
    args = parser.parse_args()
    if 0.0 not in args.noise:
        args.noise = [0.0, *args.noise]
    params = load_profile(args.profile)["05_table3_comparison"]
    settings = train_settings(params)
    split = lambda kind, n, seed: load_synthface(  # noqa: E731
        SynthFaceConfig(split=kind, n=n, seed=seed, resolution=params["resolution"]), profile=args.profile,
        progress=False)
    train, val, test = (split("train", params["n_train"], 0), split("train", params["n_val"], 1),
                        split("test", params["n_test"], 0))
    faces, landmark_index = train.faces, train.model.landmark_index
    landmark_uv = train.uv[landmark_index]
    # 05's detector (its seed 0) whatever the models' seed: the noise is compared on one detector's errors
    detector = train_or_load_detector(DetectorConfig(width=params["detector_width"], steps=params["detector_steps"],
                                                     seed=0), train, profile=args.profile,
                                      progress=False).model
    val_samples = [val.sample(i) for i in range(len(val))]
    errors = detect_landmarks(detector, np.stack([s["image"] for s in val_samples])) - np.stack(
        [s["landmarks2d"] for s in val_samples])
    print(f"commit {git_commit()}, {device_description()}; "
          f"profile {args.profile}, seed {args.seed}, {args.faces} test faces, {POINTS} points; the landmark CNN's "
          f"error on {len(val)} validation faces: {np.sqrt((errors ** 2).mean()):.2f} px RMS per coordinate "
          f"(mean {errors.mean():+.2f} px)")
    samples = [test.sample(i) for i in range(min(args.faces, len(test)))]
    detected = detect_landmarks(detector, np.stack([s["image"] for s in samples]))
    inputs = {"dataset": samples, "detected": [with_landmarks(s, lm) for s, lm in zip(samples, detected)]}
    mean_face = MeanFace(np.stack([train.sample(i)["vertices"] for i in range(len(train))]), faces, landmark_index)
    baseline = {k: chamfer_per_face(mean_face, v, faces) for k, v in inputs.items()}
    real_folder = (find_root() / args.real_samples).resolve()
    rows, real_rows, clean = [], [], None
    for noise in sorted(args.noise):
        cfg, data = run_config("full", seed=args.seed, **{**settings, "landmark_noise": noise})
        start = time.perf_counter()
        model = train_or_load(cfg, data, profile=args.profile, progress=False)
        trained_s = time.perf_counter() - start
        predict = generator_prediction(model.generator, landmark_uv)
        scores = {k: chamfer_per_face(predict, v, faces) for k, v in inputs.items()}
        clean = clean or scores
        row = [f"{noise:g}", f"{trained_s:.0f}" + ("" if model.summary.get("wall_time_s") is None else
                                                     f" (trained in {model.summary['wall_time_s']:.0f})")]
        for k in inputs:
            row += [f"{scores[k].mean():.6f}",
                    interval(relative_reduction(baseline[k], scores[k], seed=args.seed)),
                    "—" if noise == 0 else interval(paired_difference(scores[k], clean[k], seed=args.seed),
                                                    scale=1.0, digits=6)]
        rows.append(row)
        real = real_sample_nme(model.path, real_folder, args.seed)
        if real is not None:
            real_rows.append([f"{noise:g}", *real])
    header = ["noise (px s.d.)", "load or train (s)"]
    for k in inputs:
        header += [f"{k}: CD / point", f"{k}: % below the mean face [95 %]", f"{k}: − no noise [95 %]"]
    print("mean face CD / point: " + ", ".join(f"{k} {v.mean():.6f}" for k, v in baseline.items()))
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if not real_rows:
        print(f"no real samples under {real_folder}: the photo part is skipped")
        return
    header = ["noise (px s.d.)", "real: NME ours", "NME its posed prior", "ours − prior [95 %]", "NME MediaPipe",
              "ours / MediaPipe"]
    print(f"\nthe real AFLW2000-3D samples under {args.real_samples} (MediaPipe's landmarks as input, as chapter 09)")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in real_rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
