"""Textured primitive shapes for the demo scenes: (rounded) boxes, cylinders, spheres, planes, walls.

Each builder returns a :class:`Shape` (vertices, faces, uv) in metres with outward-facing,
counter-clockwise triangles. UVs are *world-scaled* (metres divided by ``uv_scale``), so one
texture tile covers ``uv_scale`` metres on every face; they run outside [0, 1] and rely on the
glTF default ``REPEAT`` wrap. UV origin bottom-left, v up (trimesh / OpenGL convention).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Shape:
    """A triangle mesh piece: vertices (V, 3) float64, faces (F, 3) int64, uv (V, 2) float64."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray

    def transformed(self, yaw: float = 0.0, translation=(0.0, 0.0, 0.0)) -> Shape:
        """Rotated by ``yaw`` radians about +Z, then translated (UVs unchanged)."""
        c, s = math.cos(yaw), math.sin(yaw)
        R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return Shape(self.vertices @ R.T + np.asarray(translation, float), self.faces, self.uv)

    def tilted(self, axis: int, angle: float) -> Shape:
        """Rotated by ``angle`` radians about the coordinate axis ``axis`` (0, 1, 2) through the origin."""
        c, s = math.cos(angle), math.sin(angle)
        i, j = [(1, 2), (2, 0), (0, 1)][axis]
        R = np.eye(3)
        R[i, i], R[i, j], R[j, i], R[j, j] = c, -s, s, c
        return Shape(self.vertices @ R.T, self.faces, self.uv)


def merge(shapes: list[Shape]) -> Shape:
    """Concatenate shapes into one (faces re-indexed)."""
    verts, faces, uvs, off = [], [], [], 0
    for s in shapes:
        verts.append(s.vertices)
        faces.append(s.faces + off)
        uvs.append(s.uv)
        off += len(s.vertices)
    return Shape(np.concatenate(verts), np.concatenate(faces), np.concatenate(uvs))


def _grid_faces(nu: int, nv: int) -> np.ndarray:
    """Triangles of an (nu+1) x (nv+1) vertex grid (index i * (nv+1) + j), CCW seen from +u x +v."""
    i, j = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    a = (i * (nv + 1) + j).reshape(-1)
    b = a + (nv + 1)
    return np.concatenate([np.stack([a, b, b + 1], 1), np.stack([a, b + 1, a + 1], 1)])


def _axis_coords(half: float, radius: float, arc: int, target: float) -> np.ndarray:
    """Sorted coordinates from -half to +half, with ``arc`` samples in each rounded end zone.

    In the end zones the offsets ``r / tan(phi)`` make the rounded edge's arc evenly sampled in
    angle once the vertices are projected (see :func:`box`).
    """
    inner = half - radius
    n_in = max(1, math.ceil(2 * inner / target)) if inner > 1e-9 else 0
    mid = np.linspace(-inner, inner, n_in + 1) if n_in else np.array([0.0])
    if radius <= 0 or arc <= 0:
        return mid if inner > 1e-9 else np.array([-half, half])
    phi = np.pi / 2 - np.arange(1, arc + 1) * (np.pi / 4) / arc  # 90 deg (exclusive) .. 45 deg
    ends = inner + radius / np.tan(phi)  # inner .. half
    return np.concatenate([-ends[::-1], mid, ends])


# Outward normal axis, sign, tangent axes (t1, t2) with t1 x t2 = normal.
_FACES = (
    (0, +1, 1, 2), (0, -1, 2, 1),
    (1, +1, 2, 0), (1, -1, 0, 2),
    (2, +1, 0, 1), (2, -1, 1, 0),
)


def box(size, radius: float = 0.0, arc: int = 2, target: float = 0.25, uv_scale: float = 1.0) -> Shape:
    """A closed box centred at the origin, optionally with rounded edges and corners.

    Args:
        size: (3,) side lengths (metres).
        radius: edge rounding radius (0 = sharp); clipped to half the smallest side.
        arc: samples per 45 degrees of each rounded edge.
        target: target edge length of the flat parts.
        uv_scale: metres per texture tile.

    The rounded box is the Minkowski sum of a shrunken box and a sphere: each vertex of the
    subdivided outer box is moved to ``q + r * (p - q) / |p - q|``, ``q`` its clamp to the inner box.
    """
    half = np.asarray(size, float) / 2.0
    r = float(min(radius, half.min() * 0.999))
    coords = [_axis_coords(h, r, arc, target) for h in half]
    verts, faces, uvs, off = [], [], [], 0
    for axis, sign, t1, t2 in _FACES:
        cu, cv = coords[t1], coords[t2]
        U, V = np.meshgrid(cu, cv, indexing="ij")
        p = np.zeros((U.size, 3))
        p[:, t1], p[:, t2], p[:, axis] = U.reshape(-1), V.reshape(-1), sign * half[axis]
        uvs.append(np.stack([U.reshape(-1), V.reshape(-1)], 1) / uv_scale)
        verts.append(p)
        faces.append(_grid_faces(len(cu) - 1, len(cv) - 1) + off)
        off += len(p)
    v = np.concatenate(verts)
    if r > 0:
        inner = half - r
        q = np.clip(v, -inner, inner)
        d = v - q
        n = np.linalg.norm(d, axis=1, keepdims=True)
        v = q + r * d / np.where(n > 0, n, 1.0)
    return Shape(v, np.concatenate(faces), np.concatenate(uvs))


