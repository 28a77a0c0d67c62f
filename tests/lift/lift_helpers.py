"""Test helpers for tests/lift (imported as ``lift_helpers``; conftest puts this folder on sys.path).

Small stand-ins for the lifting tests: an articulated stick-figure BodyModel, an identity pose
prior, analytic SDFs, and a ring of cameras with projected-truth keypoints."""

from __future__ import annotations

import math

import numpy as np
import torch

from inhabit.body.protocol import BodyOutput, BodyParams
from inhabit.camera.pinhole import Camera
from inhabit.conventions import BODY_JOINT_NAMES, BODY_JOINT_PARENTS, KEYPOINT_NAMES
from inhabit.rotations import rotation6d_to_rotmat, rotmat_to_rotation6d, rotvec_to_rotmat
from inhabit.structures import Keypoints2D

# Rest joints of a 1.7 m person, z-up, facing -Y, left = +X, pelvis at the origin.
_REST = {
    "pelvis": (0.0, 0.0, 0.0),
    "left_hip": (0.09, 0.0, -0.06),
    "right_hip": (-0.09, 0.0, -0.06),
    "spine1": (0.0, 0.01, 0.10),
    "left_knee": (0.10, 0.0, -0.46),
    "right_knee": (-0.10, 0.0, -0.46),
    "spine2": (0.0, 0.01, 0.23),
    "left_ankle": (0.10, 0.02, -0.86),
    "right_ankle": (-0.10, 0.02, -0.86),
    "spine3": (0.0, 0.0, 0.30),
    "left_foot": (0.11, -0.10, -0.92),
    "right_foot": (-0.11, -0.10, -0.92),
    "neck": (0.0, 0.01, 0.50),
    "left_collar": (0.07, 0.0, 0.44),
    "right_collar": (-0.07, 0.0, 0.44),
    "head": (0.0, 0.0, 0.58),
    "left_shoulder": (0.18, 0.01, 0.44),
    "right_shoulder": (-0.18, 0.01, 0.44),
    "left_elbow": (0.40, 0.02, 0.30),
    "right_elbow": (-0.40, 0.02, 0.30),
    "left_wrist": (0.58, 0.0, 0.14),
    "right_wrist": (-0.58, 0.0, 0.14),
}
_RADIUS = {"pelvis": 0.10, "spine1": 0.12, "spine2": 0.12, "spine3": 0.12, "neck": 0.05, "left_collar": 0.05,
           "right_collar": 0.05, "head": 0.09}


def _kp_spec():
    """Each keypoint = joint j + R_j @ offset (in the rest frame)."""
    return {
        "nose": ("head", (0.0, -0.10, 0.06)),
        "left_eye": ("head", (0.035, -0.08, 0.09)),
        "right_eye": ("head", (-0.035, -0.08, 0.09)),
        "left_ear": ("head", (0.075, -0.01, 0.07)),
        "right_ear": ("head", (-0.075, -0.01, 0.07)),
        "left_shoulder": ("left_shoulder", (0.0, 0.0, 0.0)),
        "right_shoulder": ("right_shoulder", (0.0, 0.0, 0.0)),
        "left_elbow": ("left_elbow", (0.0, 0.0, 0.0)),
        "right_elbow": ("right_elbow", (0.0, 0.0, 0.0)),
        "left_wrist": ("left_wrist", (0.0, 0.0, 0.0)),
        "right_wrist": ("right_wrist", (0.0, 0.0, 0.0)),
        "left_hip": ("left_hip", (0.02, 0.0, 0.02)),
        "right_hip": ("right_hip", (-0.02, 0.0, 0.02)),
        "left_knee": ("left_knee", (0.0, 0.0, 0.0)),
        "right_knee": ("right_knee", (0.0, 0.0, 0.0)),
        "left_ankle": ("left_ankle", (0.0, 0.0, 0.0)),
        "right_ankle": ("right_ankle", (0.0, 0.0, 0.0)),
        "left_big_toe": ("left_foot", (-0.02, -0.06, -0.02)),
        "left_small_toe": ("left_foot", (0.03, -0.05, -0.02)),
        "left_heel": ("left_ankle", (0.0, 0.06, -0.07)),
        "right_big_toe": ("right_foot", (0.02, -0.06, -0.02)),
        "right_small_toe": ("right_foot", (-0.03, -0.05, -0.02)),
        "right_heel": ("right_ankle", (0.0, 0.06, -0.07)),
    }


