"""Dense SDF grids: differentiable lookup, hierarchical build accuracy, cache, GenZI files."""

import json
import os

import numpy as np
import pytest
import torch
import trimesh

from inhabit.errors import InputError
from inhabit.scene import sdf as sdf_mod
from inhabit.scene.sdf import (
    LocalSDFGrid,
    SceneSDF,
    build_local_sdf,
    load_genzi_sdf,
    mesh_signed_distance,
    save_genzi_sdf,
    trilinear_reference,
)

RNG = np.random.default_rng(3)


def box_sdf(p, half):
    q = np.abs(np.asarray(p)) - half
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0)


def asymmetric_grid():
    """A (5, 7, 6) grid over an anisotropic box with random values (no symmetry to hide axis swaps)."""
    return LocalSDFGrid(RNG.normal(size=(5, 7, 6)), [-1.0, 0.5, 2.0], [1.0, 2.0, 2.5])


# ---------------------------------------------------------------------------------- lookup


def test_lookup_matches_explicit_trilinear_reference():
    g = asymmetric_grid()
    inside = RNG.uniform(g.bbox_min, g.bbox_max, (500, 3))
    outside = RNG.uniform(g.bbox_min - 0.7, g.bbox_max + 0.7, (500, 3))
    p = np.concatenate([inside, outside, g.sample_points()])
    fast = g(torch.tensor(p, dtype=torch.float64)).numpy()
    ref = trilinear_reference(g.values, g.bbox_min, g.bbox_max, p)
    np.testing.assert_allclose(fast, ref, atol=1e-6)
    # At the samples the lookup returns the stored values: axis 0 = x, 1 = y, 2 = z.
    np.testing.assert_allclose(fast[1000:], g.values.reshape(-1), atol=1e-6)


def test_lookup_of_a_linear_field_is_exact_and_axis_ordered():
    lo, hi, dims = np.array([0.0, -1.0, 1.0]), np.array([2.0, 0.0, 4.0]), (9, 5, 13)
    axes = [np.linspace(lo[a], hi[a], dims[a]) for a in range(3)]
    X, Y, Z = np.meshgrid(*axes, indexing="ij")
    g = LocalSDFGrid(0.5 * X - 2.0 * Y + 3.0 * Z + 1.0, lo, hi)
    p = torch.tensor(RNG.uniform(lo, hi, (200, 3)), dtype=torch.float64)
    want = 0.5 * p[:, 0] - 2.0 * p[:, 1] + 3.0 * p[:, 2] + 1.0
    np.testing.assert_allclose(g(p).numpy(), want.numpy(), atol=1e-5)
    np.testing.assert_allclose(g.gradient(p).numpy(), np.tile([0.5, -2.0, 3.0], (200, 1)), atol=1e-4)
    n = g.gradient(p, normalize=True).numpy()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-9)


def test_lookup_gradcheck():
    g = asymmetric_grid()
    # Points strictly inside cells (away from the kinks of the piecewise-trilinear field).
    cell = (g.bbox_max - g.bbox_min) / (np.array(g.dims) - 1)
    idx = RNG.integers(0, np.array(g.dims) - 1, (6, 3))
    p = g.bbox_min + (idx + RNG.uniform(0.2, 0.8, (6, 3))) * cell
    pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(g, (pt,), eps=1e-6, atol=1e-5)


def test_border_clamping_and_inside_bounds():
    g = asymmetric_grid()
    p = torch.tensor([[5.0, 1.0, 2.2], [0.0, -3.0, 9.0], [0.3, 1.1, 2.3]], dtype=torch.float64, requires_grad=True)
    proj = torch.minimum(torch.maximum(p.detach(), torch.tensor(g.bbox_min)), torch.tensor(g.bbox_max))
    np.testing.assert_allclose(g(p).detach().numpy(), g(proj).numpy(), atol=1e-9)
    (grad,) = torch.autograd.grad(g(p).sum(), p)
    assert grad[0, 0] == 0 and grad[1, 1] == 0 and grad[1, 2] == 0  # clamped axes carry no gradient
    assert grad[0, 1] != 0 and grad[2].abs().min() > 0
    assert g.inside_bounds(p.detach()).tolist() == [False, False, True]
    assert g.inside_bounds(torch.tensor(np.stack([g.bbox_min, g.bbox_max]))).all()


