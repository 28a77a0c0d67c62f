"""Ground-truth errors: MPJPE, PA-MPJPE, rotation/pose errors, ROC AUC, on hand cases."""

import itertools
import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from inhabit.evaluate import accuracy


def _skeleton(seed=0, J=22):
    return np.random.default_rng(seed).normal(size=(J, 3))


def test_mpjpe_hand_case_and_root_relative():
    gt = _skeleton()
    pred = gt + np.array([0.3, 0.4, 0.0])
    assert accuracy.mpjpe(pred, gt) == pytest.approx(0.5)
    assert accuracy.mpjpe(pred, gt, root=0) == pytest.approx(0.0, abs=1e-12)
    assert accuracy.root_error(pred, gt) == pytest.approx(0.5)
    seq = np.stack([gt, gt + np.array([0.0, 0.0, 1.0])])
    np.testing.assert_allclose(accuracy.mpjpe_per_item(seq, np.stack([gt, gt])), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"pred has shape \(22, 3\) but gt has shape \(21, 3\)"):
        accuracy.mpjpe(gt, gt[:21])


def test_pa_mpjpe_of_similarity_copy_is_zero():
    gt = _skeleton(1)
    R = Rotation.from_rotvec([0.3, -1.2, 2.0]).as_matrix()
    pred = 1.7 * gt @ R.T + np.array([1.0, -2.0, 0.5])
    assert accuracy.mpjpe(pred, gt) > 0.5
    assert accuracy.pa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-9)
    _, s, R_est, _ = accuracy.procrustes_align(pred, gt)
    assert s == pytest.approx(1 / 1.7)
    np.testing.assert_allclose(R_est, R.T, atol=1e-9)


def test_pa_mpjpe_never_uses_a_reflection():
    gt = _skeleton(2)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    _, _, R, _ = accuracy.procrustes_align(mirrored, gt)
    assert np.linalg.det(R) == pytest.approx(1.0)
    assert accuracy.pa_mpjpe(mirrored, gt) > 0.1  # a mirror image cannot be aligned by a rotation
    # batched: one aligned copy, one mirrored one
    both = accuracy.pa_mpjpe_per_item(np.stack([gt * 2.0, mirrored]), np.stack([gt, gt]))
    assert both[0] == pytest.approx(0.0, abs=1e-9) and both[1] > 0.1


def test_pa_mpjpe_reduces_noise_error():
    rng = np.random.default_rng(3)
    gt = _skeleton(3)
    noisy = gt + rng.normal(scale=0.01, size=gt.shape)
    R = Rotation.from_rotvec([0.0, 0.0, 1.0]).as_matrix()
    assert accuracy.pa_mpjpe(noisy @ R.T, gt) <= accuracy.mpjpe(noisy, gt) + 1e-12


def test_rotation_error_deg():
    I = np.eye(3)
    Rz90 = Rotation.from_rotvec([0, 0, math.pi / 2]).as_matrix()
    Rx180 = Rotation.from_rotvec([math.pi, 0, 0]).as_matrix()
    small = Rotation.from_rotvec([1e-6, 0, 0]).as_matrix()
    got = accuracy.rotation_error_deg(np.stack([I, I, I, I]), np.stack([I, Rz90, Rx180, small]))
    np.testing.assert_allclose(got, [0.0, 90.0, 180.0, math.degrees(1e-6)], rtol=1e-6, atol=1e-9)


def test_camera_and_object_pose_errors():
    T_gt = np.tile(np.eye(4), (2, 1, 1))
    T_pred = T_gt.copy()
    T_pred[1, :3, :3] = Rotation.from_rotvec([0, math.radians(10), 0]).as_matrix()
    T_pred[1, :3, 3] = [0.0, 0.3, 0.4]
    e = accuracy.camera_pose_errors(T_pred, T_gt)
    assert e["cam_rot_deg"] == pytest.approx(5.0) and e["cam_rot_deg_max"] == pytest.approx(10.0)
    assert e["cam_trans"] == pytest.approx(0.25) and e["cam_trans_max"] == pytest.approx(0.5)
    o = accuracy.object_pose_errors(T_pred, T_gt)
    assert o["obj_trans_max"] == pytest.approx(0.5)


def _auc_bruteforce(s, y):
    pos, neg = s[y], s[~y]
    total = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return total / (len(pos) * len(neg))


def test_roc_auc_hand_cases():
    y = np.array([True, True, False, False])
    assert accuracy.roc_auc([0.9, 0.8, 0.2, 0.1], y) == 1.0
    assert accuracy.roc_auc([0.1, 0.2, 0.8, 0.9], y) == 0.0
    assert accuracy.roc_auc([0.5, 0.5, 0.5, 0.5], y) == 0.5
    assert accuracy.roc_auc([0.9, 0.5, 0.5, 0.1], y) == pytest.approx(3.5 / 4)
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, size=40).astype(float)  # many ties
    lab = rng.random(40) < 0.4
    assert accuracy.roc_auc(s, lab) == pytest.approx(_auc_bruteforce(s, lab))
    with pytest.raises(ValueError, match="at least one positive and one negative"):
        accuracy.roc_auc([0.1, 0.2], [True, True])
