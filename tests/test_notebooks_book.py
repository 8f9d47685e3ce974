"""Every chapter's smoke results (from nbval's run of the committed notebooks, or papermill when run alone),
asserted against an independent recomputation where one is cheap; then the strict, offline book."""

import math
import re

import numpy as np
import pytest
import torch

from facerecon.study.book import build_book, external_assets
from facerecon.study.results import load_results
from facerecon.study.runner import list_notebooks


def _record(stem, root):
    record = load_results(stem, "smoke", root)
    return record["results"], record["provenance"]["params"]


def test_every_notebook_ran(smoke_run, root):
    for stem in list_notebooks(root):
        prov = load_results(stem, "smoke", root)["provenance"]
        assert prov["profile"] == "smoke"
        assert {"params", "git_commit", "versions", "device", "seed", "wall_time_s"} <= prov.keys()


def test_data_notebook_results(smoke_run, root):
    res, params = _record("00_data", root)
    assert res["model"]["n_identity"] >= 40 and res["model"]["n_expression"] >= 10
    assert res["train"]["n"] == params["n_train"] and res["test"]["n"] == params["n_test"]
    assert sum(res["test"]["yaw_bin_counts"].values()) == params["n_test"]
    assert res["train"]["max_abs_yaw_deg"] <= 90
    assert res["samples_per_minute"] > 0


def test_data_notebook_v2_measures_reproduce(smoke_run, root):
    from facerecon.data.generate import load_synthface
    from facerecon.data.landmark_information import DEFAULT_LAMBDAS
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.landmarks.cnn import DetectorConfig, predict, train_or_load_detector

    res, params = _record("00_data", root)
    assert res["synthface_version"] == 2 and res["hidden"]["landmark_gap"] < 1e-6
    info = res["landmark_information"]
    assert info["n_train"] + info["n_validation"] == min(params["explain_train"], params["n_train"])
    assert len(info["oracle_3d"]) == len(info["realistic_2d"]) == len(info["exact_inversion"]) == info["n_test"]
    assert info["lambda"] in DEFAULT_LAMBDAS.tolist()
    # a fit that sees only the landmarks cannot beat, over the faces, each face's exact identity and expression
    assert info["oracle_3d_mean"] >= info["exact_inversion_mean"] > 0
    cfg = dict(seed=params["seed"], resolution=params["resolution"])
    train = load_synthface(SynthFaceConfig(split="train", n=params["n_train"], **cfg), profile="smoke")
    test = load_synthface(SynthFaceConfig(split="test", n=params["n_test"], **cfg), profile="smoke")
    # the detector table: the cached CNN on the same faces gives the same NME
    tables = res["detectors"]["nme"]
    assert set(tables) == {"landmark CNN (ours)", "MediaPipe (mapped)"}
    detector = train_or_load_detector(DetectorConfig(**res["detectors"]["cnn_config"]), train, profile="smoke")
    n = min(params["detector_eval"], len(test))
    samples = [test.sample(i) for i in range(n)]
    predicted = predict(detector.model, np.stack([s["image"] for s in samples]))
    # plain Python: mean point distance over √(w·h) of the GT's 2D box, ×100, averaged over the faces of a bin
    per_face = []
    for pred, s in zip(predicted, samples):
        gt = [(float(x), float(y)) for x, y in s["landmarks2d"][:, :2]]
        w = max(x for x, _ in gt) - min(x for x, _ in gt)
        h = max(y for _, y in gt) - min(y for _, y in gt)
        dist = sum(math.hypot(float(px) - x, float(py) - y) for (px, py), (x, y) in zip(pred[:, :2], gt)) / len(gt)
        per_face.append(100 * dist / math.sqrt(w * h))
    yaw = [abs(math.degrees(float(s["pose"][1]))) for s in samples]
    assert sum(per_face) / n == pytest.approx(tables["landmark CNN (ours)"]["all"]["nme"], rel=1e-5)
    for lo, hi in ((0, 30), (30, 60), (60, 90)):     # the first bin closed, the others (lo, hi]
        in_bin = [v for v, y in zip(per_face, yaw) if (lo < y or lo == y == 0) and y <= hi]
        stored = tables["landmark CNN (ours)"][f"[{lo},{hi}]"]
        assert stored["n"] == stored["detected"] == len(in_bin)
        if in_bin:
            assert sum(in_bin) / len(in_bin) == pytest.approx(stored["nme"], rel=1e-5), (lo, hi)
    assert tables["MediaPipe (mapped)"]["all"]["n"] == n


