"""A tiny end-to-end reconstruction (3 frames, fast preset), the track file, resume and chaining."""

import math

import numpy as np
import pytest
import torch

from inhabit.body.prior import AnglePrior
from inhabit.camera.pinhole import invert_rigid
from inhabit.errors import InputError
from inhabit.scene.gaussians import RigidObject
from inhabit.track.config import track_preset
from inhabit.track.motion import MotionTrack, TrackInit, chain_clips, reconstruct_motion
from inhabit.track.synthetic import TruthMotion, box_object_gaussians, camera_path, render_clip


@pytest.fixture(scope="module")
def clip(room, body, small_human, helpers):
    """3 frames at 96²: the person steps 2 cm/frame sideways and raises the right arm 10°/frame; a box
    beside it moves 1.5 cm and turns 4° per frame; the camera drifts 0.15° and 5 mm per frame."""
    from inhabit.rotations import rotation_about

    n = 3
    cam = helpers.room_camera(96, distance=2.0)
    base = helpers.standing_params(body)
    rv = body.body_pose_to_smplx_rotvec(base.body_pose).reshape(1, 21, 3).repeat(n, 1, 1)
    from inhabit.body.skeleton import pose_joint_index

    j = pose_joint_index("right_shoulder")
    for t in range(n):
        rv[t, j, 2] -= math.radians(10.0 * t)  # raise (abduct) the right arm 10 degrees per frame
    params = base.replace(body_pose=body.body_pose_from_smplx_rotvec(rv.double()).float().reshape(n, -1),
                          global_orient=base.global_orient.repeat(n, 1), shape=base.shape.repeat(n, 1),
                          transl=base.transl + torch.tensor([[0.02, 0.0, 0.0]]) * torch.arange(n)[:, None])
    obj_pose = np.repeat(np.eye(4)[None], n, 0)
    for t in range(n):
        obj_pose[t, :3, 3] = [-0.5 + 0.015 * t, 0.1, 0.9]
        obj_pose[t, :3, :3] = rotation_about("z", 4.0 * t, torch.float64).numpy()
    motion = TruthMotion(params, camera_path(cam, n, rot_deg=0.3, shift_m=0.01, seed=0), cam, obj_pose,
                         box_object_gaussians(spacing=0.02), "tiny")
    cam.T_cam_world = motion.T_cam_world[0].copy()
    rendered = render_clip(room, small_human, body, motion)
    # the detector's part, made exact: the true keypoints projected (ZeroHSI's per-frame pose estimate)
    from inhabit.camera.pinhole import Camera
    from inhabit.perceive.synthetic import project_keypoints
    from inhabit.structures import Keypoints2D

    with torch.no_grad():
        kpw = body(motion.params).keypoints
    rendered.meta["keypoints"] = Keypoints2D.stack([
        project_keypoints(kpw[t], Camera(cam.K, motion.T_cam_world[t], cam.width, cam.height)) for t in range(n)])
    return motion, rendered


def _errors(body, track: MotionTrack, motion: TruthMotion) -> dict:
    with torch.no_grad():
        J = body(track.params).joints
        Jt = body(motion.params).joints
    cam_t = np.linalg.norm(track.T_world_cam[:, :3, 3] - invert_rigid(motion.T_cam_world)[:, :3, 3], axis=-1)
    return {"mpjpe": (J - Jt).norm(dim=-1).mean(-1).numpy(), "cam": cam_t,
            "obj": np.linalg.norm(track.object_pose[:, :3, 3] - motion.object_pose[:, :3, 3], axis=-1)}


