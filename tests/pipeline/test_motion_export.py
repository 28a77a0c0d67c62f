"""The motion job's exports: the animated glTF (written, re-read, checked key by key against the
inputs), its axis and camera conversions, and the video/sheet helpers (side camera framing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inhabit.errors import InputError
from inhabit.export.animation import (
    R_GL_CV,
    AnimatedBody,
    AnimatedCamera,
    AnimatedObject,
    accessor_array,
    animation_channels,
    body_frames,
    gltf_node_matrix,
    motion_glb_bytes,
    node_by_name,
    pose_to_gltf,
    read_glb,
    write_motion_glb,
)
from inhabit.export.glb import R_GLTF_WORLD, world_to_gltf
from inhabit.export.motion_video import comparison_sheet, frame_indices, side_by_side, side_camera


def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _motion(T=5, V=7, seed=0):
    rng = np.random.default_rng(seed)
    verts = rng.normal(size=(T, V, 3))
    faces = np.array([[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    poses = np.repeat(np.eye(4)[None], T, axis=0)
    for t in range(T):
        poses[t, :3, :3] = _rot_z(1.2 * t)  # 1.2 rad steps: slerp must take the short way
        poses[t, :3, 3] = [0.1 * t, -0.2 * t, 0.75]
    return verts, faces, poses


def test_glb_round_trip_reproduces_every_frame(tmp_path):
    T = 5
    verts, faces, poses = _motion(T)
    cams = poses.copy()
    K = np.array([[80.0, 0, 40.0], [0, 100.0, 30.0], [0, 0, 1]])
    path = write_motion_glb(tmp_path / "m.glb", 12.5, body=AnimatedBody(verts, faces, np.full((7, 3), 0.5)),
                            objects=[AnimatedObject(np.eye(3), np.array([[0, 1, 2]]), poses, (255, 0, 0), "cup")],
                            cameras=[AnimatedCamera(cams, K, 80, 60)], extras={"prompt": "p"})
    g = read_glb(path)
    assert g.doc["asset"]["version"] == "2.0" and g.meta["fps"] == 12.5 and g.meta["num_frames"] == T
    assert g.meta["prompt"] == "p" and len(g.doc["animations"]) == 1
    body = node_by_name(g, "human")
    times, w = animation_channels(g, body)["weights"]
    np.testing.assert_allclose(times, np.arange(T) / 12.5, rtol=1e-7)
    np.testing.assert_array_equal(w, np.eye(T))
    posed = body_frames(g, body)
    assert posed.shape == (T, 7, 3)
    np.testing.assert_allclose(posed, np.stack([world_to_gltf(v) for v in verts]), atol=1e-5)
    prim = g.doc["meshes"][g.doc["nodes"][body]["mesh"]]["primitives"][0]
    np.testing.assert_array_equal(accessor_array(g, prim["indices"]).reshape(-1, 3), faces)
    rgba = accessor_array(g, prim["attributes"]["COLOR_0"])
    np.testing.assert_allclose(rgba[:, :3], 128 / 255, atol=1e-6)  # 0.5 -> 128 of 255, normalized
    np.testing.assert_array_equal(rgba[:, 3], 1.0)
    # every morph target accessor carries the min/max glTF requires
    for tgt in prim["targets"]:
        acc = g.doc["accessors"][tgt["POSITION"]]
        assert len(acc["min"]) == 3 and len(acc["max"]) == 3
    # the object: its node transform at key t is R_gltf_world @ T_world_object[t]
    ch = animation_channels(g, node_by_name(g, "cup"))
    q = ch["rotation"][1]
    assert np.all(np.sum(q[1:] * q[:-1], axis=1) > 0)  # one hemisphere: glTF's slerp takes the short way
    for t in range(T):
        want = np.eye(4)
        want[:3, :3] = R_GLTF_WORLD @ poses[t, :3, :3]
        want[:3, 3] = R_GLTF_WORLD @ poses[t, :3, 3]
        np.testing.assert_allclose(gltf_node_matrix(ch["translation"][1][t], q[t]), want, atol=1e-6)
    # the camera: OpenCV -> glTF axes, field of view from K
    persp = g.doc["cameras"][0]["perspective"]
    assert persp["yfov"] == pytest.approx(2 * math.atan(30 / 100.0))
    assert persp["aspectRatio"] == pytest.approx((80 / 80.0) / (60 / 100.0))
    cch = animation_channels(g, node_by_name(g, "video_camera"))
    M = gltf_node_matrix(cch["translation"][1][2], cch["rotation"][1][2])
    np.testing.assert_allclose(M[:3, :3], R_GLTF_WORLD @ cams[2, :3, :3] @ R_GL_CV, atol=1e-6)


def test_camera_conversion_looks_down_minus_z():
    """A camera at (0, -3, 1) looking at the origin: its glTF node's -Z axis points at the origin
    in glTF coordinates and its +Y axis is glTF up-ish (the image's up)."""
    from inhabit.camera.pinhole import Camera

    cam = Camera.look_at([0.0, -3.0, 1.0], [0.0, 0.0, 1.0], 64, 64)
    t, q = pose_to_gltf(cam.T_world_cam[None], R_GL_CV)
    M = gltf_node_matrix(t[0], q[0])
    target = world_to_gltf(np.array([[0.0, 0.0, 1.0]]))[0]
    view = -M[:3, 2]
    np.testing.assert_allclose(view, (target - M[:3, 3]) / np.linalg.norm(target - M[:3, 3]), atol=1e-9)
    np.testing.assert_allclose(M[:3, 1], [0.0, 1.0, 0.0], atol=1e-9)  # glTF +Y is world +Z, the image's up


def test_point_cloud_scene_and_static_object():
    pts = np.random.default_rng(1).normal(size=(50, 3))
    g = read_glb(motion_glb_bytes(10.0, scene_points=pts, scene_point_colors=np.ones((50, 3)) * 0.2,
                                  max_scene_points=20,
                                  objects=[AnimatedObject(np.zeros((4, 3)), None, np.eye(4)[None])]))
    node = node_by_name(g, "scene_points")
    prim = g.doc["meshes"][g.doc["nodes"][node]["mesh"]]["primitives"][0]
    assert prim["mode"] == 0
    got = accessor_array(g, prim["attributes"]["POSITION"])
    assert got.shape == (20, 3)
    # a seeded subset of the given points, converted to glTF axes
    all_gltf = world_to_gltf(pts)
    assert all(np.min(np.abs(all_gltf - p).sum(1)) < 1e-5 for p in got)
    assert "animations" not in g.doc  # one frame, nothing to animate


def test_glb_refuses_bad_data(tmp_path):
    verts, faces, poses = _motion(3)
    bad = verts.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(InputError, match=r"body 'human' vertices contains NaN or inf; refusing to export it"):
        motion_glb_bytes(10.0, body=AnimatedBody(bad, faces))
    with pytest.raises(InputError, match=r"fps is 0; expected a positive number"):
        motion_glb_bytes(0, body=AnimatedBody(verts, faces))
    with pytest.raises(InputError, match=r"object 'object' has 2 poses for 3 frames"):
        motion_glb_bytes(10.0, body=AnimatedBody(verts, faces), objects=[AnimatedObject(np.eye(3), None, poses[:2])])
    with pytest.raises(InputError, match=r"faces index vertices 0\.\.6 but contain 0\.\.9"):
        motion_glb_bytes(10.0, body=AnimatedBody(verts, np.array([[0, 1, 9]])))
    with pytest.raises(InputError, match=r"must end in \.glb"):
        write_motion_glb(tmp_path / "m.gltf", 10.0, body=AnimatedBody(verts, faces))
    with pytest.raises(InputError, match=r"is not a binary glTF 2\.0 file"):
        read_glb(b"x" * 40)


def test_frame_indices_and_side_by_side():
    np.testing.assert_array_equal(frame_indices(51, 8), [0, 7, 14, 21, 29, 36, 43, 50])
    np.testing.assert_array_equal(frame_indices(3, 8), [0, 1, 2])
    np.testing.assert_array_equal(frame_indices(5, 1), [0])
    a = np.zeros((2, 10, 6, 3), np.uint8)
    b = np.zeros((2, 8, 5, 3), np.uint8)
    out = side_by_side([a, b], gap=2)
    assert out.shape == (2, 10, 13, 3) and np.all(out[:, 0, 8:] == 255)  # b is padded to a's height
    with pytest.raises(InputError, match=r"side_by_side: the videos have \[2, 1\] frames"):
        side_by_side([a, b[:1]])
    sheet = comparison_sheet({"input": a, "reconstruction": a}, [0, 1], tile=16)
    assert sheet.ndim == 3 and sheet.shape[2] == 3


@pytest.mark.parametrize("azimuth", [90.0, -90.0, 45.0, 180.0])
def test_side_camera_sees_every_point(azimuth):
    rng = np.random.default_rng(3)
    pts = rng.uniform([-0.5, 1.0, 0.0], [1.5, 1.6, 1.8], size=(400, 3))
    forward = np.array([0.3, 1.0, -0.2])
    cam = side_camera(pts, forward, 160, 120, 50.0, azimuth, 20.0)
    uv, z = cam.project(pts)
    assert np.all(z > 0) and np.all((uv[:, 0] > 0) & (uv[:, 0] < 160) & (uv[:, 1] > 0) & (uv[:, 1] < 120))
    # the viewing direction is the video camera's horizontal direction turned by the azimuth, 20° down
    f = forward.copy()
    f[2] = 0
    f /= np.linalg.norm(f)
    a = math.radians(azimuth)
    d = np.array([f[0] * math.cos(a) - f[1] * math.sin(a), f[0] * math.sin(a) + f[1] * math.cos(a)])
    fw = cam.forward
    assert math.degrees(math.asin(-fw[2])) == pytest.approx(20.0, abs=1e-6)
    np.testing.assert_allclose(fw[:2] / np.linalg.norm(fw[:2]), d, atol=1e-9)
    with pytest.raises(InputError, match="no finite point"):
        side_camera(np.full((3, 3), np.nan), forward, 10, 10)
