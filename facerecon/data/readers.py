"""Readers for the real 300W-LP and AFLW2000-3D datasets and for the user's Basel Face Model (BFM).

Formats (verified on real files; see the book's data chapter): one MATLAB v5 ``.mat`` per 450×450 JPEG with
``Pose_Para`` (pitch, yaw, roll, tx, ty, tz, f), ``Shape_Para`` (199), ``Exp_Para`` (29), ...; AFLW2000-3D adds
``pt3d_68`` (3×68). With a BFM, a sample carries its dense GT mesh
``V = (mu_shape + mu_exp) + w_shp·Shape_Para + w_exp·Exp_Para`` posed by ``P = f·R·V + t``; without one, it
carries image, 68 landmarks and pose, and the mesh is absent. Both are cropped to 113×113 like SynthFace
(square box around the projected GT mesh, or around the landmarks when there is no mesh).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..mesh.frame import CROP_SIZE
from .camera import CropBox, crop_box_from_points, crop_image, project_3ddfa

SUBSETS_300WLP = ("AFW", "HELEN", "IBUG", "LFPW")
# The 68 keypoint vertices of the standard trimmed BFM (53,215 vertices), 0-based.
BFM_KEYPOINTS = np.array([
    21873, 22149, 21653, 21036, 43236, 44918, 46166, 47135, 47914, 48695, 49667, 50924, 52613, 33678, 33005,
    32469, 32709, 38695, 39392, 39782, 39987, 40154, 40893, 41059, 41267, 41661, 42367, 8161, 8177, 8187, 8192,
    6515, 7243, 8204, 9163, 9883, 2215, 3886, 4920, 5828, 4801, 3640, 10455, 11353, 12383, 14066, 12653, 11492,
    5522, 6025, 7495, 8215, 8935, 10395, 10795, 9555, 8836, 8236, 7636, 6915, 5909, 7384, 8223, 9064, 10537,
    8829, 8229, 7629])

# key: (shape after squeeze-free load, description) for the per-image .mat files
MAT_KEYS_COMMON = {
    "Pose_Para": ((1, 7), "pitch, yaw, roll (rad), tx, ty, tz, f"),
    "Shape_Para": ((199, 1), "BFM identity coefficients"),
    "Exp_Para": ((29, 1), "3DDFA expression coefficients"),
}
MAT_KEYS = {
    "300wlp": {**MAT_KEYS_COMMON, "pt2d": ((2, 68), "original 2D annotation")},
    "aflw2000": {**MAT_KEYS_COMMON, "pt3d_68": ((3, 68), "68 3D landmarks (x, y image pixels, z depth)")},
}


class DataFormatError(ValueError):
    """A data file is missing, unreadable, or lacks the expected keys/shapes; the message names the file."""


def load_mat(path: Path | str, expected: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    """Load a MATLAB v5 file and check that ``expected`` keys are present with their shapes."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found")
    try:
        data = _loadmat(str(path))
    except Exception as err:  # scipy raises several types for corrupt files
        raise DataFormatError(f"{path}: not a readable MATLAB .mat file ({type(err).__name__}: {err})") from None
    for key, (shape, meaning) in expected.items():
        if key not in data:
            present = sorted(k for k in data if not k.startswith("__"))
            raise DataFormatError(f"{path}: key {key!r} ({meaning}, shape {shape}) is missing; keys present: "
                                  f"{present}")
        if data[key].shape != shape:
            raise DataFormatError(f"{path}: key {key!r} has shape {data[key].shape}, expected {shape} ({meaning})")
    return data


