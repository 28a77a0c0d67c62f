"""Errors against ground truth, for the benchmarks (the project makes its own ground truth).

Joint errors are in the units of the inputs (metres in inhabit), rotations in degrees. Each
``*_per_frame`` / ``*_per_item`` variant returns one value per leading index for sequences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inhabit.evaluate._arrays import as_np, check_same_shape, check_shape


def _pair(pred: Any, gt: Any, last: tuple[int, ...], names=("pred", "gt")) -> tuple[np.ndarray, np.ndarray]:
    p, g = as_np(pred), as_np(gt)
    check_shape(p, names[0], last)
    check_same_shape(p, g, *names)
    return p, g


def mpjpe_per_item(pred: Any, gt: Any, root: int | None = None) -> np.ndarray:
    """Mean per-joint position error of each item.

    ``MPJPE = 1/J sum_j |p_j - g_j|``; with ``root`` both skeletons are first translated so that
    joint ``root`` is at the origin (root-relative MPJPE).

    Args:
        pred, gt: (..., J, 3).
        root: index of the root joint (0 = pelvis) or None for absolute positions.

    Returns:
        (...) errors, in the units of the inputs.
    """
    p, g = _pair(pred, gt, (3,), ("pred", "gt"))
    if p.ndim < 2:
        raise ValueError(f"pred has shape {p.shape}, expected (..., J, 3)")
    if root is not None:
        p = p - p[..., root:root + 1, :]
        g = g - g[..., root:root + 1, :]
    return np.linalg.norm(p - g, axis=-1).mean(axis=-1)


def mpjpe(pred: Any, gt: Any, root: int | None = None) -> float:
    """MPJPE averaged over all items. pred, gt: (..., J, 3)."""
    return float(mpjpe_per_item(pred, gt, root).mean())


def procrustes_align(pred: Any, gt: Any, scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Similarity transform that best maps ``pred`` onto ``gt`` (Umeyama 1991), batched.

    Minimises ``sum_j |s R p_j + t - g_j|^2`` over scale s > 0, rotation R (det +1) and t. With the
    centred point sets ``X = p - mean(p)``, ``Y = g - mean(g)`` and ``X^T Y = U S V^T``:
    ``R = V D U^T`` with ``D = diag(1, 1, sign det(V U^T))`` (a reflection is never returned),
    ``s = tr(S D) / |X|^2``, ``t = mean(g) - s R mean(p)``.

    Args:
        pred, gt: (..., J, 3), J >= 3 for a unique rotation.
        scale: estimate s (else s = 1).

    Returns:
        aligned (..., J, 3), s (...), R (..., 3, 3), t (..., 3). Degenerate ``pred`` (all points
        equal) gives s = 1.
    """
    p, g = _pair(pred, gt, (3,))
    mp, mg = p.mean(axis=-2, keepdims=True), g.mean(axis=-2, keepdims=True)
    X, Y = p - mp, g - mg
    H = np.swapaxes(X, -1, -2) @ Y  # (..., 3, 3)
    U, S, Vt = np.linalg.svd(H)
    V = np.swapaxes(Vt, -1, -2)
    d = np.sign(np.linalg.det(V @ np.swapaxes(U, -1, -2)))
    d = np.where(d == 0, 1.0, d)
    D = np.zeros(H.shape)
    D[..., 0, 0] = 1.0
    D[..., 1, 1] = 1.0
    D[..., 2, 2] = d
    R = V @ D @ np.swapaxes(U, -1, -2)
    if scale:
        var = (X**2).sum(axis=(-1, -2))
        trace = (S * np.diagonal(D, axis1=-2, axis2=-1)).sum(axis=-1)
        s = np.where(var > 1e-12, trace / np.maximum(var, 1e-12), 1.0)
    else:
        s = np.ones(H.shape[:-2])
    t = mg[..., 0, :] - s[..., None] * np.einsum("...ij,...j->...i", R, mp[..., 0, :])
    aligned = s[..., None, None] * (p @ np.swapaxes(R, -1, -2)) + t[..., None, :]
    return aligned, s, R, t


def pa_mpjpe_per_item(pred: Any, gt: Any) -> np.ndarray:
    """Procrustes-aligned MPJPE of each item (similarity alignment, then MPJPE). (..., J, 3) -> (...)."""
    aligned, *_ = procrustes_align(pred, gt, scale=True)
    return mpjpe_per_item(aligned, gt)


def pa_mpjpe(pred: Any, gt: Any) -> float:
    """PA-MPJPE averaged over all items. pred, gt: (..., J, 3); 0 for a rotated, scaled, shifted copy."""
    return float(pa_mpjpe_per_item(pred, gt).mean())


