"""Local surface patch and normal (inhabit.scene.patch)."""

import numpy as np
import pytest

from inhabit.errors import InputError
from inhabit.scene.patch import (
    bisect_longest_edge,
    closest_points_on_triangles,
    local_surface_patch,
    refine_near_point,
    triangle_normals_areas,
)

FLOOR_V = np.array([[-5, -5, 0], [5, -5, 0], [5, 5, 0], [-5, 5, 0]], float)
FLOOR_F = np.array([[0, 1, 2], [0, 2, 3]])


def test_closest_points_cover_every_region():
    tri = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]])
    cases = {
        (0.2, 0.2, 1.0): (0.2, 0.2, 0.0),  # interior
        (-1.0, -1.0, 0.0): (0.0, 0.0, 0.0),  # vertex A
        (2.0, -0.5, 0.0): (1.0, 0.0, 0.0),  # vertex B
        (-0.5, 2.0, 0.0): (0.0, 1.0, 0.0),  # vertex C
        (0.5, -1.0, 0.3): (0.5, 0.0, 0.0),  # edge AB
        (-1.0, 0.5, 0.0): (0.0, 0.5, 0.0),  # edge AC
        (1.0, 1.0, 0.0): (0.5, 0.5, 0.0),  # edge BC
    }
    for p, q in cases.items():
        assert np.allclose(closest_points_on_triangles(np.array(p), tri)[0], q), p


def test_bisection_keeps_area_and_winding_and_cuts_the_longest_edge():
    tri = np.array([[[0.0, 0, 0], [2, 0, 0], [0, 1, 1]], [[0.0, 0, 0], [0.1, 0, 0], [0.05, 3, 0]]])
    kids = bisect_longest_edge(tri)
    n0, a0 = triangle_normals_areas(tri)
    n, a = triangle_normals_areas(kids)
    assert kids.shape == (4, 3, 3) and np.allclose(a.reshape(2, 2).sum(1), a0) and np.allclose(n, np.repeat(n0, 2, 0))
    assert np.allclose(kids[0, 1], [1.0, 0.5, 0.5])  # midpoint of the longest (2.45 m) edge
    assert np.allclose(kids[2, 1], [0.075, 1.5, 0]) or np.allclose(kids[2, 1], [0.025, 1.5, 0])


def test_refining_a_long_sliver_stays_cheap():
    """A 2 m x 1 mm sliver through the point: cut across its length only."""
    sliver = np.array([[[0.0, -1.0, 0], [0.001, -1.0, 0], [0.0005, 1.0, 0]]])
    tris, _ = refine_near_point(sliver, np.zeros(3), radius=0.15, max_edge=0.05)
    near = np.linalg.norm(tris.mean(1), axis=1) < 0.1
    edges = np.linalg.norm(tris - np.roll(tris, -1, 1), axis=2)
    assert edges[near].max() <= 0.05
    assert len(tris) < 300  # 1→4 midpoint splits would make ~4^6 · 0.15 ≈ 600


def test_refinement_is_local():
    tris, parent = refine_near_point(FLOOR_V[FLOOR_F], np.zeros(3), radius=0.15, max_edge=0.05)
    d = np.linalg.norm(tris.mean(1), axis=1)
    edges = np.linalg.norm(tris - np.roll(tris, -1, 1), axis=2).max(1)
    assert edges[d < 0.1].max() <= 0.05
    assert len(tris) < 2000  # not the 4^8 of a uniform subdivision
    assert np.isclose(triangle_normals_areas(tris)[1].sum(), 100.0)
    assert set(parent.tolist()) == {0, 1}


def test_patch_on_a_two_triangle_floor():
    r = 0.15
    p = local_surface_patch((FLOOR_V, FLOOR_F), [0.3, 0.2, 0.0], radius=r)
    assert np.allclose(p.normal, [0, 0, 1]) and p.side == "winding"
    assert p.distance < 1e-12 and np.allclose(p.closest_point, [0.3, 0.2, 0.0])
    # the patch is the disc of radius r, tessellated with edges <= r/3: between the disc and the disc grown by r/3
    assert np.pi * r**2 <= p.area <= np.pi * (r + r / 3) ** 2
    t = p.triangles[p.in_patch]
    assert np.linalg.norm(t - np.roll(t, -1, 1), axis=2).max() <= r / 3 + 1e-12
    assert p.face_ids.tolist() == [0, 1]  # the diagonal of the floor runs through the disc
    # the refined triangles re-mesh both floor triangles completely
    assert np.isclose(p.triangle_areas.sum(), 100.0)


def test_patch_normal_points_to_an_off_surface_point_and_flipped_winding():
    above = local_surface_patch((FLOOR_V, FLOOR_F[:, ::-1]), [0.3, 0.2, 0.05])
    below = local_surface_patch((FLOOR_V, FLOOR_F), [0.3, 0.2, -0.05])
    assert above.side == "point" and np.allclose(above.normal, [0, 0, 1])
    assert below.side == "point" and np.allclose(below.normal, [0, 0, -1])
    assert np.allclose(above.triangle_normals, [0, 0, 1])


def test_patch_on_a_box_top_leaves_the_floor_out():
    import trimesh

    box = trimesh.creation.box((0.5, 0.5, 0.1))
    box.apply_translation([0, 0, 0.05])
    V = np.vstack([FLOOR_V, box.vertices])
    F = np.vstack([FLOOR_F, box.faces + 4])
    p = local_surface_patch((V, F), [0.0, 0.05, 0.1])  # the floor is 0.1 m below: within the radius
    assert np.all(p.triangle_source >= 2)  # only box faces
    assert np.allclose(p.normal, [0, 0, 1])
    top = np.isclose(p.triangles[..., 2], 0.1).all(1)
    assert np.pi * 0.15**2 <= p.triangle_areas[p.in_patch & top].sum() <= np.pi * 0.2**2
    # near the edge the patch wraps over onto the side, with consistent outward normals
    q = local_surface_patch((V, F), [0.2, 0.0, 0.1])
    side = np.isclose(q.triangles[..., 0], 0.25).all(1) & q.in_patch
    assert side.any() and np.allclose(q.triangle_normals[side], [1, 0, 0])


def test_inconsistent_winding_is_made_consistent():
    import trimesh

    box = trimesh.creation.box((0.5, 0.5, 0.5))
    f = box.faces.copy()
    f[::3] = f[::3, ::-1]  # a third of the faces wound the wrong way
    p = local_surface_patch((box.vertices, f), [0.24, 0.2, 0.25], radius=0.15)
    c = p.centroids
    out = np.einsum("tc,tc->t", p.triangle_normals, c - 0)  # box centred at the origin
    assert np.all(out > 0) or np.all(out < 0)


def test_double_sided_duplicates_do_not_cancel_the_normal():
    F = np.vstack([FLOOR_F, FLOOR_F[:, ::-1]])
    p = local_surface_patch((FLOOR_V, F), [0.0, 0.0, 0.0])
    assert np.isclose(abs(p.normal[2]), 1.0)
    assert np.pi * 0.15**2 <= p.area <= np.pi * 0.2**2  # counted once


def test_patch_errors_name_the_point():
    with pytest.raises(InputError, match=r"no scene surface within 0.15 m of point \(0.00, 0.00, 1.00\) \(the nearest is 1.00 m away\)"):
        local_surface_patch((FLOOR_V, FLOOR_F), [0, 0, 1.0])
    with pytest.raises(InputError, match="must be three finite numbers"):
        local_surface_patch((FLOOR_V, FLOOR_F), [0, np.nan, 0])
