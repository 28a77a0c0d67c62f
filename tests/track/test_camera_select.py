"""Initial camera selection (ZeroHSI appendix C.3) on hand-made cases."""

import numpy as np
import pytest
import torch

from inhabit.errors import InputError
from inhabit.track.camera_select import (
    CameraArrayConfig,
    camera_array,
    facing_direction,
    joint_visibility,
    select_initial_camera,
    sphere_center,
)


def box_part(lo, hi, name="box"):
    from inhabit.scene.mesh import MeshPart

    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return MeshPart(v, f, name=name)


def small_array(**kw) -> CameraArrayConfig:
    return CameraArrayConfig(radii=(2.5,), elevations_deg=(0.0, 20.0), azimuths_deg=(-90, -60, -30, 30, 60, 90),
                             width=128, height=128, test_size=96, **kw)


def test_sphere_center_static_and_object_midpoint():
    pelvis = np.array([1.0, 2.0, 0.9])
    d = np.array([0.0, -1.0, 0.0])
    assert sphere_center(pelvis, d).tolist() == pytest.approx([1.0, 2.0, 1.0])
    # object particles 0.4 and 1.2 m in front (along d) and one behind: furthest projection 1.2 -> c 0.6 ahead
    obj = np.array([[1.3, 1.6, 0.8], [0.9, 0.8, 1.0], [1.0, 2.5, 0.5]])
    assert sphere_center(pelvis, d, obj).tolist() == pytest.approx([1.0, 1.4, 1.0])
    # an object only behind the person projects onto the ray's start: the centre stays at the pelvis
    assert sphere_center(pelvis, d, obj[2:]).tolist() == pytest.approx([1.0, 2.0, 1.0])


def test_camera_array_is_the_facing_hemisphere_without_frontal_views():
    cfg = CameraArrayConfig(azimuths_deg=(-90, -20, 0, 20, 45, 120), frontal_exclusion_deg=25.0)
    c = np.array([0.0, 0.0, 1.0])
    cams = camera_array(c, np.array([0.0, -1.0, 0.0]), cfg)
    az = sorted({cam.meta["azimuth_deg"] for cam in cams})
    assert az == [-90.0, 45.0]  # 0 and ±20 are frontal, 120 is behind the person
    for cam in cams:
        eye = cam.center
        assert eye[1] <= 1e-9  # in front of a person facing -y
        assert np.linalg.norm(eye - c) == pytest.approx(cam.meta["radius"])
        assert np.allclose(cam.forward, (c - eye) / np.linalg.norm(c - eye))  # looks at the centre


def test_joint_visibility_depth_test():
    ds = np.full((4, 4), np.inf)
    dh = np.full((4, 4), np.inf)
    dh[1, 1] = dh[2, 2] = 2.0
    ds[2, 2] = 1.5  # something of the scene in front of the human at pixel (2, 2)
    uv = np.array([[1.5, 1.5], [2.5, 2.5], [3.5, 0.5], [9.0, 1.0], [1.5, 1.5]])
    z = np.array([2.1, 2.1, 2.0, 2.0, -1.0])
    # seen; occluded; off the silhouette but nothing in front (scene depth inf > z); outside; behind camera
    assert joint_visibility(uv, z, ds, dh, eps=0.05).tolist() == [True, False, True, False, False]


def test_occluder_side_is_not_chosen_and_ties_go_to_the_equator(body):
    from inhabit.body.poses import make_pose
    from inhabit.scene.mesh import SceneMesh

    p = make_pose(body, "standing")
    with torch.no_grad():
        out = body(p)
        out.vertices[..., 2] -= out.vertices[..., 2].min()
        out.joints[..., 2] -= float(body(p).vertices[..., 2].min())
    floor = box_part((-4, -4, -0.05), (4, 4, 0.0), "floor")
    assert np.allclose(facing_direction(out.joints[0].numpy()), [0, -1, 0], atol=0.05)

    open_scene = SceneMesh(parts=[floor], name="open")
    cam = select_initial_camera(open_scene, out, cfg=small_array())
    assert cam.meta["n_visible"] == 22 and cam.meta["elevation_deg"] == 0.0  # every view sees all: the equator wins

    # a wall beside the person on its +x side (azimuth > 0 in the array) hides every camera there
    wall = box_part((0.7, -3.5, 0.0), (0.8, 0.3, 2.6), "wall")
    cam = select_initial_camera(SceneMesh(parts=[floor, wall], name="wall"), out, cfg=small_array())
    assert cam.meta["azimuth_deg"] < 0 and cam.meta["elevation_deg"] == 0.0 and cam.meta["n_visible"] == 22
    blocked = [n for name, n, _ in cam.meta["scores"] if "_a30" in name or "_a60" in name or "_a90" in name]
    assert blocked and max(blocked) < 22

    # enclosed in a closet: nothing outside sees the person
    closet = [box_part((-0.6, -0.6, 0), (-0.55, 0.6, 2.5)), box_part((0.55, -0.6, 0), (0.6, 0.6, 2.5)),
              box_part((-0.6, -0.6, 0), (0.6, -0.55, 2.5)), box_part((-0.6, 0.55, 0), (0.6, 0.6, 2.5)),
              box_part((-0.6, -0.6, 2.5), (0.6, 0.6, 2.55))]
    with pytest.raises(InputError, match=r"^no camera of the initial-view array sees any body joint"):
        select_initial_camera(SceneMesh(parts=[floor, *closet], name="closet"), out, cfg=small_array())
