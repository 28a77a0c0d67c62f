"""Mesh rendering, both backends: pixel geometry, depth, face ids, shading, textures, alpha, caches."""

import subprocess
import sys

import numpy as np
import pytest

from inhabit.camera.pinhole import Camera, invert_rigid, look_at, unproject_depth
from inhabit.render.mesh import (
    MeshRenderer,
    RenderSettings,
    corner_normals,
    mesh_from_arrays,
    prepare,
)
from inhabit.scene.mesh import MeshPart, SceneMesh


def skewed_camera(W=96, H=64):
    """Non-square image, fx != fy, principal point far from the centre."""
    K = np.array([[70.0, 0.0, 31.3], [0.0, 85.0, 40.7], [0.0, 0.0, 1.0]])
    T_world_cam = look_at(np.array([0.3, -2.0, 1.1]), np.array([0.0, 0.2, 0.6]))
    return Camera(K, invert_rigid(T_world_cam), W, H, "skew")


def tiny_triangle_at(cam: Camera, uv, depth, half_px=0.3):
    """A triangle parallel to the image plane around the ray through pixel position ``uv``,
    spanning ±``half_px`` pixels, so it covers exactly the pixel centre it contains."""
    K, T = cam.K, cam.T_world_cam
    pts = []
    for du, dv in [(-half_px, -half_px), (half_px, -half_px), (0.0, half_px)]:
        u, v = uv[0] + du, uv[1] + dv
        pc = np.array([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth])
        pts.append(T[:3, :3] @ pc + T[:3, 3])
    return mesh_from_arrays(np.array(pts), np.array([[0, 1, 2]]))


@pytest.mark.parametrize("ij", [(0, 0), (37, 11), (63, 95), (20, 50)])
def test_pixel_centre_is_drawn_exactly_at_its_pixel(renderer, ij):
    cam = skewed_camera()
    i, j = ij
    tri = tiny_triangle_at(cam, (j + 0.5, i + 0.5), depth=1.7)
    r = renderer.render(cam, tri, ("face_id", "depth"))
    assert r.mask.sum() == 1 and r.mask[i, j]
    assert r.face_id[i, j] == 0
    assert r.depth[i, j] == pytest.approx(1.7, abs=1e-5)


def test_projected_points_land_on_the_drawn_pixel(renderer):
    """Camera.project and the renderer agree to ±0.5 px for arbitrary 3D points: a square of one
    pixel centred on the point's projection lights exactly the pixel whose centre is within 0.5 px."""
    cam = skewed_camera()
    rng = np.random.default_rng(0)
    R = cam.T_world_cam[:3, :3]
    for _ in range(12):
        X = cam.center + R @ np.array([*rng.uniform(-0.4, 0.4, 2), 1.0]) * rng.uniform(0.8, 3.0)
        (uvp,), (z,) = cam.project(X[None])
        if not (2 < uvp[0] < cam.width - 2 and 2 < uvp[1] < cam.height - 2):
            continue
        dx, dy = R[:, 0] * 0.5 * z / cam.K[0, 0], R[:, 1] * 0.5 * z / cam.K[1, 1]
        square = mesh_from_arrays(np.array([X - dx - dy, X + dx - dy, X + dx + dy, X - dx + dy]),
                                  np.array([[0, 1, 2], [0, 2, 3]]))
        r = renderer.render(cam, square, ("face_id",))
        ii, jj = np.nonzero(r.mask)
        assert len(ii) == 1
        assert abs(jj[0] + 0.5 - uvp[0]) <= 0.5 and abs(ii[0] + 0.5 - uvp[1]) <= 0.5


