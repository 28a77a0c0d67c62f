"""Small pure functions on rotations and rigid placement shared by the body backends."""

from __future__ import annotations

import torch

from inhabit.rotations import rotation6d_to_rotmat


def place_local_points(points_local: torch.Tensor, R_world_body: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
    """Rigidly place points given in the body frame (pelvis at the origin, identity orientation).

    Args:
        points_local: (B, N, 3) points with the pelvis joint at the origin.
        R_world_body: (B, 3, 3) the body's global orientation.
        transl: (B, 3) world position of the pelvis.

    Returns:
        (B, N, 3) world points ``R @ p + transl`` (the body rotates about its pelvis).
    """
    return points_local @ R_world_body.transpose(1, 2) + transl[:, None, :]


def global_rotmat(global_orient: torch.Tensor) -> torch.Tensor:
    """(B, 6) 6D global orientation -> (B, 3, 3) rotation (Gram-Schmidt, see :mod:`inhabit.rotations`)."""
    return rotation6d_to_rotmat(global_orient)


def minimal_rotation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The smallest rotation taking direction ``a`` onto direction ``b``.

    Args:
        a, b: (3,) non-zero vectors (need not be unit).

    Returns:
        (3, 3) rotation R with ``R @ a/|a| == b/|b|``, rotating about ``a x b``. Undefined (raises
        ``ValueError``) when ``a`` and ``b`` point in opposite directions.
    """
    import roma

    a = a / a.norm()
    b = b / b.norm()
    axis = torch.linalg.cross(a, b)
    s = axis.norm()
    c = torch.dot(a, b)
    if s < 1e-12:
        if c > 0:
            return torch.eye(3, dtype=a.dtype, device=a.device)
        raise ValueError("minimal_rotation: the two directions are opposite; the axis is undefined")
    return roma.rotvec_to_rotmat(axis / s * torch.atan2(s, c))


def yaw_rotation(angle: torch.Tensor | float, dtype=torch.float32) -> torch.Tensor:
    """(3, 3) rotation about world +Z by ``angle`` radians."""
    import roma

    a = torch.as_tensor(angle, dtype=dtype).reshape(1)
    return roma.euler_to_rotmat("z", a).to(dtype)
