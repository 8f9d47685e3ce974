"""``GraphConv(aggr='add' or 'mean')`` on a fixed mesh graph, computed as a sparse matrix product.

The paper's graph convolution is ``f_i' = W0 f_i + Σ_{j∈N(i)} W1 f_j`` (+ bias), exactly
``torch_geometric.nn.GraphConv(aggr='add')``. ``aggr='mean'`` (a study option) averages the neighbours instead,
``W1 · mean_{j∈N(i)} f_j``: with the sum, a vertex's features grow with its degree at every layer (the
generator's hidden features grew 0.9 → 6.5 → 36 RMS over three blocks), and so does the step that an optimizer
takes through them. PyG gathers and scatters the *input* features along every edge
before applying ``W1``; on a 7,001-vertex mesh with ~600 input channels that gather dominates the generator's
time. Since the operation is linear, ``Σ_j W1 f_j = W1 Σ_j f_j``: this subclass projects first (to the smaller
output width) and aggregates with a CSR sparse-dense product ``A·(X W1ᵀ)``. Same parameters, same result
(tested against PyG's own forward).

:meth:`MeshGraphConv.forward_parts` takes the input as its parts instead of their concatenation: a per-image part
(the same for every vertex, e.g. the landmark code) is projected once per image, and nothing of width ``ΣC_i`` is
built per vertex. On a CPU the generator's time goes to memory traffic, not arithmetic, and the concatenated
input of the last block (``B × 7,001 × ~700`` floats) was most of it.

``gather=True`` (an attribute, set by :mod:`.export` on a copy of a trained generator) aggregates through a
padded neighbour table instead of the sparse product: gathers and a sum, which ONNX can express and sparse
tensors cannot. Same result up to the order of the additions.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F


def column_slices(parts: list[torch.Tensor]) -> list[slice]:
    """The input columns of each part of a concatenated input (last dimension), in order."""
    bounds = [0]
    for part in parts:
        bounds.append(bounds[-1] + part.shape[-1])
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def project_parts(parts: list[torch.Tensor], weight: torch.Tensor, n_vertices: int
                  ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``cat(parts) @ weightᵀ`` as ``(per-vertex (B, V, out) or None, per-image (B, out) or None)``: parts are
    ``(B, V, C_i)`` or, the same for every vertex, ``(B, C_i)``; their widths must add up to ``weight``'s columns."""
    slices = column_slices(parts)
    if slices[-1].stop != weight.shape[1]:
        raise ValueError(f"the parts' widths add up to {slices[-1].stop}, the layer takes {weight.shape[1]}")
    per_vertex = per_image = None
    for part, cols in zip(parts, slices):
        if part.ndim == 3 and part.shape[1] != n_vertices:
            raise ValueError(f"a per-vertex part has {part.shape[1]} vertices, expected {n_vertices}")
        y = F.linear(part, weight[:, cols])
        if part.ndim == 3:
            per_vertex = y if per_vertex is None else per_vertex + y
        else:
            per_image = y if per_image is None else per_image + y
    return per_vertex, per_image