def test_depth_of_a_tilted_plane_is_analytic(renderer):
    cam = Camera.look_at([0.4, -2.5, 1.6], [0.0, 0.0, 0.3], 80, 60, fov_y_deg=55)
    n = np.array([0.2, -0.3, 1.0])
    n /= np.linalg.norm(n)
    c0 = np.array([0.0, 0.0, 0.2])
    # a big square in the plane n·(x − c0) = 0
    a = np.cross(n, [1.0, 0.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(n, a)
    quad = mesh_from_arrays(np.array([c0 + 4 * (sa * a + sb * b) for sa, sb in [(-1, -1), (1, -1), (1, 1), (-1, 1)]]),
                            np.array([[0, 1, 2], [0, 2, 3]]))
    r = renderer.render(cam, quad, ("depth",))
    # analytic camera z of the plane along each pixel-centre ray: unit-depth points X1 = C + z·d
    X1 = unproject_depth(np.ones((cam.height, cam.width)), cam.K, cam.T_world_cam)
    C = cam.center
    z = (n @ (c0 - C)) / ((X1 - C) @ n)
    hit = np.isfinite(r.depth)
    assert hit.mean() > 0.3 and np.all((z > 0)[hit])
    assert np.abs(r.depth[hit] - z[hit]).max() < 2e-5 * z[hit].max()
    assert np.all(np.isinf(r.depth[~hit]))  # empty pixels are inf


def test_face_id_is_the_face_under_the_pixel(renderer, small_scene):
    cam = Camera.look_at([2.2, -2.4, 1.4], [0.1, 0.1, 0.3], 64, 48)
    r = renderer.render(cam, small_scene, ("depth", "face_id"))
    pts = unproject_depth(np.where(r.mask, r.depth, 0.0), cam.K, cam.T_world_cam)
    V, F = small_scene.vertices.astype(np.float64), small_scene.faces
    ii, jj = np.nonzero(r.mask)
    from inhabit.scene.patch import point_triangle_distances

    for i, j in list(zip(ii, jj))[::37]:
        d = point_triangle_distances(pts[i, j], V[F[[r.face_id[i, j]]]])[0]
        assert d < 1e-4
    assert r.face_id[~r.mask].max() == -1
    assert r.face_ranges == ((0, small_scene.num_faces),)


def test_lambert_headlight_and_background_by_hand(renderer):
    cam = Camera.look_at([0.0, -2.0, 0.0], [0.0, 0.0, 0.0], 40, 40, fov_y_deg=40)
    col = (0.6, 0.4, 0.2)
    # a plane facing the camera (normal −Y), tilted 60° about x: |n·forward| = cos 60° = 0.5
    t = np.radians(60)
    u = np.array([1.0, 0, 0])
    w = np.array([0.0, np.sin(t), np.cos(t)])
    quad = mesh_from_arrays(np.array([-u - w, u - w, u + w, -u + w]) * 0.3, np.array([[0, 1, 2], [0, 2, 3]]),
                            colors=col)
    st = RenderSettings(background=(0.1, 0.2, 0.3), ambient=0.3, headlight=0.6)
    r = renderer.render(cam, quad, ("rgb", "normal"), settings=st)
    expected = np.array(col) * (0.3 + 0.6 * 0.5)
    assert np.abs(r.rgb[20, 20] / 255.0 - expected).max() <= 1 / 255 + 1e-6
    assert np.allclose(r.rgb[0, 0], np.round(np.array([0.1, 0.2, 0.3]) * 255), atol=1)
    nrm = r.normal[20, 20]
    assert np.allclose(nrm, np.cross(u, w) * np.sign(np.cross(u, w) @ (cam.center - 0)), atol=2e-3)
    assert np.all(r.normal[0, 0] == 0)


def test_texture_orientation_is_v_up(renderer):
    """A 2x2 texture on a quad facing the camera: the image's top row appears at the top."""
    tex = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 0]]], np.uint8).repeat(16, 0).repeat(16, 1)
    # quad in the x-z plane facing −Y, uv v up (v = 1 at the top, z = +0.5)
    corners = [[-0.5, 0, -0.5], [0.5, 0, -0.5], [0.5, 0, 0.5], [-0.5, 0, 0.5]]
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    quad = MeshPart(np.array(corners), np.array([[0, 1, 2], [0, 2, 3]]), uv=uv, texture=tex, base_color=np.ones(4))
    cam = Camera.look_at([0.0, -3.0, 0.0], [0.0, 0.0, 0.0], 64, 64, fov_y_deg=30)
    r = renderer.render(cam, quad, ("rgb",), settings=RenderSettings(ambient=1.0, headlight=0.0))
    top_left, top_right = r.rgb[20, 20], r.rgb[20, 44]
    bottom_left, bottom_right = r.rgb[44, 20], r.rgb[44, 44]
    assert np.array_equal(top_left, [255, 0, 0]) and np.array_equal(top_right, [0, 255, 0])
    assert np.array_equal(bottom_left, [0, 0, 255]) and np.array_equal(bottom_right, [255, 255, 0])


