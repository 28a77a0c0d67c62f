"""anny <-> SMPL-X pose mapping: exact round trips, T-pose at zero, same bend on both backends."""

import math
import re

import pytest
import torch
import torch.nn.functional as F

from inhabit.body.skeleton import R_WORLD_CANONICAL, pose_joint_index
from inhabit.conventions import BODY_JOINT_NAMES


def _J(out, name):
    return out.joints[0, BODY_JOINT_NAMES.index(name)]


def _dir(out, a, b):
    return F.normalize(_J(out, b) - _J(out, a), dim=0)


def _angle_deg(u, v):
    return math.degrees(math.acos(float(torch.clamp((u * v).sum(), -1.0, 1.0))))


def _posed(model, **joint_rotvecs):
    rv = torch.zeros(1, 21, 3)
    for name, v in joint_rotvecs.items():
        rv[0, pose_joint_index(name)] = torch.tensor(v, dtype=torch.float32)
    p = model.default_params(1).replace(body_pose=model.body_pose_from_smplx_rotvec(rv))
    return model(p)


def test_anny_round_trip_is_exact_in_the_free_bone_space(anny_model):
    g = torch.Generator().manual_seed(3)
    body_pose = 0.6 * torch.randn(8, 63, generator=g)
    rv = anny_model.body_pose_to_smplx_rotvec(body_pose)
    assert rv.shape == (8, 21, 3)
    back = anny_model.body_pose_from_smplx_rotvec(rv)
    torch.testing.assert_close(back, body_pose, atol=1e-5, rtol=0)


def test_anny_linear_joints_are_a_pure_change_of_axes(anny_model):
    # Knee and spine carry no T-pose correction: the world-axis rotvec is R_wc @ the canonical one.
    rv = torch.zeros(1, 21, 3)
    rv[0, pose_joint_index("left_knee")] = torch.tensor([0.3, 0.0, 0.0])  # canonical x = world x
    rv[0, pose_joint_index("spine2")] = torch.tensor([0.0, 0.2, 0.0])  # canonical y (up) = world z
    rv[0, pose_joint_index("neck")] = torch.tensor([0.0, 0.0, 0.1])  # canonical z (forward) = world -y
    rho = anny_model.body_pose_from_smplx_rotvec(rv).reshape(21, 3)
    torch.testing.assert_close(rho[pose_joint_index("left_knee")], torch.tensor([0.3, 0.0, 0.0]))
    torch.testing.assert_close(rho[pose_joint_index("spine2")], torch.tensor([0.0, 0.0, 0.2]))
    torch.testing.assert_close(rho[pose_joint_index("neck")], torch.tensor([0.0, -0.1, 0.0]))
    R = torch.as_tensor(R_WORLD_CANONICAL, dtype=torch.float32)
    torch.testing.assert_close(R @ torch.tensor([0.0, 0.0, 0.1]), torch.tensor([0.0, -0.1, 0.0]))


def test_anny_rest_a_pose_reads_as_lowered_arms_and_bent_elbows_in_smplx(anny_model):
    rv = anny_model.body_pose_to_smplx_rotvec(anny_model.default_params(1).body_pose)[0]
    sh = rv[pose_joint_index("left_shoulder")]
    assert math.degrees(float(sh[2])) == pytest.approx(-48.4, abs=3.0)  # arm ~48 degrees down
    assert math.degrees(float(rv[pose_joint_index("left_elbow"), 1])) < -30  # elbow flexed forward
    torch.testing.assert_close(rv[pose_joint_index("right_shoulder")], sh * torch.tensor([1.0, -1.0, -1.0]),
                               atol=1e-4, rtol=0)  # left/right mirror images


@pytest.mark.parametrize("backend", ["anny", "smplx"])
def test_zero_smplx_pose_is_a_t_pose(request, backend):
    model = request.getfixturevalue(f"{backend}_model")
    out = _posed(model)
    ex = torch.tensor([1.0, 0.0, 0.0])
    for side, s in (("left", 1.0), ("right", -1.0)):
        assert _angle_deg(_dir(out, f"{side}_shoulder", f"{side}_elbow"), s * ex) < 3.0
        assert _angle_deg(_dir(out, f"{side}_elbow", f"{side}_wrist"), s * ex) < 3.0
        down = torch.tensor([0.0, 0.0, -1.0])
        assert _angle_deg(_dir(out, f"{side}_hip", f"{side}_knee"), down) < 8.0
        assert _angle_deg(_dir(out, f"{side}_knee", f"{side}_ankle"), down) < 8.0


