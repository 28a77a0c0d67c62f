"""Pose and shape priors: hand-computed values, plausible vs implausible poses on both backends, gradients."""

import math

import pytest
import torch

from inhabit.body.poses import make_pose
from inhabit.body.prior import (
    GENZI_HINGES,
    GENZI_ZEROED,
    AnglePrior,
    PosePrior,
    genzi_angle_prior,
    joint_limit_energy,
    shape_prior,
)
from inhabit.body.skeleton import pose_joint_index

_AX = {"x": 0, "y": 1, "z": 2}


def _rv(**components):
    """(1, 21, 3) rotvec from ``joint_axis=value`` keywords (radians)."""
    rv = torch.zeros(1, 21, 3, dtype=torch.float64)
    for key, val in components.items():
        joint, axis = key.rsplit("_", 1)
        rv[0, pose_joint_index(joint), _AX[axis]] = val
    return rv


def test_genzi_table_has_16_hinges_and_11_zeroed_components():
    assert len(GENZI_HINGES) == 16 and len(GENZI_ZEROED) == 11
    flat = [3 * pose_joint_index(j) + _AX[a] for j, a, _ in GENZI_HINGES] + \
        [3 * pose_joint_index(j) + _AX[a] for j, a in GENZI_ZEROED]
    assert len(set(flat)) == 27
    # the knee hinge sits at 3 * (4 - 1) + 0 = 9 in the 63-vector (SMPL-X index 4 = left_knee)
    assert 3 * pose_joint_index("left_knee") == 9


def test_genzi_prior_matches_a_hand_computation():
    rv = _rv(left_hip_x=0.3,        # hip hyperextension: hinge 0.3
             right_knee_x=-0.2,     # knee bent backwards: hinge 0.2
             head_y=-0.5,           # zeroed component: |.| = 0.5
             left_wrist_y=0.1,      # zeroed component: 0.1
             left_elbow_y=-1.0,     # elbow flexion: allowed, 0
             right_elbow_y=0.7,     # right elbow flexion: allowed, 0
             spine1_x=0.4,          # forward bend: allowed, 0
             left_collar_y=0.25,    # collar backwards: hinge 0.25
             left_wrist_z=0.9)      # not in the table: 0
    expected = (0.3 + 0.2 + 0.5 + 0.1 + 0.25) / 27.0
    assert float(genzi_angle_prior(rv)[0]) == pytest.approx(expected, abs=1e-12)
    assert float(genzi_angle_prior(rv.reshape(1, 63))[0]) == pytest.approx(expected, abs=1e-12)


def test_joint_limits_match_a_hand_computation():
    # left knee bent 35 degrees backwards, limit -5: 30 degrees over -> (pi/6)^2
    e = joint_limit_energy(_rv(left_knee_x=math.radians(-35)))
    assert float(e[0]) == pytest.approx((math.pi / 6) ** 2, rel=1e-9)
    # right elbow: flexion is +y on the right (mirrored limits); -40 degrees is 30 past the -10 limit
    e = joint_limit_energy(_rv(right_elbow_y=math.radians(-40)))
    assert float(e[0]) == pytest.approx((math.pi / 6) ** 2, rel=1e-9)
    assert float(joint_limit_energy(_rv(right_elbow_y=math.radians(140)))[0]) == 0.0
    assert float(joint_limit_energy(_rv(left_elbow_y=math.radians(-140)))[0]) == 0.0


@pytest.mark.parametrize("pose", ["standing", "sitting", "t_pose"])
def test_angle_prior_is_near_zero_for_plausible_poses(body_model, pose):
    prior = AnglePrior(body_model)
    z = make_pose(body_model, pose).body_pose
    assert float(prior.energy(z)[0]) <= 1e-5  # documented bound: exact 0 up to the pose round trip


