"""Where the fit starts (genzi_facts §6.2), and the refinement start from a previous result.

* Translation t0 = ½ (mean camera centre + p): half-way between the interaction point and the
  cameras, so the initial body is in front of the surface and in every view. With cameras given
  explicitly by the user GenZI starts at p itself (``explicit_views=True``).
* Orientation: GenZI's fixed world yaw (R0 = R_z(γ) in inhabit's body frame, which is already
  z-up and faces −Y; γ = −90° faces −X, +90° faces +X), facing the cameras' mean centre, or
  (inhabit's default) the heading the 2D keypoints themselves show (:func:`yaw_from_keypoints`).
* Pose: the prior's initial latent (GenZI: a fixed N(0,1) VPoser sample; AnglePrior: the rest
  pose), or a named pose. Shape: the backend's default. View logits 0 (weights ½).
* Refinement: every body parameter and the latent of a previous :class:`LiftResult`; the view
  logits are re-created at 0 because the views' hypotheses are new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from inhabit.body.protocol import BodyParams
from inhabit.conventions import BODY_FORWARD
from inhabit.rotations import rotmat_to_rotation6d


def initial_translation(camera_centers: np.ndarray, point: np.ndarray, explicit_views: bool = False) -> np.ndarray:
    """t0 = ½ (mean camera centre + p), or p when the views were given explicitly.

    Args:
        camera_centers: (k, 3) world camera centres; point: (3,) interaction point.

    Returns:
        (3,) world position for the pelvis.
    """
    p = np.asarray(point, dtype=np.float64).reshape(3)
    if explicit_views:
        return p
    c = np.asarray(camera_centers, dtype=np.float64).reshape(-1, 3)
    return 0.5 * (c.mean(axis=0) + p)


def yaw_rotmat(yaw_deg: float) -> np.ndarray:
    """(3, 3) rotation by ``yaw_deg`` about world +Z."""
    a = math.radians(yaw_deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def yaw_facing(origin: np.ndarray, target: np.ndarray) -> float:
    """The yaw (degrees) that turns the body's forward (``BODY_FORWARD`` = −Y at yaw 0) toward
    ``target``, horizontally: γ = atan2(d_y, d_x) − atan2(f_y, f_x). Returns 0 when the target is
    straight above or below."""
    d = np.asarray(target, dtype=np.float64) - np.asarray(origin, dtype=np.float64)
    if math.hypot(d[0], d[1]) < 1e-9:
        return 0.0
    g = math.degrees(math.atan2(d[1], d[0]) - math.atan2(BODY_FORWARD[1], BODY_FORWARD[0]))
    return (g + 180.0) % 360.0 - 180.0


def yaw_from_keypoints(xy: np.ndarray, conf: np.ndarray, names, cameras, valid: np.ndarray | None = None,
                       iterations: int = 5) -> float:
    """The body's heading from the left-right layout of its shoulders and hips in the views.

    In view v the image offset of a left point from its right twin is, to first order,
    d_v = (x_L − x_R) / f ≈ u · r_v, where r_v is the camera's right axis in the world and u is the
    body's left direction times (width / depth): a person facing the camera shows their left on
    the image's right. Least squares over views (robustly reweighted, Cauchy, so a mirrored or
    misplaced view does not decide it) gives the horizontal u; the heading is u turned by −90°
    about +Z (inhabit bodies face −Y with their left towards +X).

    Args:
        xy: (k, K, 2) detected pixels of one hypothesis; conf: (k, K); names: K keypoint names.
        cameras: k cameras; valid: (k,) bool views to use (default all).

    Returns:
        Yaw in degrees (0 faces −Y), or NaN when the views do not determine it (fewer than two
        usable left/right pairs, viewing directions that do not span the horizontal plane, or an
        estimate within noise of zero).
    """
    pairs = [("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")]
    idx = {n: i for i, n in enumerate(names)}
    rows, targets, weights = [], [], []
    for v, cam in enumerate(cameras):
        if valid is not None and not valid[v]:
            continue
        r = np.asarray(cam.T_cam_world[0, :3], dtype=np.float64)  # camera x axis in the world
        for a, b in pairs:
            if a not in idx or b not in idx:
                continue
            c = min(float(conf[v, idx[a]]), float(conf[v, idx[b]]))
            if not c > 0 or not np.isfinite(xy[v, [idx[a], idx[b]]]).all():
                continue
            rows.append(r[:2])
            targets.append((xy[v, idx[a], 0] - xy[v, idx[b], 0]) / cam.K[0, 0])
            weights.append(c)
    if len(rows) < 2:
        return float("nan")
    A, d, w0 = np.asarray(rows), np.asarray(targets), np.asarray(weights)
    # One viewing direction (or several parallel ones) sees only one component of u.
    ev = np.linalg.eigvalsh((A * w0[:, None]).T @ A)
    if ev[0] < 1e-2 * ev[1]:
        return float("nan")
    w = w0.copy()
    u = np.zeros(2)
    for _ in range(iterations):
        Aw = A * w[:, None]
        try:
            u = np.linalg.solve(Aw.T @ A + 1e-12 * np.eye(2), Aw.T @ d)
        except np.linalg.LinAlgError:
            return float("nan")
        res = d - A @ u
        scale = max(1.4826 * float(np.median(np.abs(res))), 1e-4)
        w = w0 / (1.0 + (res / (2.0 * scale)) ** 2)
    # A heading needs a left direction clearly above the residual noise.
    if np.linalg.norm(u) < 1e-3 or np.linalg.norm(u) * np.sqrt(len(d)) < 2.0 * np.std(d - A @ u):
        return float("nan")
    forward = np.array([u[1], -u[0]])  # left turned by -90 degrees about +Z
    return yaw_facing(np.zeros(3), np.array([forward[0], forward[1], 0.0]))


@dataclass
class LiftInit:
    """The starting point of a fit, one row per hypothesis (or one row, broadcast to all).

    Attributes:
        global_orient: (H, 6) 6D rotation.
        transl: (H, 3) pelvis position.
        latent: (H, L) pose latent of the prior.
        shape: (H, S).
        refine: True for a refinement start (the fit then uses ``refine_weights``).
    """

    global_orient: torch.Tensor
    transl: torch.Tensor
    latent: torch.Tensor
    shape: torch.Tensor
    refine: bool = False

    def expand(self, H: int) -> LiftInit:
        """Broadcast single rows to H hypotheses (rows already H are kept)."""

        def ex(t: torch.Tensor) -> torch.Tensor:
            t = t.reshape(-1, t.shape[-1])
            if t.shape[0] == H:
                return t
            if t.shape[0] != 1:
                raise ValueError(f"LiftInit has {t.shape[0]} rows, expected 1 or {H}")
            return t.expand(H, -1)

        return LiftInit(ex(self.global_orient), ex(self.transl), ex(self.latent), ex(self.shape), self.refine)


def default_init(model, prior, H: int, camera_centers: np.ndarray, point: np.ndarray, facing: str = "yaw",
                 yaw_deg: float = -90.0, explicit_views: bool = False, init_pose: str | None = None,
                 keypoint_yaws: np.ndarray | None = None) -> LiftInit:
    """GenZI's initialisation for H hypotheses (identical but for the keypoint heading).

    Args:
        model: a :class:`~inhabit.body.protocol.BodyModel`; prior: a ``PosePrior``.
        camera_centers: (k, 3); point: (3,).
        facing: ``"yaw"`` (use ``yaw_deg``), ``"cameras"`` (face the mean camera centre) or
            ``"keypoints"`` (``keypoint_yaws`` per hypothesis; NaN entries face the cameras).
        init_pose: a named pose (``inhabit.body.poses``) to start from instead of the prior's
            initial latent; needs a prior whose latent is the body pose (``encode`` or identity).
        keypoint_yaws: (H,) degrees, from :func:`yaw_from_keypoints`.
    """
    t0 = initial_translation(camera_centers, point, explicit_views)
    toward_cameras = yaw_facing(t0, np.asarray(camera_centers).reshape(-1, 3).mean(axis=0))
    if facing == "cameras":
        yaws = np.full(H, toward_cameras)
    elif facing == "keypoints":
        kyaw = np.full(H, np.nan) if keypoint_yaws is None else np.asarray(keypoint_yaws, dtype=np.float64)
        yaws = np.where(np.isfinite(kyaw), kyaw, toward_cameras)
    else:
        yaws = np.full(H, yaw_deg)
    dtype, device = model.dtype, model.device
    R0 = torch.as_tensor(np.stack([yaw_rotmat(y) for y in yaws]), dtype=dtype, device=device)
    r6 = rotmat_to_rotation6d(R0)
    defaults = model.default_params(H)
    latent = prior.initial_latent(H).to(device=device, dtype=dtype)
    if init_pose is not None:
        latent = _latent_of_named_pose(model, prior, init_pose, H)
    transl = torch.as_tensor(t0, dtype=dtype, device=device).expand(H, 3)
    return LiftInit(r6.clone(), transl.clone(), latent.clone(), defaults.shape.detach().clone())


def _latent_of_named_pose(model, prior, name: str, H: int) -> torch.Tensor:
    from inhabit.body.poses import make_pose
    from inhabit.errors import InputError

    body_pose = make_pose(model, name).body_pose.to(model.dtype)
    encode = getattr(prior, "encode", None)
    if encode is not None:
        z = encode(body_pose)
    elif prior.latent_dim == model.body_pose_dim:
        z = body_pose
    else:
        raise InputError(
            f"lift config field 'init_pose' ({name!r}) needs a pose prior whose latent is the body pose or that "
            f"can encode one; {type(prior).__name__} has neither"
        )
    return z.reshape(1, -1).expand(H, -1).clone()


def init_from_params(params: BodyParams, latent: torch.Tensor) -> LiftInit:
    """Refinement start: a previous fit's parameters and pose latent (view logits restart at 0)."""
    p = params.detach()
    return LiftInit(p.global_orient, p.transl, latent.detach().clone(), p.shape, refine=True)