def root_error(pred: Any, gt: Any, root: int = 0) -> float:
    """Mean distance between the root (pelvis) joints. pred, gt: (..., J, 3) -> float."""
    p, g = _pair(pred, gt, (3,))
    return float(np.linalg.norm(p[..., root, :] - g[..., root, :], axis=-1).mean())


def rotation_error_deg(R_pred: Any, R_gt: Any) -> np.ndarray:
    """Geodesic angle between rotations, degrees.

    ``theta = atan2(|vee(A - A^T)| / 2, (tr A - 1) / 2)`` with ``A = R_pred^T R_gt``: the atan2 form
    stays accurate near 0 and 180 degrees, where ``arccos`` of the trace loses precision.

    Args:
        R_pred, R_gt: (..., 3, 3) rotation matrices.

    Returns:
        (...) angles in [0, 180].
    """
    a, b = _pair(R_pred, R_gt, (3, 3), ("R_pred", "R_gt"))
    A = np.swapaxes(a, -1, -2) @ b
    cos = (np.trace(A, axis1=-2, axis2=-1) - 1.0) / 2.0
    skew = np.stack([A[..., 2, 1] - A[..., 1, 2], A[..., 0, 2] - A[..., 2, 0], A[..., 1, 0] - A[..., 0, 1]], -1)
    sin = np.linalg.norm(skew, axis=-1) / 2.0
    return np.degrees(np.arctan2(sin, cos))


def rigid_pose_errors(T_pred: Any, T_gt: Any) -> dict[str, np.ndarray]:
    """Rotation (degrees) and translation (input units) error of rigid poses.

    Args:
        T_pred, T_gt: (..., 4, 4) poses ``T_world_x`` (camera or object in the world).

    Returns:
        ``{"rot_deg": (...), "trans": (...)}``: geodesic angle between the rotations, distance
        between the positions (for ``T_world_cam``: between the camera centres).
    """
    a, b = _pair(T_pred, T_gt, (4, 4), ("T_pred", "T_gt"))
    return {
        "rot_deg": rotation_error_deg(a[..., :3, :3], b[..., :3, :3]),
        "trans": np.linalg.norm(a[..., :3, 3] - b[..., :3, 3], axis=-1),
    }


def camera_pose_errors(T_world_cam_pred: Any, T_world_cam_gt: Any) -> dict[str, float]:
    """Camera tracking errors over a sequence: mean and max rotation (deg) and centre distance (m).

    Args:
        T_world_cam_pred, T_world_cam_gt: (T, 4, 4) camera poses; no alignment is applied (the first
            camera is known in inhabit's motion job, so drift is what is measured).
    """
    e = rigid_pose_errors(T_world_cam_pred, T_world_cam_gt)
    return {
        "cam_rot_deg": float(e["rot_deg"].mean()),
        "cam_rot_deg_max": float(e["rot_deg"].max()),
        "cam_trans": float(e["trans"].mean()),
        "cam_trans_max": float(e["trans"].max()),
    }


def object_pose_errors(T_world_obj_pred: Any, T_world_obj_gt: Any) -> dict[str, float]:
    """Object pose errors over a sequence: mean and max rotation (deg) and position error (m).

    Args:
        T_world_obj_pred, T_world_obj_gt: (T, 4, 4) ``T_world_object`` per frame.
    """
    e = rigid_pose_errors(T_world_obj_pred, T_world_obj_gt)
    return {
        "obj_rot_deg": float(e["rot_deg"].mean()),
        "obj_rot_deg_max": float(e["rot_deg"].max()),
        "obj_trans": float(e["trans"].mean()),
        "obj_trans_max": float(e["trans"].max()),
    }


def roc_auc(scores: Any, positive: Any) -> float:
    """Area under the ROC curve, by ranks (the Mann-Whitney statistic), ties counted as 1/2.

    ``AUC = (sum of the ranks of the positives - P(P+1)/2) / (P N)`` with average ranks for ties, i.e.
    the probability that a random positive scores higher than a random negative. Used to ask how
    well learned view weights separate clean views (positive) from corrupted ones: 1 = perfectly,
    0.5 = chance, 0 = reversed.

    Args:
        scores: (n,) real scores.
        positive: (n,) bool labels; both classes must be present.
    """
    from scipy.stats import rankdata

    s = as_np(scores).reshape(-1)
    y = np.asarray(positive, dtype=bool).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"scores has {s.size} values but positive has {y.size}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs at least one positive and one negative item")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values")
    ranks = rankdata(s, method="average")
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