def test_angle_prior_of_the_default_anny_pose_is_small(anny_model):
    prior = AnglePrior(anny_model)
    e = float(prior.energy(anny_model.default_params(1).body_pose)[0])
    assert 0.0 < e < 0.01  # anny's rest hands are turned ~6 degrees about the zeroed wrist-y axis


@pytest.mark.parametrize(("joint", "axis", "deg"), [("left_knee", "x", -45.0), ("right_elbow", "y", -50.0),
                                                    ("left_elbow", "y", 50.0)])
def test_angle_prior_is_large_for_joints_bent_the_wrong_way(body_model, joint, axis, deg):
    prior = AnglePrior(body_model)
    sit = make_pose(body_model, "sitting").body_pose
    rv = body_model.body_pose_to_smplx_rotvec(sit).clone()
    rv[0, pose_joint_index(joint), _AX[axis]] = math.radians(deg)
    bad = body_model.body_pose_from_smplx_rotvec(rv)
    e_bad, e_ok = float(prior.energy(bad)[0]), float(prior.energy(sit)[0])
    assert e_bad > 0.25 and e_bad > 1000 * max(e_ok, 1e-6)


def test_angle_prior_gradients_are_finite_and_point_back(body_model):
    prior = AnglePrior(body_model, init_weight=0.1)
    z = make_pose(body_model, "sitting").body_pose.clone()
    rv = body_model.body_pose_to_smplx_rotvec(z).clone()
    rv[0, pose_joint_index("left_knee"), 0] = -0.6
    z = body_model.body_pose_from_smplx_rotvec(rv).detach().requires_grad_(True)
    prior.energy(z).sum().backward()
    assert torch.isfinite(z.grad).all()
    # a small step against the gradient lowers the energy
    with torch.no_grad():
        z2 = z - 0.05 * z.grad
    assert float(prior.energy(z2)[0]) < float(prior.energy(z.detach())[0])


def test_prior_terms_gradcheck_away_from_kinks():
    g = torch.Generator().manual_seed(0)
    rv = (0.8 * torch.rand(2, 21, 3, generator=g, dtype=torch.float64) + 0.1) * torch.where(
        torch.rand(2, 21, 3, generator=g, dtype=torch.float64) > 0.5, 1.0, -1.0)
    rv[:, pose_joint_index("left_knee"), 0] = -2.0  # make the limit term active
    rv.requires_grad_(True)
    assert torch.autograd.gradcheck(genzi_angle_prior, (rv,))
    assert torch.autograd.gradcheck(joint_limit_energy, (rv,))


def test_angle_prior_is_a_pose_prior_with_the_pose_as_latent(anny_model):
    init = make_pose(anny_model, "sitting").body_pose
    prior = AnglePrior(anny_model, init_pose=init, init_weight=1.0)
    assert isinstance(prior, PosePrior) and prior.latent_dim == 63
    z = prior.initial_latent(3)
    assert z.shape == (3, 63) and torch.equal(prior.decode(z), z)
    torch.testing.assert_close(z[1], init[0])
    t = prior.terms(z)
    assert float(t["init"].abs().max()) < 1e-10
    moved = z + 0.1
    assert float(prior.terms(moved)["init"][0]) > 1e-3


def test_shape_prior_matches_genzi_and_per_backend_weights(anny_model, smplx_model):
    betas = torch.zeros(1, 10, dtype=torch.float64)
    betas[0, 0], betas[0, 1] = 2.0, 1.0
    # (0.5 * 2)^2 + 1^2 over 10 betas
    assert float(shape_prior(betas)[0]) == pytest.approx(0.2)
    assert float(shape_prior(betas.float(), smplx_model)[0]) == pytest.approx(0.2)
    s = torch.zeros(1, 6)
    s[0, anny_model.shape_names.index("height")] = 2.0
    s[0, anny_model.shape_names.index("weight")] = 1.0
    assert float(shape_prior(s, anny_model)[0]) == pytest.approx((1.0 + 1.0) / 6)
    assert float(shape_prior(torch.zeros(3, 6), anny_model).abs().max()) == 0.0
