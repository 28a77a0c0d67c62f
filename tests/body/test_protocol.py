"""The shared BodyModel protocol suite, run on every backend (SMPL-X through the synthetic file)."""

import math

import pytest
import torch

from inhabit.body.poses import make_pose
from inhabit.body.protocol import BodyModel, BodyParams
from inhabit.conventions import BODY_JOINT_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.rotations import rotation6d_to_rotmat, rotmat_to_rotation6d, rotvec_to_rotmat


def _J(out, name, b=0):
    return out.joints[b, BODY_JOINT_NAMES.index(name)]


def _K(out, name, b=0):
    return out.keypoints[b, KEYPOINT_NAMES.index(name)]


def _random_params(model, B, gen, pose_scale=0.3):
    p = model.default_params(B)
    R = rotvec_to_rotmat(torch.randn(B, 3, generator=gen))
    return p.replace(
        global_orient=rotmat_to_rotation6d(R),
        transl=torch.randn(B, 3, generator=gen),
        body_pose=pose_scale * torch.randn(B, model.body_pose_dim, generator=gen),
        shape=0.5 * torch.randn(B, model.shape_dim, generator=gen),
    )


def test_is_a_body_model_with_consistent_sizes(body_model):
    assert isinstance(body_model, BodyModel)
    p = body_model.default_params(3)
    assert p.global_orient.shape == (3, 6) and p.transl.shape == (3, 3)
    assert p.body_pose.shape == (3, body_model.body_pose_dim) and p.shape.shape == (3, body_model.shape_dim)
    assert body_model.body_pose_dim == 63
    assert len(body_model.shape_names) == body_model.shape_dim


def test_output_shapes_dtype_and_names(body_model, rng):
    out = body_model(_random_params(body_model, 2, rng))
    V = out.vertices.shape[1]
    assert out.vertices.shape == (2, V, 3) and V > 9929
    assert out.joints.shape == (2, 22, 3) and out.keypoints.shape == (2, 23, 3)
    assert out.faces.ndim == 2 and out.faces.shape[1] == 3 and out.faces.dtype == torch.long
    assert int(out.faces.max()) == V - 1 and int(out.faces.min()) == 0
    for t in (out.vertices, out.joints, out.keypoints):
        assert t.dtype == torch.float32 and torch.isfinite(t).all()
    assert out.joint_names == BODY_JOINT_NAMES and out.keypoint_names == KEYPOINT_NAMES


def test_gradients_reach_every_parameter(body_model, rng):
    p = _random_params(body_model, 2, rng).map(lambda t: t.detach().clone().requires_grad_(True))
    out = body_model(p)
    w = torch.randn(out.vertices.shape, generator=rng)
    loss = (out.vertices * w).sum() + out.joints.square().sum() + out.keypoints.sum()
    loss.backward()
    for name, t in p.as_dict().items():
        assert t.grad is not None and torch.isfinite(t.grad).all(), name
        assert t.grad.abs().sum() > 0, name
    # every joint of the body pose moves the mesh (no dead joint in the mapping)
    per_joint = p.body_pose.grad.reshape(2, 21, 3).abs().sum(dim=(0, 2))
    assert (per_joint > 0).all(), per_joint
    assert (p.shape.grad.abs().sum(0) > 0).all()


def test_identity_orientation_is_upright_facing_minus_y(body_model):
    out = body_model(make_pose(body_model, "t_pose"))
    pelvis, head = _J(out, "pelvis"), _J(out, "head")
    feet_z = max(float(_J(out, "left_ankle")[2]), float(_J(out, "right_ankle")[2]))
    assert float(head[2]) > float(pelvis[2]) + 0.4 > feet_z + 0.4 + 0.4
    # nose in front (-Y) of the head joint and of the pelvis
    assert float(_K(out, "nose")[1]) < float(head[1]) - 0.03
    assert float(_K(out, "nose")[1]) < float(pelvis[1])
    # left side towards +X; arms out along X in the T-pose
    assert float(_J(out, "left_wrist")[0]) > 0.6 and float(_J(out, "right_wrist")[0]) < -0.6
    assert float(_J(out, "left_hip")[0]) > 0.05 and float(_J(out, "right_hip")[0]) < -0.05
    assert abs(float(_J(out, "left_wrist")[2] - _J(out, "left_shoulder")[2])) < 0.05
    # vertices span about a person's height
    height = float(out.vertices[0, :, 2].max() - out.vertices[0, :, 2].min())
    assert 1.5 < height < 2.0


def test_transl_is_the_pelvis_position(body_model, rng):
    p = _random_params(body_model, 3, rng)
    out = body_model(p)
    torch.testing.assert_close(out.joints[:, 0], p.transl, atol=1e-5, rtol=0)


