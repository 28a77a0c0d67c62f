"""Relative rigid transforms optimised between frames (camera §3.3, object §3.4).

Both deltas are a rotation vector and a translation, zero at the start of each frame (so Adam's
first steps are isotropic in radians and metres, and the identity is a smooth point of the map).
They differ in *where* the rotation acts, chosen so that rotation and translation are decoupled:

* camera: ``T_cam_world_t = Δ · T_cam_world_{t−1}``: Δ acts in the camera's own frame, rotating
  about the camera centre. The paper moves the scene instead (``G_S(T)`` rendered from
  ``T_{t−1}``, then ``T_t = T_*⁻¹ T_{t−1}``); the two families are the same set of poses
  (``T = T_{t−1}⁻¹ Δ T_{t−1}``), only the coordinates differ: a rotation about the world origin
  several metres away would move the image mostly by translation and make the two coupled.
* object: ``R_t = R(ω) R_{t−1}``, ``t_t = t_{t−1} + τ``: rotation about the object's own origin
  with world axes, translation in the world.
"""

from __future__ import annotations

import torch

from inhabit.rotations import rotvec_to_rotmat


def se3_delta(rotvec: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
    """(4, 4) ``[R(rotvec) | transl]``.

    Args:
        rotvec: (3,) axis-angle, radians. transl: (3,) metres.
    """
    T = torch.zeros(4, 4, dtype=rotvec.dtype, device=rotvec.device)
    T[:3, :3] = rotvec_to_rotmat(rotvec)
    T[:3, 3] = transl
    T[3, 3] = 1.0
    return T


def apply_camera_delta(T_cam_world: torch.Tensor, rotvec: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
    """``Δ · T_cam_world`` with Δ in the camera frame.

    Args:
        T_cam_world: (4, 4) previous frame's world -> camera.
        rotvec, transl: (3,) the delta (camera axes: x right, y down, z forward).

    Returns:
        (4, 4) the new world -> camera.
    """
    return se3_delta(rotvec, transl) @ T_cam_world.to(rotvec.dtype)


def apply_object_delta(T_world_object: torch.Tensor, rotvec: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
    """The object pose after a delta: ``R = R(rotvec) R_prev``, ``t = t_prev + transl``.

    Args:
        T_world_object: (4, 4) previous pose.
        rotvec: (3,) world-axis rotation about the object origin. transl: (3,) world translation.

    Returns:
        (4, 4).
    """
    Tp = T_world_object.to(rotvec.dtype)
    T = torch.zeros(4, 4, dtype=rotvec.dtype, device=rotvec.device)
    T[:3, :3] = rotvec_to_rotmat(rotvec) @ Tp[:3, :3]
    T[:3, 3] = Tp[:3, 3] + transl
    T[3, 3] = 1.0
    return T


def camera_center_of(T_cam_world: torch.Tensor) -> torch.Tensor:
    """(3,) camera centre ``−Rᵀ t`` of a (4, 4) world -> camera transform."""
    return -(T_cam_world[:3, :3].transpose(0, 1) @ T_cam_world[:3, 3])


__all__ = ["apply_camera_delta", "apply_object_delta", "camera_center_of", "se3_delta"]
