"""Per-frame body-pose initialisation from 2D keypoints (ZeroHSI §3.4, "Θ_t from a pose estimator").

ZeroHSI initialises each frame's body pose Θ_t with an off-the-shelf 3D pose estimator
(SMPLer-X [10]). inhabit has no such network without downloads; instead it fits the body to the
frame's detected 2D keypoints (BlazePose by default) *from the frame's tracked camera*, starting at
frame t − 1's state. The energy (normalised image units, u = pixels / max(W, H)):

    E = Σ_j c_j ρ_σ(x̂_j − π(X_j)) / σ² + w_prev · Σ (θ − θ_{t−1})² + w_root · ‖(r − r_{t−1}) / 1 cm‖²
        + w_prior · E_prior(θ)

with ρ Geman-McClure per coordinate (:func:`inhabit.lift.energies.geman_mcclure`), GenZI's 17
pairs by name (:func:`keypoint_pairs`), θ the body pose (SMPL-X-style rotvecs for the
pull), r the root translation. The root moves too (a walking person's pelvis moves ~10 cm between
frames at 10 fps; holding it would bend the legs to reach the keypoints); the photometric fit that
follows starts from this state. A single view leaves depth ambiguous: the pulls to frame t − 1
resolve it towards the previous state.
"""

from __future__ import annotations

import numpy as np
import torch

from inhabit.body.protocol import BodyModel, BodyParams
from inhabit.structures import Keypoints2D
from inhabit.track.config import TrackConfig

