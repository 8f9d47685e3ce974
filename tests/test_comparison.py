"""Table-3 predictors and scores: the landmark 3DMM fit against a known answer, landmarks on another topology,
per-face scores against a direct computation, rows and paired differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facerecon.comparison.predictors import (LandmarkShapeFit, MeanFace, Prediction, UVLandmarks, with_landmarks)
from facerecon.comparison.scoring import choose_on_validation, paired_to, relative_reduction, score_faces, table_row
from facerecon.data.morphable import FaceModelConfig, build_face_model
from facerecon.data.synthface import model_to_crop
from facerecon.metrics import chamfer_distance, earth_movers_distance, landmark_nme, metric_points


@pytest.fixture(scope="module")
def linear_faces():
    """Crop-frame meshes of a 6-component linear face model under random poses, with their samples."""
    model = build_face_model(FaceModelConfig(resolution=24))
    rng = np.random.default_rng(0)

    def sample(coeffs, pose):
        shape = model.mean + np.tensordot(coeffs, model.id_basis[:6], axes=(0, 0))
        crop, _ = model_to_crop(shape, pose, 1.0, 113)
        return {"vertices": crop, "landmarks2d": crop[model.landmark_index, :2].astype(np.float32),
                "landmarks3d": crop[model.landmark_index], "pose": np.asarray(pose, np.float32)}

    def draw(n):
        return [sample(rng.normal(size=6), rng.uniform(-0.5, 0.5, 3) * np.array([0.3, 1.0, 0.3]))
                for _ in range(n)]
    return model, draw(120), draw(5)


def test_landmark_fit_matches_the_landmarks_and_beats_the_posed_mean(linear_faces):
    """On faces of a linear span the fit reproduces their 2D landmarks; the whole mesh comes closer than the posed
    mean, not exactly (one orthographic view leaves depth and pose ambiguities)."""
    model, train, test = linear_faces
    meshes = np.stack([s["vertices"] for s in train])
    fit = LandmarkShapeFit(meshes, model.faces, model.landmark_index, k=8, lam=1e-3, iterations=30)
    mean = MeanFace(meshes, model.faces, model.landmark_index)
    fit_error, mean_error = [], []
    for sample in test:
        gt = sample["vertices"] - np.array([0, 0, sample["vertices"][:, 2].mean()])
        fitted = fit(sample)
        assert np.abs(fitted.landmarks[:, :2] - sample["landmarks2d"]).mean() < 0.05
        np.testing.assert_allclose(fitted.landmarks, fitted.vertices[model.landmark_index])
        fit_error.append(np.linalg.norm(fitted.vertices - gt, axis=1).mean())
        mean_error.append(np.linalg.norm(mean(sample).vertices - gt, axis=1).mean())
    assert np.mean(fit_error) < 0.8 * np.mean(mean_error)


def test_the_fit_runs_single_threaded_and_restores_the_callers_threads(linear_faces, monkeypatch):
    """The fit's tiny matrices run on one thread (torch and BLAS: with more they wait for each other); the caller's
    thread counts come back after it, and the answer is the multi-threaded one to float precision."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_info

    import facerecon.data.landmark_information as information

    model, train, test = linear_faces
    fit = LandmarkShapeFit(np.stack([s["vertices"] for s in train]), model.faces, model.landmark_index, k=8,
                           lam=1e-3, iterations=6)
    blas = lambda: max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")  # noqa: E731
    callers = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        threads_before, blas_before, seen = torch.get_num_threads(), blas(), []
        solve = information.coefficients_at_pose
        monkeypatch.setattr(information, "coefficients_at_pose",
                            lambda *a: seen.append((torch.get_num_threads(), blas())) or solve(*a))
        fitted = fit(test[0]).vertices
        assert (torch.get_num_threads(), blas()) == (threads_before, blas_before) and threads_before == 2
    finally:
        torch.set_num_threads(callers)
    assert seen and set(seen) == {(1, 1)}
    monkeypatch.setattr(information, "single_threaded", nullcontext)
    np.testing.assert_allclose(fit(test[0]).vertices, fitted, rtol=1e-9, atol=1e-9)


def test_lambda_is_chosen_on_validation_and_a_large_lambda_gives_the_mean(linear_faces):
    model, train, test = linear_faces
    meshes = np.stack([s["vertices"] for s in train[:100]])
    fit = LandmarkShapeFit(meshes, model.faces, model.landmark_index, k=8)
    errors = fit.select_lambda(train[100:], lambdas=np.array([1e8, 1e-3]))
    assert fit.lam == 1e-3 and errors[1e-3] < errors[1e8]
    mean = MeanFace(meshes, model.faces, model.landmark_index)
    np.testing.assert_allclose(fit.fit(test[0]["landmarks2d"], 1e12), mean(test[0]).vertices, atol=1e-6)


