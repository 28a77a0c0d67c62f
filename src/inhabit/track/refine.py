"""Sequence refinement (ZeroHSI §3.5, appendix C.4, Algorithm 1 REFINEMENT).

Over the whole clip, Adam (1000 iterations, lr 0.05) on the root translations r_t, orientations φ_t
and pose latents z_t of the prior (VPoser's 32-D code; the angle prior's latent is the pose itself):

    L = 1/T Σ_t L_fit^t + λ_physics L_physics (+ λ_prior · mean_t E_prior(z_t))
    L_fit^t = mean_j ‖J_j(r_t, φ_t, D(z_t)) − Ĵ_j^t‖²            (Eq. 15; Ĵ = the fitted track's joints)
    L_physics = λ_contact · 1/T Σ_t L_contact^t + λ_smooth L_smooth + λ_pen L_pen     (S4)

with the hand-object contact of S1–S2 (:func:`~inhabit.track.losses.hand_object_contact_loss`), the
smoothness of S3 on the decoded body pose, and — beyond the paper, as issue 8 asks — the scene
penetration of a vertex subset in the scene SDF. λ_smooth is 0.3 without and 0.1 with a moving
object (C.4). The prior-energy term is ours: with VPoser the latent space is the prior, with the
angle prior the latent is the pose and only its energy keeps it plausible.

Speed: bodies are evaluated on a vertex subset (hands and a farthest-point subset for the SDF) with
the exact subset forward of :mod:`inhabit.lift.fastbody` when the backend has one.
"""

from __future__ import annotations

import numpy as np
import torch

from inhabit.body.protocol import BodyModel, BodyParams
from inhabit.track.config import TrackConfig
from inhabit.track.losses import hand_object_contact_loss, penetration_loss, smoothness_loss


def _latent_from_pose(prior, body_model: BodyModel, body_pose: torch.Tensor) -> torch.Tensor:
    """The prior latent of each pose: the pose itself when the latent *is* the pose (angle prior), the
    prior's ``encode`` when it has one, else its initial latent (the joint fit then pulls it)."""
    if prior is None:
        return body_pose.clone()
    if getattr(prior, "latent_dim", None) == body_model.body_pose_dim:
        with torch.no_grad():
            dec = prior.decode(body_pose)
        if dec.shape == body_pose.shape and torch.allclose(dec, body_pose):
            return body_pose.clone()
    enc = getattr(prior, "encode", None)
    if enc is not None:
        with torch.no_grad():
            return enc(body_pose).clone()
    return prior.initial_latent(body_pose.shape[0]).to(body_pose)