def test_noise_notebook_results(smoke_run, root):
    from facerecon.denoise.evaluation import REPORTED

    res, params = _record("01_noise_table1", root)
    levels = [str(lv) for lv in params["levels"]]
    assert set(res["table1"]) == {"noisy", *params["methods"], *params["classical"]}
    for method, entry in res["table1"].items():
        assert set(entry["psnr"]) == set(levels) == set(entry["ssim"])
        assert entry["n"] == (params["classical_n"] if method in params["classical"] else params["n_test"])
    assert res["reported"] == REPORTED      # the chapter stores what it compared with (checked against the paper: test_reported)
    # the learned-vs-classical gap is taken on the classical anchors' images, for every method
    for gap in res["learned_vs_classical"].values():
        assert gap["n"] == params["classical_n"] and gap["learned"] in params["methods"]
    assert len(res["calibration"]) == 6 and len(res["selection"]) == len(levels)


@pytest.fixture(scope="module")
def book_html(smoke_run, root):
    """The strict build of this run's executed chapters (built once for the tests below)."""
    return build_book(root, strict=True).parent


def test_book_builds_strictly_and_offline(book_html, root):
    html = book_html
    assert external_assets(html) == []
    pages = {p.stem for p in (html / "_executed").glob("*.html")}
    assert set(list_notebooks(root)) <= pages
    assert (html / "_static" / "plotly.min.js").is_file()
    data_page = (html / "_executed" / "00_data.html").read_text()
    assert "plotly-graph-div" in data_page and "_static/plotly.min.js" in data_page
    intro = (html / "book" / "intro.html").read_text()
    assert "_static/mathjax/" in intro and "smoke" in intro


def test_book_pages_are_this_runs(book_html, root):
    """The pages show this run's outputs: its commit (``+dirty`` only when the tree is), its times, and no folder
    of any machine."""
    from facerecon.study.provenance import git_commit

    html = book_html
    commit = git_commit(root)
    intro = (html / "book" / "intro.html").read_text()
    assert commit in intro and "nan s" not in intro and "nan\u00a0s" not in intro
    times = re.findall(r"<td[^>]*>(?:<p>)?([\d.]+) s(?:</p>)?</td>", intro)
    assert len(times) >= len(list_notebooks(root)) and all(float(t) > 0 for t in times), times
    for stem in list_notebooks(root):
        page = (html / "_executed" / f"{stem}.html").read_text()
        assert f"commit {commit} " in page, f"{stem}: the page does not show this run's commit {commit}"
        assert "+dirty" not in page or commit.endswith("+dirty"), stem
        text = re.sub(r"<[^>]+>", " ", page)
        assert str(root) not in text and not MACHINE_PATH.search(text), f"{stem}: a machine path on the page"


def test_external_asset_check_catches_cdn(tmp_path):
    (tmp_path / "p.html").write_text('<script src="https://cdn.plot.ly/plotly.js"></script>'
                                     '<link href="//fonts.example.com/x.css" rel="stylesheet">'
                                     "<script>var THEBE_JS_URL = 'https://unpkg.com/thebe.js'</script>")
    assert [u for _, u in external_assets(tmp_path)] == ["https://cdn.plot.ly/plotly.js", "//fonts.example.com/x.css"]


def test_generator_notebook_results(smoke_run, root):
    res, _ = _record("04_generator_discriminator", root)
    paper = res["paper_layout"]
    assert [lv["vertices"] for lv in paper["mesh_levels"]] == [141, 491, 1821, 7001]
    assert paper["mesh_levels"][-1]["faces"] == 13440
    assert paper["encoder"]["stages"][-1] == [320, 29, 29] and paper["discriminator"]["gcn_block_width"] == 96
    assert res["timings"]["generator_paper_batch1_ms"] > 0
    m = res["metrics_example"]
    floor = m["GT, another sample of its surface"]["CD/K"]
    # resampling the GT onto the generator's topology costs no more than sampling noise; the template is far off
    assert m["GT resampled onto the template"]["CD/K"] < 1.5 * floor
    assert m["template (untrained output)"]["CD/K"] > 3 * m["GT resampled onto the template"]["CD/K"]


def test_gan_modifications_toy_results_reproduce(smoke_run, root):
    from facerecon.models.gan2d import Toy2DConfig, variants
    from facerecon.training.gan2d import train_toy

    res, params = _record("03_gan_modifications", root)
    toy = res["toy"]["variants"]
    assert set(toy) == set(variants())
    for v in toy.values():
        assert len(v["modes_covered"]) == len(params["toy_seeds"])
    # the reported counts are what the toy GAN gives: rerun one variant independently
    again = train_toy(Toy2DConfig(steps=params["toy_steps"], seed=params["toy_seeds"][0], **variants()["all (paper)"]))
    assert toy["all (paper)"]["modes_covered"][0] == again["modes_covered"]
    assert toy["all (paper)"]["high_quality"][0] == pytest.approx(again["high_quality"])


