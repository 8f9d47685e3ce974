import numpy as np
import pytest
import torch

from facerecon.mesh.ops import (edge_index, export_mesh, face_normals, laplacian, normals_at, sample_surface,
                                vertex_normals)
from facerecon.mesh.subdivide import subdivide, subdivision, subdivision_levels, unique_edges
from facerecon.mesh.template import hemisphere, initial_mesh


@pytest.mark.parametrize("layout, max_valence", [("graded", 10), ("literal", 70)])
def test_template_counts(layout, max_valence):
    t = hemisphere(layout)
    edges = unique_edges(t.faces)
    assert t.vertices.shape == (141, 3) and t.faces.shape == (210, 3) and len(edges) == 350
    np.testing.assert_allclose(np.linalg.norm(t.vertices, axis=1), 1.0)      # on the unit sphere
    assert t.vertices[:, 2].min() >= -1e-12                                     # a hemisphere
    boundary = np.unique(np.sort(np.concatenate([t.faces[:, [0, 1]], t.faces[:, [1, 2]], t.faces[:, [2, 0]]]), 1),
                         axis=0, return_counts=True)[1] == 1
    assert boundary.sum() == 70                                                 # 70 boundary edges
    assert np.bincount(edges.ravel()).max() == max_valence
    n = face_normals(torch.tensor(t.vertices), torch.tensor(t.faces))
    assert (n[:, 2] > 0).all()                                                  # counter-clockwise from +z
    with pytest.raises(ValueError, match="unknown template layout"):
        hemisphere("icosa")


def test_subdivision_counts_and_midpoints():
    t = hemisphere()
    levels = subdivision_levels(t.faces, 141, 3)
    assert [(s.n_new_vertices, len(s.faces)) for s in levels] == [(491, 840), (1821, 3360), (7001, 13440)]
    step = levels[0]
    v1 = subdivide(t.vertices, step.edges)
    for k, (a, b) in enumerate(step.edges[:50]):                                # naive midpoint check
        np.testing.assert_allclose(v1[141 + k], (t.vertices[a] + t.vertices[b]) / 2)
    # tensors with a batch and feature dims subdivide the same way; orientation is kept
    feats = torch.randn(2, 141, 5)
    out = subdivide(feats, step.edges)
    assert out.shape == (2, 491, 5)
    torch.testing.assert_close(out[1, 141:], 0.5 * (feats[1, step.edges[:, 0]] + feats[1, step.edges[:, 1]]))
    n = face_normals(torch.tensor(v1), torch.tensor(step.faces))
    assert (n[:, 2] > 0).all()


def test_subdivision_of_single_triangle():
    s = subdivision(np.array([[0, 1, 2]]), 3)
    assert s.n_new_vertices == 6 and len(s.faces) == 4
    assert sorted(map(tuple, s.edges.tolist())) == [(0, 1), (0, 2), (1, 2)]


def test_edge_index_and_laplacian_match_naive():
    t = hemisphere()
    e = edge_index(t.faces)
    assert e.shape == (2, 700)
    v = torch.randn(2, 141, 3, dtype=torch.float64)
    lap = laplacian(v, e)
    neighbours = {i: set() for i in range(141)}
    for a, b in unique_edges(t.faces):
        neighbours[a].add(b)
        neighbours[b].add(a)
    for i in (0, 5, 70, 140):
        expected = v[:, i] - v[:, sorted(neighbours[i])].mean(1)
        torch.testing.assert_close(lap[:, i], expected)


def test_vertex_normals_of_plane():
    grid = np.stack(np.meshgrid(np.arange(4.0), np.arange(4.0)), -1).reshape(-1, 2)
    v = torch.tensor(np.concatenate([grid, np.zeros((16, 1))], 1))
    f = []
    for r in range(3):
        for c in range(3):
            a = r * 4 + c
            f += [[a, a + 1, a + 4], [a + 1, a + 5, a + 4]]
    n = vertex_normals(v, torch.tensor(f))
    torch.testing.assert_close(n, torch.tensor([[0.0, 0.0, 1.0]] * 16, dtype=torch.float64))


def test_sampling_is_area_weighted_and_seeded():
    # two triangles of areas 0.5 and 3: the big one gets 6/7 of the samples
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [10, 0, 0], [13, 0, 0], [10, 2, 0]])
    f = torch.tensor([[0, 1, 2], [3, 4, 5]])
    g = torch.Generator().manual_seed(0)
    p = sample_surface(v, f, 20000, g)
    share_big = (p[:, 0] >= 10).float().mean().item()
    assert share_big == pytest.approx(6 / 7, abs=0.015)
    small = p[p[:, 0] < 10]
    assert (small[:, 0] + small[:, 1] <= 1 + 1e-6).all() and (small >= 0).all()       # inside the triangle
    p2 = sample_surface(v, f, 20000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(p, p2)
    assert sample_surface(v[None].expand(3, -1, -1), f, 8, g).shape == (3, 8, 3)


def test_export_roundtrip(tmp_path):
    import trimesh

    t = hemisphere()
    for suffix in (".obj", ".ply"):
        path = export_mesh(tmp_path / f"m{suffix}", initial_mesh(t), t.faces)
        mesh = trimesh.load(path, process=False)
        assert mesh.vertices.shape == (141, 3) and mesh.faces.shape == (210, 3)
    with pytest.raises(ValueError, match=".obj or .ply"):
        export_mesh(tmp_path / "m.stl", initial_mesh(t), t.faces)


def test_normals_at_picks_the_rows_of_face_normals():
    gen = torch.Generator().manual_seed(0)
    t = hemisphere("graded")
    faces = torch.tensor(t.faces)
    verts = torch.tensor(t.vertices)[None] + 0.05 * torch.randn(3, len(t.vertices), 3, generator=gen,
                                                                  dtype=torch.float64)
    face_idx = torch.randint(0, len(faces), (3, 50), generator=gen)
    expected = torch.stack([face_normals(verts[b], faces)[face_idx[b]] for b in range(3)])
    assert torch.equal(normals_at(verts, faces, face_idx), expected)
