"""The generator without torch: its ONNX export gives the torch model's mesh, and ``facerecon reconstruct``'s
default path never imports torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from facerecon.comparison.prediction import exported_prediction
from facerecon.comparison.predictors import generator_prediction
from facerecon.data.landmark_uv import LANDMARKS_SV
from facerecon.mesh.pose import fit_weak_perspective, fit_weak_perspective_closed_form, weak_perspective_solver
from facerecon.mesh.template import hemisphere
from facerecon.models.export import example_inputs, export_onnx, file_sha256
from facerecon.models.generator import GeneratorConfig, MeshGenerator
from facerecon.models.graph import MeshGraphConv
from facerecon.models.onnx_runtime import OnnxGenerator
from facerecon.photo.shipped import SHIPPED_MODEL, SHIPPED_ONNX, load_photo_model
from facerecon.training.config import named_config
from facerecon.training.model_files import load_model


def _random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    return q * np.sign(np.linalg.det(q))[:, None, None]            # proper rotations


def test_closed_form_pose_equals_the_svd_fit():
    """The polar factor in closed form (no SVD: ONNX has none) gives the SVD fit's scale, rotation and
    translation, on exact weak-perspective views and on noisy ones (where the affine camera is not a scaled
    rotation and the two differ only if the formula is wrong)."""
    rng = np.random.default_rng(0)
    model = torch.tensor(rng.normal(size=(68, 3)))
    rotation = torch.tensor(_random_rotations(32, rng))
    scale = torch.tensor(rng.uniform(0.3, 2.0, 32))
    shift = torch.tensor(rng.normal(size=(32, 2)))
    flipped = model * model.new_tensor([1.0, -1.0, 1.0])
    image = scale[:, None, None] * (flipped @ rotation.transpose(1, 2))[..., :2] + shift[:, None]
    image = image + 0.05 * torch.tensor(rng.normal(size=image.shape))
    expected = fit_weak_perspective(model, image)
    got = fit_weak_perspective_closed_form(*weak_perspective_solver(model), image)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("aggr", ["add", "mean"])
def test_gathered_graph_convolution_equals_the_sparse_product(aggr):
    """The neighbour-table aggregation (ONNX can express it) against the sparse product, on a directed graph
    with different degrees and a vertex without incoming edges, whole and by parts."""
    torch.manual_seed(0)
    edges = torch.tensor([[0, 0, 1, 2, 3, 4, 4, 2], [1, 2, 2, 3, 1, 0, 3, 1]])
    conv = MeshGraphConv(4, 3, aggr).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    sparse = conv(x, edges), conv.forward_parts([x[..., :3], x[:, 0, 3:]], edges)
    conv.gather = True
    gathered = conv(x, edges), conv.forward_parts([x[..., :3], x[:, 0, 3:]], edges)
    for a, b in zip(gathered, sparse):
        torch.testing.assert_close(a, b)


def _assert_same_batch_mesh(exported: OnnxGenerator, generator: MeshGenerator, batch: int = 2) -> None:
    """The exported graph on a batch of :func:`example_inputs` gives the torch generator's last mesh (crop pixels)."""
    images, landmarks = example_inputs(batch=batch)
    with torch.no_grad():
        want = generator(images, landmarks)[-1].numpy() * 113
    got = exported.session.run(["vertices"], {"image": images.numpy(), "landmarks": landmarks.numpy()})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-3)


def _posed_generator(aggregation: str) -> MeshGenerator:
    """A small generator with the paper-scale prior and landmark pathways (mean face, residual landmarks, shape
    basis) and random weights everywhere, the zero-initialized heads included."""
    base = named_config("full", architecture="smoke", batch_size=2, gt_points=64, steps=1).generator
    config = dataclasses.replace(base, prior="mean_face", landmarks="residual", landmark_shape=True,
                                 aggregation=aggregation)
    torch.manual_seed(0)
    generator = MeshGenerator(config)
    template = hemisphere(config.template)
    dist = ((template.uv[:, None] - LANDMARKS_SV[None]) ** 2).sum(-1)
    mean_face = template.vertices * np.array([1.0, 1.2, 0.5])
    generator.set_mean_face(mean_face, template.uv, template.faces, dist.argmin(0))
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.add_(0.002 * torch.randn_like(parameter))
    return generator.eval()