def _naive_cd_per_point(mesh_of, samples, gt_faces, *, points: int, seed: int) -> float:
    """Mean over ``samples`` of Chamfer per point (squared nearest-neighbour distances both ways, each direction's
    mean), neighbours from the full distance matrix, surface samples drawn as the chapters draw them (the GT's
    first, from one seeded stream). ``mesh_of(sample) -> (vertices, faces)``: the prediction in crop pixels."""
    from facerecon.metrics import metric_points

    gen = torch.Generator().manual_seed(seed)
    values = []
    for sample in samples:
        gt = metric_points(sample["vertices"], gt_faces, points, gen)
        pred = metric_points(*mesh_of(sample), points, gen)
        squared = ((pred[:, None, :] - gt[None, :, :]) ** 2).sum(-1)
        values.append(squared.min(1).sum() + squared.min(0).sum())
    return float(np.mean(values) / points)


def _mesh_of(predict):
    """``sample -> (vertices, faces)`` of a Table-3 predictor (its ``Prediction``), for :func:`_naive_cd_per_point`."""
    def mesh(sample):
        prediction = predict(sample)
        return prediction.vertices, prediction.faces
    return mesh


def test_gan_modifications_mesh_results_reproduce(smoke_run, root):
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.training.cached import run_config, train_or_load, train_settings
    from facerecon.training.evaluate import evaluate, generator_predictor, mean_face_baseline

    res, params = _record("03_gan_modifications", root)
    mesh = res["mesh"]
    expected = {"mean-face baseline", "full", "vanilla_gan", "no_gan"}
    if params["paper_inputs_check"]:
        expected |= {"no_gan, paper's inputs", "no_gan, paper's template and inputs"}
    expected |= {f"full, adversarial weight {w:g}" for w in params["adversarial_weights_check"]}
    assert set(mesh) == expected
    for scores in mesh.values():
        assert scores["n"] == params["eval_n"] and sum(b["n"] for b in scores["by_yaw"].values()) == params["eval_n"]
    # one shape for every input: the baseline's diversity is computed, and it is nil
    assert mesh["mean-face baseline"]["diversity_ratio"] < 1e-6 < mesh["full"]["diversity_ratio"]
    # the baseline's and the main model's CD, recomputed from the data and the cached model with brute-force
    # nearest neighbours (the chapter's evaluate uses k-d trees) on the same surface samples
    test = load_synthface(SynthFaceConfig(split="test", n=params["n_test"], seed=0,
                                          resolution=params["resolution"]), profile="smoke")
    kw = dict(n=params["eval_n"], points=params["eval_points"], seed=params["seed"])
    samples = [test.sample(i) for i in range(params["eval_n"])]
    naive = dict(points=params["eval_points"], seed=params["seed"])
    baseline = mean_face_baseline(test)
    base = _naive_cd_per_point(lambda s: (baseline(s), test.faces), samples, test.faces, **naive)
    assert base == pytest.approx(mesh["mean-face baseline"]["cd_per_point"], rel=1e-9)
    cfg, data = run_config("full", seed=params["seed"], **train_settings(params))
    trained = train_or_load(cfg, data, profile="smoke", progress=False)
    assert trained.reused, "the chapter's main model should be in the run cache"
    predict, faces = generator_predictor(trained.generator), trained.generator.faces(-1).numpy()
    ours_cd = _naive_cd_per_point(lambda s: (predict(s), faces), samples, test.faces, **naive)
    assert ours_cd == pytest.approx(mesh["full"]["cd_per_point"], rel=1e-6)
    ours = evaluate(predict, faces, test, **kw)     # EMD: the exact assignment has no simpler reference
    assert ours["emd_per_point"] == pytest.approx(mesh["full"]["emd_per_point"], rel=1e-6)
    main = res["main_model"]
    assert main["training"]["steps"] == params["steps"] and main["cd_per_point"] == mesh["full"]["cd_per_point"]
    # the share of the baseline's CD above the sampling floor (the GT against itself resampled) that ours removes
    floor = _naive_cd_per_point(lambda s: (s["vertices"], test.faces), samples, test.faces, **naive)
    assert floor == pytest.approx(res["sampling_floor_cd_per_point"], rel=1e-9) and 0 < floor < base
    assert main["reduction"]["above_floor"]["mean"] == pytest.approx((base - ours_cd) / (base - floor), rel=1e-6)
    assert main["reduction"]["raw"]["mean"] == pytest.approx(1 - ours_cd / base, rel=1e-6)
    assert not main["cache_entry"].startswith("/"), "committed results carry paths relative to the project root"


