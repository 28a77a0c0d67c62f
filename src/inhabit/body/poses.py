"""Named interaction poses, written once as SMPL-X rotvecs by joint name, for every backend.

Each pose is a set of local joint rotations in SMPL-X's canonical axes (x = the body's left,
y = up, z = forward; see :mod:`inhabit.body.skeleton`) relative to the T-pose, plus a base
orientation of the whole body in world axes (identity = upright, facing -Y) and the body part that
touches the scene when the pose is placed (:func:`place_body`). ``make_pose(model, name)`` converts
them with ``model.body_pose_from_smplx_rotvec``, so the same pose looks the same on anny and SMPL-X.

Sign conventions used below (left side; the right side mirrors y and z):
hip/knee/ankle/spine/neck flexion is a rotation about x (hip flexion -, knee flexion +, spine
forward bend +, ankle plantarflexion +); shoulder abduction is about z (arm down = -90 degrees);
a hanging arm swings forward about x (-); the elbow flexes about y (-); the wrist extends about z (+).
These match the hinge directions of GenZI's joint-angle prior (:mod:`inhabit.body.prior`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from inhabit.body.protocol import BodyModel, BodyParams
from inhabit.body.skeleton import NUM_POSE_JOINTS, pose_joint_index
from inhabit.conventions import BODY_FORWARD, UP
from inhabit.errors import InputError

Steps = Sequence[tuple[str, float]]


def rot(*steps: tuple[str, float]) -> np.ndarray:
    """Rotation vector (radians) of elementary rotations ``(axis, degrees)`` applied in order about
    fixed axes: ``rot(("z", -72), ("x", -8))`` first lowers a T-pose arm, then swings it forward."""
    R = np.eye(3)
    for axis, deg in steps:
        R = _axis_rotation(axis, deg) @ R
    return _rotmat_to_rotvec(R)


def _axis_rotation(axis: str, deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    raise ValueError(f"axis must be x, y or z, got {axis!r}")


def _rotmat_to_rotvec(R: np.ndarray) -> np.ndarray:
    import roma

    return roma.rotmat_to_rotvec(torch.as_tensor(R, dtype=torch.float64)).numpy()


def mirror_rotvec(rv: np.ndarray) -> np.ndarray:
    """Rotvec of the left-right mirrored rotation (reflection x -> -x): ``(x, -y, -z)``."""
    return np.array([rv[0], -rv[1], -rv[2]])


def _mirror_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


@dataclass(frozen=True)
class NamedPose:
    """A pose by joint name.

    Attributes:
        name: key in :data:`POSES`.
        description: one line.
        joints: {SMPL-X joint name: (3,) rotvec in canonical axes, radians}; missing joints are 0.
        root: (3, 3) base orientation in world axes (identity: upright, facing -Y).
        contact: default ``place_body`` contact (``"feet"``, ``"pelvis"``, ``"back"``, ``"hands"``,
            ``"left_foot"``, ``"right_foot"``).
    """

    name: str
    description: str
    joints: dict[str, np.ndarray]
    root: np.ndarray = field(default_factory=lambda: np.eye(3))
    contact: str = "feet"

    def rotvec(self) -> torch.Tensor:
        """(21, 3) float64 SMPL-X body pose."""
        out = torch.zeros(NUM_POSE_JOINTS, 3, dtype=torch.float64)
        for name, rv in self.joints.items():
            out[pose_joint_index(name)] = torch.as_tensor(rv, dtype=torch.float64)
        return out

    def mirrored(self, name: str, description: str) -> NamedPose:
        """The left-right mirror image (for walk phases and one-sided poses)."""
        M = np.diag([-1.0, 1.0, 1.0])
        return NamedPose(name, description, {_mirror_name(k): mirror_rotvec(v) for k, v in self.joints.items()},
                         M @ self.root @ M, _mirror_name(self.contact))


def _sym(left: dict[str, Steps], center: dict[str, Steps] | None = None) -> dict[str, np.ndarray]:
    """Joint table from left-side rotations (mirrored onto the right) and centre joints."""
    out: dict[str, np.ndarray] = {}
    for k, steps in left.items():
        rv = rot(*steps)
        out[k] = rv
        out[_mirror_name(k)] = mirror_rotvec(rv)
    for k, steps in (center or {}).items():
        out[k] = rot(*steps)
    return out


def _sided(spec: dict[str, Steps]) -> dict[str, np.ndarray]:
    return {k: rot(*steps) for k, steps in spec.items()}


def _root(*steps: tuple[str, float]) -> np.ndarray:
    R = np.eye(3)
    for axis, deg in steps:
        R = _axis_rotation(axis, deg) @ R
    return R


_ARMS_RELAXED = {"left_shoulder": [("z", -72), ("x", -6)], "left_elbow": [("y", -15)]}

_walk_0 = NamedPose(
    "walk_0", "walk cycle, left heel strike (right leg pushing off, arms swinging opposite)",
    {
        **_sided({
            "left_hip": [("x", -25)], "left_knee": [("x", 5)], "left_ankle": [("x", -8)],
            "right_hip": [("x", 12)], "right_knee": [("x", 15)], "right_ankle": [("x", 12)],
            "left_shoulder": [("z", -75), ("x", 14)], "right_shoulder": [("z", 75), ("x", -16)],
            "left_elbow": [("y", -12)], "right_elbow": [("y", 25)],
        }),
        **_sided({"spine2": [("y", 3)]}),
    },
)
_walk_1 = NamedPose(
    "walk_1", "walk cycle, left mid-stance (right leg swinging through)",
    _sided({
        "left_hip": [("x", -2)], "left_knee": [("x", 10)],
        "right_hip": [("x", -22)], "right_knee": [("x", 55)], "right_ankle": [("x", -4)],
        "left_shoulder": [("z", -75), ("x", 2)], "right_shoulder": [("z", 75), ("x", -2)],
        "left_elbow": [("y", -15)], "right_elbow": [("y", 15)],
    }),
)

POSE_LIBRARY: dict[str, NamedPose] = {p.name: p for p in [
    NamedPose("t_pose", "arms straight out to the sides (SMPL-X's rest pose)", {}),
    NamedPose("a_pose", "arms 45 degrees down", _sym({"left_shoulder": [("z", -45)]})),
    NamedPose("standing", "relaxed standing, arms hanging with slightly bent elbows", _sym(_ARMS_RELAXED)),
    NamedPose(
        "sitting", "upright sitting: hips and knees at 90 degrees, forearms forward over the thighs",
        _sym({"left_hip": [("x", -90)], "left_knee": [("x", 90)],
              "left_shoulder": [("z", -70), ("x", -10)], "left_elbow": [("y", -70)]}),
        contact="pelvis",
    ),
    NamedPose(
        "sitting_relaxed", "reclined sitting on a sofa: pelvis tilted back, feet forward, hands on the thighs",
        _sym({"left_hip": [("x", -80)], "left_knee": [("x", 75)], "left_ankle": [("x", 8)],
              "left_shoulder": [("z", -62), ("x", -22)], "left_elbow": [("y", -45)]},
             {"neck": [("x", 10)], "head": [("x", 4)]}),
        root=_root(("x", -12)), contact="pelvis",
    ),
    NamedPose(
        "lying", "lying on the back, head towards +Y before placement, arms at the sides, knees soft",
        _sym({"left_hip": [("x", -6)], "left_knee": [("x", 10)], "left_ankle": [("x", 20)],
              "left_shoulder": [("z", -78)], "left_elbow": [("y", -10)]},
             {"neck": [("x", 12)]}),
        root=_root(("x", -90)), contact="back",
    ),
    NamedPose(
        "leaning", "leaning forward onto a counter, straight arms, hands flat on its top",
        _sym({"left_hip": [("x", -18)], "left_shoulder": [("z", -90), ("x", -70)], "left_elbow": [("y", -8)],
              "left_wrist": [("z", 55)]},
             {"spine1": [("x", 7)], "spine2": [("x", 7)], "spine3": [("x", 6)], "neck": [("x", -4)]}),
        root=_root(("x", 18)), contact="hands",
    ),
    NamedPose(
        "stepping", "left foot raised onto a step (about 19 cm), arms swinging opposite",
        _sided({
            "left_hip": [("x", -55)], "left_knee": [("x", 60)], "left_ankle": [("x", -4)],
            "left_shoulder": [("z", -75), ("x", 12)], "right_shoulder": [("z", 75), ("x", -14)],
            "left_elbow": [("y", -12)], "right_elbow": [("y", 20)],
            "spine1": [("x", 3)], "spine2": [("x", 3)],
        }),
        contact="left_foot",
    ),
    NamedPose(
        "reaching", "standing and reaching forward and up with the right arm",
        _sided({
            "right_shoulder": [("y", 90), ("x", -25)], "right_elbow": [("y", 8)],
            "left_shoulder": [("z", -72), ("x", -6)], "left_elbow": [("y", -15)],
            "spine1": [("x", 4)], "spine2": [("x", 4)], "spine3": [("x", 3)],
        }),
    ),
    NamedPose(
        "squatting", "deep squat, heels down, torso forward, arms forward for balance",
        _sym({"left_hip": [("x", -120)], "left_knee": [("x", 130)], "left_ankle": [("x", -30)],
              "left_shoulder": [("y", -75), ("x", 10)], "left_elbow": [("y", -20)]},
             {"spine1": [("x", 7)], "spine2": [("x", 7)], "spine3": [("x", 7)], "neck": [("x", -10)]}),
        root=_root(("x", 20)),
    ),
    _walk_0,
    _walk_1,
    _walk_0.mirrored("walk_2", "walk cycle, right heel strike"),
    _walk_1.mirrored("walk_3", "walk cycle, right mid-stance"),
]}

POSES: tuple[str, ...] = tuple(POSE_LIBRARY)
"""Names accepted by :func:`make_pose`."""

WALK_CYCLE: tuple[str, ...] = ("walk_0", "walk_1", "walk_2", "walk_3")
"""Keyframes of one walk cycle in order (interpolate with slerp; the cycle repeats)."""


def get_pose(name: str) -> NamedPose:
    """The :class:`NamedPose` called ``name``; ``InputError`` lists the known names."""
    try:
        return POSE_LIBRARY[name]
    except KeyError:
        raise InputError(f"unknown pose {name!r}; known poses: {', '.join(POSES)}") from None


def pose_rotvec(name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(21, 3) SMPL-X local axis-angles of the named pose (canonical axes)."""
    return get_pose(name).rotvec().to(dtype)


