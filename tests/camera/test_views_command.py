"""``inhabit views`` end to end on a tiny scene."""

import json

import numpy as np
import pytest

from inhabit.camera.io import read_cameras_json
from inhabit.camera.views import ViewSelectionConfig
from inhabit.errors import InputError
from inhabit.io import read_image
from inhabit.pipeline.views import parse_eyes, write_views


def test_write_views_on_a_tiny_scene(tmp_path, small_scene, gl_renderer):
    out = tmp_path / "views"
    out.mkdir()
    (out / "view015.png").write_bytes(b"old")  # a stale view of an earlier run
    (out / "notes.txt").write_text("mine")
    cfg = ViewSelectionConfig(max_views=5, image_size=96, raster_size=256)
    res = write_views(small_scene, np.array([0.05, -0.05, 0.45]), out, cfg, renderer=gl_renderer)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["cameras.json", "contact_sheet.png", "notes.txt", *[f"view{i:03d}.png" for i in range(5)]])
    cs = read_cameras_json(out / "cameras.json")
    assert [c.name for c in cs.cameras] == [f"view{i:03d}" for i in range(5)]
    assert np.allclose(cs.look_at, [0.05, -0.05, 0.45])
    for c, cam, img in zip(cs.cameras, res.selection.cameras, cs.image_paths):
        assert np.allclose(c.T_cam_world, cam.T_cam_world) and c.meta["vis_ratio"] == pytest.approx(cam.meta["vis_ratio"])
        assert read_image(img).shape == (96, 96, 3)
    doc = json.loads((out / "cameras.json").read_text())
    assert np.allclose(doc["normal"], [0, 0, 1]) and np.allclose(doc["t0"], res.selection.t0)
    sheet = read_image(out / "contact_sheet.png")
    assert sheet.shape[0] > 2 * 96 and sheet.shape[1] > 3 * 96
    # the view renders show the seat (blue) in the middle
    mid = read_image(out / "view000.png")[48, 48]
    assert mid[2] > mid[0]


def test_explicit_eyes(tmp_path, small_scene, gl_renderer):
    eyes = parse_eyes(["0,-2,1", "2 0 1.2"])
    res = write_views(small_scene, np.array([0.05, -0.05, 0.45]), tmp_path, ViewSelectionConfig(image_size=32),
                      eyes=eyes, renderer=gl_renderer)
    assert np.allclose(res.selection.eyes, eyes) and json.loads(res.cameras_json.read_text())["selection"] == "explicit"
    with pytest.raises(InputError, match="--eyes entry '1,2' is not three numbers"):
        parse_eyes(["1,2"])


def test_point_outside_the_scene_is_named(tmp_path, small_scene, gl_renderer):
    with pytest.raises(InputError, match=r"point \(0.00, 0.00, 9.00\) is outside the scene, whose bounds are "
                                         r"\(-4.00, -4.00, 0.00\) to \(4.00, 4.00, 2.50\)"):
        write_views(small_scene, np.array([0.0, 0.0, 9.0]), tmp_path, renderer=gl_renderer)
    assert not (tmp_path / "cameras.json").exists()


def test_cli_views_end_to_end(tmp_path):
    """``inhabit views --scene FILE --at x,y,z`` with a mesh file (needs inhabit.scene.load)."""
    pytest.importorskip("inhabit.scene.load", reason="scene loading (inhabit.scene.load) is not in this tree yet")
    import trimesh

    from inhabit.cli import main

    floor = trimesh.creation.box((4, 4, 0.02))
    floor.apply_translation([0, 0, -0.01])
    seat = trimesh.creation.box((0.5, 0.5, 0.45))
    seat.apply_translation([0, 0, 0.225])
    path = tmp_path / "scene.ply"
    trimesh.util.concatenate([floor, seat]).export(path)
    out = tmp_path / "out"
    assert main(["views", "--scene", str(path), "--at", "0.0,0.05,0.45", "--out", str(out), "--num-views", "3",
                 "--size", "64"]) == 0
    cs = read_cameras_json(out / "cameras.json")
    assert len(cs) == 3 and all(p.is_file() for p in cs.image_paths) and (out / "contact_sheet.png").is_file()
    assert main(["views", "--scene", str(path), "--at", "0,0,7", "--out", str(tmp_path / "o2")]) == 2