def _naive_stability(values: list[float], tail: float, window: int) -> dict[str, float]:
    """The tail's mean, population std, least-squares slope × 100 and the RMS of its residual around a centred
    moving average, in plain Python: an independent reference for ``training.stability.stability_stats``."""
    part = values[int(round(len(values) * (1 - tail))):]
    n = len(part)
    mean = sum(part) / n
    std = (sum((v - mean) ** 2 for v in part) / n) ** 0.5
    t_mean = (n - 1) / 2
    slope = sum((t - t_mean) * (v - mean) for t, v in enumerate(part)) / sum((t - t_mean) ** 2 for t in range(n))
    w = max(1, min(window, n))
    trend = [sum(part[i:i + w]) / w for i in range(n - w + 1)]
    start = (n - len(trend)) // 2
    residual = [part[start + i] - trend[i] for i in range(len(trend))]
    return {"mean": mean, "spread": std, "oscillation": (sum(r * r for r in residual) / len(residual)) ** 0.5,
            "drift": slope * 100}


def test_loss_stability_results_reproduce(smoke_run, root):
    from facerecon.training.cached import run_config, train_or_load, train_settings

    res, params = _record("07_loss_stability", root)
    assert set(res["stability"]) == {"full", "vanilla_gan", "no_gan"}
    assert "d_loss" in res["stability"]["full"] and "d_loss" not in res["stability"]["no_gan"]
    for name, model in res["stability"].items():
        assert len(model["g_total"]["per_seed"]) == len(params["seeds"])
        cfg, data = run_config(name, seed=params["seeds"][-1], **train_settings(params))
        logs = train_or_load(cfg, data, profile="smoke", progress=False).logs
        again = _naive_stability([row["g_chamfer"] for row in logs], tail=params["tail"], window=params["window"])
        assert model["g_chamfer"]["per_seed"][-1] == pytest.approx(again, rel=1e-9, abs=1e-12)
        assert res["oscillation"]["g_chamfer"][name][0] == pytest.approx(
            np.mean([s["oscillation"] for s in model["g_chamfer"]["per_seed"]]))
    # seed 0 was shared with 03 through the run cache: the same training summary
    main = load_results("03_gan_modifications", "smoke", root)["results"]["main_model"]["training"]
    assert res["training"]["full"][0]["wall_time_s"] == main["wall_time_s"]


