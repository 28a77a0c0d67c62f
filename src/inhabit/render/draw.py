"""Overlay drawing: keypoints and skeletons, detected-vs-projected pairs, masks and text.

Every function returns a *new* (H, W, 3) uint8 RGB image and leaves its input untouched.

Coordinates follow :mod:`inhabit.conventions`: pixels with the origin at the top-left pixel's
*corner*, so x = j + 0.5 is the centre of column j. OpenCV puts pixel centres on integers, so
points are shifted by -0.5 and passed to OpenCV in fixed point with :data:`SUBPIXEL_BITS`
fractional bits: a keypoint at x = 10.75 is drawn a quarter pixel right of column 10's centre,
not rounded to a pixel.

Colours: the person's left side is orange, the right side blue, the midline (nose, and edges that
join both sides such as hip-hip) green, as in most pose-estimation overlays. A single ``color``
keeps left/right distinguishable by drawing the right side in a lighter tint of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inhabit.conventions import KEYPOINT_NAMES, SKELETON_EDGES
from inhabit.structures import Keypoints2D

SUBPIXEL_BITS = 4
"""Fractional bits of the fixed-point coordinates given to OpenCV (1/16 px)."""

LEFT_COLOR = (255, 140, 0)
RIGHT_COLOR = (30, 144, 255)
CENTER_COLOR = (60, 220, 60)
PROJECTED_COLOR = (230, 50, 230)
RESIDUAL_COLOR = (255, 255, 0)

Color = tuple[int, int, int]


def _side(name: str) -> str:
    return "left" if name.startswith("left_") else "right" if name.startswith("right_") else "center"


def side_colors(color: Sequence[int] | None = None) -> dict[str, Color]:
    """Colours of the left side, right side and midline: the default palette, or tints of ``color``."""
    if color is None:
        return {"left": LEFT_COLOR, "right": RIGHT_COLOR, "center": CENTER_COLOR}
    c = np.clip(np.asarray(color, dtype=np.float64)[:3], 0, 255)
    right = c + (255.0 - c) * 0.55  # lighter tint: still clearly the same family, but distinct
    center = 0.5 * (c + right)
    if np.abs(right - c).max() < 40:  # colour already near white: darken instead
        right = c * 0.45
        center = c * 0.7
    as_t = lambda v: tuple(round(float(x)) for x in v)  # noqa: E731
    return {"left": as_t(c), "right": as_t(right), "center": as_t(center)}


def _check_canvas(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) image, got shape {img.shape}")
    img = img[..., :3]
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and np.nanmax(img, initial=0.0) <= 1.0:
            img = (np.clip(np.nan_to_num(img), 0, 1) * 255 + 0.5).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img).copy()


def _fixed(xy: np.ndarray) -> tuple[int, int]:
    """Pixel-corner coordinates -> OpenCV fixed-point (pixel centres on integers)."""
    s = 1 << SUBPIXEL_BITS
    return round((float(xy[0]) - 0.5) * s), round((float(xy[1]) - 0.5) * s)


def _as_row(kp, conf, what: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """(K,2) xy, (K,) conf and the names carried by a Keypoints2D (None otherwise)."""
    if isinstance(kp, Keypoints2D):
        if len(kp) != 1:
            raise ValueError(f"{what}: pass one row of Keypoints2D (kp[i]), got {len(kp)} rows")
        return kp.xy[0].astype(np.float64), kp.conf[0].astype(np.float64), kp.names
    xy = np.asarray(kp, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{what}: xy must be (K, 2), got {xy.shape}")
    c = np.ones(len(xy)) if conf is None else np.asarray(conf, dtype=np.float64).reshape(-1)
    if c.shape[0] != xy.shape[0]:
        raise ValueError(f"{what}: {xy.shape[0]} points but {c.shape[0]} confidences")
    return xy, c, None


def _default_sizes(shape: tuple[int, ...], radius: float | None, thickness: int | None) -> tuple[float, int]:
    side = min(shape[0], shape[1])
    r = float(radius) if radius is not None else max(2.0, side / 170.0)
    t = int(thickness) if thickness is not None else max(1, round(side / 256.0))
    return r, t


def _draw_skeleton(img, xy, conf, names, min_conf, colors, skeleton, radius, thickness, edges):
    import cv2

    ok = np.isfinite(xy).all(axis=1) & np.isfinite(conf) & (conf >= min_conf)
    index = {n: i for i, n in enumerate(names)}
    s = 1 << SUBPIXEL_BITS
    if skeleton:
        for a, b in edges:
            ia, ib = index.get(a), index.get(b)
            if ia is None or ib is None or not (ok[ia] and ok[ib]):
                continue
            sa, sb = _side(a), _side(b)
            col = colors[sa] if sa == sb else colors["center"]
            cv2.line(img, _fixed(xy[ia]), _fixed(xy[ib]), col, thickness, cv2.LINE_AA, SUBPIXEL_BITS)
    for i, n in enumerate(names):
        if ok[i]:
            cv2.circle(img, _fixed(xy[i]), round(float(radius) * s), colors[_side(n)], -1, cv2.LINE_AA, SUBPIXEL_BITS)
    return img


def draw_keypoints(
    image: np.ndarray,
    xy: np.ndarray | Keypoints2D,
    conf: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    *,
    min_conf: float = 0.25,
    color: Sequence[int] | None = None,
    skeleton: bool = True,
    radius: float | None = None,
    thickness: int | None = None,
    edges: Sequence[tuple[str, str]] = SKELETON_EDGES,
) -> np.ndarray:
    """Draw keypoints (filled discs) and their skeleton over an image.

    Args:
        image: (H, W, 3) uint8 RGB (grey (H, W), RGBA and [0, 1] floats are converted).
        xy: (K, 2) pixels (pixel-corner origin), or a one-row :class:`Keypoints2D` (then ``conf``
            and ``names`` come from it).
        conf: (K,) confidences; None draws every point.
        names: K names (default :data:`KEYPOINT_NAMES`); sides and edges are looked up by name.
        min_conf: points with ``conf < min_conf`` (or non-finite xy) are not drawn, nor their edges.
        color: one RGB colour for the whole person (right side in a lighter tint) instead of the
            left/right/midline palette.
        skeleton: draw the edges of ``edges`` (default :data:`SKELETON_EDGES`).
        radius, thickness: disc radius (px, may be fractional) and line width; default scale with
            the image (3 px and 2 px at 512²).

    Returns:
        A new (H, W, 3) uint8 image.
    """
    pts, c, carried = _as_row(xy, conf, "draw_keypoints")
    names = tuple(names) if names is not None else carried or KEYPOINT_NAMES
    if len(names) != len(pts):
        raise ValueError(f"draw_keypoints: {len(pts)} points but {len(names)} names")
    img = _check_canvas(image)
    r, t = _default_sizes(img.shape, radius, thickness)
    return _draw_skeleton(img, pts, c, names, float(min_conf), side_colors(color), skeleton, r, t, edges)


def draw_keypoint_pairs(
    image: np.ndarray,
    detected: np.ndarray | Keypoints2D,
    projected: np.ndarray | Keypoints2D,
    names: Sequence[str] | None = None,
    *,
    detected_conf: np.ndarray | None = None,
    min_conf: float = 0.25,
    detected_color: Sequence[int] | None = None,
    projected_color: Sequence[int] = PROJECTED_COLOR,
    residual_color: Sequence[int] = RESIDUAL_COLOR,
    radius: float | None = None,
    thickness: int | None = None,
) -> np.ndarray:
    """Overlay for 2D-3D lifting: detected skeleton, projected skeleton, and a residual line per point.

    Args:
        image: (H, W, 3) uint8 RGB.
        detected: (K, 2) pixels or one-row Keypoints2D (its confidences gate the points and residuals).
        projected: (K, 2) pixels (e.g. ``camera.project`` of the body's keypoints) or one-row
            Keypoints2D, same names and order as ``detected``.
        names: K names (default: the detected row's names, else :data:`KEYPOINT_NAMES`).
        detected_conf: (K,) confidences when ``detected`` is a plain array.
        min_conf: detected points below it are drawn neither as points nor as residuals.
        detected_color: None = left/right palette; projected points use tints of ``projected_color``.

    Returns:
        A new (H, W, 3) uint8 image: residual lines under both skeletons.
    """
    import cv2

    det_xy, det_c, carried = _as_row(detected, detected_conf, "draw_keypoint_pairs(detected)")
    proj_xy, _, carried_p = _as_row(projected, None, "draw_keypoint_pairs(projected)")
    names = tuple(names) if names is not None else carried or carried_p or KEYPOINT_NAMES
    if not len(det_xy) == len(proj_xy) == len(names):
        raise ValueError(f"draw_keypoint_pairs: {len(det_xy)} detected, {len(proj_xy)} projected, {len(names)} names")
    if carried is not None and carried_p is not None and carried != carried_p:
        raise ValueError("draw_keypoint_pairs: detected and projected keypoints have different names")
    img = _check_canvas(image)
    r, t = _default_sizes(img.shape, radius, thickness)
    ok = (np.isfinite(det_xy).all(1) & np.isfinite(proj_xy).all(1) & np.isfinite(det_c) & (det_c >= min_conf))
    rc = tuple(int(v) for v in residual_color)
    for i in np.flatnonzero(ok):
        cv2.line(img, _fixed(det_xy[i]), _fixed(proj_xy[i]), rc, max(1, t // 2), cv2.LINE_AA, SUBPIXEL_BITS)
    proj_c = np.where(np.isfinite(proj_xy).all(1), 1.0, 0.0)
    img = _draw_skeleton(img, proj_xy, proj_c, names, 0.5, side_colors(projected_color), True, r * 0.8, t, SKELETON_EDGES)
    return _draw_skeleton(img, det_xy, det_c, names, float(min_conf), side_colors(detected_color), True, r, t,
                          SKELETON_EDGES)


def draw_mask(image: np.ndarray, mask: np.ndarray, color: Sequence[int] = (255, 0, 0), alpha: float = 0.45,
              contour: bool = True) -> np.ndarray:
    """Tint the pixels of a mask and outline it.

    Args:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) bool, or float in [0, 1] (blended proportionally; the contour is at 0.5).
        color: RGB tint; alpha: tint strength at mask = 1.
    """
    import cv2

    img = _check_canvas(image)
    m = np.asarray(mask)
    if m.shape != img.shape[:2]:
        raise ValueError(f"draw_mask: mask shape {m.shape} differs from the image's {img.shape[:2]}")
    w = np.clip(np.nan_to_num(m.astype(np.float32)), 0.0, 1.0)[..., None] * float(alpha)
    out = img.astype(np.float32) * (1.0 - w) + np.asarray(color, np.float32)[:3] * w
    img = (out + 0.5).astype(np.uint8)
    if contour:
        cs, _ = cv2.findContours((m > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, cs, -1, tuple(int(v) for v in color[:3]), 1, cv2.LINE_8)
    return img


def draw_text(
    image: np.ndarray,
    text: str,
    xy: Sequence[float] = (4.0, 4.0),
    *,
    color: Sequence[int] = (255, 255, 255),
    background: Sequence[int] | None = (0, 0, 0),
    scale: float | None = None,
    thickness: int | None = None,
) -> np.ndarray:
    """Write text (multi-line with ``\\n``) with its box's top-left corner at ``xy`` (pixels).

    OpenCV's Hershey font covers printable ASCII only: other characters are drawn as ``?``.

    Args:
        image: (H, W, 3) uint8 RGB.
        text: the label.
        xy: top-left corner of the text block, pixel-corner coordinates.
        color: text colour; background: colour of a filled box behind the text (None: no box).
        scale: font scale (default grows with the image: 0.5 at 512²).
    """
    import cv2

    img = _check_canvas(image)
    side = min(img.shape[:2])
    fs = float(scale) if scale is not None else max(0.3, side / 1024.0)
    th = int(thickness) if thickness is not None else max(1, round(fs * 2))
    font = cv2.FONT_HERSHEY_SIMPLEX
    x0, y = float(xy[0]), float(xy[1])
    pad = max(2, round(3 * fs))
    for line in str(text).split("\n"):
        line = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in line)
        (w, h), base = cv2.getTextSize(line or " ", font, fs, th)
        if background is not None:
            p0 = (int(np.floor(x0)), int(np.floor(y)))
            p1 = (int(np.ceil(x0 + w + 2 * pad)) - 1, int(np.ceil(y + h + base + 2 * pad)) - 1)
            cv2.rectangle(img, p0, p1, tuple(int(v) for v in background[:3]), -1)
        org = (round(x0 + pad), round(y + pad + h))
        cv2.putText(img, line, org, font, fs, tuple(int(v) for v in color[:3]), th, cv2.LINE_AA)
        y += h + base + 2 * pad
    return img
