"""Overlay drawing (inhabit.render.draw): positions, sub-pixel convention, colours, confidence gating."""

import numpy as np
import pytest

from inhabit.conventions import KEYPOINT_NAMES
from inhabit.render.draw import (
    CENTER_COLOR,
    LEFT_COLOR,
    PROJECTED_COLOR,
    RESIDUAL_COLOR,
    RIGHT_COLOR,
    draw_keypoint_pairs,
    draw_keypoints,
    draw_mask,
    draw_text,
    side_colors,
)
from inhabit.structures import Keypoints2D

BG = 0
K = len(KEYPOINT_NAMES)


def _canvas(h=100, w=120):
    return np.full((h, w, 3), BG, np.uint8)


def _kp(points: dict, conf: dict | None = None):
    """(K,2) xy and (K,) conf with the named points set, every other point at conf 0."""
    xy = np.zeros((K, 2))
    c = np.zeros(K)
    for n, p in points.items():
        i = KEYPOINT_NAMES.index(n)
        xy[i] = p
        c[i] = (conf or {}).get(n, 1.0)
    return xy, c


def test_points_land_on_their_pixels_with_side_colours():
    xy, c = _kp({"left_wrist": (10.5, 20.5), "right_wrist": (60.5, 70.5), "nose": (100.5, 10.5)})
    img = _canvas()
    out = draw_keypoints(img, xy, c, skeleton=False, radius=3)
    assert not img.any()  # input untouched
    assert tuple(out[20, 10]) == LEFT_COLOR  # centre of column 10, row 20
    assert tuple(out[70, 60]) == RIGHT_COLOR
    assert tuple(out[10, 100]) == CENTER_COLOR
    assert LEFT_COLOR != RIGHT_COLOR
    # nothing drawn far from the three points (the unset points are at conf 0)
    mask = out.any(axis=2)
    assert not mask[40:60, 20:50].any() and not mask[0:5, 0:5].any()


def _centroid(channel):
    """Intensity-weighted centroid in pixel-corner coordinates (pixel (i, j) has its centre at j + 0.5)."""
    w = channel.astype(float)
    ii, jj = np.mgrid[0 : w.shape[0], 0 : w.shape[1]]
    return np.array([((jj + 0.5) * w).sum(), ((ii + 0.5) * w).sum()]) / w.sum()


@pytest.mark.parametrize("x, y", [(30.5, 40.5), (30.75, 40.5), (31.0, 41.0), (31.3, 40.9)])
def test_subpixel_pixel_corner_convention(x, y):
    # The drawn disc's intensity centroid sits at the requested point in inhabit's pixel-corner
    # convention, to a small fraction of a pixel: x = 30.5 is the centre of column 30, and
    # quarter-pixel moves are not rounded away.
    xy, c = _kp({"nose": (x, y)})
    img = draw_keypoints(_canvas(), xy, c, skeleton=False, radius=4.3)[..., 1]
    np.testing.assert_allclose(_centroid(img), [x, y], atol=0.05)


def _near(px, color, tol=40):
    return np.abs(np.asarray(px, int) - np.asarray(color, int)).max() <= tol


def test_low_confidence_points_and_their_edges_are_not_drawn():
    xy, c = _kp({"left_shoulder": (20.5, 20.5), "left_elbow": (20.5, 80.5), "right_shoulder": (90.5, 20.5),
                 "right_elbow": (90.5, 80.5)}, conf={"right_elbow": 0.1})
    out = draw_keypoints(_canvas(), xy, c, min_conf=0.25)
    assert out[50, 20].any()  # left upper arm edge drawn (midpoint)
    assert _near(out[50, 20], LEFT_COLOR)  # anti-aliased line: close to the colour
    assert not out[78:84, 87:94].any()  # right elbow below min_conf: no disc
    assert not out[45:55, 88:93].any()  # ... and no edge to it
    # shoulder-shoulder joins both sides: midline colour
    assert _near(out[20, 55], CENTER_COLOR)
    # min_conf=0 draws it
    assert draw_keypoints(_canvas(), xy, c, min_conf=0.0)[80, 90].any()


def test_single_color_keeps_left_right_distinct_and_keypoints2d_rows():
    cols = side_colors((200, 0, 0))
    assert cols["left"] == (200, 0, 0) and cols["right"] != cols["left"]
    assert side_colors((255, 255, 255))["right"] != (255, 255, 255)
    xy, c = _kp({"left_knee": (30.5, 30.5), "right_knee": (70.5, 30.5)})
    kp = Keypoints2D(xy[None], c[None])
    out = draw_keypoints(_canvas(), kp, color=(200, 0, 0), skeleton=False)
    assert tuple(out[30, 30]) == cols["left"] and tuple(out[30, 70]) == cols["right"]
    with pytest.raises(ValueError, match=r"pass one row of Keypoints2D \(kp\[i\]\), got 2 rows"):
        draw_keypoints(_canvas(), Keypoints2D.stack([kp, kp]))
    with pytest.raises(ValueError, match="23 points but 2 names"):
        draw_keypoints(_canvas(), xy, c, names=("a", "b"))


def test_keypoint_pairs_draw_residuals_between_detected_and_projected():
    det, c = _kp({"left_hip": (20.5, 50.5), "right_hip": (60.5, 50.5)}, conf={"right_hip": 0.05})
    proj = det.copy()
    proj[KEYPOINT_NAMES.index("left_hip")] = (20.5, 90.5)
    proj[KEYPOINT_NAMES.index("right_hip")] = (100.5, 50.5)
    out = draw_keypoint_pairs(_canvas(), det, proj, detected_conf=c, radius=3)
    assert _near(out[70, 20], RESIDUAL_COLOR)  # midway along the left-hip residual
    assert tuple(out[90, 20]) == side_colors(PROJECTED_COLOR)["left"]  # projected point
    assert tuple(out[50, 20]) == LEFT_COLOR  # detected point on top
    assert not out[50, 78:84].any()  # low-confidence right hip: no residual towards its projection
    with pytest.raises(ValueError, match="23 detected, 2 projected"):
        draw_keypoint_pairs(_canvas(), det, proj[:2], detected_conf=c)


def test_draw_text_and_mask():
    out = draw_text(_canvas(), "view 3\nw=0.91 é", (10, 10))
    assert out[10:60, 10:60].any() and not out[70:, :].any() and not out[:, :9].any()
    m = np.zeros((100, 120), bool)
    m[30:60, 40:80] = True
    img = np.full((100, 120, 3), 100, np.uint8)
    o = draw_mask(img, m, color=(255, 0, 0), alpha=0.5)
    assert tuple(o[45, 60]) == (178, 50, 50)  # 100 * 0.5 + 255 * 0.5 = 177.5 -> 178
    assert tuple(o[10, 10]) == (100, 100, 100)
    with pytest.raises(ValueError, match="mask shape"):
        draw_mask(img, m[:50])