def test_augmentation_results_schema_and_a_seed_reproduces(smoke_run, root):
    from facerecon.augment.diffusion import DiffusionConfig, train_or_load_diffusion
    from facerecon.augment.edits import EditConfig
    from facerecon.augment.pairs import augmented_split
    from facerecon.comparison.predictors import generator_prediction
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.training.cached import SPLIT_KEYS, train_or_load_on, train_settings
    from facerecon.training.config import named_config

    res, params = _record("02_augmentation", root)
    assert set(res["generators"]) == {"pixel", "latent"}
    assert res["generators"]["latent"]["final_loss"].keys() == {"autoencoder", "denoiser"}
    rows = res["consistency"]["rows"]
    assert len(rows) == 6 and sum(r["minus_real"] is not None for r in rows.values()) == 2
    assert set(res["consistency"]["follows_mesh"]) == {"pixel", "latent"}
    assert all(len(v) == params["consistency_n"] for v in res["consistency"]["per_image"].values())
    for kind, sweep in res["ddim_sweep"].items():
        assert [r["steps"] for r in sweep] == params["ddim_sweep"] and all(r["pairs_per_s"] > 0 for r in sweep)
    assert res["determinism"]["same_seed_same_mesh_identical"] and res["determinism"]["mean_abs_change_after_smile"] > 0
    assert sum(res["pairs"]["counts"].values()) == params["n_pairs"]
    ww = res["with_without"]
    for arm in ("with", "without"):
        assert len(ww["arms"][arm]["cd"]["per_seed"]) == len(params["aug_seeds"])
    assert ww["cd"]["ci95"][0] <= ww["cd"]["mean"] <= ww["cd"]["ci95"][1]
    assert ww["verdict"] == {True: "helps" if ww["cd"]["mean"] < 0 else "hurts",
                             False: "no effect detectable at this budget"}[ww["cd"]["detectable"]]
    row = res["table4_row"]          # the ablation chapter's schema (issue 15)
    assert row["variant"] == "without augmentation" and row["seeds"] == params["aug_seeds"]
    assert {"mean", "std", "ci95"} <= row["cd"].keys() and {"mean", "ci95"} <= row["delta_vs_full"]["emd"].keys()
    assert row["delta_vs_full"]["cd"]["mean"] == pytest.approx(-ww["cd"]["mean"])
    assert ww["arm_minus_mean_face"]["with"]["cd"]["mean"] == pytest.approx(
        ww["arms"]["with"]["cd"]["mean"] - ww["mean_face"]["cd"]["mean"])
    # the last seed of the "with" arm, rebuilt from the run cache and scored again
    train = load_synthface(SynthFaceConfig(split="train", n=params["n_train"], seed=0,
                                           resolution=params["resolution"]), profile="smoke")
    test = load_synthface(SynthFaceConfig(split="test", n=params["n_test"], seed=0,
                                          resolution=params["resolution"]), profile="smoke")
    chosen = res["chosen_generator"]["kind"]
    diffusion = train_or_load_diffusion(DiffusionConfig.from_dict(res["generators"][chosen]["config"]), train,
                                        params["n_real"], profile="smoke")
    assert diffusion.reused, "the chapter's generator is in the run cache"
    augmented = augmented_split(train, params["n_real"], diffusion=diffusion, n_pairs=params["n_pairs"],
                                edits=tuple(params["edits"]), edit=EditConfig(**res["pairs"]["edit"]),
                                ddim_steps=params["ddim_steps"], seed=params["seed"], profile="smoke")
    settings = {k: v for k, v in train_settings(params).items() if k not in SPLIT_KEYS}
    cfg = named_config("full", seed=params["aug_seeds"][-1], **{**settings, "steps": params["aug_steps"],
                                                               "checkpoint_every": params["aug_steps"]})
    trained = train_or_load_on(cfg, augmented, {"data": {"augmented_split": augmented.index["augmentation"]}},
                               profile="smoke", progress=False)
    assert trained.reused
    predict = generator_prediction(trained.generator, train.uv[train.model.landmark_index])
    again = _naive_cd_per_point(_mesh_of(predict),
                                [test.sample(i) for i in range(params["eval_n"])], train.faces,
                                points=params["eval_points"], seed=params["seed"])
    assert ww["arms"]["with"]["cd"]["per_seed"][-1] == pytest.approx(again, rel=1e-9)
    # the share of the mean face's CD above the sampling floor (the GT against itself resampled) each arm removes
    floor = _naive_cd_per_point(lambda s: (s["vertices"], train.faces), [test.sample(i) for i in range(params["eval_n"])],
                                train.faces, points=params["eval_points"], seed=params["seed"])
    assert ww["sampling_floor"]["cd"] == pytest.approx(floor, rel=1e-9)
    mean_face = ww["mean_face"]["cd"]["mean"]
    for arm in ("with", "without"):
        arm_cd = np.mean(ww["arms"][arm]["cd"]["per_seed"])
        assert ww["arm_reduction"][arm]["above_floor"]["mean"] == pytest.approx(
            (mean_face - arm_cd) / (mean_face - floor), rel=1e-6)