def load_image(path: Path | str, upright: bool = False) -> np.ndarray:
    """An RGB image ``(H, W, 3)`` uint8, with a clear error for a missing or corrupt file; ``upright`` turns it
    by its EXIF orientation (phone photos). Every common Pillow mode is read by :func:`to_rgb8`."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, not an image (give the image files inside it)")
    if not path.is_file():
        raise DataFormatError(f"{path}: image file not found")
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgb8(ImageOps.exif_transpose(im) if upright else im, path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, DataFormatError):
            raise
        raise DataFormatError(f"{path}: unreadable image, expected a JPEG/PNG ({err})") from None


HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")   # one channel of more than 8 bits
DIRECT_MODES = ("RGB", "L", "1", "CMYK", "YCbCr")                   # Pillow converts these to RGB faithfully
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "P", "PA")               # composited over white (P: its palette)


def to_rgb8(im, path: Path | str = "image") -> np.ndarray:
    """A Pillow image of any common mode as ``(H, W, 3)`` uint8 RGB.

    Pillow's own ``convert("RGB")`` clips a 16-bit greyscale image (``I;16``, or ``I``/``F``) to 255, so a 16-bit
    PNG of a face became a white page: those modes are scaled from their bit depth instead (16 bits when a value
    exceeds 255; ``F`` from [0, 1] when no value exceeds 1). Transparent images are composited over white.
    Other modes are refused with their name."""
    from PIL import Image

    mode = im.mode
    if mode in HIGH_DEPTH_MODES:
        values = np.asarray(im, dtype=np.float64)
        top = float(values.max(initial=0.0))
        depth = 1.0 if mode == "F" and top <= 1.0 else 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        grey = np.clip(np.round(values / depth * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode in ALPHA_MODES:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode in DIRECT_MODES:
        return np.asarray(im.convert("RGB"))
    raise DataFormatError(f"{path}: image mode {mode} is not supported; expected one of "
                          f"{', '.join(DIRECT_MODES + ALPHA_MODES + HIGH_DEPTH_MODES)} (save it as an 8-bit RGB "
                          "JPEG or PNG)")


# --- BFM -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BFM:
    """The parts of the BFM the GT mesh needs (N vertices, F triangles).

    mean: ``(3N,)`` ``mu_shape + mu_exp`` interleaved x, y, z; w_shp: ``(3N, 199)``; w_exp: ``(3N, 29)``;
    faces: ``(F, 3)`` 0-based; keypoints: ``(68,)`` 0-based vertex indices.
    """

    mean: np.ndarray
    w_shp: np.ndarray
    w_exp: np.ndarray
    faces: np.ndarray
    keypoints: np.ndarray

    @property
    def n_vertices(self) -> int:
        return len(self.mean) // 3

    def vertices(self, shape_para: np.ndarray, exp_para: np.ndarray) -> np.ndarray:
        """Model-frame vertices ``(N, 3)`` for ``Shape_Para (199,)`` and ``Exp_Para (29,)``."""
        flat = self.mean + self.w_shp @ np.ravel(shape_para) + self.w_exp @ np.ravel(exp_para)
        return flat.reshape(-1, 3)

    def uv(self) -> np.ndarray:
        """``(N, 2)``: the mean shape's frontal (x, y) normalized to ``[-1, 1]²`` (the UV correspondence)."""
        xy = self.mean.reshape(-1, 3)[:, :2]
        lo, hi = xy.min(0), xy.max(0)
        return 2 * (xy - lo) / (hi - lo) - 1


def _faces_0based(tri: np.ndarray, n_vertices: int, path: Path) -> np.ndarray:
    tri = np.asarray(tri, dtype=np.int64)
    if tri.ndim != 2 or 3 not in tri.shape:
        raise DataFormatError(f"{path}: triangles must be (F, 3) or (3, F), got {tri.shape}")
    tri = tri if tri.shape[1] == 3 else tri.T
    if tri.min() < 1 or tri.max() > n_vertices:
        raise DataFormatError(f"{path}: triangle indices must be 1-based in [1, {n_vertices}], got "
                              f"[{tri.min()}, {tri.max()}]")
    return tri - 1


def _keypoints_0based(raw: np.ndarray | None, n_vertices: int) -> np.ndarray:
    if raw is None:
        if n_vertices != 53215:
            raise DataFormatError(f"the BFM has {n_vertices} vertices and no keypoint indices; the built-in "
                                  "68 keypoints are for the standard trimmed BFM (53,215 vertices)")
        return BFM_KEYPOINTS.copy()
    k = np.ravel(raw).astype(np.int64)
    if k.max() > n_vertices:  # indices into the interleaved 3N vector (1-based x entries)
        k = (k - 1) // 3 + 1
    return k - 1


