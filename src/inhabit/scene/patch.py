"""The local surface patch around an interaction point, and the surface normal there (GenZI §2).

GenZI takes, on a *subdivided* copy of the scene, the faces with any vertex within 0.15 m of the
point ``p``, splits them into edge-connected components, ignores singletons, and keeps the component
closest to ``p``; the normal is the vertex normal nearest to ``p``. Real scenes have big triangles
(a floor may be two), so here the same patch is built without a pre-subdivided scene:

1. *Candidates*: the scene faces whose closest point is within ``radius`` of ``p`` (exact
   point-triangle distance, so a 10 m floor triangle under ``p`` counts).
2. *Components*: candidates joined by shared edges, after welding vertices by position (1 µm), so
   meshes split at UV seams stay connected. The component holding the face closest to ``p`` is the
   surface ``p`` is on; other surfaces within the radius (a wall behind a bench) are left out.
   Singletons are *not* ignored: an unsubdivided floor triangle is one face.
3. *Orientation*: the faces of that component are oriented consistently by a breadth-first walk
   over shared edges (a shared edge must be traversed in opposite directions), so normals agree even
   where the file's winding does not.
4. *Local refinement*: only the component's faces are bisected at their longest edge, repeatedly,
   while a triangle is within ``radius`` of ``p`` and has an edge longer than ``max_edge``
   (default ``radius / 3``); bisection cuts slivers across their length only. The refined triangles within ``radius`` form the patch. Splitting does
   not change the surface, only its tessellation, so the visible *area* fraction measured on the
   patch does not depend on how the file was meshed.
5. *Normal*: the area-weighted mean of the oriented refined triangle normals within ``max_edge`` of
   the closest point (the analogue of GenZI's nearest vertex normal).
6. *Which side*: when ``p`` is measurably off the surface (farther than ``on_surface_tolerance``,
   mostly along the normal), the normal points towards ``p``: a point above a seat gets an up
   normal, a point inside a closed box gets an inward one (and no outside camera will see that
   side, which is how view selection tells the user). When ``p`` is on the surface, the side is the
   file's winding for now (``side="winding"``) and :func:`inhabit.camera.views.select_views` decides
   by visibility: the side from which cameras see more of the patch is the free side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from inhabit.errors import InputError

_WELD = 1e-6
"""Vertices closer than this (metres, per coordinate) are the same vertex for connectivity."""


@dataclass(frozen=True)
class SurfacePatch:
    """The surface around an interaction point, locally re-meshed.

    ``triangles`` re-mesh the whole connected surface component near the point (they replace the
    scene faces :attr:`replaced_faces`); those within ``radius`` of the point are the patch proper
    (``in_patch``).

    Attributes:
        point: (3,) the interaction point.
        closest_point: (3,) the closest surface point to ``point``.
        distance: distance from ``point`` to the surface (metres).
        normal: (3,) unit surface normal at ``closest_point``, on the side given by ``side``.
        triangles: (T, 3, 3) float64 refined triangles (corner positions), world frame.
        triangle_source: (T,) int64 scene face index each triangle was cut from.
        triangle_normals: (T, 3) unit normals, oriented consistently with ``normal``.
        triangle_areas: (T,) areas in m².
        in_patch: (T,) bool, triangle within ``radius`` of ``point``.
        radius: the patch radius (metres).
        side: how the normal's side was chosen: ``"point"`` (towards an off-surface point),
            ``"winding"`` (the file's winding; undecided) or ``"visibility"`` (by view selection).
    """

    point: np.ndarray
    closest_point: np.ndarray
    distance: float
    normal: np.ndarray
    triangles: np.ndarray
    triangle_source: np.ndarray
    triangle_normals: np.ndarray
    triangle_areas: np.ndarray
    in_patch: np.ndarray
    radius: float
    side: str = "winding"

    @property
    def face_ids(self) -> np.ndarray:
        """(K,) sorted scene face indices that the patch triangles come from."""
        return np.unique(self.triangle_source[self.in_patch])

    @property
    def replaced_faces(self) -> np.ndarray:
        """(K,) sorted scene face indices re-meshed by :attr:`triangles`."""
        return np.unique(self.triangle_source)

    @property
    def area(self) -> float:
        """Total patch area (m²)."""
        return float(self.triangle_areas[self.in_patch].sum())

    @property
    def num_triangles(self) -> int:
        return int(self.in_patch.sum())

    @cached_property
    def centroids(self) -> np.ndarray:
        """(T, 3) triangle centroids."""
        return self.triangles.mean(axis=1)

    @cached_property
    def min_altitudes(self) -> np.ndarray:
        """(T,) smallest altitude of each triangle (m): how thin it is."""
        longest = np.linalg.norm(self.triangles - np.roll(self.triangles, -1, axis=1), axis=2).max(axis=1)
        return 2.0 * self.triangle_areas / np.maximum(longest, 1e-300)

    @cached_property
    def patch_box(self) -> np.ndarray:
        """(8, 3) corners of the axis-aligned box around the patch triangles."""
        t = self.triangles[self.in_patch].reshape(-1, 3)
        lo, hi = t.min(axis=0), t.max(axis=0)
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])

    def flipped(self, side: str = "visibility") -> SurfacePatch:
        """The same patch seen from the other side (normals negated)."""
        return replace(self, normal=-self.normal, triangle_normals=-self.triangle_normals, side=side)

    def with_side(self, side: str) -> SurfacePatch:
        return replace(self, side=side)


# --- geometry helpers (pure numpy) ----------------------------------------------------------------


def triangle_normals_areas(tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (by winding, right-hand rule) and areas of triangles.

    Args:
        tris: (N, 3, 3) corner positions.

    Returns:
        normals (N, 3) (zero for degenerate triangles), areas (N,).
    """
    cr = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    n2 = np.linalg.norm(cr, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = np.where(n2[:, None] > 0, cr / n2[:, None], 0.0)
    return normals, 0.5 * n2


def closest_points_on_triangles(point: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Closest point on each triangle to one query point (Ericson, *Real-Time Collision Detection* §5.1.5).

    Args:
        point: (3,) query point.
        tris: (N, 3, 3) triangles.

    Returns:
        (N, 3) closest points. Degenerate (zero-area) triangles fall back to the closest point of
        their longest edge's segment logic, which Ericson's region tests handle except for exactly
        collinear corners; there the first corner is returned (such faces have no area to matter).
    """
    p = np.asarray(point, dtype=np.float64).reshape(1, 3)
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    ab, ac = b - a, c - a
    ap, bp, cp = p - a, p - b, p - c
    d1 = np.einsum("ij,ij->i", ab, ap)
    d2 = np.einsum("ij,ij->i", ac, ap)
    d3 = np.einsum("ij,ij->i", ab, bp)
    d4 = np.einsum("ij,ij->i", ac, bp)
    d5 = np.einsum("ij,ij->i", ab, cp)
    d6 = np.einsum("ij,ij->i", ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2

    def safe_div(num, den):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.abs(den) > 1e-300, num / np.where(den == 0, 1.0, den), 0.0)

    # Interior first, then the regions in reverse order of Ericson's tests so the first test wins.
    s = va + vb + vc
    v = safe_div(vb, s)
    w = safe_div(vc, s)
    out = a + ab * v[:, None] + ac * w[:, None]
    m = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)  # edge BC
    t = safe_div(d4 - d3, (d4 - d3) + (d5 - d6))
    out = np.where(m[:, None], b + (c - b) * t[:, None], out)
    m = (vb <= 0) & (d2 >= 0) & (d6 <= 0)  # edge AC
    t = safe_div(d2, d2 - d6)
    out = np.where(m[:, None], a + ac * t[:, None], out)
    m = (d6 >= 0) & (d5 <= d6)  # vertex C
    out = np.where(m[:, None], c, out)
    m = (vc <= 0) & (d1 >= 0) & (d3 <= 0)  # edge AB
    t = safe_div(d1, d1 - d3)
    out = np.where(m[:, None], a + ab * t[:, None], out)
    m = (d3 >= 0) & (d4 <= d3)  # vertex B
    out = np.where(m[:, None], b, out)
    m = (d1 <= 0) & (d2 <= 0)  # vertex A
    out = np.where(m[:, None], a, out)
    return out


def point_triangle_distances(point: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(N,) Euclidean distance from ``point`` (3,) to each triangle of ``tris`` (N, 3, 3)."""
    return np.linalg.norm(closest_points_on_triangles(point, tris) - np.asarray(point, np.float64), axis=1)


def bisect_longest_edge(tris: np.ndarray) -> np.ndarray:
    """Split each triangle in 2 at the midpoint of its longest edge, keeping the winding.

    Refinement by longest-edge bisection is anisotropic: a long sliver (a cylinder's side, a
    scanned strip) is cut across its length only, so it yields O(length / max_edge) pieces instead
    of the O((length / max_edge)²) of 1→4 midpoint splits, and the smallest angle of any piece is at
    least half the parent's (Rivara).

    Args:
        tris: (N, 3, 3). Returns (2N, 3, 3); children ``2i, 2i+1`` come from triangle ``i``.
    """
    n = len(tris)
    lengths = np.linalg.norm(tris - np.roll(tris, -1, axis=1), axis=2)  # edge k: corner k -> k+1
    k = np.argmax(lengths, axis=1)
    idx = (k[:, None] + np.arange(3)[None, :]) % 3  # rotate so the longest edge is corner 0 -> 1
    r = tris[np.arange(n)[:, None], idx]
    a, b, c = r[:, 0], r[:, 1], r[:, 2]
    m = 0.5 * (a + b)
    return np.stack([np.stack([a, m, c], 1), np.stack([m, b, c], 1)], 1).reshape(-1, 3, 3)


def refine_near_point(
    tris: np.ndarray, point: np.ndarray, radius: float, max_edge: float, max_levels: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Bisect triangles while they are within ``radius`` of ``point`` and longer than ``max_edge``.

    Only triangles near the point are split (:func:`bisect_longest_edge`), so the cost grows with
    (radius / max_edge)², not with the size of the input triangles: a 10 m floor triangle needs
    ~16 levels of a few dozen splits. The result is not conforming (T-junctions where a split
    triangle meets an unsplit one); that is harmless for area and visibility measurements.

    Args:
        tris: (N, 3, 3) triangles.

    Returns:
        refined (M, 3, 3), parent (M,) index into ``tris``.
    """
    work, parent = np.asarray(tris, dtype=np.float64), np.arange(len(tris))
    done, done_parent = [], []
    for _ in range(max_levels):
        if len(work) == 0:
            break
        d = point_triangle_distances(point, work)
        edges = np.linalg.norm(work - np.roll(work, -1, axis=1), axis=2).max(axis=1)
        split = (d <= radius) & (edges > max_edge)
        done.append(work[~split])
        done_parent.append(parent[~split])
        work = bisect_longest_edge(work[split])
        parent = np.repeat(parent[split], 2)
    done.append(work)
    done_parent.append(parent)
    return np.concatenate(done, axis=0), np.concatenate(done_parent)


def _weld(corners: np.ndarray, tol: float = _WELD) -> np.ndarray:
    """(N, 3, 3) triangle corners -> (N, 3) int ids, equal for corners at the same position."""
    q = np.round(corners.reshape(-1, 3) / tol).astype(np.int64)
    _, inv = np.unique(q, axis=0, return_inverse=True)
    return inv.reshape(-1, 3)


def _edge_adjacency(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of faces sharing an undirected edge.

    Args:
        ids: (N, 3) welded corner ids.

    Returns:
        f, g (P,) face pairs, and same_dir (P,) bool: the shared edge is traversed in the same
        direction by both faces (so one of them must be flipped for a consistent orientation).
    """
    n = len(ids)
    u = ids.reshape(-1)
    v = np.roll(ids, -1, axis=1).reshape(-1)
    face = np.repeat(np.arange(n), 3)
    keep = u != v  # degenerate edges join nothing
    u, v, face = u[keep], v[keep], face[keep]
    lo, hi, fwd = np.minimum(u, v), np.maximum(u, v), u < v
    order = np.lexsort((hi, lo))
    lo, hi, fwd, face = lo[order], hi[order], fwd[order], face[order]
    new = np.ones(len(lo), bool)
    new[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    first = np.maximum.accumulate(np.where(new, np.arange(len(lo)), 0))
    pair = ~new  # every further face on an edge is paired with the first face on that edge
    f, g = face[first[pair]], face[pair]
    same = fwd[first[pair]] == fwd[pair]
    ok = f != g
    return f[ok], g[ok], same[ok]


def _components_and_flips(n: int, f: np.ndarray, g: np.ndarray, same: np.ndarray, root: int):
    """Connected component of ``root`` and a consistent per-face flip (bool) inside it.

    ``f, g, same`` are the adjacency pairs of :func:`_edge_adjacency`. Where two faces share more
    than one edge (coincident duplicates), the first pair decides. Non-orientable or inconsistent
    surfaces get the orientation of the breadth-first spanning tree.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    a, b = np.minimum(f, g), np.maximum(f, g)
    _, first = np.unique(a * n + b, return_index=True)
    a, b, same = a[first], b[first], same[first]
    A = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n)).tocsr()
    order, pred = breadth_first_order(A, root, directed=False, return_predecessors=True)
    flip_rel = dict(zip(zip(a.tolist(), b.tolist()), same.tolist()))
    flip = np.zeros(n, bool)
    for node in order[1:].tolist():  # BFS order: a node's predecessor is already labelled
        p = int(pred[node])
        flip[node] = flip[p] ^ flip_rel[(min(p, node), max(p, node))]
    return order, flip


def _as_arrays(scene) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(scene, tuple | list) and len(scene) == 2:
        return np.asarray(scene[0], np.float64), np.asarray(scene[1], np.int64)
    return np.asarray(scene.vertices, np.float64), np.asarray(scene.faces, np.int64)


def format_point(p: Sequence[float] | np.ndarray) -> str:
    """``(1.00, 2.00, 0.50)`` — how points are named in error messages."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    return "(" + ", ".join(f"{x:.2f}" for x in p) + ")"


def local_surface_patch(
    scene,
    point: Sequence[float] | np.ndarray,
    radius: float = 0.15,
    on_surface_tolerance: float = 0.02,
    max_edge: float | None = None,
) -> SurfacePatch:
    """The surface patch within ``radius`` of ``point`` and its normal (see the module docstring).

    Args:
        scene: a :class:`~inhabit.scene.mesh.SceneMesh` or a ``(vertices (V,3), faces (F,3))`` pair.
        point: (3,) world point.
        radius: patch radius in metres (GenZI: 0.15).
        on_surface_tolerance: a point closer than this to the surface is *on* it (the side of the
            normal is then undecided, ``side="winding"``).
        max_edge: refine until patch triangle edges are at most this long (default ``radius / 3``).

    Raises:
        InputError: the point is not three finite numbers, or no surface lies within ``radius``.
    """
    p = np.asarray(point, dtype=np.float64).reshape(-1)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise InputError(f"the interaction point must be three finite numbers (x, y, z), got {point!r}")
    if not radius > 0:
        raise InputError(f"the patch radius must be positive, got {radius}")
    max_edge = radius / 3.0 if max_edge is None else float(max_edge)
    V, F = _as_arrays(scene)
    if len(F) == 0:
        raise InputError("the scene has no faces, so there is no surface around the interaction point")

    # 1. candidate faces: bounding-box prefilter, then exact distance.
    tri = V[F]
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    box_d = np.linalg.norm(np.maximum(0.0, np.maximum(lo - p, p - hi)), axis=1)
    near = np.flatnonzero(box_d <= radius)
    if len(near) == 0:
        d_all = point_triangle_distances(p, tri)
        raise InputError(
            f"no scene surface within {radius:g} m of point {format_point(p)} (the nearest is "
            f"{d_all.min():.2f} m away): pick a point on the surface the person touches"
        )
    q_near = closest_points_on_triangles(p, tri[near])
    d_near = np.linalg.norm(q_near - p, axis=1)
    inside = d_near <= radius
    if not inside.any():
        raise InputError(
            f"no scene surface within {radius:g} m of point {format_point(p)} (the nearest is "
            f"{d_near.min():.2f} m away): pick a point on the surface the person touches"
        )
    cand = near[inside]
    cand_d = d_near[inside]
    # Degenerate faces carry no surface; coincident duplicates (double-sided exports repeat each
    # face with the opposite winding) would cancel each other's normal: keep the first copy.
    ids = _weld(tri[cand])
    key = np.sort(ids, axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    keep = np.zeros(len(cand), bool)
    keep[first] = True
    keep &= (key[:, 0] != key[:, 1]) & (key[:, 1] != key[:, 2])
    keep &= triangle_normals_areas(tri[cand])[1] > 0
    if not keep.any():
        raise InputError(f"the scene faces within {radius:g} m of point {format_point(p)} are all degenerate (zero area)")
    cand, cand_d, ids = cand[keep], cand_d[keep], ids[keep]
    cand_tri = tri[cand]
    root = int(np.argmin(cand_d))

    # 2.-3. edge-connected component of the closest face, consistently oriented.
    f, g, same = _edge_adjacency(ids)
    members, flip = _components_and_flips(len(cand), f, g, same, root)
    members = np.sort(members)
    comp_tri = cand_tri[members].copy()
    flipped = flip[members]
    comp_tri[flipped] = comp_tri[flipped][:, [0, 2, 1]]  # reversing the winding flips the normal

    # 4. local refinement of that component.
    tris, parent = refine_near_point(comp_tri, p, radius, max_edge)
    normals, areas = triangle_normals_areas(tris)
    q_all = closest_points_on_triangles(p, tris)
    d_all = np.linalg.norm(q_all - p, axis=1)
    in_patch = (d_all <= radius) & (areas > 0)
    k = int(np.argmin(np.where(areas > 0, d_all, np.inf)))
    closest, distance = q_all[k], float(d_all[k])

    # 5. normal: area-weighted near the closest point.
    near_q = np.linalg.norm(tris.mean(axis=1) - closest, axis=1) <= max_edge
    near_q |= d_all <= distance + 1e-9
    n = (normals[near_q] * areas[near_q, None]).sum(axis=0)
    nn = np.linalg.norm(n)
    n = n / nn if nn > 1e-12 else normals[k]

    # 6. side: towards an off-surface point, else the winding (decided later by visibility).
    side = "winding"
    if distance > on_surface_tolerance:
        s = float(np.dot(n, p - closest)) / distance
        if abs(s) >= 0.5:
            side = "point"
            if s < 0:
                n, normals = -n, -normals
    return SurfacePatch(
        point=p,
        closest_point=closest,
        distance=distance,
        normal=n,
        triangles=tris,
        triangle_source=cand[members][parent].astype(np.int64),
        triangle_normals=normals,
        triangle_areas=areas,
        in_patch=in_patch,
        radius=float(radius),
        side=side,
    )