@pytest.mark.parametrize("aggregation", ["add", "mean"])
def test_onnx_export_gives_the_torch_mesh(tmp_path, aggregation):
    generator = _posed_generator(aggregation)
    config_dict = {"note": "test"}
    path = export_onnx(generator, config_dict, tmp_path / "g.onnx", {"trained_on": "nothing"})
    exported = OnnxGenerator(path)
    np.testing.assert_array_equal(exported.faces, generator.faces(-1).numpy())
    np.testing.assert_array_equal(exported.output_uv, generator.output_uv)
    assert exported.config == config_dict and exported.provenance == {"trained_on": "nothing"}
    torch_predict, onnx_predict = generator_prediction(generator, LANDMARKS_SV), exported_prediction(exported,
                                                                                                     LANDMARKS_SV)
    images, landmarks = example_inputs(batch=3)
    for image, points in zip(images, landmarks):
        sample = {"image": (image.permute(1, 2, 0).numpy() * 255).astype(np.uint8), "landmarks2d": points.numpy()}
        want, got = torch_predict(sample), onnx_predict(sample)
        assert np.abs(want.vertices).max() > 10                  # a mesh in crop pixels, not zeros
        np.testing.assert_allclose(got.vertices, want.vertices, rtol=1e-5, atol=2e-3)
        np.testing.assert_allclose(got.landmarks, want.landmarks, rtol=1e-5, atol=2e-3)
    _assert_same_batch_mesh(exported, generator, batch=len(images))


class _RecordingSession:
    """An ONNX Runtime session that keeps what it was fed."""

    def __init__(self, session):
        self.session, self.fed = session, []

    def run(self, names, feeds):
        self.fed.append(feeds)
        return self.session.run(names, feeds)


def test_onnx_runtime_feeds_what_the_torch_predictor_feeds(tmp_path):
    """The image the exported model reads is the torch predictor's (RGB channels first, [0, 1], float32): the
    random test generator barely reads its image, so a wrong scale would pass the mesh comparison above."""
    exported = OnnxGenerator(export_onnx(_posed_generator("mean"), {}, tmp_path / "g.onnx"))
    exported.session = _RecordingSession(exported.session)
    crop = np.random.default_rng(0).integers(0, 256, (113, 113, 3), dtype=np.uint8)
    landmarks = np.random.default_rng(1).uniform(30, 80, (68, 2))
    exported(crop, landmarks)
    fed = exported.session.fed[0]
    expected = (torch.from_numpy(crop).permute(2, 0, 1).float()[None] / 255).numpy()
    assert fed["image"].dtype == np.float32 and fed["landmarks"].dtype == np.float32
    np.testing.assert_array_equal(fed["image"], expected)
    np.testing.assert_array_equal(fed["landmarks"], landmarks[None].astype(np.float32))


def test_foreign_and_broken_onnx_files_are_refused(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="junk.onnx: not an ONNX model"):
        OnnxGenerator(tmp_path / "junk.onnx")
    torch.onnx.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),), str(tmp_path / "linear.onnx"), dynamo=False)
    with pytest.raises(ValueError, match="linear.onnx: not a facerecon generator"):
        OnnxGenerator(tmp_path / "linear.onnx")
    with pytest.raises(FileNotFoundError, match="absent.onnx"):
        OnnxGenerator(tmp_path / "absent.onnx")
    with pytest.raises(ValueError, match="must end in .onnx"):
        export_onnx(_posed_generator("add"), {}, tmp_path / "g.pt")


@pytest.mark.skipif(not SHIPPED_ONNX.is_file(), reason="the shipped model is not in this checkout")
def test_the_shipped_onnx_is_the_shipped_safetensors(tmp_path):
    """Re-shipping the safetensors without its export (or the other way round) fails here: the export names its
    source by SHA-256 and gives its mesh."""
    exported = load_photo_model()
    assert isinstance(exported, OnnxGenerator) and exported.path == SHIPPED_ONNX
    assert exported.provenance["exported_from"] == {"file": SHIPPED_MODEL.name, "sha256": file_sha256(SHIPPED_MODEL)}
    loaded = load_model(SHIPPED_MODEL)
    assert exported.provenance["photo"] == loaded.provenance["photo"]
    _assert_same_batch_mesh(exported, loaded.generator)


