"""Training losses: the reconstruction terms (Pixel2Mesh) and the adversarial terms of paper eqs. (1)–(3).

Reconstruction (weights normalized to Chamfer = 1, from the Pixel2Mesh code): Chamfer pred→GT 1 and GT→pred
0.55, normal 1.6e-4, edge 0.1, Laplacian 0.5, move 0.033; a dense per-vertex term (weight 0 by default) is a
study option. Adversarial: the discriminator minimizes eq. (2),
``−E[log D(x)] − E[log(1 − D(G(z)))]``, with its targets smoothed to 0.9 (real) and 0.01 (fake) as the paper
states (§3.2, Fig. 4); the generator minimizes eq. (1), the non-saturating ``−E[log D(G(z))]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch.nn import functional as F

from ..mesh.ops import laplacian


@dataclass(frozen=True)
class LossWeights:
    chamfer_pred_to_gt: float = 1.0
    chamfer_gt_to_pred: float = 0.55
    normal: float = 1.6e-4
    edge: float = 0.1
    laplacian: float = 0.5
    move: float = 0.033
    adversarial: float = 0.01        # interpretation: the paper gives no weight; ablated in the GAN chapter
    vertex: float = 0.0              # study option: mean squared distance of each vertex to the GT surface point with
    #                                  the same UV (:func:`vertex_loss`; needs a GT mesh, not only points)

    def scaled_chamfer(self, factor: float) -> "LossWeights":
        """These weights with both Chamfer terms multiplied by ``factor``."""
        return replace(self, chamfer_pred_to_gt=self.chamfer_pred_to_gt * factor,
                       chamfer_gt_to_pred=self.chamfer_gt_to_pred * factor)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class LabelSmoothing:
    real: float = 0.9                # paper §3.2: 0.9 instead of 1
    fake: float = 0.01               # paper §3.2: 0.01 instead of 0
    generator: float = 1.0           # the generator's target for D(G(z)) (eq. 1: unsmoothed)

    def __post_init__(self):
        for name in ("real", "fake", "generator"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"label smoothing target {name} must be in [0, 1], got {getattr(self, name)}")


NO_SMOOTHING = LabelSmoothing(real=1.0, fake=0.0)


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(B, N, M)`` squared distances between ``a (B, N, 3)`` and ``b (B, M, 3)``, as ``|a|² + |b|² − 2 a·b`` (one
    batched matrix product, no square root: what ``torch.cdist`` computes for large sets, before its root)."""
    return (a.pow(2).sum(-1, keepdim=True) + b.pow(2).sum(-1)[:, None, :]).baddbmm_(a, b.transpose(1, 2), alpha=-2)


