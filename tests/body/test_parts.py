"""Vertex body-part labels, the anny cache and doctor reports."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

from inhabit.body.parts import (
    PART_ADJACENCY,
    PART_NAMES,
    adjacency_matrix,
    part_mask,
    smplx_joint_part,
    vertex_parts,
)
from inhabit.conventions import BODY_JOINT_NAMES


def test_every_vertex_gets_one_of_the_parts(body_model):
    labels = vertex_parts(body_model)
    V = body_model(body_model.default_params(1)).vertices.shape[1]
    assert labels.shape == (V,) and labels.dtype == torch.long
    counts = torch.bincount(labels, minlength=len(PART_NAMES))
    assert (counts > 20).all(), dict(zip(PART_NAMES, counts.tolist()))


def test_parts_sit_where_their_limbs_are(body_model):
    from inhabit.body.poses import make_pose

    out = body_model(make_pose(body_model, "t_pose"))
    V, J = out.vertices[0], dict(zip(BODY_JOINT_NAMES, out.joints[0]))
    for side, s in (("left", 1.0), ("right", -1.0)):
        hand = V[part_mask(body_model, f"{side}_hand")]
        fore = V[part_mask(body_model, f"{side}_forearm")]
        upper = V[part_mask(body_model, f"{side}_upper_arm")]
        # along the arm (T-pose, +-X): upper arm < forearm < hand, split near elbow and wrist
        assert s * float(upper[:, 0].median()) < s * float(J[f"{side}_elbow"][0]) < s * float(fore[:, 0].median())
        assert s * float(fore[:, 0].median()) < s * float(J[f"{side}_wrist"][0]) < s * float(hand[:, 0].median())
        shin = V[part_mask(body_model, f"{side}_shin")]
        thigh = V[part_mask(body_model, f"{side}_thigh")]
        foot = V[part_mask(body_model, f"{side}_foot")]
        assert float(foot[:, 2].median()) < float(shin[:, 2].median()) < float(thigh[:, 2].median())
        assert float(shin[:, 2].median()) < float(J[f"{side}_knee"][2]) < float(thigh[:, 2].median())
    head = V[part_mask(body_model, "head")]
    assert float(head[:, 2].min()) > float(J["neck"][2]) - 0.02


def test_adjacency_is_symmetric_and_names_known_parts():
    A = adjacency_matrix()
    assert torch.equal(A, A.T) and A.diagonal().all()
    assert int(A.sum()) == len(PART_NAMES) + 2 * len(PART_ADJACENCY)
    assert smplx_joint_part("left_index2") == "left_hand" and smplx_joint_part("right_knee") == "right_shin"
    with pytest.raises(KeyError, match="'left_tail' is not a SMPL-X joint name"):
        smplx_joint_part("left_tail")


def test_prune_keeps_the_compact_file_and_removes_build_intermediates(tmp_path):
    from inhabit.body.anny_model import prune_anny_cache

    v = tmp_path / "v14"
    v.mkdir()
    (v / "build_compact_model_data_abc.safetensors").write_bytes(b"c" * 10)
    (v / "load_data_abc.safetensors").write_bytes(b"l" * 100)
    (v / "build_model_data_abc.safetensors").write_bytes(b"b" * 50)
    assert prune_anny_cache(tmp_path) == 150
    assert sorted(p.name for p in v.iterdir()) == ["build_compact_model_data_abc.safetensors"]
    # without a compact file nothing is deleted (the intermediates are needed to build it)
    w = tmp_path / "v15"
    w.mkdir()
    (w / "load_data_x.safetensors").write_bytes(b"l")
    assert prune_anny_cache(tmp_path) == 0 and (w / "load_data_x.safetensors").exists()


def test_anny_loads_from_a_cache_holding_only_the_compact_file(tmp_path):
    from inhabit.body.anny_model import compact_cache_files

    files = compact_cache_files()
    assert files, "the anny cache is expected to be built (tests/conftest.py points at .cache/anny)"
    dst = tmp_path / files[-1].parent.name
    dst.mkdir()
    shutil.copy(files[-1], dst / files[-1].name)
    env = dict(os.environ, ANNY_CACHE_DIR=str(tmp_path), INHABIT_CACHE_DIR=str(tmp_path / "inhabit"))
    code = ("from inhabit.body import load_body_model; m = load_body_model('anny'); "
            "print(m(m.default_params(1)).vertices.shape[1])")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith("13718")
    assert sorted(p.name for p in dst.iterdir()) == [files[-1].name]  # nothing rebuilt


def test_doctor_reports_each_body_component(tmp_path, monkeypatch, smplx_dir):
    from inhabit.body import anny_model, smplx_model, vposer
    from inhabit.body.synthetic import write_synthetic_vposer

    monkeypatch.setenv("INHABIT_MODELS_DIR", str(tmp_path))
    (a,) = anny_model.doctor_status()
    assert a.found and not a.optional and "build_compact_model_data" in a.location
    (s,) = smplx_model.doctor_status()
    assert not s.found and s.optional and str(tmp_path / "smplx" / "SMPLX_NEUTRAL.npz") in s.location
    assert "smpl-x.is.tue.mpg.de" in s.how_to_provide
    (v,) = vposer.doctor_status()
    assert not v.found and "V02_05" in v.location
    monkeypatch.setenv("INHABIT_MODELS_DIR", str(smplx_dir))
    write_synthetic_vposer(smplx_dir / "vposer")
    (s,) = smplx_model.doctor_status()
    (v,) = vposer.doctor_status()
    assert s.found and s.location.endswith("SMPLX_NEUTRAL.npz") and v.found
