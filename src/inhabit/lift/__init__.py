"""GenZI robust multi-view lifting of 2D keypoints to a 3D body in the scene.

Entry point: :func:`fit_bodies` (``inhabit.lift.fit``) with a :class:`LiftConfig` from
:func:`lift_preset` (``"genzi-sketchfab"``, ``"genzi-proxs"``, ``"fast"``); a refinement starts from
``init_from_params(result.params, result.latent)``. The energies are pure functions in
:mod:`inhabit.lift.energies`; the schedule in :mod:`inhabit.lift.schedule`. See ``docs/lifting.md``.
"""

from __future__ import annotations

from inhabit.lift.config import LIFT_PRESETS, TERMS, LearningRates, LiftConfig, TermKnots, lift_preset
from inhabit.lift.correspondences import LIMB_NAMES, TORSO_NAMES, Correspondences, build_correspondences
from inhabit.lift.fit import LiftResult, fit_bodies
from inhabit.lift.init import LiftInit, default_init, init_from_params, initial_translation

__all__ = [
    "LIFT_PRESETS",
    "LIMB_NAMES",
    "TERMS",
    "TORSO_NAMES",
    "Correspondences",
    "LearningRates",
    "LiftConfig",
    "LiftInit",
    "LiftResult",
    "TermKnots",
    "build_correspondences",
    "default_init",
    "fit_bodies",
    "init_from_params",
    "initial_translation",
    "lift_preset",
]
