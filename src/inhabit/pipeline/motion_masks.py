"""Human and object masks of every frame, and where the difference segmenter's backgrounds come from.

The default segmenter (:class:`~inhabit.perceive.segment.BackgroundDifferenceSegmenter`) compares
each frame with the static scene *rendered from that frame's camera*, but the camera is what the
tracker estimates from the masks. The job breaks the loop with a cheap camera pre-pass, frame by
frame: render the background from the previous camera, segment, track the camera on the static
mask so far (Eq. 8, the tracker's own :func:`~inhabit.track.camera_track.track_camera`), and, when
the camera moved, render the background again from the new estimate and segment once more. The
reconstruction then tracks the camera again with the final masks; the pre-pass cameras are kept
for diagnostics (``masks.npz``). With ``segment.camera_prepass: false`` every background comes
from the initial camera (right for a static camera, as ZeroHSI assumes for short clips).

SAM2 (a user checkpoint) needs no backgrounds: it is prompted with farthest-point samples of the
rendered frame-0 masks (ZeroHSI §3.2). Any other :class:`~inhabit.perceive.segment.Segmenter` is
called with the frames, those prompts and the initial camera's background.

Frame 0 is the render the clip was made from, so its masks are the render's own (exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inhabit.pipeline.motion_config import SegmentConfig

MOVED_PX = 0.5
"""A camera step that moves the image centre's ray by more than this many pixels re-renders the background."""


@dataclass
class ClipMasks:
    """Masks of a clip.

    Attributes:
        human, object: (T, H, W) bool.
        static: (T, H, W) bool, Eq. 8's aggregated static background.
        T_world_cam: (T, 4, 4) cameras of the pre-pass (the initial camera repeated without one).
        method: which segmenter made them.
    """

    human: np.ndarray
    object: np.ndarray
    static: np.ndarray
    T_world_cam: np.ndarray
    method: str

    def save(self, path) -> None:
        from inhabit.io import write_npz

        write_npz(path, human=self.human, object=self.object, static=self.static, T_world_cam=self.T_world_cam,
                  method=np.array(self.method))

    @staticmethod
    def load(path) -> ClipMasks:
        with np.load(path, allow_pickle=False) as z:
            return ClipMasks(z["human"].astype(bool), z["object"].astype(bool), z["static"].astype(bool),
                             z["T_world_cam"], str(z["method"]))


def choose_segmenter(cfg: SegmentConfig, device: str = "auto"):
    """The configured segmenter: SAM2 (``sam2``; ``auto`` when the package and checkpoint are found)
    or the background-difference one. Returns (segmenter, method name)."""
    import importlib.util
    from pathlib import Path

    from inhabit.perceive.segment import BackgroundDifferenceSegmenter, Sam2Segmenter, default_sam2_checkpoint

    ckpt = cfg.sam2_checkpoint or default_sam2_checkpoint()
    have_sam2 = importlib.util.find_spec("sam2") is not None and Path(ckpt).expanduser().is_file()
    if cfg.method == "sam2" or (cfg.method == "auto" and have_sam2):
        return Sam2Segmenter(ckpt, cfg.sam2_config, device), "sam2"
    return BackgroundDifferenceSegmenter(cfg.difference), "difference"


def pixel_motion(camera, T_a: np.ndarray, T_b: np.ndarray, depth: float = 3.0) -> float:
    """How far (pixels) the point ``depth`` metres ahead on camera a's optical axis moves in the
    image between poses ``T_a`` and ``T_b`` (world -> camera) — a scale for "the camera moved"."""
    from inhabit.camera.pinhole import invert_rigid, project_points_np

    p = invert_rigid(T_a)[:3, :3] @ np.array([0.0, 0.0, depth]) + invert_rigid(T_a)[:3, 3]
    ua, _ = project_points_np(p[None], camera.K, T_a)
    ub, _ = project_points_np(p[None], camera.K, T_b)
    return float(np.linalg.norm(ua - ub))


