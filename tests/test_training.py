"""The mesh trainer: resume equals an uninterrupted run, every switch does what it claims, training learns,
bad input is refused; the weak-perspective pose fit; the toy 2D GAN's metrics; the shape-diversity statistic; the
encoder's auxiliary surface readout."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from facerecon.models import gan2d
from facerecon.training.gan2d import train_toy
from facerecon.study.cache import RunCache
from facerecon.cli import main
from facerecon.data.generate import load_synthface
from facerecon.data.synthface import SynthFaceConfig
from facerecon.mesh.pose import apply_weak_perspective, fit_weak_perspective
from facerecon.models import losses
from facerecon.models.discriminator import MinibatchDiscrimination
from facerecon.models.generator import NodeBlock
from facerecon.training.batches import MAX_ASSEMBLY_WORKERS, MeshBatches, default_assembly_workers, step_indices
from facerecon.training.config import NAMED_MODELS, TrainConfig, named_config
from facerecon.training.evaluate import evaluate, generator_predictor, mean_face_baseline, shape_diversity
from facerecon.training.surface_readout import SurfaceReadout, facing_camera, surface_readout_loss
from facerecon.training.trainer import CheckpointError, Trainer, build_models, load_generator, reconstruction_loss

TINY = dict(architecture="smoke", batch_size=4, gt_points=128, checkpoint_every=2)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    cache = RunCache(tmp_path_factory.mktemp("cache"))
    return load_synthface(SynthFaceConfig(split="train", n=12, seed=0, resolution=24), cache=cache, workers=1,
                          progress=False)


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def _interrupted_at_step_3_then_resumed(cfg, data, folder: Path, monkeypatch) -> Trainer:
    """A run of ``cfg`` into ``folder`` killed at step 3, and a new trainer there (to ``run(resume=True)``)."""
    real_step = Trainer.train_step

    def dies_at_step_3(self, assembled=None):
        if self.step == 3:
            raise KeyboardInterrupt
        return real_step(self, assembled)
    monkeypatch.setattr(Trainer, "train_step", dies_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, data, folder, progress=False).run()
    monkeypatch.setattr(Trainer, "train_step", real_step)
    return Trainer(cfg, data, folder, progress=False)


@pytest.mark.parametrize("name", ["full", "no_gan"])
def test_resume_after_interruption_reproduces_the_uninterrupted_run(tiny_data, tmp_path, monkeypatch, name):
    cfg = named_config(name, steps=5, **TINY)
    whole_trainer = Trainer(cfg, tiny_data, tmp_path / "whole", progress=False)
    whole_trainer.assembly_workers = 2                      # batches built ahead by worker processes, as on a GPU
    whole = whole_trainer.run()

    resumed = _interrupted_at_step_3_then_resumed(cfg, tiny_data, tmp_path / "split", monkeypatch).run(resume=True)

    assert resumed.summary["steps_this_run"] == 3            # resumed from the step-2 checkpoint
    for k, v in _weights(whole.generator).items():
        torch.testing.assert_close(resumed.generator.state_dict()[k], v, rtol=0, atol=0, msg=k)
    assert [r["g_total"] for r in resumed.logs] == [r["g_total"] for r in whole.logs]
    assert (tmp_path / "split" / "log.csv").read_text() == (tmp_path / "whole" / "log.csv").read_text()

    # the whole run's batches came from worker processes; the resumed run and stepping by hand built them inline
    by_hand = Trainer(cfg, tiny_data, tmp_path / "by_hand", progress=False)
    for step in range(cfg.steps):
        by_hand.step = step
        by_hand.train_step()
    for k, v in _weights(whole.generator).items():
        torch.testing.assert_close(by_hand.generator.state_dict()[k], v, rtol=0, atol=0, msg=k)


def test_batches_are_built_inline_on_a_cpu_and_worker_counts_are_checked(tiny_data, tmp_path, capsys):
    assert default_assembly_workers(torch.device("cpu")) == 0
    assert 0 <= default_assembly_workers(torch.device("cuda")) <= MAX_ASSEMBLY_WORKERS
    trainer = Trainer(named_config("no_gan", steps=2, **TINY), tiny_data, tmp_path, progress=False)
    assert trainer.assembly_workers == 0
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="assembly_workers must be a whole number"):
            Trainer(named_config("no_gan", steps=2, **TINY), tiny_data, tmp_path, progress=False,
                    assembly_workers=bad)
    assert main(["train", "--profile", "smoke", "--model", "full", "--out", str(tmp_path / "cli"),
                 "--assembly-workers", "-1"]) == 2
    assert "assembly_workers must be a whole number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()


def test_a_few_steps_lower_the_reconstruction_loss_on_a_fixed_batch(tiny_data):
    torch.manual_seed(0)
    cfg = named_config("no_gan", **TINY)
    generator, _ = build_models(cfg, tiny_data)
    batches = MeshBatches(tiny_data, generator.output_uv, cfg.gt_points)
    batch = batches.batch(range(4), torch.Generator().manual_seed(0), torch.device("cpu"))
    opt = torch.optim.Adam(generator.parameters(), lr=2e-4)
    history = []
    for _ in range(20):
        inputs, outputs = generator.deform(batch["images"], batch["landmarks"])
        loss = sum(reconstruction_loss(inputs, outputs, generator, batch, losses.LossWeights()).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert all(math.isfinite(v) for v in history)
    assert history[-1] < 0.5 * history[0], history


def test_centre_depth_makes_the_fit_terms_blind_to_a_depth_shift_only(tiny_data):
    generator, _ = build_models(named_config("no_gan", **TINY))
    batch = MeshBatches(tiny_data, generator.output_uv, 64).batch(range(2), torch.Generator().manual_seed(0),
                                                                   torch.device("cpu"))
    meshes = [batch["real_meshes"]]
    shifted = [m + torch.tensor([0.0, 0.0, 0.2]) for m in meshes]
    moved = [m + torch.tensor([0.2, 0.0, 0.0]) for m in meshes]

    def fit(outputs, centre):
        terms = reconstruction_loss(outputs, outputs, generator, batch, losses.LossWeights(), fit_levels="last",
                                    centre_depth=centre)
        return (terms["chamfer"] + terms["normal"]).item()
    assert fit(shifted, True) == pytest.approx(fit(meshes, True), rel=1e-4)
    assert fit(shifted, False) > 3 * fit(meshes, False)
    assert fit(moved, True) > 3 * fit(meshes, True)          # x and y are observed: still penalized


def test_landmark_shape_basis_starts_at_zero_and_learns_faster(tiny_data, tmp_path):
    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", landmark_shape=True,
                       lr_generator=1e-5, lr_shape_basis=1e-3, **TINY)
    generator, _ = build_models(cfg, tiny_data)
    assert generator.shape_basis.weight.abs().max() == 0
    trainer = Trainer(cfg, tiny_data, tmp_path, progress=False)
    before = {k: p.detach().clone() for k, p in trainer.generator.named_parameters()}
    trainer.train_step()
    # Adam's first step moves every parameter with a gradient by about its learning rate, never more
    moved = {k: (p.detach() - before[k]).abs().max().item() for k, p in trainer.generator.named_parameters()}
    basis = max(v for k, v in moved.items() if k.startswith("shape_basis."))
    rest = max(v for k, v in moved.items() if not k.startswith("shape_basis."))
    assert 0.5 * cfg.lr_shape_basis < basis <= 1.01 * cfg.lr_shape_basis
    assert 0 < rest <= 1.01 * cfg.lr_generator
    with pytest.raises(ValueError, match="needs landmarks='residual'"):
        build_models(named_config("no_gan", prior="mean_face", landmark_shape=True, **TINY))


def test_minibatch_switch_adds_the_minibatch_feature():
    _, with_mb = build_models(named_config("full", **TINY))
    _, without = build_models(replace(named_config("full", **TINY), minibatch=False))
    assert any(isinstance(m, MinibatchDiscrimination) for m in with_mb.modules())
    assert not any(isinstance(m, MinibatchDiscrimination) for m in without.modules())
    mb = next(m for m in with_mb.modules() if isinstance(m, MinibatchDiscrimination))
    width = mb.T.shape[0]
    f = torch.randn(4, width)
    assert mb(f).shape == (4, width + mb.kernels)
    # the added features are Σ_{j≠i} exp(−‖M_i,b − M_j,b‖₁): for identical rows each equals batch − 1
    torch.testing.assert_close(mb(f[:1].expand(4, -1))[:, width:], torch.full((4, mb.kernels), 3.0))


def test_identity_block_switch_adds_the_residual_path():
    torch.manual_seed(0)
    plain, residual = NodeBlock(5, 8, identity=False, slope=0.2), NodeBlock(5, 8, identity=True, slope=0.2)
    residual.load_state_dict(plain.state_dict())
    edges = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    x = torch.randn(3, 5)
    act = lambda t: torch.nn.functional.leaky_relu(t, 0.2)  # noqa: E731
    h = act(plain.convs[0](x, edges))
    inner = plain.convs[2](act(plain.convs[1](h, edges)), edges)
    torch.testing.assert_close(plain(x, edges), act(inner))
    torch.testing.assert_close(residual(x, edges), act(h + inner))
    g_on, _ = build_models(named_config("full", **TINY))
    g_off, _ = build_models(named_config("vanilla_gan", **TINY))
    assert all(b.identity for b in g_on.node_blocks) and not any(b.identity for b in g_off.node_blocks)


def test_label_smoothing_switch_changes_the_targets():
    logits = torch.tensor([0.3, -1.2, 2.0])
    sig = torch.sigmoid(logits)

    def bce(target):  # naive binary cross-entropy
        return -(target * torch.log(sig) + (1 - target) * torch.log(1 - sig)).mean()
    smooth = losses.discriminator_loss(logits, logits, losses.LabelSmoothing())
    hard = losses.discriminator_loss(logits, logits, losses.NO_SMOOTHING)
    torch.testing.assert_close(smooth, bce(0.9) + bce(0.01))
    torch.testing.assert_close(hard, bce(1.0) + bce(0.0))



@pytest.mark.parametrize("name, targets", [("full", (0.9, 0.01)), ("vanilla_gan", (1.0, 0.0))])
def test_trainer_trains_the_discriminator_with_the_configured_targets(tiny_data, tmp_path, monkeypatch, name,
                                                                     targets):
    seen = []
    original = losses.discriminator_loss

    def recording(real, fake, smoothing):
        seen.append((smoothing.real, smoothing.fake))
        return original(real, fake, smoothing)
    monkeypatch.setattr(losses, "discriminator_loss", recording)
    Trainer(named_config(name, **TINY), tiny_data, tmp_path, progress=False).train_step()
    assert seen == [targets]


def test_modified_loss_switch_is_non_saturating():
    logits = torch.tensor([-6.0, -1.0, 0.5], requires_grad=True)
    sig = torch.sigmoid(logits.detach())
    torch.testing.assert_close(losses.generator_gan_loss(logits, modified=True, smoothing=losses.NO_SMOOTHING),
                               -torch.log(sig).mean())
    torch.testing.assert_close(losses.generator_gan_loss(logits, modified=False), torch.log(1 - sig).mean())
    # where D rejects the fake confidently (logit −6) the minimax gradient vanishes, the modified one does not
    grad_mm, = torch.autograd.grad(losses.generator_gan_loss(logits, modified=False), logits)
    grad_ns, = torch.autograd.grad(losses.generator_gan_loss(logits, modified=True), logits)
    assert abs(grad_mm[0]) < 0.01 and abs(grad_ns[0]) > 0.3


def test_no_gan_mode_has_no_discriminator_and_logs_no_adversarial_term(tiny_data, tmp_path):
    result = Trainer(named_config("no_gan", steps=1, **TINY), tiny_data, tmp_path, progress=False).run()
    assert "g_adversarial" not in result.logs[0] and "d_loss" not in result.logs[0]
    result = Trainer(named_config("full", steps=1, **TINY), tiny_data, tmp_path / "gan", progress=False).run()
    assert {"g_adversarial", "d_loss", "d_real", "d_fake"} <= set(result.logs[0])


def test_unknown_model_name_is_refused(capsys):
    with pytest.raises(ValueError, match="unknown model 'fancy'.*full"):
        named_config("fancy")
    assert main(["train", "--profile", "smoke", "--model", "fancy", "--out", "/nonexistent/x"]) == 2
    assert "unknown model 'fancy'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown training parameters"):
        named_config("full", learning_rate=1)


def test_checkpoint_from_another_configuration_is_refused_with_the_fields(tiny_data, tmp_path):
    Trainer(named_config("full", steps=2, **TINY), tiny_data, tmp_path, progress=False).run()
    other = named_config("full", steps=4, **{**TINY, "batch_size": 2, "gt_points": 64})
    with pytest.raises(CheckpointError, match=r"batch_size: 4 != 2; gt_points: 128 != 64"):
        Trainer(other, tiny_data, tmp_path, progress=False).run(resume=True)
    # more steps alone is a legitimate continuation
    longer = Trainer(named_config("full", steps=3, **TINY), tiny_data, tmp_path, progress=False).run(resume=True)
    assert longer.summary["steps_this_run"] == 1


def test_corrupt_checkpoint_is_refused_and_nothing_is_overwritten(tiny_data, tmp_path):
    cfg = named_config("no_gan", steps=2, **TINY)
    Trainer(cfg, tiny_data, tmp_path, progress=False).run()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(replace(cfg, steps=4), tiny_data, tmp_path, progress=False).run()
    checkpoint = sorted((tmp_path / "checkpoints").glob("step-*.pt"))[-1]
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=f"{checkpoint.name} is corrupt"):
        Trainer(replace(cfg, steps=4), tiny_data, tmp_path, progress=False).run(resume=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    with pytest.raises(CheckpointError, match="not a readable facerecon generator"):
        load_generator(checkpoint)


class _RunsCodeWhenUnpickled:
    """A pickle payload that calls ``Path.touch`` on load: what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_crafted_pickle_is_refused_and_never_runs(tiny_data, tmp_path):
    cfg = named_config("no_gan", steps=2, **TINY)
    run_dir = tmp_path / "run"
    Trainer(cfg, tiny_data, run_dir, progress=False).run()
    marker = tmp_path / "code-ran"
    checkpoint = sorted((run_dir / "checkpoints").glob("step-*.pt"))[-1]
    state = torch.load(checkpoint, weights_only=True)
    state["logs"] = _RunsCodeWhenUnpickled(marker)
    torch.save(state, checkpoint)
    torch.save({"config": cfg.to_dict(), "generator": _RunsCodeWhenUnpickled(marker)}, run_dir / "generator.pt")
    with pytest.raises(CheckpointError, match="corrupt or unreadable"):
        Trainer(replace(cfg, steps=4), tiny_data, run_dir, progress=False).run(resume=True)
    with pytest.raises(CheckpointError, match="not a readable facerecon generator"):
        load_generator(run_dir / "generator.pt")
    assert not marker.exists()


