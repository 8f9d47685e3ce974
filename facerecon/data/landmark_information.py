"""How much of a face's shape its 68 landmarks determine (data.md, "What the landmarks may explain").

If the landmarks pin the ground-truth mesh down, a benchmark of reconstruction from an image and its landmarks
measures landmark inversion. This module measures it with the most favourable linear method there is:

1. align the training meshes by generalized Procrustes (similarity: rotation, scale, translation) and take the
   first ``k`` principal components (PCA-``k``) of the aligned shapes;
2. *oracle*: fit a test mesh's PCA coefficients from the 3D positions of its 68 landmark vertices alone by ridge
   regression, aligning those landmarks (and nothing else) to the fit's, with the ridge weight λ chosen per
   sample to minimize the whole-mesh error (it sees the answer in λ only); :func:`exact_inversion_bound` is
   what a perfect inversion of the landmarks leaves by the same formula;
3. report the fraction of the test mesh's deviation from the mean (RMS over vertices) that the fit leaves:
   ``‖fit − x‖ / ‖mean − x‖``. 0: the landmarks determine the mesh; 1: they say nothing beyond the mean;
4. *realistic*: 2D landmarks only, the pose estimated from them (weak perspective), the same ridge fit in the
   image plane, scored against the GT mesh in the crop frame (each set's mean depth removed);
5. the PCA-``k`` representation residual of the whole mesh (how much no ``k``-dimensional linear model holds).

Shapes: ``meshes (M, V, 3)``, ``landmark_index (68,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh.pose import apply_similarity, apply_weak_perspective, fit_weak_perspective, similarity_transform
from ..study.threads import single_threaded

DEFAULT_LAMBDAS = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3])   # literals: np.logspace's bits follow the CPU


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source (V, 3)`` moved onto ``target (V, 3)`` by the least-squares similarity (Umeyama 1991)."""
    return apply_similarity(source, similarity_transform(source, target))


