"""Inputs of the fit as tensors: stacked cameras and per-hypothesis matched 2D observations.

Image units: GenZI divides pixels by the image side S (512) so σ = 0.2 means 20 % of the image.
inhabit divides both coordinates of view v by s_v = max(W_v, H_v): identical for square images,
and isotropic (a residual costs the same along x and y) for non-square ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from inhabit.camera.pinhole import Camera, project_points
from inhabit.errors import InputError
from inhabit.lift.correspondences import Correspondences
from inhabit.structures import Keypoints2D


@dataclass(frozen=True)
class ViewTensors:
    """k cameras as tensors.

    Attributes:
        K: (k, 3, 3) intrinsics, pixels. T_cam_world: (k, 4, 4).
        scale: (k,) s_v = max(W, H) pixels: the normalisation of view v.
        centers: (k, 3) camera centres in the world (numpy, float64).
        names: k camera names.
    """

    K: torch.Tensor
    T_cam_world: torch.Tensor
    scale: torch.Tensor
    centers: np.ndarray
    names: tuple[str, ...]

    @property
    def num_views(self) -> int:
        return int(self.K.shape[0])

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project world points into every view.

        Args:
            points: (H, J, 3) world points.

        Returns:
            xy (H, k, J, 2) in pixels and depth (H, k, J) (camera z). Points behind a camera get
            large but finite pixels (see :func:`inhabit.camera.pinhole.project_points`); the robust
            cost saturates on them, so they neither explode nor attract.
        """
        return project_points(points.unsqueeze(1), self.K.unsqueeze(0), self.T_cam_world.unsqueeze(0))

    def project_normalized(self, points: torch.Tensor) -> torch.Tensor:
        """(H, J, 3) → (H, k, J, 2) projected points in normalised image units (pixels ÷ s_v)."""
        xy, _ = self.project(points)
        return xy / self.scale.view(1, -1, 1, 1)


def stack_cameras(cameras: Sequence[Camera], dtype: torch.dtype = torch.float32,
                  device: torch.device | str = "cpu") -> ViewTensors:
    """Validate and stack cameras.

    Raises:
        InputError: no camera; a camera with non-finite matrices, non-positive focal lengths or
            image size, or extrinsics that are not a rotation + translation.
    """
    if len(cameras) == 0:
        raise InputError("lifting needs at least one camera; the camera list is empty")
    Ks, Ts, scales, centers, names = [], [], [], [], []
    for i, cam in enumerate(cameras):
        label = f"camera {i} ({cam.name})"
        K, T = np.asarray(cam.K, np.float64), np.asarray(cam.T_cam_world, np.float64)
        if not (np.isfinite(K).all() and np.isfinite(T).all()):
            raise InputError(f"{label} has non-finite intrinsics or extrinsics; expected finite K and T_cam_world")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise InputError(f"{label} has focal lengths fx={K[0, 0]}, fy={K[1, 1]}; expected positive values")
        if cam.width <= 0 or cam.height <= 0:
            raise InputError(f"{label} has image size {cam.width}x{cam.height}; expected positive width and height")
        R = T[:3, :3]
        if not (np.allclose(R @ R.T, np.eye(3), atol=1e-3) and np.linalg.det(R) > 0) or not np.allclose(
            T[3], [0, 0, 0, 1], atol=1e-6
        ):
            raise InputError(f"{label}: T_cam_world is not a rotation + translation (a rigid 4x4 transform)")
        Ks.append(K)
        Ts.append(T)
        scales.append(float(max(cam.width, cam.height)))
        centers.append(cam.center)
        names.append(cam.name)
    return ViewTensors(
        K=torch.as_tensor(np.stack(Ks), dtype=dtype, device=device),
        T_cam_world=torch.as_tensor(np.stack(Ts), dtype=dtype, device=device),
        scale=torch.as_tensor(scales, dtype=dtype, device=device),
        centers=np.stack(centers),
        names=tuple(names),
    )


@dataclass(frozen=True)
class Observations:
    """Matched 2D observations of H hypotheses over k views.

    Attributes:
        xy: (H, k, J, 2) normalised image units.
        conf: (H, k, J) confidences, 0 for missing points and for views not used.
        valid: (H, k) bool: view v is used for hypothesis h.
        num_views: (H,) number of used views.
    """

    xy: torch.Tensor
    conf: torch.Tensor
    valid: torch.Tensor
    num_views: torch.Tensor