def _kdtree_nearest(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """:func:`nearest_index` on a CPU: one k-d tree per set of ``b`` (scipy; exact, in float64), queried in threads."""
    from scipy.spatial import cKDTree

    an, bn = a.detach().numpy(), b.detach().numpy()
    return torch.from_numpy(np.stack([cKDTree(bn[i]).query(an[i], workers=-1)[1] for i in range(len(bn))]))


@torch.no_grad()
def nearest_index(a: torch.Tensor, b: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Index ``(B, N)`` of the nearest point of ``b (B, M, 3)`` for every point of ``a (B, N, 3)``.

    On a CPU a k-d tree per set (about 3× faster than the distance matrix on 2 cores for a batch of 8 sets of
    1,024 points); on a GPU the distance matrix in chunks of ``chunk`` rows. Both are exact up to float rounding:
    the matrix's float32 ``|a|² + |b|² − 2 a·b`` can pick the other of two near-equidistant points (about 1 in
    10,000 here)."""
    if a.device.type == "cpu":
        return _kdtree_nearest(a, b)
    return _matrix_nearest(a, b, chunk)


def _matrix_nearest(a: torch.Tensor, b: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """:func:`nearest_index` on a GPU: the distance matrix's row minima, ``chunk`` rows of ``a`` at a time."""
    return torch.cat([squared_distances(a[:, s:s + chunk], b).argmin(-1) for s in range(0, a.shape[1], chunk)], 1)


@torch.no_grad()
def mutual_nearest(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both nearest-neighbour maps: ``(B, N)`` into ``b`` and ``(B, M)`` into ``a`` (k-d trees on a CPU, one
    distance matrix on a GPU; see :func:`nearest_index`)."""
    if a.device.type == "cpu":
        return nearest_index(a, b), nearest_index(b, a)
    d = squared_distances(a, b)
    return d.argmin(2), d.argmin(1)


def _gather(points: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return torch.gather(points, 1, index[..., None].expand(-1, -1, points.shape[-1]))


def chamfer_terms(pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean squared nearest distance pred→GT and GT→pred (each ``(B,)``), and pred's nearest-GT indices.

    Neighbours are found without gradient, then the squared distances to them are differentiated: the same
    gradient as through the full distance matrix (the assignment is piecewise constant), at a fraction of the
    cost.
    """
    idx_pg, idx_gp = mutual_nearest(pred, gt)
    d_pg = (pred - _gather(gt, idx_pg)).pow(2).sum(-1)
    d_gp = (gt - _gather(pred, idx_gp)).pow(2).sum(-1)
    return d_pg.mean(1), d_gp.mean(1), idx_pg


def normal_loss(pred: torch.Tensor, edges: torch.Tensor, gt_normals: torch.Tensor, nearest_gt: torch.Tensor
                ) -> torch.Tensor:
    """Pixel2Mesh's normal term: ``|cos(v_i − v_j, n_gt(nn(i)))|`` averaged over the edges, ``(B,)``.

    ``gt_normals (B, M, 3)``, ``nearest_gt (B, V)``: the GT point nearest to each predicted vertex.
    """
    src, dst = edges
    edge_vec = F.normalize(pred[:, dst] - pred[:, src], dim=-1, eps=1e-12)
    n = torch.gather(gt_normals, 1, nearest_gt[:, src, None].expand(-1, -1, 3))
    return (edge_vec * n).sum(-1).abs().mean(1)


def vertex_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared distance ``(B,)`` between ``pred (B, V, 3)`` and ``target (B, V, 3)`` vertex by vertex: a dense
    correspondence loss, where the GT surface is known on the prediction's topology (SynthFace, resampled by UV).
    Every vertex gets the gradient towards its own GT point, where Chamfer's nearest neighbours let a vertex
    slide along the surface and give a noisy, sampled signal."""
    return (pred - target).pow(2).sum(-1).mean(1)


def edge_loss(pred: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Mean squared edge length ``(B,)`` (keeps the mesh from spiking)."""
    src, dst = edges
    return (pred[:, dst] - pred[:, src]).pow(2).sum(-1).mean(1)


def laplacian_loss(before: torch.Tensor, after: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Change of the Laplacian coordinates through a deformation, ``mean ‖δ(after) − δ(before)‖²`` ``(B,)``."""
    return (laplacian(after, edges) - laplacian(before, edges)).pow(2).sum(-1).mean(1)


def move_loss(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Mean squared vertex displacement of a deformation ``(B,)``."""
    return (after - before).pow(2).sum(-1).mean(1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       smoothing: LabelSmoothing = LabelSmoothing()) -> torch.Tensor:
    """Eq. (2) as binary cross-entropy with smoothed targets: real → ``smoothing.real``, fake → ``smoothing.fake``."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, smoothing.real))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, smoothing.fake))
    return real + fake


def generator_adversarial_loss(fake_logits: torch.Tensor, smoothing: LabelSmoothing = LabelSmoothing()
                               ) -> torch.Tensor:
    """Eq. (1), non-saturating: ``−E[log D(G(z))]`` (target ``smoothing.generator``, 1 by default)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, smoothing.generator))


def generator_minimax_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. (3), the generator's side of the minimax game: minimize ``E[log(1 − D(G(z)))]`` (saturates when D
    rejects the fakes confidently: its gradient vanishes as ``D(G(z)) → 0``)."""
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_gan_loss(fake_logits: torch.Tensor, modified: bool, smoothing: LabelSmoothing = LabelSmoothing()
                       ) -> torch.Tensor:
    """The generator's adversarial term: the modified (non-saturating, eq. 1) loss or the minimax one (eq. 3)."""
    return generator_adversarial_loss(fake_logits, smoothing) if modified else generator_minimax_loss(fake_logits)
