"""Readable brute-force signed distance (numpy, float64): the reference the warp path is tested against.

Every point is compared with every triangle, so this is O(N x F): use it on small meshes only
(a few thousand triangles and points). It follows exactly the sign rule of :mod:`inhabit.scene.sdf`
(see :mod:`inhabit.scene._topology`): inside the union of solids when their generalized winding
number exceeds 0.5, or behind the nearest shell face within the shell's extent.
"""

from __future__ import annotations

import numpy as np

from inhabit.scene._topology import (
    EDGE_BOUNDARY_BITS,
    TWO_SIDED_BIT,
    VERTEX_BOUNDARY_BITS,
    split_solids_shells,
)


def closest_point_barycentric(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Barycentric coordinates of the closest point of each triangle to each point.

    Ericson, *Real-Time Collision Detection*, 5.1.5, vectorised over points and triangles.

    Args:
        points: (N, 3).
        tris: (F, 3, 3) triangle corners a, b, c.

    Returns:
        (N, F, 3) weights of a, b, c (each row sums to 1).
    """
    p = np.asarray(points, np.float64)[:, None, :]
    a, b, c = (np.asarray(tris, np.float64)[None, :, k, :] for k in range(3))
    ab, ac = b - a, c - a

    def dot(x, y):
        return (x * y).sum(-1)

    ap, bp, cp = p - a, p - b, p - c
    d1, d2 = dot(ab, ap), dot(ac, ap)
    d3, d4 = dot(ab, bp), dot(ac, bp)
    d5, d6 = dot(ab, cp), dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ab = d1 / (d1 - d3)
        t_ac = d2 / (d2 - d6)
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        den = 1.0 / (va + vb + vc)
    v_in, w_in = vb * den, vc * den
    one, zero = np.ones_like(d1), np.zeros_like(d1)
    conds = [
        (d1 <= 0) & (d2 <= 0),  # vertex a
        (d3 >= 0) & (d4 <= d3),  # vertex b
        (vc <= 0) & (d1 >= 0) & (d3 <= 0),  # edge ab
        (d6 >= 0) & (d5 <= d6),  # vertex c
        (vb <= 0) & (d2 >= 0) & (d6 <= 0),  # edge ac
        (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0),  # edge bc
    ]
    wa = np.select(conds, [one, zero, 1 - t_ab, zero, 1 - t_ac, zero], 1 - v_in - w_in)
    wb = np.select(conds, [zero, one, t_ab, zero, zero, 1 - t_bc], v_in)
    wc = np.select(conds, [zero, zero, zero, one, t_ac, t_bc], w_in)
    return np.stack([wa, wb, wc], -1)


def winding_number(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Generalized winding number (Jacobson et al. 2013) of each point: exact solid-angle sum.

    Uses the Van Oosterom-Strackee formula per triangle; 1 inside a closed outward-oriented
    surface, 0 outside, fractional near holes.

    Args:
        points: (N, 3); vertices: (V, 3); faces: (F, 3).

    Returns:
        (N,) float64.
    """
    pts = np.asarray(points, np.float64)
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)]
    out = np.zeros(len(pts))
    for s in range(0, len(pts), chunk):
        a = tri[None, :, 0, :] - pts[s : s + chunk, None, :]
        b = tri[None, :, 1, :] - pts[s : s + chunk, None, :]
        c = tri[None, :, 2, :] - pts[s : s + chunk, None, :]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        num = (a * np.cross(b, c)).sum(-1)
        den = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
        out[s : s + chunk] = (2.0 * np.arctan2(num, den)).sum(-1) / (4.0 * np.pi)
    return out


def closest_points(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 256):
    """Closest point on a triangle mesh, brute force.

    Returns:
        ``(dist (N,), face (N,) int, bary (N, 3), closest (N, 3))``; ``face`` is the lowest index
        among equally close faces.
    """
    pts = np.asarray(points, np.float64)
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)]
    n = len(pts)
    dist, face = np.empty(n), np.empty(n, np.int64)
    bary, closest = np.empty((n, 3)), np.empty((n, 3))
    for s in range(0, n, chunk):
        p = pts[s : s + chunk]
        w = closest_point_barycentric(p, tri)  # (n, F, 3)
        c = np.einsum("nfk,fkd->nfd", w, tri)
        d2 = ((c - p[:, None, :]) ** 2).sum(-1)
        j = np.argmin(d2, axis=1)
        r = np.arange(len(p))
        dist[s : s + chunk] = np.sqrt(d2[r, j])
        face[s : s + chunk] = j
        bary[s : s + chunk] = w[r, j]
        closest[s : s + chunk] = c[r, j]
    return dist, face, bary, closest


def behind_shell(points: np.ndarray, face: np.ndarray, bary: np.ndarray, closest: np.ndarray,
                 vertices: np.ndarray, faces: np.ndarray, flags: np.ndarray, bary_eps: float = 1e-4) -> np.ndarray:
    """(N,) bool: the point is behind its closest shell face, and that closest point is not on the
    shell's open boundary (nor on a two-sided face)."""
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)[face]]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    side = ((np.asarray(points, np.float64) - closest) * n).sum(-1)
    fl = flags[face]
    on_boundary = np.zeros(len(face), bool)
    for k in range(3):
        # On edge k (opposite vertex k) when its weight vanishes; on vertex k when its weight is ~1.
        on_boundary |= (bary[:, k] < bary_eps) & ((fl & EDGE_BOUNDARY_BITS[k]) != 0)
        on_boundary |= (bary[:, k] > 1.0 - bary_eps) & ((fl & VERTEX_BOUNDARY_BITS[k]) != 0)
    return (side < 0) & ~on_boundary & ((fl & TWO_SIDED_BIT) == 0)


def signed_distance_reference(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray,
                              sign: str = "scene") -> np.ndarray:
    """Signed distance of ``points`` (N,3) to the mesh, negative inside; brute force, float64.

    Args:
        vertices: (V, 3); faces: (F, 3); points: (N, 3).
        sign: ``"scene"`` (solids + shells) or ``"winding"`` (plain winding number > 0.5).

    Returns:
        (N,) float64.
    """
    split = split_solids_shells(vertices, faces, mode=sign)
    pts = np.asarray(points, np.float64)
    dist = np.full(len(pts), np.inf)
    inside = np.zeros(len(pts), bool)
    if len(split.solid_faces):
        d, _, _, _ = closest_points(pts, split.solid_vertices, split.solid_faces)
        dist = np.minimum(dist, d)
        inside |= winding_number(pts, split.solid_vertices, split.solid_faces) > 0.5
    if len(split.shell_faces):
        d, f, w, c = closest_points(pts, split.shell_vertices, split.shell_faces)
        dist = np.minimum(dist, d)
        inside |= behind_shell(pts, f, w, c, split.shell_vertices, split.shell_faces, split.shell_flags)
    return np.where(inside, -dist, dist)