def segment_clip(frames: np.ndarray, human0: np.ndarray, object0: np.ndarray | None, camera, renderer, segmenter,
                 cfg: SegmentConfig, track_cfg=None, has_object: bool = False) -> ClipMasks:
    """Masks of every frame (see the module docstring).

    Args:
        frames: (T, H, W, 3) uint8, frame 0 = the render.
        human0, object0: (H, W) bool visible human/object of the frame-0 render (object0 None
            without an object).
        camera: the clip's initial :class:`~inhabit.camera.pinhole.Camera`.
        renderer: a :class:`~inhabit.pipeline.motion_render.MotionRenderer` (for backgrounds and
            the pre-pass).
        segmenter: a :class:`~inhabit.perceive.segment.Segmenter`.
        cfg: :class:`SegmentConfig`. track_cfg: the :class:`~inhabit.track.config.TrackConfig`
            whose camera settings the pre-pass uses.
        has_object: whether the clip has an object (its masks stay empty otherwise).
    """
    from inhabit.perceive.segment import BackgroundDifferenceSegmenter, SegmentPrompts
    from inhabit.progress import bar
    from inhabit.track.losses import aggregated_static_masks

    T, H, W = frames.shape[:3]
    T0 = np.asarray(camera.T_cam_world, np.float64)
    cams = np.repeat(np.linalg.inv(T0)[None], T, axis=0)
    obj0 = np.zeros((H, W), bool) if object0 is None else np.asarray(object0, bool)
    if isinstance(segmenter, BackgroundDifferenceSegmenter):
        human, obj, cams = _difference_pass(frames, np.asarray(human0, bool), obj0 if has_object else None, camera,
                                            renderer, segmenter, cfg, track_cfg)
        method = "difference" + (" + camera pre-pass" if cfg.camera_prepass else "")
    else:
        prompts = SegmentPrompts.from_masks(human0, obj0 if has_object and obj0.any() else None, cfg.num_points)
        with bar(1, "segment clip"):
            masks = segmenter.segment(list(frames), prompts, backgrounds=renderer.static(camera))
        human, obj = masks.human.copy(), masks.object.copy()
        method = type(segmenter).__name__
    human[0], obj[0] = human0, obj0
    if not has_object:
        obj[:] = False
    return ClipMasks(human, obj, aggregated_static_masks(human, obj), cams, method)


def _difference_pass(frames, human0, object0, camera, renderer, segmenter, cfg: SegmentConfig, track_cfg):
    """The background-difference segmentation with the camera pre-pass (module docstring)."""
    from inhabit.camera.pinhole import invert_rigid
    from inhabit.progress import bar
    from inhabit.track.camera_track import track_camera, view_subset
    from inhabit.track.config import TrackConfig

    tc = track_cfg or TrackConfig()
    T, H, W = frames.shape[:3]
    human = np.zeros((T, H, W), bool)
    obj = np.zeros((T, H, W), bool)
    human[0] = human0
    if object0 is not None:
        obj[0] = object0
    cams = np.zeros((T, 4, 4))
    T_prev = np.asarray(camera.T_cam_world, np.float64)
    cams[0] = invert_rigid(T_prev)
    ever = human0 | obj[0]
    prev_h, prev_o = human0, (obj[0] if object0 is not None else None)
    dtype, device = renderer.dtype, renderer.device
    with bar(T - 1, "segment frames") as pb:
        for t in range(1, T):
            prob = segmenter.masker.mask(frames[t])
            bg = renderer.static(camera, T_prev)
            h, o = segmenter.split(frames[t], bg, prob, prev_h, prev_o)
            T_t = T_prev
            if cfg.camera_prepass and tc.camera_iters > 0:
                static = ~(ever | h | o)
                Tp = torch.as_tensor(T_prev, dtype=dtype, device=device)
                scene = renderer.scene.subset(view_subset(renderer.scene, camera, Tp, tc.scene_cull_margin))
                img = torch.as_tensor(frames[t], device=device).to(dtype) / 255.0
                step = track_camera(scene, camera, Tp, img, torch.as_tensor(static, device=device), tc,
                                    renderer.splatter, renderer.background)
                T_t = step.T_cam_world.detach().cpu().numpy().astype(np.float64)
                if pixel_motion(camera, T_prev, T_t) > MOVED_PX:
                    h, o = segmenter.split(frames[t], renderer.static(camera, T_t), prob, prev_h, prev_o)
            human[t], obj[t] = h, o
            if object0 is None:
                obj[t] = False
            ever |= human[t] | obj[t]
            prev_h = h if h.any() else prev_h
            prev_o = (o if o.any() else prev_o) if object0 is not None else None
            cams[t] = invert_rigid(T_t)
            T_prev = T_t
            pb.update(1)
    return human, obj, cams


def mask_sheet(frames: np.ndarray, masks: ClipMasks, indices, tile: int) -> np.ndarray:
    """A sheet of frames with the human (magenta) and object (cyan) masks and the static-background
    mask's complement (grey) drawn over them."""
    from inhabit.export.figures import grid_sheet
    from inhabit.render.draw import draw_mask

    cells, labels = [], []
    for t in indices:
        img = draw_mask(frames[t], ~masks.static[t], color=(90, 90, 90), alpha=0.35)
        img = draw_mask(img, masks.human[t], color=(255, 40, 200), alpha=0.45)
        if masks.object[t].any():
            img = draw_mask(img, masks.object[t], color=(40, 220, 255), alpha=0.45)
        cells.append(img)
        labels.append(f"frame {t}")
    return grid_sheet([cells], [labels], tile)


__all__ = ["MOVED_PX", "ClipMasks", "choose_segmenter", "mask_sheet", "pixel_motion", "segment_clip"]
