"""The body-model extension point: parameters in, a posed mesh with named joints out.

Every backend (anny by default, SMPL-X from user files) implements :class:`BodyModel` and follows
the placement conventions of :mod:`inhabit.conventions`: with identity orientation the body stands
upright along +Z, faces -Y, its left side towards +X; ``transl`` is the pelvis joint's world
position; the global orientation rotates about the pelvis.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Protocol, runtime_checkable

import torch

from inhabit.conventions import BODY_JOINT_NAMES, KEYPOINT_NAMES


@dataclass
class BodyParams:
    """Batched body parameters.

    Attributes:
        global_orient: (B, 6) 6D rotation (see :mod:`inhabit.rotations`).
        transl: (B, 3) pelvis position in the world, metres.
        body_pose: (B, P) backend-specific body pose (``BodyModel.body_pose_dim``).
        shape: (B, S) backend-specific shape (``BodyModel.shape_dim``).
    """

    global_orient: torch.Tensor
    transl: torch.Tensor
    body_pose: torch.Tensor
    shape: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.transl.shape[0])

    def map(self, fn) -> BodyParams:
        """Apply ``fn`` to every tensor (``params.map(lambda t: t.detach().clone())``)."""
        return BodyParams(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def detach(self) -> BodyParams:
        return self.map(lambda t: t.detach().clone())

    def to(self, *args, **kwargs) -> BodyParams:
        return self.map(lambda t: t.to(*args, **kwargs))

    def index(self, idx) -> BodyParams:
        """Select batch rows (int, slice or index tensor); keeps the batch axis."""
        if isinstance(idx, int):
            idx = slice(idx, idx + 1)
        return self.map(lambda t: t[idx])

    def replace(self, **changes) -> BodyParams:
        return replace(self, **changes)

    @staticmethod
    def cat(items: list[BodyParams]) -> BodyParams:
        return BodyParams(**{f.name: torch.cat([getattr(i, f.name) for i in items]) for f in fields(BodyParams)})

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class BodyOutput:
    """A posed body in the world frame.

    Attributes:
        vertices: (B, V, 3).
        joints: (B, 22, 3), named by ``joint_names`` (the SMPL-X body joints).
        keypoints: (B, 23, 3), named by ``keypoint_names`` (COCO-17 + 6 foot points).
        faces: (F, 3) long, shared by the batch.
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    keypoints: torch.Tensor
    faces: torch.Tensor
    joint_names: tuple[str, ...] = BODY_JOINT_NAMES
    keypoint_names: tuple[str, ...] = KEYPOINT_NAMES


@runtime_checkable
class BodyModel(Protocol):
    """A differentiable parametric body.

    Attributes:
        name: backend name written into results (``"anny"``, ``"smplx"``).
        faces: (F, 3) long triangle indices.
        body_pose_dim, shape_dim: sizes of ``BodyParams.body_pose`` / ``.shape``.
        dtype, device: of the outputs.

    Optional extensions (both built-in backends have them; code must not require them):
    ``shape_names`` (S names), ``shape_prior_alpha`` ((S,) weights for
    :func:`inhabit.body.prior.shape_prior`) and ``vertex_parts() -> (V,) long`` labels into
    :data:`inhabit.body.parts.PART_NAMES`.
    """

    name: str
    faces: torch.Tensor
    body_pose_dim: int
    shape_dim: int

    @property
    def dtype(self) -> torch.dtype: ...

    @property
    def device(self) -> torch.device: ...

    def __call__(self, params: BodyParams) -> BodyOutput:
        """Pose the body. Every output is differentiable w.r.t. every parameter."""
        ...

    def default_params(self, batch_size: int = 1) -> BodyParams:
        """Identity orientation, pelvis at the origin, the rest (standing) pose, mean shape."""
        ...

    def body_pose_to_smplx_rotvec(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, P) -> (B, 21, 3): the pose as SMPL-X-equivalent local axis-angles of the 21 body joints
        (``BODY_JOINT_NAMES[1:]``), in SMPL-X's canonical joint axes, so that priors and metrics
        written for SMPL-X (GenZI's angle prior, diversity features) apply to every backend."""
        ...

    def body_pose_from_smplx_rotvec(self, rotvec: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) SMPL-X-style local axis-angles -> (B, P): the inverse of
        :meth:`body_pose_to_smplx_rotvec` (exact where the backend can represent the pose), so that
        poses written once by joint name (``inhabit.body.poses``) work with every backend."""
        ...


def check_body_params(model: BodyModel, params: BodyParams) -> None:
    """Raise :class:`~inhabit.errors.InputError` (one sentence naming the field, its shape and the
    expected one) unless every tensor of ``params`` is (B, n) with the sizes ``model`` expects: the
    common mistake of feeding one backend's parameters to another."""
    from inhabit.errors import InputError

    B = params.transl.shape[0] if params.transl.ndim == 2 else -1
    expected = {"global_orient": 6, "transl": 3, "body_pose": model.body_pose_dim, "shape": model.shape_dim}
    for name, n in expected.items():
        t = getattr(params, name)
        if t.ndim != 2 or t.shape[1] != n or t.shape[0] != B:
            raise InputError(
                f"BodyParams.{name} has shape {tuple(t.shape)} but the {model.name} body model expects "
                f"({B if B > 0 else 'B'}, {n})"
            )
