"""Scene loading and saving: formats, up axis, appearance, round trips, bad input, points."""

import base64
import json
import warnings

import numpy as np
import pytest
import trimesh
from PIL import Image
from trimesh.visual.material import SimpleMaterial
from trimesh.visual.texture import TextureVisuals

from inhabit.conventions import UP_AXIS_TO_Z
from inhabit.errors import InputError
from inhabit.scene.demo import make_demo_scene
from inhabit.scene.load import load_scene, parse_point, resolve_scene, save_scene
from inhabit.scene.mesh import MeshPart, SceneMesh


def write_blender_style_gltf(path):
    """A hand-written glTF as Blender exports it (+Y up): a 2 x 2 m floor quad facing +Y,
    under a node lifted 0.5 m along +Y and moved 1 m along +X."""
    pos = np.array([[-1, 0, 1], [1, 0, 1], [1, 0, -1], [-1, 0, -1]], np.float32)
    idx = np.array([0, 1, 2, 0, 2, 3], np.uint16)
    blob = pos.tobytes() + idx.tobytes()
    gltf = {
        "asset": {"version": "2.0", "generator": "hand-written, Blender-like"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "Floor", "mesh": 0, "translation": [1.0, 0.5, 0.0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": len(blob),
                     "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 12}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
                       "min": [-1, 0, -1], "max": [1, 0, 1]},
                      {"bufferView": 1, "componentType": 5123, "count": 6, "type": "SCALAR"}],
    }
    path.write_text(json.dumps(gltf))
    return path


def face_normals(scene):
    v, f = scene.vertices.astype(float), scene.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def test_gltf_y_up_is_not_converted_by_trimesh_and_up_axis_y_fixes_it(tmp_path):
    path = write_blender_style_gltf(tmp_path / "floor.gltf")
    with pytest.warns(UserWarning, match="probably Y"):
        raw = load_scene(path)  # up_axis="z": coordinates as stored, node transform applied
    np.testing.assert_allclose(raw.vertices[:, 1], 0.5)
    np.testing.assert_allclose(face_normals(raw), np.tile([0, 1, 0], (2, 1)), atol=1e-6)
    s = load_scene(path, up_axis="y")
    np.testing.assert_allclose(s.vertices[:, 2], 0.5, atol=1e-6)  # lifted along +Z now
    np.testing.assert_allclose(s.vertices[:, 0].mean(), 1.0, atol=1e-6)
    np.testing.assert_allclose(face_normals(s), np.tile([0, 0, 1], (2, 1)), atol=1e-6)
    T = np.eye(4)
    T[:3, :3] = UP_AXIS_TO_Z["y"]
    np.testing.assert_allclose(s.T_world_file, T)
    assert s.up_axis == "y" and s.source == path


def test_scale_and_minus_y(tmp_path):
    m = trimesh.creation.box([100.0, 200.0, 300.0])  # centimetres
    m.apply_translation([0, -100.0, 0])  # -Y up: the box stands "above" y = 0, i.e. at y <= 0
    m.export(tmp_path / "cm.obj")
    s = load_scene(tmp_path / "cm.obj", up_axis="-y", scale=0.01)
    lo, hi = s.bounds
    np.testing.assert_allclose(lo, [-0.5, -1.5, 0.0], atol=1e-5)
    np.testing.assert_allclose(hi, [0.5, 1.5, 2.0], atol=1e-5)
    np.testing.assert_allclose(s.T_world_file[:3, :3], 0.01 * UP_AXIS_TO_Z["-y"])
    assert s.scale == 0.01


def test_multi_part_instances_and_mirroring(tmp_path):
    box = trimesh.creation.box([0.5, 0.5, 0.5])
    sc = trimesh.Scene()
    sc.add_geometry(box, node_name="a", geom_name="box", transform=trimesh.transformations.translation_matrix([1, 0, 0]))
    mirror = np.diag([-1.0, 1.0, 1.0, 1.0])
    mirror[0, 3] = -1.0
    sc.add_geometry(box, node_name="b", geom_name="box", transform=mirror)
    sc.export(tmp_path / "two.glb")
    s = load_scene(tmp_path / "two.glb")
    assert len(s.parts) == 2 and {p.name for p in s.parts} == {"a", "b"}
    centers = sorted(p.vertices.mean(0)[0] for p in s.parts)
    np.testing.assert_allclose(centers, [-1.0, 1.0], atol=1e-6)
    for p in s.parts:  # the mirrored instance keeps outward normals (positive volume)
        v, f = p.vertices.astype(float), p.faces
        vol = np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6
        assert vol == pytest.approx(0.125, rel=1e-5)