class StickBody:
    """An articulated stick figure implementing the BodyModel protocol (SMPL-style FK).

    body_pose: (B, 63) local axis-angles of the 21 non-root joints (SMPL-X order), shape: (B, 1)
    uniform size change 1 + 0.1·shape. Vertices: rings of points around every bone, each attached
    rigidly to the bone's parent joint.
    """

    name = "stick"
    body_pose_dim = 63
    shape_dim = 1

    def __init__(self, dtype=torch.float64, ring: int = 6, rings_per_bone: int = 3):
        self._dtype = dtype
        self.rest = torch.tensor([_REST[n] for n in BODY_JOINT_NAMES], dtype=dtype)
        self.parents = list(BODY_JOINT_PARENTS)
        verts, owner = [], []
        for j in range(1, 22):
            p = self.parents[j]
            a, b = self.rest[p], self.rest[j]
            r = _RADIUS.get(BODY_JOINT_NAMES[p], 0.05)
            axis = (b - a) / (b - a).norm()
            helper = torch.tensor([0.0, 0.0, 1.0], dtype=dtype) if abs(axis[2]) < 0.9 else torch.tensor(
                [1.0, 0.0, 0.0], dtype=dtype)
            u = torch.linalg.cross(axis, helper)
            u = u / u.norm()
            v = torch.linalg.cross(axis, u)
            for i in range(rings_per_bone):
                c = a + (b - a) * (i + 0.5) / rings_per_bone
                for q in range(ring):
                    ang = 2 * math.pi * q / ring
                    verts.append(c + r * (math.cos(ang) * u + math.sin(ang) * v))
                    owner.append(p)
        self.rest_vertices = torch.stack(verts)
        self.vertex_owner = torch.tensor(owner)
        spec = _kp_spec()
        self.kp_joint = torch.tensor([BODY_JOINT_NAMES.index(spec[n][0]) for n in KEYPOINT_NAMES])
        self.kp_offset = torch.tensor([spec[n][1] for n in KEYPOINT_NAMES], dtype=dtype)
        self.faces = torch.zeros(0, 3, dtype=torch.long)
        self.calls = 0
        depth = [0] * 22
        for j in range(1, 22):
            depth[j] = depth[self.parents[j]] + 1
        self.levels = []
        for d in range(1, max(depth) + 1):
            child = torch.tensor([j for j in range(22) if depth[j] == d])
            self.levels.append((child, torch.tensor([self.parents[int(j)] for j in child])))

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return torch.device("cpu")

    def default_params(self, batch_size: int = 1) -> BodyParams:
        eye = rotmat_to_rotation6d(torch.eye(3, dtype=self._dtype)).expand(batch_size, 6).clone()
        z = torch.zeros
        return BodyParams(eye, z(batch_size, 3, dtype=self._dtype), z(batch_size, 63, dtype=self._dtype),
                          z(batch_size, 1, dtype=self._dtype))

    def vertex_parts(self) -> torch.Tensor:
        """(V,) part labels (inhabit.body.parts.PART_NAMES): the part of the joint a vertex rides on."""
        from inhabit.body.parts import PART_NAMES, smplx_joint_part

        return torch.tensor([PART_NAMES.index(smplx_joint_part(BODY_JOINT_NAMES[int(j)])) for j in self.vertex_owner])

    def body_pose_to_smplx_rotvec(self, body_pose):
        return body_pose.reshape(-1, 21, 3)

    def body_pose_from_smplx_rotvec(self, rotvec):
        return rotvec.reshape(-1, 63)

    def __call__(self, params: BodyParams) -> BodyOutput:
        self.calls += 1
        B = params.transl.shape[0]
        scale = (1.0 + 0.1 * params.shape[:, :1]).unsqueeze(-1)  # (B,1,1)
        rest = self.rest.unsqueeze(0) * scale  # (B,22,3)
        R_local = rotvec_to_rotmat(params.body_pose.reshape(B, 21, 3))
        R = torch.zeros(B, 22, 3, 3, dtype=params.transl.dtype)
        P = torch.zeros(B, 22, 3, dtype=params.transl.dtype)
        R = R.index_copy(1, torch.tensor([0]), rotation6d_to_rotmat(params.global_orient).unsqueeze(1))
        P = P.index_copy(1, torch.tensor([0]), params.transl.unsqueeze(1))
        for child, parent in self.levels:  # forward kinematics one tree depth at a time
            off = (rest[:, child] - rest[:, parent]).unsqueeze(-1)
            P = P.index_copy(1, child, P[:, parent] + (R[:, parent] @ off).squeeze(-1))
            R = R.index_copy(1, child, R[:, parent] @ R_local[:, child - 1])
        joints = P
        rv = self.rest_vertices.unsqueeze(0) * scale
        own = self.vertex_owner
        verts = joints[:, own] + (R[:, own] @ (rv - rest[:, own]).unsqueeze(-1)).squeeze(-1)
        kp = joints[:, self.kp_joint] + (R[:, self.kp_joint] @ (self.kp_offset * scale).unsqueeze(-1)).squeeze(-1)
        return BodyOutput(verts, joints, kp, self.faces)