def _hand_and_sdf_ids(body_model: BodyModel, n_hand: int, n_sdf: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Hand vertex ids (farthest-point subset of each hand, ``n_hand`` per hand) and an SDF subset."""
    from inhabit.lift.selfpen import farthest_point_subset

    with torch.no_grad():
        rest = body_model(body_model.default_params(1)).vertices[0].detach().cpu().numpy()
    hand = np.zeros(0, np.int64)
    parts_fn = getattr(body_model, "vertex_parts", None)
    if parts_fn is not None:
        from inhabit.body.parts import PART_NAMES

        labels = parts_fn().detach().cpu().numpy()
        chosen = []
        for name in ("left_hand", "right_hand"):
            ids = np.flatnonzero(labels == PART_NAMES.index(name))
            if len(ids):
                chosen.append(ids[farthest_point_subset(rest[ids], n_hand)])
        if chosen:
            hand = np.concatenate(chosen)
    sdf = farthest_point_subset(rest, n_sdf)
    dev = body_model.device
    return torch.as_tensor(hand, device=dev), torch.as_tensor(sdf, device=dev)


def refine_motion(track, body_model: BodyModel, prior, cfg: TrackConfig | None = None, scene_sdf=None,
                  object_points: np.ndarray | torch.Tensor | None = None, progress: bool = True):
    """Refine a reconstructed clip (§3.5).

    Args:
        track: a :class:`~inhabit.track.motion.MotionTrack` (its finished frames are refined).
        body_model: the track's body model.
        prior: a :class:`~inhabit.body.prior.PosePrior` (None: the latent is the pose, no energy).
        cfg: ``refine_iters``, ``refine_lr``, ``lambda_physics``, ``lambda_contact``,
            ``lambda_smooth_static`` / ``_dynamic``, ``contact_eps``, ``lambda_penetration``,
            ``refine_prior_weight``, ``refine_keep_first``, ``refine_*_vertices``,
            ``refine_object_points``.
        scene_sdf: callable ``(N, 3) torch -> (N,)`` signed distance (negative inside), or None.
        object_points: (M, 3) the object's particles in the *object frame* (e.g. its Gaussian
            means), or None; needed for the contact term when the track has an object.
        progress: show a progress bar.

    Returns:
        A new track with the refined bodies, ``refined=True`` and per-frame ``refine_fit`` (mean joint
        distance to the reference, m), ``refine_contact`` (S2 per frame) and ``refine_contact_count``.
    """
    from inhabit.track.config import torch_threads

    cfg = cfg or TrackConfig()
    with torch_threads(cfg.threads):
        return _refine(track, body_model, prior, cfg, scene_sdf, object_points, progress)


def _evaluate_body(body_model: BodyModel, params: BodyParams, vertex_ids: torch.Tensor | None):
    """Pose the body with ``vertices`` only at ``vertex_ids`` (exact subset forward when the backend has
    one, else the full forward indexed)."""
    from inhabit.body.protocol import BodyOutput
    from inhabit.lift.fastbody import make_subset_forward

    if vertex_ids is None:
        return body_model(params)
    fast = make_subset_forward(body_model)
    if fast is not None:
        return fast(params, vertex_ids)
    out = body_model(params)
    return BodyOutput(out.vertices[:, vertex_ids], out.joints, out.keypoints, out.faces, out.joint_names,
                      out.keypoint_names)


def _refine(track, body_model, prior, cfg, scene_sdf, object_points, progress):
    from inhabit.progress import bar

    n = track.num_done
    out = track.copy()
    if n < 1 or cfg.refine_iters == 0:
        out.refined = True
        return out
    dtype, device = body_model.dtype, body_model.device
    ref_params = track.params.index(slice(0, n)).to(device=device, dtype=dtype)
    with torch.no_grad():
        J_ref = body_model(ref_params).joints.detach()

    has_obj = track.object_pose is not None and object_points is not None and cfg.lambda_contact > 0
    hand_ids, sdf_ids = _hand_and_sdf_ids(body_model, cfg.refine_hand_vertices, cfg.refine_sdf_vertices)
    use_sdf = scene_sdf is not None and cfg.lambda_penetration > 0
    use_hand = has_obj and hand_ids.numel() > 0
    ids = torch.cat([hand_ids if use_hand else hand_ids[:0], sdf_ids if use_sdf else sdf_ids[:0]])
    n_hand = int(hand_ids.numel()) if use_hand else 0
    obj_world = None
    if use_hand:
        P = torch.as_tensor(np.asarray(object_points.detach().cpu() if hasattr(object_points, "detach") else object_points),
                            dtype=dtype, device=device).reshape(-1, 3)
        if len(P) > cfg.refine_object_points:
            P = P[torch.linspace(0, len(P) - 1, cfg.refine_object_points).long()]
        T_o = torch.as_tensor(track.object_pose[:n], dtype=dtype, device=device)
        obj_world = P[None] @ T_o[:, :3, :3].transpose(1, 2) + T_o[:, None, :3, 3]  # (n, M, 3)
    lam_smooth = cfg.lambda_smooth_dynamic if track.object_pose is not None else cfg.lambda_smooth_static

    transl = ref_params.transl.clone().requires_grad_(True)
    orient = ref_params.global_orient.clone().requires_grad_(True)
    z = _latent_from_pose(prior, body_model, ref_params.body_pose).requires_grad_(True)
    shape = ref_params.shape
    opt = torch.optim.Adam([transl, orient, z], lr=cfg.refine_lr)
    sched = None
    if cfg.refine_lr_decay == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.refine_iters), eta_min=0.0)
    frozen = torch.zeros(n, 1, dtype=dtype, device=device)
    if cfg.refine_keep_first and track.status[0] == "init":
        frozen[0] = 1.0
    use_prior_energy = prior is not None and cfg.refine_prior_weight > 0

    def decode(zz):
        return zz if prior is None else prior.decode(zz)

    def losses():
        pose = decode(z)
        params = BodyParams(orient, transl, pose, shape)
        bo = _evaluate_body(body_model, params, ids if ids.numel() else None)
        fit = (bo.joints - J_ref).square().sum(-1).mean(-1)  # (n,)
        phys = lam_smooth * smoothness_loss(pose)
        terms = {"fit": fit}
        if use_hand:
            hand = bo.vertices[:, :n_hand]
            c, count = hand_object_contact_loss(hand, obj_world, cfg.contact_eps)
            phys = phys + cfg.lambda_contact * c.mean()
            terms.update(contact=c, contact_count=count)
        if use_sdf:
            v = bo.vertices[:, n_hand:]
            s = scene_sdf(v.reshape(-1, 3)).reshape(n, -1)
            phys = phys + cfg.lambda_penetration * penetration_loss(s)
        total = fit.mean() + cfg.lambda_physics * phys
        if use_prior_energy:
            total = total + cfg.refine_prior_weight * prior.energy(z).mean()
        return total, terms

    with bar(cfg.refine_iters, "refine motion") if progress else _NullBar() as pb:
        for _ in range(cfg.refine_iters):
            opt.zero_grad(set_to_none=True)
            total, _terms = losses()
            if not torch.isfinite(total):
                break
            total.backward()
            for v in (transl, orient, z):
                if v.grad is not None:
                    v.grad.mul_(1.0 - frozen)
            opt.step()
            if sched is not None:
                sched.step()
            pb.update(1)
    with torch.no_grad():
        _, terms = losses()
        pose = decode(z).detach()
        new = BodyParams(orient.detach(), transl.detach(), pose, shape.detach()).to("cpu")
    if not (torch.isfinite(new.transl).all() and torch.isfinite(new.body_pose).all() and torch.isfinite(new.global_orient).all()):
        from inhabit.errors import OptimizationError

        raise OptimizationError("the motion refinement produced non-finite body parameters; lower refine_lr")
    for name in ("global_orient", "transl", "body_pose", "shape"):
        getattr(out.params, name)[:n] = getattr(new, name).to(getattr(out.params, name).dtype)
    out.set_loss("refine_fit", 0, 0.0)
    out.losses["refine_fit"][:n] = terms["fit"].sqrt().cpu().numpy()
    if "contact" in terms:
        out.set_loss("refine_contact", 0, 0.0)
        out.losses["refine_contact"][:n] = terms["contact"].cpu().numpy()
        out.set_loss("refine_contact_count", 0, 0.0)
        out.losses["refine_contact_count"][:n] = terms["contact_count"].cpu().numpy()
    out.refined = True
    out.meta["refine"] = {"iters": cfg.refine_iters, "lambda_smooth": lam_smooth, "contact": bool(use_hand),
                          "penetration": bool(use_sdf)}
    return out


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        pass


__all__ = ["refine_motion"]
