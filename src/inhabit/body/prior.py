"""Pose and shape priors. A :class:`PosePrior` owns the pose *latent* an optimiser updates.

* :class:`AnglePrior` (default; no learned weights, every backend): the latent is the body pose
  itself; its energy is GenZI's joint-angle prior (:func:`genzi_angle_prior`) plus joint-limit
  penalties (:func:`joint_limit_energy`) plus an optional L2 pull to an initial pose, all evaluated
  on SMPL-X-equivalent rotvecs (``model.body_pose_to_smplx_rotvec``).
* :class:`VPoserPrior` (user weights): the latent is VPoser's 32-D code; energy ``mean(z**2)``.
* :func:`shape_prior`: GenZI's ``mean((alpha_i * shape_i)**2)``.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch

from inhabit.body.protocol import BodyModel
from inhabit.body.skeleton import NUM_POSE_JOINTS, POSE_JOINT_NAMES, pose_joint_index


@runtime_checkable
class PosePrior(Protocol):
    """A pose parameterisation with a prior energy.

    Attributes:
        latent_dim: size L of the latent.
    """

    latent_dim: int

    def initial_latent(self, batch_size: int, seed: int = 1) -> torch.Tensor:
        """(B, L) starting latent (deterministic given ``seed``)."""
        ...

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, P) the backend's ``body_pose``; differentiable."""
        ...

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B,) prior energy (lower is more plausible); differentiable."""
        ...


# ---------------------------------------------------------------------------------------------
# GenZI's joint-angle prior

_AXIS = {"x": 0, "y": 1, "z": 2}

GENZI_HINGES: tuple[tuple[str, str, int], ...] = (
    ("left_hip", "x", +1), ("right_hip", "x", +1),
    ("spine1", "x", -1), ("spine2", "x", -1), ("spine3", "x", -1), ("neck", "x", -1),
    ("left_knee", "x", -1), ("right_knee", "x", -1),
    ("left_ankle", "x", -1), ("right_ankle", "x", -1),
    ("left_collar", "y", +1), ("left_shoulder", "y", +1), ("left_elbow", "y", +1),
    ("right_collar", "y", -1), ("right_shoulder", "y", -1), ("right_elbow", "y", -1),
)
"""(joint, axis, penalised sign): the hinge ``max(0, sign * theta)`` (GenZI, genzi_facts 6.3 item 8)."""

GENZI_ZEROED: tuple[tuple[str, str], ...] = (
    ("left_foot", "x"), ("left_foot", "y"), ("left_foot", "z"),
    ("right_foot", "x"), ("right_foot", "y"), ("right_foot", "z"),
    ("head", "x"), ("head", "y"), ("head", "z"),
    ("left_wrist", "y"), ("right_wrist", "y"),
)
"""(joint, axis) components penalised by ``|theta|``."""


def _component(joint: str, axis: str) -> int:
    return 3 * pose_joint_index(joint) + _AXIS[axis]


_HINGE_IDX = torch.tensor([_component(j, a) for j, a, _ in GENZI_HINGES])
_HINGE_SIGN = torch.tensor([float(s) for _, _, s in GENZI_HINGES])
_ZERO_IDX = torch.tensor([_component(j, a) for j, a in GENZI_ZEROED])


def genzi_angle_prior(rotvec: torch.Tensor) -> torch.Tensor:
    """GenZI's joint-angle prior on SMPL-X body poses.

    Args:
        rotvec: (B, 21, 3) SMPL-X local axis-angles (canonical axes, radians), or (B, 63).

    Returns:
        (B,) the mean of 27 values: 16 hinges ``max(0, s * theta)`` (:data:`GENZI_HINGES`) and 11
        ``|theta|`` (:data:`GENZI_ZEROED`), on raw axis-angle components (not Euler angles). Linear,
        not quadratic: its gradient is piecewise constant (zero inside the allowed half-spaces).
    """
    flat = rotvec.reshape(rotvec.shape[0], 3 * NUM_POSE_JOINTS)
    dev = flat.device
    hinge = torch.relu(flat[:, _HINGE_IDX.to(dev)] * _HINGE_SIGN.to(dev, flat.dtype))
    zero = flat[:, _ZERO_IDX.to(dev)].abs()
    return torch.cat([hinge, zero], dim=1).mean(dim=1)


# ---------------------------------------------------------------------------------------------
# Joint limits

JOINT_LIMITS_DEG: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    # (x range, y range, z range) in degrees, on SMPL-X axis-angle components, left side and spine.
    # Hips: flexion -x (to 125), extension +x (30); rotation y (-40 int .. 50 ext); abduction +z (50),
    # adduction -z (30). Knee: flexion +x to 150, 5 of hyperextension; small rotation/varus.
    "left_hip": ((-125.0, 30.0), (-40.0, 50.0), (-30.0, 50.0)),
    "left_knee": ((-5.0, 150.0), (-25.0, 25.0), (-12.0, 12.0)),
    # Ankle: plantarflexion +x (55), dorsiflexion -x (30); toe-in/out y; inversion/eversion z.
    "left_ankle": ((-30.0, 55.0), (-30.0, 30.0), (-30.0, 30.0)),
    "left_foot": ((-45.0, 30.0), (-10.0, 10.0), (-10.0, 10.0)),
    # Spine (three joints share the trunk's ~80 flexion, ~30 extension, ~45 rotation, ~35 lateral).
    "spine1": ((-15.0, 30.0), (-15.0, 15.0), (-15.0, 15.0)),
    "spine2": ((-15.0, 30.0), (-15.0, 15.0), (-15.0, 15.0)),
    "spine3": ((-15.0, 30.0), (-15.0, 15.0), (-15.0, 15.0)),
    # Neck + head share the cervical ROM (flexion 50, extension 60, rotation 80, lateral 45).
    "neck": ((-40.0, 45.0), (-60.0, 60.0), (-35.0, 35.0)),
    "head": ((-30.0, 30.0), (-30.0, 30.0), (-20.0, 20.0)),
    # Collar (sterno-clavicular): elevation +z, depression -z; protraction -y, retraction +y.
    "left_collar": ((-20.0, 20.0), (-25.0, 15.0), (-15.0, 35.0)),
    # Shoulder from the T-pose: z = abduction (+90 up, -95 down at the side), y = horizontal flexion
    # (-: forward, to 135) / extension (+45), x = humeral rotation. Generous: the box is approximate.
    "left_shoulder": ((-100.0, 100.0), (-140.0, 50.0), (-100.0, 100.0)),
    # Elbow: flexion -y to 150, 10 of hyperextension; x = forearm rotation; z = carrying angle.
    "left_elbow": ((-90.0, 90.0), (-150.0, 10.0), (-20.0, 20.0)),
    # Wrist: flexion -z (80), extension +z (70); deviation y; twist x.
    "left_wrist": ((-60.0, 60.0), (-35.0, 35.0), (-80.0, 70.0)),
}
"""Plausible ranges per axis-angle component, degrees (left side; the right side mirrors y and z).

