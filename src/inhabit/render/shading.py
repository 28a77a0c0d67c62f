"""Shading in plain numpy: the readable reference of the GL shaders (:mod:`inhabit.render.gl`).

The ray-casting backend uses these functions directly; the GLSL in ``gl.py`` computes the same
formulas per fragment. Differences between the two backends are limited to texture filtering
(GL uses mipmaps when minifying, this module samples bilinearly from the full-resolution image)
and float rounding.
"""

from __future__ import annotations

import numpy as np


def interpolate(corner_values: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """Barycentric interpolation.

    Args:
        corner_values: (N, 3, C) values at the three corners of each hit triangle.
        bary: (N, 3) weights of the corners (sum to 1).

    Returns:
        (N, C)
    """
    return np.einsum("nkc,nk->nc", corner_values, bary)


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear texture lookup with repeat wrapping, v pointing up (row 0 is the image's top).

    Args:
        texture: (H, W, C) uint8.
        uv: (N, 2) texture coordinates.

    Returns:
        (N, C) float32 in [0, 1].
    """
    H, W = texture.shape[:2]
    x = uv[:, 0].astype(np.float64) * W - 0.5
    y = (1.0 - uv[:, 1].astype(np.float64)) * H - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0i, y0i = x0.astype(np.int64), y0.astype(np.int64)
    x1i, y1i = (x0i + 1) % W, (y0i + 1) % H
    x0i, y0i = x0i % W, y0i % H
    t = texture  # gather the four texels in uint8, convert only those

    def f(yi, xi):
        return t[yi, xi].astype(np.float32)

    top = f(y0i, x0i) * (1 - fx) + f(y0i, x1i) * fx
    bot = f(y1i, x0i) * (1 - fx) + f(y1i, x1i) * fx
    return ((top * (1 - fy) + bot * fy) / 255.0).astype(np.float32)


def face_camera(normals: np.ndarray, points: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Unit normals (N, 3) flipped where needed to point towards ``eye`` (3,) from ``points`` (N, 3)."""
    n = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)
    flip = np.einsum("nc,nc->n", n, eye[None, :] - points) < 0
    n[flip] *= -1.0
    return n


def lambert_headlight(albedo: np.ndarray, normals: np.ndarray, forward: np.ndarray, ambient: float,
                      headlight: float) -> np.ndarray:
    """Two-sided Lambert with a directional light along the viewing direction, plus ambient.

    ``albedo * (ambient + headlight * |n · forward|)``.

    Args:
        albedo: (N, 3) in [0, 1]; normals: (N, 3) unit; forward: (3,) camera viewing direction.

    Returns:
        (N, 3) float32, not clipped (the caller clips once, as the GL colour buffer does).
    """
    lam = np.abs(np.einsum("nc,c->n", normals, np.asarray(forward, np.float64)))
    return (albedo * (ambient + headlight * lam)[:, None]).astype(np.float32)
