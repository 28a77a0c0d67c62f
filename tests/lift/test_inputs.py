"""Correspondences by name, camera/keypoint validation, initialisation."""

import math

import lift_helpers as L
import numpy as np
import pytest
import torch

from inhabit.camera.pinhole import Camera
from inhabit.conventions import BODY_FORWARD, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.lift.correspondences import GENZI_LIMB_NAMES, LIMB_NAMES, TORSO_NAMES, build_correspondences
from inhabit.lift.init import default_init, init_from_params, initial_translation, yaw_facing, yaw_rotmat
from inhabit.lift.observations import prepare_observations, stack_cameras
from inhabit.rotations import rotation6d_to_rotmat
from inhabit.structures import Keypoints2D


def test_genzi_groups_by_name():
    assert len(TORSO_NAMES) == 6 and len(GENZI_LIMB_NAMES) == 11  # GenZI's 6 torso + 11 limb pairs
    assert LIMB_NAMES[:11] == GENZI_LIMB_NAMES and len(LIMB_NAMES) == 17  # + eyes, ears, heels
    corr = build_correspondences(KEYPOINT_NAMES, limb=GENZI_LIMB_NAMES)
    assert corr.names[:6] == TORSO_NAMES and list(corr.group) == [0] * 6 + [1] * 11
    kp = torch.zeros(1, 23, 3)
    kp[0, KEYPOINT_NAMES.index("left_hip")] = torch.tensor([0.2, 0.0, 1.0])
    kp[0, KEYPOINT_NAMES.index("right_hip")] = torch.tensor([-0.2, 0.0, 1.0])
    kp[0, KEYPOINT_NAMES.index("nose")] = torch.tensor([0.0, -0.1, 1.6])
    pts = corr.body_points(kp, torch.zeros(1, 22, 3))
    assert torch.allclose(pts[0, 0], torch.tensor([0.0, 0.0, 1.0]))  # virtual mid-hip
    assert torch.allclose(pts[0, corr.names.index("nose")], torch.tensor([0.0, -0.1, 1.6]))
    xy = np.zeros((1, 23, 2))
    conf = np.ones((1, 23))
    xy[0, KEYPOINT_NAMES.index("left_shoulder")] = (100, 50)
    xy[0, KEYPOINT_NAMES.index("right_shoulder")] = (200, 70)
    conf[0, KEYPOINT_NAMES.index("right_shoulder")] = 0.3
    mxy, mconf = corr.detections(xy, conf)
    j = corr.names.index("neck")
    assert np.allclose(mxy[0, j], (150, 60)) and mconf[0, j] == pytest.approx(0.3)


def test_detector_neck_used_directly_and_joint_names_resolve():
    names = (*KEYPOINT_NAMES, "neck")
    corr = build_correspondences(names, torso=("neck",), limb=())
    assert corr.det_a[0] == corr.det_b[0] == len(KEYPOINT_NAMES)
    # 'pelvis' is a body joint (index 23 + 0 in cat([keypoints, joints])), the detector has none.
    with pytest.raises(InputError, match="'pelvis' is not among the detected keypoints"):
        build_correspondences(KEYPOINT_NAMES, torso=("pelvis",), limb=())
    corr2 = build_correspondences((*KEYPOINT_NAMES, "pelvis"), torso=("pelvis",), limb=())
    assert corr2.body_a[0] == 23


def test_stack_cameras_rejects_bad_cameras():
    good = Camera.look_at([0, -2, 1], [0, 0, 1], 512, 384)
    views = stack_cameras([good])
    assert views.scale.tolist() == [512.0] and views.K.shape == (1, 3, 3)
    T = good.T_cam_world.copy()
    T[:3, :3] *= 2.0
    with pytest.raises(InputError, match=r"camera 0 \(view\): T_cam_world is not a rotation \+ translation"):
        stack_cameras([Camera(good.K, T, 512, 512)])
    K = good.K.copy()
    K[0, 0] = np.nan
    with pytest.raises(InputError, match=r"camera 1 .* non-finite intrinsics"):
        stack_cameras([good, Camera(K, good.T_cam_world, 512, 512)])
    with pytest.raises(InputError, match="at least one camera"):
        stack_cameras([])


def _kp(n_views, value=100.0):
    return Keypoints2D(np.full((n_views, 23, 2), value, np.float32), np.ones((n_views, 23), np.float32))


def test_observations_normalise_mask_and_sanitise():
    cams = [Camera.look_at([0, -2, 1], [0, 0, 1], 512, 512), Camera.look_at([2, 0, 1], [0, 0, 1], 640, 480)]
    views = stack_cameras(cams)
    corr = build_correspondences(KEYPOINT_NAMES)
    kp = _kp(2)
    kp.xy[1, KEYPOINT_NAMES.index("nose")] = np.nan  # a detector's "not found"
    obs = prepare_observations([kp], views, corr)
    assert obs.xy.shape == (1, 2, 6 + 17, 2)
    assert obs.xy[0, 0, 1, 0].item() == pytest.approx(100 / 512)
    assert obs.xy[0, 1, 1, 0].item() == pytest.approx(100 / 640)  # max(W, H) normalises both axes
    assert obs.conf[0, 1, corr.names.index("nose")].item() == 0.0
    assert obs.num_views.tolist() == [2]
    obs2 = prepare_observations([kp, kp], views, corr, valid=np.array([[True, False], [True, True]]))
    assert obs2.num_views.tolist() == [1, 2] and obs2.conf[0, 1].abs().sum() == 0