@pytest.mark.skipif(not SHIPPED_ONNX.is_file(), reason="the shipped model is not in this checkout")
def test_reconstruct_never_imports_torch_and_gives_the_torch_models_mesh(tmp_path):
    """The default path runs without torch (about 1 s of start-up saved), and its mesh is the one the same photo
    gives through the torch model (``--model ours_cpu.safetensors``)."""
    from facerecon.cli import main

    rng = np.random.default_rng(0)
    photo = (rng.random((200, 240, 3)) * 40 + 100).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "wall.png")   # no face: the model is still loaded, then the photo fails
    script = ("import sys; from facerecon.cli import main; code = main(sys.argv[1:]); "
              "print('torch loaded' if 'torch' in sys.modules else 'no torch'); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, "reconstruct", str(tmp_path / "wall.png"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert "no face found" in done.stderr and done.stdout.strip().splitlines()[-1] == "no torch", done.stderr
    from facerecon.photo.demo import demo_face
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.study.cache import RunCache

    test = load_synthface(SynthFaceConfig(split="test", n=8, seed=0, resolution=40), cache=RunCache(tmp_path / "c"),
                          workers=1, progress=False)
    face, _, _ = demo_face(test)
    Image.fromarray(face).save(tmp_path / "face.png")
    assert main(["reconstruct", str(tmp_path / "face.png"), "--out", str(tmp_path / "onnx")]) == 0
    assert main(["reconstruct", str(tmp_path / "face.png"), "--out", str(tmp_path / "torch"),
                 "--model", str(SHIPPED_MODEL)]) == 0
    records = [json.loads((tmp_path / run / "face.json").read_text()) for run in ("onnx", "torch")]
    assert records[0]["model"] == SHIPPED_ONNX.name and records[1]["model"] == str(SHIPPED_MODEL)
    np.testing.assert_allclose(records[0]["landmarks68"], records[1]["landmarks68"], atol=0.01)


def test_ship_model_writes_the_safetensors_its_provenance_and_its_onnx_export(tmp_path):
    """`facerecon ship-model` on a run-cache entry: the three files, the export naming the safetensors it was
    made from, the photo calibration carried by both, and the same mesh through either runtime."""
    from facerecon.photo.shipped import ship_model
    from facerecon.study.cache import RunCache
    from facerecon.training.cached import run_config, train_or_load

    cache = RunCache(tmp_path / "cache")
    cfg, data = run_config("full", seed=0, n_train=8, resolution=24, architecture="smoke", batch_size=2,
                           gt_points=64, steps=1, checkpoint_every=1)
    trained = train_or_load(cfg, data, profile="smoke", cache=cache, progress=False)
    out = ship_model(trained.path, tmp_path / "shipped" / "m.safetensors", profile="smoke", cache=cache,
                     validation_n=4)
    onnx_path = out.with_suffix(".onnx")
    assert out.is_file() and out.with_suffix(".json").is_file() and onnx_path.is_file()
    exported, loaded = load_photo_model(onnx_path), load_model(out)
    assert exported.provenance["exported_from"] == {"file": out.name, "sha256": file_sha256(out)}
    assert exported.provenance["photo"] == loaded.provenance["photo"] == json.loads(
        out.with_suffix(".json").read_text())["photo"]
    _assert_same_batch_mesh(exported, loaded.generator)


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in this checkout")
def test_export_onnx_command_writes_a_model_reconstruct_can_use_and_refuses_bad_paths(tmp_path, capsys):
    from facerecon.cli import main

    assert main(["export-onnx", str(SHIPPED_MODEL), "--out", str(tmp_path / "mine.onnx")]) == 0
    exported = load_photo_model(tmp_path / "mine.onnx")
    assert exported.provenance["exported_from"]["sha256"] == file_sha256(SHIPPED_MODEL)
    assert main(["export-onnx", str(tmp_path / "absent.safetensors"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "absent.safetensors: model not found" in capsys.readouterr().err
    assert main(["export-onnx", str(SHIPPED_MODEL), "--out", str(tmp_path / "x.pt")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
