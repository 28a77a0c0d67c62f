"""Named poses and placing bodies on scene points."""

import math

import numpy as np
import pytest
import torch

from inhabit.body.parts import part_mask
from inhabit.body.poses import (
    POSES,
    WALK_CYCLE,
    get_pose,
    make_pose,
    mirror_rotvec,
    place_body,
    pose_rotvec,
    rot,
    walk_cycle_rotvecs,
)
from inhabit.body.skeleton import pose_joint_index
from inhabit.conventions import BODY_JOINT_NAMES
from inhabit.errors import InputError


def _J(out, name, b=0):
    return out.joints[b, BODY_JOINT_NAMES.index(name)]


def test_rot_composes_fixed_axis_rotations():
    # one axis: the rotvec is the axis times the angle
    np.testing.assert_allclose(rot(("x", 90)), [math.pi / 2, 0, 0], atol=1e-12)
    # z then x: R_x(90) @ R_z(90) maps canonical x -> y -> z
    from inhabit.rotations import rotvec_to_rotmat

    R = rotvec_to_rotmat(torch.as_tensor(rot(("z", 90), ("x", 90))))
    torch.testing.assert_close(R @ torch.tensor([1.0, 0.0, 0.0], dtype=R.dtype),
                               torch.tensor([0.0, 0.0, 1.0], dtype=R.dtype), atol=1e-12, rtol=0)


def test_mirrored_poses_swap_sides():
    a, b = get_pose("walk_0"), get_pose("walk_2")
    np.testing.assert_allclose(b.joints["right_hip"], mirror_rotvec(a.joints["left_hip"]))
    np.testing.assert_allclose(b.joints["left_shoulder"], mirror_rotvec(a.joints["right_shoulder"]))
    np.testing.assert_allclose(mirror_rotvec(np.array([0.1, 0.2, 0.3])), [0.1, -0.2, -0.3])


def test_unknown_pose_lists_the_known_ones(anny_model):
    with pytest.raises(InputError, match="unknown pose 'dancing'; known poses: t_pose, a_pose, standing"):
        make_pose(anny_model, "dancing")


@pytest.mark.parametrize("name", POSES)
def test_every_pose_builds_and_round_trips(anny_model, name):
    p = make_pose(anny_model, name, batch=2)
    assert p.body_pose.shape == (2, 63)
    torch.testing.assert_close(anny_model.body_pose_to_smplx_rotvec(p.body_pose)[0], pose_rotvec(name), atol=1e-5,
                               rtol=0)


def test_sitting_has_thighs_forward_at_hip_height(body_model):
    out = body_model(make_pose(body_model, "sitting"))
    for side in ("left", "right"):
        hip, knee, ankle = _J(out, f"{side}_hip"), _J(out, f"{side}_knee"), _J(out, f"{side}_ankle")
        assert float(knee[1]) < float(hip[1]) - 0.3  # knee in front
        assert abs(float(knee[2] - hip[2])) < 0.06  # thigh horizontal
        assert float(ankle[2]) < float(knee[2]) - 0.35  # shin down
    # forearms forward
    assert float(_J(out, "left_wrist")[1]) < float(_J(out, "left_elbow")[1]) - 0.15


def test_lying_is_horizontal_and_face_up(body_model):
    out = body_model(make_pose(body_model, "lying"))
    head, pelvis = _J(out, "head"), _J(out, "pelvis")
    feet = 0.5 * (_J(out, "left_ankle") + _J(out, "right_ankle"))
    assert abs(float(head[2] - feet[2])) < 0.15 and float((head - feet)[1]) > 1.2  # head towards +Y
    nose = out.keypoints[0, 0]
    assert float(nose[2]) > float(pelvis[2]) + 0.08  # face up


def test_stepping_raises_the_left_foot(body_model):
    out = body_model(make_pose(body_model, "stepping"))
    rise = float(_J(out, "right_ankle")[2] - _J(out, "left_ankle")[2])
    assert -0.26 < rise < -0.12
    assert float(_J(out, "left_ankle")[1]) < float(_J(out, "right_ankle")[1]) - 0.15


def test_squatting_brings_the_pelvis_down(body_model):
    stand = body_model(make_pose(body_model, "standing"))
    squat = body_model(make_pose(body_model, "squatting"))
    drop = float((_J(stand, "pelvis") - 0.5 * (_J(stand, "left_ankle") + _J(stand, "right_ankle")))[2]) - float(
        (_J(squat, "pelvis") - 0.5 * (_J(squat, "left_ankle") + _J(squat, "right_ankle")))[2])
    assert drop > 0.4


