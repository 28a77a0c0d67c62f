"""Physical metrics on analytic SDF callables (a box, a floor) with hand-computed answers."""

import math

import numpy as np
import pytest
import torch

from inhabit.evaluate import physical


def box_sdf(center, half):
    """Exact SDF of an axis-aligned box (negative inside), as a torch callable."""
    c = torch.tensor(center, dtype=torch.float32)
    h = torch.tensor(half, dtype=torch.float32)

    def f(p):
        q = (p - c).abs() - h
        outside = q.clamp(min=0).norm(dim=-1)
        inside = q.max(dim=-1).values.clamp(max=0)
        return outside + inside

    return f


def floor_and_box():
    box = box_sdf([0.0, 0.0, 0.5], [0.5, 0.5, 0.5])
    return lambda p: torch.minimum(p[:, 2], box(p))


def test_sdf_values_matches_box_and_checks_output():
    sdf = box_sdf([0, 0, 0], [1, 1, 1])
    pts = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.5, 0.0, 0.0]])
    np.testing.assert_allclose(physical.sdf_values(sdf, pts), [-1.0, 1.0, -0.5], atol=1e-6)
    assert physical.sdf_values(sdf, pts.reshape(1, 3, 3)).shape == (1, 3)
    with pytest.raises(ValueError, match="the SDF returned 1 values for 3 points"):
        physical.sdf_values(lambda p: torch.zeros(1), pts)
    with pytest.raises(ValueError, match="non-finite values for 3 points"):
        physical.sdf_values(lambda p: torch.full((len(p),), float("nan")), pts)


def test_non_collision_and_contact_on_box():
    sdf = box_sdf([0.0, 0.0, 0.5], [0.5, 0.5, 0.5])
    inside = [[0.0, 0.0, 0.5], [0.1, 0.1, 0.2], [-0.2, 0.3, 0.9]]
    outside = [[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.5], [1.0, 1.0, 1.0],
               [0.0, 0.0, 1.05], [0.0, 0.8, 0.5], [-3.0, 0.0, 0.0]]
    s = physical.sdf_values(sdf, np.array(inside + outside))
    assert physical.non_collision(s) == pytest.approx(0.7)
    assert physical.contact(s) == 1.0
    s_out = physical.sdf_values(sdf, np.array(outside))
    assert physical.non_collision(s_out) == 1.0
    assert physical.contact(s_out) == 0.0
    # the closest outside vertex is 0.05 above the top face: contact only with a 5 cm threshold
    assert physical.contact(s_out, threshold=0.06) == 1.0
    assert physical.contact(s_out, threshold=0.04) == 0.0
    # batched over results
    np.testing.assert_allclose(physical.non_collision(np.stack([s, np.concatenate([s_out, s_out[:3]])])), [0.7, 1.0])


def test_penetration_stats_hand_case():
    s = np.array([[-0.1, 0.2, -0.3, 0.5], [0.1, 0.1, 0.1, -0.2]])
    p = physical.penetration_stats(s)
    assert p["pene_pct"] == pytest.approx(37.5)  # 3 of 8 vertex-frames
    assert p["pene_mean"] == pytest.approx(0.3)  # per-frame sums 0.4 and 0.2
    assert p["pene_max"] == pytest.approx(0.4)
    assert p["depth_mean"] == pytest.approx(0.2)  # (0.1 + 0.3 + 0.2) / 3
    assert p["depth_max"] == pytest.approx(0.3)
    q = physical.penetration_stats(s, tolerance=0.15)
    assert q["pene_pct"] == pytest.approx(25.0) and q["pene_mean"] == pytest.approx(0.25)
    clean = physical.penetration_stats(np.ones((3, 5)))
    assert clean == {"pene_pct": 0.0, "pene_mean": 0.0, "pene_max": 0.0, "depth_mean": 0.0, "depth_max": 0.0}


def test_support_height_sphere_traces_past_walls():
    sdf = floor_and_box()
    pts = np.array([
        [2.0, 0.0, 0.3],   # open floor: height = z
        [0.0, 0.0, 1.2],   # above the box top (z = 1): 0.2
        [0.6, 0.0, 0.3],   # 10 cm beside the box wall, 30 cm above the floor: 0.3, not 0.1
        [0.0, 0.0, 0.9],   # inside the box: its (negative) SDF
        [0.5005, 0.0, 0.8],  # grazing the wall 0.5 mm away all the way down: still the floor
        [5.0, 0.0, 3.0],   # nothing within 1 m below
    ])
    h = physical.support_height(sdf, pts, max_dist=1.0)
    np.testing.assert_allclose(h[:5], [0.3, 0.2, 0.3, -0.1, 0.8], atol=2e-4)
    assert math.isinf(h[5])