def test_step_indices_cover_each_epoch_once():
    seen = torch.cat([step_indices(10, 3, 0, s) for s in range(3)])
    assert sorted(seen.tolist()) == sorted(set(seen.tolist())) and len(seen) == 9
    assert not torch.equal(step_indices(10, 3, 0, 0), step_indices(10, 3, 0, 3))   # a new epoch reshuffles
    with pytest.raises(ValueError, match="exceeds"):
        step_indices(2, 3, 0, 0)


def test_train_config_validation():
    with pytest.raises(ValueError, match="mode"):
        TrainConfig(mode="wgan")
    with pytest.raises(ValueError, match="minibatch discrimination needs batch_size"):
        TrainConfig(batch_size=1)
    assert set(NAMED_MODELS) >= {"full", "vanilla_gan", "no_gan"}


def test_weak_perspective_fit_recovers_a_known_pose():
    gen = torch.Generator().manual_seed(0)
    shape = torch.randn(68, 3, generator=gen, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    rotation = q * torch.sign(torch.det(q))
    scale, translation = torch.tensor([2.5], dtype=torch.float64), torch.tensor([[40.0, 60.0]], dtype=torch.float64)
    posed = apply_weak_perspective(shape, scale, rotation[None], translation)
    s, r, t = fit_weak_perspective(shape, posed[..., :2])
    torch.testing.assert_close(s, scale)
    torch.testing.assert_close(r[0], rotation)
    torch.testing.assert_close(apply_weak_perspective(shape, s, r, t), posed)
    # naive check of the image frame: y is flipped, depth follows the rotation
    naive = 2.5 * (shape * torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)) @ rotation.T
    torch.testing.assert_close(posed[0, :, 2], naive[:, 2])
    with pytest.raises(ValueError, match=r"image_points must be \(B, 68, 2\)"):
        fit_weak_perspective(shape, posed)