def test_vertex_colours_are_interpolated(renderer):
    cam = Camera.look_at([0.0, -3.0, 0.0], [0.0, 0.0, 0.0], 64, 64, fov_y_deg=30)
    v = np.array([[-0.6, 0, -0.5], [0.6, 0, -0.5], [0.0, 0, 0.7]])
    tri = mesh_from_arrays(v, np.array([[0, 1, 2]]), colors=np.eye(3))
    r = renderer.render(cam, tri, ("rgb", "face_id"), settings=RenderSettings(ambient=1.0, headlight=0.0))
    (uv,), _ = cam.project(v.mean(0)[None])
    c = r.rgb[int(uv[1]), int(uv[0])].astype(float) / 255
    assert np.allclose(c, 1 / 3, atol=0.03)


def test_alpha_cutout_shows_what_is_behind(renderer):
    tex = np.zeros((8, 8, 4), np.uint8)
    tex[..., :3] = 200
    tex[:, :4, 3] = 255  # left half opaque, right half a hole
    front = MeshPart(np.array([[-1, 0, -1], [1, 0, -1], [1, 0, 1], [-1, 0, 1]], float), np.array([[0, 1, 2], [0, 2, 3]]),
                     uv=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32), texture=tex, name="leaf")
    back = MeshPart(np.array([[-2, 1, -2], [2, 1, -2], [2, 1, 2], [-2, 1, 2]], float), np.array([[0, 1, 2], [0, 2, 3]]),
                    name="back")
    cam = Camera.look_at([0.0, -3.0, 0.0], [0.0, 0.0, 0.0], 64, 64, fov_y_deg=30)
    r = renderer.render(cam, [front, back], ("face_id", "depth"))
    assert r.mesh_mask(0)[32, 20] and r.mesh_mask(1)[32, 44]
    assert r.depth[32, 44] == pytest.approx(4.0, abs=1e-4)
    opaque = renderer.render(cam, [front, back], ("face_id",), settings=RenderSettings(alpha_cutoff=None))
    assert opaque.mesh_mask(0)[32, 44]


def test_several_meshes_concatenate_face_ids(renderer, small_scene):
    cam = Camera.look_at([2.2, -2.4, 1.4], [0.1, 0.1, 0.3], 64, 48)
    body = mesh_from_arrays(np.array([[0.4, -0.8, 0.0], [0.9, -0.8, 0.0], [0.6, -0.8, 1.2]]), np.array([[0, 1, 2]]))
    r = renderer.render(cam, [small_scene, body], ("face_id",))
    assert r.face_ranges == ((0, small_scene.num_faces), (small_scene.num_faces, small_scene.num_faces + 1))
    assert r.mesh_mask(1).sum() > 20
    assert np.all(r.face_id[r.mesh_mask(1)] == small_scene.num_faces)


def test_supersampling_smooths_only_edges(renderer):
    cam = Camera.look_at([0.0, -3.0, 0.0], [0.0, 0.0, 0.0], 32, 32, fov_y_deg=30)
    tri = mesh_from_arrays(np.array([[-0.6, 0, -0.5], [0.6, 0, -0.5], [0.0, 0, 0.7]]), np.array([[0, 1, 2]]),
                           colors=(0.0, 0.0, 0.0))
    st = RenderSettings(background=(1, 1, 1), supersample=3)
    r = renderer.render(cam, tri, ("rgb", "face_id"), settings=st)
    assert r.rgb.shape == (32, 32, 3) and r.face_id.shape == (32, 32)
    grey = (r.rgb[..., 0] > 10) & (r.rgb[..., 0] < 245)
    assert grey.sum() > 10  # anti-aliased edge pixels
    assert r.rgb[20, 16, 0] < 10 and r.rgb[1, 1, 0] == 255


