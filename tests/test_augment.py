"""The augmentation: geometry condition, generators (conditioning, determinism, DDIM against a naive loop), edits,
generated splits (the seed-and-face statistics are tested in test_statistics.py)."""

import numpy as np
import pytest
import torch

from facerecon.augment.diffusion import DiffusionConfig, GeometryDiffusion, train_diffusion, training_pairs
from facerecon.augment.edits import EDITS, EditConfig, edit_sample, edited_yaw
from facerecon.augment.geometry import geometry_maps, landmark_visibility
from facerecon.augment.pairs import augmented_split, edited_samples
from facerecon.data.generate import load_synthface
from facerecon.data.morphable import EXPRESSION_NAMES
from facerecon.data.synthface import OCCLUDERS, SynthFaceConfig
from facerecon.mesh.frame import CROP_SIZE
from facerecon.study.cache import RunCache

TINY_PIXEL = DiffusionConfig(kind="pixel", resolution=16, channels=(8, 16), steps=3, batch_size=4, seed=0)
TINY_LATENT = DiffusionConfig(kind="latent", resolution=16, channels=(8, 16), ae_channels=(8, 16), steps=3,
                              ae_steps=3, batch_size=4, seed=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return RunCache(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def tiny_split(cache):
    return load_synthface(SynthFaceConfig(split="train", n=8, seed=0, resolution=24), cache=cache, workers=1,
                          progress=False)


# --- the geometry condition ---------------------------------------------------------------------------------

def _plane(normal_xy=(0.0, 0.0), depth=10.0):
    """Two triangles covering the crop: z = depth + a·x + b·y (crop pixels); its camera-frame normal is known."""
    a, b = normal_xy
    corners = np.array([[-5, -5], [CROP_SIZE + 5, -5], [CROP_SIZE + 5, CROP_SIZE + 5], [-5, CROP_SIZE + 5]], float)
    vertices = np.c_[corners, depth + a * corners[:, 0] + b * corners[:, 1]]
    return vertices, np.array([[0, 1, 2], [0, 2, 3]])


@pytest.mark.parametrize("slope", [(0.0, 0.0), (0.3, -0.2)])
def test_geometry_maps_of_a_plane_match_its_normal_and_depth(slope):
    vertices, faces = _plane(slope)
    maps = geometry_maps(vertices, faces, 16)
    a, b = slope
    # z = d + a x + b y in the crop (y down) → camera frame (y up): normal ∝ (−a, b, 1)
    expected = np.array([-a, b, 1.0]) / np.linalg.norm([-a, b, 1.0])
    assert maps.shape == (4, 16, 16)
    assert np.allclose(maps[:3].permute(1, 2, 0).reshape(-1, 3).numpy(), expected, atol=1e-5)
    # naive depth: the plane's z at each pixel centre of the 16-pixel image, mapped back to crop pixels
    centres = (np.arange(16) + 0.5) * CROP_SIZE / 16 - 0.5
    xx, yy = np.meshgrid(centres, centres)
    assert np.allclose(maps[3].numpy(), (10.0 + a * xx + b * yy) / (CROP_SIZE / 2), atol=1e-4)


def test_geometry_maps_are_zero_off_the_face_and_check_shapes():
    vertices, faces = _plane()
    vertices[:, :2] = vertices[:, :2] * 0.3          # a small square in the corner
    maps = geometry_maps(vertices, faces, 16)
    assert maps[:, -1, -1].abs().sum() == 0 and maps[2, 0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"vertices must be \(V, 3\)"):
        geometry_maps(vertices[:, :2], faces, 16)


def test_landmark_visibility_hides_points_behind_the_surface():
    vertices, faces = _plane(depth=0.0)
    points = np.array([[50.0, 50.0, 0.0], [60.0, 60.0, -20.0], [70.0, 70.0, 5.0]])
    visible = landmark_visibility(np.r_[vertices, points], faces, np.arange(4, 7))
    assert visible.tolist() == [True, False, True]


# --- the generators ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg", [TINY_PIXEL, TINY_LATENT], ids=["pixel", "latent"])
def test_a_changed_mesh_changes_the_image_deterministically(cfg, tiny_split):
    torch.manual_seed(0)
    model = GeometryDiffusion(cfg).eval()
    sample = tiny_split.sample(0)
    edited = edit_sample(sample, tiny_split.model, "smile", EditConfig(), np.random.default_rng(0))
    geometry = torch.stack([geometry_maps(s["vertices"], tiny_split.faces, 16) for s in (sample, edited)])
    first = model.sample(geometry, 4, torch.Generator().manual_seed(3))
    again = model.sample(geometry, 4, torch.Generator().manual_seed(3))
    assert torch.equal(first, again), "the same seed and meshes must give the same images"
    assert first.shape == (2, 3, 16, 16) and 0 <= first.min() and first.max() <= 1
    # the same noise (seed, row) with the unedited mesh in both rows: the first row is unchanged, the second row
    # (the smile's) differs only by its mesh
    unedited = model.sample(geometry[:1].expand(2, -1, -1, -1), 4, torch.Generator().manual_seed(3))
    assert torch.equal(unedited[0], first[0])
    assert not torch.allclose(unedited[1], first[1], atol=1e-4)
    other_seed = model.sample(geometry, 4, torch.Generator().manual_seed(4))
    assert not torch.allclose(other_seed, first, atol=1e-4)


@pytest.mark.parametrize("prediction", ["epsilon", "sample"])
def test_ddim_sampling_matches_a_naive_eta_zero_loop(prediction):
    """DDIM, η = 0 (Song et al. 2021, eq. 12) with a constant network output read as ε or as x₀, by hand."""
    from dataclasses import replace

    model = GeometryDiffusion(replace(TINY_PIXEL, prediction=prediction)).eval()
    eps_value = 0.1

    class ConstantEps(torch.nn.Module):
        config = model.unet.config

        def forward(self, x, t):
            return type("Out", (), {"sample": torch.full_like(x[:, :3], eps_value)})()
    model.unet = ConstantEps()
    geometry = torch.zeros(1, 4, 16, 16)
    out = model.sample(geometry, 5, torch.Generator().manual_seed(0))
    x = torch.randn((1, 3, 16, 16), generator=torch.Generator().manual_seed(0)).double()
    alphas = model.scheduler().alphas_cumprod.double()
    timesteps = [800, 600, 400, 200, 0]                       # 1000 training steps, 5 DDIM steps ("leading")
    for i, t in enumerate(timesteps):
        a_t = alphas[t]
        a_prev = alphas[timesteps[i + 1]] if i + 1 < len(timesteps) else torch.tensor(1.0, dtype=torch.float64)
        x0 = (((x - (1 - a_t).sqrt() * eps_value) / a_t.sqrt()) if prediction == "epsilon"
              else torch.full_like(x, eps_value)).clamp(-1, 1)
        eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()        # ε recomputed from the clipped x₀, as diffusers does
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    assert torch.allclose(out.double(), ((x + 1) / 2).clamp(0, 1), atol=1e-5)


def test_training_lowers_the_denoising_loss_and_the_latent_scale_is_set(tiny_split):
    images, geometry = training_pairs(tiny_split, 8, 16)
    assert images.shape == (8, 3, 16, 16) and geometry.shape == (8, 4, 16, 16)
    cfg = DiffusionConfig(kind="latent", resolution=16, channels=(8, 16), ae_channels=(8, 16), steps=40,
                          ae_steps=40, batch_size=8, lr=2e-3, ae_lr=2e-3)
    model, history = train_diffusion(cfg, images, geometry, progress=False)
    assert set(history) == {"autoencoder", "denoiser"}
    assert np.mean(history["autoencoder"][-5:]) < np.mean(history["autoencoder"][:5])
    assert np.mean(history["denoiser"][-10:]) < np.mean(history["denoiser"][:10])   # the test's name: ε-prediction
    with torch.no_grad():
        latents = model.encode(images)
    assert latents.shape == (8, 4, 8, 8) and float(latents.std()) == pytest.approx(1.0, rel=1e-3)


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="kind must be one of"):
        DiffusionConfig(kind="gan")
    with pytest.raises(ValueError, match="resolution 20 must be divisible"):
        DiffusionConfig(kind="latent", resolution=20, channels=(8, 16), ae_channels=(8, 16, 16))
    with pytest.raises(ValueError, match=r"geometry must be \(B, 4, 16, 16\)"):
        GeometryDiffusion(TINY_PIXEL).sample(torch.zeros(1, 3, 16, 16), 2, torch.Generator())


# --- edits and generated splits ---------------------------------------------------------------------------------

def test_edited_yaw_stays_within_the_limits():
    rng = np.random.default_rng(0)
    for yaw in np.radians([-89, -70, -10, 0, 10, 70, 89]):
        new = edited_yaw(float(yaw), np.radians(30), rng)
        assert abs(new) <= np.pi / 2 + 1e-12 and abs(abs(new - yaw) - np.radians(30)) < 1e-12


def test_edits_change_the_mesh_as_named(tiny_split):
    sample, model = tiny_split.sample(1), tiny_split.model
    rng = lambda: np.random.default_rng(0)  # noqa: E731
    pose = edit_sample(sample, model, "pose", EditConfig(yaw_change_deg=20), rng())
    assert abs(abs(pose["pose"][1] - sample["pose"][1]) - np.radians(20)) < 1e-6
    assert np.allclose(pose["landmarks3d"], pose["vertices"][model.landmark_index])
    smile = edit_sample(sample, model, "smile", EditConfig(smile=0.7), rng())
    assert smile["exp_coeffs"][EXPRESSION_NAMES.index("smile")] == pytest.approx(0.7)
    assert not np.allclose(smile["vertices"], sample["vertices"])
    glasses = edit_sample(sample, model, "glasses", EditConfig(), rng())
    assert OCCLUDERS[glasses["occluder"]] == "glasses" and np.array_equal(glasses["vertices"], sample["vertices"])
    assert sample["exp_coeffs"][EXPRESSION_NAMES.index("smile")] != 0.7, "the source sample is left unchanged"
    with pytest.raises(ValueError, match="unknown edit 'beard'"):
        edit_sample(sample, model, "beard", EditConfig(), rng())


def test_augmented_split_holds_the_subset_then_the_pairs_with_their_meshes(tiny_split, cache):
    cfg = DiffusionConfig(kind="pixel", resolution=16, channels=(8, 16), steps=2, batch_size=4)
    from facerecon.augment.diffusion import train_or_load_diffusion

    diffusion = train_or_load_diffusion(cfg, tiny_split, 4, profile="smoke", cache=cache, progress=False)
    split = augmented_split(tiny_split, 4, diffusion=diffusion, n_pairs=6, ddim_steps=2, profile="smoke",
                            cache=cache, progress=False)
    assert len(split) == 10 and split.index["augmentation"]["edits"] == list(EDITS) * 2
    for i in range(4):
        assert np.array_equal(split.sample(i)["image"], tiny_split.sample(i)["image"])
    edited = edited_samples(tiny_split, 4, 6, EDITS, EditConfig(), 0)
    for j, expected in enumerate(edited):
        rebuilt = split.sample(4 + j)
        assert np.allclose(rebuilt["vertices"], expected["vertices"], atol=1e-3), "the pair's mesh is its edit's"
        assert np.allclose(rebuilt["landmarks2d"], expected["landmarks2d"])
    again = augmented_split(tiny_split, 4, diffusion=diffusion, n_pairs=6, ddim_steps=2, profile="smoke",
                            cache=cache, progress=False)
    assert again.cache_key == split.cache_key
    assert np.array_equal(again.sample(9)["image"], split.sample(9)["image"])
    assert len(augmented_split(tiny_split, 4, profile="smoke", cache=cache)) == 4
    with pytest.raises(ValueError, match="generated pairs need a trained diffusion model"):
        augmented_split(tiny_split, 4, n_pairs=2, profile="smoke", cache=cache)


def test_train_or_load_on_needs_a_cached_dataset(tiny_split):
    from facerecon.data.dataset import FaceDataset
    from facerecon.training.cached import train_or_load_on
    from facerecon.training.config import named_config

    with pytest.raises(ValueError, match="needs a dataset from the run cache"):
        train_or_load_on(named_config("full", architecture="smoke"), FaceDataset(tiny_split.folder), {},
                         profile="smoke")




def test_generators_trained_in_two_processes_equal_those_trained_one_after_another(tiny_split, cache, tmp_path):
    """02's two generators at once (one single-threaded process each): the weights and losses of one after
    another with one thread (to the kernels' summation order: diffusers' layers are not bitwise the same in a
    fresh process), then both read from the cache."""
    from facerecon.augment.diffusion import train_or_load_diffusion, train_or_load_diffusions

    configs = [DiffusionConfig(kind="pixel", resolution=16, channels=(8, 16), steps=3, batch_size=4),
               DiffusionConfig(kind="latent", resolution=16, channels=(8, 16), steps=3, batch_size=4, ae_steps=2,
                               ae_channels=(4, 8, 8))]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sequential = [train_or_load_diffusion(cfg, tiny_split, 4, profile="smoke", cache=RunCache(tmp_path / "a"),
                                              progress=False) for cfg in configs]
    finally:
        torch.set_num_threads(before)
    both = train_or_load_diffusions(configs, tiny_split, 4, profile="smoke", processes=2, cache=cache, progress=False)
    assert [g.reused for g in both] == [False, False]
    for one, other in zip(sequential, both):
        assert one.config == other.config and one.history.keys() == other.history.keys()
        for part, losses in one.history.items():
            np.testing.assert_allclose(other.history[part], losses, rtol=1e-5)
        for key, value in one.model.state_dict().items():   # Adam turns float noise into whole steps where the
            # exact gradient is zero (a bias before a group norm): a weight may differ by its few steps of lr
            torch.testing.assert_close(other.model.state_dict()[key], value, rtol=0,
                                       atol=one.config.steps * max(one.config.lr, one.config.ae_lr), msg=key)
    assert all(g.reused for g in train_or_load_diffusions(configs, tiny_split, 4, profile="smoke", processes=2,
                                                          cache=cache, progress=False))
