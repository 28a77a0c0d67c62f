"""Conventions are stated once; these tests pin them down."""

import numpy as np
import pytest
import torch

from inhabit import conventions as C
from inhabit.rotations import rotation6d_to_rotmat, rotmat_to_rotation6d, rotvec_to_rotmat
from inhabit.structures import Keypoints2D


def test_keypoint_sets_have_expected_sizes_and_unique_names():
    assert len(C.BODY_JOINT_NAMES) == 22 and len(set(C.BODY_JOINT_NAMES)) == 22
    assert len(C.KEYPOINT_NAMES) == 23 and len(set(C.KEYPOINT_NAMES)) == 23
    assert C.BODY_JOINT_NAMES[0] == "pelvis" and C.BODY_JOINT_NAMES[-1] == "right_wrist"
    assert len(C.BODY_JOINT_PARENTS) == 22
    for i, p in enumerate(C.BODY_JOINT_PARENTS):
        assert p < i


def test_skeleton_edges_name_known_keypoints():
    names = set(C.KEYPOINT_NAMES)
    for a, b in C.SKELETON_EDGES:
        assert a in names and b in names


@pytest.mark.parametrize("axis", ["z", "y", "-y", "-z"])
def test_up_axis_rotations_are_proper_and_map_up_to_z(axis):
    R = C.UP_AXIS_TO_Z[axis]
    assert np.allclose(R @ R.T, np.eye(3)) and np.isclose(np.linalg.det(R), 1.0)
    file_up = {"z": [0, 0, 1], "y": [0, 1, 0], "-y": [0, -1, 0], "-z": [0, 0, -1]}[axis]
    assert np.allclose(R @ np.array(file_up, float), [0, 0, 1])


def test_flip_left_right_names_round_trip():
    flipped = C.flip_left_right_names(C.KEYPOINT_NAMES)
    assert flipped[C.KEYPOINT_NAMES.index("left_wrist")] == "right_wrist"
    assert flipped[0] == "nose"
    assert C.flip_left_right_names(flipped) == list(C.KEYPOINT_NAMES)


def test_keypoint_index_names_missing_entry():
    with pytest.raises(KeyError, match="neck"):
        C.keypoint_index(C.KEYPOINT_NAMES, ["nose", "neck"])


def test_rotation6d_layout_is_first_two_columns_row_major():
    R = rotvec_to_rotmat(torch.tensor([0.3, -0.2, 1.1], dtype=torch.float64))
    r6 = rotmat_to_rotation6d(R)
    assert torch.allclose(r6, torch.stack([R[0, 0], R[0, 1], R[1, 0], R[1, 1], R[2, 0], R[2, 1]]))
    assert torch.allclose(rotation6d_to_rotmat(r6), R, atol=1e-10)


def test_rotation6d_gradcheck():
    r6 = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rotation6d_to_rotmat, (r6,))


def test_keypoints2d_validates_and_selects():
    kp = Keypoints2D(np.zeros((2, 23, 2)), np.ones((2, 23)))
    sub = kp.select(["right_wrist", "nose"])
    assert sub.xy.shape == (2, 2, 2) and sub.names == ("right_wrist", "nose")
    with pytest.raises(ValueError, match="shapes disagree"):
        Keypoints2D(np.zeros((2, 22, 2)), np.ones((2, 23)))
    empty = Keypoints2D.empty(3)
    assert len(empty) == 3 and float(empty.conf.sum()) == 0.0
    assert len(Keypoints2D.stack([kp, empty])) == 5