def prepare_observations(keypoints: Sequence[Keypoints2D], views: ViewTensors, corr: Correspondences,
                         valid: np.ndarray | None = None) -> Observations:
    """Turn H hypotheses' keypoints (each over the same k views) into matched tensors.

    Non-finite coordinates or confidences mark that point as not detected (confidence 0): a
    detector's "not found" must not poison the fit. A view is used when ``valid`` says so (default:
    when any matched point has a positive confidence); rejected detections are simply masked.

    Args:
        keypoints: H :class:`Keypoints2D`, each with k rows (one per camera, in camera order).
        views: the stacked cameras.
        corr: the correspondences (built from the keypoints' names).
        valid: optional (H, k) bool mask of usable views (e.g. ``perceive.accept_person``).

    Raises:
        InputError: wrong number of views, confidences outside [0, 1], a mask of the wrong shape,
            or a hypothesis with no usable view.
    """
    H, k = len(keypoints), views.num_views
    if H == 0:
        raise InputError("lifting needs at least one hypothesis; the keypoint list is empty")
    xy_all, conf_all = [], []
    for h, kp in enumerate(keypoints):
        if len(kp) != k:
            raise InputError(f"keypoints of hypothesis {h} cover {len(kp)} views but {k} cameras were given; "
                             "expected one row per camera")
        if kp.names != keypoints[0].names:
            raise InputError(f"keypoints of hypothesis {h} use other keypoint names than hypothesis 0")
        xy = np.asarray(kp.xy, np.float64)
        conf = np.asarray(kp.conf, np.float64)
        bad = ~np.isfinite(xy).all(axis=-1) | ~np.isfinite(conf)
        conf = np.where(bad, 0.0, conf)
        xy = np.where(bad[..., None], 0.0, xy)
        if (conf < -1e-6).any() or (conf > 1 + 1e-6).any():
            raise InputError(f"keypoint confidences of hypothesis {h} lie outside [0, 1] "
                             f"(min {conf.min():.3g}, max {conf.max():.3g})")
        mxy, mconf = corr.detections(xy, np.clip(conf, 0.0, 1.0))
        xy_all.append(mxy)
        conf_all.append(mconf)
    xy = np.stack(xy_all)  # (H, k, J, 2)
    conf = np.stack(conf_all)  # (H, k, J)
    if valid is None:
        valid_np = (conf > 0).any(axis=-1)
    else:
        valid_np = np.asarray(valid, dtype=bool)
        if valid_np.shape != (H, k):
            raise InputError(f"the view mask has shape {valid_np.shape}; expected (hypotheses, views) = ({H}, {k})")
        valid_np = valid_np & (conf > 0).any(axis=-1)
    for h in range(H):
        if not valid_np[h].any():
            raise InputError(
                f"hypothesis {h} has no usable view (every view's detection was rejected or empty); "
                "drop it or supply keypoints with positive confidence"
            )
    conf = conf * valid_np[..., None]
    dt, dev = views.K.dtype, views.K.device
    scale = views.scale.detach().cpu().numpy().astype(np.float64)
    return Observations(
        xy=torch.as_tensor(xy / scale[None, :, None, None], dtype=dt, device=dev),
        conf=torch.as_tensor(conf, dtype=dt, device=dev),
        valid=torch.as_tensor(valid_np, device=dev),
        num_views=torch.as_tensor(valid_np.sum(axis=1), device=dev),
    )


def stack_depth_maps(depth_maps: Sequence[np.ndarray], views: ViewTensors, cameras: Sequence[Camera]) -> torch.Tensor:
    """k scene depth maps (camera z, ``inf`` where empty) as one (k, H_max, W_max) tensor, padded with ``inf``.

    Raises:
        InputError: a wrong number of maps, or a map whose size is not its camera's image size.
    """
    if len(depth_maps) != views.num_views:
        raise InputError(f"scene_depth has {len(depth_maps)} maps but {views.num_views} cameras were given; "
                         "expected one depth map per camera")
    Hm = max(int(c.height) for c in cameras)
    Wm = max(int(c.width) for c in cameras)
    out = np.full((len(depth_maps), Hm, Wm), np.inf, np.float32)
    for v, (d, cam) in enumerate(zip(depth_maps, cameras)):
        d = np.asarray(d, np.float32)
        if d.shape != (cam.height, cam.width):
            raise InputError(f"scene_depth[{v}] has shape {d.shape}; expected camera {cam.name!r}'s "
                             f"(height, width) = ({cam.height}, {cam.width})")
        out[v, : d.shape[0], : d.shape[1]] = np.where(np.isnan(d), np.inf, d)
    return torch.as_tensor(out, dtype=views.K.dtype, device=views.K.device)


def scene_occlusion(depth: torch.Tensor, xy: torch.Tensor, z: torch.Tensor, margin: float) -> torch.Tensor:
    """Which projected points the scene hides: the scene's depth at their pixel is more than
    ``margin`` in front of them.

    Args:
        depth: (k, H, W) scene depth per view (camera z, metres; ``inf`` where empty or padded).
        xy: (..., k, J, 2) projected points in pixels (pixel (i, j) covers [j, j+1) × [i, i+1)).
        z: (..., k, J) their camera depths.
        margin: metres.

    Returns:
        (..., k, J) bool. Points outside the image or behind the camera are *not* hidden by the scene
        (nothing is known there; the detector's confidence decides).
    """
    k, H, W = depth.shape
    col = torch.floor(xy[..., 0])
    row = torch.floor(xy[..., 1])
    inside = (col >= 0) & (col < W) & (row >= 0) & (row < H) & (z > 0) & torch.isfinite(z)
    idx = (row.clamp(0, H - 1) * W + col.clamp(0, W - 1)).long()  # (..., k, J)
    flat = depth.reshape(k, H * W)
    lead = idx.shape[:-2]
    gathered = torch.gather(flat.expand(*lead, k, H * W) if lead else flat, -1, idx)
    return inside & (gathered < z - margin)
