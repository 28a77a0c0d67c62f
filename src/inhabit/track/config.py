"""Configuration of the ZeroHSI 4D reconstruction: the paper's numbers plus documented speed knobs.

Every number of appendix C.2 / C.4 of ``papers/zerohsi.md`` is a field here, with the paper's value
as the default. Fields under "speed knobs" are *ours*: they trade exactness for CPU time and each
says what it changes. :data:`TRACK_PRESETS` has ``"zerohsi"`` (the paper's numbers, the exact-ish
knobs on) and ``"fast"`` (fewer iterations, early stopping, half-resolution camera tracking: for
CPU tests and previews).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from inhabit.errors import InputError


@dataclass(frozen=True)
class TrackConfig:
    """Numbers of the per-frame tracking (§3.3–3.4), refinement (§3.5, C.4) and speed knobs.

    Camera tracking (§3.3, C.2)
        camera_iters: Adam iterations per frame on the relative camera transform (paper: 30).
        camera_lr: its learning rate (paper: 1e-3; radians and metres).

    Human and object (§3.4, C.2)
        iters: Adam iterations per frame (paper: 300).
        root_only_iters: the first iterations move only the root translation and orientation
            (paper: 30).
        lr: learning rate of the human pose and the object's relative pose (paper: 0.01).
        ssim_lambda: λ in L_rgb = (1 − λ) L1 + λ D-SSIM (paper: 0.1).
        lambda_center, lambda_depth: weights of the object mask-centre and depth terms (paper:
            1e-3 each).
        color_every, color_lr: the colour net is stepped every ``color_every`` iterations with this
            learning rate (paper: 5, 1e-5); ``color_every = 0`` freezes appearance.
        object_in_rgb: also let L_rgb move the object (paper: the object's loss is Eq. 14, which
            includes L_rgb).

    Per-frame pose initialisation from 2D keypoints (ours; the paper uses SMPLer-X [10])
        keypoint_init: fit the body pose to the frame's detected keypoints before the photometric
            fit (else the body pose starts from frame t − 1).
        kp_iters, kp_lr: Adam iterations / learning rate of that fit.
        kp_min_conf, kp_min_points: keypoints below ``kp_min_conf`` are ignored; with fewer than
            ``kp_min_points`` left the frame keeps the previous pose (a faded or hidden person, D.2).
        kp_sigma: Geman-McClure scale σ in units of the image's larger side; the reprojection
            energy is divided by σ², so a point off by r costs ≈ (r/σ)² per coordinate.
        kp_prev_weight: pull of the pose to frame t − 1's, per rad² summed over the 63 SMPL-X-style
            rotvec components.
        kp_root_weight: pull of the root translation to frame t − 1's, per cm² (the 2D fit moves the
            root too, so a walking person does not bend the legs to reach the keypoints).
        kp_prior_weight: weight of the pose prior's energy.
        kp_pairs: ``"genzi"`` (GenZI's 17 torso + limb pairs) or ``"all"`` (also eyes, ears, heels).
        kp_gate: keep the keypoint fit only when its photometric loss on the frame is lower than the
            previous frame's pose's (a detector off by 5 px moves a single-view fit by centimetres,
            which helps a fast limb but hurts a slow one; the gate costs two renders).

    Refinement (§3.5, C.2, C.4)
        refine_iters, refine_lr: Adam over the whole sequence (paper: 1000, 0.05).
        lambda_physics: weight of L_physics against the joint fit (paper: 1e-3).
        lambda_contact: hand-object contact weight inside L_physics (paper: 1).
        lambda_smooth_static, lambda_smooth_dynamic: smoothness weight without / with a moving
            object (paper: 0.3 / 0.1).
        contact_eps: ε of the contact set S1 (metres; the paper gives no value; 5 cm = CHOIS's
            contact threshold).
        lambda_penetration: scene penetration (mean depth of body vertices inside the scene SDF)
            inside L_physics (ours; issue 8 asks for it; the paper's refinement has none).
        refine_prior_weight: weight of the pose prior's mean energy (ours, default 0 as in Eq. 16:
            VPoser refines in its latent space, which *is* the prior; with the angle prior the latent
            is the pose itself and this weight is the only way to add a prior).
        refine_lr_decay: ``"cosine"`` anneals the refinement's learning rate from ``refine_lr`` to 0
            over its iterations; ``"none"`` keeps it constant. The paper gives no schedule; at a
            constant 0.05 Adam keeps every root translation moving by about a centimetre to the end.
        refine_keep_first: keep frame 0 (the given initial state) fixed.
        refine_sdf_vertices, refine_hand_vertices, refine_object_points: sizes of the farthest-point
            vertex subset tested against the scene SDF, of the hand subsets (per hand) and of the
            object particles used by the contact term (speed; the body is skinned on these only).

    Speed knobs (ours; see docs/motion_core.md for what each costs in exactness)
        composite: ``"layered"`` renders the static scene once per frame after the camera step and
            composites the dynamic Gaussians over/under it per pixel by expected depth (exact when,
            at each pixel, the dynamic Gaussians are all in front of or all behind the scene's);
            ``"full"`` renders scene + human + object together at every iteration (the paper).
        crop: optimise the human/object on the bounding box of the frame's dynamic masks and the
            current human/object projection plus ``crop_margin`` pixels (pixels outside are the
            static scene in both images, so the loss differs by a constant and a scale factor).
        camera_downscale: render camera tracking at 1/k resolution (box-filtered frame,
            conservative mask).
        scene_cull_margin: before a frame's camera step, keep only scene Gaussians projecting
            within the image grown by this fraction (the camera moves little in 30 steps).
        early_stop_patience, early_stop_tol: stop a frame's human/object fit (after the root-only
            phase) when the loss has not improved by a relative ``early_stop_tol`` for
            ``early_stop_patience`` iterations (0 = off). The camera step always runs its iterations.
        keep_best: return the iterate with the lowest loss rather than the last one.
        background: RGB the splatter composites over (must match how the frames were rendered).
        threads: torch CPU threads while reconstructing / refining (0 = leave torch's setting; the
            previous value is restored afterwards). The per-iteration tensors are small, so one thread
            is as fast as two on an idle 2-core machine and much faster on a busy one (OpenMP spins).
        seed: seed of everything stochastic (nothing is, today; kept for reproducibility).
    """

    # camera (§3.3)
    camera_iters: int = 30
    camera_lr: float = 1e-3
    # human + object (§3.4)
    iters: int = 300
    root_only_iters: int = 30
    lr: float = 0.01
    ssim_lambda: float = 0.1
    lambda_center: float = 1e-3
    lambda_depth: float = 1e-3
    color_every: int = 5
    color_lr: float = 1e-5
    object_in_rgb: bool = True
    # keypoint initialisation (ours)
    keypoint_init: bool = True
    kp_iters: int = 60
    kp_lr: float = 0.02
    kp_sigma: float = 0.05
    kp_min_conf: float = 0.3
    kp_min_points: int = 8
    kp_prev_weight: float = 3.0
    kp_root_weight: float = 0.1
    kp_prior_weight: float = 1e-2
    kp_pairs: Literal["genzi", "all"] = "all"
    kp_gate: bool = True
    # refinement (§3.5, C.4)
    refine_iters: int = 1000
    refine_lr: float = 0.05
    lambda_physics: float = 1e-3
    lambda_contact: float = 1.0
    lambda_smooth_static: float = 0.3
    lambda_smooth_dynamic: float = 0.1
    contact_eps: float = 0.05
    lambda_penetration: float = 1.0
    refine_prior_weight: float = 0.0
    refine_lr_decay: Literal["cosine", "none"] = "cosine"
    refine_keep_first: bool = True
    refine_sdf_vertices: int = 512
    refine_hand_vertices: int = 128
    refine_object_points: int = 1024
    # speed knobs (ours)
    composite: Literal["layered", "full"] = "layered"
    crop: bool = True
    crop_margin: int = 16
    camera_downscale: int = 1
    scene_cull_margin: float = 0.15
    early_stop_patience: int = 0
    early_stop_tol: float = 1e-3
    keep_best: bool = True
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    threads: int = 0
    seed: int = 1

    def __post_init__(self) -> None:
        positive_int = ("camera_iters", "iters", "kp_iters", "refine_iters", "camera_downscale",
                        "refine_sdf_vertices", "refine_hand_vertices", "refine_object_points")
        for name in positive_int:
            v = getattr(self, name)
            if int(v) != v or v < (0 if name.endswith("iters") else 1):
                raise InputError(f"TrackConfig.{name} must be a {'non-negative' if name.endswith('iters') else 'positive'} "
                                 f"integer, got {v!r}")
        for name in ("root_only_iters", "color_every", "crop_margin", "early_stop_patience", "kp_min_points", "threads"):
            v = getattr(self, name)
            if int(v) != v or v < 0:
                raise InputError(f"TrackConfig.{name} must be a non-negative integer, got {v!r}")
        for name in ("camera_lr", "lr", "color_lr", "kp_lr", "refine_lr", "kp_sigma", "contact_eps"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and v > 0):
                raise InputError(f"TrackConfig.{name} must be a positive number, got {v!r}")
        for name in ("lambda_center", "lambda_depth", "kp_prev_weight", "kp_root_weight", "kp_prior_weight",
                     "lambda_physics", "lambda_contact", "lambda_smooth_static", "lambda_smooth_dynamic",
                     "lambda_penetration", "refine_prior_weight", "scene_cull_margin", "early_stop_tol"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and v >= 0):
                raise InputError(f"TrackConfig.{name} must be a non-negative number, got {v!r}")
        if not 0.0 <= self.ssim_lambda <= 1.0:
            raise InputError(f"TrackConfig.ssim_lambda must be in [0, 1], got {self.ssim_lambda!r}")
        if not 0.0 <= self.kp_min_conf <= 1.0:
            raise InputError(f"TrackConfig.kp_min_conf must be in [0, 1], got {self.kp_min_conf!r}")
        if self.refine_lr_decay not in ("cosine", "none"):
            raise InputError(f"TrackConfig.refine_lr_decay must be 'cosine' or 'none', got {self.refine_lr_decay!r}")
        if self.kp_pairs not in ("genzi", "all"):
            raise InputError(f"TrackConfig.kp_pairs must be 'genzi' or 'all', got {self.kp_pairs!r}")
        if self.composite not in ("layered", "full"):
            raise InputError(f"TrackConfig.composite must be 'layered' or 'full', got {self.composite!r}")
        if len(self.background) != 3 or not all(0.0 <= float(c) <= 1.0 for c in self.background):
            raise InputError(f"TrackConfig.background must be 3 numbers in [0, 1], got {self.background!r}")
        object.__setattr__(self, "background", tuple(float(c) for c in self.background))

    def replace(self, **changes: Any) -> TrackConfig:
        """A copy with some fields changed (unknown names are an :class:`InputError`)."""
        return track_config_from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def track_config_from_dict(values: dict[str, Any]) -> TrackConfig:
    """Build a :class:`TrackConfig` from a plain dict (a YAML section); unknown keys are an error."""
    known = {f.name for f in dataclasses.fields(TrackConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown track setting(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
    vals = dict(values)
    if "background" in vals:
        vals["background"] = tuple(vals["background"])
    return TrackConfig(**vals)


TRACK_PRESETS: dict[str, dict[str, Any]] = {
    # The paper's numbers (C.2, C.4); the layered composite and the crop are near-exact speed-ups.
    "zerohsi": {},
    # CPU previews and tests: a fifth of the fit iterations, early stopping, half-resolution camera
    # tracking (never below 128 px).
    "fast": {
        "iters": 60,
        "root_only_iters": 10,
        "kp_iters": 30,
        "refine_iters": 200,
        "camera_downscale": 2,
        "early_stop_patience": 15,
    },
}
"""Named configurations: overrides of the :class:`TrackConfig` defaults."""


def track_preset(name: str = "zerohsi", **overrides: Any) -> TrackConfig:
    """The named preset with ``overrides`` applied.

    Raises:
        InputError: unknown preset name or setting.
    """
    if name not in TRACK_PRESETS:
        raise InputError(f"unknown track preset {name!r}; expected one of {', '.join(TRACK_PRESETS)}")
    return track_config_from_dict({**TRACK_PRESETS[name], **overrides})


class torch_threads:
    """Context manager: ``torch.set_num_threads(n)`` inside, the previous value restored (n = 0: no-op)."""

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def __enter__(self):
        import torch

        self.prev = torch.get_num_threads()
        if self.n > 0:
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        import torch

        if self.n > 0:
            torch.set_num_threads(self.prev)
        return False


__all__ = ["TRACK_PRESETS", "TrackConfig", "torch_threads", "track_config_from_dict", "track_preset"]