Values are normal active ranges of motion of healthy adults (AAOS / Greene & Heckman, "The Clinical
Measurement of Joint Motion", 1994; Norkin & White, "Measurement of Joint Motion"), widened by ~10
degrees and mapped to SMPL-X's axes with the sign conventions of ``inhabit.body.poses``. Treating
axis-angle components as independent angles is a crude box: exact for one-axis motions, approximate
beyond ~60 degrees of combined rotation; the penalty is meant to stop implausible poses, not to
model anatomy.
"""


def _mirror_range(r: tuple[float, float]) -> tuple[float, float]:
    return (-r[1], -r[0])


def joint_limits(dtype: torch.dtype = torch.float32, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(21, 3) lower and upper limits in radians, in ``POSE_JOINT_NAMES`` order."""
    lo = torch.empty(NUM_POSE_JOINTS, 3, dtype=torch.float64)
    hi = torch.empty_like(lo)
    for j, name in enumerate(POSE_JOINT_NAMES):
        if name in JOINT_LIMITS_DEG:
            rx, ry, rz = JOINT_LIMITS_DEG[name]
        else:  # right side: mirror of the left (x kept, y and z negated)
            rx, ry, rz = JOINT_LIMITS_DEG["left_" + name[len("right_"):]]
            ry, rz = _mirror_range(ry), _mirror_range(rz)
        for a, r in enumerate((rx, ry, rz)):
            lo[j, a], hi[j, a] = math.radians(r[0]), math.radians(r[1])
    return lo.to(dtype=dtype, device=device), hi.to(dtype=dtype, device=device)


def joint_limit_energy(rotvec: torch.Tensor) -> torch.Tensor:
    """Squared hinge beyond :data:`JOINT_LIMITS_DEG`.

    Args:
        rotvec: (B, 21, 3) SMPL-X local axis-angles (radians), or (B, 63).

    Returns:
        (B,) ``sum over the 63 components of (max(0, lo - theta) + max(0, theta - hi))**2`` (rad^2):
        zero inside the limits, 0.19 for a knee bent backwards by 30 degrees.
    """
    rv = rotvec.reshape(rotvec.shape[0], NUM_POSE_JOINTS, 3)
    lo, hi = joint_limits(rv.dtype, rv.device)
    excess = torch.relu(lo - rv) + torch.relu(rv - hi)
    return excess.square().sum(dim=(1, 2))


# ---------------------------------------------------------------------------------------------
# Priors


class AnglePrior:
    """The default pose prior: the latent is the body pose; energy = GenZI angle prior + joint limits
    (+ L2 to the initial pose), computed on SMPL-X-equivalent rotvecs.

    Args:
        model: the body model whose ``body_pose`` is the latent.
        init_pose: (P,) or (1|B, P) initial body pose (default: the model's rest pose).
        angle_weight, limit_weight, init_weight: term weights; ``init_weight`` scales
            ``mean((rotvec - rotvec_init)**2)`` over the 63 components (0 = off).
    """

    def __init__(self, model: BodyModel, init_pose: torch.Tensor | None = None, angle_weight: float = 1.0,
                 limit_weight: float = 1.0, init_weight: float = 0.0) -> None:
        self.model = model
        self.latent_dim = model.body_pose_dim
        if init_pose is None:
            init_pose = model.default_params(1).body_pose
        self.init_pose = torch.as_tensor(init_pose, dtype=model.dtype, device=model.device).reshape(-1, self.latent_dim)
        self.angle_weight, self.limit_weight, self.init_weight = angle_weight, limit_weight, init_weight
        with torch.no_grad():
            self._init_rotvec = model.body_pose_to_smplx_rotvec(self.init_pose)

    def initial_latent(self, batch_size: int, seed: int = 1) -> torch.Tensor:
        """(B, P) the initial pose repeated (deterministic; ``seed`` is unused)."""
        return self.init_pose.expand(batch_size, -1).clone()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def terms(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The unweighted terms, each (B,): ``angle``, ``limits``, ``init``."""
        rv = self.model.body_pose_to_smplx_rotvec(z)
        init = (rv - self._init_rotvec.to(rv.dtype)).square().flatten(1).mean(dim=1)
        return {"angle": genzi_angle_prior(rv), "limits": joint_limit_energy(rv), "init": init}

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        t = self.terms(z)
        e = self.angle_weight * t["angle"] + self.limit_weight * t["limits"]
        if self.init_weight:
            e = e + self.init_weight * t["init"]
        return e


class VPoserPrior:
    """VPoser V02_05 (user-supplied weights) as a pose prior: latent z (B, 32), energy ``mean(z**2)``.

    Args:
        model: the body model whose ``body_pose`` ``decode`` returns.
        path: checkpoint file or folder (default ``$INHABIT_MODELS_DIR/vposer``).
        decoder: an already built :class:`~inhabit.body.vposer.VPoserDecoder` (skips loading).
    """

    def __init__(self, model: BodyModel, path=None, decoder=None) -> None:
        from inhabit.body.vposer import load_vposer_decoder

        self.model = model
        self.decoder = decoder if decoder is not None else load_vposer_decoder(path, model.device, model.dtype)
        self.latent_dim = self.decoder.latent_dim

    def initial_latent(self, batch_size: int, seed: int = 1) -> torch.Tensor:
        """(B, L): one N(0, 1) sample from ``numpy.random.RandomState(seed)``, repeated (GenZI's start:
        the same non-zero code for every hypothesis)."""
        import numpy as np

        z = np.random.RandomState(seed).randn(1, self.latent_dim)
        return torch.as_tensor(z, dtype=self.model.dtype, device=self.model.device).expand(batch_size, -1).clone()

    def decode_rotvec(self, z: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, 21, 3) SMPL-X rotvecs."""
        return self.decoder.decode_rotvec(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.body_pose_from_smplx_rotvec(self.decode_rotvec(z)).reshape(z.shape[0], -1)

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        return z.square().mean(dim=1)


def shape_prior(shape: torch.Tensor, model: BodyModel | None = None, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """GenZI's shape prior ``mean_i (alpha_i * shape_i)**2``.

    Args:
        shape: (B, S) shape parameters (SMPL-X betas, or anny's reparameterised phenotypes).
        model: takes ``model.shape_prior_alpha`` when present (anny: 0.5 on height, 1 elsewhere;
            SMPL-X: 0.5 on beta 0).
        alpha: (S,) explicit weights; default GenZI's (0.5 for the first, 1 for the others).

    Returns:
        (B,). For anny the shape is ``logit(phenotype) - logit(default adult)``, so this is a distance
        from the default adult that grows without bound towards the phenotype range ends.
    """
    if alpha is None and model is not None:
        alpha = getattr(model, "shape_prior_alpha", None)
    if alpha is None:
        alpha = torch.ones(shape.shape[1], dtype=shape.dtype, device=shape.device)
        alpha[0] = 0.5
    return (alpha.to(shape) * shape).square().mean(dim=1)


__all__ = ["GENZI_HINGES", "GENZI_ZEROED", "JOINT_LIMITS_DEG", "AnglePrior", "PosePrior", "VPoserPrior",
           "genzi_angle_prior", "joint_limit_energy", "joint_limits", "shape_prior"]
