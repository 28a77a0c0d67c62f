"""SMPL-X model files: finding them, and one clear sentence for every way they can be missing or broken."""

import re
import shutil
import zipfile

import numpy as np
import pytest

from inhabit.body.smplx_model import MIN_VERTICES, find_smplx_file, validate_smplx_file
from inhabit.errors import InputError, MissingWeightsError


def _npz_like(src_dir, dst_dir, drop=(), shapes=None):
    """A SMPLX_NEUTRAL.npz with the synthetic file's array shapes, some dropped or changed.

    The validator reads only the .npy headers, so the members hold headers and no data: the error
    paths are tested without writing 150 MB of arrays.
    """
    import io

    from inhabit.body.smplx_model import _npz_shapes

    layout = _npz_shapes(src_dir / "smplx" / "SMPLX_NEUTRAL.npz")
    layout.update(shapes or {})
    dst = dst_dir / "smplx" / "SMPLX_NEUTRAL.npz"
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dst, "w") as zout:
        for key, shape in layout.items():
            if key in drop:
                continue
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
            zout.writestr(key + ".npy", buf.getvalue())
    return dst


def test_nested_and_flat_layouts_are_found(smplx_dir, tmp_path):
    assert find_smplx_file(smplx_dir) == smplx_dir / "smplx" / "SMPLX_NEUTRAL.npz"
    shutil.copy(smplx_dir / "smplx" / "SMPLX_NEUTRAL.npz", tmp_path / "SMPLX_NEUTRAL.npz")
    assert find_smplx_file(tmp_path) == tmp_path / "SMPLX_NEUTRAL.npz"
    assert find_smplx_file(tmp_path / "SMPLX_NEUTRAL.npz") == tmp_path / "SMPLX_NEUTRAL.npz"


def test_default_folder_is_inhabit_models_dir(smplx_dir, monkeypatch):
    monkeypatch.setenv("INHABIT_MODELS_DIR", str(smplx_dir))
    assert find_smplx_file() == smplx_dir / "smplx" / "SMPLX_NEUTRAL.npz"


def test_missing_folder_names_it_and_where_to_get_smplx(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(MissingWeightsError) as e:
        find_smplx_file(missing)
    msg = str(e.value)
    assert f"SMPL-X model folder {missing} does not exist" in msg
    assert "smpl-x.is.tue.mpg.de" in msg and "non-commercial" in msg and "SMPLX_NEUTRAL.npz" in msg


def test_folder_without_the_file_lists_what_was_looked_for(tmp_path):
    with pytest.raises(MissingWeightsError, match=re.escape(
            f"no SMPL-X model file in {tmp_path} (looked for smplx/SMPLX_FEMALE.npz, smplx/SMPLX_FEMALE.pkl, "
            "SMPLX_FEMALE.npz, SMPLX_FEMALE.pkl)")):
        find_smplx_file(tmp_path, gender="female")


def test_load_body_model_reports_missing_files(tmp_path):
    from inhabit.body import load_body_model

    with pytest.raises(MissingWeightsError, match=re.escape("smpl-x.is.tue.mpg.de")):
        load_body_model("smplx", model_path=tmp_path)
    with pytest.raises(InputError, match="unknown body model 'smpl'; expected one of"):
        load_body_model("smpl")


def test_missing_key_is_named(smplx_dir, tmp_path):
    f = _npz_like(smplx_dir, tmp_path, drop=("J_regressor",))
    with pytest.raises(InputError, match=re.escape(f"SMPL-X model file {f} lacks the array 'J_regressor'")):
        validate_smplx_file(f)


def test_wrong_shape_is_named(smplx_dir, tmp_path):
    f = _npz_like(smplx_dir, tmp_path, shapes={"weights": (13718, 54)})
    with pytest.raises(InputError, match=re.escape(
            f"SMPL-X model file {f}: array 'weights' has shape (13718, 54), expected (13718, 55)")):
        validate_smplx_file(f)


def test_too_few_vertices_is_named(smplx_dir, tmp_path):
    n = 5000
    f = _npz_like(smplx_dir, tmp_path, shapes={
        "v_template": (n, 3), "shapedirs": (n, 3, 10), "posedirs": (n, 3, 486), "J_regressor": (55, n),
        "weights": (n, 55)})
    with pytest.raises(InputError, match=f"has {n} vertices; smplx needs at least {MIN_VERTICES}"):
        validate_smplx_file(f)


def test_not_a_zip_file_is_unreadable(tmp_path):
    f = tmp_path / "SMPLX_NEUTRAL.npz"
    f.write_bytes(b"this is not a numpy archive")
    with pytest.raises(InputError, match=re.escape(f"SMPL-X model file {f} could not be read (BadZipFile")):
        validate_smplx_file(f)


def test_unrelated_npz_is_not_a_smplx_model(tmp_path):
    f = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(f, something=np.zeros(3))
    with pytest.raises(InputError, match="has no 'v_template' array; it is not a SMPL-X model"):
        validate_smplx_file(f)


def test_synthetic_file_has_the_real_layout(smplx_dir):
    f = smplx_dir / "smplx" / "SMPLX_NEUTRAL.npz"
    assert validate_smplx_file(f) == 13718
    d = np.load(f)
    assert d["shapedirs"].shape == (13718, 3, 400) and d["posedirs"].shape == (13718, 3, 486)
    assert d["kintree_table"].shape == (2, 55) and d["kintree_table"][0, 0] == 2**32 - 1
    np.testing.assert_allclose(d["J_regressor"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(d["weights"].sum(1), 1.0, atol=1e-5)
    assert (d["J_regressor"] >= 0).all() and d["f"].max() == 13717
    q = d["hands_componentsl"]
    np.testing.assert_allclose(q @ q.T, np.eye(45), atol=1e-5)


def test_synthetic_file_puts_extra_keypoint_vertices_on_the_body_parts(smplx_model):
    out = smplx_model(smplx_model.default_params(1))
    K = dict(zip(out.keypoint_names, out.keypoints[0]))
    J = dict(zip(out.joint_names, out.joints[0]))
    assert float(K["nose"][1]) < float(J["head"][1]) - 0.05 and float(K["nose"][2]) > float(J["neck"][2])
    assert float(K["left_heel"][1]) > float(J["left_ankle"][1]) and float(K["left_big_toe"][1]) < -0.1
    assert float(K["left_ear"][0]) > 0.05 and float(K["right_ear"][0]) < -0.05


def test_synthetic_seed_changes_only_the_random_parts(smplx_dir):
    from inhabit.body.synthetic import build_synthetic_smplx

    a = np.load(smplx_dir / "smplx" / "SMPLX_NEUTRAL.npz")  # seed 0
    b = build_synthetic_smplx(seed=1)
    np.testing.assert_array_equal(a["v_template"], b["v_template"])
    np.testing.assert_array_equal(a["f"], b["f"])
    assert not np.allclose(a["shapedirs"][:, :, :10], b["shapedirs"][:, :, :10])
    assert not np.allclose(a["hands_componentsl"], b["hands_componentsl"])