def cylinder(radius: float, height: float, sections: int = 24, target: float = 0.25, uv_scale: float = 1.0,
             caps: bool = True) -> Shape:
    """A closed cylinder along +Z from z=0 to z=height, centred on the Z axis."""
    th = np.linspace(0.0, 2 * np.pi, sections + 1)  # seam vertex duplicated for the UVs
    zs = np.linspace(0.0, height, max(1, math.ceil(height / target)) + 1)
    T, Z = np.meshgrid(th, zs, indexing="ij")
    side = np.stack([radius * np.cos(T), radius * np.sin(T), Z], -1).reshape(-1, 3)
    side_uv = np.stack([T * radius, Z], -1).reshape(-1, 2) / uv_scale
    parts = [Shape(side, _grid_faces(sections, len(zs) - 1), side_uv)]  # u = angle, v = z: outward
    if caps:
        for z, up in ((height, True), (0.0, False)):
            ring = np.stack([radius * np.cos(th[:-1]), radius * np.sin(th[:-1]), np.full(sections, z)], 1)
            v = np.concatenate([[[0.0, 0.0, z]], ring])
            k = np.arange(sections)
            f = np.stack([np.zeros(sections, int), 1 + k, 1 + (k + 1) % sections], 1)
            if not up:
                f = f[:, [0, 2, 1]]
            parts.append(Shape(v, f, v[:, :2] / uv_scale))
    return merge(parts)


def sphere(radius: float, subdivisions: int = 2, uv_scale: float = 1.0) -> Shape:
    """An icosphere centred at the origin (planar-projected UVs)."""
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    v = np.asarray(m.vertices, float)
    return Shape(v, np.asarray(m.faces, np.int64), v[:, :2] / uv_scale)


def plane(size_x: float, size_y: float, target: float = 0.1, uv_scale: float = 1.0, flip: bool = False) -> Shape:
    """A single-sided rectangle in z=0 centred at the origin, normal +Z (-Z with ``flip``): an open surface."""
    xs = np.linspace(-size_x / 2, size_x / 2, max(1, math.ceil(size_x / target)) + 1)
    ys = np.linspace(-size_y / 2, size_y / 2, max(1, math.ceil(size_y / target)) + 1)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    v = np.stack([X.reshape(-1), Y.reshape(-1), np.zeros(X.size)], 1)
    f = _grid_faces(len(xs) - 1, len(ys) - 1)
    if flip:
        f = f[:, [0, 2, 1]]
    return Shape(v, f, v[:, :2] / uv_scale)


def wall(length: float, height: float, openings=(), target: float = 0.25, uv_scale: float = 1.0) -> Shape:
    """A single-sided vertical wall in the plane y=0 from x=0..length, z=0..height, facing +Y.

    Args:
        openings: rectangles ``(x0, x1, z0, z1)`` cut out of the wall (doors, windows).
    """
    xs = {0.0, length}
    zs = {0.0, height}
    for x0, x1, z0, z1 in openings:
        xs |= {x0, x1}
        zs |= {z0, z1}

    def refine(cuts):
        cuts = sorted(cuts)
        out = [cuts[0]]
        for a, b in itertools.pairwise(cuts):
            n = max(1, math.ceil((b - a) / target))
            out.extend(np.linspace(a, b, n + 1)[1:].tolist())
        return np.array(out)

    X, Z = refine(xs), refine(zs)
    nx, nz = len(X) - 1, len(Z) - 1
    gx, gz = np.meshgrid(X, Z, indexing="ij")
    # Vertex (i, j) at (X[i], 0, Z[j]); seen from +Y, x runs left and z up, so u = z, v = x gives +Y.
    v = np.stack([gx.reshape(-1), np.zeros(gx.size), gz.reshape(-1)], 1)
    cells = []
    for i in range(nx):
        for j in range(nz):
            cx, cz = (X[i] + X[i + 1]) / 2, (Z[j] + Z[j + 1]) / 2
            if any(x0 < cx < x1 and z0 < cz < z1 for x0, x1, z0, z1 in openings):
                continue
            a = i * (nz + 1) + j
            b = a + (nz + 1)
            # x cross z = -y, so wind the other way round to face +Y.
            cells.append([a, b + 1, b])
            cells.append([a, a + 1, b + 1])
    f = np.array(cells, np.int64)
    return Shape(v, f, np.stack([v[:, 0], v[:, 2]], 1) / uv_scale)