class IdentityPrior:
    """Latent = body pose; energy = mean(z²)."""

    def __init__(self, dim: int = 63, dtype=torch.float64):
        self.latent_dim = dim
        self.dtype = dtype

    def initial_latent(self, B: int) -> torch.Tensor:
        return torch.zeros(B, self.latent_dim, dtype=self.dtype)

    def decode(self, z):
        return z

    def energy(self, z):
        return (z * z).mean(dim=-1)


def floor_sdf(height: float = 0.0):
    """Signed distance to the half-space z < height (the floor), negative below it."""
    return lambda p: p[:, 2] - height


def ring_cameras(center, n: int = 6, radius: float = 2.0, elevation_deg: float = 15.0, size: int = 512,
                 start_deg: float = -150.0, span_deg: float = 120.0):
    """n cameras on an arc in front of the body (the body faces -Y at yaw 0)."""
    c = np.asarray(center, float)
    cams = []
    for i in range(n):
        a = math.radians(start_deg + span_deg * i / max(n - 1, 1))
        e = math.radians(elevation_deg)
        eye = c + radius * np.array([math.cos(a) * math.cos(e), math.sin(a) * math.cos(e), math.sin(e)])
        cams.append(Camera.look_at(eye, c, size, size, fov_y_deg=60.0, name=f"view{i:03d}"))
    return cams


def project_truth(body_out_keypoints: torch.Tensor, cameras, noise_px: float = 0.0, seed: int = 0) -> Keypoints2D:
    """Keypoints2D over the cameras from 3D keypoints (23, 3), with optional Gaussian pixel noise."""
    rng = np.random.default_rng(seed)
    kp = body_out_keypoints.detach().cpu().numpy().reshape(-1, 3)
    xy = np.stack([c.project(kp)[0] for c in cameras])
    xy = xy + noise_px * rng.standard_normal(xy.shape)
    return Keypoints2D(xy.astype(np.float32), np.ones(xy.shape[:2], np.float32))


def posed_params(model: StickBody, transl, yaw_deg: float = 0.0, pose: dict | None = None) -> BodyParams:
    """Batch-1 params with a world yaw, a pelvis position and joint rotvecs by name."""
    a = math.radians(yaw_deg)
    R = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], dtype=model.dtype)
    bp = torch.zeros(21, 3, dtype=model.dtype)
    for name, rv in (pose or {}).items():
        bp[BODY_JOINT_NAMES.index(name) - 1] = torch.tensor(rv, dtype=model.dtype)
    return BodyParams(rotmat_to_rotation6d(R)[None], torch.tensor([transl], dtype=model.dtype), bp.reshape(1, 63),
                      torch.zeros(1, 1, dtype=model.dtype))


SITTING = {
    "left_hip": (-1.4, 0.0, 0.0),
    "right_hip": (-1.4, 0.0, 0.0),
    "left_knee": (1.4, 0.0, 0.0),
    "right_knee": (1.4, 0.0, 0.0),
    "left_shoulder": (0.0, 0.0, -0.6),
    "right_shoulder": (0.0, 0.0, 0.6),
    "left_elbow": (0.0, 0.0, -0.5),
}
"""A sitting-ish pose of the stick figure (hips flexed forward, knees bent back)."""


def box_sdf(center, half):
    """Exact signed distance to an axis-aligned box (negative inside)."""
    c = torch.as_tensor(np.asarray(center, float))
    h = torch.as_tensor(np.asarray(half, float))

    def f(p):
        q = (p - c.to(p)).abs() - h.to(p)
        outside = q.clamp_min(0).norm(dim=-1)
        inside = q.max(dim=-1).values.clamp_max(0)
        return outside + inside

    return f


def union_sdf(*fs):
    """Union of solids: the minimum of their signed distances."""
    return lambda p: torch.stack([f(p) for f in fs]).min(dim=0).values


def seated_truth(model, seat_xy=(0.3, 0.2), seat_height=0.5, facing=(0.3, -1.0, 0.0), pose="sitting"):
    """A body in a named pose resting on a box seat whose feet rest on a floor.

    Returns:
        (params, output, sdf, floor_z): the floor is put at the lowest vertex, the seat top at
        ``seat_height`` under the buttocks, so the truth touches both and penetrates neither.
    """
    from inhabit.body.poses import make_pose, place_body

    point = [seat_xy[0], seat_xy[1], seat_height]
    params = place_body(model, make_pose(model, pose), point, facing=list(facing), pose_name=pose)
    with torch.no_grad():
        out = model(params)
    floor_z = float(out.vertices[0, :, 2].min())
    seat = box_sdf([seat_xy[0], seat_xy[1], (seat_height + floor_z) / 2 - 0.5],
                   [0.22, 0.22, (seat_height - floor_z) / 2 + 0.5])
    sdf = union_sdf(floor_sdf(floor_z), seat)
    return params, out, sdf, floor_z
