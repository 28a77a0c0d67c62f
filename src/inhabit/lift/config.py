"""Frozen configuration of the lifting fit, and its named presets.

Presets (``LIFT_PRESETS``):

``genzi-sketchfab``
    The authors' Sketchfab generation config (genzi_facts §6.4, §10): 4 phases × 400 iterations,
    GenZI's 17 keypoint pairs, linear penetration/contact terms with threshold −0.01 m (1 cm
    tolerated), initial yaw −90° (the body faces world −X), shape free from the first step.
``genzi-proxs``
    The PROX-S config: threshold 0 m, yaw +90° (faces +X), much stronger contact/penetration ramps.
``inhabit`` (recommended)
    GenZI's schedule and 2D terms with the changes that the ground-truth benchmark
    (``benchmarks/lift_synthetic.py``) showed to matter for inhabit's bodies, each a config field:
    the face and heel keypoints too, the heading read from the keypoints, the scene terms squared
    and switched on only once the 2D fit has settled (phase 2), contact pulled 2 mm into the
    surface, the shape frozen until the last phase, an L2 pull to the prior's pose, and the
    learning rate ramped to 0.001 over the last phase. See ``docs/lifting.md`` for the numbers.
``fast``
    ``inhabit`` compressed to 4 × 60 iterations at lr 0.02: CPU smoke runs and demos.

Every preset carries two weight tables: ``weights`` for the first (coarse) fit and
``refine_weights`` for the refinement fit that starts from a previous result (GenZI stage 1:
self-penetration switched on; Sketchfab's last penetration knot 2 instead of 1).

Two terms are inhabit's own. ``joint_limits`` (anatomical range-of-motion hinge) stands in for
what VPoser's learned manifold does in GenZI: inhabit's default pose prior has none, and the
pose is otherwise free for the 1,200 iterations before GenZI's angle prior ramps in. The
self-penetration knots are not GenZI's: GenZI's term is a BVH distance-field loss summed over
colliding triangles (weights 1e-6…1e-4); inhabit's capsule proxy (:mod:`inhabit.lift.selfpen`) is
a mean depth in metres, so its knots are re-chosen for that scale (0, 0, 0, 1, 10).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from inhabit.errors import InputError
from inhabit.lift.correspondences import GENZI_LIMB_NAMES, LIMB_NAMES, TORSO_NAMES

Knots = tuple[float, ...]

TERMS: tuple[str, ...] = (
    "view_count",
    "torso",
    "limb",
    "pose_prior",
    "joint_angle",
    "joint_limits",
    "shape",
    "penetration",
    "contact",
    "self_penetration",
)
"""Every energy term of the fit, in the order they are logged."""

PARAM_GROUPS: tuple[str, ...] = ("orient", "transl", "pose", "shape", "view")
"""Optimiser parameter groups (GenZI has one AdamW per group)."""


def _check_knots(name: str, value: Any, length: int | None = None) -> Knots:
    try:
        k = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"lift config field {name!r} must be a list of numbers, got {value!r}") from None
    if len(k) < 2 or (length is not None and len(k) != length):
        want = f"{length}" if length is not None else "at least 2"
        raise InputError(f"lift config field {name!r} must have {want} knots, got {len(k)}: {list(k)}")
    if not all(math.isfinite(v) and v >= 0.0 for v in k):
        raise InputError(f"lift config field {name!r} must hold finite non-negative numbers, got {list(k)}")
    return k


@dataclass(frozen=True)
class TermKnots:
    """Weight knots of every energy term (P+1 knots for P phases; see :mod:`.schedule`).

    Attributes (each a tuple of P+1 floats ≥ 0):
        view_count: view-count hinge max(0, τ − Σw).
        torso, limb: robust 2D reprojection of the two keypoint groups.
        pose_prior: ``PosePrior.energy`` of a latent prior (GenZI: VPoser's mean z²). Not used with
            an :class:`~inhabit.body.prior.AnglePrior`, whose energy *is* the next two terms.
        joint_angle: GenZI's joint-angle prior on the decoded SMPL-X-style pose.
        joint_limits: squared hinge beyond anatomical joint limits (not in GenZI: its VPoser keeps
            poses plausible from the first step, inhabit's default prior has no learned manifold).
        shape: ``shape_prior`` of the body backend (GenZI: the betas prior).
        penetration, contact: scene terms through the SDF.
        self_penetration: capsule self-intersection proxy (refinement only in the presets).
    """

    view_count: Knots = (1.0, 1.0, 1.0, 1.0, 1.0)
    torso: Knots = (1.0, 1.0, 1.0, 1.0, 1.0)
    limb: Knots = (1.0, 1.0, 1.0, 1.0, 1.0)
    pose_prior: Knots = (0.0, 0.0, 0.0, 1e-4, 1e-3)
    joint_angle: Knots = (0.0, 0.0, 0.0, 1.0, 1.0)
    joint_limits: Knots = (1.0, 1.0, 1.0, 1.0, 1.0)
    shape: Knots = (0.0, 0.0, 0.0, 1e-3, 0.2)
    penetration: Knots = (1.0, 0.1, 0.01, 0.1, 1.0)
    contact: Knots = (0.0, 0.0, 0.0, 5.0, 10.0)
    self_penetration: Knots = (0.0, 0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        n = None
        for f in fields(self):
            k = _check_knots(f"weights.{f.name}", getattr(self, f.name), n)
            n = len(k)
            object.__setattr__(self, f.name, k)

    @property
    def num_phases(self) -> int:
        return len(self.view_count) - 1

    def as_dict(self) -> dict[str, Knots]:
        return {t: getattr(self, t) for t in TERMS}


@dataclass(frozen=True)
class LearningRates:
    """Learning rates of each parameter group: P values (one constant per phase, as GenZI gives
    them) or P+1 knots (a linear ramp within each phase, like the weights). GenZI: 0.01 everywhere,
    except the view logits, frozen with lr 0 in phase 0 so all views count equally while the body
    first moves into place."""

    orient: Knots = (0.01, 0.01, 0.01, 0.01)
    transl: Knots = (0.01, 0.01, 0.01, 0.01)
    pose: Knots = (0.01, 0.01, 0.01, 0.01)
    shape: Knots = (0.01, 0.01, 0.01, 0.01)
    view: Knots = (0.0, 0.01, 0.01, 0.01)

    def __post_init__(self) -> None:
        phases = set()
        for f in fields(self):
            v = getattr(self, f.name)
            try:
                k = tuple(float(x) for x in v)
            except (TypeError, ValueError):
                raise InputError(f"lift config field 'lr.{f.name}' must be a list of numbers, got {v!r}") from None
            if not k or not all(math.isfinite(x) and x >= 0 for x in k):
                raise InputError(f"lift config field 'lr.{f.name}' must hold finite non-negative rates, got {list(k)}")
            object.__setattr__(self, f.name, k)
            phases.add(len(k))
        P = min(phases)
        if not phases <= {P, P + 1}:
            raise InputError(
                f"lift config field 'lr': every group needs one rate per phase or one knot more, got lengths "
                f"{ {f.name: len(getattr(self, f.name)) for f in fields(self)} }"
            )


@dataclass(frozen=True)
class LiftConfig:
    """Everything that decides a lifting fit. Build it from a preset: ``lift_preset("genzi-sketchfab")``.

    Attributes:
        name: preset name (written into results).
        phase_iters: iterations per phase (GenZI: 400; 4 phases = 1600 iterations).
        weights: term knots of the first fit; refine_weights: of a refinement fit.
        lr: learning rates per parameter group: P per-phase constants (GenZI) or P+1 ramp knots.
        adam_betas, adam_eps, weight_decay: AdamW (GenZI: PyTorch defaults, decay 0.01).
        decay_translation: apply the weight decay to the translation too. GenZI does (every
            parameter decays by (1 − 1e-4) per step, which pulls the body toward the world origin
            by ~1e-4 of its distance per step); True reproduces it, False decays only the
            orientation, pose, shape and view logits.
        sigma: Geman-McClure σ in normalised image units (pixels ÷ max(width, height) of the view).
        view_tau: τ of the view-count hinge; hinge_min_views: apply it only with this many views.
        penetration_threshold: τ_s in metres (Sketchfab −0.01, PROX-S 0).
        contact_threshold: where the contact term pulls the closest vertex to (None = GenZI: the
            penetration threshold). A few millimetres *below* the penetration threshold make the
            body settle touching (some vertex at SDF ≤ 0) instead of hovering just above it.
        scene_penalty: ``"linear"`` — GenZI's penetration (mean depth) and contact (gap) terms,
            constant forces; ``"quadratic"`` — their squares, forces proportional to depth/gap
            (see :mod:`inhabit.lift.energies`).
        facing: initial orientation: ``"yaw"`` = GenZI's fixed world yaw ``init_yaw_deg``
            (0 = facing −Y, +90 = facing +X, −90 = facing −X); ``"cameras"`` = facing the mean
            camera centre (horizontally); ``"keypoints"`` = the heading each hypothesis' own
            shoulders and hips show in its views (:func:`inhabit.lift.init.yaw_from_keypoints`),
            falling back to the cameras when they do not decide it. A person leaning over a
            counter faces *away* from every camera that sees the counter top, so "cameras" starts
            them backwards and the fit can settle twisted.
        init_yaw_deg: see ``facing``.
        init_pose: a named pose of :mod:`inhabit.body.poses` to start from (None = the prior's
            initial latent).
        freeze_shape_phases: phases during which the shape is held at its start (GenZI: none — its
            betas are free from the first step, before any shape prior, and drift while the pose is
            still wrong; inhabit's preset frees the shape once the pose has settled). A frozen
            group gets no gradient and no Adam moments, and lets the anny fast path cache
            everything that depends on the shape.
        torso_names, limb_names: the 2D-3D correspondences of each group (see
            :mod:`inhabit.lift.correspondences`).
        sdf_vertices: the scene terms use this many body vertices (farthest-point subset of the
            rest pose) before the last ``sdf_full_last`` iterations; 0 = always every vertex.
            (GenZI evaluates every vertex at every step; the subset is a speed-up while the
            scene terms are weighted low.)
        sdf_full_last: the final iterations in which the scene terms see every vertex. A uniform
            subset under-samples the hands and feet (40 % of anny's vertices, and the parts that
            touch), whose penetrations it would leave unresolved.
        selfpen_vertices: vertices used by the self-penetration proxy.
        occlusion_weight: confidence factor for a keypoint whose current 3D position the scene hides
            in that view (1 = off, GenZI). Detectors place occluded joints anyway — often on the
            furniture that hides them (a table's legs for the knees of someone sitting at it) — and
            several views then agree on the wrong limb. Needs ``scene_depth`` in
            :func:`~inhabit.lift.fit.fit_bodies`; without it the factor is ignored.
        occlusion_margin: a keypoint is hidden when the scene's depth at its pixel is more than this
            (metres) in front of it.
        occlusion_start_phase: the phase from which the visibility is re-estimated (every
            ``occlusion_every`` iterations) from the current body. Earlier, the body is still far
            from the keypoints and its own visibility says nothing.
        occlusion_every: iterations between visibility updates.
        log_every: history is logged at iteration 0, every ``log_every`` and at the last one.
        torch_threads: intra-op CPU threads during the fit, restored afterwards (None = leave torch's
            setting). The fit's tensors are small (a few thousand elements), so more threads buy
            nothing and on a busy machine OpenMP's synchronisation makes each op many times slower:
            1 by default.
    """

    name: str = "genzi-sketchfab"
    phase_iters: int = 400
    weights: TermKnots = field(default_factory=TermKnots)
    refine_weights: TermKnots = field(default_factory=TermKnots)
    lr: LearningRates = field(default_factory=LearningRates)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    weight_decay: float = 0.01
    decay_translation: bool = True
    sigma: float = 0.2
    view_tau: float = 3.0
    hinge_min_views: int = 3
    penetration_threshold: float = -0.01
    contact_threshold: float | None = None
    scene_penalty: Literal["linear", "quadratic"] = "linear"
    facing: Literal["yaw", "cameras", "keypoints"] = "yaw"
    init_yaw_deg: float = -90.0
    init_pose: str | None = None
    freeze_shape_phases: tuple[int, ...] = ()
    torso_names: tuple[str, ...] = TORSO_NAMES
    limb_names: tuple[str, ...] = LIMB_NAMES
    sdf_vertices: int = 1024
    sdf_full_last: int = 400
    selfpen_vertices: int = 2048
    occlusion_weight: float = 1.0
    occlusion_margin: float = 0.05
    occlusion_start_phase: int = 1
    occlusion_every: int = 50
    log_every: int = 50
    torch_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.phase_iters < 1:
            raise InputError(f"lift config field 'phase_iters' must be at least 1, got {self.phase_iters}")
        P = self.weights.num_phases
        lr_ok = all(len(getattr(self.lr, g)) in (P, P + 1) for g in PARAM_GROUPS)
        if self.refine_weights.num_phases != P or not lr_ok:
            raise InputError(
                f"lift config: weights ({P} phases), refine_weights ({self.refine_weights.num_phases}) and lr "
                f"({ {g: len(getattr(self.lr, g)) for g in PARAM_GROUPS} } values: P rates or P+1 knots) must agree "
                "on the number of phases"
            )
        if not (self.sigma > 0 and math.isfinite(self.sigma)):
            raise InputError(f"lift config field 'sigma' must be a positive number, got {self.sigma}")
        if self.scene_penalty not in ("linear", "quadratic"):
            raise InputError(f"lift config field 'scene_penalty' must be 'linear' or 'quadratic', got {self.scene_penalty!r}")
        if self.facing not in ("yaw", "cameras", "keypoints"):
            raise InputError(f"lift config field 'facing' must be 'yaw', 'cameras' or 'keypoints', got {self.facing!r}")
        if self.sdf_full_last < 0 or self.sdf_vertices < 0:
            raise InputError(f"lift config fields 'sdf_full_last' and 'sdf_vertices' must be non-negative, got "
                             f"{self.sdf_full_last} and {self.sdf_vertices}")
        if not (0.0 <= self.occlusion_weight <= 1.0):
            raise InputError(f"lift config field 'occlusion_weight' must lie in [0, 1], got {self.occlusion_weight}")
        if self.occlusion_every < 1 or self.occlusion_margin < 0:
            raise InputError(f"lift config fields 'occlusion_every' (>= 1) and 'occlusion_margin' (>= 0) got "
                             f"{self.occlusion_every} and {self.occlusion_margin}")
        if self.log_every < 1:
            raise InputError(f"lift config field 'log_every' must be at least 1, got {self.log_every}")
        b1, b2 = self.adam_betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise InputError(f"lift config field 'adam_betas' must lie in [0, 1), got {self.adam_betas}")
        object.__setattr__(self, "torso_names", tuple(self.torso_names))
        object.__setattr__(self, "limb_names", tuple(self.limb_names))
        object.__setattr__(self, "freeze_shape_phases", tuple(int(p) for p in self.freeze_shape_phases))

    @property
    def num_phases(self) -> int:
        return self.weights.num_phases

    @property
    def num_iters(self) -> int:
        return self.num_phases * self.phase_iters

    def replace(self, **changes: Any) -> LiftConfig:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, Any]) -> LiftConfig:
        """A copy with fields replaced from a (YAML-style) mapping; nested tables for ``weights``,
        ``refine_weights`` and ``lr`` may name only the terms they change.

        Raises:
            InputError: naming an unknown field.
        """
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known:
                raise InputError(f"lift config has no field {key!r}; known fields: {', '.join(sorted(known))}")
            current = getattr(self, key)
            if isinstance(current, TermKnots | LearningRates):
                if not isinstance(value, Mapping):
                    raise InputError(f"lift config field {key!r} must be a mapping of term to knots, got {value!r}")
                sub = {f.name for f in fields(current)}
                for k in value:
                    if k not in sub:
                        raise InputError(f"lift config field '{key}' has no entry {k!r}; known: {', '.join(sorted(sub))}")
                value = dataclasses.replace(current, **{k: tuple(v) for k, v in value.items()})
            elif isinstance(current, tuple) and not isinstance(value, tuple):
                value = tuple(value)
            changes[key] = value
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (for ``config.yaml`` / results)."""
        return dataclasses.asdict(self)


_SKETCHFAB = TermKnots(
    pose_prior=(0.0, 0.0, 0.0, 1e-4, 1e-3),
    shape=(0.0, 0.0, 0.0, 1e-3, 0.2),
    penetration=(1.0, 0.1, 0.01, 0.1, 1.0),
    contact=(0.0, 0.0, 0.0, 5.0, 10.0),
)
_PROXS = TermKnots(
    pose_prior=(0.0, 0.0, 0.0, 1e-3, 1e-2),
    shape=(0.0, 0.0, 0.0, 0.1, 1.0),
    penetration=(10.0, 1.0, 0.1, 1.0, 50.0),
    contact=(0.0, 0.0, 0.0, 10.0, 1000.0),
)
_SELFPEN_REFINE = (0.0, 0.0, 0.0, 1.0, 10.0)
_SETTLE = (0.01, 0.01, 0.01, 0.01, 0.001)
"""lr 0.01 as GenZI, ramped down to 0.001 over the last phase so the body settles on the surface
instead of jittering by Adam's ~lr-sized steps (1 cm) around it."""
_FAST = (0.02, 0.02, 0.02, 0.02, 0.002)
_INHABIT = TermKnots(
    pose_prior=(0.01, 0.01, 0.01, 0.01, 0.01),
    shape=(0.0, 0.0, 0.0, 1e-3, 0.2),
    penetration=(0.0, 0.0, 10.0, 100.0, 100.0),
    contact=(0.0, 0.0, 0.0, 10.0, 100.0),
)

LIFT_PRESETS: dict[str, LiftConfig] = {
    "genzi-sketchfab": LiftConfig(
        name="genzi-sketchfab",
        weights=_SKETCHFAB,
        refine_weights=dataclasses.replace(
            _SKETCHFAB, penetration=(1.0, 0.1, 0.01, 0.1, 2.0), self_penetration=_SELFPEN_REFINE
        ),
        penetration_threshold=-0.01,
        init_yaw_deg=-90.0,
        limb_names=GENZI_LIMB_NAMES,
    ),
    "genzi-proxs": LiftConfig(
        name="genzi-proxs",
        weights=_PROXS,
        refine_weights=dataclasses.replace(_PROXS, self_penetration=_SELFPEN_REFINE),
        penetration_threshold=0.0,
        init_yaw_deg=90.0,
        limb_names=GENZI_LIMB_NAMES,
    ),
    "inhabit": LiftConfig(
        name="inhabit",
        weights=_INHABIT,
        refine_weights=dataclasses.replace(_INHABIT, self_penetration=_SELFPEN_REFINE),
        lr=LearningRates(orient=_SETTLE, transl=_SETTLE, pose=_SETTLE, shape=_SETTLE),
        penetration_threshold=0.0,
        contact_threshold=-0.002,
        scene_penalty="quadratic",
        facing="keypoints",
        freeze_shape_phases=(0, 1, 2),
        sdf_vertices=2048,
        sdf_full_last=200,
        occlusion_weight=0.1,
    ),
    "fast": LiftConfig(
        name="fast",
        phase_iters=60,
        weights=_INHABIT,
        refine_weights=dataclasses.replace(_INHABIT, self_penetration=_SELFPEN_REFINE),
        lr=LearningRates(orient=_FAST, transl=_FAST, pose=_FAST, shape=_FAST, view=(0.0, 0.02, 0.02, 0.02)),
        penetration_threshold=0.0,
        contact_threshold=-0.002,
        scene_penalty="quadratic",
        facing="keypoints",
        freeze_shape_phases=(0, 1, 2),
        sdf_vertices=1024,
        sdf_full_last=30,
        occlusion_weight=0.1,
    ),
}
"""Named, frozen lifting configurations."""


def lift_preset(name: str, **overrides: Any) -> LiftConfig:
    """The named preset, optionally with fields replaced.

    Raises:
        InputError: naming an unknown preset.
    """
    if name not in LIFT_PRESETS:
        raise InputError(f"unknown lift preset {name!r}; expected one of {', '.join(LIFT_PRESETS)}")
    cfg = LIFT_PRESETS[name]
    return cfg.with_overrides(overrides) if overrides else cfg
