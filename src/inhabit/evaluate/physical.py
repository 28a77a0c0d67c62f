"""Physical plausibility: collision, contact, penetration, foot sliding, hand-object contact.

Every function is pure: it takes signed distances (or an SDF *callable* plus points) and returns
numbers. Signed distances follow the scene convention: metres, **negative inside** the geometry.

An SDF callable maps world points ``(N, 3)`` (a float32 torch tensor) to ``(N,)`` signed distances
(tensor or array), e.g. ``inhabit.scene.sdf.LocalSDFGrid`` or
``lambda p: mesh_signed_distance(V, F, p)``; :func:`sdf_values` evaluates one on any array of points.

Sources of the definitions (details in ``docs/evaluation.md``):

* GenZI §4 / authors' code: non-collision = fraction of body vertices with ``s >= 0``, contact = 1 if
  any vertex has ``s <= 0``, threshold 0 for both, averaged over results.
* ZeroHSI §4 following DIMOS (Zhao et al. 2023): ``Pene_%scene`` = percentage of body vertices inside
  the scene, ``Pene_mean`` / ``Pene_max`` = mean / max over frames of the per-frame sum of penetration
  depths; we also give the per-vertex depths (mean over penetrating vertices, deepest vertex).
* ZeroHSI foot sliding "adapted from NeMF": NeMF's foot-skating score (:func:`foot_sliding`).
* ZeroHSI hand-object contact ratio and object penetration "from CHOIS" (:func:`hand_object_contact_ratio`,
  :func:`body_object_penetration`), plus the object's own penetration into the scene.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from inhabit.evaluate._arrays import as_np

SDF = Callable[[Any], Any]
"""(N, 3) world points (float32 torch tensor) -> (N,) signed distances, metres, negative inside."""

FOOT_JOINTS = ("left_ankle", "left_foot", "right_ankle", "right_foot")
"""The four foot joints of NeMF's foot-skating score (SMPL-X body joint names)."""
NEMF_HEIGHT_THRESHOLDS = (0.08, 0.04, 0.08, 0.04)
"""NeMF's contact heights, metres: ankles 8 cm, toes (``*_foot`` joints) 4 cm."""


# --------------------------------------------------------------------------------------------
# Evaluating an SDF


def sdf_values(sdf: SDF, points: Any, chunk: int = 1 << 18) -> np.ndarray:
    """Signed distances of any array of points, evaluated in chunks without gradients.

    Args:
        sdf: the SDF callable (see the module docstring).
        points: (..., 3) world points, metres.
        chunk: points per call (bounds memory for dense grids).

    Returns:
        (...) float64 signed distances.

    Raises:
        ValueError: when the SDF returns the wrong number of values or non-finite values.
    """
    import torch

    p = as_np(points, np.float32)
    if p.shape[-1] != 3:
        raise ValueError(f"points has shape {p.shape}, expected (..., 3)")
    flat = p.reshape(-1, 3)
    out = np.empty(len(flat), np.float64)
    with torch.no_grad():
        for i in range(0, len(flat), chunk):
            q = torch.from_numpy(np.ascontiguousarray(flat[i:i + chunk]))
            s = as_np(sdf(q)).reshape(-1)
            if s.shape[0] != q.shape[0]:
                raise ValueError(f"the SDF returned {s.shape[0]} values for {q.shape[0]} points")
            out[i:i + len(q)] = s
    if not np.all(np.isfinite(out)):
        raise ValueError(f"the SDF returned non-finite values for {int((~np.isfinite(out)).sum())} points")
    return out.reshape(p.shape[:-1])


