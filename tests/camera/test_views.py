"""GenZI view selection (inhabit.camera.views)."""

import numpy as np
import pytest

from inhabit.camera.views import (
    ViewSelectionConfig,
    _coverage,
    angle_deg,
    cameras_looking_at,
    candidate_directions,
    elevation_band,
    fibonacci_sphere,
    initial_translation,
    rotation_z_to,
    select_views,
    visibility_mesh,
)
from inhabit.errors import InputError
from inhabit.scene.patch import local_surface_patch

UP = np.array([0.0, 0.0, 1.0])


def test_fibonacci_sphere_is_genzi_verbatim():
    d = fibonacci_sphere(256)
    assert d.shape == (256, 3) and np.allclose(np.linalg.norm(d, axis=1), 1.0)
    assert np.allclose(d[0], [0, 1, 0]) and np.allclose(d[-1], [0, -1, 0])
    i = 5
    y = 1 - 2 * i / 255
    th = i * np.pi * (np.sqrt(5) - 1)
    assert np.allclose(d[i], [np.sqrt(1 - y * y) * np.cos(th), y, np.sqrt(1 - y * y) * np.sin(th)])


def test_63_of_256_candidates_are_in_the_elevation_band_for_any_up():
    cfg = ViewSelectionConfig()
    for up in ([0, 0, 1], [0, 1, 0], [1, 1, 1]):
        up = np.asarray(up, float) / np.linalg.norm(up)
        dirs = candidate_directions(256, up)
        band = elevation_band(dirs, up, cfg)
        assert band.sum() == 63
        elev = 90 - angle_deg(dirs[band], up)
        assert elev.min() > 0 and elev.max() < 30
    assert np.allclose(candidate_directions(256, UP), fibonacci_sphere(256))  # +Z up: verbatim


def test_rotation_z_to():
    for u in ([0, 0, 1], [0, 0, -1], [1, 0, 0], [0.3, -0.4, 0.5]):
        u = np.asarray(u, float) / np.linalg.norm(u)
        R = rotation_z_to(u)
        assert np.allclose(R @ [0, 0, 1], u) and np.allclose(R.T @ R, np.eye(3)) and np.isclose(np.linalg.det(R), 1)


def test_initial_translation_by_hand():
    eyes = np.array([[2.0, 0, 1], [0, 2.0, 1], [-2.0, 0, 1]])
    assert np.allclose(initial_translation(eyes, [0, 0, 0.5]), [0, 1 / 3, 0.75])


def test_cameras_look_at_the_point_even_from_straight_above():
    p = np.array([0.5, 0.2, 0.4])
    cams = cameras_looking_at(p, [[2.5, 0.2, 0.9], [0.5, 0.2, 3.0]], size=64)
    for c in cams:
        (uv,), (z,) = c.project(p[None])
        assert np.allclose(uv, [32, 32]) and z > 0
    assert [c.name for c in cams] == ["view000", "view001"]
    with pytest.raises(InputError, match="coincides with the point"):
        cameras_looking_at(p, [p])


def test_selection_on_a_seat(small_scene, renderer):
    p = np.array([0.05, -0.05, 0.45])  # on the seat's top
    sel = select_views(small_scene, p, renderer=renderer)
    cfg = sel.config
    assert 1 <= len(sel) <= 16 and len(sel.vis_ratio) == len(sel.cameras)
    assert np.all(np.diff(sel.vis_ratio) <= 0) and np.all(sel.vis_ratio > 0.4)
    assert np.allclose(sel.normal, [0, 0, 1]) and sel.patch.side == "visibility"
    eyes = sel.eyes
    assert np.allclose(np.linalg.norm(eyes - p, axis=1), 2.0)
    elev = np.degrees(np.arcsin((eyes - p)[:, 2] / 2.0))
    assert np.all((elev > 0) & (elev < 30))
    assert np.allclose(sel.t0, 0.5 * (eyes.mean(0) + p))
    assert [c.name for c in sel.cameras] == [f"view{i:03d}" for i in range(len(sel))]
    assert all(c.width == c.height == cfg.image_size for c in sel.cameras)
    # every chosen camera sees the point: its pixel shows a patch triangle
    mesh, off = visibility_mesh(small_scene, sel.patch)
    for cam in sel.cameras[:4]:
        (uv,), _ = cam.project(p[None])
        fid = renderer.render(cam, mesh, ("face_id",)).face_id
        assert fid[int(uv[1]), int(uv[0])] >= off
    info = sel.candidates
    assert info.in_band.sum() == 63 and info.order.tolist() == [c.meta["candidate"] for c in sel.cameras]


