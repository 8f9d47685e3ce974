import numpy as np
import torch
import pytest

from facerecon.data.ibug import FLIP_PAIRS
from facerecon.study.cache import RunCache
from facerecon.data.dataset import FaceDataset
from facerecon.data.generate import generate_synthface, load_synthface
from facerecon.data.morphable import EXPRESSION_NAMES, LANDMARKS_SV, FaceModel, FaceModelConfig, build_face_model
from facerecon.mesh.resample import TemplateResampler, disk_to_square
from facerecon.data.synthface import SynthFaceConfig, render_sample, yaw_bin_masks

SMALL = dict(resolution=32, image_size=64, supersample=1)
@pytest.fixture(scope="module")
def model():
    return build_face_model(FaceModelConfig(resolution=32))


def test_model_structure(model):
    assert len(model.id_basis) >= 40 and len(model.exp_basis) >= 10
    assert len(EXPRESSION_NAMES) == len(model.exp_basis)
    assert model.landmark_index.shape == (68,)
    np.testing.assert_allclose(model.uv[model.landmark_index], LANDMARKS_SV, atol=1e-6)
    # identity components are orthogonal, sorted by standard deviation
    flat = model.id_basis.reshape(len(model.id_basis), -1).astype(np.float64)
    gram = flat @ flat.T
    sd = np.sqrt(np.diag(gram))
    np.testing.assert_allclose(gram / np.outer(sd, sd), np.eye(len(sd)), atol=1e-4)
    assert np.all(np.diff(sd) <= 1e-6)
    # an open disk: Euler characteristic 1, every face counter-clockwise seen from the front (+z normals)
    edges = {tuple(sorted(e)) for f in model.faces for e in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0]))}
    assert model.n_vertices - len(edges) + len(model.faces) == 1
    a, b, c = (model.uv[model.faces[:, i]] for i in range(3))
    assert np.all((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0] > 0)


def test_landmarks_follow_ibug_layout(model):
    lm = model.mean[model.landmark_index]
    for a, b in FLIP_PAIRS:  # mirror pairs: x opposite, same height
        assert lm[a - 1, 0] == pytest.approx(-lm[b - 1, 0], abs=1e-3)
        assert lm[a - 1, 1] == pytest.approx(lm[b - 1, 1], abs=1e-3)
    assert lm[0, 0] < 0 < lm[16, 0]          # jaw starts on the subject's right (image left)
    assert lm[8, 1] == lm[:, 1].min()         # chin lowest
    assert lm[30, 2] == lm[:, 2].max()        # nose tip closest to the viewer
    assert lm[36:42, 1].mean() > lm[30, 1] > lm[48:60, 1].mean()  # eyes above nose above mouth


def test_model_save_load_roundtrip(model, tmp_path):
    model.save(tmp_path / "m.npz")
    loaded = FaceModel.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.id_basis, model.id_basis)
    assert loaded.config == model.config


def test_same_seed_byte_identical_different_seed_differs(model):
    cfg = SynthFaceConfig(n=4, seed=3, **SMALL)
    a, b = render_sample(model, cfg, 2), render_sample(model, cfg, 2)
    for key in a:
        assert np.asarray(a[key]).tobytes() == np.asarray(b[key]).tobytes(), key
    other = render_sample(model, SynthFaceConfig(n=4, seed=4, **SMALL), 2)
    assert a["image"].tobytes() != other["image"].tobytes()
    assert not np.allclose(a["id_coeffs"], other["id_coeffs"])


def test_train_and_test_splits_share_no_sample(model):
    """The same seed and index in the two splits give different faces (identity, expression, pose, image)."""
    n = 40
    train = [render_sample(model, SynthFaceConfig(split="train", n=n, seed=0, **SMALL), i) for i in range(n)]
    test = [render_sample(model, SynthFaceConfig(split="test", n=n, seed=0, **SMALL), i) for i in range(n)]
    train_ids = {np.round(s["id_coeffs"], 6).tobytes() for s in train}
    assert len(train_ids) == n
    assert not train_ids & {np.round(s["id_coeffs"], 6).tobytes() for s in test}
    distances = [np.abs(a["id_coeffs"] - b["id_coeffs"]).max() for a in train for b in test]
    assert min(distances) > 1e-3                              # not even a near-duplicate identity
    assert not {s["image"].tobytes() for s in train} & {s["image"].tobytes() for s in test}


def test_generation_is_independent_of_sharding(tmp_path):
    cfg_a = SynthFaceConfig(n=7, seed=1, shard_size=3, **SMALL)
    cfg_b = SynthFaceConfig(n=7, seed=1, shard_size=7, **SMALL)
    threads = torch.get_num_threads()
    generate_synthface(cfg_a, tmp_path / "a", workers=2, progress=False)
    generate_synthface(cfg_b, tmp_path / "b", workers=1, progress=False)
    assert torch.get_num_threads() == threads  # generation must not slow down later training in the same process
    da, db = FaceDataset(tmp_path / "a"), FaceDataset(tmp_path / "b")
    assert len(da) == len(db) == 7
    for i in range(7):
        sa, sb = da.sample(i), db.sample(i)
        assert sa["image"].tobytes() == sb["image"].tobytes()
        np.testing.assert_array_equal(sa["vertices"], sb["vertices"])
    with pytest.raises(FileExistsError, match="--overwrite"):
        generate_synthface(cfg_a, tmp_path / "a", progress=False)


