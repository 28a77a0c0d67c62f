"""How anny's 104-bone MakeHuman rig maps onto the 21 SMPL-X body joints (pure data and maths).

anny's default pose parameterisation (``local-ref``) gives each bone a rotation ``D_c`` about its
head, expressed in *world-aligned* axes (the rest frame), relative to its parent. The accumulated
world rotation of a bone is ``G_c = G_parent @ D_c`` and heads follow ``G_parent (h_c - h_parent)``:
exactly the kinematics of SMPL-X, whose local rotations are also in rest-frame (canonical) axes.
Three things still differ, and this module bridges them:

1. **Axes.** SMPL-X's canonical frame is y-up/facing +z; anny's is the world frame (z-up/facing -y):
   ``S = R_WORLD_CANONICAL @ R_smplx @ R_WORLD_CANONICAL.T``.
2. **Rest pose.** anny rests in an A-pose (upper arms ~48 degrees down, elbows bent ~50 degrees
   forward, hands in line with the forearm); SMPL-X rests in a T-pose with straight arms. A fixed
   correction ``A_c`` per arm bone (upper arm, forearm, hand; the smallest rotation that aims the
   bone along +-X) defines anny's T-pose, with accumulated corrections ``Gbar_c = Gbar_p A_c``.
   A SMPL-X-style rotation ``S_c`` relative to the T-pose then corresponds to the anny delta
   ``D_c = Gbar_p^T S_c Gbar_p A_c`` (derivation in ``docs/body.md``), and inversely
   ``S_c = Gbar_p D_c A_c^T Gbar_p^T``. The corrections are computed once, from the default adult;
   for other shapes the zero SMPL-X pose is a T-pose up to a few degrees.
3. **Bone count.** One SMPL-X joint drives one or more anny bones (:data:`JOINT_BONES`): chains
   (``spine2`` = spine03 + spine02, ``neck`` = neck01..03, collar = clavicle + shoulder01) split the
   rotation evenly (each bone turns by ``rotvec / k``, so the chain turns by the full rotation), and
   the ``*_foot`` joint drives the five first toe phalanges together. Every other bone (pelvis.*,
   spine05, the twist bones upperarm02/lowerarm02/upperleg02/lowerleg02, fingers, metacarpals, the
   other toe phalanges, eyes) stays at its rest rotation.

anny's body pose in inhabit is therefore ``(B, 21*3)``: per SMPL-X joint, the axis-angle of ``D_c``
in world axes relative to anny's rest A-pose. The map to SMPL-X rotvecs is a fixed bijection, so
round trips are exact (up to the axis-angle ambiguity at pi).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from inhabit.body.skeleton import POSE_JOINT_NAMES, R_WORLD_CANONICAL
from inhabit.conventions import BODY_JOINT_NAMES

_TOES = ("toe1-1", "toe2-1", "toe3-1", "toe4-1", "toe5-1")


def _sided(side: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    s = "L" if side == "left" else "R"
    return {
        f"{side}_hip": ("chain", (f"upperleg01.{s}",)),
        f"{side}_knee": ("chain", (f"lowerleg01.{s}",)),
        f"{side}_ankle": ("chain", (f"foot.{s}",)),
        f"{side}_foot": ("siblings", tuple(f"{t}.{s}" for t in _TOES)),
        f"{side}_collar": ("chain", (f"clavicle.{s}", f"shoulder01.{s}")),
        f"{side}_shoulder": ("chain", (f"upperarm01.{s}",)),
        f"{side}_elbow": ("chain", (f"lowerarm01.{s}",)),
        f"{side}_wrist": ("chain", (f"wrist.{s}",)),
    }


JOINT_BONES: dict[str, tuple[str, tuple[str, ...]]] = {
    **_sided("left"),
    **_sided("right"),
    "spine1": ("chain", ("spine04",)),
    "spine2": ("chain", ("spine03", "spine02")),
    "spine3": ("chain", ("spine01",)),
    "neck": ("chain", ("neck01", "neck02", "neck03")),
    "head": ("chain", ("head",)),
}
"""SMPL-X joint -> (mode, anny bones it drives). ``chain``: consecutive bones sharing the rotation
evenly; ``siblings``: bones with the same parent, each turned by the full rotation."""

PELVIS_BONE = "root"
"""The pelvis joint is the head of anny's root bone (about 1 cm above the hip-joint line)."""