def adjacency(edges: torch.Tensor, n_vertices: int, mean: bool = False) -> torch.Tensor:
    """CSR adjacency ``A (V, V)`` with ``A[dst, src] = 1`` for every PyG edge ``src → dst``; ``mean``: each row
    divided by its count (``1 / deg(dst)``)."""
    src, dst = edges
    values = torch.ones(src.shape[0], dtype=torch.float32, device=edges.device)
    if mean:
        values = values / torch.bincount(dst, minlength=n_vertices).to(values)[dst]
    coo = torch.sparse_coo_tensor(torch.stack([dst, src]), values, (n_vertices, n_vertices), check_invariants=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.coalesce().to_sparse_csr()


def neighbour_table(edges: torch.Tensor, n_vertices: int, mean: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The adjacency of :func:`adjacency` as a padded table: ``index (V, D)`` of each vertex's in-neighbours
    (``D`` the largest in-degree; padding points at row ``V``) and ``weight (V, D)`` (1, or ``1 / deg`` with
    ``mean``; 0 on padding)."""
    src, dst = edges.cpu()
    order = torch.argsort(dst * n_vertices + src)
    src, dst = src[order], dst[order]
    counts = torch.bincount(dst, minlength=n_vertices)
    slot = torch.arange(len(dst)) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    width = int(counts.max()) if len(dst) else 1
    index = torch.full((n_vertices, width), n_vertices, dtype=torch.long)
    weight = torch.zeros(n_vertices, width)
    index[dst, slot] = src
    weight[dst, slot] = 1.0 / counts[dst].float() if mean else 1.0
    return index.to(edges.device), weight.to(edges.device)


AGGREGATIONS = ("add", "mean")


class MeshGraphConv(nn.Module):
    """``GraphConv(in, out, aggr)`` (``"add"``, the paper's, or ``"mean"``) for batched features ``x (B, V, C)``
    on one fixed graph.

    ``forward(x, edges)`` accepts a PyG ``edge_index``; the CSR adjacency is built once per graph and device.
    The parameters are PyG's, by name and initial values (``lin_rel``: ``W1`` and the bias, ``lin_root``:
    ``W0``; the same random draws in the same order), so that checkpoints and seeded runs are unchanged; the
    class does not import torch_geometric, which made ``facerecon reconstruct`` start 1.4 s slower.
    """

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "add"):
        if aggr not in AGGREGATIONS:
            raise ValueError(f"aggr must be one of {AGGREGATIONS}, got {aggr!r}")
        super().__init__()
        self.in_channels, self.out_channels, self.aggr = in_channels, out_channels, aggr
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=True)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=False)
        self.reset_parameters()      # PyG's GraphConv initializes its two layers once more after building them
        self._adjacency: dict[tuple, torch.Tensor] = {}
        self.gather = False
        self._tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def reset_parameters(self) -> None:
        """PyG's ``Linear`` initialization: weights Kaiming-uniform (a = √5) over the input width, the bias uniform
        in ±1/√(input width): what ``nn.Linear`` draws, in the same order."""
        for layer in (self.lin_rel, self.lin_root):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5))
            if layer.bias is not None:
                bound = 1 / math.sqrt(self.in_channels) if self.in_channels > 0 else 0
                nn.init.uniform_(layer.bias, -bound, bound)

    def _adjacency_for(self, edges: torch.Tensor, n_vertices: int, dtype: torch.dtype) -> torch.Tensor:
        key = (edges.data_ptr(), edges.shape[1], n_vertices, edges.device, dtype)
        if key not in self._adjacency:
            self._adjacency = {key: adjacency(edges, n_vertices, self.aggr == "mean").to(dtype)}
        return self._adjacency[key]

    def _table_for(self, edges: torch.Tensor, n_vertices: int) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`neighbour_table`, built once per graph (outside an ONNX trace: the export warms it)."""
        key = (edges.data_ptr(), int(edges.shape[1]), int(n_vertices), edges.device)   # ints: a trace passes tensors
        if key not in self._tables:
            self._tables = {key: neighbour_table(edges, n_vertices, self.aggr == "mean")}
        return self._tables[key]

    def _degrees(self, edges: torch.Tensor, n_vertices: int, dtype: torch.dtype) -> torch.Tensor:
        """``(V, 1)``: the adjacency's row sums (how many neighbours each vertex sums; 1 for a mean, 0 for a
        vertex without neighbours)."""
        if self.gather:
            return self._table_for(edges, n_vertices)[1].sum(1, keepdim=True).to(dtype)
        counts = torch.bincount(edges[1], minlength=n_vertices).to(dtype)[:, None]
        return counts.clamp(max=1) if self.aggr == "mean" else counts

    def _aggregate(self, rel: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """``A · rel`` for ``rel (B, V, C)``: each vertex's sum (or mean) of its neighbours' rows → ``(B, V, C)``."""
        b, v, _ = rel.shape
        if self.gather:
            table, weights = self._table_for(edges, v)
            padded = torch.cat([rel, rel.new_zeros(b, 1, rel.shape[2])], 1)   # row V: the padding's zero
            return (padded[:, table] * weights.to(rel)[None, :, :, None]).sum(2)
        adj = self._adjacency_for(edges, v, rel.dtype)
        return torch.sparse.mm(adj, rel.transpose(0, 1).reshape(v, -1)).reshape(v, b, -1).transpose(0, 1)

    def forward_parts(self, parts: list[torch.Tensor], edges: torch.Tensor) -> torch.Tensor:
        """``forward(cat(parts, -1))`` without the concatenation: ``parts`` are ``(B, V, C_i)`` or ``(B, C_i)``
        (one value per image, broadcast over the vertices), in the order of the concatenation. → ``(B, V, out)``."""
        n_vertices = next(p.shape[1] for p in parts if p.ndim == 3)
        both = torch.cat([self.lin_rel.weight, self.lin_root.weight], 0)         # (2·out, ΣC_i)
        per_vertex, per_image = project_parts(parts, both, n_vertices)
        out_channels = self.lin_rel.weight.shape[0]
        rel, root = per_vertex[..., :out_channels], per_vertex[..., out_channels:]
        out = self._aggregate(rel, edges) + root
        if per_image is not None:     # Σ_j W1 c = deg(i)·W1 c for a part c shared by all vertices (mean: W1 c)
            rel_c, root_c = per_image[:, :out_channels], per_image[:, out_channels:]
            out = out + self._degrees(edges, n_vertices, out.dtype) * rel_c[:, None, :] + root_c[:, None, :]
        if self.lin_rel.bias is not None:
            out = out + self.lin_rel.bias
        return out

    def forward(self, x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        squeeze = x.ndim == 2
        if squeeze:
            x = x[None]
        rel = x @ self.lin_rel.weight.T                                    # (B, V, out): project first
        out = self._aggregate(rel, edges) + self.lin_root(x)
        if self.lin_rel.bias is not None:
            out = out + self.lin_rel.bias
        return out[0] if squeeze else out
