"""SynthFace: the study's synthetic stand-in for 300W-LP (``train``) and AFLW2000-3D (``test``).

Each sample is drawn from the project's morphable model (:mod:`facerecon.data.morphable`), posed in the 3DDFA
convention, cropped to 113×113 from the bounding box of its ground-truth mesh (paper §3.3.3), and rendered by
the z-buffer rasterizer with Lambertian light, random skin albedo, a random background, optional occluders
and sensor noise. Sample ``i`` of a split depends only on ``(seed, split, i)``: the same seed gives
byte-identical samples however the work is chunked or parallelized.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .camera import rotation_3ddfa
from .morphable import EXPRESSION_NAMES, N_ALBEDO, N_HIDDEN, ONE_SIDED_EXPRESSIONS, FaceModel, FaceModelConfig, \
    build_face_model
from ..mesh.ops import vertex_normals
from .hidden_shape import sample_bumps
from .render import Light, downsample, rasterize, shade, to_numpy_uint8

SPLITS = {"train": 0, "test": 1}
# AFLW2000-3D holds 1312 / 383 / 305 images with |yaw| in [0,30] / (30,60] / (60,90] degrees.
AFLW2000_YAW_BIN_COUNTS = (1312, 383, 305)
YAW_BINS_DEG = ((0.0, 30.0), (30.0, 60.0), (60.0, 90.0))


def yaw_bin_masks(abs_yaw_deg: np.ndarray) -> dict[str, np.ndarray]:
    """``"[lo,hi]" -> (N,) bool`` for each bin of ``YAW_BINS_DEG``; the first bin is closed, the others (lo, hi]."""
    yaw = np.asarray(abs_yaw_deg)
    return {f"[{lo:.0f},{hi:.0f}]": ((yaw >= lo) if lo == 0 else (yaw > lo)) & (yaw <= hi)
            for lo, hi in YAW_BINS_DEG}
OCCLUDERS = ("none", "glasses", "hand", "patch")


@dataclass(frozen=True)
class SplitStyle:
    """What differs between the 300W-LP-like and the AFLW2000-3D-like split."""

    yaw: str                      # "uniform" over ±90° (300W-LP) or "aflw2000" bin proportions
    pitch_sd_deg: float
    roll_sd_deg: float
    light_max_angle_deg: float    # light direction within this angle of the camera axis
    ambient: tuple[float, float]
    diffuse: tuple[float, float]
    tint: float                   # colour cast of the light
    occlusion_prob: float
    noise_sd_max: float           # Gaussian sensor noise, σ ~ U(0, max) in [0, 1] units


SPLIT_STYLES = {
    "train": SplitStyle("uniform", 10.0, 7.0, 60.0, (0.35, 0.6), (0.45, 0.8), 0.08, 0.15, 0.02),
    "test": SplitStyle("aflw2000", 12.0, 9.0, 85.0, (0.12, 0.45), (0.55, 1.0), 0.2, 0.4, 0.04),
}


@dataclass(frozen=True)
class SynthFaceConfig:
    """A SynthFace split. Defaults are the ``gpu`` profile's (the paper's 113×113 input)."""

    split: str = "train"
    n: int = 1000
    seed: int = 0
    resolution: int = 84          # morphable-model grid: 84 → 7,084 GT vertices
    n_identity: int = 48
    image_size: int = 113         # paper §3.3.3
    crop_margin: float = 1.0      # box side = max(w, h) of the projected GT mesh × margin (paper: the GT bbox)
    supersample: int = 2          # anti-aliasing: render at image_size × supersample, then box-filter
    shard_size: int = 1000
    expression_prob: float = 0.35  # probability that each expression component is active

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {self.split!r}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if not 16 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be in [16, 1024], got {self.image_size}")
        if self.crop_margin < 1.0:
            raise ValueError(f"crop_margin must be >= 1 (the box must hold the mesh), got {self.crop_margin}")
        if self.supersample not in (1, 2, 3, 4):
            raise ValueError(f"supersample must be 1, 2, 3 or 4, got {self.supersample}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {self.shard_size}")

    @property
    def model_config(self) -> FaceModelConfig:
        return FaceModelConfig(self.resolution, self.n_identity)

    @property
    def style(self) -> SplitStyle:
        return SPLIT_STYLES[self.split]


@dataclass
class SceneParams:
    """Everything random about one sample."""

    id_coeffs: np.ndarray
    exp_coeffs: np.ndarray
    tex_coeffs: np.ndarray
    pose: np.ndarray              # pitch, yaw, roll (radians), 3DDFA convention
    light: Light
    occluder: int                 # index into OCCLUDERS
    noise_sd: float
    hidden_coeffs: np.ndarray     # (v2) hidden regional identity, ~N(0, 1)
    detail: np.ndarray            # (v2) local bumps (K, 4), see hidden_shape.sample_bumps
    extra: dict = field(default_factory=dict)


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of sample ``index``: independent of chunking and worker count."""
    return np.random.default_rng([seed, SPLITS[split], index])


