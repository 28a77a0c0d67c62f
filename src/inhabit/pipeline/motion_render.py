"""Rendering a motion state with the splatter: scene + Gaussian human + object, in one pass.

The motion job renders the same composite in several places: the initial frame (what the video
model is conditioned on), the static backgrounds of the segmentation, the reconstruction video and
(for Gaussian scenes) the side view. :class:`MotionRenderer` holds the assets once and renders
everything *together* (one depth sort), like the paper's Eq. 2, with indicator channels so the
visible human and object masks come out of the same render.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inhabit.scene.gaussians import GaussianSet


@dataclass
class RenderedFrame:
    """One render.

    Attributes:
        rgb: (H, W, 3) uint8.
        human: (H, W) bool, where the human is seen (its composited indicator ≥ the threshold).
        object: (H, W) bool, where the object is seen.
        alpha: (H, W) float32 accumulated opacity.
    """

    rgb: np.ndarray
    human: np.ndarray
    object: np.ndarray
    alpha: np.ndarray


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """(H, W, 3) float in [0, 1] -> uint8 (rounded)."""
    return (rgb.detach().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


class MotionRenderer:
    """Renders scene + human + object Gaussians.

    Args:
        scene: the scene's Gaussians (world).
        human: a :class:`~inhabit.body.gaussian_human.GaussianHuman` (or None: scene and object only).
        body_model: the human's body model.
        object_gaussians: the object's Gaussians in its own frame, or None.
        splatter: a :class:`~inhabit.render.splat.Splatter` (default ``get_splatter()``).
        background: RGB in [0, 1] behind everything (must match the tracker's ``background``).
        cull_margin: scene Gaussians projecting further than this fraction of the image outside it
            are dropped before rendering (:func:`~inhabit.track.camera_track.view_subset`); a speed-up
            that changes nothing but splats wider than the margin at the image border.
    """

    def __init__(self, scene: GaussianSet, human, body_model, object_gaussians: GaussianSet | None = None,
                 splatter=None, background=(0.0, 0.0, 0.0), cull_margin: float = 0.3) -> None:
        from inhabit.render.splat import get_splatter

        self.body_model = body_model
        dtype = body_model.dtype if body_model is not None else scene.dtype
        device = body_model.device if body_model is not None else scene.device
        self.scene = scene.to(dtype=dtype, device=device)
        self.human = human
        self.object_gaussians = None if object_gaussians is None else object_gaussians.to(dtype=dtype, device=device)
        self.splatter = splatter or get_splatter(device=device)
        self.background = torch.as_tensor(background, dtype=dtype, device=device)
        self.cull_margin = cull_margin
        self.dtype, self.device = dtype, device

    def _T(self, camera, T_cam_world) -> torch.Tensor:
        T = camera.T_cam_world if T_cam_world is None else T_cam_world
        return torch.as_tensor(np.asarray(T.detach().cpu() if hasattr(T, "detach") else T), dtype=self.dtype,
                               device=self.device)

    def _scene_view(self, camera, T: torch.Tensor) -> GaussianSet:
        from inhabit.track.camera_track import view_subset

        return self.scene.subset(view_subset(self.scene, camera, T, self.cull_margin))

    @torch.no_grad()
    def frame(self, camera, params=None, object_pose=None, T_cam_world=None, mask_threshold: float = 0.5
              ) -> RenderedFrame:
        """Render the scene with the human in ``params`` (batch 1, or None) and the object at
        ``object_pose`` (4, 4) (or None) from ``camera`` (its pose, or ``T_cam_world`` (4, 4))."""
        from inhabit.track.delta import camera_center_of

        T = self._T(camera, T_cam_world)
        scene = self._scene_view(camera, T)
        parts = [scene]
        ex = [torch.zeros(len(scene), 2, dtype=self.dtype, device=self.device)]
        if params is not None and self.human is not None:
            hg = self.human(params.to(device=self.device, dtype=self.dtype), camera_center_of(T))
            parts.append(hg)
            ex.append(torch.tensor([[1.0, 0.0]], dtype=self.dtype, device=self.device).expand(len(hg), 2))
        if object_pose is not None and self.object_gaussians is not None:
            og = self.object_gaussians.transformed(torch.as_tensor(np.asarray(object_pose), dtype=self.dtype,
                                                                   device=self.device))
            parts.append(og)
            ex.append(torch.tensor([[0.0, 1.0]], dtype=self.dtype, device=self.device).expand(len(og), 2))
        out = self.splatter.render(GaussianSet.cat(parts) if len(parts) > 1 else parts[0], camera, T_cam_world=T,
                                   background=self.background, extra=torch.cat(ex))
        extra = out.extra.detach().cpu().numpy()
        return RenderedFrame(to_uint8(out.rgb), extra[..., 0] >= mask_threshold, extra[..., 1] >= mask_threshold,
                             out.alpha.detach().cpu().numpy().astype(np.float32))

    @torch.no_grad()
    def static(self, camera, T_cam_world=None) -> np.ndarray:
        """(H, W, 3) uint8: the scene alone (no human, no object)."""
        T = self._T(camera, T_cam_world)
        out = self.splatter.render(self._scene_view(camera, T), camera, T_cam_world=T, background=self.background)
        return to_uint8(out.rgb)


__all__ = ["MotionRenderer", "RenderedFrame", "to_uint8"]