T_POSE_AIMS: tuple[tuple[str, str, tuple[float, float, float]], ...] = tuple(
    (f"{bone}.{s}", f"{child}.{s}", (sign, 0.0, 0.0))
    for s, sign in (("L", 1.0), ("R", -1.0))
    for bone, child in (("upperarm01", "lowerarm01"), ("lowerarm01", "wrist"), ("wrist", "finger3-1"))
)
"""(bone, marker bone, world direction): the bone is turned so that the segment from its head to the
marker's head points along the direction in the T-pose (arms straight out along +-X)."""


def joint_position_bones(joint: str) -> tuple[str, ...]:
    """anny bones whose rest heads are averaged to give the named SMPL-X joint position."""
    if joint == "pelvis":
        return (PELVIS_BONE,)
    mode, bones = JOINT_BONES[joint]
    return bones if mode == "siblings" else bones[:1]


@dataclass
class AnnyPoseMap:
    """The fixed tensors of the anny <-> SMPL-X pose mapping for one rig.

    Attributes:
        bone_from_joint: (K, 21) float64; bone rotvec = sum_j w_kj * joint rotvec (1/k on chains).
        joint_from_bone: (22, K) float64; named joint position = weighted bone heads.
        pre, post: (21, 3, 3) float64; ``R_smplx = pre @ D @ post`` for each joint.
        linear: (21,) bool; joints for which ``pre @ post == I`` (pure change of axes, so the
            rotvec maps linearly: ``r_smplx = pre @ rotvec(D)``).
        corrections: {bone: (3, 3)} the T-pose corrections ``A_c`` (world axes).
    """

    bone_from_joint: torch.Tensor
    joint_from_bone: torch.Tensor
    pre: torch.Tensor
    post: torch.Tensor
    linear: torch.Tensor
    corrections: dict[str, torch.Tensor]

    @staticmethod
    def build(bone_labels: list[str], bone_parents: list[int], rest_heads: torch.Tensor) -> AnnyPoseMap:
        """Build the mapping from anny's bone labels, parents and (K, 3) rest bone heads (default shape)."""
        from inhabit.body.kinematics import minimal_rotation

        K = len(bone_labels)
        idx = {b: i for i, b in enumerate(bone_labels)}
        if any(p >= i for i, p in enumerate(bone_parents) if i > 0):
            raise ValueError("anny rig: bones are expected in parent-before-child order")
        heads = rest_heads.detach().to(torch.float64).cpu()

        W = torch.zeros(K, len(POSE_JOINT_NAMES), dtype=torch.float64)
        for j, name in enumerate(POSE_JOINT_NAMES):
            mode, bones = JOINT_BONES[name]
            for b in bones:
                W[idx[b], j] = 1.0 / len(bones) if mode == "chain" else 1.0

        J = torch.zeros(len(BODY_JOINT_NAMES), K, dtype=torch.float64)
        for j, name in enumerate(BODY_JOINT_NAMES):
            bones = joint_position_bones(name)
            for b in bones:
                J[j, idx[b]] = 1.0 / len(bones)

        # T-pose corrections A_c and accumulated Gbar_c = Gbar_p A_c (parents come first).
        A = {b: torch.eye(3, dtype=torch.float64) for b in bone_labels}
        Gbar = [torch.eye(3, dtype=torch.float64) for _ in bone_labels]
        aims = {b: (m, torch.tensor(d, dtype=torch.float64)) for b, m, d in T_POSE_AIMS}
        for k, b in enumerate(bone_labels):
            p = bone_parents[k]
            Gp = Gbar[p] if p >= 0 else torch.eye(3, dtype=torch.float64)
            if b in aims:
                marker, target = aims[b]
                A[b] = minimal_rotation(heads[idx[marker]] - heads[k], Gp.T @ target)
            Gbar[k] = Gp @ A[b]

        Rwc = torch.as_tensor(R_WORLD_CANONICAL, dtype=torch.float64)
        pre = torch.empty(len(POSE_JOINT_NAMES), 3, 3, dtype=torch.float64)
        post = torch.empty_like(pre)
        for j, name in enumerate(POSE_JOINT_NAMES):
            mode, bones = JOINT_BONES[name]
            first = idx[bones[0]]
            if len(bones) > 1 and any(not torch.allclose(A[b], torch.eye(3, dtype=torch.float64)) for b in bones):
                raise ValueError(f"anny rig: joint {name} splits over several bones and cannot carry a T-pose correction")
            p = bone_parents[first]
            Gp = Gbar[p]
            pre[j] = Rwc.T @ Gp
            post[j] = A[bones[0]].T @ Gp.T @ Rwc
        linear = ((pre @ post) - torch.eye(3, dtype=torch.float64)).abs().amax(dim=(1, 2)) < 1e-12
        corrections = {b: a for b, a in A.items() if not torch.allclose(a, torch.eye(3, dtype=torch.float64))}
        return AnnyPoseMap(W, J, pre, post, linear, corrections)

    def to(self, device) -> AnnyPoseMap:
        return AnnyPoseMap(
            self.bone_from_joint.to(device), self.joint_from_bone.to(device), self.pre.to(device),
            self.post.to(device), self.linear.to(device), {k: v.to(device) for k, v in self.corrections.items()},
        )

    def to_smplx(self, rotvec_anny: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) anny joint deltas (world axes, rel. to the A-pose) -> (B, 21, 3) SMPL-X rotvecs.

        Computed in float64 and returned in the input dtype; differentiable (roma's log map is
        smooth at the identity). Rotations of angle near pi have an ambiguous axis sign.
        """
        import roma

        dtype = rotvec_anny.dtype
        rv = rotvec_anny.to(torch.float64)
        out = torch.einsum("jxy,bjy->bjx", self.pre, rv)  # linear joints: r = pre @ rho
        nl = (~self.linear).nonzero().flatten()
        if nl.numel():
            D = roma.rotvec_to_rotmat(rv[:, nl])
            R = self.pre[nl] @ D @ self.post[nl]
            out = out.index_copy(1, nl, roma.rotmat_to_rotvec(R))
        return out.to(dtype)

    def from_smplx(self, rotvec_smplx: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) SMPL-X rotvecs -> (B, 21, 3) anny joint deltas; exact inverse of :meth:`to_smplx`."""
        import roma

        dtype = rotvec_smplx.dtype
        rv = rotvec_smplx.to(torch.float64)
        out = torch.einsum("jyx,bjy->bjx", self.pre, rv)  # linear joints: rho = pre^T @ r
        nl = (~self.linear).nonzero().flatten()
        if nl.numel():
            R = roma.rotvec_to_rotmat(rv[:, nl])
            D = self.pre[nl].transpose(1, 2) @ R @ self.post[nl].transpose(1, 2)
            out = out.index_copy(1, nl, roma.rotmat_to_rotvec(D))
        return out.to(dtype)

    def bone_rotvecs(self, rotvec_anny: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) joint deltas -> (B, K, 3) per-bone local-ref rotvecs (zero for fixed bones)."""
        W = self.bone_from_joint.to(rotvec_anny.dtype)
        return torch.einsum("kj,bjc->bkc", W, rotvec_anny)


# ---------------------------------------------------------------------------------------------
# Bones -> body parts and -> SMPL-X's 55 skinned joints (vertex parts, synthetic SMPL-X).

_FINGER_SMPLX = {"1": "thumb", "2": "index", "3": "middle", "4": "ring", "5": "pinky"}


def bone_to_smplx_joint(bone: str) -> str:
    """The SMPL-X joint (of the 55) whose skinning influence an anny bone's influence becomes."""
    base, _, s = bone.partition(".")
    side = {"L": "left", "R": "right"}.get(s, "")
    if base in ("root", "pelvis", "spine05"):
        return "pelvis"
    if base in ("upperleg01", "upperleg02"):
        return f"{side}_hip"
    if base in ("lowerleg01", "lowerleg02"):
        return f"{side}_knee"
    if base == "foot":
        return f"{side}_ankle"
    if base.startswith("toe"):
        return f"{side}_foot"
    if base == "spine04":
        return "spine1"
    if base in ("spine03", "spine02"):
        return "spine2"
    if base == "spine01":
        return "spine3"
    if base.startswith("neck"):
        return "neck"
    if base == "head":
        return "head"
    if base == "eye":
        return f"{side}_eye_smplhf"
    if base in ("clavicle", "shoulder01"):
        return f"{side}_collar"
    if base in ("upperarm01", "upperarm02"):
        return f"{side}_shoulder"
    if base in ("lowerarm01", "lowerarm02"):
        return f"{side}_elbow"
    if base == "wrist" or base.startswith("metacarpal"):
        return f"{side}_wrist"
    if base.startswith("finger"):
        finger, _, phalanx = base[len("finger"):].partition("-")
        return f"{side}_{_FINGER_SMPLX[finger]}{phalanx}"
    raise KeyError(f"anny bone {bone!r} has no SMPL-X counterpart")
