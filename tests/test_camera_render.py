import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from facerecon.data.camera import CropBox, crop_box_from_points, crop_image, project_3ddfa, rotation_3ddfa
from facerecon.data.render import rasterize
from facerecon.mesh.ops import vertex_normals


@pytest.mark.parametrize("angles", [(0.1, -0.7, 0.2), (-0.3, 1.4, -0.1), (0.0, 0.0, 0.0)])
def test_rotation_matches_scipy_convention(angles):
    pitch, yaw, roll = angles
    expected = Rotation.from_euler("XYZ", [-pitch, -yaw, -roll]).as_matrix()
    np.testing.assert_allclose(rotation_3ddfa(*angles), expected, atol=1e-12)


def test_projection_flips_y_and_scales():
    v = np.array([[0.0, 0.0, 0.0], [10.0, 20.0, 30.0]])
    out = project_3ddfa(v, [0, 0, 0, 100, 200, 0, 2.0], image_height=450)
    np.testing.assert_allclose(out[0], [99.0, 450 + 1 - 200 - 1, 0.0])
    np.testing.assert_allclose(out[1] - out[0], [20.0, -40.0, 60.0])
    with pytest.raises(ValueError, match="7 values"):
        project_3ddfa(v, [0, 0, 0], 450)


def test_crop_box_and_image_agree():
    image = np.zeros((200, 300, 3), np.uint8)
    image[120, 70] = 255                                   # a bright pixel at x=70, y=120
    points = np.array([[50.0, 100.0], [150.0, 160.0]])
    box = crop_box_from_points(points, margin=1.0, size=101)
    assert box.side == 100 and (box.x0, box.y0) == (50.0, 80.0)
    mapped = box.apply(np.array([[70.0, 120.0, 5.0]]))[0]
    crop = crop_image(image, box)
    assert crop.shape == (101, 101, 3)
    j, i = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert (i, j) == (round(mapped[0]), round(mapped[1]))
    assert mapped[2] == pytest.approx(5.0 * 101 / 100)
    # outside the image: zero padding
    assert crop_image(image, CropBox(-500, -500, 100, 16)).max() == 0


def _naive_crop(image: np.ndarray, box: CropBox) -> np.ndarray:
    """Bilinear sampling pixel by pixel at ``(x0 + j·s/S, y0 + i·s/S)``, pixels outside the image zero."""
    h, w = image.shape[:2]
    out = np.zeros((box.size, box.size, image.shape[2]))
    for i in range(box.size):
        for j in range(box.size):
            x, y = box.x0 + j / box.scale, box.y0 + i / box.scale
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    if 0 <= yy < h and 0 <= xx < w:
                        out[i, j] += wy * wx * image[yy, xx]
    return out


@pytest.mark.parametrize("box", [CropBox(10.3, 5.7, 30.2, 17), CropBox(-8.5, -3.2, 40, 13), CropBox(35, 20, 9, 11)])
def test_crop_image_is_bilinear_sampling_with_zero_padding(box):
    """The numpy crop (the photo tool runs without torch) against a per-pixel reference, inside the image,
    across its border and past its corner; uint8 images are the float result rounded."""
    image = np.random.default_rng(0).uniform(0, 255, (30, 45, 3))
    np.testing.assert_allclose(crop_image(image, box), _naive_crop(image, box), atol=1e-9)
    as_uint8 = image.astype(np.uint8)
    np.testing.assert_array_equal(crop_image(as_uint8, box),
                                  np.clip(np.rint(_naive_crop(as_uint8.astype(float), box)), 0, 255))


def _naive_rasterize(vertices, faces, h, w):
    depth = np.full((h, w), -np.inf)
    face_map = np.full((h, w), -1)
    for f, (a, b, c) in enumerate(faces):
        pa, pb, pc = vertices[a], vertices[b], vertices[c]
        den = (pb[1] - pc[1]) * (pa[0] - pc[0]) + (pc[0] - pb[0]) * (pa[1] - pc[1])
        if abs(den) < 1e-12:
            continue
        for y in range(h):
            for x in range(w):
                l0 = ((pb[1] - pc[1]) * (x - pc[0]) + (pc[0] - pb[0]) * (y - pc[1])) / den
                l1 = ((pc[1] - pa[1]) * (x - pc[0]) + (pa[0] - pc[0]) * (y - pc[1])) / den
                l2 = 1 - l0 - l1
                if min(l0, l1, l2) >= -1e-9:
                    z = l0 * pa[2] + l1 * pb[2] + l2 * pc[2]
                    if z > depth[y, x]:
                        depth[y, x], face_map[y, x] = z, f
    return face_map, depth


def test_rasterizer_matches_naive_loops():
    rng = np.random.default_rng(0)
    h, w = 20, 24
    vertices = np.concatenate([rng.uniform(-3, 27, (30, 2)), rng.uniform(-5, 5, (30, 1))], 1)
    faces = rng.integers(0, 30, (25, 3))
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    frags = rasterize(torch.tensor(vertices), torch.tensor(faces), h, w)
    face_ref, depth_ref = _naive_rasterize(vertices, faces, h, w)
    covered = face_ref >= 0
    np.testing.assert_array_equal(frags.mask.numpy(), covered)
    np.testing.assert_allclose(frags.depth.numpy()[covered], depth_ref[covered], rtol=1e-5, atol=1e-5)
    # barycentrics reproduce the pixel centre
    tri = vertices[faces[frags.face.numpy()[covered]]]
    bary = frags.bary.numpy()[covered]
    ys, xs = np.nonzero(covered)
    np.testing.assert_allclose((bary[:, :, None] * tri[:, :, :2]).sum(1), np.stack([xs, ys], 1), atol=1e-4)


def test_rasterizer_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"vertices must be \(N, 3\)"):
        rasterize(torch.zeros(4, 2), torch.zeros(1, 3, dtype=torch.long), 8, 8)


def test_vertex_normals_match_naive():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(12, 3))
    f = np.array([[0, 1, 2], [2, 1, 3], [4, 5, 6], [0, 2, 7], [8, 9, 10], [9, 11, 10]])
    expected = np.zeros_like(v)
    for a, b, c in f:
        n = np.cross(v[b] - v[a], v[c] - v[a])
        expected[[a, b, c]] += n
    used = np.linalg.norm(expected, axis=1) > 0
    expected[used] /= np.linalg.norm(expected[used], axis=1, keepdims=True)
    got = vertex_normals(torch.tensor(v), torch.tensor(f)).numpy()
    np.testing.assert_allclose(got[used], expected[used], atol=1e-10)
