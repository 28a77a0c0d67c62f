"""Fixtures for the track tests: a tiny textured Gaussian room, the anny body and a small Gaussian human."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inhabit.camera.pinhole import Camera
from inhabit.scene.gaussians import GaussianSet


def textured_plane(origin, u, v, nu: int, nv: int, spacing: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on a grid of a plane with a smooth random colour pattern (blobs of a few cm)."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    pts = np.asarray(origin)[None] + (i.reshape(-1, 1) * spacing) * np.asarray(u)[None] + \
        (j.reshape(-1, 1) * spacing) * np.asarray(v)[None]
    col = np.zeros((nu * nv, 3))
    for c in range(3):
        k = rng.normal(size=(4, 2)) * 6.0
        ph = rng.uniform(0, 2 * np.pi, 4)
        col[:, c] = 0.5 + 0.12 * sum(np.sin(k[q, 0] * i.reshape(-1) * spacing + k[q, 1] * j.reshape(-1) * spacing + ph[q])
                                     for q in range(4))
    col += rng.normal(scale=0.08, size=col.shape)
    return pts, np.clip(col, 0.05, 0.95)


def tiny_room(spacing: float = 0.06, seed: int = 0) -> GaussianSet:
    """A floor (3 x 3 m) and a back wall (3 x 2.2 m) as ~4.4k textured Gaussians (z up)."""
    n = round(3.0 / spacing)
    floor = textured_plane((-1.5, -1.2, 0.0), (1, 0, 0), (0, 1, 0), n, n, spacing, seed)
    wall = textured_plane((-1.5, 1.8, 0.0), (1, 0, 0), (0, 0, 1), n, round(2.2 / spacing), spacing, seed + 1)
    pts = torch.as_tensor(np.concatenate([floor[0], wall[0]]), dtype=torch.float32)
    rgb = torch.as_tensor(np.concatenate([floor[1], wall[1]]), dtype=torch.float32)
    return GaussianSet.from_points(pts, rgb, scale=0.6 * spacing, opacity=0.97)


@pytest.fixture(scope="session")
def room() -> GaussianSet:
    return tiny_room()


@pytest.fixture(scope="session")
def body():
    from inhabit.body import load_body_model

    return load_body_model("anny")


@pytest.fixture(scope="session")
def small_human(body):
    """A dressed Gaussian human of 2500 Gaussians (the avatar the tiny clips are rendered with)."""
    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.track.synthetic import dress_human

    human = GaussianHuman.from_body(body, max_gaussians=2500, seed=0)
    dress_human(human, body)
    return human


def standing_params(body, x: float = 0.0, y: float = 0.3):
    """The standing pose with the feet on the floor at (x, y), facing the camera (−y)."""
    from inhabit.body.poses import make_pose

    p = make_pose(body, "standing")
    with torch.no_grad():
        zmin = float(body(p).vertices[0, :, 2].min())
    p.transl[0] = torch.tensor([x, y, -zmin])
    return p


def room_camera(size: int = 64, distance: float = 2.5) -> Camera:
    """A camera ``distance`` metres in front of the standing person (slightly to its left), looking at it."""
    target = np.array([0.0, 0.3, 0.85])
    eye = target + distance * np.array([0.3, -2.5, 0.25]) / np.linalg.norm([0.3, -2.5, 0.25])
    return Camera.look_at(eye, target, size, size, fov_y_deg=60.0)


@pytest.fixture(scope="session")
def helpers():
    """The helper functions above (test modules cannot import conftest in importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(room_camera=room_camera, standing_params=standing_params, tiny_room=tiny_room)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each track test on one torch thread (restored afterwards): these small problems gain
    nothing from a second thread, and on a shared machine OpenMP's spinning costs more than it
    saves."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
