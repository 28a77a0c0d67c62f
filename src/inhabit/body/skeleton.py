"""SMPL-X skeleton facts shared by every backend: joint names, parents, the canonical frame.

SMPL-X's canonical frame is y-up, facing +z, the body's left towards +x. inhabit's world frame is
z-up; a body with identity orientation faces -y with its left towards +x
(:mod:`inhabit.conventions`). The two are related by a +90 degree rotation about x::

    x_world = R_WORLD_CANONICAL @ x_canonical        (y -> z, z -> -y)

Local joint rotations of SMPL-X are expressed in the canonical axes of the rest (T-) pose; the same
rotation written in world axes is ``R_WORLD_CANONICAL @ R @ R_WORLD_CANONICAL.T``, i.e. the rotation
vector is simply rotated: ``rotvec_world = R_WORLD_CANONICAL @ rotvec_canonical``.
"""

from __future__ import annotations

import numpy as np
import torch

from inhabit.conventions import BODY_JOINT_NAMES, BODY_JOINT_PARENTS

R_WORLD_CANONICAL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""(3, 3) rotation taking SMPL-X canonical coordinates (y up, facing +z) to the world (z up, facing -y)."""

POSE_JOINT_NAMES: tuple[str, ...] = BODY_JOINT_NAMES[1:]
"""The 21 joints of a body pose (``BodyModel.body_pose_to_smplx_rotvec`` rows), pelvis excluded."""

NUM_POSE_JOINTS = len(POSE_JOINT_NAMES)

SMPLX_JOINT_NAMES_55: tuple[str, ...] = (
    *BODY_JOINT_NAMES,
    "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3",
    "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3",
    "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3",
    "right_middle1", "right_middle2", "right_middle3",
    "right_pinky1", "right_pinky2", "right_pinky3",
    "right_ring1", "right_ring2", "right_ring3",
    "right_thumb1", "right_thumb2", "right_thumb3",
)
"""The 55 skinned joints of SMPL-X in model order (body, jaw, eyes, 15 left then 15 right finger joints)."""


def _smplx_parents_55() -> tuple[int, ...]:
    idx = {n: i for i, n in enumerate(SMPLX_JOINT_NAMES_55)}
    parents = list(BODY_JOINT_PARENTS)
    parents += [idx["head"]] * 3  # jaw, eyes
    for side in ("left", "right"):
        wrist = idx[f"{side}_wrist"]
        for finger in ("index", "middle", "pinky", "ring", "thumb"):
            parents += [wrist, idx[f"{side}_{finger}1"], idx[f"{side}_{finger}2"]]
    return tuple(parents)


SMPLX_PARENTS_55: tuple[int, ...] = _smplx_parents_55()
"""Parent of each of the 55 SMPL-X joints (-1 for the pelvis)."""


def rotvec_canonical_to_world(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) local axis-angle in SMPL-X canonical axes -> the same rotation in world axes."""
    R = torch.as_tensor(R_WORLD_CANONICAL, dtype=rotvec.dtype, device=rotvec.device)
    return rotvec @ R.T


def rotvec_world_to_canonical(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle in world axes -> SMPL-X canonical axes (inverse of the above)."""
    R = torch.as_tensor(R_WORLD_CANONICAL, dtype=rotvec.dtype, device=rotvec.device)
    return rotvec @ R


def pose_joint_index(name: str) -> int:
    """Row of joint ``name`` in a (B, 21, 3) SMPL-X body pose; ``KeyError`` names unknown joints."""
    try:
        return POSE_JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"{name!r} is not one of the 21 SMPL-X body-pose joints {POSE_JOINT_NAMES}") from None