def support_height(
    sdf: SDF,
    points: Any,
    up: Any = (0.0, 0.0, 1.0),
    max_dist: float = 1.0,
    eps: float = 1e-4,
    min_step: float = 1e-3,
    max_forced_step: float = 0.02,
    max_steps: int = 128,
    bisections: int = 12,
) -> np.ndarray:
    """Height of each point above the scene surface straight below it, by sphere tracing the SDF.

    From ``p`` march along ``-up`` by ``s(x)`` until ``s(x) < eps``; the distance travelled is the
    height. Sphere tracing never overshoots a true SDF, so a wall beside the foot does not count as
    the ground (unlike ``s(p)`` itself, which is the distance to the nearest surface in any
    direction). Beside a vertical wall ``s`` stays tiny and plain sphere tracing crawls; so within
    ``max_forced_step`` of a surface the step is forced to at least ``min_step``, doubling (up to
    ``max_forced_step``) at each step, and a forced step that ends inside the geometry is refined by
    ``bisections`` halvings
    (error <= ``max_forced_step / 2^bisections``, 5 µm by default). A forced step could jump over a
    sheet thinner than ``max_forced_step``.

    Args:
        sdf: SDF callable.
        points: (N, 3) world points.
        up: (3,) world up (+Z).
        max_dist: give up after this distance (the point is then ``inf`` high: no support).
        eps: hit tolerance, metres.
        min_step, max_forced_step: bounds of the forced step near walls, metres.
        max_steps: a ray still marching after this many steps returns the distance travelled plus
            its current SDF value.

    Returns:
        (N,) heights, metres (``inf`` where nothing is below within ``max_dist``); a point inside
        (or within ``eps`` of) the geometry gets its own SDF value.
    """
    p = as_np(points).reshape(-1, 3)
    d = -as_np(up).reshape(3)
    d = d / np.linalg.norm(d)
    s0 = sdf_values(sdf, p)
    n = len(p)
    t = np.zeros(n)  # distance marched (the last point known to be outside)
    s = s0.copy()  # SDF at p + t d
    floor = np.full(n, float(min_step))
    hi = np.full(n, np.nan)  # bisecting rays: a point known to be inside, else NaN
    halvings = np.zeros(n, int)
    active = s0 >= eps
    # One SDF call per iteration serves every ray, marching or bisecting, so the cost is about
    # max(steps) + bisections calls however many rays need refinement.
    for _ in range(max_steps + bisections):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        bis = ~np.isnan(hi[idx])
        step = np.maximum(s[idx], floor[idx])
        sample = np.where(bis, 0.5 * (t[idx] + hi[idx]), t[idx] + step)
        s_new = sdf_values(sdf, p[idx] + sample[:, None] * d)
        inside = s_new < 0.0  # for a marching ray, only a forced step can end inside a true SDF
        # bisecting rays: shrink [t, hi]; finish after `bisections` halvings
        bi = idx[bis]
        hi[bi] = np.where(inside[bis], sample[bis], hi[bi])
        t[bi] = np.where(inside[bis], t[bi], sample[bis])
        s[bi] = np.where(inside[bis], s[bi], s_new[bis])
        halvings[bi] += 1
        done_bis = bi[halvings[bi] >= bisections]
        t[done_bis] = 0.5 * (t[done_bis] + hi[done_bis])
        s[done_bis] = 0.0
        active[done_bis] = False
        # marching rays that stepped inside start bisecting; the others advance
        mi, m_in, m_new = idx[~bis], inside[~bis], s_new[~bis]
        hi[mi[m_in]] = sample[~bis][m_in]
        adv = mi[~m_in]
        t[adv], s[adv] = sample[~bis][~m_in], m_new[~m_in]
        # near a surface (s < max_forced_step) the forced step grows; in open space it resets
        floor[adv] = np.where(s[adv] < max_forced_step, np.minimum(2.0 * floor[adv], max_forced_step), min_step)
        far = adv[t[adv] > max_dist]
        t[far] = np.inf
        active[far] = False
        active[adv[(s[adv] < eps) & np.isfinite(t[adv])]] = False
    height = np.where(np.isfinite(t), t + np.maximum(s, 0.0), np.inf)
    return np.where(s0 < eps, s0, height)


# --------------------------------------------------------------------------------------------
# GenZI: static bodies


def non_collision(sdf_vals: Any, threshold: float = 0.0) -> np.ndarray:
    """GenZI's non-collision score: the fraction of body vertices with ``s >= threshold``.

    Args:
        sdf_vals: (..., V) signed distances of the body vertices to the scene.
        threshold: metres (GenZI evaluates with 0).

    Returns:
        (...) fractions in [0, 1] (1 = no vertex inside the scene).
    """
    s = as_np(sdf_vals)
    return (s >= threshold).mean(axis=-1)


def contact(sdf_vals: Any, threshold: float = 0.0) -> np.ndarray:
    """GenZI's contact score: 1 if any body vertex has ``s <= threshold``, else 0.

    Args:
        sdf_vals: (..., V) signed distances; threshold: metres (GenZI: 0).

    Returns:
        (...) values in {0, 1}.
    """
    s = as_np(sdf_vals)
    return (s <= threshold).any(axis=-1).astype(np.float64)


# --------------------------------------------------------------------------------------------
# ZeroHSI: sequences