def _feet(xy_per_frame, heights):
    """(T, 4, 3) foot joints all at the same horizontal position per frame and given heights."""
    T = len(xy_per_frame)
    x = np.zeros((T, 4, 3))
    x[:, :, :2] = np.asarray(xy_per_frame, float)[:, None, :]
    x[:, :, 2] = heights
    return x


def test_foot_sliding_planted_sliding_lifted():
    T, fps = 6, 10.0
    planted = _feet(np.zeros((T, 2)), 0.0)
    assert physical.foot_sliding(planted, planted[..., 2], fps)["foot_sliding"] == 0.0
    # 0.5 m/s on the ground at 10 fps: 5 cm per frame, 50 cm/s
    slide = _feet(np.stack([np.arange(T) * 0.05, np.zeros(T)], 1), 0.0)
    r = physical.foot_sliding(slide, slide[..., 2], fps)
    assert r["foot_sliding"] == pytest.approx(5.0)
    assert r["foot_sliding_cm_s"] == pytest.approx(50.0)
    assert r["foot_contact_ratio"] == 1.0
    # lifted above every threshold: forgiven entirely
    lifted = _feet(np.stack([np.arange(T) * 0.05, np.zeros(T)], 1), 0.2)
    assert physical.foot_sliding(lifted, lifted[..., 2], fps)["foot_sliding"] == 0.0
    # at half of each joint's threshold the weight is 2 - sqrt(2)
    half = np.tile(np.array([0.04, 0.02, 0.04, 0.02]), (T, 1))
    r = physical.foot_sliding(slide, half, fps)
    assert r["foot_sliding"] == pytest.approx(5.0 * (2 - math.sqrt(2)))


def test_foot_sliding_uses_central_differences():
    # x = 0, 0.1, 0.3: forward 0.1, central 0.15, backward 0.2 (m per frame) -> mean 0.15 m = 15 cm
    x = _feet(np.array([[0.0, 0.0], [0.1, 0.0], [0.3, 0.0]]), 0.0)
    assert physical.foot_sliding(x, x[..., 2], fps=30.0)["foot_sliding"] == pytest.approx(15.0)
    v = physical.nemf_velocity(np.array([0.0, 0.1, 0.3]), fps=30.0)
    np.testing.assert_allclose(v, [3.0, 4.5, 6.0])
    # vertical motion does not count as sliding
    up = np.zeros((3, 4, 3))
    up[:, :, 2] = np.array([0.0, 0.01, 0.02])[:, None]
    assert physical.foot_sliding(up, np.zeros((3, 4)), 30.0)["foot_sliding"] == 0.0
    with pytest.raises(ValueError, match="at least 2 frames"):
        physical.nemf_velocity(np.zeros((1, 3)), 10.0)


def test_hand_object_contact_and_object_penetration():
    s = np.array([[0.2, 0.1], [0.04, 0.3], [-0.01, 0.5], [0.06, 0.07]])
    r = physical.hand_object_contact_ratio(s, threshold=0.05)
    assert r["contact_ratio"] == 0.5
    assert r["hand_object_distance"] == pytest.approx((0.1 + 0.04 - 0.01 + 0.06) / 4)
    b = np.array([[-0.02, -0.04, 0.3], [0.1, 0.2, 0.3], [-0.06, 0.0, 0.1]])
    p = physical.body_object_penetration(b)
    assert p["pene_obj"] == pytest.approx((0.03 + 0.0 + 0.06) / 3)
    assert p["pene_obj_max"] == pytest.approx(0.06)
    assert p["pene_obj_frames"] == pytest.approx(2 / 3)
    assert physical.body_object_penetration(b, min_depth=0.05)["pene_obj"] == pytest.approx(0.02)


def test_to_object_frame():
    T = np.eye(4)
    T[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]  # 90 deg about z
    T[:3, 3] = [1.0, 0.0, 0.0]
    p_world = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_allclose(physical.to_object_frame(p_world, T[None]), [[[2.0, 0.0, 3.0]]], atol=1e-12)


def test_hand_vertex_mask():
    v = np.array([[0.0, 0, 0], [0.35, 0, 0], [0.45, 0, 0], [0.55, 0.1, 0], [0.9, 0, 0], [0.3, 0.05, 0]])
    m = physical.hand_vertex_mask(v, wrist=[0.4, 0, 0], elbow=[0.1, 0, 0], radius=0.25)
    assert m.tolist() == [False, False, True, True, False, False]
