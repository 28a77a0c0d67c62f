"""A cheap self-penetration proxy: body vertices inside capsules of non-adjacent body parts.

GenZI uses torch-mesh-isect (a CUDA BVH over all triangles plus a distance-field penalty), in the
refinement fit only. That has no CPU build, so inhabit approximates every body part of
:func:`inhabit.body.parts.vertex_parts` (head, neck, torso, upper arms, forearms, hands, thighs,
shins, feet) by one capsule and penalises vertices that enter the capsule of a part that is
neither their own nor adjacent to it:

    E_self = (1/N) Σ_v Σ_{q allowed for part(v)} max(0, r_q − d(v, segment_q))        [metres]

* A part's segment ends are the mean posed positions of two fixed vertex groups, its 10 % of
  vertices lowest and highest along the part's principal axis in the rest pose; they follow the
  skinning exactly, for any backend that labels its vertices.
* The radius r_q is the *median* distance of the part's rest vertices to its rest segment, so the
  capsule sits inside the flesh: touching (a hand on a thigh) is free, sinking in costs.
* Parts joined at a joint (:data:`inhabit.body.parts.PART_ADJACENCY`) never penalise each other
  (that is skin folding), nor do head and torso (the chin rests above the chest's capsule cap).
* N test vertices (farthest-point sampled in the rest pose) keep it at N × 15 distances per step.

Limits: capsules fit limbs well and the torso poorly (it is flat, so its capsule is too thin at
the sides and too thick front to back); crossing legs, knees into each other, hands or feet into
the torso or the other leg are caught, a shallow arm-into-chest contact is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

EXTRA_EXCLUDED: tuple[tuple[str, str], ...] = (("head", "torso"),)
"""Part pairs that are not adjacent but whose capsules meet in the rest pose."""


def farthest_point_subset(points: np.ndarray, n: int, start: int = 0) -> np.ndarray:
    """Indices of ``n`` points chosen greedily farthest from those already chosen (deterministic).

    Args:
        points: (V, 3); n: how many (all of them when n ≥ V).

    Returns:
        (min(n, V),) int64 indices, sorted.
    """
    pts = np.asarray(points, dtype=np.float64)
    V = len(pts)
    if n >= V:
        return np.arange(V, dtype=np.int64)
    chosen = np.empty(n, dtype=np.int64)
    chosen[0] = start
    d = np.linalg.norm(pts - pts[start], axis=1)
    for i in range(1, n):
        j = int(np.argmax(d))
        chosen[i] = j
        d = np.minimum(d, np.linalg.norm(pts - pts[j], axis=1))
    return np.sort(chosen)


def point_segment_distance(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance from points to segments [a, b].

    Args:
        p: (B, N, 3); a, b: (B, M, 3) segment ends.

    Returns:
        (B, N, M). A degenerate segment (a = b) gives the distance to a.
    """
    ab = b - a  # (B, M, 3)
    ap = p.unsqueeze(2) - a.unsqueeze(1)  # (B, N, M, 3)
    denom = (ab * ab).sum(-1).clamp_min(1e-12).unsqueeze(1)  # (B, 1, M)
    t = ((ap * ab.unsqueeze(1)).sum(-1) / denom).clamp(0.0, 1.0)
    closest = ap - t.unsqueeze(-1) * ab.unsqueeze(1)
    # The epsilon keeps the gradient finite for a vertex exactly on the axis.
    return (closest.square().sum(-1) + 1e-12).sqrt()


@dataclass(frozen=True)
class CapsuleProxy:
    """The capsule model of one body backend.

    Attributes:
        vertex_ids: (N + E,) body vertices the energy needs: N test vertices, then E end-group ones.
        num_test: N.
        test_part: (N,) capsule index of each test vertex.
        end_weights: (2M, E) averaging matrix: rows 0..M−1 give ends a, rows M..2M−1 ends b.
        radius: (M,) capsule radii, metres.
        allowed: (M, M) bool; allowed[p, q]: a vertex of part p is penalised inside capsule q.
        part_names: (M,) names of the capsules' parts.
    """

    vertex_ids: torch.Tensor
    num_test: int
    test_part: torch.Tensor
    end_weights: torch.Tensor
    radius: torch.Tensor
    allowed: torch.Tensor
    part_names: tuple[str, ...]