def test_uv_landmarks_of_the_same_mesh_are_its_landmark_vertices(linear_faces):
    model, train, _ = linear_faces
    lm = UVLandmarks(model.uv, model.faces, model.uv[model.landmark_index])
    np.testing.assert_allclose(lm(train[0]["vertices"]), train[0]["vertices"][model.landmark_index], atol=1e-9)


def test_scores_match_a_direct_computation(linear_faces):
    model, train, test = linear_faces
    mean = MeanFace(np.stack([s["vertices"] for s in train]), model.faces, model.landmark_index)
    scores = score_faces(mean, test, gt_faces=model.faces, points=200, seed=3, workers=3)
    one_thread = score_faces(mean, test, gt_faces=model.faces, points=200, seed=3, workers=1)
    for metric in ("cd", "emd", "nme2d", "nme3d", "abs_yaw"):     # the threads change nothing
        np.testing.assert_array_equal(scores[metric], one_thread[metric])
    gen = torch.Generator().manual_seed(3)
    for i, sample in enumerate(test):
        gt = metric_points(sample["vertices"], model.faces, 200, gen)
        pred = mean(sample)
        pp = metric_points(pred.vertices, pred.faces, 200, gen)
        assert scores["cd"][i] == pytest.approx(chamfer_distance(pp, gt) / 200)
        assert scores["emd"][i] == pytest.approx(earth_movers_distance(pp, gt) / 200)
        assert scores["nme2d"][i] == pytest.approx(landmark_nme(pred.landmarks[:, :2], sample["landmarks3d"][:, :2]))
        centred = lambda p: p - np.array([0, 0, p[:, 2].mean()])   # noqa: E731
        assert scores["nme3d"][i] == pytest.approx(
            landmark_nme(centred(pred.landmarks), centred(sample["landmarks3d"]), dims=3))
        assert scores["abs_yaw"][i] == pytest.approx(abs(np.degrees(sample["pose"][1])), rel=1e-6)


def test_a_perfect_predictor_scores_only_the_sampling_floor_and_zero_nme(linear_faces):
    model, _, test = linear_faces
    oracle = lambda s: Prediction(s["vertices"], model.faces, s["landmarks3d"])   # noqa: E731
    scores = score_faces(oracle, test, gt_faces=model.faces, points=300)
    assert np.allclose(scores["nme2d"], 0) and np.allclose(scores["nme3d"], 0, atol=1e-9)
    assert (scores["cd"] > 0).all()        # two independent surface samples of one mesh: the CD floor


def test_rows_and_paired_differences():
    rng = np.random.default_rng(0)
    n = 200
    base = {m: rng.uniform(1, 2, n) for m in ("cd", "emd", "nme2d", "nme3d")}
    base.update(abs_yaw=rng.uniform(0, 90, n), ms=np.full(n, 5.0))
    better = {**base, "cd": base["cd"] - 0.1}
    row = table_row("m", "dataset", "synthface", better)
    assert row["n"] == n and row["ms_per_image"] == 5.0
    assert row["cd"]["ci95"][0] < row["cd"]["mean"] < row["cd"]["ci95"][1]
    assert sum(b["n"] for b in row["by_yaw"].values()) == n
    diff = paired_to(base, better)
    assert diff["cd"]["mean"] == pytest.approx(-0.1) and diff["cd"]["detectable"]
    assert diff["emd"]["mean"] == 0 and not diff["emd"]["detectable"]
    with pytest.raises(ValueError, match="same test faces"):
        paired_to(base, {**better, "abs_yaw": better["abs_yaw"][::-1]})


def test_detected_landmarks_replace_the_input_only(linear_faces):
    _, _, test = linear_faces
    moved = with_landmarks(test[0], test[0]["landmarks2d"] + 1)
    assert np.allclose(moved["landmarks2d"], test[0]["landmarks2d"] + 1)
    assert moved["landmarks3d"] is test[0]["landmarks3d"]
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        with_landmarks(test[0], np.zeros((5, 2)))


def test_validation_choice_picks_the_lower_validation_cd(linear_faces):
    model, train, test = linear_faces
    meshes = np.stack([s["vertices"] for s in train])
    best, means = choose_on_validation(
        {"fit": LandmarkShapeFit(meshes, model.faces, model.landmark_index, k=8, lam=1e-3, iterations=10),
         "mean": MeanFace(meshes, model.faces, model.landmark_index)}, train[:6], gt_faces=model.faces, points=300)
    assert best == "fit" and means["fit"] < means["mean"]


