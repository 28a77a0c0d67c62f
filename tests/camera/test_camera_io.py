"""cameras.json: round trip and one clear sentence per bad input."""

import json

import numpy as np
import pytest

from inhabit.camera.io import FORMAT, read_cameras_json, write_cameras_json
from inhabit.camera.pinhole import Camera
from inhabit.errors import InputError


def _cameras():
    a = Camera.look_at([2.0, -1.0, 1.2], [0.1, 0.2, 0.5], 64, 48, fov_y_deg=50, name="view000")
    b = Camera.look_at([-1.0, -2.0, 0.7], [0.1, 0.2, 0.5], 32, 32, name="view001")
    b.K[0, 2] = 10.25  # off-centre principal point survives
    a.meta["vis_ratio"] = 0.875
    return [a, b]


def _write(tmp_path, cams=None, images=True):
    cams = cams or _cameras()
    if images:
        for c in cams:
            (tmp_path / f"{c.name}.png").write_bytes(b"png")
    return write_cameras_json(tmp_path / "cameras.json", cams, [0.1, 0.2, 0.5], extra={"normal": [0, 0, 1]})


def test_round_trip(tmp_path):
    cams = _cameras()
    path = _write(tmp_path, cams)
    doc = json.loads(path.read_text())
    assert doc["format"] == FORMAT and doc["up"] == [0, 0, 1] and doc["normal"] == [0, 0, 1]
    assert doc["views"][0]["image"] == "view000.png" and doc["views"][0]["vis_ratio"] == 0.875
    cs = read_cameras_json(path)
    assert len(cs) == 2 and np.allclose(cs.look_at, [0.1, 0.2, 0.5]) and np.allclose(cs.up, [0, 0, 1])
    for c, d in zip(cams, cs.cameras):
        assert c.name == d.name and (c.width, c.height) == (d.width, d.height)
        assert np.allclose(c.K, d.K) and np.allclose(c.T_cam_world, d.T_cam_world, atol=1e-12)
    assert cs.cameras[0].meta == {"vis_ratio": 0.875}
    assert cs.extra == {"normal": [0, 0, 1]}  # the writer's extra top-level keys come back
    assert cs.image_paths == [tmp_path / "view000.png", tmp_path / "view001.png"]
    p = np.array([[0.3, 0.1, 0.6]])
    assert np.allclose(cams[1].project(p)[0], cs.cameras[1].project(p)[0])


def test_views_without_images_and_absolute_image_paths(tmp_path):
    cams = _cameras()
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "a.png").write_bytes(b"png")
    path = write_cameras_json(tmp_path / "cams.json", cams, None, images=[other / "a.png", None])
    cs = read_cameras_json(path)
    assert cs.look_at is None and cs.image_paths == [other / "a.png", None]
    assert json.loads(path.read_text())["views"][0]["image"] == "elsewhere/a.png"


def _edit(tmp_path, fn):
    path = _write(tmp_path)
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))
    return path


def _rotate(doc, R):
    T = np.asarray(doc["views"][1]["T_cam_world"])
    T[:3, :3] = R
    doc["views"][1]["T_cam_world"] = T.tolist()


BAD = {
    "wrong format": (lambda d: d.update(format="genzi/1"),
                     "'format' is 'genzi/1', expected 'inhabit.cameras/1'"),
    "no views": (lambda d: d.update(views=[]), "'views' must be a non-empty list"),
    "not orthonormal": (lambda d: _rotate(d, np.diag([1.0, 1.0, 1.001])),
                        "view 'view001' has T_cam_world whose 3x3 block is not orthonormal"),
    "reflection": (lambda d: _rotate(d, np.diag([1.0, 1.0, -1.0])),
                   "view 'view001' has T_cam_world whose 3x3 block has determinant -1, expected \\+1"),
    "last row": (lambda d: d["views"][0]["T_cam_world"].__setitem__(3, [0, 0, 1, 1]),
                 "view 'view000' has T_cam_world whose last row is"),
    "K shape": (lambda d: d["views"][0].update(K=[[1, 0, 0], [0, 1, 0]]),
                "view 'view000' has a K of shape \\(2, 3\\), expected 3x3"),
    "K focal": (lambda d: d["views"][0].update(K=[[-5, 0, 1], [0, 5, 1], [0, 0, 1]]),
                "view 'view000' has K = .* with fx, fy > 0"),
    "T nan": (lambda d: d["views"][0]["T_cam_world"][0].__setitem__(3, None),
              "view 'view000' has a T_cam_world with NaN or infinite entries"),
    "width": (lambda d: d["views"][1].update(width=12.5), "view 'view001' has width = 12.5, expected a positive integer"),
    "missing key": (lambda d: d["views"][1].pop("K"), "view 'view001' has no 'K'"),
    "duplicate": (lambda d: d["views"][1].update(name="view000"), "two views are named 'view000'"),
    "missing image": (lambda d: d["views"][1].update(image="nope.png"),
                      "view 'view001' names image 'nope.png', but .*nope.png does not exist"),
    "up": (lambda d: d.update(up=[0, 0, 2]), "'up' is \\[0, 0, 2\\], expected a unit 3-vector"),
    "look_at": (lambda d: d.update(look_at=[1, 2]), "'look_at' is \\[1, 2\\], expected three numbers"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_named(tmp_path, case):
    fn, msg = BAD[case]
    path = _edit(tmp_path, fn)
    with pytest.raises(InputError, match=msg) as e:
        read_cameras_json(path)
    assert str(e.value).startswith(str(path))


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(InputError, match=r"cameras file .*none.json does not exist"):
        read_cameras_json(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"cameras file .*bad.json is not valid JSON"):
        read_cameras_json(bad)


def test_images_need_not_exist_when_not_required(tmp_path):
    path = _write(tmp_path, images=False)
    with pytest.raises(InputError, match="does not exist"):
        read_cameras_json(path)
    assert len(read_cameras_json(path, require_images=False)) == 2