def build_capsule_proxy(rest_vertices: np.ndarray, labels: np.ndarray, part_names: tuple[str, ...],
                        adjacency: tuple[tuple[str, str], ...], num_vertices: int = 2048,
                        end_fraction: float = 0.1) -> CapsuleProxy:
    """Fit one capsule per labelled part of a body in its rest pose.

    Args:
        rest_vertices: (V, 3) one body's vertices; labels: (V,) part index into ``part_names``.
        adjacency: part-name pairs that never penalise each other (plus :data:`EXTRA_EXCLUDED`).
        num_vertices: N test vertices.
        end_fraction: fraction of a part's vertices in each end group.

    Returns:
        A :class:`CapsuleProxy` over the parts that have vertices.
    """
    X = np.asarray(rest_vertices, dtype=np.float64)
    lab = np.asarray(labels).astype(np.int64)
    present = [int(p) for p in np.unique(lab)]
    names = tuple(part_names[p] for p in present)
    M = len(present)
    ends_a, ends_b, radius = [], [], []
    for p in present:
        ids = np.flatnonzero(lab == p)
        P = X[ids]
        c = P.mean(axis=0)
        _, _, vt = np.linalg.svd(P - c, full_matrices=False)
        proj = (P - c) @ vt[0]
        lo, hi = np.quantile(proj, end_fraction), np.quantile(proj, 1.0 - end_fraction)
        ga, gb = ids[proj <= lo], ids[proj >= hi]
        a, b = X[ga].mean(axis=0), X[gb].mean(axis=0)
        d = point_segment_distance(torch.as_tensor(P)[None], torch.as_tensor(a)[None, None],
                                   torch.as_tensor(b)[None, None])[0, :, 0]
        ends_a.append(ga)
        ends_b.append(gb)
        radius.append(float(d.median()))
    groups = ends_a + ends_b
    end_ids = np.concatenate(groups)
    Wt = np.zeros((2 * M, len(end_ids)))
    col = 0
    for r, g in enumerate(groups):
        Wt[r, col:col + len(g)] = 1.0 / len(g)
        col += len(g)
    test = farthest_point_subset(X, num_vertices)
    index = {n: i for i, n in enumerate(names)}
    allowed = np.ones((M, M), dtype=bool)
    np.fill_diagonal(allowed, False)
    for a_name, b_name in (*adjacency, *EXTRA_EXCLUDED):
        if a_name in index and b_name in index:
            allowed[index[a_name], index[b_name]] = allowed[index[b_name], index[a_name]] = False
    part_of = {p: i for i, p in enumerate(present)}
    return CapsuleProxy(
        vertex_ids=torch.as_tensor(np.concatenate([test, end_ids]), dtype=torch.long),
        num_test=len(test),
        test_part=torch.as_tensor([part_of[int(v)] for v in lab[test]], dtype=torch.long),
        end_weights=torch.as_tensor(Wt, dtype=torch.float32),
        radius=torch.as_tensor(radius, dtype=torch.float32),
        allowed=torch.as_tensor(allowed),
        part_names=names,
    )


def capsule_self_penetration(vertices: torch.Tensor, proxy: CapsuleProxy) -> torch.Tensor:
    """Mean summed depth of test vertices inside non-adjacent capsules (see the module docstring).

    Args:
        vertices: (B, N + E, 3) the posed body at ``proxy.vertex_ids``.
        proxy: from :func:`build_capsule_proxy` on the same backend.

    Returns:
        (B,) metres.
    """
    dev, dt = vertices.device, vertices.dtype
    n = proxy.num_test
    test, ends = vertices[:, :n], vertices[:, n:]
    M = proxy.radius.shape[0]
    seg = torch.einsum("me,bec->bmc", proxy.end_weights.to(dev, dt), ends)
    d = point_segment_distance(test, seg[:, :M], seg[:, M:])  # (B, N, M)
    depth = (proxy.radius.to(dev, dt) - d).clamp_min(0.0)
    mask = proxy.allowed.to(dev)[proxy.test_part.to(dev)].to(dt)  # (N, M)
    return (depth * mask).sum(dim=(1, 2)) / n
