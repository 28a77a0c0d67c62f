"""Camera tracking (§3.3): the relative camera transform of frame t from the static background.

``T_* = argmin_T L2(R(G_S(T); T_{t−1}) ⊙ M_t, I_t ⊙ M_t)`` with ``M_t`` the aggregated static mask
(Eq. 8); only the scene's Gaussians are rendered. The delta is parameterised in the camera's frame
(:mod:`inhabit.track.delta`), 30 Adam iterations at lr 1e-3 (C.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from inhabit.scene.gaussians import GaussianSet
from inhabit.track.config import TrackConfig
from inhabit.track.delta import apply_camera_delta
from inhabit.track.losses import masked_l2

MIN_STATIC_FRACTION = 0.02
"""With less static background than this fraction of the image, the camera keeps its last pose."""


@dataclass
class CameraStep:
    """Result of one frame's camera step.

    Attributes:
        T_cam_world: (4, 4) the new world -> camera (detached).
        loss_first, loss_best: masked L2 at the previous pose and at the returned one.
        iters: iterations run.
        skipped: True when the static background was too small to track (pose kept).
    """

    T_cam_world: torch.Tensor
    loss_first: float
    loss_best: float
    iters: int
    skipped: bool = False


def view_subset(gaussians: GaussianSet, camera, T_cam_world: torch.Tensor, margin: float = 0.15,
                near: float = 0.01) -> torch.Tensor:
    """Indices of the Gaussians whose centres project inside the image grown by ``margin`` × size.

    Used once per frame to drop the scene Gaussians that a small camera motion cannot bring into
    view (the splatter would cull them at every iteration anyway, after projecting them all).
    Gaussians wider than the margin whose centres lie outside can be lost at the image border;
    the margin (15 % by default) is far beyond a frame-to-frame camera motion.

    Args:
        gaussians: N Gaussians (world). camera: for K and size. T_cam_world: (4, 4).

    Returns:
        (M,) long indices.
    """
    with torch.no_grad():
        T = T_cam_world.to(gaussians.means)
        pc = gaussians.means @ T[:3, :3].T + T[:3, 3]
        z = pc[:, 2]
        K = torch.as_tensor(np.asarray(camera.K), dtype=pc.dtype, device=pc.device)
        zc = z.clamp_min(1e-6)
        u = K[0, 0] * pc[:, 0] / zc + K[0, 2]
        v = K[1, 1] * pc[:, 1] / zc + K[1, 2]
        W, H = float(camera.width), float(camera.height)
        keep = (z > near) & (u > -margin * W) & (u < (1 + margin) * W) & (v > -margin * H) & (v < (1 + margin) * H)
        return torch.nonzero(keep).flatten()


def downscale_image(img: torch.Tensor, k: int) -> torch.Tensor:
    """(H, W, C) -> (H // k, W // k, C) box filter (rows/columns past a multiple of k dropped)."""
    if k == 1:
        return img
    H, W = img.shape[0] // k * k, img.shape[1] // k * k
    x = img[:H, :W].permute(2, 0, 1)[None]
    return F.avg_pool2d(x, k)[0].permute(1, 2, 0)


def downscale_mask(mask: torch.Tensor, k: int) -> torch.Tensor:
    """(H, W) bool -> (H // k, W // k) bool, True only where every covered pixel is True (a
    conservative static mask: a coarse pixel touching the person is not static)."""
    if k == 1:
        return mask
    H, W = mask.shape[0] // k * k, mask.shape[1] // k * k
    m = (~mask[:H, :W]).to(torch.float32)[None, None]
    return F.max_pool2d(m, k)[0, 0] < 0.5


MIN_TRACK_SIDE = 128
"""``camera_downscale`` never takes the tracked image's longer side below this many pixels."""


def effective_downscale(k: int, width: int, height: int) -> int:
    """The downscale actually used: ``k`` limited so the longer side stays ≥ :data:`MIN_TRACK_SIDE`
    (a sub-pixel camera motion needs pixels to be seen)."""
    return max(1, min(int(k), max(width, height) // MIN_TRACK_SIDE))


def track_camera(scene: GaussianSet, camera, T_cam_world_prev: torch.Tensor, frame: torch.Tensor,
                 static_mask: torch.Tensor, cfg: TrackConfig, splatter, background: torch.Tensor | None = None
                 ) -> CameraStep:
    """One frame of camera tracking.

    Args:
        scene: the scene Gaussians (world frame), ideally already :func:`view_subset`-culled.
        camera: :class:`~inhabit.camera.pinhole.Camera` of the frames (K, size).
        T_cam_world_prev: (4, 4) frame t − 1's world -> camera.
        frame: (H, W, 3) float frame t in [0, 1].
        static_mask: (H, W) bool ``M_t``.
        cfg: ``camera_iters``, ``camera_lr``, ``camera_downscale`` (see :func:`effective_downscale`),
            ``keep_best``. (No early stopping: 30 Adam steps of 1e-3 are about what a sub-pixel motion
            needs, and stopping on a plateau of this noisy loss stopped short in tests.)
        splatter: a :class:`~inhabit.render.splat.Splatter`.
        background: (3,) splatter background.

    Returns:
        :class:`CameraStep`.
    """
    dtype, device = scene.dtype, scene.device
    T_prev = T_cam_world_prev.detach().to(dtype=dtype, device=device)
    k = effective_downscale(cfg.camera_downscale, camera.width, camera.height)
    cam = camera.resized(camera.width // k, camera.height // k) if k > 1 else camera
    target = downscale_image(frame.to(dtype=dtype, device=device), k)
    mask = downscale_mask(static_mask.to(device=device), k)
    if float(mask.float().mean()) < MIN_STATIC_FRACTION or cfg.camera_iters == 0:
        return CameraStep(T_prev, float("nan"), float("nan"), 0, skipped=True)
    rotvec = torch.zeros(3, dtype=dtype, device=device, requires_grad=True)
    transl = torch.zeros(3, dtype=dtype, device=device, requires_grad=True)
    opt = torch.optim.Adam([rotvec, transl], lr=cfg.camera_lr)
    best_loss, best = float("inf"), (rotvec.detach().clone(), transl.detach().clone())
    first = float("nan")
    it = 0
    # The loss at iteration i belongs to the parameters *before* step i, so after the loop one more
    # evaluation would be needed for the last step; we keep the best evaluated iterate instead.
    for it in range(cfg.camera_iters):
        opt.zero_grad(set_to_none=True)
        T = apply_camera_delta(T_prev, rotvec, transl)
        out = splatter.render(scene, cam, T_cam_world=T, background=background)
        loss = masked_l2(out.rgb, target, mask)
        lv = float(loss.detach())
        if it == 0:
            first = lv
        if not np.isfinite(lv):
            break
        if lv < best_loss:
            best_loss, best = lv, (rotvec.detach().clone(), transl.detach().clone())
        loss.backward()
        opt.step()
    if cfg.keep_best:
        rv, tr = best
    else:
        rv, tr = rotvec.detach(), transl.detach()
    if not (torch.isfinite(rv).all() and torch.isfinite(tr).all()):
        return CameraStep(T_prev, first, float("nan"), it + 1, skipped=True)
    T_new = apply_camera_delta(T_prev, rv, tr).detach()
    return CameraStep(T_new, first, best_loss, it + 1)


__all__ = ["MIN_STATIC_FRACTION", "MIN_TRACK_SIDE", "CameraStep", "downscale_image", "downscale_mask", "effective_downscale", "track_camera", "view_subset"]
