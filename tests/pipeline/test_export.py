"""Exports people open elsewhere: GLB axis conversion, body meshes, the HTML report, figures."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from inhabit.errors import InputError
from inhabit.export.glb import (
    R_GLTF_WORLD,
    BodyMesh,
    gltf_to_world,
    scene_glb_bytes,
    world_to_gltf,
    write_body_mesh,
    write_scene_glb,
)
from inhabit.export.report import Figure, Links, Section, Table, referenced_files, render_html, write_report
from inhabit.io import write_image

# A "body": a tetrahedron 1.8 m tall standing on the floor at (1, 2, 0), apex up (+Z).
TETRA_V = np.array([[1.0, 2.0, 1.8], [0.9, 1.9, 0.0], [1.1, 1.9, 0.0], [1.0, 2.1, 0.0]])
TETRA_F = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])


def test_world_to_gltf_is_minus_90_about_x():
    # hand-computed: +Z up -> +Y up, +Y (forward in Blender) -> -Z, +X stays
    np.testing.assert_allclose(world_to_gltf(np.eye(3)), [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(R_GLTF_WORLD @ R_GLTF_WORLD.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R_GLTF_WORLD) == pytest.approx(1.0)
    p = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(gltf_to_world(world_to_gltf(p)), p, atol=1e-12)


def test_glb_reloads_upright_in_gltf_axes(tmp_path):
    from pose_helpers import make_mini_scene

    scene = make_mini_scene()
    path = write_scene_glb(tmp_path / "s.glb", scene, [BodyMesh(TETRA_V, TETRA_F, (255, 0, 0), "human")])
    loaded = trimesh.load(path, file_type="glb")
    human = loaded.geometry["human"]
    v = np.asarray(human.vertices)
    # the apex (1.8 m above the floor in the world) is 1.8 m up along glTF +Y ...
    assert v[:, 1].max() == pytest.approx(1.8) and v[:, 1].min() == pytest.approx(0.0)
    # ... and the apex, at world y = 2, sits at glTF z = -2 (world +Y became glTF -Z)
    np.testing.assert_allclose(v[np.argmax(v[:, 1])], [1.0, 1.8, -2.0], atol=1e-6)
    np.testing.assert_allclose(gltf_to_world(v), TETRA_V, atol=1e-6)
    # the floor slab of the scene is horizontal in glTF: thin along Y, wide along X and Z
    floor = loaded.geometry["scene_floor"]
    ext = np.ptp(np.asarray(floor.vertices), axis=0)
    assert ext[1] == pytest.approx(0.02, abs=1e-6) and ext[0] == pytest.approx(4.0) and ext[2] == pytest.approx(4.0)
    # node transforms are the identity: the rotation is baked, every viewer agrees
    for node in loaded.graph.nodes_geometry:
        np.testing.assert_allclose(loaded.graph[node][0], np.eye(4))
    # the body's colour made it into the file
    assert np.all(np.asarray(human.visual.material.baseColorFactor)[:3] == [255, 0, 0])


def test_glb_world_option_keeps_raw_coordinates():
    data = scene_glb_bytes(None, [BodyMesh(TETRA_V, TETRA_F)], up="world")
    v = trimesh.load(io.BytesIO(data), file_type="glb").geometry["human"].vertices
    np.testing.assert_allclose(v, TETRA_V, atol=1e-6)


def test_glb_refuses_bad_bodies(tmp_path):
    bad = TETRA_V.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match=r"body 'human': vertices contain NaN or inf; refusing to export it"):
        scene_glb_bytes(None, [BodyMesh(bad, TETRA_F)])
    with pytest.raises(InputError, match=r"faces index vertices 0\.\.3 but contain 0\.\.7"):
        scene_glb_bytes(None, [BodyMesh(TETRA_V, TETRA_F + 4 * (TETRA_F == 3))])
    with pytest.raises(InputError, match=r"must end in \.glb"):
        write_scene_glb(tmp_path / "x.gltf", None, [BodyMesh(TETRA_V, TETRA_F)])
    assert not (tmp_path / "x.gltf").exists()


def test_body_meshes_keep_world_coordinates(tmp_path):
    colors = np.tile(np.array([[10, 20, 30]], np.uint8), (4, 1))
    obj = trimesh.load(write_body_mesh(tmp_path / "b.obj", TETRA_V, TETRA_F), process=False)
    ply = trimesh.load(write_body_mesh(tmp_path / "b.ply", TETRA_V, TETRA_F, colors), process=False)
    np.testing.assert_allclose(obj.vertices, TETRA_V, atol=1e-6)
    np.testing.assert_allclose(ply.vertices, TETRA_V, atol=1e-6)
    assert np.all(ply.visual.vertex_colors[:, :3] == [10, 20, 30])
    with pytest.raises(InputError, match=r"written as \.obj or \.ply"):
        write_body_mesh(tmp_path / "b.stl", TETRA_V, TETRA_F)


def _sections(tmp_path):
    img = write_image(tmp_path / "pics" / "a.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "result.npz").write_bytes(b"x")
    return [Section("Result", "text & <b>", [Table(["k", "v"], [["a", "1"]], "cap"), Figure(img, "pic"),
                                             Links([("result.npz", tmp_path / "result.npz")])])]


def test_report_links_only_existing_relative_files(tmp_path):
    page = write_report(tmp_path / "report.html", "t", ["sub"], _sections(tmp_path)).read_text()
    refs = referenced_files(page)
    assert set(refs) == {"pics/a.png", "result.npz"}
    assert all((tmp_path / r).is_file() for r in refs)
    assert "text &amp; &lt;b&gt;" in page  # escaped
    assert "<script" not in page and "http" not in page  # nothing to fetch


def test_report_can_embed_every_picture(tmp_path):
    page = render_html("t", [], [Section("s", "", [Figure(tmp_path / "pics" / "a.png")])] if
                       write_image(tmp_path / "pics" / "a.png", np.zeros((2, 2, 3), np.uint8)) else [], tmp_path,
                       embed=True)
    assert referenced_files(page) == [] and "data:image/png;base64," in page


def test_report_refuses_missing_or_outside_files(tmp_path):
    with pytest.raises(InputError, match=r"report: figure .*missing\.png does not exist"):
        render_html("t", [], [Section("s", "", [Figure(tmp_path / "missing.png")])], tmp_path)
    outside = tmp_path.parent / "outside.png"
    with pytest.raises(InputError, match=r"is outside the run folder"):
        render_html("t", [], [Section("s", "", [Figure(outside)])], tmp_path / "run")


def test_grid_sheet_aligns_rows_and_wraps_a_single_row():
    from inhabit.export.figures import grid_sheet, transpose

    a = np.zeros((10, 10, 3), np.uint8)
    one = grid_sheet([[a] * 9], tile=10)
    many = grid_sheet([[a] * 3, [a]], tile=10)
    # 9 tiles in one row wrap to 3 x 3; two rows keep 3 columns (the missing cells stay blank)
    assert one.shape[0] > 2.5 * 10 and one.shape[1] < 4 * 14
    assert many.shape[1] > 3 * 10 and many.shape[0] < 3 * 10 + 20
    assert transpose([[1, 2, 3], [4]]) == [[1, 4], [2, None], [3, None]]