GENZI_LIMB_NAMES: tuple[str, ...] = ("left_knee", "right_knee", "left_ankle", "right_ankle", "left_big_toe",
                                     "right_big_toe", "nose", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
"""GenZI's 11 limb pairs (inhabit names): no eyes, ears or heels, whose definitions differ most between
detectors and body-model regressors, and which a single view cannot afford to chase."""


def keypoint_pairs(names, which: str = "genzi"):
    """The matched points of the fit: ``"genzi"`` = GenZI's 17 (6 torso + 11 limb), ``"all"`` = the
    lifting module's defaults (also eyes, ears, heels)."""
    from inhabit.lift.correspondences import TORSO_NAMES, build_correspondences

    if which == "all":
        return build_correspondences(names)
    return build_correspondences(names, torso=TORSO_NAMES, limb=GENZI_LIMB_NAMES)


def usable_keypoints(kp: Keypoints2D, min_conf: float) -> int:
    """Number of keypoints of row 0 with confidence ≥ ``min_conf``."""
    return int((kp.conf[0] >= min_conf).sum())


def fit_pose_to_keypoints(body_model: BodyModel, params: BodyParams, keypoints: Keypoints2D, camera,
                          T_cam_world: torch.Tensor | np.ndarray, cfg: TrackConfig, prior=None,
                          fit_root: bool = True) -> tuple[BodyParams, dict[str, float]]:
    """Fit one frame's body pose (and root) to its 2D keypoints.

    Args:
        body_model: any :class:`BodyModel`.
        params: (batch 1) frame t − 1's body; the start and the target of the pulls.
        keypoints: a :class:`Keypoints2D` with one row (the frame's detection).
        camera: :class:`~inhabit.camera.pinhole.Camera` (K and size).
        T_cam_world: (4, 4) frame t's world -> camera.
        cfg: ``kp_iters``, ``kp_lr``, ``kp_sigma``, ``kp_min_conf``, ``kp_min_points``,
            ``kp_prev_weight``, ``kp_root_weight``, ``kp_prior_weight``.
        prior: a :class:`~inhabit.body.prior.PosePrior` whose ``energy`` takes the body pose as its
            latent (the angle prior); other priors are not used here.
        fit_root: also move the root translation and orientation.

    Returns:
        (params, info) with ``info = {"points": n used, "energy_first", "energy_last", "skipped": 0/1}``;
        the input params (detached copy) when fewer than ``kp_min_points`` keypoints are usable.
    """
    from inhabit.camera.pinhole import project_points
    from inhabit.lift.energies import geman_mcclure
    from inhabit.lift.fastbody import make_subset_forward

    start = params.detach()
    if len(keypoints) != 1:
        raise ValueError(f"fit_pose_to_keypoints takes one frame's keypoints, got {len(keypoints)} rows")
    corr = keypoint_pairs(keypoints.names, cfg.kp_pairs)
    xy, conf = corr.detections(keypoints.xy[0], keypoints.conf[0])
    conf = np.where(conf >= cfg.kp_min_conf, conf, 0.0)
    n_used = int((conf > 0).sum())
    info = {"points": float(n_used), "energy_first": float("nan"), "energy_last": float("nan"), "skipped": 1.0}
    if n_used < cfg.kp_min_points or cfg.kp_iters == 0:
        return start, info
    dtype, device = body_model.dtype, body_model.device
    scale = float(max(camera.width, camera.height))
    obs = torch.as_tensor(xy / scale, dtype=dtype, device=device)
    c = torch.as_tensor(conf, dtype=dtype, device=device)
    K = torch.as_tensor(np.asarray(camera.K), dtype=dtype, device=device)
    T = torch.as_tensor(np.asarray(T_cam_world.detach().cpu() if hasattr(T_cam_world, "detach") else T_cam_world),
                        dtype=dtype, device=device)
    sub = make_subset_forward(body_model)
    empty = torch.zeros(0, dtype=torch.long, device=device)

    def forward(p: BodyParams):
        return sub(p, empty) if sub is not None else body_model(p)

    pose = start.body_pose.clone().requires_grad_(True)
    orient = start.global_orient.clone().requires_grad_(fit_root)
    transl = start.transl.clone().requires_grad_(fit_root)
    variables = [pose] + ([orient, transl] if fit_root else [])
    opt = torch.optim.Adam(variables, lr=cfg.kp_lr)
    with torch.no_grad():
        rv_prev = body_model.body_pose_to_smplx_rotvec(start.body_pose)
    use_prior = prior is not None and cfg.kp_prior_weight > 0 and getattr(prior, "latent_dim", None) == body_model.body_pose_dim \
        and type(prior).__name__ == "AnglePrior"
    best_e, best = float("inf"), None
    for it in range(cfg.kp_iters):
        opt.zero_grad(set_to_none=True)
        p = BodyParams(orient, transl, pose, start.shape)
        out = forward(p)
        pts = corr.body_points(out.keypoints, out.joints)[0]  # (J, 3)
        uv, _z = project_points(pts, K, T)
        res = obs - uv / scale
        e_kp = (c * geman_mcclure(res, cfg.kp_sigma).sum(-1)).sum() / (cfg.kp_sigma**2)
        rv = body_model.body_pose_to_smplx_rotvec(pose)
        e = e_kp + cfg.kp_prev_weight * (rv - rv_prev).square().sum()
        if fit_root:
            # per cm²: the root's pull is about how far it moved, in the unit of a walking step's scale
            e = e + cfg.kp_root_weight * ((transl - start.transl) / 0.01).square().sum()
        if use_prior:
            e = e + cfg.kp_prior_weight * prior.energy(pose).sum()
        ev = float(e.detach())
        if it == 0:
            info["energy_first"] = ev
        if not np.isfinite(ev):
            break
        if ev < best_e:
            best_e = ev
            best = BodyParams(orient.detach().clone(), transl.detach().clone(), pose.detach().clone(),
                              start.shape.clone())
        e.backward()
        opt.step()
    if best is None:
        return start, info
    info.update(energy_last=best_e, skipped=0.0)
    return best, info


__all__ = ["GENZI_LIMB_NAMES", "fit_pose_to_keypoints", "keypoint_pairs", "usable_keypoints"]