def test_table3_results_schema_and_a_row_reproduces(smoke_run, root):
    from facerecon.comparison.predictors import MeanFace
    from facerecon.comparison.reported import PAPER_TABLE3, margins
    from facerecon.comparison.scoring import score_faces
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.training.cached import train_settings

    res, params = _record("05_table3_comparison", root)
    rows = [r for r in res["table"] if r["dataset"] == "SynthFace v2 test"]
    learned = {"3DMM regression CNN", "paper's recipe", "ours", "ours without the GAN", "ours, landmark part only"}
    for setting in ("dataset", "detected"):
        assert {r["method"] for r in rows if r["setting"] == setting} >= learned | {"mean face", "landmark 3DMM fit"}
    for r in rows:
        assert {"method", "setting", "dataset", "n", "cd", "emd", "nme2d", "nme3d", "ms_per_image"} <= r.keys()
        assert r["cd"]["ci95"][0] <= r["cd"]["mean"] <= r["cd"]["ci95"][1]
    assert all(r["n"] == params["eval_n"] for r in rows if "MediaPipe" not in r["method"])
    assert set(res["lr_selection"]) >= learned
    assert all(len(v["values"]) == len(params["lr_multipliers"]) for k, v in res["lr_selection"].items()
               if k in learned - {"ours"})
    # one definition of ours: trained once at the profile's settings, never tuned here
    assert res["lr_selection"]["ours"]["tuned"] is None and len(res["lr_selection"]["ours"]["values"]) == 1
    assert res["lr_selection"]["ours"]["chosen"] == train_settings(params)["lr_generator"]
    assert res["reported"]["table3"]["Ours"] == list(PAPER_TABLE3["Ours"])
    assert margins()["AFLW2000-3D EMD"]["rank"] == 5
    assert "light from the camera axis (degrees)" in res["robustness"]["curves"]
    # the reductions against the mean face, naively from the table's own CD means
    target = res["target_vs_mean_face"]
    cd = {r["method"]: r["cd"]["mean"] for r in rows if r["setting"] == "dataset"}
    for row in ("ours", "ridge from landmarks", "GT on the output mesh (oracle)"):
        assert target["reductions"][row]["mean"] == pytest.approx(1 - cd[row] / cd["mean face"], rel=1e-9)
        assert target["above_floor"][row]["mean"] == pytest.approx(
            (cd["mean face"] - cd[row]) / (cd["mean face"] - cd["GT, resampled (floor)"]), rel=1e-9)
    assert res["ridge"]["lambda"] in params["ridge_lambdas"]
    assert set(res["learning"]) >= learned and all(v["samples_seen"] == params["steps"] * params["batch_size"]
                                                    for v in res["learning"].values())
    # the mean-face row, recomputed from the data
    train = load_synthface(SynthFaceConfig(split="train", n=params["n_train"], seed=0,
                                           resolution=params["resolution"]), profile="smoke")
    test = load_synthface(SynthFaceConfig(split="test", n=params["n_test"], seed=0,
                                          resolution=params["resolution"]), profile="smoke")
    meshes = np.stack([train.sample(i)["vertices"] for i in range(len(train))])
    scores = score_faces(MeanFace(meshes, train.faces, train.model.landmark_index),
                         [test.sample(i) for i in range(params["eval_n"])], gt_faces=train.faces,
                         points=params["eval_points"], seed=params["seed"])
    row = next(r for r in rows if r["method"] == "mean face" and r["setting"] == "dataset")
    assert row["cd"]["mean"] == pytest.approx(scores["cd"].mean(), rel=1e-9)
    assert row["nme2d"]["mean"] == pytest.approx(scores["nme2d"].mean(), rel=1e-9)
    # ours is the GAN chapter's main model: one cache entry for both chapters
    gan = load_results("03_gan_modifications", "smoke", root)["results"]["main_model"]
    assert res["training"]["ours"]["cache_entry"] == gan["cache_entry"]


def test_photos_results_and_the_demo_reproduces(smoke_run, root):
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.metrics import landmark_nme
    from facerecon.photo.demo import demo_face
    from facerecon.photo.pipeline import PhotoReconstructor
    from facerecon.photo.shipped import SHIPPED_MODEL, photo_calibration
    from facerecon.training.model_files import load_model

    res, params = _record("09_photos", root)
    assert {"model", "framing", "denoise_ranking", "demo", "real", "timing"} <= res.keys()
    assert res["model"]["vertices"] > 0 and res["timing"]["total_ms"] > 0
    if res["real"]["n"]:
        assert res["real"]["reconstructed"] == len([f for f in res["real"]["per_face"] if f["reconstructed"]])
        assert set(res["real"]["targets"]) == {"all_reconstructed", "within_1_5x_mediapipe"}
    # the demo, recomputed
    model = load_model(params["model"] or SHIPPED_MODEL)
    framing, ranking = photo_calibration(model)
    assert res["framing"] == framing.to_dict()
    photo, truth, _ = demo_face(load_synthface(SynthFaceConfig(split="test", n=params["demo_faces"], seed=0,
                                                               resolution=40), profile="smoke"))
    result = PhotoReconstructor(model, framing, ranking if params["denoise"] else None)(photo)
    assert res["demo"]["nme_mesh"] == pytest.approx(landmark_nme(result.landmarks68, truth), rel=1e-6)


READS_REAL_SAMPLES = re.compile(r"real_samples_dir|read_aflw2000\(|read_300wlp\(")
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:home|root|work|tmp|Users|mnt)/")   # /data/... is the readers' example
COMMIT_HASH = re.compile(r"\b[0-9a-f]{40}\b|commit [0-9a-f]{7,40}")


