"""Exact signed distance: warp path vs analytic shapes and the brute-force reference; sign rules."""

import numpy as np
import pytest
import torch
import trimesh

from inhabit.errors import InputError
from inhabit.scene import _sdf_warp
from inhabit.scene._sdf_reference import (
    closest_point_barycentric,
    signed_distance_reference,
    winding_number,
)
from inhabit.scene._topology import split_solids_shells
from inhabit.scene.sdf import MeshSDF, SceneSDF, mesh_signed_distance

RNG = np.random.default_rng(7)


def box_sdf(p, half, center=(0.0, 0.0, 0.0)):
    q = np.abs(np.asarray(p) - center) - half
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0)


def quad(z=0.0, half=1.0, flip=False):
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]], float)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    return v, (f[:, ::-1] if flip else f)


def test_closest_point_barycentric_hand_cases():
    tri = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]])
    pts = np.array([[0.25, 0.25, 1.0],  # above the interior
                    [-1.0, -1.0, 0.0],  # beyond vertex a
                    [0.5, -2.0, 0.0],  # beyond edge ab
                    [2.0, 2.0, 0.0]])  # beyond edge bc
    w = closest_point_barycentric(pts, tri)[:, 0]
    np.testing.assert_allclose(w[0], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(w[1], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(w[2], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(w[3], [0.0, 0.5, 0.5])


def test_reference_winding_number_cube():
    m = trimesh.creation.box([1, 1, 1])
    w = winding_number(np.array([[0, 0, 0], [0.4, -0.3, 0.2], [2, 0, 0], [0, 0, -0.8]]), m.vertices, m.faces)
    np.testing.assert_allclose(w, [1, 1, 0, 0], atol=1e-9)


def test_reference_winding_number_matches_libigl():
    igl = pytest.importorskip("igl")
    m = trimesh.creation.icosphere(2)
    keep = np.ones(len(m.faces), bool)
    keep[:15] = False  # a hole: fractional winding numbers
    f = m.faces[keep]
    p = RNG.uniform(-1.5, 1.5, (300, 3))
    ours = winding_number(p, m.vertices, f)
    theirs = igl.winding_number(np.asarray(m.vertices, np.float64), np.asarray(f, np.int64), p)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_box_matches_analytic():
    half = np.array([0.4, 0.25, 0.15])
    m = trimesh.creation.box(2 * half)
    p = RNG.uniform(-0.6, 0.6, (3000, 3))
    d = mesh_signed_distance(m.vertices, m.faces, p)
    assert d.shape == (3000,) and d.dtype == np.float32
    np.testing.assert_allclose(d, box_sdf(p, half), atol=1e-5)
    assert (d < 0).sum() > 100  # the check covers inside points too


def test_sphere_matches_reference_and_analytic():
    r = 0.5
    m = trimesh.creation.icosphere(3, radius=r)
    p = RNG.normal(size=(400, 3)) * 0.5
    d = mesh_signed_distance(m.vertices, m.faces, p)
    ref = signed_distance_reference(m.vertices, m.faces, p)
    np.testing.assert_allclose(d, ref, atol=1e-5)
    # The polygonal sphere lies within its sagitta of the true sphere.
    edge = np.linalg.norm(m.vertices[m.faces[:, 0]] - m.vertices[m.faces[:, 1]], axis=1).max()
    sagitta = r - np.sqrt(r**2 - (edge / np.sqrt(3)) ** 2)
    assert np.abs(d - (np.linalg.norm(p, axis=1) - r)).max() <= sagitta + 1e-5


def test_warp_matches_reference_on_messy_mesh():
    """Interpenetrating boxes, a sphere with a hole, an open floor and a two-sided sheet."""
    a = trimesh.creation.box([1.0, 0.4, 0.3])
    b = trimesh.creation.box([0.3, 1.0, 0.6])  # crosses a
    s = trimesh.creation.icosphere(2, radius=0.3)
    s.apply_translation([1.2, 0, 0.3])
    s = trimesh.Trimesh(s.vertices, s.faces[8:], process=False)  # hole
    fv, ff = quad(-0.3, 2.0)
    tv, tf = quad(0.0, 0.3)
    tv = tv + np.array([0, 1.3, 0.5])
    sheet = trimesh.Trimesh(np.concatenate([tv, tv]), np.concatenate([tf, tf[:, ::-1] + 4]), process=False)
    m = trimesh.util.concatenate([a, b, s, trimesh.Trimesh(fv, ff), sheet])
    p = RNG.uniform([-1.5, -1.5, -0.8], [1.8, 1.8, 1.0], (1500, 3))
    ref = signed_distance_reference(m.vertices, m.faces, p)
    d = mesh_signed_distance(m.vertices, m.faces, p)
    np.testing.assert_allclose(np.abs(d), np.abs(ref), atol=1e-5)
    clear = np.abs(ref) > 1e-4
    assert np.array_equal(d[clear] < 0, ref[clear] < 0)


def test_open_plane_sign_within_extent():
    v, f = quad(0.0, 1.0)
    xy = RNG.uniform(-0.9, 0.9, (200, 2))
    h = RNG.uniform(0.01, 0.5, 200)
    above = np.column_stack([xy, h])
    below = np.column_stack([xy, -h])
    np.testing.assert_allclose(mesh_signed_distance(v, f, above), h, atol=1e-6)
    np.testing.assert_allclose(mesh_signed_distance(v, f, below), -h, atol=1e-6)
    # Below the plane but outside its extent the closest point is on the open boundary: outside.
    out = np.array([[1.5, 0.0, -0.2], [0.0, -1.4, -0.05], [1.3, 1.3, -0.3]])
    assert (mesh_signed_distance(v, f, out) > 0).all()
    # Flipped orientation flips the sides.
    vf, ff = quad(0.0, 1.0, flip=True)
    assert (mesh_signed_distance(vf, ff, above) < 0).all() and (mesh_signed_distance(vf, ff, below) > 0).all()


def test_mesh_with_holes_sign_away_from_holes():
    m = trimesh.creation.icosphere(3, radius=1.0)
    keep = np.ones(len(m.faces), bool)
    keep[RNG.choice(len(m.faces), size=len(m.faces) // 20, replace=False)] = False  # 5 % of faces gone
    v, f = m.vertices, m.faces[keep]
    dirs = RNG.normal(size=(300, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    assert (mesh_signed_distance(v, f, dirs * 0.5) < 0).all()
    assert (mesh_signed_distance(v, f, dirs * 1.5) > 0).all()


def test_inward_room_shell_does_not_cancel_furniture():
    """A closed room box with inward normals (a shell) around a solid box: scene vs winding rule."""
    room = trimesh.creation.box([6, 5, 3])
    room = trimesh.Trimesh(room.vertices + np.array([0, 0, 1.5]), room.faces[:, ::-1], process=False)
    seat = trimesh.creation.box([0.5, 0.5, 0.45])
    seat.apply_translation([0, 0, 0.225])
    m = trimesh.util.concatenate([room, seat])
    split = split_solids_shells(m.vertices, m.faces)
    assert split.num_components == 2 and split.num_solid_components == 1
    inside_seat = np.array([[0.0, 0.0, 0.2]])
    room_air = np.array([[1.0, 1.0, 1.0]])
    behind_wall = np.array([[3.2, 0.0, 1.0]])
    assert mesh_signed_distance(m.vertices, m.faces, inside_seat)[0] == pytest.approx(-0.2, abs=1e-5)
    assert mesh_signed_distance(m.vertices, m.faces, room_air)[0] > 0
    assert mesh_signed_distance(m.vertices, m.faces, behind_wall)[0] == pytest.approx(-0.2, abs=1e-5)
    # The plain winding number adds the room's -1 to the seat's +1: the seat reads "outside".
    assert mesh_signed_distance(m.vertices, m.faces, inside_seat, sign="winding")[0] > 0


def test_two_sided_sheet_has_no_inside():
    v, f = quad(0.0, 1.0)
    v2 = np.concatenate([v, v])
    f2 = np.concatenate([f, f[:, ::-1] + 4])
    p = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, -0.3]])
    np.testing.assert_allclose(mesh_signed_distance(v2, f2, p), [0.3, 0.3], atol=1e-6)


def test_interpenetrating_solids_union():
    a = trimesh.creation.box([1, 1, 1])
    b = trimesh.creation.box([1, 1, 1])
    b.apply_translation([0.5, 0, 0])
    m = trimesh.util.concatenate([a, b])
    p = np.array([[0.25, 0, 0], [0.9, 0, 0], [-0.4, 0, 0], [1.2, 0, 0]])
    d = mesh_signed_distance(m.vertices, m.faces, p)
    # Exact distance to the union's own faces: the buried faces still count as surface.
    assert (d[:3] < 0).all() and d[3] == pytest.approx(0.2, abs=1e-6)


def test_threads_and_chunks_give_identical_results(monkeypatch):
    m = trimesh.creation.icosphere(2)
    p = RNG.uniform(-1.2, 1.2, (5000, 3)).astype(np.float32)
    one = _sdf_warp.WarpSDF(m.vertices, m.faces, threads=1).evaluate(p).signed
    monkeypatch.setattr(_sdf_warp, "CHUNK", 700)
    two = _sdf_warp.WarpSDF(m.vertices, m.faces, threads=2).evaluate(p, progress="test").signed
    assert np.array_equal(one, two)


def test_bounded_queries_report_misses():
    m = trimesh.creation.box([1, 1, 1])
    w = _sdf_warp.WarpSDF(m.vertices, m.faces, threads=1)
    p = np.array([[0.0, 0.0, 0.8], [0.0, 0.0, 0.55]])
    r = w.evaluate(p, bound_solid=np.array([0.1, 0.1]))
    assert r.d_solid[0] == -1.0 and r.d_solid[1] == pytest.approx(0.05, abs=1e-6)
    assert not r.inside.any()  # the winding number ignores the bound


def test_mesh_sdf_gradient_is_unit_and_matches_finite_differences():
    half = np.array([0.4, 0.3, 0.2])
    m = trimesh.creation.box(2 * half)
    sdf = MeshSDF(m.vertices, m.faces)
    assert isinstance(sdf, SceneSDF)
    p = torch.tensor([[0.7, 0.1, 0.05], [0.1, -0.05, 0.12], [0.6, 0.5, 0.4], [-0.1, 0.2, -0.5]],
                     dtype=torch.float64, requires_grad=True)
    d = sdf(p)
    (g,) = torch.autograd.grad(d.sum(), p)
    np.testing.assert_allclose(g.norm(dim=1).numpy(), 1.0, atol=1e-5)
    eps = 1e-3
    fd = np.zeros((4, 3))
    for k in range(3):
        e = np.zeros(3)
        e[k] = eps
        base = p.detach().numpy()
        fd[:, k] = (box_sdf(base + e, half) - box_sdf(base - e, half)) / (2 * eps)
    np.testing.assert_allclose(g.numpy(), fd, atol=1e-4)
    np.testing.assert_allclose(sdf.gradient(p.detach()).numpy(), g.numpy(), atol=1e-6)
    # On the surface the gradient is the face normal.
    on = torch.tensor([[0.4, 0.05, 0.0]], dtype=torch.float64)
    np.testing.assert_allclose(sdf.gradient(on).numpy(), [[1.0, 0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(sdf.closest_points(torch.tensor([[0.9, 0.0, 0.0]])).numpy(), [[0.4, 0.0, 0.0]],
                               atol=1e-6)


def test_bad_input_messages():
    m = trimesh.creation.box()
    p = np.zeros((5, 3))
    p[1, 2] = np.nan
    p[3, 0] = np.inf
    with pytest.raises(InputError, match=r"points: 2 of 5 query points are NaN or infinite"):
        mesh_signed_distance(m.vertices, m.faces, p)
    with pytest.raises(InputError, match=r"points must be an \(N, 3\) array, got shape \(4, 2\)"):
        mesh_signed_distance(m.vertices, m.faces, np.zeros((4, 2)))
    with pytest.raises(InputError, match=r"faces index vertices outside 0\.\.7 \(found 0\.\.9\)"):
        mesh_signed_distance(m.vertices, np.array([[0, 1, 9]]), np.zeros((1, 3)))
    bad_v = np.array(m.vertices, float)
    bad_v[2] = np.nan
    with pytest.raises(InputError, match=r"mesh has 1 vertex with NaN or infinite coordinates"):
        mesh_signed_distance(bad_v, m.faces, np.zeros((1, 3)))
    with pytest.raises(InputError, match=r"sign must be 'scene' or 'winding', got 'parity'"):
        mesh_signed_distance(m.vertices, m.faces, np.zeros((1, 3)), sign="parity")
    degenerate = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], float)
    with pytest.raises(InputError, match="no non-degenerate triangles"):
        mesh_signed_distance(degenerate, np.array([[0, 1, 2]]), np.zeros((1, 3)))
