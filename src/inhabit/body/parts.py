"""Body-part labels per vertex: self-penetration filtering, hand-object contact, foot sliding.

Every backend labels its vertices with the same :data:`PART_NAMES` (see ``vertex_parts``), so code
written against parts works for anny and SMPL-X alike. :data:`PART_ADJACENCY` lists the parts that
touch at a joint: collisions between them are skin folding, not self-penetration.
"""

from __future__ import annotations

import torch

PART_NAMES: tuple[str, ...] = (
    "head",
    "neck",
    "torso",
    "left_upper_arm",
    "left_forearm",
    "left_hand",
    "right_upper_arm",
    "right_forearm",
    "right_hand",
    "left_thigh",
    "left_shin",
    "left_foot",
    "right_thigh",
    "right_shin",
    "right_foot",
)
"""Body parts, in label order (``vertex_parts(model)[v]`` indexes this tuple)."""

PART_ADJACENCY: tuple[tuple[str, str], ...] = (
    ("head", "neck"),
    ("neck", "torso"),
    ("torso", "left_upper_arm"),
    ("left_upper_arm", "left_forearm"),
    ("left_forearm", "left_hand"),
    ("torso", "right_upper_arm"),
    ("right_upper_arm", "right_forearm"),
    ("right_forearm", "right_hand"),
    ("torso", "left_thigh"),
    ("left_thigh", "left_shin"),
    ("left_shin", "left_foot"),
    ("torso", "right_thigh"),
    ("right_thigh", "right_shin"),
    ("right_shin", "right_foot"),
)
"""Pairs of parts joined at a joint."""


def smplx_joint_part(joint: str) -> str:
    """The part of the body a SMPL-X joint (any of the 55) moves."""
    if joint in ("pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar"):
        return "torso"
    if joint == "neck":
        return "neck"
    if joint in ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf"):
        return "head"
    side, _, rest = joint.partition("_")
    table = {"shoulder": "upper_arm", "elbow": "forearm", "wrist": "hand", "hip": "thigh", "knee": "shin",
             "ankle": "foot", "foot": "foot"}
    if rest in table:
        return f"{side}_{table[rest]}"
    if rest[:-1] in ("index", "middle", "ring", "pinky", "thumb"):
        return f"{side}_hand"
    raise KeyError(f"{joint!r} is not a SMPL-X joint name")


def part_index(name: str) -> int:
    """Label of part ``name``; ``KeyError`` lists the known parts."""
    try:
        return PART_NAMES.index(name)
    except ValueError:
        raise KeyError(f"{name!r} is not a body part; known parts: {PART_NAMES}") from None


def parts_from_skinning(weights: torch.Tensor, joint_parts: list[str]) -> torch.Tensor:
    """Label vertices by the part that carries most of their skinning weight.

    Args:
        weights: (V, J) skinning weights (rows sum to 1).
        joint_parts: J part names, the part each weight column belongs to.

    Returns:
        (V,) long labels into :data:`PART_NAMES`. Weights are summed per part before the argmax, so a
        vertex split 40/30/30 between a forearm bone and two hand bones goes to the hand.
    """
    M = torch.zeros(weights.shape[1], len(PART_NAMES), dtype=weights.dtype, device=weights.device)
    M[torch.arange(weights.shape[1]), torch.tensor([part_index(p) for p in joint_parts])] = 1.0
    return (weights @ M).argmax(dim=1)


def vertex_parts(model) -> torch.Tensor:
    """(V,) long part label of every vertex of ``model`` (a :class:`~inhabit.body.protocol.BodyModel`),
    indexing :data:`PART_NAMES`."""
    fn = getattr(model, "vertex_parts", None)
    if fn is None:
        raise TypeError(f"body model {getattr(model, 'name', type(model).__name__)!r} does not provide vertex_parts()")
    return fn()


def part_mask(model, *names: str) -> torch.Tensor:
    """(V,) bool: vertices belonging to any of the named parts."""
    labels = vertex_parts(model)
    ids = torch.tensor([part_index(n) for n in names], device=labels.device)
    return torch.isin(labels, ids)


def adjacency_matrix(device=None) -> torch.Tensor:
    """(P, P) bool: True for a part with itself and for adjacent parts (:data:`PART_ADJACENCY`)."""
    n = len(PART_NAMES)
    A = torch.eye(n, dtype=torch.bool, device=device)
    for a, b in PART_ADJACENCY:
        A[part_index(a), part_index(b)] = A[part_index(b), part_index(a)] = True
    return A
