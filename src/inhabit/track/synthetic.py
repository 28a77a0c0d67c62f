"""Synthetic ground truth for the motion reconstruction: known motions rendered into clips.

A clip is made the way the motion job sees one: the scene, a Gaussian human and an optional
Gaussian object rendered *together* by the splatter (one joint depth sort, not the tracker's
two-layer shortcut) from a slowly moving camera. The visible human and object masks come from the
same render (indicator channels composited with the colours), so they are exact.

Motions (all in the demo room, 10 fps): :func:`walk_motion` (a slow walk along a line with the
library's walk cycle), :func:`sit_motion` (standing in front of the bench, sitting down onto it),
:func:`lift_motion` (reaching to a box and lifting it, the box following the hands).
Used by ``benchmarks/motion_synthetic.py`` and the tests of :mod:`inhabit.track`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from inhabit.body.protocol import BodyModel, BodyParams
from inhabit.camera.pinhole import Camera, invert_rigid
from inhabit.scene.gaussians import GaussianSet


@dataclass
class TruthMotion:
    """A known motion.

    Attributes:
        params: (T rows) body parameters.
        T_cam_world: (T, 4, 4) camera poses (world -> camera).
        camera: K and size (its own pose = frame 0's).
        object_pose: (T, 4, 4) ``T_world_object`` or None.
        object_gaussians: the object's Gaussians in its own frame, or None.
        name: label; fps: frame rate.
    """

    params: BodyParams
    T_cam_world: np.ndarray
    camera: Camera
    object_pose: np.ndarray | None = None
    object_gaussians: GaussianSet | None = None
    name: str = "motion"
    fps: float = 10.0

    @property
    def num_frames(self) -> int:
        return int(self.params.batch_size)

    def slice(self, start: int, stop: int | None = None) -> TruthMotion:
        """Frames ``start .. stop − 1`` as a motion of their own (its camera at frame ``start``)."""
        sl = slice(start, stop)
        T = self.T_cam_world[sl]
        cam = Camera(self.camera.K.copy(), T[0].copy(), self.camera.width, self.camera.height, self.camera.name)
        return TruthMotion(self.params.index(sl), T.copy(), cam,
                           None if self.object_pose is None else self.object_pose[sl].copy(),
                           self.object_gaussians, self.name, self.fps)


@dataclass
class SyntheticClip:
    """Rendered frames of a :class:`TruthMotion`.

    Attributes:
        frames: (T, H, W, 3) uint8. human_masks, object_masks: (T, H, W) bool (visible parts).
        background: (T, H, W, 3) uint8 the static scene from each frame's camera.
    """

    frames: np.ndarray
    human_masks: np.ndarray
    object_masks: np.ndarray
    background: np.ndarray
    meta: dict = field(default_factory=dict)


# --- appearance ------------------------------------------------------------------------------------


@torch.no_grad()
def dress_human(human, body_model: BodyModel, stripes: float = 0.12) -> None:
    """Colour a :class:`~inhabit.body.gaussian_human.GaussianHuman` as a clothed person (skin, shirt,
    trousers, shoes by body part) with soft horizontal stripes (``stripes`` = relative amplitude) so
    that photometric alignment has texture inside each garment; resets the colour net's output."""
    from inhabit.body.parts import PART_NAMES
    from inhabit.perceive.synthetic import clothed_vertex_colors

    labels = body_model.vertex_parts()
    vcol = torch.as_tensor(clothed_vertex_colors(labels, PART_NAMES), dtype=human.bary.dtype) / 255.0
    faces = body_model.faces.long()
    col = (vcol[faces[human.face_idx]] * human.bary[..., None]).sum(1)  # (M, 3)
    z = human.rest_pos[:, 2]
    col = col * (1.0 + stripes * torch.sin(2 * math.pi * z / 0.08))[:, None]
    human.base_color_logits.copy_(torch.logit(col.clamp(0.03, 0.97)))
    if human.color_net is not None:
        human.color_net.reset_output()


def box_object_mesh(size=(0.24, 0.18, 0.16), checks: int = 4):
    """A closed box mesh centred at its origin (object frame) with a two-tone checker per face
    (a :class:`~inhabit.scene.mesh.MeshPart`), so its rotation is visible."""
    from inhabit.scene.mesh import MeshPart

    sx, sy, sz = (0.5 * s for s in size)
    corners = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)])
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    n = checks
    verts, faces, cols = [], [], []
    palette = np.array([[200, 60, 40], [240, 200, 60], [40, 90, 200], [230, 230, 230], [40, 160, 80], [120, 50, 160]])
    for qi, (a, b, _c, d) in enumerate(quads):
        A, B, D = corners[a], corners[b], corners[d]
        for i in range(n):
            for j in range(n):
                p = [A + (B - A) * (i + di) / n + (D - A) * (j + dj) / n for di, dj in ((0, 0), (1, 0), (1, 1), (0, 1))]
                k = len(verts)
                verts += p
                faces += [[k, k + 1, k + 2], [k, k + 2, k + 3]]
                c = palette[qi] if (i + j) % 2 == 0 else (palette[qi] * 0.45).astype(int)
                cols += [c] * 4
    rgba = np.concatenate([np.array(cols, np.uint8), np.full((len(cols), 1), 255, np.uint8)], 1)
    return MeshPart(np.array(verts), np.array(faces), vertex_colors=rgba, base_color=np.ones(4), name="box")