def test_observations_errors():
    views = stack_cameras([Camera.look_at([0, -2, 1], [0, 0, 1], 512, 512)] * 2)
    corr = build_correspondences(KEYPOINT_NAMES)
    with pytest.raises(InputError, match="keypoints of hypothesis 1 cover 3 views but 2 cameras were given"):
        prepare_observations([_kp(2), _kp(3)], views, corr)
    bad = _kp(2)
    bad.conf[0, 0] = 1.5
    with pytest.raises(InputError, match=r"confidences of hypothesis 0 lie outside \[0, 1\]"):
        prepare_observations([bad], views, corr)
    with pytest.raises(InputError, match="hypothesis 0 has no usable view"):
        prepare_observations([Keypoints2D.empty(2)], views, corr)
    with pytest.raises(InputError, match=r"the view mask has shape \(2,\); expected"):
        prepare_observations([_kp(2)], views, corr, valid=np.ones(2, bool))


def test_initial_translation_and_yaw():
    centers = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]])
    p = np.array([0.0, 0.0, 0.4])
    assert np.allclose(initial_translation(centers, p), [0.5, 0.5, 0.7])
    assert np.allclose(initial_translation(centers, p, explicit_views=True), p)
    # GenZI: yaw -90 faces -X, +90 faces +X (the body faces -Y at yaw 0).
    assert np.allclose(yaw_rotmat(-90) @ BODY_FORWARD, [-1, 0, 0], atol=1e-12)
    assert np.allclose(yaw_rotmat(90) @ BODY_FORWARD, [1, 0, 0], atol=1e-12)
    for target in ([3, 0, 0], [0, 5, 1], [-1, -1, 0]):
        yaw = yaw_facing([0, 0, 0], target)
        f = yaw_rotmat(yaw) @ BODY_FORWARD
        d = np.array(target[:2], float) / np.linalg.norm(target[:2])
        assert np.allclose(f[:2], d, atol=1e-9)


def test_default_init_and_refinement_start(stick, identity_prior):
    centers = np.array([[2.0, 0.0, 1.0], [2.0, 1.0, 1.0]])
    init = default_init(stick, identity_prior, 3, centers, np.zeros(3), facing="cameras")
    R = rotation6d_to_rotmat(init.global_orient[0])
    f = R.numpy() @ BODY_FORWARD
    # t0 = (1, 0.25, 0.5) faces the mean camera centre (2, 0.5, 1) horizontally.
    assert np.allclose(f, [math.cos(math.atan2(0.25, 1.0)), math.sin(math.atan2(0.25, 1.0)), 0], atol=1e-6)
    assert init.transl.shape == (3, 3) and torch.allclose(init.transl[0], torch.tensor([1.0, 0.25, 0.5],
                                                                                       dtype=torch.float64))
    params = L.posed_params(stick, [0.1, 0.2, 0.3], pose=L.SITTING)
    ref = init_from_params(params, params.body_pose)
    assert ref.refine and torch.equal(ref.transl, params.transl)
    assert ref.expand(2).latent.shape == (2, 63)


@pytest.mark.parametrize("yaw", [-150.0, -30.0, 0.0, 75.0, 180.0])
def test_yaw_from_keypoints_reads_the_heading_and_shrugs_off_a_mirrored_view(stick, yaw):
    from inhabit.conventions import flip_left_right_names
    from inhabit.lift.init import yaw_from_keypoints

    out = stick(L.posed_params(stick, [0.0, 0.0, 1.0], yaw_deg=yaw))
    cams = L.ring_cameras([0, 0, 1.0], n=8, start_deg=-180.0, span_deg=315.0)
    kp = L.project_truth(out.keypoints[0], cams, noise_px=2.0)
    est = yaw_from_keypoints(kp.xy, kp.conf, kp.names, cams)
    assert abs((est - yaw + 180.0) % 360.0 - 180.0) < 5.0
    xy = kp.xy.copy()
    perm = [KEYPOINT_NAMES.index(n) for n in flip_left_right_names(KEYPOINT_NAMES)]
    xy[2] = xy[2][perm]  # one view shows the person mirrored
    est2 = yaw_from_keypoints(xy, kp.conf, kp.names, cams)
    assert abs((est2 - yaw + 180.0) % 360.0 - 180.0) < 10.0
    # Too little evidence: one usable view.
    valid = np.zeros(8, bool)
    valid[0] = True
    assert np.isnan(yaw_from_keypoints(kp.xy, kp.conf, kp.names, cams, valid))