def test_occluded_candidates_are_dropped(small_scene, renderer):
    """A floor point just in front of the wall: cameras behind the wall see nothing of it."""
    p = np.array([0.0, 1.05, 0.0])
    sel = select_views(small_scene, p, renderer=renderer)
    assert np.all(sel.eyes[:, 1] < 1.2)  # all on the free side of the wall (wall spans y 1.2 .. 1.3)
    info = sel.candidates
    behind = info.in_band & (info.directions[:, 1] > 0.3)
    assert np.all(np.nan_to_num(info.vis_ratio[behind], nan=0.0) <= 0.4)
    assert len(sel) <= 16 and np.all(sel.vis_ratio > 0.4)


def test_free_side_is_found_whatever_the_winding(small_scene, renderer):
    from inhabit.scene.mesh import SceneMesh

    flipped = SceneMesh([type(pt)(pt.vertices, pt.faces[:, ::-1], base_color=pt.base_color) for pt in small_scene.parts])
    for sc in (small_scene, flipped):
        sel = select_views(sc, [1.5, -1.0, 0.0], ViewSelectionConfig(max_views=4), renderer=renderer)
        assert np.allclose(sel.normal, [0, 0, 1]) and len(sel) == 4


def test_point_inside_a_closed_box_is_an_input_error(renderer):
    import trimesh

    from inhabit.scene.mesh import MeshPart, SceneMesh

    box = trimesh.creation.box((0.2, 0.2, 0.2))
    box.apply_translation([1.0, 2.0, 0.5])
    scene = SceneMesh([MeshPart(box.vertices, box.faces)])
    with pytest.raises(InputError) as e:
        select_views(scene, [1.0, 2.0, 0.5], renderer=renderer)
    assert str(e.value).startswith(
        "no camera 2 m from point (1.00, 2.00, 0.50) sees the surface around it (best visible fraction 0.00"
    )
    assert str(e.value).endswith("is the point inside a wall or an object?")


def test_explicit_eyes_keep_their_order(small_scene, renderer):
    p = np.array([0.05, -0.05, 0.45])
    eyes = np.array([[0.0, -2.0, 1.0], [2.0, 0.0, 1.2], [0.0, 0.0, -1.5]])  # the last one is under the floor
    sel = select_views(small_scene, p, renderer=renderer, eyes=eyes)
    assert np.allclose(sel.eyes, eyes) and np.allclose(sel.t0, p) and sel.candidates is None
    assert sel.vis_ratio[0] > 0.9 and sel.vis_ratio[1] > 0.9 and sel.vis_ratio[2] == 0.0


def test_cropped_coverage_equals_the_full_raster(small_scene, renderer):
    p = np.array([0.2, -0.2, 0.45])
    cfg = ViewSelectionConfig(raster_size=256)
    patch = local_surface_patch(small_scene, p)
    mesh, off = visibility_mesh(small_scene, patch)
    eyes = p + 2.0 * candidate_directions(64)[::3]
    full = _coverage(renderer, mesh, off, patch, eyes, p, cfg, UP, crop=False)
    crop = _coverage(renderer, mesh, off, patch, eyes, p, cfg, UP, crop=True)
    m = patch.in_patch  # coverage of the refined triangles outside the patch is never used
    assert full[:, m].any() and np.array_equal(full[:, m], crop[:, m])


def test_backends_select_the_same_views(small_scene, gl_renderer, ray_renderer):
    p = np.array([0.05, -0.05, 0.45])
    a = select_views(small_scene, p, renderer=gl_renderer)
    b = select_views(small_scene, p, renderer=ray_renderer)
    ra, rb = a.candidates.vis_ratio, b.candidates.vis_ratio
    ok = np.isfinite(ra)
    assert np.array_equal(ok, np.isfinite(rb)) and np.abs(ra[ok] - rb[ok]).max() < 0.02