def test_tiny_reconstruction_end_to_end(room, body, small_human, clip, tmp_path):
    motion, rendered = clip
    init = TrackInit(motion.params.index(0), motion.camera, motion.object_pose[0])
    cfg = track_preset("fast")
    saved = {}

    def callback(t, tr):
        saved[t] = tr.save(tmp_path / f"track_{t}.npz")

    appearance0 = {k: v.clone() for k, v in small_human.state_dict().items()}
    try:
        track = reconstruct_motion(room, small_human, body, AnglePrior(body), RigidObject(motion.object_gaussians),
                                   init, rendered.frames, rendered.human_masks, rendered.object_masks, rendered.meta["keypoints"],
                                   cfg, callback=callback)
    finally:
        small_human.load_state_dict(appearance0)  # the session fixture is shared: undo the fine-tuning
    assert track.status.tolist() == ["init", "ok", "ok"] and sorted(saved) == [1, 2]
    still = MotionTrack.start(3, init, True)  # the "nothing moved" baseline
    err, base = _errors(body, track, motion), _errors(body, still, motion)
    assert err["mpjpe"][0] == 0.0
    assert np.all(err["mpjpe"][1:] < 0.5 * base["mpjpe"][1:]), (err, base)
    assert np.all(err["obj"][1:] < 0.5 * base["obj"][1:]), (err, base)
    assert np.all(err["cam"] < 0.006)
    assert np.all(track.losses["total"][1:] < track.losses["total_first"][1:])
    assert track.appearance is not None and "base_color_logits" in track.appearance

    # the saved file round-trips
    loaded = MotionTrack.load(saved[2])
    assert loaded.status.tolist() == track.status.tolist()
    np.testing.assert_array_equal(loaded.T_world_cam, track.T_world_cam)
    np.testing.assert_array_equal(loaded.object_pose, track.object_pose)
    assert torch.equal(loaded.params.body_pose, track.params.body_pose)
    np.testing.assert_array_equal(loaded.losses["total"], track.losses["total"])

    # resuming the track saved after frame 1 redoes frame 2 only
    partial = MotionTrack.load(saved[1])
    assert partial.num_done == 2 and partial.status[2] == "pending"
    try:
        resumed = reconstruct_motion(room, small_human, body, AnglePrior(body), RigidObject(motion.object_gaussians),
                                     init, rendered.frames, rendered.human_masks, rendered.object_masks,
                                     rendered.meta["keypoints"], cfg, resume=partial)
    finally:
        small_human.load_state_dict(appearance0)
    assert resumed.complete and resumed.status.tolist() == ["init", "ok", "ok"]
    assert torch.equal(resumed.params.body_pose[1], partial.params.body_pose[1])
    assert _errors(body, resumed, motion)["mpjpe"][2] < 0.5 * base["mpjpe"][2]

    # chaining: clip 2 starts at clip 1's last frame, which appears once
    nxt = track.init_for_next()
    assert torch.equal(nxt.params.transl, track.params.transl[2:])
    np.testing.assert_allclose(nxt.camera.T_world_cam, track.T_world_cam[2], atol=1e-6)
    clip2 = MotionTrack.start(2, nxt, True)
    clip2.set_frame(1, nxt.params, nxt.camera.T_cam_world, nxt.object_pose, "ok")
    long = chain_clips([track, clip2])
    assert long.num_frames == 4 and long.meta["clip_starts"] == [0, 3]
    assert long.status.tolist() == ["init", "ok", "ok", "ok"]
    with pytest.raises(InputError, match=r"^clip 1 is unfinished"):
        chain_clips([track, MotionTrack.start(2, nxt, True)])


def test_bad_inputs_are_named(room, body, small_human, clip, tmp_path):
    motion, rendered = clip
    init = TrackInit(motion.params.index(0), motion.camera, motion.object_pose[0])
    args = (room, small_human, body, None, None, init)
    with pytest.raises(InputError, match=r"^frames are 48x48 but the camera of init is 96x96"):
        reconstruct_motion(*args, rendered.frames[:, ::2, ::2], rendered.human_masks)
    with pytest.raises(InputError, match=r"^human_masks has shape \(2, 96, 96\); expected \(3, 96, 96\)"):
        reconstruct_motion(*args, rendered.frames, rendered.human_masks[:2])
    bad = rendered.frames.astype(np.float32) / 255.0
    bad[1, 3, 3, 0] = np.nan
    with pytest.raises(InputError, match=r"^frames contain NaN"):
        reconstruct_motion(*args, bad, rendered.human_masks)
    with pytest.raises(InputError, match=r"an object is given but init\.object_pose is None"):
        reconstruct_motion(room, small_human, body, None, RigidObject(motion.object_gaussians),
                           TrackInit(init.params, init.camera, None), rendered.frames, rendered.human_masks)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="is not an inhabit track file"):
        MotionTrack.load(tmp_path / "other.npz")
    with pytest.raises(InputError, match="does not exist"):
        MotionTrack.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("name", ["walk", "sit"])
def test_benchmark_truth_motions_stay_out_of_the_scene(body, name):
    """The ground truth of benchmarks/motion_synthetic.py must itself be physically plausible, or its
    penetration metric measures the truth's flaw (the first walk ended with a foot 10 cm in the bed)."""
    from inhabit.scene.demo import make_demo_scene
    from inhabit.scene.sdf import MeshSDF
    from inhabit.track.synthetic import MOTIONS

    sdf = MeshSDF(make_demo_scene("room"))
    truth = MOTIONS[name](body, num_frames=51, size=64)
    with torch.no_grad():
        verts = body(truth.params.to(dtype=body.dtype)).vertices
    deepest = min(float(sdf(verts[t]).min()) for t in range(truth.num_frames))
    assert deepest > -0.005, f"{name}: a vertex {-deepest * 100:.1f} cm inside the scene"
