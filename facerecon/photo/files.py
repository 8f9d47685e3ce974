"""What ``facerecon reconstruct`` reads and writes: photos in, and per photo a mesh (OBJ or PLY), a JSON record
and an overlay PNG out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.readers import load_image
from .pipeline import PhotoReconstruction

MESH_FORMATS = ("obj", "ply")


def read_photo(path: Path | str) -> np.ndarray:
    """The photo at ``path`` as ``(H, W, 3)`` uint8 RGB, turned upright by its EXIF orientation."""
    image = load_image(path, upright=True)
    if min(image.shape[:2]) < 16:
        raise ValueError(f"{path}: image is {image.shape[1]}×{image.shape[0]} pixels; a photo of a face is expected")
    return image


def write_mesh(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """``vertices (V, 3)`` and ``faces (F, 3)`` to ``path`` (.obj or .ply, by suffix), vertex order kept."""
    import trimesh

    fmt = path.suffix.lstrip(".")
    if fmt not in MESH_FORMATS:
        raise ValueError(f"mesh format {fmt!r} unknown: expected one of {MESH_FORMATS}")
    trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces, np.int64), process=False).export(path)
    return path


def overlay(image: np.ndarray, result: PhotoReconstruction) -> np.ndarray:
    """``image (H, W, 3)`` uint8 with the mesh's edges (translucent, the triangles that face the camera) and its
    68 landmarks drawn on it → ``(H, W, 3)`` uint8."""
    from PIL import Image, ImageDraw

    v = result.vertices
    a, b, c = (v[result.faces[:, k], :2] for k in range(3))
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    visible = result.faces[cross * np.sign(np.median(cross)) > 0]   # the winding of the most common facing
    base = Image.fromarray(image).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width = max(1, round(max(image.shape[:2]) / 600))
    for tri in visible:
        points = [tuple(v[i, :2]) for i in (*tri, tri[0])]
        draw.line(points, fill=(80, 200, 255, 110), width=width)
    radius = 2 * width
    for x, y in result.landmarks68:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 80, 60, 230))
    return np.asarray(Image.alpha_composite(base, layer).convert("RGB"))


def record(image_path: Path, result: PhotoReconstruction, model: str) -> dict:
    """The ``<stem>.json`` record of one photo (image pixels; see ``facerecon reconstruct --help``)."""
    box = result.box
    return {"image": str(image_path), "box": [box.x0, box.y0, box.x0 + box.side, box.y0 + box.side],
            "landmarks68": np.round(result.landmarks68, 3).tolist(),
            "detector_landmarks68": np.round(result.detector_landmarks68, 3).tolist(),
            "denoiser": result.denoiser, "model": model, "ms": round(result.ms, 1)}


def write_outputs(out_dir: Path, image_path: Path, image: np.ndarray, result: PhotoReconstruction, model: str,
                  mesh_format: str = "obj") -> dict[str, Path]:
    """Write ``<stem>.<mesh_format>``, ``<stem>.json`` and ``<stem>_overlay.png`` into ``out_dir``."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = image_path.stem
    paths = {"mesh": out_dir / f"{stem}.{mesh_format}", "json": out_dir / f"{stem}.json",
             "overlay": out_dir / f"{stem}_overlay.png"}
    write_mesh(paths["mesh"], result.vertices, result.faces)
    paths["json"].write_text(json.dumps(record(image_path, result, model), indent=1))
    Image.fromarray(overlay(image, result)).save(paths["overlay"])
    return paths