@pytest.mark.parametrize(
    ("joint", "rotvec", "segment", "expected"),
    [
        # knee flexion (+x): the shin swings backwards (+Y)
        ("left_knee", (1.2, 0.0, 0.0), ("left_knee", "left_ankle"),
         (0.0, math.sin(1.2), -math.cos(1.2))),
        # elbow flexion (-y on the left): the forearm swings forwards (-Y)
        ("left_elbow", (0.0, -1.2, 0.0), ("left_elbow", "left_wrist"),
         (math.cos(1.2), -math.sin(1.2), 0.0)),
        # shoulder adduction (-z on the left): the arm comes down
        ("left_shoulder", (0.0, 0.0, -1.0), ("left_shoulder", "left_elbow"),
         (math.cos(1.0), 0.0, -math.sin(1.0))),
        # hip flexion (-x): the thigh swings forwards
        ("right_hip", (-1.3, 0.0, 0.0), ("right_hip", "right_knee"),
         (0.0, -math.sin(1.3), -math.cos(1.3))),
    ],
)
def test_same_rotvec_bends_the_same_limb_the_same_way_on_both_backends(anny_model, smplx_model, joint, rotvec,
                                                                       segment, expected):
    from inhabit.body.skeleton import rotvec_canonical_to_world
    from inhabit.rotations import rotvec_to_rotmat

    R_world = rotvec_to_rotmat(rotvec_canonical_to_world(torch.tensor(rotvec)))
    dirs = []
    for model in (anny_model, smplx_model):
        rest_dir = _dir(_posed(model), *segment)
        d = _dir(_posed(model, **{joint: rotvec}), *segment)
        # exact: the child segment turns rigidly about the joint by the world-axis rotation
        assert _angle_deg(d, R_world @ rest_dir) < 0.5, model.name
        # and it is the anatomical motion named above (the rest is only nearly an ideal T-pose)
        assert _angle_deg(d, torch.tensor(expected)) < 10.0, (model.name, d)
        dirs.append(d)
    assert _angle_deg(dirs[0], dirs[1]) < 2.0


def test_anny_keypoints_follow_the_names(anny_model):
    out = anny_model(anny_model.default_params(1))
    K = dict(zip(out.keypoint_names, out.keypoints[0]))
    J = dict(zip(out.joint_names, out.joints[0]))
    # anny's regressor lists the feet as left_big_toe, right_big_toe, left_small_toe, ...: mapped by name
    for side, s in (("left", 1.0), ("right", -1.0)):
        ankle = J[f"{side}_ankle"]
        assert s * float(K[f"{side}_big_toe"][0]) > 0 and float(K[f"{side}_big_toe"][1]) < float(ankle[1]) - 0.1
        assert float(K[f"{side}_heel"][1]) > float(ankle[1])  # heel behind the ankle
        assert s * float(K[f"{side}_small_toe"][0]) > s * float(K[f"{side}_big_toe"][0])  # little toe outside
        assert s * float(K[f"{side}_eye"][0]) > 0 and s * float(K[f"{side}_ear"][0]) > s * float(K[f"{side}_eye"][0])


def test_anny_shape_is_a_logit_reparameterisation(anny_model):
    s = anny_model.shape_from_phenotype(height=0.8, age=0.9)
    ph = anny_model.phenotype(s)
    assert float(ph["height"][0]) == pytest.approx(0.8, abs=1e-6)
    assert float(ph["age"][0]) == pytest.approx(0.9, abs=1e-6)
    assert float(ph["gender"][0]) == pytest.approx(0.5, abs=1e-6)
    zero = anny_model.phenotype(torch.zeros(1, 6))
    assert float(zero["age"][0]) == pytest.approx(0.67, abs=1e-6)
    extreme = anny_model.phenotype(torch.full((1, 6), 50.0))
    assert all(0.0 < float(v[0]) <= 1.0 for v in extreme.values())
    tall = anny_model(anny_model.default_params(1).replace(shape=anny_model.shape_from_phenotype(height=0.9)))
    short = anny_model(anny_model.default_params(1).replace(shape=anny_model.shape_from_phenotype(height=0.1)))
    assert float(tall.vertices[0, :, 2].max()) > float(short.vertices[0, :, 2].max()) + 0.05


def test_anny_bad_phenotype_is_rejected(anny_model):
    from inhabit.errors import InputError

    with pytest.raises(InputError, match=re.escape("anny phenotype 'height' must lie strictly between 0 and 1, got 1.5")):
        anny_model.shape_from_phenotype(height=1.5)
    with pytest.raises(InputError, match="unknown anny phenotype 'bmi'"):
        anny_model.shape_from_phenotype(bmi=0.3)


def test_torch_lbs_reference_matches_warp_skinning(anny_model):
    from inhabit.body import load_body_model

    ref = load_body_model("anny", skinning="lbs")
    g = torch.Generator().manual_seed(1)
    p = anny_model.default_params(2).replace(body_pose=0.3 * torch.randn(2, 63, generator=g),
                                             shape=0.5 * torch.randn(2, 6, generator=g))
    torch.testing.assert_close(ref(p).vertices, anny_model(p).vertices, atol=1e-5, rtol=0)


def test_pose_map_gradcheck(anny_model):
    pm = anny_model.pose_map
    g = torch.Generator().manual_seed(2)
    rv = (0.5 * torch.randn(2, 21, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(pm.to_smplx, (rv,))
    assert torch.autograd.gradcheck(pm.from_smplx, (rv,))