def test_config_validation_names_the_field():
    with pytest.raises(InputError, match=r"ViewSelectionConfig.distance must be positive, got -1"):
        ViewSelectionConfig(distance=-1)
    with pytest.raises(InputError, match="min_vis_ratio must be in"):
        ViewSelectionConfig(min_vis_ratio=1.5)
    with pytest.raises(InputError, match=r"ViewSelectionConfig.fov_deg must be finite"):
        ViewSelectionConfig(fov_deg=float("nan"))


def test_thin_triangles_are_judged_by_the_pixel_under_their_centroid():
    """A sliver on the shown surface is seen; a sliver 10 cm behind it is not (hand-made raster)."""
    from inhabit.camera.pinhole import Camera
    from inhabit.camera.views import seen_triangles
    from inhabit.scene.patch import SurfacePatch, triangle_normals_areas

    cam = Camera.look_at([0.0, -2.0, 0.0], [0.0, 0.0, 0.0], 64, 64, fov_y_deg=60)
    tris = np.array([
        [[-0.5, 0.0, -0.5], [0.5, 0.0, -0.5], [0.0, 0.0, 0.5]],  # big, on the shown surface
        [[0.01, 0.0, 0.0], [0.012, 0.0, 0.0], [0.011, 0.0, 0.05]],  # sliver on the same surface
        [[0.01, 0.1, 0.0], [0.012, 0.1, 0.0], [0.011, 0.1, 0.05]],  # sliver 10 cm behind it
    ])
    n, a = triangle_normals_areas(tris)
    patch = SurfacePatch(np.zeros(3), np.zeros(3), 0.0, np.array([0, -1.0, 0]), tris, np.zeros(3, np.int64),
                         -np.abs(n), a, np.ones(3, bool), 0.15)
    face_ids = np.full((64, 64), 7)  # the big triangle (offset 7) everywhere
    depth = np.full((64, 64), 2.0, np.float32)
    assert seen_triangles(face_ids, depth, cam, patch, offset=7).tolist() == [True, True, False]
    assert seen_triangles(np.full((64, 64), 3), depth, cam, patch, offset=7).tolist() == [False, False, False]


def test_a_finely_tessellated_post_is_seen(renderer):
    """A post of 192 sections: its faces (2 mm wide) are thinner than a pixel (4.5 mm) at 2 m."""
    import trimesh

    from inhabit.scene.mesh import MeshPart, SceneMesh

    post = trimesh.creation.cylinder(radius=0.06, height=0.6, sections=192)
    post.apply_translation([0.0, 0.0, 1.2])
    scene = SceneMesh([MeshPart(post.vertices, post.faces)])
    sel = select_views(scene, [-0.06, 0.0, 1.2], ViewSelectionConfig(max_views=4), renderer=renderer)
    assert np.allclose(sel.normal, [-1, 0, 0], atol=1e-3)
    assert 0.45 < sel.vis_ratio[0] < 0.62  # about the half facing the camera


def test_culling_beyond_reach_changes_no_coverage(small_scene, renderer):
    import trimesh

    from inhabit.scene.mesh import MeshPart, SceneMesh

    far = trimesh.creation.box((0.5, 0.5, 2.0))
    far.apply_translation([3.5, 3.5, 1.0])
    scene = SceneMesh([*small_scene.parts, MeshPart(far.vertices, far.faces)])
    p = np.array([0.2, -0.2, 0.45])
    cfg = ViewSelectionConfig(raster_size=256)
    patch = local_surface_patch(scene, p)
    full, off_full = visibility_mesh(scene, patch)
    culled, off_culled = visibility_mesh(scene, patch, reach=2.0 + 0.2)
    assert off_culled <= off_full - 12  # the far box (12 faces) is gone
    eyes = p + 2.0 * candidate_directions(64)[::3]
    a = _coverage(renderer, full, off_full, patch, eyes, p, cfg, UP)
    b = _coverage(renderer, culled, off_culled, patch, eyes, p, cfg, UP)
    assert a[:, patch.in_patch].any() and np.array_equal(a[:, patch.in_patch], b[:, patch.in_patch])
