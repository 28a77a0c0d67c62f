"""Per-frame keypoint initialisation and the sequence refinement (smoothness, contact, penetration)."""

import numpy as np
import pytest
import torch

from inhabit.body.prior import AnglePrior
from inhabit.body.protocol import BodyParams
from inhabit.track.config import track_preset
from inhabit.track.keypoint_init import fit_pose_to_keypoints
from inhabit.track.motion import MotionTrack, TrackInit


def mpjpe(body, a: BodyParams, b: BodyParams) -> float:
    with torch.no_grad():
        return float((body(a).joints - body(b).joints).norm(dim=-1).mean())


def test_keypoint_fit_moves_the_pose_towards_the_detections(body, helpers):
    from inhabit.body.poses import make_pose
    from inhabit.perceive.synthetic import project_keypoints

    cam = helpers.room_camera(256)
    start = helpers.standing_params(body)
    truth = make_pose(body, "walk_0").replace(global_orient=start.global_orient.clone(),
                                              transl=start.transl + torch.tensor([[0.03, 0.0, 0.0]]))
    with torch.no_grad():
        kp = project_keypoints(body(truth).keypoints[0], cam)
    # weaker pulls to frame t - 1 than the defaults: here the keypoints are exact and the step is large
    cfg = track_preset("zerohsi", kp_prev_weight=0.3, kp_root_weight=0.01)
    fitted, info = fit_pose_to_keypoints(body, start, kp, cam, cam.T_cam_world, cfg, AnglePrior(body))
    from inhabit.lift.correspondences import build_correspondences

    assert info["skipped"] == 0.0 and info["points"] == len(build_correspondences(kp.names).names)  # all seen
    assert info["energy_last"] < 0.3 * info["energy_first"]
    e0, e1 = mpjpe(body, start, truth), mpjpe(body, fitted, truth)
    assert e1 < 0.5 * e0, (e0, e1)

    # a faded person: too few confident keypoints -> the previous pose, flagged as skipped
    weak = kp.__class__(kp.xy, np.where(np.arange(23) < 5, kp.conf, 0.1), kp.names)
    same, info = fit_pose_to_keypoints(body, start, weak, cam, cam.T_cam_world, cfg)
    assert info["skipped"] == 1.0 and torch.equal(same.body_pose, start.body_pose)


def _track(body, params: BodyParams, cam, object_pose=None) -> MotionTrack:
    n = params.batch_size
    tr = MotionTrack.start(n, TrackInit(params.index(0), cam, None if object_pose is None else object_pose[0]),
                           object_pose is not None)
    for t in range(1, n):
        tr.set_frame(t, params.index(t), cam.T_cam_world, None if object_pose is None else object_pose[t], "ok")
    return tr


def test_refinement_reduces_a_synthetic_jitter(body, helpers):
    from inhabit.body.poses import walk_cycle_rotvecs
    from inhabit.track.refine import refine_motion

    n = 8
    cam = helpers.room_camera(64)
    base = helpers.standing_params(body)
    rv = walk_cycle_rotvecs(16)[:n]  # a smooth motion ...
    pose = body.body_pose_from_smplx_rotvec(rv.double()).float().reshape(n, -1)
    noise = torch.randn(n, pose.shape[1], generator=torch.Generator().manual_seed(0)) * 0.04
    noise[0] = 0.0
    jittered = pose + noise  # ... with 2.3 degrees of per-frame noise on every joint axis
    params = BodyParams(base.global_orient.expand(n, -1).clone(), base.transl.expand(n, -1).clone(), jittered,
                        base.shape.expand(n, -1).clone())
    tr = _track(body, params, cam)
    # the paper's weights (λ_physics 1e-3, λ_smooth 0.3), fewer iterations at a smaller step
    cfg = track_preset("zerohsi", refine_iters=150, refine_lr=0.01, refine_prior_weight=0.0)
    out = refine_motion(tr, body, AnglePrior(body), cfg)

    def jitter(p):
        return float((p[1:] - p[:-1]).norm(dim=-1).mean())

    assert out.refined and out.status.tolist() == tr.status.tolist()
    assert jitter(out.params.body_pose) < 0.75 * jitter(jittered)
    assert torch.equal(out.params.body_pose[0], jittered[0])  # frame 0 (the given initial state) is kept
    assert np.all(out.losses["refine_fit"][:n] < 0.02)  # RMS joint distance to the reference under 2 cm


def test_refinement_pulls_a_near_hand_onto_the_object(body, helpers):
    from inhabit.track.refine import refine_motion

    n = 3
    cam = helpers.room_camera(64)
    base = helpers.standing_params(body)
    params = BodyParams(*(t.expand(n, -1).clone() for t in (base.global_orient, base.transl, base.body_pose, base.shape)))
    labels = body.vertex_parts().numpy()
    from inhabit.body.parts import PART_NAMES

    with torch.no_grad():
        v = body(base).vertices[0].numpy()
    hand = v[labels == PART_NAMES.index("right_hand")]
    tip = hand[np.argmin(hand[:, 2])]  # lowest point of the right hand
    # a small cloud of object particles 3 cm below the hand (within ε = 5 cm), in the object frame
    g = np.random.default_rng(0)
    pts = g.normal(scale=0.004, size=(200, 3))
    pose = np.repeat(np.eye(4)[None], n, 0)
    pose[:, :3, 3] = tip + np.array([0.0, 0.0, -0.03])
    tr = _track(body, params, cam, pose)
    cfg = track_preset("fast", refine_iters=120, refine_lr=0.005, lambda_physics=1.0, refine_prior_weight=0.0)

    def closest(t: MotionTrack) -> np.ndarray:
        with torch.no_grad():
            vv = body(t.params).vertices.numpy()[:, labels == PART_NAMES.index("right_hand")]
        obj = pts[None] + pose[:, None, :3, 3]
        return np.array([np.min(np.linalg.norm(vv[i][:, None] - obj[i][None], axis=-1)) for i in range(n)])

    before = closest(tr)
    out = refine_motion(tr, body, AnglePrior(body), cfg, object_points=pts)
    after = closest(out)
    assert before[1:] == pytest.approx([0.03, 0.03], abs=0.01)
    assert np.all(after[1:] < 0.5 * before[1:]), (before, after)
    assert after[0] == pytest.approx(before[0])  # frame 0 kept
    assert np.all(out.losses["refine_contact_count"][1:] > 0)


def test_refinement_pushes_the_body_out_of_the_scene(body, helpers):
    from inhabit.track.refine import refine_motion

    n = 2
    base = helpers.standing_params(body)
    params = BodyParams(*(t.expand(n, -1).clone() for t in (base.global_orient, base.transl, base.body_pose, base.shape)))
    params.transl[1, 2] -= 0.05  # frame 1 sinks 5 cm into the floor

    def floor_sdf(p: torch.Tensor) -> torch.Tensor:
        return p[:, 2]

    tr = _track(body, params, helpers.room_camera(64))
    cfg = track_preset("fast", refine_iters=80, refine_lr=0.005, lambda_physics=1.0, lambda_penetration=50.0)
    out = refine_motion(tr, body, None, cfg, scene_sdf=floor_sdf)
    with torch.no_grad():
        zmin = body(out.params).vertices[..., 2].min(dim=-1).values
    assert float(zmin[1]) > -0.03 and float(zmin[1]) > float(body(tr.params).vertices[1, :, 2].min()) + 0.02