def test_mean_face_prior_starts_at_the_posed_mean_face(tiny_data):
    cfg = named_config("no_gan", prior="mean_face", **TINY)
    generator, _ = build_models(cfg, tiny_data)
    sample = tiny_data.sample(0)
    landmarks = torch.as_tensor(sample["landmarks2d"])[None]
    image = torch.as_tensor(sample["image"]).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():           # zero offsets: the output is the posed mean face on the template
        torch.testing.assert_close(generator(image, landmarks)[-1], generator.priors(landmarks)[-1])
    predict = mean_face_baseline(tiny_data)
    baseline = evaluate(predict, tiny_data.faces, tiny_data, n=3, points=256)
    ours = evaluate(generator_predictor(generator), generator.faces(-1).numpy(), tiny_data, n=3, points=256)
    # the same mean face and pose fit, resampled onto the template: the same error up to resampling
    assert ours["cd_per_point"] == pytest.approx(baseline["cd_per_point"], rel=0.15)
    with pytest.raises(RuntimeError, match="mean-face prior is not set"):
        build_models(cfg)[0](torch.zeros(1, 3, 113, 113), torch.as_tensor(sample["landmarks2d"])[None])


def test_residual_landmark_features_vanish_on_the_posed_mean_face_and_see_shape(tiny_data):
    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", **TINY)
    generator, _ = build_models(cfg, tiny_data)
    gen = torch.Generator().manual_seed(1)
    rotation = torch.linalg.qr(torch.randn(2, 3, 3, generator=gen))[0]
    rotation = rotation * torch.linalg.det(rotation)[:, None, None]          # proper rotations
    scale, translation = torch.tensor([0.004, 0.006]), torch.tensor([[0.4, 0.5], [0.6, 0.45]])
    exact = apply_weak_perspective(generator.prior_landmarks, scale, rotation, translation)[..., :2] * 113
    _, pose = generator._posed_priors(exact)
    features = generator.landmark_features(exact, pose)
    assert features.shape == (2, 145)
    assert features[:, :136].abs().max() < 1e-3                              # pose alone: no residual
    moved = exact.clone()
    moved[:, 48:68, 1] += 2.0                                                 # open the mouth by 2 px
    _, pose = generator._posed_priors(moved)
    assert generator.landmark_features(moved, pose)[:, :136].abs().max() > 0.1
    with pytest.raises(ValueError, match="needs prior='mean_face'"):
        build_models(named_config("no_gan", landmarks="residual", **TINY))


