"""Real-data readers against format fixtures built here with scipy.io.savemat (and the real samples, if present)."""

import numpy as np
import pytest
import scipy.io
from PIL import Image

from facerecon.cli import main
from facerecon.data.convert import convert_dataset
from facerecon.data.dataset import FaceDataset
from facerecon.data.readers import DataFormatError, load_bfm, read_300wlp, read_aflw2000

N_VERTS = 40


def _tiny_bfm_arrays(rng):
    grid = np.stack(np.meshgrid(np.linspace(-80, 80, 8), np.linspace(-100, 100, 5)), -1).reshape(-1, 2)
    mu = np.concatenate([grid, rng.uniform(-5, 5, (N_VERTS, 1))], 1).reshape(-1, 1)
    tri = []
    for r in range(4):
        for c in range(7):
            a = r * 8 + c
            tri += [[a, a + 1, a + 8], [a + 1, a + 9, a + 8]]
    return {"mu": mu, "w": rng.normal(0, 1e3, (3 * N_VERTS, 199)) * 1e-4,
            "w_exp": rng.normal(0, 1.0, (3 * N_VERTS, 29)) * 1e-2, "tri": np.array(tri) + 1,
            "kpt": np.arange(68) % N_VERTS + 1}


@pytest.fixture
def bfm_face3d(tmp_path):
    a = _tiny_bfm_arrays(np.random.default_rng(0))
    model = {"shapeMU": a["mu"], "shapePC": a["w"], "shapeEV": np.ones((199, 1)), "expMU": np.zeros_like(a["mu"]),
             "expPC": a["w_exp"], "expEV": np.ones((29, 1)), "tri": a["tri"].astype(np.float64),
             "kpt_ind": a["kpt"].astype(np.float64)}
    path = tmp_path / "BFM.mat"
    scipy.io.savemat(path, {"model": model}, do_compression=True)
    return path


@pytest.fixture
def bfm_3ddfa(tmp_path):
    a = _tiny_bfm_arrays(np.random.default_rng(0))
    folder = tmp_path / "3ddfa"
    folder.mkdir()
    scipy.io.savemat(folder / "Model_Shape.mat", {"mu_shape": a["mu"], "w": a["w"], "tri": a["tri"].T.astype(np.float64),
                                                  "keypoints": (3 * (a["kpt"] - 1) + 1).astype(np.float64)[None]})
    scipy.io.savemat(folder / "Model_Expression.mat", {"mu_exp": np.zeros_like(a["mu"]), "w_exp": a["w_exp"]})
    return folder / "Model_Shape.mat"


def _write_pair(folder, stem, kind, rng, **override):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (450, 450, 3), dtype=np.uint8)).save(folder / f"{stem}.jpg")
    pose = np.array([[0.1, -0.4, 0.05, 225.0, 225.0, 0.0, 1.0]], np.float32)
    d = {"Illum_Para": np.zeros((1, 10)), "Color_Para": np.zeros((1, 7), np.float32),
         "Tex_Para": np.zeros((199, 1)), "Shape_Para": rng.normal(size=(199, 1)), "Exp_Para": rng.normal(size=(29, 1)),
         "Pose_Para": pose, "roi": np.zeros((1, 4), np.int16)}
    if kind == "aflw2000":
        d["pt2d"] = np.full((2, 21), -1.0)
        pts = np.stack([rng.uniform(150, 300, 68), rng.uniform(150, 320, 68), rng.uniform(-50, 50, 68)])
        d["pt3d_68"] = pts.astype(np.float32)
    else:
        d["pt2d"] = np.stack([rng.uniform(150, 300, 68), rng.uniform(150, 320, 68)])
    d.update(override)
    d = {k: v for k, v in d.items() if v is not None}
    scipy.io.savemat(folder / f"{stem}.mat", d, do_compression=True)
    return folder / f"{stem}.mat"


def test_bfm_layouts_agree(bfm_face3d, bfm_3ddfa):
    a, b = load_bfm(bfm_face3d), load_bfm(bfm_3ddfa)
    assert a.n_vertices == b.n_vertices == N_VERTS
    np.testing.assert_allclose(a.mean, b.mean)
    np.testing.assert_array_equal(a.faces, b.faces)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert a.faces.min() == 0 and a.faces.max() == N_VERTS - 1
    assert load_bfm(bfm_3ddfa.parent).n_vertices == N_VERTS  # a folder works too


def test_wrong_bfm_layout_is_named(tmp_path):
    path = tmp_path / "Exp_Pca.mat"
    scipy.io.savemat(path, {"something": np.zeros(3)})
    with pytest.raises(DataFormatError, match=r"Exp_Pca.mat: not a BFM file.*'model'.*'mu_shape'"):
        load_bfm(path)
    with pytest.raises(DataFormatError, match="BFM file not found"):
        load_bfm(tmp_path / "missing.mat")


def test_aflw2000_with_and_without_bfm(tmp_path, bfm_face3d):
    rng = np.random.default_rng(1)
    mat = _write_pair(tmp_path / "AFLW2000", "image00001", "aflw2000", rng)
    plain = read_aflw2000(mat)
    assert plain.image.shape == (113, 113, 3) and plain.vertices is None
    assert np.isfinite(plain.landmarks3d).all()
    assert plain.landmarks2d.min() >= -1e-6 and plain.landmarks2d.max() <= 113  # box from the landmarks
    meshed = read_aflw2000(mat, load_bfm(bfm_face3d))
    assert meshed.vertices.shape == (N_VERTS, 3)
    assert abs(meshed.vertices[:, 2].mean()) < 1e-4
    extent = meshed.vertices[:, :2].max(0) - meshed.vertices[:, :2].min(0)
    assert extent.max() == pytest.approx(113, rel=1e-5)  # the box is the mesh's, as the paper crops


