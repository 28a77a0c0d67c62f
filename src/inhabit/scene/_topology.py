"""Mesh topology for the signed distance: welding, connected components, solids versus shells.

Real scene assets mix closed objects (a chair modelled as boxes), single-sided sheets (a floor
plane, a wall quad, a scanned room) and inward-facing shells (a room box, a sky dome). A single
generalized winding number over the whole mesh is *additive*: an inward-facing room shell
subtracts about 0.6 from the winding number inside every piece of furniture, which then drops
below the 0.5 threshold and reads "outside". So the signed distance splits the mesh once, here,
into

* **solids**: connected components that are closed or nearly closed (holes allowed) and
  positively oriented. Their union's generalized winding number gives the sign (robust to
  holes, self-intersections and interpenetrating parts).
* **shells**: everything else (open sheets, inverted closed shells). A point is inside a shell
  when it lies *behind* the shell's nearest face, within the shell's extent (its closest point
  is not on a boundary edge) -- the PROX/GenZI convention "negative = inside or behind the
  surface". Faces that come in coincident opposite pairs (double-sided sheets) have no back.

Everything here is plain numpy on ``(V,3)``/``(F,3)`` arrays and runs once per mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPENNESS_MAX_SOLID = 0.5
"""A component is a solid when ``|sum of vector areas| / area`` is below this (0 closed, 1 flat)."""

# Per-face flag bits of shell faces (see :class:`MeshSplit`).
EDGE_BOUNDARY_BITS = (1, 2, 4)
"""Bit k set: the edge *opposite* vertex k lies on the shell's open boundary."""
VERTEX_BOUNDARY_BITS = (8, 16, 32)
"""Bit k set: vertex k lies on the shell's open boundary."""
TWO_SIDED_BIT = 64
"""The face has a coincident face of opposite orientation: it has no back side."""


def weld_vertices(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices with bit-identical coordinates (seams of UV or colour splits).

    Args:
        vertices: (V, 3) float.
        faces: (F, 3) int.

    Returns:
        ``(vertices_welded (V', 3) float32, faces_welded (F, 3) int32)``; face order is kept.
    """
    v = np.ascontiguousarray(vertices, dtype=np.float32)
    uniq, inverse = np.unique(v, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)[np.asarray(faces, dtype=np.int64)].astype(np.int32)


def drop_degenerate_faces(vertices: np.ndarray, faces: np.ndarray, rel_eps: float = 1e-6) -> np.ndarray:
    """Boolean mask (F,) of faces to keep: no repeated vertex, not a sliver.

    A face is a sliver when ``|e0 x e1| / (|e0|^2 + |e1|^2 + |e2|^2) < rel_eps`` -- the same
    scale-free test warp uses to skip faces in its closest-point queries, so a face dropped here
    is one no query would ever return.
    """
    f = np.asarray(faces)
    v = np.asarray(vertices, dtype=np.float64)
    distinct = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    e0, e1, e2 = b - a, c - a, c - b
    cross = np.linalg.norm(np.cross(e0, e1), axis=1)
    denom = (e0 * e0).sum(1) + (e1 * e1).sum(1) + (e2 * e2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(denom > 0, cross / np.where(denom > 0, denom, 1.0), 0.0)
    return distinct & (ratio >= rel_eps)


def connected_components(num_vertices: int, faces: np.ndarray) -> np.ndarray:
    """(F,) int component label of each face; faces sharing a vertex are connected."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as cc

    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return np.zeros(0, np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1]])
    cols = np.concatenate([f[:, 1], f[:, 2]])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(num_vertices, num_vertices))
    _, labels = cc(graph, directed=False)
    # Relabel 0..K-1 over the components that hold faces (unused vertices are not components).
    return np.unique(labels[f[:, 0]], return_inverse=True)[1].reshape(-1)


@dataclass(frozen=True)
class ComponentStats:
    """Per connected component: area, openness (0 closed .. 1 flat sheet), signed volume."""

    area: np.ndarray
    openness: np.ndarray
    volume: np.ndarray