def test_shape_diversity_is_pose_invariant_and_zero_for_one_shape():
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    poses = [torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))[0] for _ in range(4)]
    same = torch.stack([1.7 * base @ q.T + torch.randn(3, generator=gen, dtype=torch.float64) for q in poses])
    assert shape_diversity(same.numpy()) == 0.0   # exactly, so that tables agree across BLAS builds
    varied = torch.stack([base + 0.1 * torch.randn(50, 3, generator=gen, dtype=torch.float64) for _ in range(4)])
    posed = torch.stack([v @ q.T for v, q in zip(varied, poses)])
    assert shape_diversity(posed.numpy()) == pytest.approx(shape_diversity(varied.numpy()), rel=1e-6)
    assert shape_diversity(varied.numpy()) > 0.05


def test_toy_mode_metrics_against_a_naive_count():
    cfg = gan2d.Toy2DConfig(modes=4, std=0.1)
    modes = gan2d.ring_modes(cfg)
    samples = np.concatenate([np.repeat(modes[:2], 50, 0), [[0.0, 0.0]] * 100])
    m = gan2d.mode_metrics(samples, cfg)
    assert m == {"modes_covered": 2, "high_quality": 0.5}


def test_toy_gan_runs_and_is_seeded():
    cfg = gan2d.Toy2DConfig(steps=20, batch_size=32, eval_samples=200, minibatch=True, label_smoothing=True)
    a, b = train_toy(cfg), train_toy(cfg)
    np.testing.assert_array_equal(a["samples"], b["samples"])
    assert np.isfinite(a["g_loss"]).all() and 0 <= a["modes_covered"] <= cfg.modes