def generalized_procrustes(meshes: np.ndarray, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Align ``meshes (M, V, 3)`` to their evolving mean; returns ``(aligned (M, V, 3), reference (V, 3))``, the
    reference centred and of the first mesh's size."""
    meshes = np.asarray(meshes, dtype=np.float64)
    reference = meshes[0] - meshes[0].mean(0)
    for _ in range(iterations):
        aligned = np.stack([procrustes(m, reference) for m in meshes])
        mean = aligned.mean(0)
        mean *= np.sqrt((reference ** 2).sum() / (mean ** 2).sum())
        reference = mean
    return aligned, reference


@dataclass(frozen=True)
class ShapeSpace:
    """PCA of aligned training meshes: ``mean (V, 3)``, ``basis (k, V, 3)`` scaled so coefficients are ~N(0, 1)."""

    mean: np.ndarray
    basis: np.ndarray

    @staticmethod
    def fit(train_meshes: np.ndarray, k: int = 100) -> "ShapeSpace":
        aligned, mean = generalized_procrustes(train_meshes)
        m = len(aligned)
        if not 1 <= k < m:
            raise ValueError(f"PCA-{k} needs more than {k} training meshes, got {m}")
        centred = (aligned - aligned.mean(0)).reshape(m, -1)
        # PCA through the (M, M) Gram matrix: M ≪ 3V, and far faster than an SVD of the (M, 3V) data
        eigenvalues, eigenvectors = np.linalg.eigh(centred @ centred.T)
        top = np.argsort(eigenvalues)[::-1][:k]
        directions = centred.T @ eigenvectors[:, top]                        # (3V, k), norms √λ
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        sd = np.sqrt(np.clip(eigenvalues[top], 0, None) / (m - 1))
        basis = (directions * sd).T.reshape(k, -1, 3)
        return ShapeSpace(mean=aligned.mean(0), basis=basis)

    def representation_residual(self, mesh: np.ndarray) -> float:
        """Fraction of ``mesh``'s deviation (after alignment) that the PCA subspace cannot represent."""
        x = procrustes(mesh, self.mean) - self.mean
        b = self.basis.reshape(len(self.basis), -1)
        coeffs = np.linalg.lstsq(b.T, x.ravel(), rcond=None)[0]
        return _fraction(b.T @ coeffs - x.ravel(), x.ravel())


def _fraction(residual: np.ndarray, deviation: np.ndarray) -> float:
    return float(np.sqrt((residual ** 2).sum() / max((deviation ** 2).sum(), 1e-30)))


def _ridge_path(design: np.ndarray, target: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Ridge solutions ``(L, k)`` of ``‖design·c − target‖² + λ‖c‖²`` for every λ (one SVD)."""
    u, sig, vt = np.linalg.svd(design, full_matrices=False)
    uty = u.T @ target
    return np.stack([vt.T @ (sig / (sig ** 2 + lam) * uty) for lam in lambdas])


def oracle_landmark_fit(space: ShapeSpace, mesh: np.ndarray, landmark_index: np.ndarray,
                        lambdas: np.ndarray = DEFAULT_LAMBDAS, iterations: int = 4) -> float:
    """The lowest of :func:`landmark_fit_fractions` over ``lambdas`` (λ chosen per face on the whole mesh)."""
    return float(landmark_fit_fractions(space, mesh, landmark_index, lambdas, iterations).min())


@dataclass(frozen=True)
class LandmarkDesign:
    """What :func:`fit_to_3d_landmarks` needs of a shape space and its landmark vertices, the same for every face
    and ridge weight: the mean's landmarks ``(68, 3)``, the basis at them ``(k, 68, 3)``, an orthonormal basis of
    the mean landmarks' 7 infinitesimal similarities ``(204, 7)`` and the SVD of the design with those projected
    out."""

    mean_lm: np.ndarray
    basis_lm: np.ndarray
    generators: np.ndarray
    u: np.ndarray
    sig: np.ndarray
    vt: np.ndarray

    @staticmethod
    def of(space: ShapeSpace, landmark_index: np.ndarray) -> "LandmarkDesign":
        mean_lm, basis_lm = space.mean[landmark_index], space.basis[:, landmark_index]
        generators, _ = np.linalg.qr(similarity_generators(mean_lm))
        design = basis_lm.reshape(len(space.basis), -1).T
        u, sig, vt = np.linalg.svd(design - generators @ (generators.T @ design), full_matrices=False)
        return LandmarkDesign(mean_lm, basis_lm, generators, u, sig, vt)

    def project_out(self, x: np.ndarray) -> np.ndarray:
        """``x`` without its component along the similarities."""
        return x - self.generators @ (self.generators.T @ x)


def landmark_fit_fractions(space: ShapeSpace, mesh: np.ndarray, landmark_index: np.ndarray,
                           lambdas: np.ndarray = DEFAULT_LAMBDAS, iterations: int = 4,
                           design: LandmarkDesign | None = None) -> np.ndarray:
    """Unexplained fraction ``(L,)`` of ``mesh (V, 3)`` after the ridge fit from its 68 landmark vertices (3D),
    for each ridge weight in ``lambdas (L,)``: ``‖fit − mesh‖ / ‖mean − mesh‖`` in the mesh's own frame and scale,
    the fit from :func:`fit_to_3d_landmarks` (it sees the landmarks only) and the mean placed by the whole-mesh
    similarity (the denominator is the same for every method and never reaches the fit). An earlier version
    aligned the test mesh with the whole GT mesh before the fit: that alignment carried the hidden shape, and the
    "landmark" fit beat a perfect inversion of the landmarks (exact identity and expression) on 95.5 % of faces."""
    mesh = np.asarray(mesh, np.float64)
    deviation = procrustes(space.mean, mesh) - mesh
    design = design or LandmarkDesign.of(space, landmark_index)
    return np.array([_fraction(fit_to_3d_landmarks(space, mesh[landmark_index], landmark_index, lam, iterations,
                                                   design) - mesh, deviation) for lam in lambdas])


def fit_to_3d_landmarks(space: ShapeSpace, landmarks: np.ndarray, landmark_index: np.ndarray, lam: float,
                        iterations: int = 4, design: LandmarkDesign | None = None) -> np.ndarray:
    """The PCA shape ``(V, 3)`` fitted to 3D ``landmarks (68, 3)`` by ridge regression (weight ``lam``), placed
    on them by a similarity. The landmarks are aligned to the current fit's landmarks and the coefficients
    refitted, ``iterations`` times from the mean, with the 7 infinitesimal similarities of the mean's landmarks
    as unpenalized directions (projected out of the design and the target), so that the shape's own effect on
    the landmarks is not mistaken for pose. ``design``: :meth:`LandmarkDesign.of` ``(space, landmark_index)``,
    built once for many faces."""
    landmarks = np.asarray(landmarks, np.float64)
    d = design or LandmarkDesign.of(space, landmark_index)
    coeffs = np.zeros(len(space.basis))
    for _ in range(iterations):
        fitted_lm = d.mean_lm + np.tensordot(coeffs, d.basis_lm, axes=(0, 0))
        target = (apply_similarity(landmarks, similarity_transform(landmarks, fitted_lm)) - d.mean_lm).ravel()
        coeffs = d.vt.T @ (d.sig / (d.sig ** 2 + lam) * (d.u.T @ d.project_out(target)))
    fitted = space.mean + np.tensordot(coeffs, space.basis, axes=(0, 0))
    return apply_similarity(fitted, similarity_transform(fitted[landmark_index], landmarks))


def similarity_generators(points: np.ndarray) -> np.ndarray:
    """``(3N, 7)``: how ``points (N, 3)`` move, to first order, under the 3 translations, a scaling about their
    centroid and the 3 rotations about it (each column flattened like ``points.ravel()``)."""
    centred = np.asarray(points, np.float64) - np.mean(points, 0)
    columns = [np.tile(axis, (len(centred), 1)) for axis in np.eye(3)] + [centred]
    columns += [np.cross(axis, centred) for axis in np.eye(3)]
    return np.stack([c.ravel() for c in columns], 1)


def exact_inversion_bound(space: ShapeSpace, mesh: np.ndarray, landmark_explained: np.ndarray) -> float:
    """The unexplained fraction of ``mesh (V, 3)`` by :func:`oracle_landmark_fit`'s formula when the prediction
    is ``landmark_explained (V, 3)``: the same face without what its landmarks cannot see (SynthFace: identity
    and expression exact, hidden regional shape and bumps zero), in the mesh's frame. No method that reads only
    the landmarks can do better on average."""
    mesh = np.asarray(mesh, np.float64)
    return _fraction(np.asarray(landmark_explained, np.float64) - mesh, procrustes(space.mean, mesh) - mesh)


def coefficients_at_pose(space: ShapeSpace, landmarks2d, landmark_index: np.ndarray, pose, lam: float) -> np.ndarray:
    """``(k,)`` PCA coefficients: the ridge fit (weight ``lam``) of ``landmarks2d (1, 68, 2)`` (a float64 tensor,
    crop pixels) in the image plane at a weak-perspective ``pose`` ``(s (1,), R (1, 3, 3), t (1, 2))``."""
    import torch

    basis_lm = space.basis[:, landmark_index]
    zero = torch.zeros_like(pose[2])
    design = apply_weak_perspective(torch.as_tensor(basis_lm), pose[0], pose[1], zero)[..., :2]
    design = design.numpy().reshape(len(basis_lm), -1).T
    target = landmarks2d[0] - apply_weak_perspective(torch.as_tensor(space.mean[landmark_index]), *pose)[0, :, :2]
    return _ridge_path(design, target.numpy().ravel(), np.array([lam]))[0]


def posed_shape(space: ShapeSpace, coeffs: np.ndarray, pose) -> np.ndarray:
    """``(V, 3)`` crop-frame vertices of the shape ``coeffs (k,)`` at ``pose``, mean depth removed."""
    import torch

    shape = space.mean + np.tensordot(coeffs, space.basis, axes=(0, 0))
    pred = apply_weak_perspective(torch.as_tensor(shape), *pose)[0].numpy()
    return pred - np.array([0.0, 0.0, pred[:, 2].mean()])


def fit_to_landmarks(space: ShapeSpace, landmarks2d: np.ndarray, landmark_index: np.ndarray, lam: float | None,
                     iterations: int = 4) -> np.ndarray:
    """The classic landmark fit of a 3DMM: ``(V, 3)`` vertices in the crop frame, mean depth removed.

    ``landmarks2d (68, 2)`` in crop pixels; the shape space is in a y-up frame. Alternates a weak-perspective pose
    fit to the current shape's landmarks and a ridge fit (weight ``lam``) of the PCA coefficients in the image
    plane at that pose (:func:`coefficients_at_pose`). ``lam=None`` poses the mean shape (no shape fit)."""
    import torch

    lm2d = torch.as_tensor(np.asarray(landmarks2d, np.float64)[None])
    basis_lm = space.basis[:, landmark_index]
    coeffs = np.zeros(len(space.basis))
    with single_threaded():       # tiny matrices: threads only wait for each other (2.4–2.9× faster on 2 cores)
        for _ in range(iterations if lam is not None else 1):
            shape_lm = space.mean[landmark_index] + np.tensordot(coeffs, basis_lm, axes=(0, 0))
            pose = fit_weak_perspective(torch.as_tensor(shape_lm), lm2d)
            if lam is None:
                break
            coeffs = coefficients_at_pose(space, lm2d, landmark_index, pose, lam)
        return posed_shape(space, coeffs, pose)


def realistic_landmark_fit(space: ShapeSpace, vertices: np.ndarray, landmarks2d: np.ndarray,
                           landmark_index: np.ndarray, lambdas: np.ndarray = DEFAULT_LAMBDAS,
                           iterations: int = 4) -> float:
    """Unexplained fraction with 2D landmarks and the pose estimated from them (:func:`fit_to_landmarks`).

    ``vertices (V, 3)`` is the GT in crop coordinates (x right, y down, z towards the camera), ``landmarks2d
    (68, 2)`` in crop pixels. The prediction and the GT are compared in 3D with each one's mean depth removed,
    relative to the mean face posed the same way; λ is chosen per sample (an oracle in λ only).
    """
    gt = np.asarray(vertices, np.float64)
    gt = gt - np.array([0.0, 0.0, gt[:, 2].mean()])
    base = fit_to_landmarks(space, landmarks2d, landmark_index, None)
    return min(_fraction(fit_to_landmarks(space, landmarks2d, landmark_index, lam, iterations) - gt, base - gt)
               for lam in lambdas)


def landmark_information(train_meshes: np.ndarray, test_meshes: np.ndarray, landmark_index: np.ndarray, *,
                         k: int = 100, test_vertices_crop: np.ndarray | None = None,
                         test_landmarks2d: np.ndarray | None = None,
                         test_landmark_explained: np.ndarray | None = None,
                         validation_share: float = 0.1) -> dict:
    """The measures over a test set: per-sample fractions and their medians.

    ``train_meshes (M, V, 3)`` and ``test_meshes (T, V, 3)`` in any frame (they are aligned here). The PCA is fitted
    on all but the first ``validation_share`` of the training meshes; the oracle fit's ridge weight is the one with
    the lowest mean fraction on those held-out meshes (never chosen on the test faces, nor per face: a per-face
    choice on the whole mesh let the fit select on the hidden shape). ``test_vertices_crop (T, V, 3)`` and
    ``test_landmarks2d (T, 68, 2)`` enable the realistic variant; the meshes must then be in a y-up frame (crop
    vertices with y negated are), as the weak-perspective fit expects. ``test_landmark_explained (T, V, 3)``: the
    test faces without what the landmarks cannot see, in ``test_meshes``' frame, for the exact-inversion bound
    (:func:`exact_inversion_bound`).
    """
    train_meshes = np.asarray(train_meshes, np.float64)
    n_val = max(1, int(round(validation_share * len(train_meshes))))
    space = ShapeSpace.fit(train_meshes[n_val:], k)
    design = LandmarkDesign.of(space, landmark_index)
    held_out = np.mean([landmark_fit_fractions(space, m, landmark_index, design=design)
                        for m in train_meshes[:n_val]], 0)
    chosen = int(np.argmin(held_out))
    oracle = np.array([landmark_fit_fractions(space, m, landmark_index, DEFAULT_LAMBDAS[chosen:chosen + 1],
                                              design=design)[0] for m in test_meshes])
    representation = np.array([space.representation_residual(m) for m in test_meshes])
    out = {"k": k, "n_train": len(train_meshes) - n_val, "n_validation": n_val, "n_test": len(test_meshes),
           "lambda": float(DEFAULT_LAMBDAS[chosen]),
           "oracle_3d": oracle.tolist(), "oracle_3d_median": float(np.median(oracle)),
           "oracle_3d_mean": float(oracle.mean()),
           "pca_residual": representation.tolist(), "pca_residual_median": float(np.median(representation))}
    if test_landmark_explained is not None:
        bound = np.array([exact_inversion_bound(space, m, e) for m, e in zip(test_meshes, test_landmark_explained)])
        out.update(exact_inversion=bound.tolist(), exact_inversion_median=float(np.median(bound)),
                   exact_inversion_mean=float(bound.mean()))
    if test_landmarks2d is not None and test_vertices_crop is not None:
        realistic = np.array([realistic_landmark_fit(space, v, lm, landmark_index)
                              for v, lm in zip(test_vertices_crop, test_landmarks2d)])
        out.update(realistic_2d=realistic.tolist(), realistic_2d_median=float(np.median(realistic)))
    return out