def component_stats(vertices: np.ndarray, faces: np.ndarray, labels: np.ndarray) -> ComponentStats:
    """Area, openness ``|sum n_f A_f| / sum A_f`` and signed volume of each component.

    The signed volume is taken about each component's area-weighted centroid, so it is exact for a
    closed surface and a reasonable orientation score for an almost closed one.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n = int(labels.max()) + 1 if len(labels) else 0
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(b - a, c - a)  # 2 * vector area
    area = 0.5 * np.linalg.norm(cross, axis=1)
    comp_area = np.bincount(labels, weights=area, minlength=n)
    vec_area = np.stack([np.bincount(labels, weights=0.5 * cross[:, k], minlength=n) for k in range(3)], 1)
    centroid_f = (a + b + c) / 3.0
    safe = np.where(comp_area > 0, comp_area, 1.0)
    centroid = np.stack([np.bincount(labels, weights=area * centroid_f[:, k], minlength=n) for k in range(3)], 1)
    centroid /= safe[:, None]
    o = centroid[labels]
    det = np.einsum("ij,ij->i", a - o, np.cross(b - o, c - o))
    volume = np.bincount(labels, weights=det / 6.0, minlength=n)
    openness = np.linalg.norm(vec_area, axis=1) / safe
    return ComponentStats(comp_area, openness, volume)


def _shell_face_flags(faces: np.ndarray) -> np.ndarray:
    """(F,) int32 boundary / two-sided flag bits of a (welded) face set."""
    f = np.asarray(faces, dtype=np.int64)
    nf = len(f)
    flags = np.zeros(nf, np.int32)
    if nf == 0:
        return flags
    # Edge k is opposite vertex k: (v1, v2), (v2, v0), (v0, v1).
    ea = np.stack([f[:, 1], f[:, 2], f[:, 0]], 1).reshape(-1)
    eb = np.stack([f[:, 2], f[:, 0], f[:, 1]], 1).reshape(-1)
    key = np.stack([np.minimum(ea, eb), np.maximum(ea, eb)], 1)
    _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    boundary = (counts[inv.reshape(-1)] == 1).reshape(nf, 3)
    for k in range(3):
        flags |= np.where(boundary[:, k], EDGE_BOUNDARY_BITS[k], 0).astype(np.int32)
    # A vertex is on the boundary when it touches a boundary edge.
    on_b = np.zeros(int(f.max()) + 1, bool)
    on_b[ea.reshape(nf, 3)[boundary]] = True
    on_b[eb.reshape(nf, 3)[boundary]] = True
    for k in range(3):
        flags |= np.where(on_b[f[:, k]], VERTEX_BOUNDARY_BITS[k], 0).astype(np.int32)
    # Coincident opposite faces: same vertex set, opposite cyclic order.
    srt = np.sort(f, axis=1)
    _, inv_t, counts_t = np.unique(srt, axis=0, return_inverse=True, return_counts=True)
    dup = counts_t[inv_t.reshape(-1)] > 1
    if dup.any():
        # Canonical cyclic order: rotate so the smallest index is first; orientation = order of the rest.
        idx = np.argmin(f, axis=1)
        rolled = np.stack([f[np.arange(nf), (idx + k) % 3] for k in range(3)], 1)
        orient = rolled[:, 1] < rolled[:, 2]
        groups = inv_t.reshape(-1)
        has_pos = np.zeros(len(counts_t), bool)
        has_neg = np.zeros(len(counts_t), bool)
        np.logical_or.at(has_pos, groups, orient)
        np.logical_or.at(has_neg, groups, ~orient)
        two = dup & has_pos[groups] & has_neg[groups]
        flags |= np.where(two, TWO_SIDED_BIT, 0).astype(np.int32)
    return flags


@dataclass(frozen=True)
class MeshSplit:
    """A mesh split into its solid and shell parts (welded, degenerate faces removed).

    Attributes:
        solid_vertices: (Vs, 3) float32; solid_faces: (Fs, 3) int32.
        shell_vertices: (Vh, 3) float32; shell_faces: (Fh, 3) int32.
        shell_flags: (Fh,) int32 flag bits per shell face (boundary edges/vertices, two-sided).
        num_components, num_solid_components: counts, for reports.
    """

    solid_vertices: np.ndarray
    solid_faces: np.ndarray
    shell_vertices: np.ndarray
    shell_faces: np.ndarray
    shell_flags: np.ndarray
    num_components: int
    num_solid_components: int


def _compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used, inv = np.unique(faces.reshape(-1), return_inverse=True)
    return np.ascontiguousarray(vertices[used], np.float32), inv.reshape(-1, 3).astype(np.int32)


def split_solids_shells(vertices: np.ndarray, faces: np.ndarray, mode: str = "scene") -> MeshSplit:
    """Weld, drop degenerate faces and split into solids and shells.

    Args:
        vertices: (V, 3) float; faces: (F, 3) int.
        mode: ``"scene"`` (solids + shells as described in the module docstring) or
            ``"winding"`` (everything is a solid: plain generalized winding number, as libigl).
    """
    if mode not in ("scene", "winding"):
        raise ValueError(f"sign mode must be 'scene' or 'winding', got {mode!r}")
    vw, fw = weld_vertices(vertices, faces)
    fw = fw[drop_degenerate_faces(vw, fw)]
    empty_v, empty_f = np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    if len(fw) == 0:
        return MeshSplit(empty_v, empty_f, empty_v, empty_f, np.zeros(0, np.int32), 0, 0)
    labels = connected_components(len(vw), fw)
    ncomp = int(labels.max()) + 1 if len(labels) else 0
    if mode == "winding":
        is_solid = np.ones(ncomp, bool)
    else:
        st = component_stats(vw, fw, labels)
        scale = np.maximum(st.area, 1e-30) ** 1.5
        is_solid = (st.openness < OPENNESS_MAX_SOLID) & (st.volume > 1e-6 * scale)
    solid_mask = is_solid[labels]
    sv, sf = _compact(vw, fw[solid_mask]) if solid_mask.any() else (empty_v, empty_f)
    hv, hf = _compact(vw, fw[~solid_mask]) if (~solid_mask).any() else (empty_v, empty_f)
    return MeshSplit(sv, sf, hv, hf, _shell_face_flags(hf), ncomp, int(is_solid.sum()))
