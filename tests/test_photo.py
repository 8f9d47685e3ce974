"""Photos to meshes: framing, model files, photo reading, and ``facerecon reconstruct`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facerecon.cli import main
from facerecon.data.camera import CropBox, crop_box_from_points
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.metrics import landmark_nme
from facerecon.photo.demo import demo_face, demo_photo
from facerecon.photo.files import read_photo
from facerecon.photo.framing import LandmarkFraming, crop_to_image, measure_framing
from facerecon.photo.pipeline import PhotoReconstructor
from facerecon.photo.shipped import SHIPPED_MODEL, photo_calibration
from facerecon.study.cache import RunCache
from facerecon.training.config import named_config
from facerecon.training.model_files import LoadedModel, load_model, save_safetensors
from facerecon.training.trainer import CheckpointError, build_models

def state_dicts_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Whether two modules hold the same tensors under the same names (bitwise)."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_crop_box_to_image_inverts_apply():
    box = CropBox(12.5, -7.0, 250.0)
    points = np.random.default_rng(0).normal(100, 40, (20, 3))
    np.testing.assert_allclose(crop_to_image(box, box.apply(points)), points, atol=1e-9)
    naive = np.array([[box.x0 + x * box.side / box.size, box.y0 + y * box.side / box.size, z * box.side / box.size]
                      for x, y, z in points])
    np.testing.assert_allclose(crop_to_image(box, points), naive, atol=1e-9)


def test_framing_measured_on_crops_recovers_their_box_in_a_photo():
    rng = np.random.default_rng(1)
    # landmark sets inside a 113-pixel crop, all with one box: the measured framing must give the crop back
    base = rng.uniform((31, 26), (89, 84), (68, 2))
    base[0], base[1] = (30, 25), (90, 85)            # the box: 60 × 60, centre (60, 55)
    framing = measure_framing(np.stack([base, base + rng.normal(0, 0.01, base.shape)]))
    assert framing.side_ratio == pytest.approx(113 / 60, rel=1e-3)
    assert (framing.offset_x, framing.offset_y) == pytest.approx(((56.5 - 60) / 60, (56.5 - 55) / 60), abs=1e-3)
    photo_box = CropBox(300.0, 120.0, 226.0)          # where the crop sits in some photo
    recovered = framing.box(crop_to_image(photo_box, base))
    assert (recovered.x0, recovered.y0, recovered.side) == pytest.approx((300.0, 120.0, 226.0), abs=0.05)
    with pytest.raises(ValueError, match="68 finite points"):
        framing.box(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="side_ratio"):
        LandmarkFraming(0.0, 0.0, 0.0)


def test_safetensors_model_round_trips_bitwise_and_foreign_files_are_refused(tmp_path):
    cfg = named_config("full", architecture="smoke", batch_size=4, gt_points=128, steps=1)
    torch.manual_seed(0)
    generator, _ = build_models(cfg)
    path = save_safetensors(generator, cfg, tmp_path / "g.safetensors", {"note": "test"})
    loaded = load_model(path)
    assert state_dicts_equal(loaded.generator, generator) and loaded.config == cfg
    assert loaded.provenance == {"note": "test"}
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a facerecon generator"):
        load_model(tmp_path / "other.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_model(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError, match="generator.pt"):
        load_model(tmp_path / "missing")
    with pytest.raises(ValueError, match="must end in"):
        save_safetensors(generator, cfg, tmp_path / "g.pt")


def test_read_photo_names_the_file_and_the_problem(tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ValueError, match=r"notes\.jpg: unreadable image"):
        read_photo(tmp_path / "notes.jpg")
    with pytest.raises(ValueError, match=r"absent\.png: image file not found"):
        read_photo(tmp_path / "absent.png")
    Image.fromarray(np.zeros((20, 30, 4), np.uint8)).save(tmp_path / "rgba.png")
    assert read_photo(tmp_path / "rgba.png").shape == (20, 30, 3)


@pytest.fixture(scope="module")
def face_photo(tmp_path_factory):
    """The most frontal of 8 SynthFace test faces that MediaPipe finds, drawn into a 640×480 photo, and its 68
    landmarks there."""
    folder = tmp_path_factory.mktemp("photo")
    test = load_synthface(SynthFaceConfig(split="test", n=8, seed=0, resolution=40),
                          cache=RunCache(folder / "cache"), workers=1, progress=False)
    photo, landmarks, _ = demo_face(test)
    Image.fromarray(photo).save(folder / "face.png")
    return folder / "face.png", landmarks


def test_demo_photo_places_the_landmarks_on_the_face():
    image = np.zeros((113, 113, 3), np.uint8)
    image[40, 70] = 255                                  # one bright pixel at crop (x=70, y=40)
    sample = {"image": image, "landmarks3d": np.tile([[70.0, 40.0, 0.0]], (68, 1))}
    photo, landmarks = demo_photo(sample, scale=3, at=(100, 50), size=(500, 400))
    y, x = np.unravel_index(np.argmax(photo.astype(int).sum(-1) - 3 * 128), photo.shape[:2])
    assert np.abs(landmarks[0] - (x, y)).max() <= 1.0
    with pytest.raises(ValueError, match="does not fit"):
        demo_photo(sample, scale=3, at=(300, 50), size=(500, 400))


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in this checkout")
def test_reconstruct_round_trips_a_face_drawn_into_a_photo(face_photo, tmp_path, capsys):
    path, gt = face_photo
    assert main(["reconstruct", str(path), "--out", str(tmp_path / "out"), "--format", "ply"]) == 0
    record = json.loads((tmp_path / "out" / "face.json").read_text())
    assert set(record) == {"image", "box", "landmarks68", "detector_landmarks68", "denoiser", "model", "ms"}
    mesh_lm, detector_lm = np.array(record["landmarks68"]), np.array(record["detector_landmarks68"])
    assert mesh_lm.shape == detector_lm.shape == (68, 2)
    # the mesh must land on the face: its landmarks near the truth in the photo's pixels, and no worse than
    # 1.5× the detector whose landmarks it was given
    assert landmark_nme(mesh_lm, gt) < max(15.0, 1.5 * landmark_nme(detector_lm, gt))
    x0, y0, x1, y1 = record["box"]
    gt_box = crop_box_from_points(gt)
    assert x0 < gt_box.x0 + 0.2 * gt_box.side and x1 > gt_box.x0 + 0.8 * gt_box.side
    assert record["denoiser"] in ("none", "nl_means", "tv")
    import trimesh
    mesh = trimesh.load(tmp_path / "out" / "face.ply", process=False)
    model = load_model(SHIPPED_MODEL)
    assert len(mesh.vertices) == len(model.generator.output_uv) and len(mesh.faces) > 0
    # the landmark check above would pass with the model's prior alone (it is handed these landmarks): the written
    # mesh must be the trained model's (torch, in process) and not its posed prior
    framing, ranking = photo_calibration(model)
    photo = read_photo(path)
    trained = PhotoReconstructor(model, framing, ranking)(photo).vertices
    prior_model = LoadedModel(model.generator.prior_only(), model.config, model.provenance)
    prior = PhotoReconstructor(prior_model, framing, ranking)(photo).vertices
    np.testing.assert_allclose(mesh.vertices, trained, atol=0.01)
    assert np.abs(np.asarray(mesh.vertices) - prior).max() > 1.0
    height, width, _ = np.asarray(Image.open(tmp_path / "out" / "face_overlay.jpg")).shape
    assert 480 <= max(height, width) <= 480 * (1 + 2 * 0.25) + 1     # the face region at a fixed face size


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in this checkout")
def test_reconstruct_reports_bad_inputs_and_processes_the_rest(face_photo, tmp_path, capsys):
    path, _ = face_photo
    (tmp_path / "notes.jpg").write_text("not an image")
    yy, xx = np.mgrid[:240, :320]
    Image.fromarray(np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)).save(tmp_path / "wall.png")
    out = tmp_path / "out"
    code = main(["reconstruct", str(tmp_path / "notes.jpg"), str(tmp_path / "wall.png"), str(path), "--out", str(out),
                 "--no-denoise"])
    err = capsys.readouterr().err
    assert code == 1
    assert "notes.jpg: unreadable image" in err and "wall.png: no face found" in err
    assert "2 of 3 photos failed" in err
    assert json.loads((out / "face.json").read_text())["denoiser"] == "off"
    assert sorted(p.name for p in out.iterdir()) == ["face.json", "face.obj", "face_overlay.jpg"]


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in this checkout")
def test_shipped_model_is_small_safetensors_with_its_calibration():
    assert SHIPPED_MODEL.stat().st_size <= 20e6
    model = load_model(SHIPPED_MODEL)
    framing, ranking = photo_calibration(model)
    assert 1.0 < framing.side_ratio < 2.5 and set(ranking) == {0.0, 0.1, 0.25, 0.5}
    assert "SynthFace" in model.provenance["trained_on"] and model.provenance["git_commit"]
    assert json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())["photo"] == model.provenance["photo"]


# --- every image mode, and bad arguments found before anything heavy is loaded --------------------------------

REAL_FACE = Path(__file__).resolve().parents[2] / "shared" / "real-samples" / "AFLW2000" / "image00050.jpg"


@pytest.fixture(scope="module")
def real_or_demo_face(face_photo):
    """A real face (an AFLW2000-3D sample beside the project) when there is one, else the demo photo."""
    return REAL_FACE if REAL_FACE.is_file() else face_photo[0]


def _grey(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


MODES = {   # mode → (how to write the photo in it, the 8-bit RGB image it must read as)
    "I;16 (16-bit grey PNG)": (lambda rgb: Image.fromarray(_grey(rgb).astype(np.uint16) * 257),
                               lambda rgb: np.repeat(_grey(rgb)[..., None], 3, -1)),
    "L (8-bit grey)": (lambda rgb: Image.fromarray(_grey(rgb)), lambda rgb: np.repeat(_grey(rgb)[..., None], 3, -1)),
    "LA (grey and alpha)": (lambda rgb: Image.fromarray(_grey(rgb)).convert("LA"),
                            lambda rgb: np.repeat(_grey(rgb)[..., None], 3, -1)),
    "RGBA (opaque)": (lambda rgb: Image.fromarray(rgb).convert("RGBA"), lambda rgb: rgb),
    "P (palette)": (lambda rgb: Image.fromarray(rgb).quantize(256),
                    lambda rgb: np.asarray(Image.fromarray(rgb).quantize(256).convert("RGB"))),
    "CMYK (JPEG)": (lambda rgb: Image.fromarray(rgb).convert("CMYK"),
                    lambda rgb: np.asarray(Image.fromarray(rgb).convert("CMYK").convert("RGB"))),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_image_mode_reads_as_its_8_bit_rgb_image(real_or_demo_face, tmp_path, mode):
    """A 16-bit grey PNG read as white (Pillow's convert clips it) was reported as "no face found"."""
    rgb = np.asarray(Image.open(real_or_demo_face).convert("RGB"))
    write, expected = MODES[mode]
    path = tmp_path / ("photo.jpg" if "JPEG" in mode else "photo.png")
    write(rgb).save(path)
    got = read_photo(path)
    tolerance = 3 if "JPEG" in mode else 0          # a JPEG's own compression, not the reading
    assert got.dtype == np.uint8 and got.shape == rgb.shape
    assert np.abs(got.astype(int) - expected(rgb).astype(int)).mean() <= tolerance


def test_transparency_is_white_and_unknown_modes_are_refused_by_name(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :15, 3] = 255                           # the left half opaque red, the right half transparent
    Image.fromarray(rgba).save(tmp_path / "half.png")
    got = read_photo(tmp_path / "half.png")
    assert (got[:, :15] == [200, 0, 0]).all() and (got[:, 15:] == 255).all()
    from facerecon.data.readers import to_rgb8
    with pytest.raises(ValueError, match=r"face\.tif: image mode LAB is not supported"):
        to_rgb8(Image.new("LAB", (20, 20)), "face.tif")


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in this checkout")
def test_a_16_bit_photo_gives_the_mesh_of_its_8_bit_version(real_or_demo_face, tmp_path):
    rgb = np.asarray(Image.open(real_or_demo_face).convert("RGB"))
    grey8 = _grey(rgb)
    Image.fromarray(grey8).save(tmp_path / "grey8.png")
    Image.fromarray(grey8.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    model = load_model(SHIPPED_MODEL)
    framing, ranking = photo_calibration(model)
    reconstruct = PhotoReconstructor(model, framing, ranking)
    meshes = [reconstruct(read_photo(tmp_path / name)).vertices for name in ("grey8.png", "grey16.png")]
    np.testing.assert_array_equal(meshes[0], meshes[1])


def test_bad_arguments_are_refused_before_anything_heavy_is_loaded(tmp_path, capsys, monkeypatch):
    """A missing photo, a folder given as a photo and an unusable --out are reported without loading the model
    (PhotoReconstructor would fail here if it were reached)."""
    import facerecon.photo.pipeline as pipeline

    monkeypatch.setattr(pipeline, "PhotoReconstructor", None)
    (tmp_path / "a_file").write_text("")
    assert main(["reconstruct", str(tmp_path / "absent.jpg"), "--out", str(tmp_path / "a_file")]) == 2
    assert "a_file exists and is not a folder" in capsys.readouterr().err
    code = main(["reconstruct", str(tmp_path / "absent.jpg"), str(tmp_path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "absent.jpg: image file not found" in err and "is a folder, not a photo" in err
    assert "2 of 2 photos failed" in err
    assert main(["reconstruct", str(tmp_path / "absent.jpg"), "--out", str(tmp_path / "o"),
                 "--model", str(tmp_path / "nope.safetensors")]) == 2
    assert "nope.safetensors: file not found" in capsys.readouterr().err
    assert main(["reconstruct", str(tmp_path / "absent.jpg"), "--out", str(tmp_path / "o"), "--threads", "0"]) == 2
    assert "--threads must be at least 1" in capsys.readouterr().err


def test_photos_with_the_same_name_get_numbered_outputs():
    from facerecon.cli.reconstruct import output_stems

    assert output_stems([Path("a/face.jpg"), Path("b/face.png"), Path("c/Face.jpg"), Path("d/other.jpg")]) == [
        "face", "face-2", "Face-3", "other"]


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in this checkout")
def test_same_named_photos_in_two_folders_both_survive(face_photo, tmp_path, capsys):
    path, _ = face_photo
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "face.png").write_bytes(path.read_bytes())
    out = tmp_path / "out"
    assert main(["reconstruct", str(tmp_path / "a" / "face.png"), str(tmp_path / "b" / "face.png"), "--out",
                 str(out), "--no-denoise"]) == 0
    assert json.loads((out / "face.json").read_text())["image"].endswith("a/face.png")
    assert json.loads((out / "face-2.json").read_text())["image"].endswith("b/face.png")


@pytest.mark.parametrize("face_px, photo", [(120, (480, 640)), (2000, (4000, 6000))])
def test_overlay_shows_the_face_region_at_one_size_whatever_the_photo(face_px, photo):
    """A 120-pixel face in a small photo and a 2,000-pixel face in a 6000×4000 photo give overlays of the same
    size, and the wireframe does not cover the face (drawn at the photo's scale it became a solid patch)."""
    from facerecon.photo.files import OVERLAY_FACE_PX, overlay
    from facerecon.photo.pipeline import PhotoReconstruction

    n = 40                                               # a 40×40 grid of vertices over the face box
    u, v = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    x0, y0 = photo[1] / 3, photo[0] / 4
    vertices = np.stack([x0 + u.ravel() * face_px, y0 + v.ravel() * face_px, np.zeros(n * n)], -1)
    quads = np.arange(n * n).reshape(n, n)[:-1, :-1].ravel()
    faces = np.concatenate([np.stack([quads, quads + 1, quads + n], -1), np.stack([quads + 1, quads + n + 1, quads + n], -1)])
    result = PhotoReconstruction(vertices=vertices, faces=faces, box=CropBox(x0, y0, face_px),
                                 landmarks68=vertices[::24][:68, :2], detector_landmarks68=vertices[:68, :2],
                                 crop=np.zeros((113, 113, 3), np.uint8), denoiser="off", ms=0.0, stage_ms={})
    image = np.full((*photo, 3), 128, np.uint8)
    drawn = overlay(image, result)
    assert np.abs(np.array(drawn.shape[:2]) - 1.5 * OVERLAY_FACE_PX).max() <= 8     # whole pixels of the photo
    changed = np.abs(drawn.astype(int) - 128).sum(-1) > 10
    assert 0.05 < changed.mean() < 0.5                   # lines visible, the face still seen between them


def test_exif_rotation_is_undone(real_or_demo_face, tmp_path):
    """A phone photo stored sideways with EXIF orientation 6 (turn 90° clockwise to view) reads upright."""
    rgb = np.asarray(Image.open(real_or_demo_face).convert("RGB"))
    stored = Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90)     # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    got = read_photo(tmp_path / "phone.jpg")
    assert got.shape == rgb.shape
    assert np.abs(got.astype(int) - rgb.astype(int)).mean() < 4           # JPEG's own loss only


@pytest.mark.parametrize("fmt", ["obj", "ply"])
def test_written_meshes_load_back_with_their_vertex_order(tmp_path, fmt):
    import trimesh

    from facerecon.photo.files import write_mesh

    rng = np.random.default_rng(0)
    vertices, faces = rng.normal(0, 100, (50, 3)), rng.integers(0, 50, (80, 3))
    mesh = trimesh.load(write_mesh(tmp_path / f"m.{fmt}", vertices, faces), process=False)
    np.testing.assert_allclose(mesh.vertices, vertices, atol=1e-5)
    np.testing.assert_array_equal(mesh.faces, faces)
    with pytest.raises(ValueError, match="mesh format 'stl' unknown"):
        write_mesh(tmp_path / "m.stl", vertices, faces)