def _committed_notebooks(root):
    import nbformat

    return {path.name: nbformat.read(path, as_version=4)
            for path in sorted((root / "notebooks").glob("*.ipynb"))}


def _output_texts(cell):
    for output in cell.get("outputs", []):
        yield output.get("text", "")
        for mime, value in output.get("data", {}).items():
            if isinstance(value, str) and not mime.startswith("image/"):
                yield value


def test_real_data_cells_store_no_outputs_and_are_not_compared(root):
    """A cell that reads the real samples is tagged real-data: its outputs (faces, crops, per-face tables) are
    never stored, and nbval does not compare them, so a clone without the samples passes."""
    from facerecon.study.runner import REAL_DATA_TAG

    tagged = 0
    for name, notebook in _committed_notebooks(root).items():
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            tags = cell.get("metadata", {}).get("tags", [])
            reads = bool(READS_REAL_SAMPLES.search(cell.source)) and "parameters" not in tags \
                and not cell.source.lstrip().startswith(("from ", "import "))
            assert not reads or REAL_DATA_TAG in tags, f"{name}: a cell reads the real samples untagged: " \
                                                       f"{cell.source[:80]!r}"
            if REAL_DATA_TAG in tags:
                tagged += 1
                assert "nbval-ignore-output" in tags and not cell.get("outputs"), f"{name}: {cell.source[:60]}"
    assert tagged >= 3   # 00, 05 and 09 read them


def test_committed_notebooks_hold_no_machine_path_and_no_commit(root):
    for name, notebook in _committed_notebooks(root).items():
        for cell in notebook.cells:
            for text in _output_texts(cell):
                assert not MACHINE_PATH.search(text), f"{name}: a machine path in {text[:200]!r}"
                assert str(root) not in text, f"{name}: the checkout's path in {text[:200]!r}"
                assert not COMMIT_HASH.search(text), f"{name}: a stored commit in {text[:200]!r}"


def test_the_checks_find_what_they_look_for():
    assert MACHINE_PATH.search("results written to /work/main/_results/smoke/00_data.json")
    assert not MACHINE_PATH.search("results written to _results/smoke/00_data.json (see ../shared/real-samples)")
    assert COMMIT_HASH.search("facerecon 0.1.0 | commit 701bd9c+dirty | device")
    assert not COMMIT_HASH.search("facerecon 0.1.0 | commit not-stored | device")
    assert READS_REAL_SAMPLES.search('real_root = (find_root() / real_samples_dir).resolve()')


def test_claims_chapter_decides_what_its_chapters_measured(smoke_run, root):
    from facerecon.claims import CHAPTERS, evaluate_claims
    from facerecon.claims.verdicts import VERDICTS

    res, _ = _record("08_claims", root)
    assert sum(res["counts"].values()) == len(res["claims"]) and set(res["counts"]) == set(VERDICTS)
    chapters = {}
    for stem in CHAPTERS:
        try:
            chapters[stem] = load_results(stem, "smoke", root)["results"]
        except FileNotFoundError:
            chapters[stem] = None
    claims = {c["id"]: c for c in res["claims"]}
    assert len(claims) == len(evaluate_claims({}))            # every claim once, whatever was measured
    # a chapter that has results decides its claims; only chapters without results leave claims pending
    for c in res["claims"]:
        if c["chapter"] in chapters and chapters[c["chapter"]] is not None:
            assert c["verdict"] != "pending", c["id"]
    # Table 1, recomputed naively from 01's cells: reproduced exactly when within 2 standard errors of our mean
    from facerecon.denoise.evaluation import REPORTED
    table1 = chapters["01_noise_table1"]["table1"]
    for method, metrics in REPORTED.items():
        for metric, reported in metrics.items():
            for k, level in enumerate(("0.1", "0.25", "0.5", "0.75")):
                mean, std = table1[method][metric][level]
                within = abs(reported[k] - mean) <= 2 * std / table1[method]["n"] ** 0.5
                assert (claims[f"T1-{method}-{metric}-{float(level):g}"]["verdict"] == "reproduced") == within
    # Table 3's orders, recomputed naively from 05's paired differences (family − ours)
    from facerecon.comparison.reported import COLUMNS, PAPER_TABLE3
    analogue = {"3DDFA": "landmark 3DMM fit", "Deep3D": "3DMM regression CNN", "DECA": "3DMM regression CNN"}
    for method, family in analogue.items():
        for j, column in enumerate(COLUMNS):
            d = chapters["05_table3_comparison"]["paired_to_ours"][f"{family} (dataset)"][column.split()[-1].lower()]
            paper_ours_lower = PAPER_TABLE3["Ours"][j] < PAPER_TABLE3[method][j]
            agrees = (d["ci95"][0] > 0) if paper_ours_lower else (d["ci95"][1] < 0)
            assert (claims[f"T3-order-{method}-{column}"]["verdict"] == "reproduced") == agrees