def test_grid_validation_messages():
    with pytest.raises(InputError, match=r"must be a \(Dx, Dy, Dz\) array with every D >= 2, got \(4, 1, 4\)"):
        LocalSDFGrid(np.zeros((4, 1, 4)), [0, 0, 0], [1, 1, 1])
    with pytest.raises(InputError, match=r"bbox_max \[1.0, 0.0, 1.0\] must exceed bbox_min"):
        LocalSDFGrid(np.zeros((2, 2, 2)), [0, 0, 0], [1, 0, 1])
    v = np.zeros((3, 3, 3))
    v[1, 1, 1] = np.nan
    with pytest.raises(InputError, match="SDF grid holds 1 NaN or infinite values"):
        LocalSDFGrid(v, [0, 0, 0], [1, 1, 1])
    with pytest.raises(InputError, match=r"must be an \(N, 3\) tensor, got shape \(2,\)"):
        LocalSDFGrid(np.zeros((2, 2, 2)), [0, 0, 0], [1, 1, 1])(torch.zeros(2))


# ---------------------------------------------------------------------------------- build


def test_box_grid_accuracy():
    half = np.array([0.3, 0.2, 0.15])
    m = trimesh.creation.box(2 * half)
    voxel = 0.02
    g = build_local_sdf((m.vertices, m.faces), [0.05, -0.03, 0.02], extent=1.2, voxel=voxel, use_cache=False)
    assert isinstance(g, SceneSDF)
    assert g.dims == (61, 61, 61)
    np.testing.assert_allclose(g.spacing, voxel, rtol=1e-9)
    np.testing.assert_allclose((g.bbox_min + g.bbox_max) / 2, [0.05, -0.03, 0.02], atol=1e-12)
    a = box_sdf(g.sample_points(), half)
    err = np.abs(g.values.reshape(-1) - a)
    assert err[np.abs(a) <= sdf_mod.DEFAULT_BAND].max() < 1e-5  # exact near the surface
    assert err.max() <= voxel + 1e-6  # interpolated far away
    q = RNG.uniform(-0.5, 0.5, (20000, 3))
    aq = box_sdf(q, half)
    near = np.abs(aq) <= sdf_mod.DEFAULT_BAND
    gq = g(torch.tensor(q)).numpy()
    assert np.abs(gq - aq)[near].max() <= voxel / 2
    far = np.abs(aq) > voxel  # the sign of the interpolation is exact beyond one voxel
    assert np.array_equal(gq[far] < 0, aq[far] < 0)


def test_hierarchical_equals_dense_where_exact():
    sphere = trimesh.creation.icosphere(3, radius=0.35)
    sphere = trimesh.Trimesh(sphere.vertices, sphere.faces[40:], process=False)  # a hole: winding ~0.5 nearby
    floor_v = np.array([[-1, -1, -0.35], [1, -1, -0.35], [1, 1, -0.35], [-1, 1, -0.35]], float)
    legs = trimesh.creation.box([0.1, 0.1, 0.5])
    legs.apply_translation([0.2, 0.0, -0.2])  # pierces the sphere
    m = trimesh.util.concatenate([sphere, legs, trimesh.Trimesh(floor_v, [[0, 1, 2], [0, 2, 3]])])
    kw = dict(center=[0.1, 0.05, 0.0], extent=1.6, voxel=0.04, use_cache=False)
    h = build_local_sdf((m.vertices, m.faces), **kw)
    d = build_local_sdf((m.vertices, m.faces), method="dense", **kw)
    assert np.array_equal(h.values < 0, d.values < 0)
    near = np.abs(d.values) <= sdf_mod.DEFAULT_BAND
    np.testing.assert_array_equal(h.values[near], d.values[near])
    # Far samples are interpolated: within half the coarsest cell's diagonal (the Lipschitz bound),
    # and much closer on average.
    err = np.abs(h.values - d.values)
    assert err.max() <= 0.5 * sdf_mod.coarse_stride(0.04) * 0.04 * np.sqrt(3)
    assert err.mean() < 2e-3
    # And the dense grid is the exact signed distance at the samples.
    ref = mesh_signed_distance(m.vertices, m.faces, d.sample_points())
    np.testing.assert_array_equal(d.values.reshape(-1), ref)


