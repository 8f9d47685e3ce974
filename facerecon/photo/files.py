"""What ``facerecon reconstruct`` reads and writes: photos in, and per photo a mesh (OBJ or PLY), a JSON record
and an overlay JPEG out."""

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
    """``vertices (V, 3)`` and ``faces (F, 3)`` to ``path`` (.obj or .ply, by suffix), vertex order kept. OBJ is
    written directly (``v x y z`` lines, then 1-based ``f a b c``): through trimesh it cost 40 ms a photo."""
    fmt = path.suffix.lstrip(".")
    if fmt not in MESH_FORMATS:
        raise ValueError(f"mesh format {fmt!r} unknown: expected one of {MESH_FORMATS}")
    vertices, faces = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if fmt == "obj":
        lines = ["v %.6f %.6f %.6f" % tuple(v) for v in vertices] + ["f %d %d %d" % tuple(f) for f in faces + 1]
        path.write_text("\n".join(lines) + "\n")
        return path
    import trimesh

    trimesh.Trimesh(vertices, faces, process=False).export(path)
    return path


OVERLAY_FACE_PX = 480      # the face box's side in the overlay, whatever its size in the photo
OVERLAY_MARGIN = 0.25      # of the box's side, around it


def overlay_region(image_shape: tuple[int, ...], result: PhotoReconstruction) -> tuple[int, int, int, int, float]:
    """``(x0, y0, x1, y1, scale)``: the part of the photo the overlay shows (the face box with a margin, inside the
    photo) and the factor that brings the box to :data:`OVERLAY_FACE_PX` pixels."""
    box, (height, width) = result.box, image_shape[:2]
    pad = OVERLAY_MARGIN * box.side
    x0, y0 = max(0, int(np.floor(box.x0 - pad))), max(0, int(np.floor(box.y0 - pad)))
    x1 = min(width, int(np.ceil(box.x0 + box.side + pad)))
    y1 = min(height, int(np.ceil(box.y0 + box.side + pad)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1), OVERLAY_FACE_PX / box.side


def overlay(image: np.ndarray, result: PhotoReconstruction) -> np.ndarray:
    """The face region of ``image (H, W, 3)`` uint8 (:func:`overlay_region`), resized so the face is
    :data:`OVERLAY_FACE_PX` pixels across, with the mesh's edges (translucent, the triangles that face the camera)
    and its 68 landmarks drawn on it → ``(h, w, 3)`` uint8. At a fixed face size the wireframe reads the same for a
    120-pixel face as for a 4,000-pixel one (drawn on the whole photo, a small face's edges merged into a solid
    patch and a large photo made a multi-megabyte PNG)."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1, scale = overlay_region(image.shape, result)
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    base = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1])).resize(size, Image.BICUBIC).convert("RGBA")
    to_region = lambda p: (np.asarray(p)[:, :2] - (x0, y0)) * scale     # noqa: E731
    v = to_region(result.vertices)
    a, b, c = (v[result.faces[:, k]] for k in range(3))
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    visible = result.faces[cross * np.sign(np.median(cross)) > 0]   # the winding of the most common facing
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for tri in visible:
        draw.line([tuple(v[i]) for i in (*tri, tri[0])], fill=(80, 200, 255, 110), width=1)
    radius = OVERLAY_FACE_PX / 160
    for x, y in to_region(result.landmarks68):
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
                  mesh_format: str = "obj", stem: str | None = None) -> dict[str, Path]:
    """Write ``<stem>.<mesh_format>``, ``<stem>.json`` and ``<stem>_overlay.jpg`` into ``out_dir`` (``stem``:
    the photo's own by default)."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or image_path.stem
    paths = {"mesh": out_dir / f"{stem}.{mesh_format}", "json": out_dir / f"{stem}.json",
             "overlay": out_dir / f"{stem}_overlay.jpg"}
    write_mesh(paths["mesh"], result.vertices, result.faces)
    paths["json"].write_text(json.dumps(record(image_path, result, model), indent=1))
    Image.fromarray(overlay(image, result)).save(paths["overlay"], quality=90)   # a PNG took 75 ms to write
    return paths
