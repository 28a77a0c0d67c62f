"""OpenCV pinhole cameras: intrinsics, look-at, projection (numpy and differentiable torch).

Convention (see :mod:`inhabit.conventions`): camera x right, y down, z forward; ``K`` in pixels
with the origin at the top-left pixel's corner; ``T_cam_world`` maps world to camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from inhabit.conventions import UP


def intrinsics_from_fov(fov_y_deg: float, width: int, height: int) -> np.ndarray:
    """3x3 ``K`` for a vertical field of view, square pixels, principal point at the image centre.

    The centre is at (W/2, H/2) because pixel coordinates start at the top-left pixel's corner.
    """
    fy = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2.0)
    return np.array([[fy, 0.0, width / 2.0], [0.0, fy, height / 2.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = UP) -> np.ndarray:
    """4x4 ``T_world_cam`` of an OpenCV camera at ``eye`` looking at ``target``.

    The camera's y axis (down) is as close to ``-up`` as possible. Raises ``ValueError`` when the
    viewing direction is parallel to ``up`` (the roll is then undefined).
    """
    eye = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye
    n = np.linalg.norm(forward)
    if n < 1e-12:
        raise ValueError("look_at: eye and target coincide")
    forward /= n
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    rn = np.linalg.norm(right)
    if rn < 1e-9:
        raise ValueError("look_at: viewing direction is parallel to the up vector")
    right /= rn
    down = np.cross(forward, right)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = right, down, forward, eye
    return T


def invert_rigid(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform (rotation + translation), batched over leading axes."""
    T = np.asarray(T, dtype=np.float64)
    R = T[..., :3, :3]
    t = T[..., :3, 3]
    out = np.zeros_like(T)
    Rt = np.swapaxes(R, -1, -2)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", Rt, t)
    out[..., 3, 3] = 1.0
    return out


@dataclass
class Camera:
    """One OpenCV pinhole camera.

    Attributes:
        K: (3, 3) intrinsics in pixels.
        T_cam_world: (4, 4) world -> camera.
        width, height: image size in pixels.
        name: a label (``view000``), used for file names.
    """

    K: np.ndarray
    T_cam_world: np.ndarray
    width: int
    height: int
    name: str = "view"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        self.T_cam_world = np.asarray(self.T_cam_world, dtype=np.float64).reshape(4, 4)
        self.width, self.height = int(self.width), int(self.height)

    @staticmethod
    def look_at(eye, target, width: int, height: int, fov_y_deg: float = 60.0, up=UP, name: str = "view") -> Camera:
        T_world_cam = look_at(eye, target, up)
        return Camera(intrinsics_from_fov(fov_y_deg, width, height), invert_rigid(T_world_cam), width, height, name)

    @property
    def T_world_cam(self) -> np.ndarray:
        return invert_rigid(self.T_cam_world)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in the world."""
        return self.T_world_cam[:3, 3]

    @property
    def forward(self) -> np.ndarray:
        """(3,) viewing direction (camera +z) in the world."""
        return self.T_cam_world[2, :3].copy()

    @property
    def fov_y_deg(self) -> float:
        return math.degrees(2.0 * math.atan(0.5 * self.height / self.K[1, 1]))

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project (N,3) world points: returns (N,2) pixels and (N,) depths (camera z)."""
        return project_points_np(points_world, self.K, self.T_cam_world)

    def resized(self, width: int, height: int) -> Camera:
        """The same camera for another image size (intrinsics scaled)."""
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0] *= sx
        K[1] *= sy
        return Camera(K, self.T_cam_world.copy(), width, height, self.name, dict(self.meta))

    def cropped(self, x0: int, y0: int, width: int, height: int) -> Camera:
        """The sub-window of ``width`` × ``height`` pixels whose top-left pixel is (row ``y0``, col ``x0``).

        Pixel (i, j) of the crop is pixel (y0 + i, x0 + j) of this camera: same rays, same centres.
        """
        K = self.K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        return Camera(K, self.T_cam_world.copy(), int(width), int(height), self.name, dict(self.meta))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "T_cam_world": self.T_cam_world.tolist(),
        }


def project_points_np(points_world: np.ndarray, K: np.ndarray, T_cam_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection in numpy. points_world: (N,3) -> (N,2) pixels, (N,) depth."""
    p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    # einsum, not `@`: BLAS on (N, 3) x (3, 3) is slow when its threads compete for the cores.
    pc = np.einsum("ij,nj->ni", np.asarray(T_cam_world[:3, :3], np.float64), p) + T_cam_world[:3, 3]
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = np.einsum("ij,nj->ni", np.asarray(K[:2], np.float64), pc) / z[:, None]
    return uv, z


# --- differentiable torch versions -------------------------------------------------------------


def transform_points(T, points):
    """Apply rigid transforms. T: (..., 4, 4), points: (..., N, 3) -> (..., N, 3)."""
    return points @ T[..., :3, :3].transpose(-1, -2) + T[..., None, :3, 3]


def project_points(points_world, K, T_cam_world, eps: float = 1e-6):
    """Differentiable pinhole projection.

    Args:
        points_world: (..., N, 3) world points.
        K: (..., 3, 3) intrinsics (broadcast against points' leading dims).
        T_cam_world: (..., 4, 4) extrinsics.
        eps: depths are clamped to at least ``eps`` before dividing, so points behind the camera
            give large but finite pixels (check ``depth > 0`` to mask them).

    Returns:
        xy: (..., N, 2) pixels; depth: (..., N) camera-frame z.
    """
    import torch

    pc = transform_points(T_cam_world, points_world)
    z = pc[..., 2]
    zc = torch.clamp(z, min=eps)
    x = pc[..., 0] / zc
    y = pc[..., 1] / zc
    u = K[..., None, 0, 0] * x + K[..., None, 0, 1] * y + K[..., None, 0, 2]
    v = K[..., None, 1, 1] * y + K[..., None, 1, 2]
    return torch.stack([u, v], dim=-1), z


def unproject_depth(depth, K, T_world_cam):
    """Back-project a depth map to world points.

    Args:
        depth: (H, W) camera-frame z (0 or inf where nothing was hit).
        K: (3, 3); T_world_cam: (4, 4). numpy or torch, consistently.

    Returns:
        (H, W, 3) world points at pixel centres.
    """
    if hasattr(depth, "detach"):
        import torch

        H, W = depth.shape
        j, i = torch.meshgrid(torch.arange(W, dtype=depth.dtype) + 0.5, torch.arange(H, dtype=depth.dtype) + 0.5,
                              indexing="xy")
        x = (j - K[0, 2]) / K[0, 0] * depth
        y = (i - K[1, 2]) / K[1, 1] * depth
        pc = torch.stack([x, y, depth], dim=-1)
        return pc @ T_world_cam[:3, :3].T + T_world_cam[:3, 3]
    H, W = depth.shape
    jj, ii = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    x = (jj - K[0, 2]) / K[0, 0] * depth
    y = (ii - K[1, 2]) / K[1, 1] * depth
    pc = np.stack([x, y, depth], axis=-1)
    return np.einsum("ij,hwj->hwi", np.asarray(T_world_cam[:3, :3], np.float64), pc) + T_world_cam[:3, 3]