def sample_yaw(rng: np.random.Generator, style: SplitStyle) -> float:
    if style.yaw == "uniform":
        return float(rng.uniform(-np.pi / 2, np.pi / 2))
    p = np.array(AFLW2000_YAW_BIN_COUNTS, dtype=float)
    lo, hi = YAW_BINS_DEG[rng.choice(3, p=p / p.sum())]
    return float(np.radians(rng.uniform(lo, hi)) * rng.choice([-1.0, 1.0]))


def sample_scene(rng: np.random.Generator, model: FaceModel, cfg: SynthFaceConfig) -> SceneParams:
    style = cfg.style
    exp = np.zeros(len(EXPRESSION_NAMES))
    for k, name in enumerate(EXPRESSION_NAMES):
        if rng.random() < cfg.expression_prob:
            exp[k] = rng.uniform(0, 1) if name in ONE_SIDED_EXPRESSIONS else rng.uniform(-1, 1)
    pitch = np.radians(np.clip(rng.normal(0, style.pitch_sd_deg), -3 * style.pitch_sd_deg, 3 * style.pitch_sd_deg))
    roll = np.radians(np.clip(rng.normal(0, style.roll_sd_deg), -3 * style.roll_sd_deg, 3 * style.roll_sd_deg))
    yaw = sample_yaw(rng, style)
    # light direction: uniform on the spherical cap around the camera axis
    cos_max = np.cos(np.radians(style.light_max_angle_deg))
    cos_t = rng.uniform(cos_max, 1.0)
    phi = rng.uniform(0, 2 * np.pi)
    sin_t = np.sqrt(1 - cos_t ** 2)
    tint = 1 + style.tint * rng.uniform(-1, 1, 3)
    light = Light(direction=(float(sin_t * np.cos(phi)), float(sin_t * np.sin(phi)), float(cos_t)),
                  ambient=float(rng.uniform(*style.ambient)), diffuse=float(rng.uniform(*style.diffuse)),
                  specular=float(rng.uniform(0.0, 0.12)), colour=tuple(float(t) for t in tint / tint.max()))
    occluder = int(rng.integers(1, len(OCCLUDERS))) if rng.random() < style.occlusion_prob else 0
    id_coeffs, tex_coeffs = rng.standard_normal(len(model.id_basis)), rng.standard_normal(N_ALBEDO)
    noise_sd = float(rng.uniform(0, style.noise_sd_max))
    # v2's hidden shape is drawn last, independently of everything the landmarks depend on
    hidden = rng.standard_normal(len(model.hidden_basis))
    detail = sample_bumps(rng, model.config.hidden)
    return SceneParams(id_coeffs=id_coeffs, exp_coeffs=exp, tex_coeffs=tex_coeffs, pose=np.array([pitch, yaw, roll]),
                       light=light, occluder=occluder, noise_sd=noise_sd, hidden_coeffs=hidden, detail=detail)


def scene_shape(model: FaceModel, scene: SceneParams) -> np.ndarray:
    """The face's vertices ``(N, 3)`` in the model frame (before pose)."""
    return model.shape(scene.id_coeffs, scene.exp_coeffs, scene.hidden_coeffs, scene.detail)