def test_global_orientation_rotates_about_the_pelvis(body_model, rng):
    p = _random_params(body_model, 2, rng)
    local = body_model(p.replace(global_orient=body_model.default_params(2).global_orient, transl=torch.zeros(2, 3)))
    out = body_model(p)
    R = rotation6d_to_rotmat(p.global_orient)
    expected = local.vertices @ R.transpose(1, 2) + p.transl[:, None]
    torch.testing.assert_close(out.vertices, expected, atol=2e-5, rtol=0)
    torch.testing.assert_close(out.keypoints, local.keypoints @ R.transpose(1, 2) + p.transl[:, None], atol=2e-5,
                               rtol=0)


def test_yaw_of_90_degrees_turns_the_body_to_face_plus_x(body_model):
    p = make_pose(body_model, "standing")
    Rz = rotvec_to_rotmat(torch.tensor([0.0, 0.0, math.pi / 2]))  # -Y rotated by +90 deg about Z is +X
    out = body_model(p.replace(global_orient=rotmat_to_rotation6d(Rz)[None]))
    assert float(_K(out, "nose")[0]) > float(_J(out, "head")[0]) + 0.03
    assert float(_J(out, "left_hip")[1]) > 0.05  # its left side now towards +Y


def test_batch_rows_are_independent(body_model, rng):
    p = _random_params(body_model, 3, rng)
    batched = body_model(p)
    for b in range(3):
        single = body_model(p.index(b))
        torch.testing.assert_close(batched.vertices[b], single.vertices[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(batched.joints[b], single.joints[0], atol=1e-5, rtol=0)


def test_default_params_put_the_pelvis_at_the_origin(body_model):
    out = body_model(body_model.default_params(1))
    torch.testing.assert_close(out.joints[0, 0], torch.zeros(3), atol=1e-6, rtol=0)


def test_wrong_parameter_sizes_are_one_clear_sentence(body_model):
    p = body_model.default_params(2)
    bad = p.replace(body_pose=torch.zeros(2, 69))
    with pytest.raises(InputError, match=rf"BodyParams.body_pose has shape \(2, 69\) but the {body_model.name} "
                                         r"body model expects \(2, 63\)"):
        body_model(bad)
    with pytest.raises(InputError, match=r"BodyParams.shape"):
        body_model(p.replace(shape=torch.zeros(2, body_model.shape_dim + 1)))


def test_pose_conversion_round_trip_from_smplx(body_model, rng):
    rv = 0.5 * torch.randn(4, 21, 3, generator=rng)
    back = body_model.body_pose_to_smplx_rotvec(body_model.body_pose_from_smplx_rotvec(rv))
    torch.testing.assert_close(back, rv, atol=1e-5, rtol=0)


def test_body_params_helpers():
    p = BodyParams(torch.zeros(2, 6), torch.zeros(2, 3), torch.zeros(2, 63), torch.zeros(2, 6))
    assert p.index(1).batch_size == 1 and BodyParams.cat([p, p]).batch_size == 4


def test_anny_gradients_match_finite_differences_in_float64():
    # anny's pose mapping, root-delta placement and phenotype reparameterisation are inhabit's code;
    # smplx's own gradients are the library's (covered by the "reach every parameter" test).
    from inhabit.body import load_body_model

    model = load_body_model("anny", dtype=torch.float64)
    g = torch.Generator().manual_seed(5)
    p = _random_params(model, 1, g).map(lambda t: t.double())
    w_v = torch.randn(1, model(p).vertices.shape[1], 3, generator=g, dtype=torch.float64)
    w_k = torch.randn(1, 23, 3, generator=g, dtype=torch.float64)

    def f(q):
        out = model(q)
        return (out.vertices * w_v).sum() + (out.keypoints * w_k).sum() + out.joints[:, 5:].square().sum()

    q = p.map(lambda t: t.clone().requires_grad_(True))
    f(q).backward()
    eps = 1e-6
    for name in ("global_orient", "transl", "body_pose", "shape"):
        d = torch.randn(getattr(p, name).shape, generator=g, dtype=torch.float64)
        plus = f(p.replace(**{name: getattr(p, name) + eps * d}))
        minus = f(p.replace(**{name: getattr(p, name) - eps * d}))
        fd = float((plus - minus) / (2 * eps))
        ad = float((getattr(q, name).grad * d).sum())
        assert ad == pytest.approx(fd, rel=1e-5, abs=1e-6), name


def test_far_from_the_origin_only_translates(body_model):
    # float32 outputs of a body 50 m away equal those at the origin, shifted (no drift with |transl|)
    p = make_pose(body_model, "sitting")
    far = torch.tensor([[40.0, -25.0, 3.0]])
    a, b = body_model(p), body_model(p.replace(transl=far))
    for name in ("vertices", "joints", "keypoints"):
        torch.testing.assert_close(getattr(b, name) - far[:, None], getattr(a, name), atol=2e-5, rtol=0)