def test_300wlp_landmark_file_preferred(tmp_path):
    rng = np.random.default_rng(2)
    mat = _write_pair(tmp_path / "300W_LP" / "AFW", "AFW_1051618982_1_0", "300wlp", rng)
    lm_dir = tmp_path / "300W_LP" / "landmarks" / "AFW"
    lm_dir.mkdir(parents=True)
    pts = np.stack([np.linspace(180, 260, 68), np.linspace(190, 300, 68)], 1)
    scipy.io.savemat(lm_dir / "AFW_1051618982_1_0_pts.mat", {"pts_2d": pts, "pts_3d": pts})
    s = read_300wlp(mat)
    assert np.isnan(s.landmarks3d[:, 2]).all()
    # the landmark file's points (a line) define the box: they span it diagonally
    np.testing.assert_allclose(s.landmarks2d[[0, -1]], [[113 * 0.5 - 113 * 80 / 110 / 2, 0], [56.5 + 113 * 80 / 220, 113]],
                               atol=1e-3)


@pytest.mark.parametrize("override, message", [
    ({"Pose_Para": None}, r"key 'Pose_Para' \(pitch, yaw, roll.*is missing"),
    ({"pt3d_68": np.zeros((2, 68), np.float32)}, r"key 'pt3d_68' has shape \(2, 68\), expected \(3, 68\)"),
])
def test_bad_mat_is_named(tmp_path, override, message):
    mat = _write_pair(tmp_path, "image00002", "aflw2000", np.random.default_rng(3), **override)
    with pytest.raises(DataFormatError, match=f"image00002.mat: {message}"):
        read_aflw2000(mat)


def test_unreadable_jpeg_and_folders(tmp_path):
    mat = _write_pair(tmp_path / "A", "image00003", "aflw2000", np.random.default_rng(4))
    (tmp_path / "A" / "image00003.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataFormatError, match="image00003.jpg: unreadable image"):
        read_aflw2000(mat)
    with pytest.raises(DataFormatError, match="dataset folder not found"):
        convert_dataset("aflw2000", tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no samples found"):
        convert_dataset("aflw2000", tmp_path / "empty", tmp_path / "out")
    (tmp_path / "notmat").mkdir()
    (tmp_path / "notmat" / "image00009.mat").write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="image00009.mat: not a readable MATLAB"):
        read_aflw2000(tmp_path / "notmat" / "image00009.mat")


def test_convert_stops_or_skips_bad_files(tmp_path, bfm_3ddfa, capsys):
    rng = np.random.default_rng(5)
    root = tmp_path / "AFLW2000"
    for k in range(4):
        _write_pair(root, f"image0000{k}", "aflw2000", rng)
    (root / "image00002.jpg").write_bytes(b"corrupt")
    with pytest.raises(DataFormatError, match="image00002.jpg"):
        convert_dataset("aflw2000", root, tmp_path / "out", bfm_path=bfm_3ddfa)
    assert not (tmp_path / "out").exists()  # nothing half-written
    code = main(["data", "convert", "--dataset", "aflw2000", "--root", str(root), "--bfm", str(bfm_3ddfa),
                 "--out", str(tmp_path / "out"), "--skip-bad", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "3 samples converted, 1 skipped" in out and "image00002.jpg" in out
    ds = FaceDataset(tmp_path / "out")
    assert len(ds) == 3 and ds.has_mesh and ds.index["bad_files"][0]["file"].endswith("image00002.mat")
    item = ds[0]
    assert item["vertices"].shape == (N_VERTS, 3) and ds.faces.shape[1] == 3
    # refuses to overwrite what is there
    assert main(["data", "convert", "--dataset", "aflw2000", "--root", str(root), "--out", str(tmp_path / "out"),
                 "--skip-bad", "--no-progress"]) == 2


@pytest.mark.real_samples
def test_real_aflw2000_samples(real_samples):
    files = sorted((real_samples / "AFLW2000").glob("*.mat"))
    assert len(files) >= 1
    for f in files:
        s = read_aflw2000(f)
        assert s.image.shape == (113, 113, 3)
        assert np.isfinite(s.landmarks3d).all()
        assert s.landmarks2d.min() > -1 and s.landmarks2d.max() < 114
        assert abs(s.pose[1]) < np.pi / 2 + 0.2
        # a face: the nose tip below the eyes, and between them horizontally unless the head is turned far
        eyes = s.landmarks2d[36:48].mean(0)
        assert s.landmarks2d[30, 1] > eyes[1] - 5
        if abs(s.pose[1]) < np.pi / 4:
            right_eye, left_eye = s.landmarks2d[36:42, 0].mean(), s.landmarks2d[42:48, 0].mean()
            assert min(right_eye, left_eye) < s.landmarks2d[30, 0] < max(right_eye, left_eye)


@pytest.mark.real_samples
def test_real_300wlp_sample(real_samples):
    files = sorted((real_samples / "300W_LP").glob("*/*.mat"))
    if not files:
        pytest.skip("no 300W-LP sample")
    s = read_300wlp(files[0])
    assert s.image.shape == (113, 113, 3) and np.isnan(s.landmarks3d[:, 2]).all()
    assert s.pose.shape == (3,)