def make_pose(model: BodyModel, name: str, batch: int = 1, shape: torch.Tensor | None = None) -> BodyParams:
    """Parameters of ``model`` in the named pose, pelvis at the origin, the pose's base orientation.

    Args:
        model: any :class:`~inhabit.body.protocol.BodyModel`.
        name: one of :data:`POSES`.
        batch: batch size B (rows are identical).
        shape: (B, S) or (S,) shape; default the model's mean shape.
    """
    from inhabit.rotations import rotmat_to_rotation6d

    pose = get_pose(name)
    params = model.default_params(batch)
    rv = pose.rotvec().to(device=model.device)[None].expand(batch, -1, -1)
    body_pose = model.body_pose_from_smplx_rotvec(rv.to(torch.float64)).to(model.dtype)
    go = rotmat_to_rotation6d(torch.as_tensor(pose.root, dtype=model.dtype, device=model.device))
    params = params.replace(body_pose=body_pose.reshape(batch, -1), global_orient=go[None].repeat(batch, 1))
    if shape is not None:
        shape = torch.as_tensor(shape, dtype=model.dtype, device=model.device)
        params = params.replace(shape=shape.reshape(-1, model.shape_dim).expand(batch, -1).clone())
    return params


def walk_cycle_rotvecs(num_frames: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(T, 21, 3) a looping walk cycle: the :data:`WALK_CYCLE` keyframes slerped per joint."""
    import roma

    keys = torch.stack([get_pose(n).rotvec() for n in WALK_CYCLE])  # (4, 21, 3)
    q = roma.rotvec_to_unitquat(keys)
    out = []
    for t in range(num_frames):
        u = 4.0 * t / num_frames
        i = math.floor(u) % 4
        w = torch.tensor([u - math.floor(u)], dtype=torch.float64)
        out.append(roma.unitquat_to_rotvec(roma.unitquat_slerp(q[i], q[(i + 1) % 4], w)[0]))
    return torch.stack(out).to(dtype)


# ---------------------------------------------------------------------------------------------
# Placement

CONTACTS = ("feet", "left_foot", "right_foot", "pelvis", "back", "hands")


def heading_of(R_world_body: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) -> (B, 3) horizontal unit direction the body "faces": its forward axis projected on
    the floor, or where its head points when the forward axis is (nearly) vertical (lying)."""
    fwd = R_world_body @ torch.as_tensor(BODY_FORWARD, dtype=R_world_body.dtype, device=R_world_body.device)
    up = R_world_body @ torch.as_tensor(UP, dtype=R_world_body.dtype, device=R_world_body.device)
    fwd_h = fwd.clone()
    fwd_h[:, 2] = 0
    up_h = up.clone()
    up_h[:, 2] = 0
    use_up = fwd_h.norm(dim=1) < 0.3
    h = torch.where(use_up[:, None], up_h, fwd_h)
    return h / h.norm(dim=1, keepdim=True).clamp_min(1e-9)


def place_body(model: BodyModel, params: BodyParams, point, facing=None, contact: str | None = None,
               pose_name: str | None = None) -> BodyParams:
    """Turn and move a posed body so that its contact part touches ``point`` and it faces ``facing``.

    Args:
        model: the body model of ``params``.
        params: (B rows) posed parameters (e.g. from :func:`make_pose`); pose and shape are kept.
        point: (3,) or (B, 3) world point on the surface the body touches (seat, mattress, floor,
            counter top, step).
        facing: None (keep the heading), a (3,) world direction (its horizontal part is used), or a
            yaw angle in radians (0 faces -Y). For a lying body, the heading is where the head points.
        contact: which part touches ``point``: ``"feet"`` (both soles; ``point`` between them),
            ``"left_foot"``/``"right_foot"``, ``"pelvis"`` (the buttocks under the pelvis, sitting),
            ``"back"`` (lowest point of the torso, lying), ``"hands"`` (lowest point of the hands,
            leaning). Default: the named pose's contact when ``pose_name`` is given, else ``"feet"``.

    Returns:
        New parameters with ``global_orient`` and ``transl`` set (no gradient). The contact point's
        height is the lowest vertex of the contact region, so the body rests on, not in, the surface.
    """
    from inhabit.body.kinematics import yaw_rotation
    from inhabit.body.parts import part_mask
    from inhabit.rotations import rotation6d_to_rotmat, rotmat_to_rotation6d

    if contact is None:
        contact = get_pose(pose_name).contact if pose_name else "feet"
    if contact not in CONTACTS:
        raise InputError(f"place_body: contact must be one of {CONTACTS}, got {contact!r}")
    B = params.batch_size
    kw = {"dtype": model.dtype, "device": model.device}
    point = torch.as_tensor(np.asarray(point, dtype=np.float64), **kw).reshape(-1, 3).expand(B, 3)
    if not torch.isfinite(point).all():
        raise InputError(f"place_body: point must be finite, got {point[0].tolist()}")
    with torch.no_grad():
        R = rotation6d_to_rotmat(params.global_orient.detach())
        if facing is not None:
            if np.ndim(facing) == 0:
                yaw_target = torch.full((B,), float(facing), **kw)
            else:
                f = torch.as_tensor(np.asarray(facing, dtype=np.float64), **kw).reshape(3)
                if f[:2].norm() < 1e-6:
                    raise InputError(f"place_body: facing {f.tolist()} has no horizontal component")
                # yaw 0 faces -Y: yaw = atan2(f_x, -f_y)
                yaw_target = torch.atan2(f[0], -f[1]).expand(B)
            h = heading_of(R)
            yaw_now = torch.atan2(h[:, 0], -h[:, 1])
            R = torch.stack([yaw_rotation(float(d), dtype=model.dtype).to(model.device) for d in yaw_target - yaw_now]) @ R
        oriented = params.detach().replace(global_orient=rotmat_to_rotation6d(R), transl=torch.zeros(B, 3, **kw))
        out = model(oriented)
        V = out.vertices
        if contact in ("feet", "left_foot", "right_foot"):
            names = ("left_foot", "right_foot") if contact == "feet" else (contact,)
            m = part_mask(model, *names)
            xy = V[:, m, :2].mean(dim=1)
            z = V[:, m, 2].amin(dim=1)
        elif contact == "hands":
            m = part_mask(model, "left_hand", "right_hand")
            xy = V[:, m, :2].mean(dim=1)
            z = V[:, m, 2].amin(dim=1)
        elif contact == "back":
            m = part_mask(model, "torso")
            xy = V[:, m, :2].mean(dim=1)
            z = V[:, m, 2].amin(dim=1)
        else:  # pelvis: lowest torso/thigh skin within 12 cm (horizontally) of the pelvis joint
            m = part_mask(model, "torso", "left_thigh", "right_thigh")
            xy = out.joints[:, 0, :2]
            near = (V[:, :, :2] - xy[:, None]).norm(dim=2) < 0.12
            zz = torch.where(near & m[None], V[:, :, 2], torch.full_like(V[:, :, 2], float("inf")))
            z = zz.amin(dim=1)
        c = torch.cat([xy, z[:, None]], dim=1)
        return oriented.replace(transl=point - c)


__all__ = ["CONTACTS", "POSES", "POSE_LIBRARY", "WALK_CYCLE", "NamedPose", "get_pose", "make_pose",
           "mirror_rotvec", "place_body", "pose_rotvec", "rot", "walk_cycle_rotvecs"]