def test_samples_follow_the_contract(tmp_path):
    cfg = SynthFaceConfig(n=12, seed=0, split="test", **SMALL)
    generate_synthface(cfg, tmp_path / "t", workers=1, progress=False)
    ds = FaceDataset(tmp_path / "t")
    s = ds.sample(5)
    assert s["image"].shape == (64, 64, 3) and s["image"].dtype == np.uint8
    v = s["vertices"]
    # the crop is the square around the projected GT mesh: the mesh touches both sides of its longer axis
    extent = v[:, :2].max(0) - v[:, :2].min(0)
    assert extent.max() == pytest.approx(64, rel=1e-4)
    assert abs(v[:, 2].mean()) < 1e-3                                 # zero-mean depth
    np.testing.assert_allclose(v[ds.model.landmark_index], s["landmarks3d"], atol=1e-3)
    item = ds[5]
    assert item["image"].shape == (3, 64, 64) and 0 <= item["image"].min() and item["image"].max() <= 1
    assert item["vertices"].shape == (ds.model.n_vertices, 3)
    assert ds.index["n"] == 12 and sum(ds.index["yaw_bin_counts"].values()) == 12


def test_pose_distributions():
    model = build_face_model(FaceModelConfig(resolution=32))
    from facerecon.data.synthface import sample_rng, sample_scene

    train = SynthFaceConfig(split="train", **SMALL)
    test = SynthFaceConfig(split="test", **SMALL)
    yaw_train = np.degrees([sample_scene(sample_rng(0, "train", i), model, train).pose[1] for i in range(2000)])
    yaw_test = np.degrees(np.abs([sample_scene(sample_rng(0, "test", i), model, test).pose[1] for i in range(2000)]))
    assert yaw_train.min() < -80 and yaw_train.max() > 80 and np.abs(yaw_train).max() <= 90
    shares = [np.mean(yaw_test <= 30), np.mean((yaw_test > 30) & (yaw_test <= 60)), np.mean(yaw_test > 60)]
    np.testing.assert_allclose(shares, np.array([1312, 383, 305]) / 2000, atol=0.03)


def test_cache_reuses_generated_split(tmp_path):
    cache = RunCache(tmp_path)
    cfg = SynthFaceConfig(n=3, seed=0, **SMALL)
    a = load_synthface(cfg, cache=cache, workers=1, progress=False)
    b = load_synthface(cfg, cache=cache, workers=1, progress=False)
    assert a.folder == b.folder
    c = load_synthface(SynthFaceConfig(n=3, seed=1, **SMALL), cache=cache, workers=1, progress=False)
    assert c.folder != a.folder


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        SynthFaceConfig(split="val")
    with pytest.raises(ValueError, match="crop_margin"):
        SynthFaceConfig(crop_margin=0.5)


def test_resampler_is_exact_for_affine_fields(model):
    rng = np.random.default_rng(0)
    target = disk_to_square(rng.uniform(-1, 1, (200, 2)) * 0.99)
    resampler = TemplateResampler(model.uv, model.faces, target)
    affine = np.array([[1.5, -0.3, 0.2], [0.4, 2.0, -1.0]])
    field = model.uv.astype(np.float64) @ affine + np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(resampler(field), target @ affine + np.array([1.0, 2.0, 3.0]), atol=1e-9)
    # a target point on a source vertex takes that vertex's value
    on_vertices = TemplateResampler(model.uv, model.faces, model.uv[model.landmark_index])
    np.testing.assert_allclose(on_vertices(model.mean), model.mean[model.landmark_index], atol=1e-4)


def test_disk_to_square_maps_boundary_to_square():
    theta = np.linspace(0, 2 * np.pi, 50)
    circle = np.stack([np.cos(theta), np.sin(theta)], 1)
    np.testing.assert_allclose(np.abs(disk_to_square(circle)).max(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(disk_to_square(np.zeros((1, 2))), 0.0)


def test_yaw_bins_are_closed_at_zero_and_half_open_above():
    masks = yaw_bin_masks(np.array([0.0, 30.0, 30.5, 60.0, 61.0, 90.0, 95.0]))
    assert list(masks) == ["[0,30]", "[30,60]", "[60,90]"]
    assert [np.flatnonzero(m).tolist() for m in masks.values()] == [[0, 1], [2, 3], [4, 5]]


def test_remembered_meshes_equal_rebuilt_ones_and_each_call_gets_its_own_copy(tmp_path, monkeypatch):
    import facerecon.data.dataset as dataset_module

    monkeypatch.setattr(dataset_module, "_remembered_vertices", type(dataset_module._remembered_vertices)())
    monkeypatch.setattr(dataset_module, "_remembered_bytes", 0)
    data = load_synthface(SynthFaceConfig(n=3, seed=0, **SMALL), cache=RunCache(tmp_path), workers=1, progress=False)
    rebuilt = [data.sample(i)["vertices"] for i in range(3)]          # the first call builds and remembers
    assert len(dataset_module._remembered_vertices) == 3
    first = data.sample(1)["vertices"]
    np.testing.assert_array_equal(first, rebuilt[1])
    first += 1.0                                                      # a caller changing its copy changes nothing else
    np.testing.assert_array_equal(data.sample(1)["vertices"], rebuilt[1])
    dataset_module._remembered_vertices.clear()
    monkeypatch.setattr(dataset_module, "_remembered_bytes", 0)
    monkeypatch.setattr(dataset_module, "REMEMBERED_VERTEX_BYTES", 2 * rebuilt[0].nbytes)
    for i in (0, 1, 0, 2):                                            # over the bound: the least recent is forgotten
        np.testing.assert_array_equal(data.sample(i)["vertices"], rebuilt[i])
    assert list(dataset_module._remembered_vertices) == [(data.cache_key, 0), (data.cache_key, 2)]
    outside = FaceDataset(data.folder)                                # a folder outside the cache is never remembered
    np.testing.assert_array_equal(outside.sample(0)["vertices"], rebuilt[0])
    assert (None, 0) not in dataset_module._remembered_vertices
