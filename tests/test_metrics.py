import itertools

import numpy as np
import pytest
import torch

from facerecon.metrics import chamfer_distance, dense_nme, earth_movers_distance, landmark_nme, to_metric_frame


def _naive_chamfer(p, q):
    d = ((p[:, None] - q[None]) ** 2).sum(-1)
    return d.min(1).sum() + d.min(0).sum(), d.min(1).mean() + d.min(0).mean()


@pytest.mark.parametrize("n, m", [(50, 70), (200, 200), (1, 9)])
def test_chamfer_matches_brute_force(n, m):
    rng = np.random.default_rng(n + m)
    p, q = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    total, mean = _naive_chamfer(p, q)
    assert chamfer_distance(p, q) == pytest.approx(total, rel=1e-9, abs=1e-12)
    assert chamfer_distance(p, q, reduction="mean") == pytest.approx(mean, rel=1e-9)
    assert chamfer_distance(p, q) == pytest.approx(chamfer_distance(q, p), rel=1e-12)     # symmetric
    assert chamfer_distance(p, p) == 0.0
    assert chamfer_distance(torch.tensor(p), torch.tensor(q)) == pytest.approx(total, rel=1e-9)


def test_chamfer_hand_computed():
    p = np.array([[0.0, 0, 0], [1, 0, 0]])
    q = np.array([[0.0, 2, 0]])
    # p→q: 4 + 5; q→p: 4
    assert chamfer_distance(p, q) == pytest.approx(13.0)
    assert chamfer_distance(p, q, "mean") == pytest.approx(4.5 + 4.0)


def test_emd_matches_enumeration():
    rng = np.random.default_rng(0)
    for n in (2, 4, 6):
        p, q = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        cost = np.linalg.norm(p[:, None] - q[None], axis=-1)
        best = min(sum(cost[i, perm[i]] for i in range(n)) for perm in itertools.permutations(range(n)))
        assert earth_movers_distance(p, q) == pytest.approx(best, rel=1e-9)
        assert earth_movers_distance(p, q, "mean") == pytest.approx(best / n, rel=1e-9)
        assert earth_movers_distance(p, q) == pytest.approx(earth_movers_distance(q, p), rel=1e-12)
        assert earth_movers_distance(p, p) == 0.0


def test_emd_of_a_translation():
    rng = np.random.default_rng(1)
    p = rng.normal(size=(64, 3)) * 10
    shift = np.array([0.01, -0.02, 0.005])
    assert earth_movers_distance(p, p + shift) == pytest.approx(64 * np.linalg.norm(shift), rel=1e-9)


def test_metric_input_errors():
    p = np.zeros((5, 3))
    with pytest.raises(ValueError, match="equal size"):
        earth_movers_distance(p, np.zeros((6, 3)))
    with pytest.raises(ValueError, match=r"\(N, 3\) point set, got shape \(5, 2\)"):
        chamfer_distance(np.zeros((5, 2)), p)
    bad = p.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        chamfer_distance(bad, p)
    with pytest.raises(ValueError, match="reduction"):
        chamfer_distance(p, p, reduction="max")


def test_nme():
    gt = np.array([[0.0, 0, 0], [10, 0, 0], [10, 40, 5], [0, 40, 0]])
    pred = gt + np.array([3.0, 4.0, 12.0])
    assert landmark_nme(pred, gt) == pytest.approx(100 * 5 / 20)          # √(10·40) = 20
    assert landmark_nme(pred, gt, dims=3) == pytest.approx(100 * 13 / 20)
    assert dense_nme(pred, gt) == pytest.approx(13.0)
    # naive loop reference on random points with per-point errors (the box is the GT's 2D box in both cases)
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 100, (68, 3))
    pred = gt + rng.normal(0, 2, (68, 3))
    w, h = gt[:, 0].max() - gt[:, 0].min(), gt[:, 1].max() - gt[:, 1].min()
    for dims in (2, 3):
        errors = [sum((pred[i, d] - gt[i, d]) ** 2 for d in range(dims)) ** 0.5 for i in range(68)]
        assert landmark_nme(pred, gt, dims=dims) == pytest.approx(100 * sum(errors) / 68 / (w * h) ** 0.5)
    with pytest.raises(ValueError, match="same vertex count"):
        dense_nme(pred[:3], gt)


def test_metric_frame():
    p = np.array([[0.0, 0, 10], [113, 113, 20]])
    out = to_metric_frame(p)
    np.testing.assert_allclose(out, [[0, 0, -5 / 113], [1, 1, 5 / 113]])


def test_metric_points_remove_sampled_depth_not_vertex_depth():
    import torch

    from facerecon.metrics import metric_points

    # a plane z = 0 whose vertices crowd one corner: the vertex-mean z would shift a tilted copy, sampling does not
    grid = np.stack(np.meshgrid(np.linspace(0, 113, 6) ** 2 / 113, np.linspace(0, 113, 6)), -1).reshape(-1, 2)
    verts = np.concatenate([grid, 0.3 * grid[:, :1]], 1)           # tilted: z grows with x
    faces = []
    for r in range(5):
        for c in range(5):
            a = r * 6 + c
            faces += [[a, a + 1, a + 6], [a + 1, a + 7, a + 6]]
    pts = metric_points(verts, np.array(faces), 4000, torch.Generator().manual_seed(0))
    assert pts.shape == (4000, 3) and abs(pts[:, 2].mean()) < 1e-12
    assert abs(pts[:, 2].mean() + (0.3 * 0.5 - 0.3 * verts[:, 0].mean() / 113)) > 0.01   # differs from vertex mean
    assert pts[:, :2].min() >= 0 and pts[:, :2].max() <= 1


def test_surface_distances_in_threads_equal_the_direct_computation():
    from facerecon.metrics import surface_distances

    rng = np.random.default_rng(4)
    pairs = [(rng.random((60, 3)), rng.random((60, 3))) for _ in range(7)]
    for reduction in ("sum", "mean"):
        expected = [(chamfer_distance(p, q, reduction), earth_movers_distance(p, q, reduction)) for p, q in pairs]
        assert surface_distances(pairs, reduction, workers=3) == expected
        assert surface_distances(pairs, reduction, workers=1) == expected
    with pytest.raises(ValueError, match="reduction"):
        surface_distances(pairs, "median")