def test_place_sitting_body_on_a_seat_point(body_model):
    seat = np.array([1.0, 2.0, 0.45])
    p = place_body(body_model, make_pose(body_model, "sitting"), seat, facing=(1.0, 0.0, 0.0), pose_name="sitting")
    out = body_model(p)
    V = out.vertices[0]
    pelvis = _J(out, "pelvis")
    np.testing.assert_allclose(pelvis[:2].numpy(), seat[:2], atol=1e-5)
    near = (V[:, :2] - pelvis[:2]).norm(dim=1) < 0.12
    m = part_mask(body_model, "torso", "left_thigh", "right_thigh") & near
    assert float(V[m, 2].min()) == pytest.approx(seat[2], abs=1e-5)
    # facing +X: the knees are at larger x than the pelvis
    assert float(_J(out, "left_knee")[0]) > float(pelvis[0]) + 0.3


def test_place_standing_body_on_the_floor_facing_a_direction(body_model):
    p = place_body(body_model, make_pose(body_model, "standing"), [0.0, 0.0, 0.0], facing=(0.0, 1.0, 0.0))
    out = body_model(p)
    feet = part_mask(body_model, "left_foot", "right_foot")
    assert float(out.vertices[0, feet, 2].min()) == pytest.approx(0.0, abs=1e-5)
    assert float(out.vertices[0, :, 2].min()) > -1e-4  # nothing below the floor
    nose, head = out.keypoints[0, 0], _J(out, "head")
    assert float(nose[1]) > float(head[1]) + 0.03  # facing +Y
    # yaw angle form: 0 faces -Y
    q = place_body(body_model, p, [0.0, 0.0, 0.0], facing=0.0)
    out_q = body_model(q)
    assert float(out_q.keypoints[0, 0, 1]) < float(_J(out_q, "head")[1]) - 0.03


def test_place_lying_body_on_a_bed_with_the_head_towards_facing(body_model):
    bed = [0.0, 0.0, 0.55]
    p = place_body(body_model, make_pose(body_model, "lying"), bed, facing=(-1.0, 0.0, 0.0), pose_name="lying")
    out = body_model(p)
    torso = part_mask(body_model, "torso")
    assert float(out.vertices[0, torso, 2].min()) == pytest.approx(0.55, abs=1e-5)
    assert float(_J(out, "head")[0]) < float(_J(out, "pelvis")[0]) - 0.4


def test_place_stepping_and_leaning_contacts(body_model):
    step = [0.0, 0.0, 0.18]
    p = place_body(body_model, make_pose(body_model, "stepping"), step, pose_name="stepping")
    out = body_model(p)
    lf, rf = part_mask(body_model, "left_foot"), part_mask(body_model, "right_foot")
    assert float(out.vertices[0, lf, 2].min()) == pytest.approx(0.18, abs=1e-5)
    assert float(out.vertices[0, rf, 2].min()) < 0.05  # the other foot near the floor below the step
    counter = [0.0, -0.5, 0.92]
    q = place_body(body_model, make_pose(body_model, "leaning"), counter, pose_name="leaning")
    hands = part_mask(body_model, "left_hand", "right_hand")
    out_q = body_model(q)
    assert float(out_q.vertices[0, hands, 2].min()) == pytest.approx(0.92, abs=1e-5)
    feet = part_mask(body_model, "left_foot", "right_foot")
    assert abs(float(out_q.vertices[0, feet, 2].min())) < 0.15  # the feet end up near the floor


def test_place_body_rejects_bad_input(anny_model):
    p = make_pose(anny_model, "standing")
    with pytest.raises(InputError, match="place_body: contact must be one of"):
        place_body(anny_model, p, [0, 0, 0], contact="knees")
    with pytest.raises(InputError, match="place_body: point must be finite"):
        place_body(anny_model, p, [0, float("nan"), 0])
    with pytest.raises(InputError, match="has no horizontal component"):
        place_body(anny_model, p, [0, 0, 0], facing=(0, 0, 1))


def test_walk_cycle_passes_through_the_keyframes():
    T = 8
    rv = walk_cycle_rotvecs(T)
    assert rv.shape == (T, 21, 3)
    for k, name in enumerate(WALK_CYCLE):
        torch.testing.assert_close(rv[2 * k], pose_rotvec(name), atol=1e-6, rtol=0)
    # half-way between keyframes the hip angle is between its neighbours
    i = pose_joint_index("left_hip")
    a, b = float(pose_rotvec("walk_0")[i, 0]), float(pose_rotvec("walk_1")[i, 0])
    assert min(a, b) < float(rv[1, i, 0]) < max(a, b)