def box_object_gaussians(size=(0.24, 0.18, 0.16), spacing: float = 0.012, seed: int = 0) -> GaussianSet:
    """:func:`box_object_mesh` as Gaussians (object frame)."""
    from inhabit.scene.gaussians_mesh import gaussians_from_mesh
    from inhabit.scene.mesh import SceneMesh

    return gaussians_from_mesh(SceneMesh(parts=[box_object_mesh(size)], name="box"), spacing=spacing, seed=seed)


# --- motions -----------------------------------------------------------------------------------------


def _slerp_rotvecs(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    import roma

    qa, qb = roma.rotvec_to_unitquat(a.double()), roma.rotvec_to_unitquat(b.double())
    return roma.unitquat_to_rotvec(roma.unitquat_slerp(qa, qb, torch.tensor([w], dtype=torch.float64))[0]).to(a.dtype)


def smoothstep(x: np.ndarray | float) -> np.ndarray:
    """3x² − 2x³ on [0, 1] (zero velocity at both ends)."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def camera_path(camera: Camera, num_frames: int, rot_deg: float = 1.0, shift_m: float = 0.04, seed: int = 0
                ) -> np.ndarray:
    """(T, 4, 4) a slowly drifting ``T_cam_world``: a smooth pan/tilt of up to ``rot_deg`` and a
    camera-centre shift of up to ``shift_m`` (random directions, smoothstep in time)."""
    import roma

    rng = np.random.default_rng(seed)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    shift = rng.normal(size=3)
    shift *= shift_m / np.linalg.norm(shift)
    T0 = camera.T_world_cam
    out = np.zeros((num_frames, 4, 4))
    for t in range(num_frames):
        s = float(smoothstep(t / max(1, num_frames - 1)))
        R = roma.rotvec_to_rotmat(torch.as_tensor(axis * math.radians(rot_deg) * s)).numpy()
        T = T0.copy()
        T[:3, :3] = R @ T0[:3, :3]  # rotation about the camera centre
        T[:3, 3] = T0[:3, 3] + shift * s
        out[t] = invert_rigid(T)
    return out


def _pose_params(model: BodyModel, rotvecs: torch.Tensor, orient6: torch.Tensor, transl: torch.Tensor) -> BodyParams:
    """rotvecs (T, 21, 3) SMPL-X-style, orient6 (T, 6), transl (T, 3) -> BodyParams."""
    T = rotvecs.shape[0]
    base = model.default_params(T)
    body_pose = model.body_pose_from_smplx_rotvec(rotvecs.to(torch.float64)).to(model.dtype).reshape(T, -1)
    return base.replace(body_pose=body_pose, global_orient=orient6.to(model.dtype), transl=transl.to(model.dtype))


def _orient6_facing(direction, T: int, dtype=torch.float32) -> torch.Tensor:
    """(T, 6) upright orientation facing the horizontal ``direction`` (a yaw about +Z maps the body's
    forward −Y to (sin a, −cos a, 0))."""
    from inhabit.body.kinematics import yaw_rotation
    from inhabit.rotations import rotmat_to_rotation6d

    d = np.asarray(direction, np.float64)
    R = yaw_rotation(math.atan2(d[0], -d[1]), torch.float64).reshape(3, 3)
    return rotmat_to_rotation6d(R.to(dtype))[None].expand(T, -1).clone()


def _standing_height(model: BodyModel, rotvec: torch.Tensor) -> float:
    """Pelvis height above the lowest vertex for a pose (upright, identity orientation)."""
    p = _pose_params(model, rotvec[None], _orient6_facing((0, -1, 0), 1), torch.zeros(1, 3))
    with torch.no_grad():
        v = model(p).vertices[0]
    return float(-v[:, 2].min())


def walk_motion(model: BodyModel, num_frames: int = 51, size: int = 256, start=(1.9, -1.3), end=(1.9, -0.1),
                cycle_frames: int = 12, fov_y_deg: float = 60.0) -> TruthMotion:
    """A slow walk (1.2 m in ``num_frames`` frames, a 12-frame cycle) on the free floor of the demo
    room's right half, seen from the front wall (1.5 m up, about 2.6 m away). It stops short of the
    bed (its frame starts at y = 0.45; a walk to y = 0.3 swung a foot 10 cm into it): every frame is
    free of the scene but a heel's 3 mm at mid-stance."""
    from inhabit.body.poses import walk_cycle_rotvecs

    T = num_frames
    cyc = walk_cycle_rotvecs(cycle_frames)
    rv = torch.stack([cyc[t % cycle_frames] for t in range(T)])
    d = np.array([end[0] - start[0], end[1] - start[1], 0.0])
    d /= np.linalg.norm(d)
    h = _standing_height(model, rv[0])
    s = np.linspace(0.0, 1.0, T)
    xy = np.asarray(start)[None] + s[:, None] * (np.asarray(end) - np.asarray(start))[None]
    transl = torch.as_tensor(np.concatenate([xy, np.full((T, 1), h)], 1), dtype=torch.float32)
    params = _pose_params(model, rv, _orient6_facing(d, T), transl)
    mid = 0.5 * (np.asarray(start) + np.asarray(end))
    cam = Camera.look_at([0.1, -2.2, 1.5], [mid[0], mid[1], 0.85], size, size, fov_y_deg)
    return TruthMotion(params, camera_path(cam, T, seed=1), cam, name="walk")


def sit_motion(model: BodyModel, num_frames: int = 51, size: int = 256, fov_y_deg: float = 60.0) -> TruthMotion:
    """Sitting down onto the demo room's bench (seat 0.45 m at y = −1.55, facing +y): standing 45 cm
    in front of it, the pelvis moves back and down while hips and knees bend to 90 degrees."""
    from inhabit.body.poses import place_body, pose_rotvec

    T = num_frames
    stand = pose_rotvec("standing")
    sit = pose_rotvec("sitting")
    facing = np.array([0.0, 1.0, 0.0])
    p_sit = place_body(model, _pose_params(model, sit[None], _orient6_facing(facing, 1), torch.zeros(1, 3)),
                       np.array([-0.6, -1.55, 0.45]), facing, contact="pelvis")
    h = _standing_height(model, stand)
    start = np.array([-0.6, -1.55 + 0.38, h])
    end = p_sit.transl[0].numpy().astype(np.float64)
    w = smoothstep((np.arange(T) / max(1, T - 1) - 0.1) / 0.8)
    rv = torch.stack([_slerp_rotvecs(stand, sit, float(x)) for x in w])
    # the pelvis drops late (knees bend first), and moves back early
    wz = smoothstep((np.arange(T) / max(1, T - 1) - 0.25) / 0.7)
    transl = np.stack([start + (end - start) * np.array([wi, wi, wzi]) for wi, wzi in zip(w, wz)])
    params = _pose_params(model, rv, _orient6_facing(facing, T), torch.as_tensor(transl, dtype=torch.float32))
    cam = Camera.look_at([0.9, -0.2, 1.45], [-0.6, -1.4, 0.7], size, size, fov_y_deg)
    return TruthMotion(params, camera_path(cam, T, seed=2), cam, name="sit")


def lift_motion(model: BodyModel, num_frames: int = 51, size: int = 256, fov_y_deg: float = 60.0,
                table_top: float = 0.75) -> TruthMotion:
    """Reaching to a box on the demo room's table with both arms and lifting it (standing at the
    table's +x end, facing −x): the box rests on the table under the hands' grasp position (the
    pose half-way) and then follows the hands rigidly, tilting by 6 degrees."""
    from inhabit.body.poses import rot

    T = num_frames
    stand = _np_pose("standing")
    reach = stand.copy()
    lift = stand.copy()
    from inhabit.body.skeleton import pose_joint_index

    for side, sgn in (("left", 1.0), ("right", -1.0)):
        # arms forward (about the vertical axis), then down towards the table / up with the box
        reach[pose_joint_index(f"{side}_shoulder")] = rot(("y", -sgn * 90), ("x", 38))
        reach[pose_joint_index(f"{side}_elbow")] = rot(("y", -sgn * 20))
        lift[pose_joint_index(f"{side}_shoulder")] = rot(("y", -sgn * 90), ("x", 12))
        lift[pose_joint_index(f"{side}_elbow")] = rot(("y", -sgn * 35))
    for j in ("spine1", "spine2", "spine3"):
        reach[pose_joint_index(j)] = rot(("x", 12))
        lift[pose_joint_index(j)] = rot(("x", 3))
    stand_t, reach_t, lift_t = (torch.as_tensor(a, dtype=torch.float32) for a in (stand, reach, lift))
    facing = np.array([-1.0, 0.0, 0.0])
    h = _standing_height(model, stand_t)
    pos = np.array([0.97, 0.7, h])
    half = T // 2
    rvs = []
    for t in range(T):
        if t <= half:
            rvs.append(_slerp_rotvecs(stand_t, reach_t, float(smoothstep(t / max(1, half)))))
        else:
            rvs.append(_slerp_rotvecs(reach_t, lift_t, float(smoothstep((t - half) / max(1, T - 1 - half)))))
    rv = torch.stack(rvs)
    params = _pose_params(model, rv, _orient6_facing(facing, T), torch.as_tensor(pos, dtype=torch.float32)[None].repeat(T, 1))
    with torch.no_grad():
        j = model(params).joints
    wrists = 0.5 * (j[:, 20] + j[:, 21]).double().numpy()
    fwd = facing / np.linalg.norm(facing)
    half_height = 0.5 * float((motion_box := box_object_gaussians()).means[:, 2].max() - motion_box.means[:, 2].min())
    grasp = wrists[half] + 0.09 * fwd
    grasp[2] = table_top + half_height
    obj_pose = np.repeat(np.eye(4)[None], T, axis=0)
    import roma

    for t in range(T):
        if t <= half:
            obj_pose[t, :3, 3] = grasp
        else:
            s = float(smoothstep((t - half) / max(1, T - 1 - half)))
            obj_pose[t, :3, 3] = grasp + (wrists[t] - wrists[half])
            obj_pose[t, :3, :3] = roma.rotvec_to_rotmat(torch.tensor([0.0, math.radians(6.0) * s, 0.0],
                                                                        dtype=torch.float64)).numpy()
    cam = Camera.look_at([1.7, -1.3, 1.5], [0.75, 0.7, 0.95], size, size, fov_y_deg)
    return TruthMotion(params, camera_path(cam, T, seed=3), cam, obj_pose, motion_box, name="lift")


def _np_pose(name: str) -> np.ndarray:
    from inhabit.body.poses import pose_rotvec

    return pose_rotvec(name, torch.float64).numpy().copy()


MOTIONS = {"walk": walk_motion, "sit": sit_motion, "lift": lift_motion}
"""Name -> motion builder ``(model, num_frames, size) -> TruthMotion``."""


# --- rendering ---------------------------------------------------------------------------------------


@torch.no_grad()
def render_clip(scene: GaussianSet, human, body_model: BodyModel, motion: TruthMotion, splatter=None,
                background=(0.0, 0.0, 0.0), mask_threshold: float = 0.5) -> SyntheticClip:
    """Render a motion the way the video would show it (everything in one splatter call per frame).

    Returns:
        :class:`SyntheticClip` (frames, visible human/object masks at ``mask_threshold`` of their
        composited indicator channels, and the static scene from each camera).
    """
    from inhabit.progress import track
    from inhabit.render.splat import get_splatter
    from inhabit.track.delta import camera_center_of

    spl = splatter or get_splatter(device=scene.device)
    bg = torch.as_tensor(background, dtype=scene.dtype)
    frames, hms, oms, bgs = [], [], [], []
    for t in track(range(motion.num_frames), "render clip", total=motion.num_frames):
        T = torch.as_tensor(motion.T_cam_world[t], dtype=scene.dtype)
        p = motion.params.index(t).to(dtype=body_model.dtype)
        hg = human(p, camera_center_of(T))
        parts = [scene, hg]
        ex = [torch.zeros(len(scene), 2), torch.tensor([[1.0, 0.0]]).expand(len(hg), 2)]
        if motion.object_gaussians is not None:
            og = motion.object_gaussians.transformed(torch.as_tensor(motion.object_pose[t], dtype=scene.dtype))
            parts.append(og)
            ex.append(torch.tensor([[0.0, 1.0]]).expand(len(og), 2))
        out = spl.render(GaussianSet.cat(parts), motion.camera, T_cam_world=T, background=bg,
                         extra=torch.cat(ex).to(scene.dtype))
        frames.append((out.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy())
        hms.append((out.extra[..., 0] > mask_threshold).numpy())
        oms.append((out.extra[..., 1] > mask_threshold).numpy())
        sb = spl.render(scene, motion.camera, T_cam_world=T, background=bg)
        bgs.append((sb.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy())
    return SyntheticClip(np.stack(frames), np.stack(hms), np.stack(oms), np.stack(bgs))


__all__ = ["MOTIONS", "SyntheticClip", "TruthMotion", "box_object_gaussians", "box_object_mesh", "camera_path", "dress_human",
           "lift_motion", "render_clip", "sit_motion", "smoothstep", "walk_motion"]
