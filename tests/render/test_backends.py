"""The GL and ray-casting backends agree; backend choice; the human + scene composite."""

import numpy as np
import pytest

from inhabit.camera.pinhole import Camera
from inhabit.errors import InputError
from inhabit.render.mesh import (
    RenderOutput,
    RenderSettings,
    composite_human_scene,
    get_backend,
    mesh_from_arrays,
    render_human_in_scene,
)


def test_backends_agree_on_a_scene(gl_renderer, ray_renderer, small_scene):
    passes = ("rgb", "depth", "face_id", "normal")
    for eye in ([2.2, -2.4, 1.4], [-1.5, -2.0, 0.6], [0.3, 0.2, 2.5]):
        cam = Camera.look_at(eye, [0.1, 0.1, 0.3], 160, 120)
        a = gl_renderer.render(cam, small_scene, passes)
        b = ray_renderer.render(cam, small_scene, passes)
        assert (a.face_id == b.face_id).mean() >= 0.98
        both = a.mask & b.mask
        assert both.mean() > 0.3
        assert np.median(np.abs(a.depth[both] - b.depth[both])) <= 1e-3
        same = both & (a.face_id == b.face_id)
        assert np.abs(a.rgb[same].astype(int) - b.rgb[same]).mean() < 2.0
        assert np.median(np.abs(a.normal[same] - b.normal[same]).max(-1)) < 1e-2


def test_backends_agree_on_a_textured_flat_shaded_body(gl_renderer, ray_renderer):
    import trimesh

    m = trimesh.creation.capsule(height=1.2, radius=0.25)
    # a smooth texture: mipmapped (GL) and full-resolution bilinear (numpy) lookups then agree
    yy, xx = np.mgrid[0:64, 0:64]
    tex = np.stack([xx * 4, yy * 4, np.full_like(xx, 128)], -1).astype(np.uint8)
    xz = m.vertices[:, [0, 2]]  # planar projection along the view: no grazing-angle minification
    uv = (xz - xz.min(0)) / np.ptp(xz, 0)
    body = mesh_from_arrays(m.vertices, m.faces, uv=uv, texture=tex)
    cam = Camera.look_at([0.0, -3.0, 0.4], [0.0, 0.0, 0.0], 96, 96, fov_y_deg=45)
    st = RenderSettings(flat_shading=True)
    a = gl_renderer.render(cam, body, ("rgb", "face_id"), settings=st)
    b = ray_renderer.render(cam, body, ("rgb", "face_id"), settings=st)
    same = a.mask & b.mask & (a.face_id == b.face_id)
    assert same.sum() > 0.98 * a.mask.sum()
    diff = np.abs(a.rgb[same].astype(int) - b.rgb[same])
    assert np.median(diff) <= 2 and np.percentile(diff, 95) <= 12


def test_environment_forces_a_backend(monkeypatch):
    monkeypatch.setenv("INHABIT_RENDER_BACKEND", "raycast")
    assert get_backend().name == "raycast"
    monkeypatch.setenv("INHABIT_RENDER_BACKEND", "vulkan")
    with pytest.raises(InputError, match=r"INHABIT_RENDER_BACKEND must be 'gl', 'raycast' or 'auto', got 'vulkan'"):
        get_backend()


def test_auto_falls_back_to_raycast_when_gl_cannot_start(monkeypatch):
    from inhabit.render import mesh

    monkeypatch.setattr(mesh, "_BACKENDS", {k: v for k, v in mesh._BACKENDS.items() if k != "gl"})
    monkeypatch.setattr(mesh, "_BACKEND_ERRORS", {"gl": "EGLError: no display"})
    monkeypatch.setattr(mesh, "_WARNED", set())
    with pytest.warns(RuntimeWarning, match=r"OpenGL \(EGL\) rendering is unavailable \(EGLError: no display\); using"):
        assert get_backend("auto").name == "raycast"
    with pytest.raises(InputError, match=r"the 'gl' render backend cannot start: EGLError: no display \(unset"):
        get_backend("gl")


def test_backend_status_reports_both():
    from inhabit.render import backend_status

    st = backend_status()
    assert st["raycast"]["available"] is True and st["raycast"]["warp"]
    assert st["selected"] in ("gl", "raycast")
    if st["gl"]["available"]:
        assert st["gl"]["renderer"] and st["selected"] == "gl"


def _fake(rgb, depth):
    depth = np.asarray(depth, np.float32)
    rgb = np.broadcast_to(np.asarray(rgb, np.uint8), (*depth.shape, 3)).copy()
    return RenderOutput(camera=None, mask=np.isfinite(depth), rgb=rgb, depth=depth)


def test_composite_rule_by_hand():
    inf = np.inf
    human = _fake([255, 0, 0], [[1.0, 2.0, 3.0, inf], [2.0, 2.0, inf, inf]])
    scene = _fake([0, 0, 255], [[2.0, 2.0, 1.0, 5.0], [inf, 1.5, 4.0, inf]])
    c = composite_human_scene(human, scene)
    # in front; equal depth (human wins); behind; only scene / only human; behind; only scene; nothing
    assert c.human_visible.tolist() == [[True, True, False, False], [True, False, False, False]]
    assert c.human_silhouette.tolist() == [[True, True, True, False], [True, True, False, False]]
    assert np.array_equal(c.rgb[0, 0], [255, 0, 0]) and np.array_equal(c.rgb[0, 2], [0, 0, 255])
    assert c.depth[0, 2] == 1.0 and c.depth[1, 0] == 2.0 and np.isinf(c.depth[1, 3])
    with pytest.raises(ValueError, match="needs the rgb and depth passes of the scene render"):
        composite_human_scene(human, RenderOutput(camera=None, mask=human.mask))


def test_human_in_front_of_and_behind_a_wall(renderer):
    from inhabit.scene.mesh import MeshPart, SceneMesh

    wall = SceneMesh([MeshPart(np.array([[-1, 0, 0], [1, 0, 0], [1, 0, 2], [-1, 0, 2]], float),
                               np.array([[0, 1, 2], [0, 2, 3]]), base_color=[0, 0, 1, 1])])
    cam = Camera.look_at([0.0, -3.0, 1.0], [0.0, 0.0, 1.0], 64, 64, fov_y_deg=50)

    def person(y):  # a vertical strip 0.4 m wide at depth 3 + y
        return mesh_from_arrays(np.array([[-0.2, y, 0.5], [0.2, y, 0.5], [0.2, y, 1.5], [-0.2, y, 1.5]]),
                                np.array([[0, 1, 2], [0, 2, 3]]), colors=(1.0, 0.0, 0.0))

    front = render_human_in_scene(cam, wall, person(-1.0), renderer)
    behind = render_human_in_scene(cam, wall, person(+1.0), renderer)
    assert front.human_visible.sum() > 50 and np.array_equal(front.human_visible, front.human_silhouette)
    assert not behind.human_visible.any() and behind.human_silhouette.sum() > 20
    assert front.rgb[32, 32, 0] > 200 and front.rgb[32, 32, 2] < 50
    assert behind.rgb[32, 32, 2] > 100 and behind.rgb[32, 32, 0] < 50