def test_stability_stats_against_naive_loops():
    from facerecon.training.stability import stability_stats
    rng = np.random.default_rng(0)
    values = 1.0 + 0.01 * np.arange(40) + 0.2 * (-1.0) ** np.arange(40) + 0.01 * rng.standard_normal(40)
    stats = stability_stats(values, tail=0.5, window=4)
    part = values[20:]
    naive_trend = [sum(part[i:i + 4]) / 4 for i in range(len(part) - 3)]
    naive_resid = [part[i + 1] - t for i, t in enumerate(naive_trend)]
    assert stats["oscillation"] == pytest.approx(math.sqrt(sum(r * r for r in naive_resid) / len(naive_resid)))
    assert stats["spread"] == pytest.approx(float(np.std(part)))
    assert stability_stats(0.01 * np.arange(40))["drift"] == pytest.approx(1.0)   # 0.01 per step = 1 per 100
    assert stability_stats(np.full(30, 2.0))["oscillation"] == pytest.approx(0.0, abs=1e-12)
    # a constant added to the loss (the adversarial term shifts the generator's total) changes no statistic
    # of the swings, only the level
    shifted = stability_stats(values - 5.0, tail=0.5, window=4)
    for key in ("oscillation", "spread", "drift"):
        assert shifted[key] == pytest.approx(stats[key])
    assert shifted["mean"] == pytest.approx(stats["mean"] - 5.0)
    with pytest.raises(ValueError, match="at least 4 steps"):
        stability_stats([1.0, 2.0])