def penetration_stats(sdf_vals: Any, tolerance: float = 0.0) -> dict[str, float]:
    """Scene penetration of a body sequence (ZeroHSI, following DIMOS).

    With ``d_{t,v} = max(-s_{t,v} - tolerance, 0)`` clipped to penetrating vertices
    (``s < -tolerance``) and depth ``-s`` counted in full:

    * ``pene_pct``: ``100/T sum_t #{v: s_{t,v} < -tol} / V`` — percentage of vertices inside;
    * ``pene_mean``: ``1/T sum_t sum_v depth_{t,v}`` — DIMOS's mean per-frame summed depth (m);
    * ``pene_max``: ``max_t sum_v depth_{t,v}`` — DIMOS's worst frame (m);
    * ``depth_mean``: mean depth over the penetrating vertices of all frames, 0 if none (m);
    * ``depth_max``: the deepest vertex over the sequence (m).

    Args:
        sdf_vals: (T, V) signed distances of the body vertices (a single body: (1, V)).
        tolerance: metres; vertices less deep than this do not count.
    """
    s = as_np(sdf_vals)
    if s.ndim == 1:
        s = s[None]
    if s.ndim != 2 or s.size == 0:
        raise ValueError(f"sdf_vals has shape {s.shape}, expected (T, V)")
    inside = s < -tolerance
    depth = np.where(inside, -s, 0.0)
    per_frame = depth.sum(axis=1)
    return {
        "pene_pct": float(100.0 * inside.mean()),
        "pene_mean": float(per_frame.mean()),
        "pene_max": float(per_frame.max()),
        "depth_mean": float(depth[inside].mean()) if inside.any() else 0.0,
        "depth_max": float(depth.max()),
    }


def nemf_velocity(positions: Any, fps: float) -> np.ndarray:
    """Velocity by NeMF's finite differences: forward at the first frame, backward at the last,
    central in between. positions: (T, ..., 3) with T >= 2 -> (T, ..., 3) in units per second."""
    x = as_np(positions)
    if x.shape[0] < 2:
        raise ValueError(f"velocity needs at least 2 frames, got {x.shape[0]}")
    dt = 1.0 / float(fps)
    v = np.empty_like(x)
    v[0] = (x[1] - x[0]) / dt
    v[-1] = (x[-1] - x[-2]) / dt
    if x.shape[0] > 2:
        v[1:-1] = (x[2:] - x[:-2]) / (2.0 * dt)
    return v


def foot_sliding(
    foot_positions: Any,
    foot_heights: Any,
    fps: float,
    height_thresholds: Any = NEMF_HEIGHT_THRESHOLDS,
    up_axis: int = 2,
) -> dict[str, float]:
    """NeMF's foot-skating score: horizontal foot speed on frames where the foot is on the ground.

    For each foot joint f (left ankle, left toe, right ankle, right toe) and frame t, with height
    ``h`` above the support, threshold ``H_f`` (8 cm ankles, 4 cm toes) and horizontal velocity
    ``v_xy`` (NeMF's finite differences, :func:`nemf_velocity`):

    ``s_{t,f} = |v_xy| dt * (2 - 2^{clip(h/H_f, 0, 1)})`` if ``h < H_f`` (contact), else 0;
    ``FS = 100 * mean_{t,f} s_{t,f}``.

    The weight is 1 on the ground and falls to 0 at the threshold, so a lifting foot is forgiven.
    The **contact rule** is the height test alone (NeMF); a foot inside the support (``h < 0``)
    counts with weight 1.

    Args:
        foot_positions: (T, F, 3) world positions of the foot joints (F = 4 in NeMF's order).
        foot_heights: (T, F) height of each joint above its support (``z - floor`` or
            :func:`support_height`), metres.
        fps: frames per second.
        height_thresholds: (F,) contact heights, metres.
        up_axis: index of the world up axis (2 for +Z); the other two axes are horizontal.

    Returns:
        ``foot_sliding`` in **cm per frame** at the sequence's frame rate (NeMF's unit) and
        ``foot_sliding_cm_s`` = the same times fps (cm per second, comparable across frame rates),
        and ``foot_contact_ratio`` = fraction of (frame, joint) pairs in contact.
    """
    x = as_np(foot_positions)
    h = as_np(foot_heights)
    H = as_np(height_thresholds).reshape(-1)
    if x.ndim != 3 or x.shape[-1] != 3 or h.shape != x.shape[:2] or H.shape[0] != x.shape[1]:
        raise ValueError(
            f"foot_positions {x.shape}, foot_heights {h.shape} and height_thresholds {H.shape} disagree; "
            "expected (T, F, 3), (T, F) and (F,)"
        )
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    horizontal = [i for i in range(3) if i != up_axis]
    v = nemf_velocity(x, fps)[..., horizontal]
    disp = np.linalg.norm(v, axis=-1) / float(fps)  # metres per frame
    in_contact = h < H
    weight = 2.0 - np.power(2.0, np.clip(h / H, 0.0, 1.0))
    s = np.where(in_contact, disp * weight, 0.0)
    fs = 100.0 * float(s.mean())
    return {"foot_sliding": fs, "foot_sliding_cm_s": fs * float(fps), "foot_contact_ratio": float(in_contact.mean())}