def test_region_scores_are_near_the_floor_for_the_gt_itself_and_blind_to_a_similarity(linear_faces):
    from facerecon.comparison.region import region_scores
    model, _, test = linear_faces
    gt_v = test[0]["vertices"].astype(np.float64)
    gt = (gt_v, model.faces, gt_v[model.landmark_index])
    angle = 0.3
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    moved = 1.7 * gt_v @ rot.T + np.array([5.0, -3.0, 2.0])
    same = region_scores((moved, model.faces, moved[model.landmark_index]), gt, 300, torch.Generator().manual_seed(0))
    floor = region_scores(gt, gt, 300, torch.Generator().manual_seed(1))
    assert same[0] == pytest.approx(floor[0], rel=0.3)          # only the surface samples differ
    deeper = moved * np.array([1, 1, 1.5])
    off = region_scores((deeper, model.faces, deeper[model.landmark_index]), gt, 300, torch.Generator().manual_seed(0))
    assert off[0] > 1.5 * same[0] and off[1] > same[1]


def test_mediapipe_triangles_cover_its_points():
    from facerecon.landmarks.mediapipe68 import N_MEDIAPIPE, mediapipe_triangles
    tri = mediapipe_triangles()
    assert tri.shape[1] == 3 and 800 <= len(tri) <= 898
    assert tri.min() >= 0 and tri.max() < N_MEDIAPIPE and len(np.unique(tri)) == N_MEDIAPIPE


def test_relative_reduction_against_a_naive_bootstrap():
    rng = np.random.default_rng(3)
    reference = rng.uniform(1.0, 2.0, 60)
    scores = 0.7 * reference + rng.normal(0, 0.05, 60)
    out = relative_reduction(reference, scores, seed=5, resamples=500)
    assert out["mean"] == pytest.approx(1 - scores.mean() / reference.mean())
    draws = np.random.default_rng(5).integers(0, 60, (500, 60))
    naive = [1 - scores[d].mean() / reference[d].mean() for d in draws]
    assert out["ci95"] == pytest.approx([np.quantile(naive, 0.025), np.quantile(naive, 0.975)])
    assert out["ci95"][0] < 0.3 < out["ci95"][1]
    with pytest.raises(ValueError, match="same faces"):
        relative_reduction(reference, scores[:10])


def test_reduction_above_the_floor_is_the_share_of_the_removable_error():
    rng = np.random.default_rng(4)
    floor = rng.uniform(0.4, 0.6, 80)
    reference = floor + rng.uniform(0.5, 1.5, 80)
    scores = floor + 0.25 * (reference - floor)           # removes 75 % of what lies above the floor
    out = relative_reduction(reference, scores, floor=floor, seed=2, resamples=300)
    assert out["mean"] == pytest.approx(0.75)
    assert out["ci95"] == pytest.approx([0.75, 0.75])     # exact on every resample
    raw = relative_reduction(reference, scores)["mean"]
    assert raw == pytest.approx(1 - scores.mean() / reference.mean()) and raw < 0.75
    with pytest.raises(ValueError, match="floor must be scored on the same faces"):
        relative_reduction(reference, scores, floor=floor[:5])


def test_reductions_against_average_the_seeds_then_share_the_error_above_the_floor():
    from facerecon.comparison.scoring import reductions_against
    from facerecon.study.formatting import percent_interval

    rng = np.random.default_rng(6)
    floor = rng.uniform(0.4, 0.6, 50)
    reference = floor + rng.uniform(0.5, 1.5, 50)
    seeds = np.stack([floor + share * (reference - floor) for share in (0.2, 0.4, 0.6)])  # removing 80, 60, 40 %
    out = reductions_against(reference, seeds, floor, seed=1)
    assert out["above_floor"]["mean"] == pytest.approx(0.6)              # the seeds' mean model removes 60 %
    naive_raw = (sum(reference) - sum(seeds.mean(axis=0))) / sum(reference)
    assert out["raw"]["mean"] == pytest.approx(naive_raw) and out["raw"]["mean"] < 0.6
    assert out == reductions_against(reference, seeds.mean(axis=0), floor, seed=1)
    assert percent_interval({"mean": 0.2354, "ci95": [0.19749, 0.2726]}) == "23.5 % [19.7, 27.3]"


def test_interactive_examples_colour_each_prediction_by_its_error(linear_faces):
    from facerecon.figures.comparison import interactive_examples, surface_error

    model, train, test = linear_faces
    meshes = np.stack([s["vertices"] for s in train])
    s = test[0]
    predictions = {"mean face": MeanFace(meshes, model.faces, model.landmark_index)(s),
                   "the GT itself": Prediction(s["vertices"], model.faces, s["landmarks3d"])}
    fig = interactive_examples(s, model.faces, predictions, max_error=2.0)
    assert len(fig.data) == 3 and fig.data[0].intensity is None
    np.testing.assert_allclose(fig.data[1].intensity,
                               np.round(np.minimum(surface_error(predictions["mean face"].vertices, s["vertices"]), 2.0), 2))
    assert np.all(np.asarray(fig.data[2].intensity) == 0) and fig.data[1].cmax == 2.0