def test_obj_texture_and_ply_face_colours(tmp_path):
    m = trimesh.creation.box()
    img = (np.arange(4 * 4 * 3) % 256).astype(np.uint8).reshape(4, 4, 3)
    uv = np.linspace(0, 1, len(m.vertices) * 2).reshape(-1, 2)
    m.visual = TextureVisuals(uv=uv, material=SimpleMaterial(image=Image.fromarray(img), diffuse=[200, 100, 50, 255]))
    m.export(tmp_path / "tex.obj")
    p = load_scene(tmp_path / "tex.obj").parts[0]
    np.testing.assert_array_equal(p.texture, img)
    assert p.uv.shape == (len(p.vertices), 2)
    np.testing.assert_allclose(p.base_color, [200 / 255, 100 / 255, 50 / 255, 1.0])

    b = trimesh.creation.box()
    fc = np.random.default_rng(0).integers(0, 256, (12, 4)).astype(np.uint8)
    b.visual.face_colors = fc
    b.export(tmp_path / "fc.ply")
    p = load_scene(tmp_path / "fc.ply").parts[0]
    assert p.vertices.shape == (36, 3)  # one vertex per face corner keeps the colours exact
    np.testing.assert_array_equal(p.vertex_colors, np.repeat(fc, 3, axis=0))


def test_demo_round_trip_keeps_everything(tmp_path):
    s = make_demo_scene("outdoor")
    path = save_scene(s, tmp_path / "outdoor.glb")
    back = load_scene(path)
    assert [p.name for p in back.parts] == [p.name for p in s.parts]
    for a, b in zip(s.parts, back.parts):
        np.testing.assert_allclose(a.vertices, b.vertices, atol=1e-6)
        np.testing.assert_array_equal(a.faces, b.faces)
        np.testing.assert_allclose(a.base_color, b.base_color, atol=1 / 255)
        for attr in ("uv", "texture", "vertex_colors"):
            x, y = getattr(a, attr), getattr(b, attr)
            assert (x is None) == (y is None), (a.name, attr)
            if x is not None:
                np.testing.assert_allclose(x, y, atol=1e-6)
    assert back.name == "outdoor" and back.geometry_hash() == s.geometry_hash()
    for key in s.points:
        np.testing.assert_allclose(back.points[key], s.points[key], atol=1e-6)
        np.testing.assert_allclose(back.point_facing[key], s.point_facing[key], atol=1e-6)
        np.testing.assert_allclose(back.point_body_up[key], s.point_body_up[key], atol=1e-6)
    assert not list(tmp_path.glob(".*"))  # written atomically, no temporary left


def test_round_trip_base_colour_and_bare_uv(tmp_path):
    b = trimesh.creation.box()
    uv = np.random.default_rng(0).random((8, 2)).astype(np.float32)
    s = SceneMesh([MeshPart(b.vertices, b.faces, uv=uv, name="uv_only"),
                   MeshPart(b.vertices + 2, b.faces, name="tinted", base_color=[0.2, 0.4, 0.6, 0.5])])
    back = load_scene(save_scene(s, tmp_path / "parts.glb"))
    np.testing.assert_allclose(back.parts[0].uv, uv, atol=1e-6)
    assert back.parts[0].texture is None and back.parts[1].uv is None
    np.testing.assert_allclose(back.parts[1].base_color, [0.2, 0.4, 0.6, 0.5], atol=1 / 255)


def test_save_y_up_for_other_tools(tmp_path):
    s = make_demo_scene("room")
    path = save_scene(s, tmp_path / "room_y.glb", up_axis="y")
    raw = trimesh.load_scene(str(path))
    assert raw.bounds[1][1] == pytest.approx(2.7, abs=1e-4)  # height along +Y in the file
    back = load_scene(path, up_axis="y")
    np.testing.assert_allclose(back.vertices, s.vertices, atol=1e-5)
    np.testing.assert_allclose(back.points["lie_bed"], s.points["lie_bed"], atol=1e-6)
    np.testing.assert_allclose(back.point_body_up["lie_bed"], [0, 1, 0], atol=1e-6)
    with pytest.warns(UserWarning, match=r"was saved by inhabit with up_axis='y'; load it with up_axis='y'"):
        load_scene(path)
    with pytest.raises(InputError, match=r"save_scene writes binary glTF; give a .glb file name, got 'x.obj'"):
        save_scene(s, tmp_path / "x.obj")