def test_without_message_passing_a_vertex_ignores_its_neighbours():
    torch.manual_seed(0)
    edges = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    x = torch.randn(2, 3, 5)
    poked = x.clone()
    poked[:, 0] += 1.0                               # change vertex 0's input only
    local, graph = NodeBlock(5, 8, True, 0.2, message_passing=False), NodeBlock(5, 8, True, 0.2)
    for layer, conv in zip(local.convs, graph.convs):   # the same W0 and bias: only the neighbour sum differs
        layer.weight.data.copy_(conv.lin_root.weight)
        layer.bias.data.copy_(conv.lin_rel.bias)
    moved = (local(poked, edges) - local(x, edges)).abs().sum(-1)
    assert (moved[:, 0] > 0).all() and (moved[:, 1:] == 0).all()
    assert ((graph(poked, edges) - graph(x, edges)).abs().sum(-1)[:, 1] > 0).all()   # vertex 1 neighbours vertex 0
    act = lambda t: torch.nn.functional.leaky_relu(t, 0.2)  # noqa: E731
    w = [(layer.weight, layer.bias) for layer in local.convs]
    h = act(x @ w[0][0].T + w[0][1])
    naive = act(h + (act(h @ w[1][0].T + w[1][1]) @ w[2][0].T + w[2][1]))
    torch.testing.assert_close(local(x, edges), naive)
    g, _ = build_models(named_config("full", message_passing=False, **TINY))
    assert not any(isinstance(c, type(graph.convs[0])) for b in g.node_blocks for c in b.convs)
    images, landmarks = torch.rand(2, 3, 113, 113), torch.rand(2, 68, 2) * 113
    assert g(images, landmarks)[-1].shape[1] == len(g.output_uv)


# --- conditioning: the landmark ridge, the dense term, the schedule, the step scales --------------------------

def test_ridge_solution_matches_numpy_least_squares():
    from facerecon.training.landmark_ridge import ridge_solution

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
    lam = 2.5
    design = np.hstack([x, np.ones((40, 1))])
    # the penalty on the weights only, as extra rows √λ·I with zero targets (the bias row unpenalized)
    augmented = np.vstack([design, np.sqrt(lam) * np.hstack([np.eye(5), np.zeros((5, 1))])])
    expected = np.linalg.lstsq(augmented, np.vstack([y, np.zeros((5, 3))]), rcond=None)[0]
    weight, bias = ridge_solution(torch.tensor(x), torch.tensor(y), lam)
    np.testing.assert_allclose(weight.numpy(), expected[:5].T, atol=1e-5)
    np.testing.assert_allclose(bias.numpy(), expected[5], atol=1e-5)
    with pytest.raises(ValueError, match="penalty must be >= 0"):
        ridge_solution(torch.tensor(x), torch.tensor(y), -1.0)


def test_ridge_basis_interpolates_the_training_shapes_in_the_generator_frame(tiny_data):
    """With fewer training faces than features and no penalty the ridge interpolates: the generator's first level,
    prior plus the posed basis change, must then land on each face's GT surface at those vertices. This checks
    the frames (the canonical change undoes exactly the pose that the generator applies)."""
    from facerecon.mesh.frame import CROP_SIZE
    from facerecon.mesh.resample import TemplateResampler
    from facerecon.training.landmark_ridge import landmark_shape_targets, set_landmark_shape

    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", landmark_shape=True, graph_blocks=False,
                       **TINY)
    generator, _ = build_models(cfg, tiny_data)
    features, changes = landmark_shape_targets(generator, tiny_data)
    assert features.shape == (len(tiny_data), 145) and changes.shape == (len(tiny_data), 3 * 141)
    set_landmark_shape(generator, features, changes, 0.0)
    samples = [tiny_data.sample(i) for i in range(len(tiny_data))]
    images = torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2).float() / 255
    landmarks = torch.from_numpy(np.stack([s["landmarks2d"] for s in samples])).float()
    with torch.no_grad():
        first = generator(images, landmarks)[0].double()
    resample = TemplateResampler(tiny_data.uv, tiny_data.faces, generator.level_uv[0])
    gt = torch.from_numpy(np.stack([resample(s["vertices"].astype(np.float64) / CROP_SIZE) for s in samples]))
    gt[..., 2] -= gt[..., 2].mean(1, keepdim=True)
    prior_error = (generator.priors(landmarks)[0].double() - gt).norm(dim=-1).mean()
    assert (first - gt).norm(dim=-1).mean() < 1e-3 * prior_error


def test_ridge_initialisation_starts_training_at_the_closed_form_basis(tiny_data, tmp_path):
    from facerecon.training.landmark_ridge import landmark_shape_targets, ridge_solution

    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", landmark_shape=True,
                       shape_basis_init="ridge", shape_basis_lambda=3.0, **TINY)
    trainer = Trainer(cfg, tiny_data, tmp_path, progress=False)
    generator, _ = build_models(cfg, tiny_data)
    weight, bias = ridge_solution(*landmark_shape_targets(generator, tiny_data), 3.0)
    torch.testing.assert_close(trainer.generator.shape_basis.weight.detach(), weight)
    torch.testing.assert_close(trainer.generator.shape_basis.bias.detach(), bias)
    with pytest.raises(ValueError, match="needs landmark_shape=True"):
        named_config("no_gan", shape_basis_init="ridge", **TINY)