def load_bfm(path: Path | str) -> BFM:
    """Load either BFM layout: face3d's ``BFM.mat`` (struct ``model``) or 3DDFA's ``Model_Shape.mat`` (with
    ``Model_Expression.mat`` beside it). ``path`` may also be a folder holding one of them."""
    path = Path(path)
    if path.is_dir():
        for name in ("BFM.mat", "Model_Shape.mat"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise DataFormatError(f"{path}: no BFM.mat or Model_Shape.mat in this folder")
    if not path.is_file():
        raise DataFormatError(f"{path}: BFM file not found (expected face3d's BFM.mat or 3DDFA's Model_Shape.mat)")
    try:
        data = _loadmat(str(path), squeeze_me=False, struct_as_record=True)
    except Exception as err:
        raise DataFormatError(f"{path}: not a readable MATLAB .mat file ({err})") from None
    if "model" in data:
        model = data["model"]
        fields = model.dtype.names or ()
        need = ("shapeMU", "shapePC", "expMU", "expPC", "tri")
        missing = [f for f in need if f not in fields]
        if missing:
            raise DataFormatError(f"{path}: struct 'model' lacks {missing} (face3d BFM.mat layout needs {need})")
        get = lambda k: np.asarray(model[0, 0][k], dtype=np.float64)  # noqa: E731
        mean = (get("shapeMU") + get("expMU")).ravel()
        w_shp, w_exp = get("shapePC"), get("expPC")
        n = len(mean) // 3
        faces = _faces_0based(model[0, 0]["tri"], n, path)
        keypoints = _keypoints_0based(model[0, 0]["kpt_ind"] if "kpt_ind" in fields else None, n)
    elif "mu_shape" in data:
        exp_path = path.with_name("Model_Expression.mat")
        if not exp_path.is_file():
            raise DataFormatError(f"{path}: 3DDFA layout needs Model_Expression.mat beside it ({exp_path} missing)")
        exp = _loadmat(str(exp_path))
        for key in ("mu_exp", "w_exp"):
            if key not in exp:
                raise DataFormatError(f"{exp_path}: key {key!r} is missing (3DDFA Model_Expression.mat layout)")
        for key in ("w", "tri"):
            if key not in data:
                raise DataFormatError(f"{path}: key {key!r} is missing (3DDFA Model_Shape.mat layout)")
        mean = (np.asarray(data["mu_shape"], np.float64) + np.asarray(exp["mu_exp"], np.float64)).ravel()
        w_shp, w_exp = np.asarray(data["w"], np.float64), np.asarray(exp["w_exp"], np.float64)
        n = len(mean) // 3
        faces = _faces_0based(data["tri"], n, path)
        keypoints = _keypoints_0based(data.get("keypoints"), n)
    else:
        present = sorted(k for k in data if not k.startswith("__"))
        raise DataFormatError(f"{path}: not a BFM file: expected a struct 'model' (face3d BFM.mat) or 'mu_shape' "
                              f"(3DDFA Model_Shape.mat); keys present: {present}")
    if w_shp.shape != (len(mean), 199) or w_exp.shape != (len(mean), 29):
        raise DataFormatError(f"{path}: bases must be (3N, 199) and (3N, 29) for 3N = {len(mean)}, got "
                              f"{w_shp.shape} and {w_exp.shape} (Exp_Pca.bin's 79-d basis is not supported)")
    return BFM(mean=mean, w_shp=w_shp, w_exp=w_exp, faces=faces, keypoints=keypoints)


# --- samples -------------------------------------------------------------------------------------------------

@dataclass
class RealSample:
    """One cropped real sample, in the sample contract's fields."""

    id: str
    image: np.ndarray               # (113, 113, 3) uint8
    landmarks2d: np.ndarray         # (68, 2)
    landmarks3d: np.ndarray         # (68, 3), z NaN where unknown
    pose: np.ndarray                # (3,) pitch, yaw, roll
    shape_para: np.ndarray          # (199,)
    exp_para: np.ndarray            # (29,)
    crop: CropBox
    vertices: np.ndarray | None     # (N, 3) crop coordinates, zero-mean z; None without a BFM

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"image": self.image, "landmarks2d": self.landmarks2d, "landmarks3d": self.landmarks3d,
               "pose": self.pose, "shape_para": self.shape_para, "exp_para": self.exp_para,
               "crop_box": self.crop.to_array()}
        if self.vertices is not None:
            out["vertices"] = self.vertices
        return out


def _finish(sample_id: str, image: np.ndarray, mat: dict, points_for_box: np.ndarray, landmarks3d: np.ndarray,
            vertices: np.ndarray | None, margin: float, size: int) -> RealSample:
    box = crop_box_from_points(points_for_box, margin, size)
    lm = box.apply(landmarks3d)
    verts = None
    if vertices is not None:
        verts = box.apply(vertices)
        z_mean = verts[:, 2].mean()
        verts[:, 2] -= z_mean
        lm[:, 2] -= z_mean
        verts = verts.astype(np.float32)
    pose = np.asarray(mat["Pose_Para"], np.float64).ravel()
    return RealSample(id=sample_id, image=crop_image(image, box), landmarks2d=lm[:, :2].astype(np.float32),
                      landmarks3d=lm.astype(np.float32), pose=pose[:3].astype(np.float32),
                      shape_para=np.ravel(mat["Shape_Para"]).astype(np.float32),
                      exp_para=np.ravel(mat["Exp_Para"]).astype(np.float32), crop=box, vertices=verts)


def _mesh(bfm: BFM, mat: dict, height: int) -> tuple[np.ndarray, np.ndarray]:
    vertices = project_3ddfa(bfm.vertices(mat["Shape_Para"], mat["Exp_Para"]), mat["Pose_Para"], height)
    return vertices, vertices[bfm.keypoints]


