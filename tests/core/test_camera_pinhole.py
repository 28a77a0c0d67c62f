"""Pinhole camera: look-at, projection round trip, torch/numpy agreement."""

import numpy as np
import pytest
import torch

from inhabit.camera.pinhole import (
    Camera,
    intrinsics_from_fov,
    invert_rigid,
    look_at,
    project_points,
    unproject_depth,
)


def test_intrinsics_centre_is_image_centre_in_corner_convention():
    K = intrinsics_from_fov(90.0, 640, 480)
    assert K[0, 2] == 320 and K[1, 2] == 240
    assert np.isclose(K[1, 1], 240.0)  # tan(45) = 1


def test_look_at_axes_follow_opencv():
    T = look_at(np.array([0.0, -2.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    right, down, forward = T[:3, 0], T[:3, 1], T[:3, 2]
    assert np.allclose(forward, [0, 1, 0])
    assert np.allclose(right, [1, 0, 0])
    assert np.allclose(down, [0, 0, -1])
    assert np.isclose(np.linalg.det(T[:3, :3]), 1.0)


def test_look_at_rejects_vertical_view():
    with pytest.raises(ValueError, match="parallel"):
        look_at(np.array([0, 0, 5.0]), np.zeros(3))


def test_target_projects_to_principal_point_and_up_is_up_in_image():
    cam = Camera.look_at([3.0, -2.0, 1.5], [0.0, 0.0, 0.8], 512, 384, fov_y_deg=60)
    uv, z = cam.project(np.array([[0.0, 0.0, 0.8], [0.0, 0.0, 1.3]]))
    assert np.allclose(uv[0], [256, 192], atol=1e-9)
    assert z[0] > 0
    assert uv[1, 1] < uv[0, 1]  # a point above the target appears higher (smaller y)


def test_projection_unprojection_round_trip():
    cam = Camera.look_at([1.0, -3.0, 2.0], [0.2, 0.1, 0.5], 64, 48, fov_y_deg=50)
    depth = np.full((48, 64), 2.5)
    pts = unproject_depth(depth, cam.K, cam.T_world_cam)
    uv, z = cam.project(pts.reshape(-1, 3))
    jj, ii = np.meshgrid(np.arange(64) + 0.5, np.arange(48) + 0.5)
    assert np.allclose(uv, np.stack([jj, ii], -1).reshape(-1, 2), atol=1e-9)
    assert np.allclose(z, 2.5)


def test_torch_projection_matches_numpy_and_is_differentiable():
    cam = Camera.look_at([1.0, -3.0, 2.0], [0.2, 0.1, 0.5], 64, 48)
    pts = np.random.default_rng(0).normal(size=(10, 3)) * 0.3
    uv_np, z_np = cam.project(pts)
    P = torch.tensor(pts, requires_grad=True)
    uv, z = project_points(P, torch.tensor(cam.K), torch.tensor(cam.T_cam_world))
    assert torch.allclose(uv, torch.tensor(uv_np)) and torch.allclose(z, torch.tensor(z_np))
    uv.sum().backward()
    assert torch.isfinite(P.grad).all() and P.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(
        lambda p: project_points(p, torch.tensor(cam.K), torch.tensor(cam.T_cam_world))[0], (P.detach().clone().requires_grad_(),)
    )


def test_invert_rigid_is_inverse():
    T = look_at(np.array([1.0, 2.0, 3.0]), np.zeros(3))
    assert np.allclose(invert_rigid(T) @ T, np.eye(4))


def test_resized_camera_scales_pixels():
    cam = Camera.look_at([0, -2, 1], [0, 0, 1], 512, 512)
    small = cam.resized(256, 256)
    p = np.array([[0.1, 0.0, 1.2]])
    assert np.allclose(small.project(p)[0], cam.project(p)[0] / 2)
