"""Ground truth for 2D perception from rendered bodies: projected keypoints, error metrics, colouring.

A body model gives 3D keypoints with the same names a detector outputs; projecting them with the
camera that rendered the image gives exact 2D ground truth. The benchmark
``benchmarks/keypoints_accuracy.py`` and the rendered-body tests use these helpers; so can anyone
who wants to check a :class:`~inhabit.perceive.keypoints.KeypointDetector` on their own renders.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inhabit.camera.pinhole import Camera
from inhabit.conventions import KEYPOINT_NAMES
from inhabit.structures import Keypoints2D

JOINT_GROUPS: dict[str, tuple[str, ...]] = {
    "face": ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    "torso": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "arms": ("left_elbow", "right_elbow", "left_wrist", "right_wrist"),
    "legs": ("left_knee", "right_knee", "left_ankle", "right_ankle"),
    # small toes are left out: BlazePose has none (their confidence is 0 by design)
    "feet": ("left_big_toe", "left_heel", "right_big_toe", "right_heel"),
}
"""Keypoint groups for reporting errors."""

LIMB_JOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
"""The 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles)."""


def project_keypoints(points_world: np.ndarray, camera: Camera, names: Sequence[str] = KEYPOINT_NAMES) -> Keypoints2D:
    """Ground-truth 2D keypoints of one body seen by ``camera``.

    Args:
        points_world: (K, 3) keypoints in the world frame (e.g. ``BodyOutput.keypoints[b]``).
        camera: the camera that rendered the image.

    Returns:
        One-row Keypoints2D: xy in pixels (pixel-corner origin), conf 1 for points in front of the
        camera and inside the image, else 0.
    """
    p = np.asarray(points_world.detach().cpu().numpy() if hasattr(points_world, "detach") else points_world,
                   dtype=np.float64).reshape(-1, 3)
    xy, z = camera.project(p)
    inside = (z > 0) & (xy[:, 0] >= 0) & (xy[:, 0] <= camera.width) & (xy[:, 1] >= 0) & (xy[:, 1] <= camera.height)
    xy = np.where(np.isfinite(xy), xy, 0.0)
    return Keypoints2D(xy[None].astype(np.float32), inside[None].astype(np.float32), tuple(names))


def keypoint_errors(pred: Keypoints2D, gt: Keypoints2D, min_conf: float = 0.0) -> np.ndarray:
    """Pixel distance between predicted and ground-truth keypoints, matched by name.

    Args:
        pred: N rows from a detector.
        gt: N rows of ground truth (or one row, broadcast); points with gt conf 0 are not scored.
        min_conf: predicted points below this confidence are not scored.

    Returns:
        (N, K) float64 Euclidean errors in the order of ``gt.names``; NaN where not scored
        (the ground-truth name is missing from ``pred``, the gt point is outside the image, or the
        prediction's confidence is ``< min_conf`` or 0).
    """
    names = [n for n in gt.names]
    idx = [pred.names.index(n) if n in pred.names else -1 for n in names]
    n = len(pred)
    g_xy = np.broadcast_to(gt.xy, (n, *gt.xy.shape[1:])) if len(gt) == 1 else gt.xy
    g_c = np.broadcast_to(gt.conf, (n, gt.conf.shape[1])) if len(gt) == 1 else gt.conf
    if g_xy.shape[0] != n:
        raise ValueError(f"keypoint_errors: {n} predictions but {len(gt)} ground-truth rows")
    out = np.full((n, len(names)), np.nan)
    for k, i in enumerate(idx):
        if i < 0:
            continue
        ok = (g_c[:, k] > 0) & (pred.conf[:, i] > 0) & (pred.conf[:, i] >= min_conf)
        d = np.linalg.norm(pred.xy[:, i].astype(np.float64) - g_xy[:, k].astype(np.float64), axis=-1)
        out[:, k] = np.where(ok, d, np.nan)
    return out


def group_errors(errors: np.ndarray, names: Sequence[str] = KEYPOINT_NAMES,
                 groups: dict[str, tuple[str, ...]] = JOINT_GROUPS) -> dict[str, float]:
    """Mean error per group (NaN-aware) plus ``"limbs12"`` and ``"all"``.

    Args:
        errors: (N, K) from :func:`keypoint_errors`, columns named by ``names``.
    """
    e = np.asarray(errors, np.float64)
    out = {}
    for g, members in {**groups, "limbs12": LIMB_JOINTS}.items():
        cols = [names.index(m) for m in members if m in names]
        vals = e[:, cols]
        out[g] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    out["all"] = float(np.nanmean(e)) if np.isfinite(e).any() else float("nan")
    return out


CLOTHES_PALETTE: dict[str, tuple[int, int, int]] = {
    "skin": (224, 172, 140),
    "shirt": (40, 90, 170),
    "trousers": (60, 60, 66),
    "shoes": (120, 70, 40),
}
"""Default colours of :func:`clothed_vertex_colors`."""


def clothed_vertex_colors(vertex_parts: np.ndarray, part_names: Sequence[str],
                          palette: dict[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    """Per-vertex colours that dress a body: skin head/neck/forearms/hands, shirt torso/upper arms,
    trousers thighs/shins, shoes feet (a short-sleeved "clothed" look for detector checks).

    Args:
        vertex_parts: (V,) int labels indexing ``part_names`` (``BodyModel.vertex_parts()``).

    Returns:
        (V, 3) uint8.
    """
    pal = {**CLOTHES_PALETTE, **(palette or {})}
    garment = {"head": "skin", "neck": "skin", "torso": "shirt", "upper_arm": "shirt", "forearm": "skin",
               "hand": "skin", "thigh": "trousers", "shin": "trousers", "foot": "shoes"}
    table = np.zeros((len(part_names), 3), np.uint8)
    for i, name in enumerate(part_names):
        key = name.replace("left_", "").replace("right_", "")
        table[i] = pal[garment.get(key, "skin")]
    labels = np.asarray(vertex_parts.detach().cpu().numpy() if hasattr(vertex_parts, "detach") else vertex_parts)
    return table[labels.astype(np.int64)]
