"""One frame of the human and object fit (§3.4): Adam on the photometric loss of the composite.

Variables: the human's root translation r_t, global orientation φ_t (6D) and body pose Θ_t
(initialised by the caller: r, φ from frame t − 1, Θ from the keypoint fit), the object's relative
pose (rotation vector + translation, zero at the start; :func:`~inhabit.track.delta.apply_object_delta`)
and, every ``color_every`` steps, the human colour net (appearance drift, D.3).

Loss (Eq. 10, 14): ``L_rgb + λ_center L_center + λ_depth L_depth`` on the render of scene + human +
object, where the object terms use the *seen* part of the object (its Gaussians composited with an
indicator channel, times the transmittance in front of them). The paper minimises L_rgb for the
human and Eq. 14 for the object; one joint loss gives the human the object terms' gradient too
(through occlusion of the object), which at λ = 1e-3 is negligible and saves a second backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from inhabit.body.protocol import BodyParams
from inhabit.scene.gaussians import GaussianSet
from inhabit.track.composite import Crop, Layer, composite_layers, layer_from_splat
from inhabit.track.config import TrackConfig
from inhabit.track.delta import apply_object_delta, camera_center_of
from inhabit.track.losses import center_loss, depth_loss, mask_center, relative_improvement, rgb_loss


@dataclass
class FrameTarget:
    """What frame t's fit compares against.

    Attributes:
        camera: the full-frame :class:`~inhabit.camera.pinhole.Camera` (K, size).
        T_cam_world: (4, 4) frame t's world -> camera (after the camera step).
        image: (H, W, 3) float frame in [0, 1].
        crop: the window optimised.
        object_center: (2,) normalised centre of the frame's object mask, or None (no object or an
            empty mask: the centre term is off).
        object_depth_ref: D_O^0 (metres), or None (depth term off).
        static: the scene layer rendered at ``T_cam_world`` over the *crop* (``composite="layered"``),
            or None.
        scene: the scene Gaussians for ``composite="full"``.
    """

    camera: object
    T_cam_world: torch.Tensor
    image: torch.Tensor
    crop: Crop
    object_center: torch.Tensor | None = None
    object_depth_ref: float | None = None
    static: Layer | None = None
    scene: GaussianSet | None = None


@dataclass
class FrameFit:
    """Result of one frame's fit.

    Attributes:
        params: the fitted body (batch 1, detached).
        object_pose: (4, 4) fitted ``T_world_object`` or None.
        losses: ``total_first``, ``total`` (returned iterate), ``rgb``, ``center``, ``depth``.
        iters: iterations run.
        finite: False when no finite loss was ever reached (the caller keeps frame t − 1's state).
    """

    params: BodyParams
    object_pose: torch.Tensor | None
    losses: dict[str, float] = field(default_factory=dict)
    iters: int = 0
    finite: bool = True


def object_extra(obj_gs: GaussianSet, T_cam_world: torch.Tensor) -> torch.Tensor:
    """(M, 2) per-Gaussian features ``[1, z_cam]`` of the object's Gaussians: composited, they give the
    object's seen weight and weight × depth per pixel (its mask and mean depth, Eq. 11–13)."""
    z = obj_gs.means @ T_cam_world[2, :3].to(obj_gs.means) + T_cam_world[2, 3].to(obj_gs.means)
    return torch.stack([torch.ones_like(z), z], dim=-1)


def render_composite(human_gs: GaussianSet, obj_gs: GaussianSet | None, target: FrameTarget, splatter,
                     background: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Render scene + human + object over the target's crop.

    Returns:
        rgb (h, w, 3) over ``background``; the object's seen weight (h, w) and seen weight × depth
        (h, w), or None twice without an object.
    """
    cam = target.crop.camera(target.camera)
    T = target.T_cam_world
    parts = [human_gs]
    extra = None
    if obj_gs is not None:
        parts.append(obj_gs)
        extra = torch.cat([torch.zeros(len(human_gs), 2, dtype=human_gs.dtype, device=human_gs.device),
                           object_extra(obj_gs, T)], dim=0)
    if mode == "full":
        if target.scene is None:
            raise ValueError("composite='full' needs the scene Gaussians in the frame target")
        dyn = GaussianSet.cat([target.scene, *parts])
        if extra is not None:
            extra = torch.cat([torch.zeros(len(target.scene), 2, dtype=extra.dtype, device=extra.device), extra])
        out = splatter.render(dyn, cam, T_cam_world=T, background=background, extra=extra)
        if extra is None:
            return out.rgb, None, None
        return out.rgb, out.extra[..., 0], out.extra[..., 1]
    if target.static is None:
        raise ValueError("composite='layered' needs the static layer in the frame target")
    dyn = GaussianSet.cat(parts) if len(parts) > 1 else parts[0]
    out = splatter.render(dyn, cam, T_cam_world=T, background=None, extra=extra)
    rgb, vis = composite_layers(target.static, layer_from_splat(out), background)
    if extra is None:
        return rgb, None, None
    return rgb, vis * out.extra[..., 0], vis * out.extra[..., 1]


def human_gaussians(human, body_out, params: BodyParams, cam_center: torch.Tensor,
                    colors: torch.Tensor | None = None, color_grad: bool = True) -> tuple[GaussianSet, torch.Tensor]:
    """The human's Gaussians for a posed body, with colours given or computed.

    With ``colors=None`` this is ``human(params, cam_center, body_out=body_out)`` except that the
    colour net sees the pose and positions *detached* (the fit moves the pose through geometry only;
    the net's gradient goes to its own parameters when ``color_grad``). With ``colors`` (M, 3) the net
    is skipped.

    Returns:
        (Gaussians, colours (M, 3)).
    """
    import roma

    means, R, log_scales = human.bind(body_out.vertices, body_out.faces.long())
    if colors is None:
        with torch.set_grad_enabled(color_grad and torch.is_grad_enabled()):
            colors = human.colors(params.detach(), means[0].detach(), cam_center)
    quats = roma.rotmat_to_unitquat(R[0])
    return GaussianSet(means[0], quats, log_scales[0], human.opacity_logits, colors), colors


def fit_frame(human, body_model, params_init: BodyParams, obj_gaussians: GaussianSet | None,
              T_world_object_prev: torch.Tensor | None, target: FrameTarget, cfg: TrackConfig, splatter,
              color_optimizer: torch.optim.Optimizer | None = None) -> FrameFit:
    """Fit the human (and object) of one frame.

    Args:
        human: a :class:`~inhabit.body.gaussian_human.GaussianHuman` (its colour net is stepped by
            ``color_optimizer`` every ``cfg.color_every`` iterations).
        body_model: the human's body model.
        params_init: (batch 1) the start: root from frame t − 1, pose from the keypoint fit.
        obj_gaussians: the object's Gaussians *in the object frame*, or None.
        T_world_object_prev: (4, 4) frame t − 1's object pose (None without an object).
        target: :class:`FrameTarget`.
        cfg: ``iters``, ``root_only_iters``, ``lr``, ``ssim_lambda``, ``lambda_center``,
            ``lambda_depth``, ``color_every``, ``composite``, ``early_stop_*``, ``keep_best``.
        splatter: a :class:`~inhabit.render.splat.Splatter`.
        color_optimizer: an optimiser over ``human.color_parameters()`` (None: appearance frozen).

    Returns:
        :class:`FrameFit`.
    """
    dtype, device = body_model.dtype, body_model.device
    start = params_init.detach()
    if cfg.iters == 0:
        return FrameFit(start, None if T_world_object_prev is None else T_world_object_prev.detach(), {}, 0, True)
    transl = start.transl.clone().requires_grad_(True)
    orient = start.global_orient.clone().requires_grad_(True)
    pose = start.body_pose.clone().requires_grad_(True)
    shape = start.shape.clone()
    variables = [transl, orient, pose]
    has_obj = obj_gaussians is not None and T_world_object_prev is not None
    if has_obj:
        T_obj_prev = T_world_object_prev.detach().to(dtype=dtype, device=device)
        obj_rv = torch.zeros(3, dtype=dtype, device=device, requires_grad=True)
        obj_t = torch.zeros(3, dtype=dtype, device=device, requires_grad=True)
        variables += [obj_rv, obj_t]
    opt = torch.optim.Adam(variables, lr=cfg.lr)
    bg = torch.as_tensor(cfg.background, dtype=dtype, device=device)
    target_img = target.crop.slice(target.image).to(dtype=dtype, device=device)
    W, H = int(target.camera.width), int(target.camera.height)
    T_cam = target.T_cam_world.detach().to(dtype=dtype, device=device)
    cam_center = camera_center_of(T_cam)
    color_params = human.color_parameters() if color_optimizer is not None else []
    color_every = int(cfg.color_every) if color_optimizer is not None else 0
    held_colors: torch.Tensor | None = None

    def snapshot():
        p = BodyParams(orient.detach().clone(), transl.detach().clone(), pose.detach().clone(), shape)
        o = (obj_rv.detach().clone(), obj_t.detach().clone()) if has_obj else None
        return p, o

    best_loss, best = float("inf"), snapshot()
    first = float("nan")
    last_terms: dict[str, float] = {}
    best_terms: dict[str, float] = {}
    since = 0
    it = -1
    for it in range(cfg.iters):
        opt.zero_grad(set_to_none=True)
        if color_optimizer is not None:
            color_optimizer.zero_grad(set_to_none=True)
        params = BodyParams(orient, transl, pose, shape)
        body_out = body_model(params)
        # The colour net runs only on the iterations whose gradient steps it (every ``color_every``);
        # in between the colours are held (the net changes only at those steps and the pose moves
        # little in 5 steps), which saves its forward and backward on most iterations.
        color_step = color_every > 0 and (it + 1) % color_every == 0
        human_gs, cols = human_gaussians(human, body_out, params, cam_center,
                                         None if (color_step or held_colors is None) else held_colors,
                                         color_grad=color_step)
        held_colors = cols.detach()
        obj_gs = None
        if has_obj:
            T_obj = apply_object_delta(T_obj_prev, obj_rv, obj_t)
            obj_gs = obj_gaussians.transformed(T_obj)
        rgb, w_obj, wz_obj = render_composite(human_gs, obj_gs, target, splatter, bg, cfg.composite)
        l_rgb = rgb_loss(rgb, target_img, cfg.ssim_lambda)
        loss = l_rgb
        terms = {"rgb": float(l_rgb.detach())}
        if has_obj and w_obj is not None:
            mass = w_obj.sum()
            if float(mass.detach()) > 1e-3:
                if target.object_center is not None and cfg.lambda_center > 0:
                    c_hat = mask_center(w_obj, target.crop.offset, (W, H))
                    l_c = center_loss(c_hat, target.object_center)
                    loss = loss + cfg.lambda_center * l_c
                    terms["center"] = float(l_c.detach())
                if target.object_depth_ref is not None and cfg.lambda_depth > 0:
                    d_hat = wz_obj.sum() / mass
                    l_d = depth_loss(d_hat, target.object_depth_ref)
                    loss = loss + cfg.lambda_depth * l_d
                    terms["depth"] = float(l_d.detach())
        lv = float(loss.detach())
        terms["total"] = lv
        if it == 0:
            first = lv
        if not np.isfinite(lv):
            break
        last_terms = terms
        improved = relative_improvement(best_loss, lv) > cfg.early_stop_tol
        if lv < best_loss:
            best_loss, best, best_terms = lv, snapshot(), terms
        since = 0 if improved else since + 1
        if cfg.early_stop_patience and it >= cfg.root_only_iters and since >= cfg.early_stop_patience:
            break
        loss.backward()
        if it < cfg.root_only_iters:
            pose.grad = None  # root-only phase (C.2): the body pose waits
        if not all(v.grad is None or bool(torch.isfinite(v.grad).all()) for v in variables):
            opt.zero_grad(set_to_none=True)  # a non-finite gradient step is skipped
            continue
        opt.step()
        if color_step:
            if all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in color_params):
                color_optimizer.step()
                held_colors = None  # the net changed: re-evaluate at the next iteration
    if not np.isfinite(best_loss):
        return FrameFit(start, T_world_object_prev, {"total_first": first}, it + 1, finite=False)
    if cfg.keep_best:
        params_out, obj_out = best
        terms_out = best_terms
    else:
        params_out, obj_out = snapshot()
        terms_out = last_terms
    T_obj_out = None
    if has_obj:
        with torch.no_grad():
            T_obj_out = apply_object_delta(T_obj_prev, *obj_out).detach()
    losses = {"total_first": first, **terms_out}
    return FrameFit(params_out, T_obj_out, losses, it + 1, finite=True)


__all__ = ["FrameFit", "FrameTarget", "fit_frame", "human_gaussians", "object_extra", "render_composite"]