def test_ablation_results_schema_and_the_gcn_row_reproduces(smoke_run, root):
    from facerecon.comparison.ablation import get_variant
    from facerecon.comparison.predictors import generator_prediction
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.training.cached import run_config, train_or_load, train_settings

    res, params = _record("06_table4_ablation", root)
    rows = {r["variant"]: r for r in res["ablation"]}
    trained = [rows[name] for name in params["variants"]]
    denoising = [rows[f"without denoising (σ = {level:g})"] for level in params["noise_levels"]]
    one_seed = len(params["seeds"]) < 2          # smoke: no interval over seeds, hence no verdict
    for row in trained + denoising:
        assert row["seeds"] == params["seeds"]
        assert row["verdict"] in ("helps", "hurts", "no effect detectable at this budget")
        for m in ("cd", "emd"):
            delta = row["delta_vs_full"][m]
            assert set(row[m]) >= {"mean", "std", "ci95"}
            if one_seed:
                assert row[m]["ci95"] == delta["ci95"] == [None, None] and not delta["detectable"]
                continue
            assert row[m]["ci95"][0] <= row[m]["mean"] <= row[m]["ci95"][1]
            assert delta["ci95"][0] <= delta["mean"] <= delta["ci95"][1]
            assert delta["detectable"] == (delta["ci95"][0] > 0 or delta["ci95"][1] < 0)
        undetectable = not row["delta_vs_full"]["cd"]["detectable"]
        assert (row["verdict"] == "no effect detectable at this budget") == undetectable
    assert rows["without augmentation"] == load_results("02_augmentation", "smoke", root)["results"]["table4_row"]
    for row in trained:   # each trained row's difference is its mean minus the full model's
        assert row["delta_vs_full"]["cd"]["mean"] == pytest.approx(row["cd"]["mean"] - res["full"]["cd"]["mean"])
    # the full model is ours of Table 3: the profile's training settings, so its first seed is the run-cache entry
    # that 03 and 05 trained before (reused here, not trained again)
    assert res["full_settings"] == train_settings(params)
    assert res["training"]["full model"][0]["reused"]
    # the without-GCN row: its first seed rebuilt from the run cache and rescored on the same faces
    train = res["full_settings"]
    cfg, data = run_config("full", seed=params["seeds"][0], **get_variant("without GCN").settings(train))
    model = train_or_load(cfg, data, profile="smoke", progress=False)
    assert not model.generator.config.message_passing
    test = load_synthface(SynthFaceConfig(split="test", n=params["n_test"], seed=0, resolution=params["resolution"]),
                          profile="smoke")
    split = load_synthface(data, profile="smoke")
    predict = generator_prediction(model.generator, split.uv[split.model.landmark_index])
    again = _naive_cd_per_point(_mesh_of(predict),
                                [test.sample(i) for i in range(min(params["eval_n"], len(test)))], split.faces,
                                points=params["eval_points"], seed=params["seed"])
    assert rows["without GCN"]["cd"]["per_seed"][0] == pytest.approx(again)
    # the share of the mean face's CD above the sampling floor that the full model (its seeds' mean) removes
    floor = _naive_cd_per_point(lambda s: (s["vertices"], split.faces),
                                [test.sample(i) for i in range(min(params["eval_n"], len(test)))], split.faces,
                                points=params["eval_points"], seed=params["seed"])
    assert res["sampling_floor"]["cd"] == pytest.approx(floor, rel=1e-9)
    full_cd, mean_face = np.mean(res["full"]["cd"]["per_seed"]), res["mean_face"]["cd"]
    assert res["full_reduction"]["above_floor"]["mean"] == pytest.approx((mean_face - full_cd) / (mean_face - floor),
                                                                         rel=1e-6)
    assert res["full_reduction"]["raw"]["mean"] == pytest.approx(1 - full_cd / mean_face, rel=1e-6)
    # the full model is ours of 03 (shared through the run cache): the same training run
    main = load_results("03_gan_modifications", "smoke", root)["results"]["main_model"]["training"]
    assert res["training"]["full model"][0]["wall_time_s"] == main["wall_time_s"]
    assert res["identity_training_speed"] is None or "identity blocks" in res["identity_training_speed"]