def model_to_crop(model_vertices: np.ndarray, pose: np.ndarray, margin: float, size: int):
    """Pose model vertices ``(N, 3)`` and map them into the crop.

    Returns ``(crop_vertices (N, 3), transform (4,))`` with ``crop = k·(x, −y, z) + (tx, ty, tz)`` applied
    to the rotated vertices ``R·v``: the box is the square around the projected mesh (paper §3.3.3), and
    ``tz`` makes the crop mesh zero-mean in z.
    """
    rotated = model_vertices @ rotation_3ddfa(*pose).T
    image = rotated * np.array([1.0, -1.0, 1.0])                 # y down in the image
    lo, hi = image[:, :2].min(0), image[:, :2].max(0)
    side = float((hi - lo).max()) * margin
    k = size / side
    centre = (lo + hi) / 2
    tx, ty = (size - 1) / 2 - k * centre[0], (size - 1) / 2 - k * centre[1]
    tz = -k * image[:, 2].mean()
    transform = np.array([k, tx, ty, tz])
    return apply_crop_transform(rotated, transform), transform


def apply_crop_transform(rotated: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """``(..., N, 3)`` rotated model vertices → crop coordinates for ``transform = (k, tx, ty, tz)``."""
    k, tx, ty, tz = (np.asarray(transform, dtype=np.float64)[..., i, None] for i in range(4))
    return np.stack([k * rotated[..., 0] + tx, -k * rotated[..., 1] + ty, k * rotated[..., 2] + tz], -1)


# --- backgrounds and occluders -----------------------------------------------------------------------------

def _smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 3) -> torch.Tensor:
    coarse = torch.as_tensor(rng.random((1, channels, cells, cells)), dtype=torch.float32)
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[0].permute(1, 2, 0)


