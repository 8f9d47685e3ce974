"""The encoder's auxiliary surface readout (training/surface_readout.py): its loss against a naive loop, which points
count, and that a trainer with it on trains the encoder through it, resumes exactly, and without it is unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.study.cache import RunCache
from facerecon.training.config import named_config
from facerecon.training.surface_readout import SurfaceReadout, facing_camera, surface_readout_loss
from facerecon.training.trainer import Trainer

TINY = dict(architecture="smoke", batch_size=4, gt_points=128, checkpoint_every=2)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    cache = RunCache(tmp_path_factory.mktemp("cache"))
    return load_synthface(SynthFaceConfig(split="train", n=8, seed=0, resolution=24), cache=cache, workers=1,
                          progress=False)


def _surface(batch: int = 3, points: int = 50, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    features = [torch.randn(batch, 5, 9, 9, generator=gen), torch.randn(batch, 2, 4, 4, generator=gen)]
    xyz = torch.rand(batch, points, 3, generator=gen) * 0.8 + 0.1
    normals = torch.nn.functional.normalize(torch.randn(batch, points, 3, generator=gen), dim=-1)
    normals[..., 2] = normals[..., 2].abs() * torch.where(torch.rand(batch, points, generator=gen) < 0.8, 1, -1)
    return features, xyz, normals


def test_facing_camera_is_the_majority_depth_sign_whatever_the_orientation():
    _, _, normals = _surface()
    facing = facing_camera(normals)
    assert torch.equal(facing, normals[..., 2] > 0)                # most points face +z here
    assert torch.equal(facing_camera(-normals), facing)             # the other orientation: the same points


def test_readout_loss_against_a_naive_loop():
    features, xyz, normals = _surface()
    readout = SurfaceReadout(7)
    predicted_normals, predicted_depth = readout(features, xyz)
    expected = []
    for b in range(xyz.shape[0]):
        seen = [i for i in range(xyz.shape[1]) if normals[b, i, 2] > 0]
        mean_true = sum(xyz[b, i, 2] for i in seen) / len(seen)
        mean_pred = sum(predicted_depth[b, i] for i in seen) / len(seen)
        spread = (sum((xyz[b, i, 2] - mean_true) ** 2 for i in seen) / len(seen)) ** 0.5
        errors = [sum((predicted_normals[b, i, k] - normals[b, i, k]) ** 2 for k in range(3))
                  + ((predicted_depth[b, i] - mean_pred - (xyz[b, i, 2] - mean_true)) / spread) ** 2 for i in seen]
        expected.append(sum(errors) / len(seen))
    loss = surface_readout_loss(readout, features, xyz, normals)
    torch.testing.assert_close(loss, torch.stack(expected).mean(), rtol=1e-5, atol=0)


def test_readout_loss_ignores_far_side_points_and_the_depth_offset(monkeypatch):
    features, xyz, normals = _surface()
    truth = lambda self, f, points: (normals, points[..., 2] + 3.0)     # exact up to a depth offset
    monkeypatch.setattr(SurfaceReadout, "forward", truth)
    readout = SurfaceReadout(7)
    assert surface_readout_loss(readout, features, xyz, normals).item() < 1e-10
    far = normals[..., 2] < 0
    monkeypatch.setattr(SurfaceReadout, "forward",
                        lambda self, f, points: (torch.where(far[..., None], -normals, normals),
                                                 torch.where(far, points[..., 2] + 1.0, points[..., 2])))
    assert surface_readout_loss(readout, features, xyz, normals).item() < 1e-10     # far side wrong: not counted
    monkeypatch.setattr(SurfaceReadout, "forward", lambda self, f, points: (normals, 2 * points[..., 2]))
    assert surface_readout_loss(readout, features, xyz, normals).item() > 0.1        # depth variation wrong


def test_the_readout_trains_the_encoder_that_the_zero_offset_heads_leave_still(tiny_data, tmp_path):
    """At the first step the offset heads are zero, so the mesh terms give the encoder no gradient (Adam moves
    nothing); with the readout on, its term does. Off, the trainer has no readout and one optimizer group."""
    off = Trainer(named_config("no_gan", **TINY), tiny_data, tmp_path / "off", progress=False)
    on = Trainer(named_config("no_gan", surface_readout_weight=1.0, **TINY), tiny_data, tmp_path / "on",
                 progress=False)
    assert off.readout is None and len(off.opt_g.param_groups) == len(on.opt_g.param_groups) - 1
    moved = {}
    for name, trainer in (("off", off), ("on", on)):
        before = {k: p.detach().clone() for k, p in trainer.generator.encoder.named_parameters()}
        log = trainer.train_step()
        moved[name] = max((p.detach() - before[k]).abs().max().item()
                          for k, p in trainer.generator.encoder.named_parameters())
    assert moved["off"] == 0.0 and moved["on"] > 1e-5
    assert log["g_surface_readout"] > 0 and "g_surface_readout" not in off.train_step()


def test_a_run_with_the_readout_resumes_exactly(tiny_data, tmp_path, monkeypatch):
    cfg = named_config("no_gan", steps=4, surface_readout_weight=0.5, **TINY)
    whole = Trainer(cfg, tiny_data, tmp_path / "whole", progress=False)
    whole_result = whole.run()
    real_step = Trainer.train_step

    def dies_at_step_3(self, assembled=None):
        if self.step == 3:
            raise KeyboardInterrupt
        return real_step(self, assembled)
    monkeypatch.setattr(Trainer, "train_step", dies_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tiny_data, tmp_path / "split", progress=False).run()
    monkeypatch.setattr(Trainer, "train_step", real_step)
    resumed = Trainer(cfg, tiny_data, tmp_path / "split", progress=False)
    result = resumed.run(resume=True)
    assert result.summary["steps_this_run"] == 2
    for k, v in whole_result.generator.state_dict().items():
        torch.testing.assert_close(result.generator.state_dict()[k], v, rtol=0, atol=0, msg=k)
    for k, v in whole.readout.state_dict().items():
        torch.testing.assert_close(resumed.readout.state_dict()[k], v, rtol=0, atol=0, msg=k)


def test_readout_settings_are_checked():
    with pytest.raises(ValueError, match="surface_readout_weight must be >= 0"):
        named_config("no_gan", surface_readout_weight=-1.0, **TINY)
    cfg = named_config("no_gan", **TINY)
    with pytest.raises(ValueError, match="graph_blocks=False never reads"):
        replace(cfg, generator=replace(cfg.generator, graph_blocks=False, landmark_shape=True,
                                       landmarks="residual", prior="mean_face"), surface_readout_weight=1.0)