def test_vertex_term_is_the_mean_squared_distance_to_the_resampled_gt(tiny_data):
    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", **TINY)
    generator, _ = build_models(cfg, tiny_data)
    batch = MeshBatches(tiny_data, generator.output_uv, 64).batch(range(4), torch.Generator().manual_seed(0),
                                                                  torch.device("cpu"))
    inputs, outputs = generator.deform(batch["images"], batch["landmarks"])
    weights = replace(losses.LossWeights(), vertex=2.0)
    terms = reconstruction_loss(inputs, outputs, generator, batch, weights, fit_levels="last", centre_depth=False)
    pred, target = outputs[-1].tolist(), batch["real_meshes"].tolist()
    naive = np.mean([np.mean([sum((a - b) ** 2 for a, b in zip(p, t)) for p, t in zip(pm, tm)])
                     for pm, tm in zip(pred, target)])
    assert float(terms["vertex"].detach()) == pytest.approx(2.0 * naive, rel=1e-5)
    assert "vertex" not in reconstruction_loss(inputs, outputs, generator, batch, losses.LossWeights())
    off = reconstruction_loss(inputs, outputs, generator, batch, replace(weights.scaled_chamfer(0.0)))
    assert float(off["chamfer"]) == 0 and float(off["vertex"].detach()) > 0


def test_learning_rate_schedule_warms_up_then_decays_to_zero(tiny_data, tmp_path):
    cfg = named_config("no_gan", steps=10, warmup_steps=4, lr_schedule="cosine", **TINY)
    factors = [cfg.lr_factor(s) for s in range(10)]
    assert factors[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert factors[4] == pytest.approx(1.0) and all(a > b for a, b in zip(factors[4:], factors[5:]))
    assert factors[9] == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 6)))
    assert named_config("no_gan", **TINY).lr_factor(123) == 1.0
    trainer = Trainer(replace(cfg, steps=3), tiny_data, tmp_path, progress=False)
    for step in range(3):
        trainer.step = step
        log = trainer.train_step()
        assert log["lr_factor"] == cfg.lr_factor(step)
        assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(cfg.lr_generator * cfg.lr_factor(step))
    for bad in (dict(lr_schedule="step"), dict(warmup_steps=-1), dict(chamfer_weight=0.0)):
        with pytest.raises(ValueError):
            named_config("no_gan", **TINY, **bad)


def test_step_scales_measure_how_far_one_part_moves_the_output(tiny_data):
    """Zero-initialized offset heads block every gradient upstream: a step on the encoder or the graph layers
    cannot move the output, a step on the heads can; the generator is left unchanged."""
    from facerecon.training.step_scales import output_step_scales

    generator, _ = build_models(named_config("no_gan", **TINY), tiny_data)
    batch = MeshBatches(tiny_data, generator.output_uv, 64).batch(range(4), torch.Generator().manual_seed(0),
                                                                  torch.device("cpu"))
    before = _weights(generator)
    loss = lambda meshes: losses.vertex_loss(meshes[-1], batch["real_meshes"]).mean()   # noqa: E731
    scales = output_step_scales(generator, batch["images"], batch["landmarks"], loss, 1e-4)
    assert scales["encoder"] == 0 and scales["graph layers"] == 0 and scales["offset heads"] > 0
    for k, v in before.items():
        torch.testing.assert_close(generator.state_dict()[k], v, rtol=0, atol=0)


def test_offset_heads_take_their_own_learning_rate(tiny_data, tmp_path):
    """Adam's step moves each weight by at most about its group's learning rate: the heads' and the rest's apart
    (the second step: zero-initialized heads pass no gradient upstream in the first)."""
    cfg = named_config("no_gan", lr_generator=1e-4, lr_offset_heads=1e-6, **TINY)
    trainer = Trainer(cfg, tiny_data, tmp_path, progress=False)
    trainer.train_step()
    trainer.step = 1
    before = {k: p.detach().clone() for k, p in trainer.generator.named_parameters()}
    trainer.train_step()
    moved = {k: (p.detach() - before[k]).abs().max().item() for k, p in trainer.generator.named_parameters()}
    heads = max(v for k, v in moved.items() if k.startswith("offsets."))
    rest = max(v for k, v in moved.items() if not k.startswith("offsets."))
    assert 0.5e-6 < heads <= 1.1e-6 and 0.5e-4 < rest <= 1.1e-4
    assert len(Trainer(named_config("no_gan", **TINY), tiny_data, tmp_path / "one", progress=False)
               .opt_g.param_groups) == 1
    with pytest.raises(ValueError, match="lr_offset_heads must be > 0"):
        named_config("no_gan", lr_offset_heads=0.0, **TINY)


