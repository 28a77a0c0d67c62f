"""Rotation representations used across inhabit (thin, documented wrappers over roma).

6D: the first two *columns* of a rotation matrix flattened row-major,
``[r00, r01, r10, r11, r20, r21]`` (Zhou et al.; the layout GenZI stores). Decoding uses
Gram-Schmidt (``roma.special_gramschmidt``), which is smooth everywhere except where the two
columns are parallel; the optimiser never gets there in practice because the columns start
orthonormal.
"""

from __future__ import annotations

import torch


def rotation6d_to_rotmat(r6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3)."""
    import roma

    return roma.special_gramschmidt(r6.reshape(*r6.shape[:-1], 3, 2))


def rotmat_to_rotation6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, row-major."""
    return R[..., :, :2].reshape(*R.shape[:-2], 6)


def rotvec_to_rotmat(rv: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle (radians) -> (..., 3, 3). Smooth at zero (roma handles the limit)."""
    import roma

    return roma.rotvec_to_rotmat(rv)


def rotmat_to_rotvec(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) axis-angle; near pi the axis sign is ambiguous."""
    import roma

    return roma.rotmat_to_rotvec(R)


def rotation_about(axis: str, degrees: float, dtype=torch.float32) -> torch.Tensor:
    """3x3 rotation about a world axis ``"x"``, ``"y"`` or ``"z"`` by ``degrees``."""
    import math

    import roma

    return roma.euler_to_rotmat(axis, [math.radians(degrees)]).to(dtype)


def rigid_from_rotation6d(r6: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(..., 6), (..., 3) -> (..., 4, 4) rigid transform."""
    R = rotation6d_to_rotmat(r6)
    T = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    T[..., :3, :3] = R
    T[..., :3, 3] = t
    T[..., 3, 3] = 1.0
    return T
