"""Reading a dataset folder (SynthFace or converted real data) as PyTorch samples.

The sample contract (SynthFace and real data alike), as :meth:`FaceDataset.sample` returns it:

==================== ============== =========================================================================
key                  shape / dtype  meaning
==================== ============== =========================================================================
image                (S, S, 3) u8   the crop (S = 113); ``__getitem__`` gives ``(3, S, S)`` float in [0, 1]
landmarks2d          (68, 2) f32    iBUG landmarks, crop pixels (x right, y down, 0-based pixel centres)
landmarks3d          (68, 3) f32    the same with z (scaled like x, y; larger = closer); NaN z if unknown
pose                 (3,) f32       pitch, yaw, roll in radians (3DDFA convention)
vertices             (V, 3) f32     GT mesh in crop coordinates, zero-mean z; absent without a mesh
faces                (F, 3) i64     GT triangles (shared: :attr:`FaceDataset.faces`)
id                   str            sample id
==================== ============== =========================================================================

plus source-specific arrays (coefficients, light, occluder, visibility flags).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .camera import rotation_3ddfa
from .morphable import FaceModel
from .shards import ShardReader
from .synthface import apply_crop_transform

REMEMBERED_VERTEX_BYTES = 512 * 2 ** 20   # a `cpu` training split's 2,000 meshes take 170 MB
_remembered_vertices: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
_remembered_bytes = 0


class FaceDataset(torch.utils.data.Dataset):
    """A dataset folder (SynthFace or converted real data) as a map-style PyTorch dataset.

    ``__getitem__`` returns tensors: ``image (3, S, S)`` float32 in [0, 1], ``landmarks2d (68, 2)``,
    ``landmarks3d (68, 3)``, ``pose (3,)``, ``vertices (V, 3)`` when the source has a mesh, and
    ``template_vertices (M, 3)`` when a :class:`~facerecon.mesh.resample.TemplateResampler` is given.
    :meth:`sample` returns the raw numpy sample (uint8 image).
    """

    def __init__(self, folder: Path | str, resampler: Any = None, cache_key: str | None = None):
        self.reader = ShardReader(folder)
        self.cache_key = cache_key  # the run-cache entry it came from: entries built from it include this key
        self.folder = Path(folder)
        self.index = self.reader.index
        self.resampler = resampler
        mesh = self.index.get("mesh") or {}
        self.model: FaceModel | None = None
        self._faces: np.ndarray | None = None
        if mesh.get("source") == "model.npz":
            self.model = FaceModel.load(self.folder / "model.npz")
            self._faces = self.model.faces
        elif mesh.get("source") == "faces.npy":
            self._faces = np.load(self.folder / "faces.npy")

    def __len__(self) -> int:
        return len(self.reader)

    @property
    def has_mesh(self) -> bool:
        return self._faces is not None

    @property
    def faces(self) -> np.ndarray:
        if self._faces is None:
            raise ValueError(f"dataset {self.folder} has no GT mesh (converted without a BFM)")
        return self._faces

    @property
    def uv(self) -> np.ndarray:
        """``(V, 2)`` parameter coordinates of the GT mesh vertices (the fixed UV correspondence)."""
        if self.model is not None:
            return self.model.uv
        path = self.folder / "uv.npy"
        if not path.is_file():
            raise ValueError(f"dataset {self.folder} has no UV parameterization of its GT mesh")
        return np.load(path)

    def sample(self, i: int) -> dict[str, Any]:
        raw = self.reader.get(i)
        raw["id"] = f"{self.index['source']}-{self.index.get('split', 'all')}-{i:06d}"
        if self.model is not None:
            raw["vertices"] = self._vertices(i, raw)
        return raw

    def _vertices(self, i: int, raw: dict[str, Any]) -> np.ndarray:
        """Sample ``i``'s GT mesh from its morphable-model coefficients. A process remembers the meshes of run-cache
        splits (their content never changes) up to :data:`REMEMBERED_VERTEX_BYTES`, so that the models a chapter
        trains one after another in a process do not rebuild them (3.5 ms a face, 8 % of a `cpu` training step);
        each call gets its own copy."""
        global _remembered_bytes
        key = (self.cache_key, i) if self.cache_key is not None else None
        if key in _remembered_vertices:
            _remembered_vertices.move_to_end(key)
            return _remembered_vertices[key].copy()
        shape = self.model.shape(raw["id_coeffs"], raw["exp_coeffs"], raw.get("hidden_coeffs"), raw.get("detail"))
        rotated = shape @ rotation_3ddfa(*raw["pose"].astype(np.float64)).T
        vertices = apply_crop_transform(rotated, raw["crop_transform"]).astype(np.float32)
        if key is not None:
            _remembered_vertices[key] = vertices.copy()
            _remembered_bytes += vertices.nbytes
            while _remembered_bytes > REMEMBERED_VERTEX_BYTES:
                _remembered_bytes -= _remembered_vertices.popitem(last=False)[1].nbytes
        return vertices

    def landmark_explained_vertices(self, i: int) -> np.ndarray:
        """Sample ``i``'s GT vertices ``(N, 3)`` without what its landmarks cannot see (the hidden regional shape
        and the bumps zeroed: identity and expression only), posed and cropped like its ``vertices``."""
        if self.model is None:
            raise ValueError(f"dataset {self.folder} has no morphable model: its shapes cannot be split into parts")
        raw = self.reader.get(i)
        shape = self.model.shape(raw["id_coeffs"], raw["exp_coeffs"])
        rotated = shape @ rotation_3ddfa(*raw["pose"].astype(np.float64)).T
        return apply_crop_transform(rotated, raw["crop_transform"]).astype(np.float32)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        raw = self.sample(i)
        item = {
            "image": torch.from_numpy(raw["image"]).permute(2, 0, 1).float() / 255.0,
            "landmarks2d": torch.from_numpy(raw["landmarks2d"]),
            "landmarks3d": torch.from_numpy(raw["landmarks3d"]),
            "pose": torch.from_numpy(raw["pose"]),
            "index": torch.tensor(i),
        }
        if "vertices" in raw:
            item["vertices"] = torch.from_numpy(raw["vertices"])
            if self.resampler is not None:
                item["template_vertices"] = torch.from_numpy(self.resampler(raw["vertices"]).astype(np.float32))
        return item
