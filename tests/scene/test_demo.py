"""Bundled demo scenes: contents, named points on surfaces, realistic sizes, robustness features."""

import numpy as np
import pytest

from inhabit.errors import InputError
from inhabit.scene._topology import split_solids_shells
from inhabit.scene.demo import DEMO_SCENES, make_demo_scene
from inhabit.scene.load import load_scene, save_scene
from inhabit.scene.sdf import mesh_signed_distance

EXPECTED_POINTS = {
    "room": {"sit_chair", "sit_bench", "sit_sofa", "lie_bed", "lean_counter", "stand_table", "step_stairs"},
    "outdoor": {"sit_bench", "sit_wall", "step_stairs", "stand_table", "lean_table", "sit_picnic", "lean_post"},
}
# Heights of the surfaces people use (metres), as the brief asks for realistic dimensions.
EXPECTED_HEIGHTS = {
    "room": {"sit_chair": 0.45, "sit_bench": 0.45, "sit_sofa": 0.42, "lie_bed": 0.55, "lean_counter": 0.90,
             "stand_table": 0.0, "step_stairs": 2 * 0.17},
    "outdoor": {"sit_bench": 0.45, "sit_wall": 0.55, "step_stairs": 2 * 0.17, "stand_table": 0.0,
                "lean_table": 0.75, "sit_picnic": 0.45},
}


@pytest.fixture(scope="module", params=sorted(DEMO_SCENES))
def demo(request):
    return request.param, make_demo_scene(request.param)


def test_demo_contents(demo):
    name, s = demo
    assert set(s.points) == EXPECTED_POINTS[name]
    assert set(s.point_facing) == set(s.points) == set(s.point_body_up)
    for key in s.points:
        assert np.linalg.norm(s.point_facing[key]) == pytest.approx(1.0)
        assert np.linalg.norm(s.point_body_up[key]) == pytest.approx(1.0)
    assert np.isfinite(s.vertices).all()
    assert 8 <= len(s.parts) and 5_000 < s.num_faces < 40_000  # multi-part, light at detail 0
    assert any(p.texture is not None and p.uv is not None for p in s.parts)
    assert any(p.vertex_colors is not None for p in s.parts)
    for key, z in EXPECTED_HEIGHTS[name].items():
        assert s.points[key][2] == pytest.approx(z, abs=1e-9), key


def test_room_size():
    lo, hi = make_demo_scene("room").bounds
    np.testing.assert_allclose(hi - lo, [6.0, 5.0, 2.7], atol=0.02)


def test_points_lie_on_the_surfaces(demo):
    _, s = demo
    keys = sorted(s.points)
    p = np.stack([s.points[k] for k in keys])
    d = mesh_signed_distance(s.vertices, s.faces, p)
    assert np.abs(d).max() <= 0.02, dict(zip(keys, d))
    # Each point has free space in front of it and material (or ground) right behind it.
    normal = np.stack([s.point_facing[k] if k.startswith("lean_post") else [0.0, 0.0, 1.0] for k in keys])
    above = mesh_signed_distance(s.vertices, s.faces, p + 0.05 * normal)
    below = mesh_signed_distance(s.vertices, s.faces, p - 0.01 * normal)
    assert (above > 0.03).all(), dict(zip(keys, above))
    assert (below < 0).all(), dict(zip(keys, below))


def test_demo_scenes_have_open_surfaces_and_interpenetrating_parts(demo):
    _, s = demo
    split = split_solids_shells(s.vertices, s.faces)
    assert len(split.shell_faces) > 0  # single-sided floor / walls / ground
    assert split.num_solid_components >= 10
    # Interpenetration: some vertices of a part lie strictly inside another solid part.
    inside_other = 0
    for i, part in enumerate(s.parts[:6]):
        others = [q for j, q in enumerate(s.parts) if j != i]
        v = np.concatenate([q.vertices for q in others])
        f = np.concatenate([q.faces + off for q, off in zip(others, np.cumsum([0] + [len(q.vertices) for q in others])[:-1])])
        inside_other += int((mesh_signed_distance(v, f, part.vertices[::7]) < -1e-3).sum())
    assert inside_other > 0


def test_detail_refines_furniture_but_keeps_points():
    a, b = make_demo_scene("room", 0), make_demo_scene("room", 1)
    assert b.num_faces > 2 * a.num_faces
    for k in a.points:
        np.testing.assert_array_equal(a.points[k], b.points[k])
    assert make_demo_scene("room").geometry_hash() == a.geometry_hash()  # deterministic


def test_demo_round_trip(demo, tmp_path):
    name, s = demo
    back = load_scene(save_scene(s, tmp_path / f"{name}.glb"))
    assert back.geometry_hash() == s.geometry_hash()
    assert set(back.points) == set(s.points)


def test_demo_errors():
    with pytest.raises(InputError, match="unknown demo scene 'garden'; available: outdoor, room"):
        make_demo_scene("garden")
    with pytest.raises(InputError, match="detail must be an integer from 0 to 4, got 7"):
        make_demo_scene("room", 7)
