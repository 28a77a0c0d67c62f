"""Gaussian assets: the set, SH rotation, .ply I/O, mesh sampling, occupancy -> SDF."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inhabit.errors import InputError
from inhabit.render.splat import NativeSplatter
from inhabit.rotations import rotation_about
from inhabit.scene.gaussians import GaussianSet, load_gaussian_scene
from inhabit.scene.gaussians_mesh import gaussians_from_mesh
from inhabit.scene.gaussians_ply import is_gaussian_ply, read_gaussians_ply, write_gaussians_ply
from inhabit.scene.gaussians_sdf import occupancy_from_gaussians, sdf_from_gaussians, sdf_from_occupancy
from inhabit.scene.gaussians_sh import eval_sh, rgb_to_sh, rotate_sh, sh_basis
from inhabit.scene.mesh import MeshPart, SceneMesh


def random_rotation(seed: int, dtype=torch.float64) -> torch.Tensor:
    import roma

    rv = torch.randn(3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return roma.rotvec_to_rotmat(rv).to(dtype)  # built in float64: orthonormal to 1e-16


# --- the set ---------------------------------------------------------------------------------


def test_gaussian_set_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match=r"quats must be \(2, 4\), got \(2, 3\)"):
        GaussianSet(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"5 SH coefficients per channel is not \(d\+1\)²"):
        GaussianSet(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 5, 3))


def test_covariance_is_R_S2_Rt_with_xyzw_quaternions():
    # 90 degrees about z: XYZW = (0, 0, sin 45, cos 45); the local x axis (std 0.3) maps to world y.
    q = torch.tensor([[0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4)]], dtype=torch.float64)
    gs = GaussianSet(torch.zeros(1, 3, dtype=torch.float64), q * 3.0,  # unnormalised on purpose
                     torch.log(torch.tensor([[0.3, 0.1, 0.2]], dtype=torch.float64)),
                     torch.zeros(1, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64))
    assert torch.allclose(gs.covariances()[0], torch.diag(torch.tensor([0.01, 0.09, 0.04], dtype=torch.float64)),
                          atol=1e-12)


def test_sh_rotation_is_exact_for_every_band():
    g = torch.Generator().manual_seed(0)
    sh = torch.randn(5, 16, 3, generator=g, dtype=torch.float64)
    R = random_rotation(1)
    rot = rotate_sh(sh, R)
    dirs = torch.nn.functional.normalize(torch.randn(5, 3, generator=g, dtype=torch.float64), dim=-1)
    # The rotated coefficients seen along R d equal the original seen along d (unclamped).
    before = torch.einsum("nk,nkc->nc", sh_basis(dirs, 3), sh)
    after = torch.einsum("nk,nkc->nc", sh_basis(dirs @ R.T, 3), rot)
    assert torch.allclose(before, after, atol=1e-10)
    assert torch.equal(rot[:, 0], sh[:, 0])


def test_transforming_scene_and_camera_together_leaves_the_image_unchanged(make_gaussians, make_camera):
    gs = make_gaussians(80, seed=2, dtype=torch.float64, sh_degree=3)
    cam = make_camera(40, 32)
    T = torch.eye(4, dtype=torch.float64)
    T[:3, :3] = random_rotation(3)
    T[:3, 3] = torch.tensor([0.4, -1.0, 2.0])
    sp = NativeSplatter()
    ref = sp.render(gs, cam)
    T_cam = torch.as_tensor(cam.T_cam_world) @ torch.linalg.inv(T)
    moved = sp.render(gs.transformed(T), cam, T_cam_world=T_cam)
    assert (moved.rgb - ref.rgb).abs().max() < 1e-9
    assert (moved.depth - ref.depth).abs().max() < 1e-9
    # Without rotating the SH bands the view-dependent colour would be wrong.
    wrong = sp.render(gs.transformed(T, rotate_sh_bands=False), cam, T_cam_world=T_cam)
    assert (wrong.rgb - ref.rgb).abs().max() > 1e-2


def test_transformed_handles_uniform_scale_and_rejects_shear():
    gs = GaussianSet.from_points(torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.5, 0.5, 0.5]]), scale=0.1)
    S = torch.diag(torch.tensor([2.0, 2.0, 2.0, 1.0]))
    out = gs.transformed(S)
    assert torch.allclose(out.means, torch.tensor([[2.0, 0.0, 0.0]]))
    assert torch.allclose(out.scales, torch.full((1, 3), 0.2))
    with pytest.raises(ValueError, match="rotation times a uniform scale"):
        gs.transformed(torch.diag(torch.tensor([2.0, 1.0, 1.0, 1.0])))


def test_cat_mixes_rgb_and_sh_without_changing_colours():
    rgb = GaussianSet.from_points(torch.zeros(2, 3), torch.tensor([[0.2, 0.4, 0.6], [1.0, 0.0, 0.5]]))
    sh = rgb.with_sh_degree(2)
    both = GaussianSet.cat([rgb, sh])
    assert both.sh_degree == 2 and len(both) == 4
    dirs = torch.randn(4, 3)
    assert torch.allclose(eval_sh(both.colors, dirs), torch.cat([rgb.colors, rgb.colors]), atol=1e-6)
    assert len(both.subset(torch.tensor([True, False, True, False]))) == 2


# --- .ply ----------------------------------------------------------------------------------


def test_ply_round_trip_keeps_every_value(tmp_path, make_gaussians):
    gs = make_gaussians(50, seed=1, dtype=torch.float32, sh_degree=3)
    path = write_gaussians_ply(tmp_path / "scene.ply", gs)
    assert is_gaussian_ply(path)
    back = read_gaussians_ply(path)
    for name, t in gs.tensors().items():
        assert torch.equal(getattr(back, name), t), name


def test_ply_reader_follows_the_reference_layout(tmp_path):
    # A file written independently of our writer: rot_0..3 = w,x,y,z, f_rest channel-major,
    # properties in a different order, plus an unrelated element before the vertices.
    k = 4  # degree 1
    names = ["x", "y", "z", "opacity", "rot_0", "rot_1", "rot_2", "rot_3", "scale_0", "scale_1", "scale_2",
             "f_dc_0", "f_dc_1", "f_dc_2"] + [f"f_rest_{i}" for i in range(3 * (k - 1))] + ["extra"]
    row = [1.0, 2.0, 3.0, 0.5, 0.9, 0.1, 0.2, 0.3, -1.0, -2.0, -3.0, 0.11, 0.22, 0.33]
    row += [10.0 + i for i in range(9)] + [7.0]
    header = ["ply", "format binary_little_endian 1.0", "element camera 1", "property float fx",
              "property uchar flag", "element vertex 1"] + [f"property float {n}" for n in names] + ["end_header"]
    data = ("\n".join(header) + "\n").encode() + np.array([4.0], "<f4").tobytes() + bytes([1])
    data += np.array(row, "<f4").tobytes()
    (tmp_path / "ref.ply").write_bytes(data)
    gs = read_gaussians_ply(tmp_path / "ref.ply", dtype=torch.float64)
    assert torch.allclose(gs.quats[0], torch.tensor([0.1, 0.2, 0.3, 0.9], dtype=torch.float64), atol=1e-7)
    assert torch.allclose(gs.log_scales[0], torch.tensor([-1.0, -2.0, -3.0], dtype=torch.float64))
    # channel c, coefficient j (1..3) sits at f_rest_{c * 3 + j - 1}
    expect = torch.tensor([[0.11, 0.22, 0.33], [10, 13, 16], [11, 14, 17], [12, 15, 18]], dtype=torch.float64)
    assert torch.allclose(gs.colors[0], expect, atol=1e-6)


def test_ascii_and_big_endian_plys_read_the_same(tmp_path, make_gaussians):
    gs = make_gaussians(3, seed=2, dtype=torch.float32, sh_degree=0)
    le = write_gaussians_ply(tmp_path / "le.ply", gs).read_bytes()
    head, body = le.split(b"end_header\n")
    names = [ln.split()[-1] for ln in head.decode().splitlines() if ln.startswith("property")]
    table = np.frombuffer(body, dtype=[(n, "<f4") for n in names])
    (tmp_path / "be.ply").write_bytes(head.replace(b"binary_little_endian", b"binary_big_endian") + b"end_header\n"
                                      + table.astype([(n, ">f4") for n in names]).tobytes())
    rows = "\n".join(" ".join(repr(float(v)) for v in r) for r in table.tolist())
    (tmp_path / "a.ply").write_bytes(head.replace(b"binary_little_endian", b"ascii") + b"end_header\n"
                                     + rows.encode() + b"\n")
    for name in ("be.ply", "a.ply"):
        back = read_gaussians_ply(tmp_path / name)
        assert torch.allclose(back.means, gs.means) and torch.allclose(back.colors, gs.colors), name


def test_bad_ply_files_give_one_clear_sentence(tmp_path):
    mesh_ply = tmp_path / "mesh.ply"
    mesh_ply.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                         b"property float z\nproperty uchar red\nend_header\n0 0 0 255\n")
    with pytest.raises(InputError, match=r"mesh.ply is not a 3D Gaussian splatting PLY: the vertex element lacks "
                                         r"f_dc_0, f_dc_1, f_dc_2, opacity, scale_0, scale_1, scale_2, rot_0, rot_1, "
                                         r"rot_2, rot_3 \(expected"):
        read_gaussians_ply(mesh_ply)
    assert not is_gaussian_ply(mesh_ply)
    (tmp_path / "x.ply").write_bytes(b"OFF\n3 1 0\n")
    with pytest.raises(InputError, match=r"x.ply is not a PLY file \(it does not start with 'ply'\)"):
        read_gaussians_ply(tmp_path / "x.ply")
    with pytest.raises(InputError, match=r"Gaussian splat file .*missing.ply does not exist"):
        read_gaussians_ply(tmp_path / "missing.ply")
    good = write_gaussians_ply(tmp_path / "g.ply", GaussianSet.from_points(torch.zeros(4, 3), torch.rand(4, 3)))
    (tmp_path / "t.ply").write_bytes(good.read_bytes()[:-10])
    # 4 Gaussians x 17 float32 properties (x,y,z, 3 normals, 3 f_dc, opacity, 3 scales, 4 rots)
    with pytest.raises(InputError, match=r"t.ply is truncated: the vertex data needs 272 bytes, 262 are present"):
        read_gaussians_ply(tmp_path / "t.ply")
    bad = GaussianSet.from_points(torch.zeros(2, 3), torch.rand(2, 3))
    bad.opacity_logits[1] = float("nan")
    write_gaussians_ply(tmp_path / "nan.ply", bad)
    with pytest.raises(InputError, match=r"nan.ply: property opacity is NaN or infinite in 1 of 2 Gaussians"):
        read_gaussians_ply(tmp_path / "nan.ply")


def test_load_scene_applies_up_axis_and_scale(tmp_path):
    gs = GaussianSet.from_points(torch.tensor([[0.0, 100.0, 0.0]]), torch.tensor([[0.5, 0.5, 0.5]]), scale=10.0,
                                 quats=torch.tensor([[0.0, 0.0, 0.0, 1.0]]))
    path = write_gaussians_ply(tmp_path / "y_up_cm.ply", gs)
    scene = load_gaussian_scene(path, up_axis="y", scale=0.01)
    assert torch.allclose(scene.gaussians.means, torch.tensor([[0.0, 0.0, 1.0]]), atol=1e-6)
    assert torch.allclose(scene.gaussians.scales, torch.full((1, 3), 0.1), atol=1e-6)
    assert np.allclose(scene.T_world_file[:3, :3], 0.01 * np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]))
    with pytest.raises(InputError, match=r"up_axis must be one of \['-y', '-z', 'y', 'z'\], got 'x'"):
        load_gaussian_scene(path, up_axis="x")


# --- from meshes ----------------------------------------------------------------------------


def unit_square(**kw) -> SceneMesh:
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    return SceneMesh([MeshPart(v, f, **kw)])


def test_mesh_samples_lie_on_the_surface_with_flat_discs_along_the_normal():
    gs = gaussians_from_mesh(unit_square(), spacing=0.1, seed=3)
    assert 99 <= len(gs) <= 101  # 50 expected per triangle, stochastic rounding of the remainder
    m = gs.means
    assert m[:, 2].abs().max() < 1e-6 and m[:, :2].min() >= 0 and m[:, :2].max() <= 1
    normals = gs.rotmats()[:, :, 2]
    assert torch.allclose(normals[:, 2].abs(), torch.ones(len(gs)), atol=1e-5)
    s = gs.scales
    assert torch.allclose(s[:, 0], torch.full((len(gs),), 0.07)) and (s[:, 2] < 0.01).all()
    again = gaussians_from_mesh(unit_square(), spacing=0.1, seed=3)
    assert torch.equal(again.means, gs.means)
    assert not torch.equal(gaussians_from_mesh(unit_square(), spacing=0.1, seed=4).means, gs.means)


def test_mesh_colours_come_from_texture_vertex_colours_and_base_colour():
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)  # v up: row 0 of the image is v = 1
    tex = np.zeros((8, 8, 3), np.uint8)  # four 4x4 blocks
    tex[:4, :4], tex[:4, 4:], tex[4:, :4], tex[4:, 4:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
    gs = gaussians_from_mesh(unit_square(uv=uv, texture=tex, base_color=(1, 1, 1, 1)), spacing=0.02, seed=0)
    m, c = gs.means.numpy(), gs.colors.numpy()
    # Away from block borders (and the wrap-around at the edges) the bilinear lookup is the block's colour.
    inner = (m[:, 0] % 0.5 > 0.1) & (m[:, 0] % 0.5 < 0.4) & (m[:, 1] % 0.5 > 0.1) & (m[:, 1] % 0.5 < 0.4)
    top_left = inner & (m[:, 0] < 0.5) & (m[:, 1] > 0.5)
    bottom_right = inner & (m[:, 0] > 0.5) & (m[:, 1] < 0.5)
    assert top_left.sum() > 100 and bottom_right.sum() > 100
    assert np.allclose(c[top_left], [1, 0, 0], atol=1e-6)
    assert np.allclose(c[bottom_right], [1, 1, 1], atol=1e-6)
    vc = np.array([[255, 0, 0, 255], [255, 0, 0, 255], [0, 0, 255, 255], [0, 0, 255, 255]], np.uint8)
    gs = gaussians_from_mesh(unit_square(vertex_colors=vc, base_color=(0.5, 1, 1, 1)), spacing=0.05, seed=0)
    y = gs.means[:, 1]
    assert torch.allclose(gs.colors[:, 0], 0.5 * (1 - y), atol=1e-5)
    assert torch.allclose(gs.colors[:, 2], y, atol=1e-5)
    with pytest.raises(InputError, match="has no triangle with a positive area"):
        gaussians_from_mesh(SceneMesh([MeshPart(np.zeros((3, 3)), np.array([[0, 1, 2]]))]))


def test_mesh_gaussians_render_an_opaque_surface():
    from inhabit.camera.pinhole import Camera

    gs = gaussians_from_mesh(unit_square(base_color=(0.2, 0.6, 0.9, 1.0)), spacing=0.02, seed=1)
    cam = Camera.look_at(np.array([0.5, 0.5, 1.2]), np.array([0.5, 0.5, 0.0]), 64, 64, fov_y_deg=60,
                         up=np.array([0, 1.0, 0]))
    out = NativeSplatter().render(gs, cam)
    uv, _ = cam.project(np.array([[0.1, 0.1, 0], [0.9, 0.9, 0]]))
    lo, hi = np.floor(uv.min(0)).astype(int), np.ceil(uv.max(0)).astype(int)
    inner = out.alpha[lo[1]:hi[1], lo[0]:hi[0]]
    assert float((inner > 0.95).float().mean()) > 0.98
    assert torch.allclose(out.rgb[32, 32], torch.tensor([0.2, 0.6, 0.9]) * out.alpha[32, 32], atol=1e-3)
    assert abs(float(out.depth[32, 32]) - 1.2) < 1e-3


# --- occupancy and SDF ----------------------------------------------------------------------


def sphere_scene(radius=0.3) -> SceneMesh:
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    return SceneMesh([MeshPart(np.asarray(s.vertices), np.asarray(s.faces))])


def test_sdf_from_gaussians_of_a_sphere_is_accurate_to_about_a_voxel():
    gs = gaussians_from_mesh(sphere_scene(0.3), spacing=0.015, seed=0)
    voxel = 0.025
    sdf = sdf_from_gaussians(gs, voxel=voxel)
    g = torch.Generator().manual_seed(0)
    dirs = torch.nn.functional.normalize(torch.randn(400, 3, generator=g), dim=-1)
    r = 0.05 + 0.3 * torch.rand(400, 1, generator=g)  # inside the grid (3 voxels of padding)
    pts = (dirs * r).requires_grad_()
    d = sdf(pts)
    err = (d.detach() - (r[:, 0] - 0.3)).abs()
    assert float(err.max()) < 1.5 * voxel
    assert float(sdf(torch.zeros(1, 3))) < -0.25
    d.sum().backward()  # differentiable w.r.t. the query points: the gradient points outward
    radial = (pts.grad * dirs).sum(-1)
    assert float((radial > 0.5).float().mean()) > 0.9
    # The scene SDF protocol's grid type reads the same field.
    assert torch.allclose(sdf.to_local_sdf()(pts.detach()), d.detach(), atol=1e-6)


def test_free_points_define_outside_inside_a_closed_room():
    # A closed box "room": from the border its inside is an enclosed cavity (solid), but seeded by a
    # point inside the room, the room's air is outside and the walls are thin solid slabs.
    import trimesh

    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    gs = gaussians_from_mesh(SceneMesh([MeshPart(np.asarray(box.vertices), np.asarray(box.faces))]), spacing=0.02)
    grid = occupancy_from_gaussians(gs, voxel=0.04)
    centre = torch.zeros(1, 3)
    assert float(sdf_from_occupancy(grid)(centre)) < -0.4
    room = sdf_from_occupancy(grid, free_points=np.zeros((1, 3)), from_border=False, surface_points=gs.means)
    assert abs(float(room(centre)) - 0.5) < 0.03
    with pytest.raises(InputError, match="no free space could be identified"):
        sdf_from_occupancy(grid, from_border=False)


def test_rgb_to_sh_round_trip():
    rgb = torch.rand(10, 3)
    assert torch.allclose(eval_sh(rgb_to_sh(rgb, 2), torch.randn(10, 3)), rgb, atol=1e-6)


def test_rigid_object_pose_moves_its_gaussians():
    from inhabit.scene.gaussians import RigidObject

    local = GaussianSet.from_points(torch.tensor([[0.1, 0.0, 0.0]]), torch.tensor([[0.5, 0.5, 0.5]]))
    T = torch.eye(4)
    T[:3, :3] = rotation_about("z", 90.0)
    T[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    obj = RigidObject(local, T)
    assert torch.allclose(obj.world_gaussians().means, torch.tensor([[1.0, 2.1, 3.0]]), atol=1e-6)
    assert torch.allclose(obj.T_world_object(), T, atol=1e-6)
    obj.set_pose(torch.eye(4))
    assert torch.allclose(obj().means, local.means)