def test_degenerate_faces_are_dropped_and_counted(tmp_path):
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0]], float)
    f = np.array([[0, 1, 2], [0, 1, 3], [1, 1, 2]])  # a zero-area face and a repeated index
    trimesh.Trimesh(v, f, process=False).export(tmp_path / "deg.ply")
    s = load_scene(tmp_path / "deg.ply")
    assert s.num_faces == 1 and s.info["dropped_degenerate_faces"] == 2


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match=r"scene file .*missing.glb does not exist"):
        load_scene(tmp_path / "missing.glb")
    (tmp_path / "x.fbx").write_text("x")
    with pytest.raises(InputError, match=r"unsupported extension '.fbx'; supported: .glb, .gltf, .obj, .ply, .stl, .off"):
        load_scene(tmp_path / "x.fbx")
    (tmp_path / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00" + b"\x00" * 20)
    with pytest.raises(InputError, match=r"scene file .*broken.glb could not be read as GLB \("):
        load_scene(tmp_path / "broken.glb")
    trimesh.PointCloud(np.random.default_rng(0).random((50, 3))).export(tmp_path / "cloud.ply")
    with pytest.raises(InputError, match=r"has no triangles: it is a point cloud of 50 points"):
        load_scene(tmp_path / "cloud.ply")
    box = trimesh.creation.box()
    v = box.vertices.copy()
    v[[0, 3]] = np.nan
    trimesh.Trimesh(v, box.faces, process=False).export(tmp_path / "nan.obj")
    with pytest.raises(InputError, match=r"has 2 vertices with NaN or infinite coordinates"):
        load_scene(tmp_path / "nan.obj")
    (tmp_path / "empty.obj").write_text("# nothing\n")
    with pytest.raises(InputError, match=r"empty.obj has no triangles"):
        load_scene(tmp_path / "empty.obj")
    with pytest.raises(InputError, match=r"is a folder; expected a mesh file"):
        load_scene(tmp_path)
    box.export(tmp_path / "ok.obj")
    with pytest.raises(InputError, match=r"up_axis must be one of 'z', 'y', '-y', '-z', got 'x'"):
        load_scene(tmp_path / "ok.obj", up_axis="x")
    with pytest.raises(InputError, match=r"scale must be a positive number, got -1"):
        load_scene(tmp_path / "ok.obj", scale=-1)


def test_suspicious_scenes_warn(tmp_path):
    trimesh.creation.box([3000.0, 10.0, 10.0]).export(tmp_path / "big.obj")
    with pytest.warns(UserWarning, match=r"is 3000 m across .* pass --scale"):
        load_scene(tmp_path / "big.obj")
    trimesh.creation.box([0.001, 0.001, 0.001]).export(tmp_path / "tiny.obj")
    with pytest.warns(UserWarning, match=r"is 0.001732 m across"):
        load_scene(tmp_path / "tiny.obj")
    # A Y-up floor with a small table loaded as Z-up: most flat area faces +Y.
    floor = trimesh.creation.box([6.0, 0.05, 5.0])
    floor.apply_translation([0, -0.025, 0])
    table = trimesh.creation.box([1.0, 0.75, 0.8])
    trimesh.util.concatenate([floor, table]).export(tmp_path / "yup.obj")
    with pytest.warns(UserWarning, match=r"face \+/-Y, so its up axis is probably Y .* pass --up-axis y"):
        load_scene(tmp_path / "yup.obj")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scene(tmp_path / "yup.obj", up_axis="y")


def test_resolve_scene(tmp_path):
    s = resolve_scene("demo:room")
    assert s.name == "room" and "sit_sofa" in s.points
    assert resolve_scene("demo:room:1").num_faces > s.num_faces
    with pytest.raises(InputError, match=r"unknown demo scene 'kitchen' in 'demo:kitchen'; available: demo:room, demo:outdoor"):
        resolve_scene("demo:kitchen")
    with pytest.raises(InputError, match=r"demo scenes are already \+Z up in metres"):
        resolve_scene("demo:room", up_axis="y")
    with pytest.raises(InputError, match=r"detail in 'demo:room:high' must be an integer 0..4"):
        resolve_scene("demo:room:high")
    trimesh.creation.box().export(tmp_path / "b.obj")
    assert resolve_scene(tmp_path / "b.obj").num_faces == 12


def test_parse_point():
    box = trimesh.creation.box([2.0, 2.0, 2.0])
    scene = SceneMesh([MeshPart(box.vertices, box.faces)], points={"top": np.array([0.0, 0.0, 1.0])}, name="cube")
    np.testing.assert_allclose(parse_point("0.5,-0.25,1e-1", scene), [0.5, -0.25, 0.1])
    np.testing.assert_allclose(parse_point(" 0.5, 0.2 ,0.3 ", scene), [0.5, 0.2, 0.3])
    np.testing.assert_allclose(parse_point("0.5 0.2 0.3", scene), [0.5, 0.2, 0.3])
    np.testing.assert_allclose(parse_point("top", scene), [0, 0, 1])
    np.testing.assert_allclose(parse_point("1.05,0,0", scene), [1.05, 0, 0])  # within the margin
    with pytest.raises(InputError, match=r"unknown point 'seat' in scene 'cube'; named points: top"):
        parse_point("seat", scene)
    with pytest.raises(InputError, match=r"point '1,2' must be three numbers x,y,z in metres"):
        parse_point("1,2", scene)
    with pytest.raises(InputError, match=r"point \(5, 0, 0\) lies outside scene 'cube', whose bounding box is "
                                         r"\(-1, -1, -1\) \.\. \(1, 1, 1\)"):
        parse_point("5,0,0", scene)
