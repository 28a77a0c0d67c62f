"""result.npz / motion.npz: round trips, validation sentences, atomic writes."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from inhabit.body.protocol import BodyOutput, BodyParams
from inhabit.conventions import BODY_JOINT_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.export import results as R


def _body(V=8, batch=()):
    rng = np.random.default_rng(0)
    return {
        "vertices": rng.normal(size=(*batch, V, 3)).astype(np.float32),
        "faces": np.array([[0, 1, 2], [2, 3, V - 1]]),
        "joints": rng.normal(size=(*batch, 22, 3)).astype(np.float32),
        "keypoints": rng.normal(size=(*batch, 23, 3)).astype(np.float32),
    }


def _params(batch=1):
    return BodyParams(torch.zeros(batch, 6), torch.ones(batch, 3), torch.full((batch, 5), 0.5), torch.zeros(batch, 2))


def test_result_round_trip(tmp_path):
    body = _body()
    out = R.save_result(tmp_path / "r" / "result.npz", body, _params(), "anny", view_weights=[0.9, 0.1, 0.5],
                        body_pose_smplx=np.full((21, 3), 0.1), extra={"prompt": "sitting on the bench", "stage": 1})
    assert [p.name for p in out.parent.iterdir()] == ["result.npz"]  # nothing temporary left behind
    r = R.load_result(out)
    np.testing.assert_array_equal(r.vertices, body["vertices"])
    np.testing.assert_array_equal(r.faces, body["faces"])
    assert r.joint_names == BODY_JOINT_NAMES and r.keypoint_names == KEYPOINT_NAMES
    assert r.body_model == "anny"
    np.testing.assert_allclose(r.view_weights, [0.9, 0.1, 0.5])
    assert r.params["body_pose"].shape == (5,)
    assert r.extra == {"prompt": "sitting on the bench", "stage": 1}
    np.testing.assert_allclose(r.joint("left_wrist"), body["joints"][20])
    bp = r.body_params()
    assert bp.batch_size == 1 and torch.allclose(bp.transl, torch.ones(1, 3))
    assert R.result_kind(out) == "result"


def test_result_from_bodyoutput_and_model_pose(tmp_path):
    b = _body(batch=(1,))
    bo = BodyOutput(*(torch.from_numpy(b[k]) for k in ("vertices", "joints", "keypoints")), torch.from_numpy(b["faces"]))

    class FakeModel:
        name = "fake"

        def body_pose_to_smplx_rotvec(self, body_pose):
            return torch.full((body_pose.shape[0], 21, 3), 0.25)

    p = R.save_result(tmp_path / "result.npz", bo, _params(), FakeModel())
    r = R.load_result(p)
    assert r.body_model == "fake" and r.vertices.shape == (8, 3)
    np.testing.assert_allclose(r.body_pose_smplx, 0.25)


def test_result_validation_sentences(tmp_path):
    path = tmp_path / "result.npz"
    b = _body()
    del b["joints"]
    with pytest.raises(InputError, match=r"the body to write has no 'joints'"):
        R.save_result(path, b)
    b = _body()
    b["joints"] = b["joints"][:21]
    with pytest.raises(InputError) as e:
        R.save_result(path, b)
    assert str(e.value) == (f"{path}: key 'joint_names' has shape (22,), expected (J,) with J = 21 as in 'joints'")
    b = _body()
    b["vertices"][3, 1] = np.nan
    with pytest.raises(InputError, match=r"key 'vertices' contains NaN or infinite values"):
        R.save_result(path, b)
    b = _body()
    b["faces"] = np.array([[0, 1, 99]])
    with pytest.raises(InputError, match=r"key 'faces' indexes vertices 0..99, expected 0..7"):
        R.save_result(path, b)
    assert not path.exists()  # nothing half-written


def test_load_result_errors(tmp_path):
    with pytest.raises(InputError, match=r"result file .*missing.npz does not exist"):
        R.load_result(tmp_path / "missing.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match=r"could not be read as an .npz archive"):
        R.load_result(broken)
    partial = tmp_path / "partial.npz"
    np.savez(partial, vertices=np.zeros((4, 3)), faces=np.zeros((1, 3), int))
    with pytest.raises(InputError) as e:
        R.load_result(partial)
    assert str(e.value) == f"{partial}: required key 'joints' is missing (expected (J, 3))"
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, vertices=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match=r"key 'vertices' holds Python objects"):
        R.load_result(pickled)


def _motion(T=5, V=8):
    b = _body(V=V, batch=(T,))
    ang = np.linspace(0, math.pi / 2, T)
    pose = np.tile(np.eye(4), (T, 1, 1))
    pose[:, 0, 0], pose[:, 0, 1], pose[:, 1, 0], pose[:, 1, 1] = np.cos(ang), -np.sin(ang), np.sin(ang), np.cos(ang)
    pose[:, :3, 3] = np.stack([np.arange(T), np.zeros(T), np.zeros(T)], 1)
    return b, pose


def test_motion_round_trip(tmp_path):
    b, pose = _motion()
    K = np.array([[500.0, 0, 256], [0, 500.0, 256], [0, 0, 1]])
    p = R.save_motion(tmp_path / "motion.npz", b, fps=10, params=_params(5), body_model="anny",
                      T_world_cam=np.tile(np.eye(4), (5, 1, 1)), K=K, object_pose=pose,
                      object_vertices=np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]), object_faces=[[0, 1, 2]])
    m = R.load_motion(p)
    assert m.num_frames == 5 and m.fps == 10.0
    assert m.params["body_pose"].shape == (5, 5) and m.body_params().batch_size == 5
    world = m.object_vertices_world()
    # frame 4: rotated 90 deg about z and shifted by 4 along x: (1,0,0) -> (4,1,0)
    np.testing.assert_allclose(world[4, 0], [4.0, 1.0, 0.0], atol=1e-9)
    assert R.result_kind(p) == "motion"
    with pytest.raises(InputError, match="is a motion file"):
        R.load_result(p)


def test_motion_validation_sentences(tmp_path):
    path = tmp_path / "motion.npz"
    b, pose = _motion()
    bad = dict(b, joints=b["joints"][:4])
    with pytest.raises(InputError) as e:
        R.save_motion(path, bad, fps=10)
    assert str(e.value) == f"{path}: key 'joints' has shape (4, 22, 3), expected (T, J, 3) with T = 5 as in 'vertices'"
    with pytest.raises(InputError, match=r"'fps' is 0.0, expected a positive number"):
        R.save_motion(path, b, fps=0)
    skew = pose.copy()
    skew[2, :3, :3] *= 2.0
    with pytest.raises(InputError, match=r"key 'object_pose' is not a rigid transform per frame"):
        R.save_motion(path, b, fps=10, object_pose=skew)
    with pytest.raises(InputError, match=r"has 'K' but not 'T_world_cam'"):
        R.save_motion(path, b, fps=10, K=np.eye(3))
    with pytest.raises(InputError, match=r"has 'object_vertices' but not 'object_faces'"):
        R.save_motion(path, b, fps=10, object_vertices=np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"key 'T_world_cam' has shape \(4, 4, 4\), expected \(T, 4, 4\) with T = 5"):
        R.save_motion(path, b, fps=10, T_world_cam=np.tile(np.eye(4), (4, 1, 1)), K=np.eye(3))
    assert not Path(path).exists()
