"""The `gpu` profile's configurations, run on the CPU for a step or two on tiny data.

No GPU has run the `gpu` profile yet, so a shape or configuration error there would wait for the first reader
with one. Here every chapter's `gpu` architecture and options are built and stepped; only the data size and the
number of steps are shrunk.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.cache import RunCache
from facerecon.study.parameters import resolve_parameters
from facerecon.study.profiles import load_profile, load_train_section
from facerecon.study.runner import list_notebooks

TINY_DATA = dict(n_train=8, resolution=24)


@pytest.fixture(scope="module")
def tiny_train(tmp_path_factory):
    cache = RunCache(tmp_path_factory.mktemp("cache"))
    return load_synthface(SynthFaceConfig(split="train", n=TINY_DATA["n_train"], seed=0,
                                          resolution=TINY_DATA["resolution"]), cache=cache, workers=1, progress=False)


def gpu_parameters(root, stem):
    return resolve_parameters(list_notebooks(root)[stem], load_profile("gpu", root).get(stem, {}), "gpu")


@pytest.mark.parametrize("model", ["full", "vanilla_gan", "no_gan"])
def test_gpu_training_configuration_steps(root, tiny_train, tmp_path, model):
    """03, 05, 06, 07 and `facerecon train` train with the `train` section: the paper architecture, its options."""
    from facerecon.training.cached import run_config
    from facerecon.training.trainer import Trainer

    section = {**load_train_section("gpu", root), **TINY_DATA, "steps": 1, "batch_size": 2, "checkpoint_every": 1}
    cfg, _ = run_config(model, seed=0, **section)
    assert cfg.architecture == "paper" and cfg.gt_points == load_train_section("gpu", root)["gt_points"]
    trainer = Trainer(cfg, tiny_train, tmp_path, progress=False, device="cpu")
    assert trainer.generator.faces(-1).shape[0] == 13440          # the paper's output mesh
    result = trainer.run()
    assert len(result.logs) == 1 and np.isfinite(result.logs[0]["g_total"])


@pytest.mark.parametrize("stem", ["02_augmentation", "03_gan_modifications", "05_table3_comparison",
                                  "06_table4_ablation", "07_loss_stability"])
def test_gpu_chapter_parameters_match_the_train_section(root, stem):
    from facerecon.training.cached import train_settings

    assert train_settings(gpu_parameters(root, stem)) == load_train_section("gpu", root)


def test_gpu_denoisers_step(root):
    """01 at the `gpu` widths: every denoiser trains one epoch on four crops."""
    from facerecon.denoise.train import DenoiserTrainConfig, train_denoiser

    p = gpu_parameters(root, "01_noise_table1")
    clean = np.random.default_rng(0).uniform(0.1, 0.9, (4, 113, 113, 3))
    for method in p["methods"]:
        cfg = DenoiserTrainConfig(method=method, width=p["width"], nmf_rank=p["nmf_rank"], noise=p["noise"],
                                  levels=tuple(p["levels"]), epochs=1, batch_size=2, lr=p["lr"])
        _, history = train_denoiser(cfg, clean, progress=False)
        assert len(history) == 1 and np.isfinite(history[0]), method


def test_gpu_generator_chapter_configuration(root):
    """04 walks through the `gpu` architecture at the `gpu` timing batch."""
    from facerecon.models.architectures import build, get_architecture

    p = gpu_parameters(root, "04_generator_discriminator")
    generator, discriminator = build(get_architecture(p["architecture"]))
    with torch.no_grad():
        meshes = generator(torch.rand(2, 3, 113, 113), torch.rand(2, 68, 2) * 113)
        assert meshes[-1].shape == (2, 7001, 3) and discriminator(meshes[-1]).shape == (2,)


def test_gpu_toy_gan_configuration_steps(root):
    from facerecon.models.gan2d import Toy2DConfig, variants
    from facerecon.training.gan2d import train_toy

    p = gpu_parameters(root, "03_gan_modifications")
    assert p["toy_steps"] >= 1000 and len(p["toy_seeds"]) >= 3
    for switches in variants().values():
        out = train_toy(Toy2DConfig(steps=2, seed=p["toy_seeds"][-1], **switches))
        assert np.isfinite(out["g_loss"]).all()


def test_gpu_generators_step(root):
    """02 at the `gpu` sizes: both generators build and take one training step on two images."""
    from facerecon.augment.diffusion import DiffusionConfig, train_diffusion

    p = gpu_parameters(root, "02_augmentation")
    size = p["gen_resolution"]
    images, geometry = torch.rand(2, 3, size, size), torch.rand(2, 4, size, size)
    for kind, channels in (("pixel", p["pixel_channels"]), ("latent", p["latent_channels"])):
        cfg = DiffusionConfig(kind=kind, resolution=size, channels=tuple(channels), ae_channels=tuple(p["ae_channels"]),
                              steps=1, ae_steps=1, batch_size=2)
        _, history = train_diffusion(cfg, images, geometry, progress=False)
        assert all(len(v) == 1 and np.isfinite(v[0]) for v in history.values()), kind


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")


@needs_cuda
def test_training_and_evaluation_run_on_cuda(root, tiny_train, tmp_path):
    """The `gpu` profile's model trains, checkpoints and is scored on CUDA (its random draws stay on the CPU)."""
    from facerecon.training.cached import run_config
    from facerecon.training.evaluate import evaluate, generator_predictor
    from facerecon.training.trainer import Trainer

    section = {**load_train_section("gpu", root), **TINY_DATA, "steps": 3, "batch_size": 2, "checkpoint_every": 2}
    cfg, _ = run_config("full", seed=0, **section)
    trainer = Trainer(cfg, tiny_train, tmp_path, progress=False, device="cuda")
    result = trainer.run()
    assert trainer.accelerator.device.type == "cuda" and len(result.logs) == 3
    assert all(np.isfinite(log["g_total"]) for log in result.logs)
    generator = trainer.accelerator.unwrap_model(trainer.generator)
    scores = evaluate(generator_predictor(generator, torch.device("cuda")), generator.faces(-1).cpu().numpy(),
                      tiny_train, n=2, points=128)
    assert np.isfinite(scores["cd"]) and np.isfinite(scores["emd"])


@needs_cuda
def test_generators_train_and_sample_on_cuda(tiny_train):
    """02's generators at tiny sizes: trained and sampled on CUDA, deterministic from a CPU generator."""
    from facerecon.augment.diffusion import DiffusionConfig, train_diffusion, training_pairs

    images, geometry = training_pairs(tiny_train, 4, 16)
    for cfg in (DiffusionConfig(kind="pixel", resolution=16, channels=(8, 16), steps=2, batch_size=2),
                DiffusionConfig(kind="latent", resolution=16, channels=(8, 16), ae_channels=(8, 16), steps=2,
                                ae_steps=2, batch_size=2)):
        model, history = train_diffusion(cfg, images, geometry, progress=False, device="cuda")
        assert model.latent_scale.device.type == "cuda" and np.isfinite(history["denoiser"]).all()
        first, again = (model.sample(geometry, 3, torch.Generator().manual_seed(0)) for _ in range(2))
        assert first.device.type == "cpu" and first.shape == (4, 3, 16, 16) and torch.equal(first, again)
