"""Exact fast evaluation of the anny body on a vertex subset, for the lifting loop.

The fit needs, per step, the 23 keypoints and the 22 joints (2D terms) and only *some* vertices
(a subset for the SDF, another for the self-penetration proxy). anny's full forward skins all
13,718 vertices, adds 136 blendshapes to all of them and regresses the keypoints from all of them:
~20 ms forward+backward at batch 1 on one CPU core, so 1,600 steps would take half a minute.

Two exact rewrites, both linear algebra on anny's own tensors:

* **Keypoints through skinning.** A keypoint is a fixed linear combination of vertices,
  k = Σ_v R_kv v_v, and each skinned vertex is v_v = Σ_b W_vb T_b [r_v; 1] with rest vertex
  r_v = t_v + Σ_a c_a S_av (template t, blendshapes S, coefficients c). So
  k = Σ_b T_b P_kb(c) with P_kb(c) = Σ_v R_kv W_vb [r_v; 1] — and P is linear in c:
  P_kb(c) = P⁰_kb + Σ_a c_a Pᵃ_kb, precomputed once (23 × 73 bones × 136 shapes). Per step the
  keypoints cost 23 × 73 small 3×4 products instead of skinning 13,718 vertices.
* **Vertex subsets.** Rest vertices, blendshapes and skinning weights are gathered once per
  subset, so only those vertices are shaped and skinned (dense torch skinning for small subsets,
  anny's warp kernel for the whole mesh).
* **Frozen shape.** While the shape does not require a gradient (a fit that frees it only in later
  phases), everything that depends on it alone — anny's phenotype interpolation, the rest-pose
  Procrustes, the keypoint blocks P(c) — is computed once and reused.

Bones, rest orientations (``bone_orientation == "cached"``), forward kinematics and joints are
computed exactly as anny and :class:`inhabit.body.anny_model.AnnyBody` compute them. The results
equal the full forward to float32 round-off (tested); any other backend, or an anny configured
differently, falls back to the full forward (``make_subset_forward`` returns None).

This adapter reads AnnyBody's private mapping tensors; it belongs in the body backend as
``AnnyBody.forward_subset`` and is used from there when the backend provides one.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch

from inhabit.body.protocol import BodyOutput, BodyParams

SubsetForward = Callable[[BodyParams, torch.Tensor], BodyOutput]


class AnnySubsetForward:
    """``(params, vertex_ids) -> BodyOutput`` with vertices only at ``vertex_ids`` (see module doc).

    Args:
        body: an :class:`inhabit.body.anny_model.AnnyBody`.
    """

    def __init__(self, body) -> None:
        from anny.skinning import skinning

        # A weak reference: the per-body cache (make_subset_forward) must not keep the body alive.
        self._body = weakref.ref(body)
        core = body.core
        self.core = core
        self._skinning = skinning
        dt, dev = body.dtype, body.device
        nb = core.bone_count
        W = skinning.dense_bone_weights(core.vertex_bone_weights.to(torch.float64),
                                        core.vertex_bone_indices, nb)  # (V, nb)
        R = body._keypoint_weights.to(torch.float64)  # (23, V)
        t = core.template_vertices.to(torch.float64)
        S = core.blendshapes.to(torch.float64)  # (A, V, 3)
        K, A = R.shape[0], S.shape[0]
        P0 = torch.zeros(K, nb, 4, dtype=torch.float64, device=t.device)
        PA = torch.zeros(A, K, nb, 3, dtype=torch.float64, device=t.device)
        for k in range(K):
            sup = R[k].nonzero().flatten()
            RW = R[k, sup, None] * W[sup]  # (s, nb)
            P0[k, :, :3] = RW.T @ t[sup]
            P0[k, :, 3] = RW.sum(0)
            PA[:, k] = torch.einsum("sb,asc->abc", RW, S[:, sup])
        used = (P0[..., 3].abs() > 0).any(dim=0).nonzero().flatten()
        self._kp_bones = used.to(dev)
        self._P0 = P0[:, used].to(dev, dt)  # (23, nb', 4)
        self._PA = PA[:, :, used].to(dev, dt)  # (A, 23, nb', 3)
        self._subset_cache: dict[tuple, tuple[torch.Tensor, ...]] = {}
        self._shape_cache: tuple[torch.Tensor, tuple] | None = None

    @property
    def body(self):
        body = self._body()
        if body is None:
            raise RuntimeError("the body model of this fast path no longer exists")
        return body

    @staticmethod
    def supports(body) -> bool:
        """True for an AnnyBody whose core uses the cached rest orientations and no extra inputs."""
        core = getattr(body, "core", None)
        needed = ("_free_from_joint", "_free_bones", "_homogeneous_one", "_phenotype_tensor", "_joint_from_bone",
                  "_keypoint_weights")
        if not (getattr(body, "name", None) == "anny" and core is not None
                and getattr(core, "bone_orientation", None) == "cached" and all(hasattr(body, n) for n in needed)):
            return False
        # The keypoint rewrite needs *linear* blend skinning (not anny's dual-quaternion option).
        name = getattr(getattr(core, "_skinning_method", None), "__name__", "")
        return name in ("linear_blend_skinning", "dense_linear_blend_skinning")

    def _subset(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rest template (n, 3), blendshapes (A, n, 3), and either dense skinning weights (n, nb)
        (small subsets) or sparse weights and bone indices (n, 9) (large ones), gathered once per
        distinct ``ids`` (compared by value)."""
        key = (int(ids.numel()), int(ids.sum()) if ids.numel() else 0, ids.device.type)
        hit = self._subset_cache.get(key)
        if hit is not None and (hit[0] is ids or torch.equal(hit[0], ids)):
            return hit[1:]
        core = self.core
        w, b = core.vertex_bone_weights[ids].contiguous(), core.vertex_bone_indices[ids].contiguous()
        skin = (self._skinning.dense_bone_weights(w, b, core.bone_count), None) if not self._use_warp(len(ids)) \
            else (w, b)
        entry = (core.template_vertices[ids].contiguous(), core.blendshapes[:, ids].contiguous(), *skin)
        if len(self._subset_cache) > 8:
            self._subset_cache.clear()
        self._subset_cache[key] = (ids, *entry)
        return entry

    def _use_warp(self, n: int) -> bool:
        """Skin ``n`` vertices with anny's warp kernel (when the core has it) rather than dense torch:
        measured on one CPU core, dense is faster up to a few thousand vertices (0.65 vs 1.3 ms
        forward+backward at 2,048), warp for the whole mesh (2.7 vs 3.5 ms at 13,718)."""
        return n > 4096 and getattr(self.core._skinning_method, "__module__", "").endswith("warp_skinning")

    def shape_state(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Everything that depends on the shape only: blendshape coefficients c (B, A), rest bone
        poses (B, nb, 4, 4) and the keypoint blocks P(c) (B, 23, nb', 4).

        Recomputed on every call when ``shape`` requires a gradient; reused while the same frozen
        shape comes back (the fit freezes it in early phases), which skips anny's phenotype
        interpolation, the rest-pose Procrustes and the keypoint blendshape product.
        """
        import roma

        frozen = not shape.requires_grad
        if frozen and self._shape_cache is not None and torch.equal(self._shape_cache[0], shape):
            return self._shape_cache[1]
        body, core = self.body, self.core
        _, phen, local, facial = core.get_tensor_inputs(None, body._phenotype_tensor(shape), None, None)
        c = core._get_phenotype_blendshape_coefficients(phen, local, facial)
        heads = self._skinning.apply_linear_blendshape(core.template_bone_heads, core.bone_heads_blendshapes, c)
        M = core.bone_template_orientation_matrices[None] + torch.einsum(
            "ba,akij->bkij", c, core.bone_orientation_blendshapes)
        R_rest = roma.special_procrustes(M)
        if core.rest_orientation_refiner is not None:
            R_rest = core.rest_orientation_refiner(R_rest, heads)
        rest_poses = roma.Rigid(linear=R_rest, translation=heads).to_homogeneous()
        if core.root_identity_orientation:
            rest_poses[:, 0, :3, :3] = torch.eye(3, dtype=rest_poses.dtype, device=rest_poses.device)
        B = c.shape[0]
        P = self._P0[None, ..., :3] + torch.einsum("ba,aknc->bknc", c, self._PA)
        P = torch.cat([P, self._P0[None, ..., 3:].expand(B, -1, -1, -1)], dim=-1)
        state = (c, rest_poses, P)
        self._shape_cache = (shape.detach().clone(), state) if frozen else None
        return state

    def bones(self, params: BodyParams, rest_poses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Bone transforms (B, nb, 4, 4) and bone poses (B, nb, 4, 4) in the body frame (pelvis at the
        origin), exactly as anny's forward."""
        import roma

        body, core = self.body, self.core
        B = params.batch_size
        rho = params.body_pose.reshape(B, -1, 3)
        bone_rv = torch.einsum("kj,bjc->bkc", body._free_from_joint, rho)
        R_bones = torch.eye(3, dtype=body.dtype, device=body.device).repeat(B, core.bone_count, 1, 1)
        R_bones = R_bones.index_copy(1, body._free_bones, roma.rotvec_to_rotmat(bone_rv))
        deltas = torch.nn.functional.pad(R_bones, (0, 1, 0, 1)) + body._homogeneous_one
        return core.get_bone_transforms(deltas, rest_poses.expand(B, -1, -1, -1))

    def __call__(self, params: BodyParams, vertex_ids: torch.Tensor) -> BodyOutput:
        from inhabit.body.kinematics import place_local_points
        from inhabit.rotations import rotation6d_to_rotmat

        body = self.body
        c, rest_poses, P = self.shape_state(params.shape)
        transforms, poses = self.bones(params, rest_poses)
        B = transforms.shape[0]
        # Keypoints: Σ_b T_b P_kb(c).
        T = transforms[:, self._kp_bones, :3, :]  # (B, nb', 3, 4)
        keypoints = torch.einsum("bnij,bknj->bki", T, P.expand(B, -1, -1, -1))
        joints = torch.einsum("jk,bkc->bjc", body._joint_from_bone, poses[..., :3, 3])
        if vertex_ids.numel() > 0:
            t, S, w, idx = self._subset(vertex_ids)
            rest = t[None] + torch.einsum("cpd,bc->bpd", S, c)
            if idx is None:  # dense weights: one matrix product, fastest for a few thousand vertices
                verts = self._skinning.dense_linear_blend_skinning(rest, w, transforms)
            else:  # anny's warp kernel: fastest for the whole mesh despite ~1 ms per launch
                verts = self.core._skinning_method(rest.expand(B, -1, -1).contiguous(), w.unsqueeze(0),
                                                   idx.unsqueeze(0), transforms)
        else:
            verts = transforms.new_zeros(B, 0, 3)
        R = rotation6d_to_rotmat(params.global_orient)
        return BodyOutput(
            vertices=place_local_points(verts, R, params.transl),
            joints=place_local_points(joints, R, params.transl),
            keypoints=place_local_points(keypoints, R, params.transl),
            faces=body.faces,
        )


def sparse_linear_blend_skinning(rest: torch.Tensor, weights: torch.Tensor, bone_ids: torch.Tensor,
                                 transforms: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning with a few bones per vertex, in plain torch: the readable reference
    of what anny's warp kernel and the dense product compute (tests compare them).

    Args:
        rest: (B, n, 3) rest vertices; weights: (n, m) skinning weights (rows sum to 1);
        bone_ids: (n, m) long bone of each weight; transforms: (B, nb, 4, 4) bone transforms.

    Returns:
        (B, n, 3) Σ_i w_i (T_{b_i} [r; 1]).
    """
    blend = (weights[None, :, :, None, None] * transforms[:, bone_ids, :3, :]).sum(dim=2)  # (B, n, 3, 4)
    return (blend[..., :3] @ rest.unsqueeze(-1)).squeeze(-1) + blend[..., 3]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def make_subset_forward(body) -> SubsetForward | None:
    """The fastest exact ``forward_subset`` for ``body``: its own method, the anny adapter (built
    once per body, dropped with it), or None."""
    own = getattr(body, "forward_subset", None)
    if own is not None:
        return own
    try:
        return _CACHE[body]
    except KeyError:
        fast = AnnySubsetForward(body) if AnnySubsetForward.supports(body) else None
        _CACHE[body] = fast
        return fast
    except TypeError:  # not weak-referenceable / hashable: no caching
        return AnnySubsetForward(body) if AnnySubsetForward.supports(body) else None
