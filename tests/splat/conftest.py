"""Fixtures for the splatting tests: small random scenes, cameras and a toy body model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inhabit.body.protocol import BodyOutput, BodyParams
from inhabit.camera.pinhole import Camera
from inhabit.scene.gaussians import GaussianSet


def random_gaussians(n: int, seed: int = 0, dtype=torch.float64, sh_degree: int | None = 1, spread: float = 0.5,
                     scale: tuple[float, float] = (0.02, 0.12)) -> GaussianSet:
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g, dtype=dtype) * spread
    quats = torch.randn(n, 4, generator=g, dtype=dtype)
    lo, hi = scale
    log_scales = torch.log(lo + (hi - lo) * torch.rand(n, 3, generator=g, dtype=dtype))
    opacity = torch.randn(n, generator=g, dtype=dtype) + 1.0
    if sh_degree is None:
        colors = torch.rand(n, 3, generator=g, dtype=dtype)
    else:
        colors = torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g, dtype=dtype) * 0.5
    return GaussianSet(means, quats, log_scales, opacity, colors)


def small_camera(width: int = 40, height: int = 32, eye=(0.3, -3.0, 0.6), target=(0.0, 0.0, 0.0), fov: float = 45.0
                 ) -> Camera:
    return Camera.look_at(np.array(eye), np.array(target), width, height, fov_y_deg=fov)


class ToyBody:
    """A closed, subdivided box (12 x 12 x 24 cm) that satisfies the BodyModel protocol.

    ``body_pose`` (B, 3) is a rotation vector that bends the upper half (z > 0 in the body frame)
    about the body origin, blended linearly over a band around z = 0 (linear blend skinning with two
    bones), so the deformation is non-rigid. ``shape`` (B, 1) scales the body uniformly by exp(shape).
    """

    name = "toy"
    body_pose_dim = 3
    shape_dim = 1

    def __init__(self, dtype=torch.float64, n: int = 6) -> None:
        import trimesh

        box = trimesh.creation.box(extents=(0.12, 0.12, 0.24))
        for _ in range(2):
            box = box.subdivide()
        self._dtype = dtype
        self.rest = torch.as_tensor(np.asarray(box.vertices), dtype=dtype)
        self.faces = torch.as_tensor(np.asarray(box.faces), dtype=torch.long)
        z = self.rest[:, 2]
        self.w_upper = ((z + 0.04) / 0.08).clamp(0, 1)

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return torch.device("cpu")

    def default_params(self, batch_size: int = 1) -> BodyParams:
        kw = {"dtype": self._dtype}
        go = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], **kw).repeat(batch_size, 1)
        return BodyParams(go, torch.zeros(batch_size, 3, **kw), torch.zeros(batch_size, 3, **kw),
                          torch.zeros(batch_size, 1, **kw))

    def __call__(self, params: BodyParams) -> BodyOutput:
        import roma

        from inhabit.rotations import rotation6d_to_rotmat

        Rb = roma.rotvec_to_rotmat(params.body_pose)  # (B, 3, 3)
        v = self.rest[None] * torch.exp(params.shape)[:, :, None]
        bent = v @ Rb.transpose(-1, -2)
        w = self.w_upper[None, :, None]
        local = (1 - w) * v + w * bent
        R = rotation6d_to_rotmat(params.global_orient)
        verts = local @ R.transpose(-1, -2) + params.transl[:, None]
        joints = verts[:, :22] if verts.shape[1] >= 22 else verts
        return BodyOutput(verts, joints, verts[:, :23], self.faces)

    def body_pose_to_smplx_rotvec(self, body_pose: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(body_pose.shape[0], 21, 3, dtype=body_pose.dtype)
        out[:, 2] = body_pose  # spine1 carries the bend
        return out

    def body_pose_from_smplx_rotvec(self, rotvec: torch.Tensor) -> torch.Tensor:
        return rotvec[:, 2]


@pytest.fixture
def toy_body() -> ToyBody:
    return ToyBody()


@pytest.fixture
def make_gaussians():
    """``make_gaussians(n, seed=0, dtype=float64, sh_degree=1, spread=0.5, scale=(0.02, 0.12))``."""
    return random_gaussians


@pytest.fixture
def make_camera():
    """``make_camera(width=40, height=32, eye=..., target=..., fov=45)``: a look-at camera."""
    return small_camera