def random_background(rng: np.random.Generator, size: int) -> torch.Tensor:
    """A cluttered background ``(size, size, 3)`` in [0, 1]: smooth colour field, rectangles, fine texture."""
    base = torch.as_tensor(rng.random(3), dtype=torch.float32)
    image = 0.5 * base + 0.5 * _smooth_noise(rng, size, int(rng.integers(2, 5)))
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    g = torch.as_tensor(rng.normal(0, 0.15, 2), dtype=torch.float32)
    image = image + (g[0] * xx + g[1] * yy)[..., None]
    for _ in range(int(rng.integers(0, 5))):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 10, size // 2, 2)
        image[y0:y0 + h, x0:x0 + w] = 0.4 * image[y0:y0 + h, x0:x0 + w] + \
            0.6 * torch.as_tensor(rng.random(3), dtype=torch.float32)
    image = image + 0.08 * (_smooth_noise(rng, size, size // 4, 1) - 0.5)
    return image.clamp(0, 1)


def draw_occluder(rng: np.random.Generator, kind: int, image: torch.Tensor, landmarks2d: np.ndarray
                  ) -> torch.Tensor:
    """Paint occluder ``kind`` (see :data:`OCCLUDERS`) onto ``image (S, S, 3)`` in place; returns its mask."""
    size = image.shape[0]
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    mask = torch.zeros(size, size)
    name = OCCLUDERS[kind]
    if name == "glasses":
        left, right = landmarks2d[36:42].mean(0), landmarks2d[42:48].mean(0)
        direction = (right - left) / max(np.linalg.norm(right - left), 1e-6)
        normal = np.array([-direction[1], direction[0]])
        centre = (left + right) / 2
        rel = np.stack([xx.numpy() - centre[0], yy.numpy() - centre[1]], -1)
        along, across = rel @ direction, rel @ normal
        half_len = np.linalg.norm(right - left) * rng.uniform(0.9, 1.3) + 8
        thickness = rng.uniform(0.05, 0.12) * size
        mask = torch.as_tensor((np.abs(along) < half_len) & (np.abs(across) < thickness / 2), dtype=torch.float32)
        colour = torch.as_tensor(rng.uniform(0.0, 0.25, 3), dtype=torch.float32)
        alpha = rng.uniform(0.75, 1.0)
    elif name == "hand":
        anchor = landmarks2d[rng.choice(np.r_[3:14, 48:60])]
        centre = anchor + rng.normal(0, 6, 2)
        a, b = rng.uniform(0.12, 0.25) * size, rng.uniform(0.08, 0.15) * size
        t = rng.uniform(0, np.pi)
        u = (xx - centre[0]) * np.cos(t) + (yy - centre[1]) * np.sin(t)
        w = -(xx - centre[0]) * np.sin(t) + (yy - centre[1]) * np.cos(t)
        mask = ((u / a) ** 2 + (w / b) ** 2 <= 1).float()
        colour = torch.as_tensor(np.array([0.78, 0.58, 0.48]) * rng.uniform(0.6, 1.1), dtype=torch.float32)
        alpha = 1.0
    elif name == "patch":
        anchor = landmarks2d[rng.integers(0, 68)]
        w, h = rng.uniform(0.15, 0.35, 2) * size
        mask = ((xx - anchor[0]).abs() < w / 2) & ((yy - anchor[1]).abs() < h / 2)
        mask = mask.float()
        colour = torch.as_tensor(rng.random(3), dtype=torch.float32)
        alpha = 1.0
    else:
        return mask.bool()
    image.mul_(1 - alpha * mask[..., None]).add_(alpha * mask[..., None] * colour)
    return mask.bool()


# --- one sample ----------------------------------------------------------------------------------------------

@dataclass
class RenderedFace:
    """A face rendered into the crop: ``rgb (S, S, 3)`` (premultiplied by ``coverage (S, S, 1)``), the crop
    vertices ``(N, 3)``, the crop transform and the supersampled fragments."""

    rgb: torch.Tensor
    coverage: torch.Tensor
    crop_vertices: np.ndarray
    transform: np.ndarray
    fragments: object
    supersample: int


def render_face(model: FaceModel, shape: np.ndarray, pose: np.ndarray, tex_coeffs: np.ndarray, light: Light,
                size: int, supersample: int = 2, margin: float = 1.0) -> RenderedFace:
    """Pose ``shape (N, 3)``, crop it like the paper, and render it shaded (no background)."""
    ss = supersample
    crop_vertices, transform = model_to_crop(shape, pose, margin, size)
    rotated = shape @ rotation_3ddfa(*pose).T
    faces = torch.from_numpy(model.faces)
    verts_ss = torch.from_numpy(crop_vertices)
    # pixel centre in the supersampled image: x_ss = (x + 0.5)·ss − 0.5
    verts_ss = torch.cat([(verts_ss[:, :2] + 0.5) * ss - 0.5, verts_ss[:, 2:] * ss], 1)
    frags = rasterize(verts_ss, faces, size * ss, size * ss)
    normals = vertex_normals(torch.from_numpy(rotated).float(), faces)       # camera frame, y up
    attributes = frags.interpolate(torch.cat([normals, torch.from_numpy(model.uv)], 1), faces)
    pixel_normals = F.normalize(attributes[..., :3], dim=-1, eps=1e-12)
    mask = frags.mask
    albedo = sample_albedo(model, tex_coeffs, attributes[..., 3:])
    face_rgb = shade(albedo, pixel_normals, light)
    return RenderedFace(rgb=downsample(face_rgb * mask[..., None], ss), coverage=downsample(mask.float()[..., None], ss),
                        crop_vertices=crop_vertices, transform=transform, fragments=frags, supersample=ss)


def render_sample(model: FaceModel, cfg: SynthFaceConfig, index: int) -> dict[str, np.ndarray]:
    """Sample ``index`` of the split described by ``cfg`` (see :func:`sample_contract` for the fields)."""
    rng = sample_rng(cfg.seed, cfg.split, index)
    scene = sample_scene(rng, model, cfg)
    size, ss = cfg.image_size, cfg.supersample
    shape = scene_shape(model, scene)
    face = render_face(model, shape, scene.pose, scene.tex_coeffs, scene.light, size, ss, cfg.crop_margin)
    crop_vertices, transform, frags = face.crop_vertices, face.transform, face.fragments
    background = random_background(rng, size)
    image = face.rgb + (1 - face.coverage) * background

    landmarks3d = crop_vertices[model.landmark_index]
    # a landmark is visible when it is the closest surface at its pixel and no occluder covers it
    lm_ss = np.rint((landmarks3d[:, :2] + 0.5) * ss - 0.5).astype(int)
    inside = ((lm_ss >= 0) & (lm_ss < size * ss)).all(1)
    visible = np.zeros(68, dtype=bool)
    zbuf = frags.depth.numpy()
    visible[inside] = landmarks3d[inside, 2] * ss >= zbuf[lm_ss[inside, 1], lm_ss[inside, 0]] - 1.5 * ss
    occluder_mask = draw_occluder(rng, scene.occluder, image, landmarks3d[:, :2])
    if scene.occluder:
        lm_px = np.clip(np.rint(landmarks3d[:, :2]).astype(int), 0, size - 1)
        visible &= ~occluder_mask.numpy()[lm_px[:, 1], lm_px[:, 0]]
    image = image + scene.noise_sd * torch.as_tensor(rng.standard_normal(image.shape), dtype=torch.float32)
    light = scene.light
    return {
        "image": to_numpy_uint8(image),
        "landmarks2d": landmarks3d[:, :2].astype(np.float32),
        "landmarks3d": landmarks3d.astype(np.float32),
        "landmark_visible": visible,
        "pose": scene.pose.astype(np.float32),
        "id_coeffs": scene.id_coeffs.astype(np.float32),
        "exp_coeffs": scene.exp_coeffs.astype(np.float32),
        "hidden_coeffs": scene.hidden_coeffs.astype(np.float32),
        "detail": scene.detail.astype(np.float32),
        "tex_coeffs": scene.tex_coeffs.astype(np.float32),
        "crop_transform": transform.astype(np.float64),
        "light": np.array([*light.direction, light.ambient, light.diffuse, light.specular, *light.colour],
                          dtype=np.float32),
        "occluder": np.int8(scene.occluder),
        "noise_sd": np.float32(scene.noise_sd),
    }


def sample_albedo(model: FaceModel, tex_coeffs: np.ndarray, uv: torch.Tensor) -> torch.Tensor:
    """Albedo ``(..., 3)`` in [0, 1] at parameter points ``uv (..., 2)`` from the model's baked atlas."""
    weights = torch.as_tensor(np.concatenate([[1.0], tex_coeffs]), dtype=torch.float32)
    texture = torch.einsum("k,kchw->chw", weights, torch.from_numpy(model.albedo_atlas))
    grid = uv.reshape(1, 1, -1, 2).float()          # (s, v) in [-1, 1] = (x, y) of grid_sample
    out = F.grid_sample(texture[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, 0].T.reshape(*uv.shape[:-1], 3).clamp(0, 1)


def sample_contract(cfg: SynthFaceConfig) -> dict[str, tuple[tuple[int, ...], str]]:
    """Per-sample arrays stored in shards: ``name → (shape, dtype)``."""
    s = cfg.image_size
    return {
        "image": ((s, s, 3), "uint8"), "landmarks2d": ((68, 2), "float32"), "landmarks3d": ((68, 3), "float32"),
        "landmark_visible": ((68,), "bool"), "pose": ((3,), "float32"),
        "id_coeffs": ((cfg.n_identity,), "float32"), "exp_coeffs": ((len(EXPRESSION_NAMES),), "float32"),
        "hidden_coeffs": ((N_HIDDEN,), "float32"), "detail": ((cfg.model_config.hidden.n_bumps, 4), "float32"),
        "tex_coeffs": ((N_ALBEDO,), "float32"), "crop_transform": ((4,), "float64"), "light": ((9,), "float32"),
        "occluder": ((), "int8"), "noise_sd": ((), "float32"),
    }


def synthface_model(cfg: SynthFaceConfig) -> FaceModel:
    return build_face_model(cfg.model_config)


def config_dict(cfg: SynthFaceConfig) -> dict:
    return asdict(cfg)