def read_aflw2000(mat_path: Path | str, bfm: BFM | None = None, margin: float = 1.0,
                  size: int = CROP_SIZE) -> RealSample:
    """One AFLW2000-3D pair (``imageNNNNN.mat`` + ``.jpg``) cropped to ``size``×``size``."""
    mat_path = Path(mat_path)
    mat = load_mat(mat_path, MAT_KEYS["aflw2000"])
    image = load_image(mat_path.with_suffix(".jpg"))
    pt3d = np.asarray(mat["pt3d_68"], np.float64).T.copy()     # (68, 3): x, y 1-based pixels, z
    pt3d[:, :2] -= 1.0                                          # → 0-based pixel centres
    if bfm is not None:
        vertices, _ = _mesh(bfm, mat, image.shape[0])
        return _finish(mat_path.stem, image, mat, vertices, pt3d, vertices, margin, size)
    return _finish(mat_path.stem, image, mat, pt3d, pt3d, None, margin, size)


_300WLP_NAME = re.compile(r"^(?P<subset>[A-Z]+)_(?P<orig>.+)_(?P<face>\d+)_(?P<k>\d+)$")


def read_300wlp(mat_path: Path | str, bfm: BFM | None = None, margin: float = 1.0,
                size: int = CROP_SIZE) -> RealSample:
    """One 300W-LP pair (``<SUBSET>_<orig>_<face>_<k>.mat`` + ``.jpg``) cropped to ``size``×``size``.

    Without a BFM the landmarks come from ``landmarks/<SUBSET>/<name>_pts.mat`` (``pts_3d``: the 2D projection
    of the 3D landmarks; z unknown) when present, else from ``pt2d`` (the original annotation, stale for the
    synthesized rotations k ≥ 1: a warning says so).
    """
    mat_path = Path(mat_path)
    mat = load_mat(mat_path, MAT_KEYS["300wlp"])
    image = load_image(mat_path.with_suffix(".jpg"))
    if bfm is not None:
        vertices, keypoints = _mesh(bfm, mat, image.shape[0])
        return _finish(mat_path.stem, image, mat, vertices, keypoints, vertices, margin, size)
    match = _300WLP_NAME.match(mat_path.stem)
    subset = mat_path.parent.name.replace("_Flip", "")
    landmark_file = mat_path.parent.parent / "landmarks" / subset / f"{mat_path.stem}_pts.mat"
    if landmark_file.is_file():
        pts = load_mat(landmark_file, {"pts_3d": ((68, 2), "2D projection of the 3D landmarks")})["pts_3d"]
        xy = np.asarray(pts, np.float64) - 1.0
    else:
        if match and int(match["k"]) >= 1:
            warnings.warn(f"{mat_path}: no landmark file {landmark_file}; using pt2d, which is stale for the "
                          "synthesized rotations (k >= 1)", stacklevel=2)
        xy = np.asarray(mat["pt2d"], np.float64).T - 1.0
    landmarks = np.concatenate([xy, np.full((68, 1), np.nan)], 1)
    return _finish(mat_path.stem, image, mat, landmarks, landmarks, None, margin, size)


READERS = {"300wlp": read_300wlp, "aflw2000": read_aflw2000}


def list_pairs(dataset: str, root: Path | str) -> list[Path]:
    """The ``.mat`` files of a dataset folder (300W-LP: the subsets and their ``_Flip`` folders)."""
    root = Path(root)
    if dataset not in READERS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {sorted(READERS)}")
    if not root.is_dir():
        raise DataFormatError(f"{root}: dataset folder not found")
    if dataset == "aflw2000":
        files = sorted(root.glob("image*.mat"))
        expected = "imageNNNNN.mat/.jpg pairs"
    else:
        folders = [root / s for s in SUBSETS_300WLP] + [root / f"{s}_Flip" for s in SUBSETS_300WLP]
        files = sorted(f for d in folders if d.is_dir() for f in d.glob("*.mat"))
        expected = f"subfolders {', '.join(SUBSETS_300WLP)} (and *_Flip) with .mat/.jpg pairs"
    if not files:
        raise DataFormatError(f"{root}: no samples found (expected {expected})")
    return files


def iter_samples(dataset: str, root: Path | str, bfm: BFM | None = None, *, skip_bad: bool = False,
                 bad: list[dict[str, str]] | None = None, margin: float = 1.0) -> Iterator[RealSample]:
    """Read every sample; a bad file stops with its error, or with ``skip_bad`` is listed in ``bad``."""
    reader = READERS[dataset]
    for path in list_pairs(dataset, root):
        try:
            yield reader(path, bfm, margin)
        except DataFormatError as err:
            if not skip_bad:
                raise
            if bad is not None:
                bad.append({"file": str(path), "error": str(err)})


def describe_sample(sample: RealSample) -> dict[str, Any]:
    return {"id": sample.id, "yaw_deg": float(np.degrees(sample.pose[1])), "has_mesh": sample.vertices is not None}


def _loadmat(path: str, **kwargs) -> dict:
    """``scipy.io.loadmat``, imported on first use (it costs the photo tool 0.2 s of start-up)."""
    import scipy.io

    return scipy.io.loadmat(path, **kwargs)