def test_landmark_noise_moves_only_the_input_landmarks_by_gaussian_noise_of_its_sd(tiny_data):
    generator, _ = build_models(named_config("no_gan", **TINY))
    indices = range(len(tiny_data))

    def batch(noise):
        return MeshBatches(tiny_data, generator.output_uv, 64, noise).batch(
            indices, torch.Generator().manual_seed(3), torch.device("cpu"))
    clean, noisy = batch(0.0), batch(2.5)
    given = np.stack([tiny_data.sample(i)["landmarks2d"] for i in indices])
    np.testing.assert_array_equal(clean["landmarks"].numpy(), given)
    moved = (noisy["landmarks"] - clean["landmarks"]).numpy().ravel()
    # 136 coordinates a face: the sample s.d. of a normal is within 15 % of its s.d. at this size
    assert abs(moved.std() - 2.5) < 0.15 * 2.5 and abs(moved.mean()) < 0.3
    for key in ("images", "gt_points", "gt_normals", "real_meshes"):   # drawn before the noise: unchanged
        torch.testing.assert_close(noisy[key], clean[key], rtol=0, atol=0)
    with pytest.raises(ValueError, match="landmark_noise must be >= 0"):
        MeshBatches(tiny_data, generator.output_uv, 64, -1.0)
    with pytest.raises(ValueError, match="landmark_noise must be >= 0"):
        named_config("no_gan", landmark_noise=-0.5, **TINY)


def test_the_ridge_start_sees_the_landmark_noise_that_training_adds(tiny_data, tmp_path):
    from facerecon.training.landmark_ridge import landmark_shape_targets, ridge_solution

    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", landmark_shape=True,
                       shape_basis_init="ridge", shape_basis_lambda=3.0, landmark_noise=2.0, **TINY)
    generator, _ = build_models(cfg, tiny_data)
    clean = landmark_shape_targets(generator, tiny_data)
    noisy = landmark_shape_targets(generator, tiny_data, landmark_noise=2.0, seed=cfg.seed)
    # the features are the landmarks' offsets in tenths of the face's landmark radius: 2 px moves them by O(1)
    assert (noisy[0] - clean[0]).abs().mean() > 0.1
    torch.testing.assert_close(landmark_shape_targets(generator, tiny_data, landmark_noise=2.0, seed=cfg.seed)[0],
                               noisy[0])
    trainer = Trainer(cfg, tiny_data, tmp_path, progress=False)
    weight, _ = ridge_solution(*noisy, 3.0)
    torch.testing.assert_close(trainer.generator.shape_basis.weight.detach(), weight)
    assert trainer.batches.landmark_noise == 2.0


def test_a_process_remembers_ridge_targets_only_for_the_same_split_prior_and_noise(tiny_data):
    from facerecon.data.dataset import FaceDataset
    from facerecon.training.landmark_ridge import landmark_shape_targets

    cfg = named_config("no_gan", prior="mean_face", landmarks="residual", landmark_shape=True, graph_blocks=False,
                       **TINY)
    generator, _ = build_models(cfg, tiny_data)
    first = landmark_shape_targets(generator, tiny_data)
    assert landmark_shape_targets(generator, tiny_data) is first
    # the same files outside the run cache are computed afresh, to the same numbers
    fresh = landmark_shape_targets(generator, FaceDataset(tiny_data.folder))
    assert fresh is not first
    for remembered, computed in zip(first, fresh):
        torch.testing.assert_close(remembered, computed, rtol=0, atol=0)
    assert landmark_shape_targets(generator, tiny_data, landmark_noise=1.0) is not first
    other, _ = build_models(cfg, tiny_data)     # the same split and layout: the same prior
    assert landmark_shape_targets(other, tiny_data) is first
    samples = [tiny_data.sample(i) for i in range(len(tiny_data))]
    other.set_mean_face(1.1 * np.mean([s["vertices"] for s in samples], 0) * np.array([1.0, -1.0, 1.0]),
                        tiny_data.uv, tiny_data.faces, tiny_data.model.landmark_index)
    changed = landmark_shape_targets(other, tiny_data)
    assert changed is not first and not torch.equal(changed[1], first[1])


# --- the encoder's auxiliary surface readout (training/surface_readout.py) ---------------------------------------

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
    resumed = _interrupted_at_step_3_then_resumed(cfg, tiny_data, tmp_path / "split", monkeypatch)
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