def to_object_frame(points_world: Any, T_world_object: Any) -> np.ndarray:
    """Express world points in each frame's object frame.

    Args:
        points_world: (T, N, 3); T_world_object: (T, 4, 4) object pose per frame.

    Returns:
        (T, N, 3) ``R^T (p - t)``.
    """
    p = as_np(points_world)
    T = as_np(T_world_object)
    R, t = T[:, :3, :3], T[:, :3, 3]
    return np.einsum("tji,tnj->tni", R, p - t[:, None, :])


def hand_object_contact_ratio(hand_object_sdf: Any, threshold: float = 0.05) -> dict[str, float]:
    """CHOIS / ZeroHSI hand-object contact ratio: fraction of frames in which a hand touches the object.

    A frame is in contact when any hand vertex is within ``threshold`` of the object surface or
    inside it: ``min_v s_{t,v} <= threshold``.

    Args:
        hand_object_sdf: (T, H) signed distances of the hand vertices to the object (metres).
        threshold: metres (CHOIS uses 5 cm on hand joints; we apply it to hand vertices, the points
            ZeroHSI's contact loss uses).

    Returns:
        ``contact_ratio`` in [0, 1] and ``hand_object_distance`` = mean over frames of the closest
        hand vertex's signed distance (m).
    """
    s = as_np(hand_object_sdf)
    if s.ndim != 2 or s.shape[1] == 0:
        raise ValueError(f"hand_object_sdf has shape {s.shape}, expected (T, H) with H >= 1")
    closest = s.min(axis=1)
    return {"contact_ratio": float((closest <= threshold).mean()), "hand_object_distance": float(closest.mean())}


def body_object_penetration(body_object_sdf: Any, min_depth: float = 0.0) -> dict[str, float]:
    """How deep the body enters the moving object (the ``Pene_obj`` of ZeroHSI, after CHOIS).

    Per frame, the mean depth ``-s`` of the body vertices inside the object deeper than ``min_depth``
    (0 when none); ``pene_obj`` is its mean over all frames, ``pene_obj_max`` the deepest vertex.

    Args:
        body_object_sdf: (T, V) signed distances of the body vertices to the object, metres.
        min_depth: metres (CHOIS ignores penetrations shallower than 4 cm; we count all by default).
    """
    s = as_np(body_object_sdf)
    if s.ndim != 2:
        raise ValueError(f"body_object_sdf has shape {s.shape}, expected (T, V)")
    inside = s < -min_depth
    n = inside.sum(axis=1)
    per_frame = np.where(n > 0, np.where(inside, -s, 0.0).sum(axis=1) / np.maximum(n, 1), 0.0)
    return {
        "pene_obj": float(per_frame.mean()),
        "pene_obj_max": float(np.where(inside, -s, 0.0).max(initial=0.0)),
        "pene_obj_frames": float((n > 0).mean()),
    }


def hand_vertex_mask(vertices: Any, wrist: Any, elbow: Any, radius: float = 0.25) -> np.ndarray:
    """Vertices of one hand found geometrically, for meshes whose part labels are unknown.

    A vertex belongs to the hand when it lies beyond the wrist along the forearm direction and
    within ``radius`` of the wrist: ``(v - w) . (w - e) / |w - e| > 0`` and ``|v - w| < radius``.

    Args:
        vertices: (V, 3) one body in any pose; wrist, elbow: (3,) joint positions.
        radius: metres (a hand is ~19 cm long).

    Returns:
        (V,) bool.
    """
    v = as_np(vertices)
    w = as_np(wrist).reshape(3)
    e = as_np(elbow).reshape(3)
    axis = (w - e) / max(np.linalg.norm(w - e), 1e-9)
    rel = v - w
    return (rel @ axis > 0.0) & (np.linalg.norm(rel, axis=1) < radius)