def test_grid_layout_per_axis_extent_and_coarse_stride():
    m = trimesh.creation.box([0.4, 0.4, 0.4])
    g = build_local_sdf((m.vertices, m.faces), [0, 0, 0.1], extent=(0.8, 0.4, 1.0), voxel=0.1, use_cache=False)
    assert g.dims == (9, 5, 11)
    np.testing.assert_allclose(g.bbox_min, [-0.4, -0.2, -0.4])
    np.testing.assert_allclose(g.bbox_max, [0.4, 0.2, 0.6])
    np.testing.assert_allclose(g.values[4, 2, 4], -0.2, atol=1e-6)  # the sample at the origin
    assert [sdf_mod.coarse_stride(v) for v in (0.1, 0.04, 0.02, 0.01, 0.001)] == [1, 2, 4, 8, 16]


def test_cache_hit_skips_computation(tmp_path, monkeypatch):
    m = trimesh.creation.box([0.5, 0.5, 0.5])
    mesh = (m.vertices, m.faces)
    g1 = build_local_sdf(mesh, [0, 0, 0], extent=0.8, voxel=0.05, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns

    def boom(*a, **k):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(sdf_mod, "_compute_grid", boom)
    g2 = build_local_sdf(mesh, [0, 0, 0], extent=0.8, voxel=0.05, cache_dir=tmp_path)
    np.testing.assert_array_equal(g1.values, g2.values)
    np.testing.assert_array_equal(g1.bbox_min, g2.bbox_min)
    assert files[0].stat().st_mtime_ns == mtime
    # Any parameter change is a different key.
    with pytest.raises(AssertionError, match="recomputed"):
        build_local_sdf(mesh, [0, 0, 0.01], extent=0.8, voxel=0.05, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="recomputed"):
        build_local_sdf(mesh, [0, 0, 0], extent=0.8, voxel=0.05, cache_dir=tmp_path, sign="winding")
    monkeypatch.undo()
    # A damaged cache entry is recomputed and replaced.
    files[0].write_bytes(b"not an npz")
    g3 = build_local_sdf(mesh, [0, 0, 0], extent=0.8, voxel=0.05, cache_dir=tmp_path)
    np.testing.assert_array_equal(g1.values, g3.values)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_default_cache_location_and_scene_input(tmp_path, monkeypatch):
    from inhabit.scene.mesh import MeshPart, SceneMesh

    monkeypatch.setenv("INHABIT_CACHE_DIR", str(tmp_path))
    m = trimesh.creation.box([0.4, 0.4, 0.4])
    scene = SceneMesh([MeshPart(m.vertices, m.faces)])
    g = build_local_sdf(scene, [0, 0, 0], extent=0.6, voxel=0.1)
    assert len(list((tmp_path / "sdf").glob("*.npz"))) == 1
    assert g(torch.zeros(1, 3)).item() == pytest.approx(-0.2, abs=1e-5)


def test_build_bad_input_messages():
    m = trimesh.creation.box()
    mesh = (m.vertices, m.faces)
    with pytest.raises(InputError, match=r"voxel size must be a positive number of metres, got 0\.0"):
        build_local_sdf(mesh, [0, 0, 0], voxel=0.0, use_cache=False)
    with pytest.raises(InputError, match=r"exceeds 512 per axis; raise the voxel size"):
        build_local_sdf(mesh, [0, 0, 0], extent=20.0, voxel=0.02, use_cache=False)
    with pytest.raises(InputError, match=r"center: 1 of 1 query points are NaN or infinite"):
        build_local_sdf(mesh, [0, np.nan, 0], use_cache=False)
    with pytest.raises(InputError, match="method must be 'hierarchical' or 'dense', got 'fast'"):
        build_local_sdf(mesh, [0, 0, 0], method="fast", use_cache=False)
    with pytest.raises(InputError, match=r"expected a SceneMesh or a \(vertices, faces\) pair"):
        build_local_sdf("room.glb", [0, 0, 0], use_cache=False)


# ---------------------------------------------------------------------------------- GenZI files


def test_genzi_round_trip_and_axis_order(tmp_path):
    D = 6
    lo, hi = np.array([-1.0, 0.0, 0.5]), np.array([2.0, 1.5, 3.5])
    axes = [np.linspace(lo[a], hi[a], D) for a in range(3)]
    X, Y, Z = np.meshgrid(*axes, indexing="ij")
    vals = X + 10 * Y + 100 * Z  # value encodes the axis each index runs along
    g = LocalSDFGrid(vals, lo, hi)
    path = save_genzi_sdf(g, tmp_path / "scene.json")
    meta = json.loads(path.read_text())
    assert meta == {"dim": D, "min": lo.tolist(), "max": hi.tolist()}
    raw = np.load(tmp_path / "scene_sdf.npy")
    assert raw.shape == (D, D, D) and raw.dtype == np.float32
    assert raw[1, 0, 0] - raw[0, 0, 0] == pytest.approx(3 / 5, rel=1e-5)  # axis 0 runs along x
    assert raw[0, 1, 0] - raw[0, 0, 0] == pytest.approx(10 * 1.5 / 5, rel=1e-5)  # axis 1 along y
    assert raw[0, 0, 1] - raw[0, 0, 0] == pytest.approx(100 * 3 / 5, rel=1e-5)  # axis 2 along z
    back = load_genzi_sdf(path)
    np.testing.assert_array_equal(back.values, g.values)
    np.testing.assert_array_equal(back.bbox_min, lo)
    p = torch.tensor([[0.3, 0.7, 1.9]], dtype=torch.float64)
    assert back(p).item() == pytest.approx(0.3 + 7 + 190, rel=1e-6)
    # GenZI writes flat arrays too: any D**3 layout in C order is accepted.
    np.save(tmp_path / "scene_sdf.npy", raw.reshape(-1))
    np.testing.assert_array_equal(load_genzi_sdf(path).values, g.values)


def test_genzi_errors(tmp_path):
    g = LocalSDFGrid(np.zeros((4, 4, 4)), [0, 0, 0], [1, 1, 1])
    with pytest.raises(InputError, match=r"needs a cubic grid \(D x D x D\), this grid is \(4, 4, 5\)"):
        save_genzi_sdf(LocalSDFGrid(np.zeros((4, 4, 5)), [0, 0, 0], [1, 1, 1]), tmp_path / "x.json")
    with pytest.raises(InputError, match=r"GenZI SDF file .*nothere.json does not exist"):
        load_genzi_sdf(tmp_path / "nothere.json")
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"dim": 4, "min": [0, 0, 0], "max": [1, 1, 1]}))
    with pytest.raises(InputError, match=r"GenZI SDF values file .*a_sdf.npy \(next to a.json\) does not exist"):
        load_genzi_sdf(p)
    np.save(tmp_path / "a_sdf.npy", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InputError, match=r"holds 48 values with shape \(4, 4, 3\), expected dim\*\*3 = 64"):
        load_genzi_sdf(p)
    p.write_text(json.dumps({"dim": 4, "min": [0, 0, 0]}))
    with pytest.raises(InputError, match="lacks the field 'max'"):
        load_genzi_sdf(p)
    p.write_text(json.dumps({"dim": 4, "min": [0, 0], "max": [1, 1, 1]}))
    with pytest.raises(InputError, match=r"'min' must be 3 finite numbers"):
        load_genzi_sdf(p)
    p.write_text("{not json")
    with pytest.raises(InputError, match="is not valid JSON"):
        load_genzi_sdf(p)
    save_genzi_sdf(g, tmp_path / "ok.json")
    assert sorted(os.listdir(tmp_path)) == ["a.json", "a_sdf.npy", "ok.json", "ok_sdf.npy"]
