"""Landmarks at test time: the detect() interface, the study's CNN, MediaPipe's 468 → 68 mapping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facerecon.data.ibug import flip_permutation
from facerecon.landmarks import METHODS, detect
from facerecon.landmarks.cnn import DetectorConfig, LandmarkCNN, predict, soft_argmax, train_detector
from facerecon.landmarks.evaluate import nme_by_yaw
from facerecon.landmarks.mediapipe68 import MEDIAPIPE_TO_IBUG68, N_MEDIAPIPE, mediapipe_on_crop, mediapipe_points, \
    to_ibug68

def test_mapping_table_is_well_formed():
    assert len(MEDIAPIPE_TO_IBUG68) == 68
    flat = [i for group in MEDIAPIPE_TO_IBUG68 for i in group]
    assert all(0 <= i < N_MEDIAPIPE for i in flat) and all(1 <= len(g) <= 2 for g in MEDIAPIPE_TO_IBUG68)
    assert len(set(MEDIAPIPE_TO_IBUG68)) == 68                    # no two iBUG points have the same sources
    shared = sorted({i for i in flat if flat.count(i) > 1})
    assert shared == [58]                                         # one MediaPipe point feeds two: iBUG 3 and 4
    assert [k for k, group in enumerate(MEDIAPIPE_TO_IBUG68) if 58 in group] == [3, 4]
    points = np.arange(N_MEDIAPIPE * 2, dtype=float).reshape(N_MEDIAPIPE, 2)
    np.testing.assert_allclose(to_ibug68(points)[3], points[[132, 58]].mean(0))
    with pytest.raises(ValueError, match="468"):
        to_ibug68(np.zeros((68, 2)))


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return data.astronaut()          # a real photo that ships with scikit-image (512×512)


def test_mediapipe_finds_a_real_face_and_the_mapping_respects_left_and_right(astronaut):
    points = mediapipe_points(astronaut)
    assert points is not None and points.shape == (N_MEDIAPIPE, 3)
    ours = to_ibug68(points)[:, :2]
    mirrored = mediapipe_points(astronaut[:, ::-1].copy())
    assert mirrored is not None
    theirs = to_ibug68(mirrored)[:, :2]
    theirs[:, 0] = astronaut.shape[1] - 1 - theirs[:, 0]         # back into the original image's x
    # iBUG point i of the mirrored photo is point flip(i) of the original: a left/right mix-up in the table
    # would put it on the other side of the face
    size = np.ptp(ours, axis=0).max()
    error = np.linalg.norm(theirs[flip_permutation()] - ours, axis=1) / size
    assert np.median(error) < 0.03 and error.max() < 0.1
    # iBUG semantics: the chin is below the nose tip, which is below the eyes; right eye (36–41) on image left
    assert ours[8, 1] > ours[30, 1] > ours[36:48, 1].mean()
    assert ours[36:42, 0].mean() < ours[42:48, 0].mean()


def test_mediapipe_on_a_tight_crop_and_on_no_face(astronaut):
    crop = astronaut[20:240, 140:360]                             # the face, tight
    from PIL import Image

    small = np.asarray(Image.fromarray(crop).resize((113, 113)))
    landmarks = mediapipe_on_crop(small)
    assert landmarks is not None and landmarks.shape == (68, 2)
    assert (landmarks > -10).all() and (landmarks < 123).all()
    assert detect(np.full((113, 113, 3), 128, np.uint8), "mediapipe") is None
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        mediapipe_points(np.zeros((10, 10)))


@pytest.mark.real_samples
def test_mediapipe_on_real_aflw2000(real_samples):
    from facerecon.data.readers import read_aflw2000

    samples = [read_aflw2000(p) for p in sorted((real_samples / "AFLW2000").glob("*.mat"))]
    result = nme_by_yaw([mediapipe_on_crop(s.image) for s in samples], np.stack([s.landmarks3d for s in samples]),
                        np.array([abs(np.degrees(s.pose[1])) for s in samples]))
    assert result["all"]["detected"] == len(samples)
    assert result["all"]["nme"] < 8.0


def test_soft_argmax_against_a_naive_loop():
    # a heat map concentrated on cell (row 10, col 3) gives that cell's centre in crop pixels
    logits = torch.full((1, 68, 29, 29), -1e4)
    logits[:, :, 10, 3] = 0
    cell = 113 / 29
    torch.testing.assert_close(soft_argmax(logits)[0, 0], torch.tensor([(3 + 0.5) * cell - 0.5, (10 + 0.5) * cell - 0.5]))
    logits = torch.randn(2, 68, 29, 29, generator=torch.Generator().manual_seed(0))
    out = soft_argmax(logits)
    for b, k in ((0, 0), (1, 67)):
        p = torch.softmax(logits[b, k].flatten(), 0).reshape(29, 29)
        x = sum(p[r, c] * ((c + 0.5) * cell - 0.5) for r in range(29) for c in range(29))
        y = sum(p[r, c] * ((r + 0.5) * cell - 0.5) for r in range(29) for c in range(29))
        torch.testing.assert_close(out[b, k], torch.stack([x, y]), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="113"):
        LandmarkCNN(4)(torch.zeros(1, 3, 64, 64))


def test_cnn_learns_landmarks(tmp_path):
    from facerecon.data.generate import load_synthface
    from facerecon.data.synthface import SynthFaceConfig
    from facerecon.study.cache import RunCache

    data = load_synthface(SynthFaceConfig(split="train", n=16, seed=0, resolution=24), cache=RunCache(tmp_path),
                          workers=1, progress=False)
    model, history = train_detector(DetectorConfig(width=8, steps=60, batch_size=8, lr=3e-3), data, progress=False)
    assert np.mean(history[-10:]) < 0.6 * np.mean(history[:5])
    images = np.stack([data.sample(i)["image"] for i in range(4)])
    pred = predict(model, images)
    assert pred.shape == (4, 68, 2)
    np.testing.assert_allclose(detect(images[0], "cnn", model=model), pred[0], rtol=1e-5)


def test_detect_interface_errors():
    lm = np.zeros((68, 2))
    assert detect(None, "dataset", dataset_landmarks=lm) is not None
    with pytest.raises(ValueError, match="dataset_landmarks"):
        detect(None, "dataset")
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        detect(None, "dataset", dataset_landmarks=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="model="):
        detect(np.zeros((113, 113, 3)), "cnn")
    with pytest.raises(ValueError, match="unknown landmark method"):
        detect(None, "dlib")
    assert METHODS == ("dataset", "cnn", "mediapipe")


def test_nme_by_yaw_counts_missed_faces():
    truth = np.tile(np.array([[0.0, 0.0], [10, 0], [10, 40], [0, 40]] * 17), (3, 1, 1))
    pred = [truth[0] + [3.0, 4.0], None, truth[2]]
    result = nme_by_yaw(pred, truth, np.array([10.0, 40.0, 70.0]))
    assert result["all"]["n"] == 3 and result["all"]["detected"] == 2
    assert result["all"]["nme"] == pytest.approx((25.0 + 0.0) / 2)
    assert result["[30,60]"]["rate"] == 0 and np.isnan(result["[30,60]"]["nme"])