def test_renderers_accept_torch_bodies_and_reject_bad_arrays():
    import torch

    part = mesh_from_arrays(torch.zeros(3, 3), torch.tensor([[0, 1, 2]]))
    assert part.vertices.dtype == np.float32 and np.allclose(part.base_color, [0.5, 0.5, 0.5, 1])
    with pytest.raises(ValueError, match=r"faces must be \(F, 3\)"):
        mesh_from_arrays(np.zeros((3, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"faces index vertices 0\.\.2"):
        mesh_from_arrays(np.zeros((3, 3)), np.array([[0, 1, 3]]))
    with pytest.raises(ValueError, match="colors must be"):
        mesh_from_arrays(np.zeros((3, 3)), np.array([[0, 1, 2]]), colors=np.zeros((2, 3)))


def test_corner_normals_keep_creases_and_smooth_spheres():
    import trimesh

    box = trimesh.creation.box()
    cn = corner_normals(box.vertices, box.faces, 40.0)
    assert np.allclose(cn, np.repeat(box.face_normals[:, None], 3, 1), atol=1e-6)
    sph = trimesh.creation.icosphere(3)
    cn = corner_normals(sph.vertices, sph.faces, 40.0)
    radial = sph.vertices[sph.faces] / np.linalg.norm(sph.vertices[sph.faces], axis=-1, keepdims=True)
    assert np.abs(np.einsum("fkc,fkc->fk", cn, radial)).min() > 0.995
    # flipping half the faces' winding does not cancel the smoothed normals
    f = sph.faces.copy()
    f[::2] = f[::2, ::-1]
    cn = corner_normals(sph.vertices, f, 40.0)
    radial = sph.vertices[f] / np.linalg.norm(sph.vertices[f], axis=-1, keepdims=True)
    assert np.abs(np.einsum("fkc,fkc->fk", cn, radial)).min() > 0.995


def test_parts_are_prepared_once_and_refreshed_when_arrays_change(renderer, small_scene):
    st = renderer.settings
    p = small_scene.parts[2]
    a = prepare(p, st)
    cam = Camera.look_at([2.2, -2.4, 1.4], [0.1, 0.1, 0.3], 16, 16)
    renderer.render(cam, small_scene, ("rgb",))
    assert prepare(p, st) is a
    q = MeshPart(p.vertices + 0, p.faces, base_color=p.base_color)
    assert prepare(q, st) is not a


def test_bad_passes_and_settings_are_named():
    from inhabit.errors import InputError

    with pytest.raises(InputError, match="supersample must be a positive integer"):
        RenderSettings(supersample=0)
    with pytest.raises(InputError, match="background must be 3 numbers"):
        RenderSettings(background=(2, 0, 0))
    r = MeshRenderer("raycast")
    with pytest.raises(ValueError, match="unknown render passes"):
        r.render(Camera.look_at([0, -1, 0], [0, 0, 0], 4, 4), mesh_from_arrays(np.eye(3), [[0, 1, 2]]), ("albedo",))


def test_empty_scene_renders_background(renderer):
    cam = Camera.look_at([0, -1, 0], [0, 0, 0], 8, 8)
    r = renderer.render(cam, SceneMesh([mesh_from_arrays(np.zeros((0, 3)), np.zeros((0, 3), int))]), ("rgb", "depth"))
    assert not r.mask.any() and np.all(np.isinf(r.depth)) and np.all(r.rgb == 255)


def test_import_is_cheap():
    code = ("import sys, inhabit.render, inhabit.render.mesh, inhabit.camera.views; "
            "assert 'moderngl' not in sys.modules and 'warp' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
