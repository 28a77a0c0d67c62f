"""GenZI's robust multi-view lifting: H hypotheses of 2D keypoints over k views → H posed bodies.

The orchestration around the pure energies of :mod:`.energies`: build the parameter table, run
``cfg.num_phases × cfg.phase_iters`` AdamW steps with the scheduled weights, skip per-hypothesis
steps whose loss or gradient is not finite, log the history, return a :class:`LiftResult`.

Parameters per hypothesis h (one row of a flat (H, D) table, so one optimiser step updates all):
6D global orientation | translation | pose latent of the prior | shape | one logit per view.
View weight w_hv = sigmoid(logit_hv) for used views, 0 for views masked out.

Non-finite policy: a hypothesis whose loss or gradient is not finite at a step does not move at
that step (its parameters, Adam moments and step count stay), and the step is counted in
``LiftResult.skipped_steps``. Its state is therefore always its last finite one. The fit raises
:class:`~inhabit.errors.OptimizationError` naming the hypothesis when it skipped *every* step
(nothing was fitted) or when its final body is not finite; it never returns NaNs.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from inhabit.body.protocol import BodyModel, BodyOutput, BodyParams
from inhabit.camera.pinhole import Camera
from inhabit.errors import InputError, OptimizationError
from inhabit.lift import energies as E
from inhabit.lift.config import PARAM_GROUPS, TERMS, LiftConfig, lift_preset
from inhabit.lift.correspondences import build_correspondences
from inhabit.lift.fastbody import make_subset_forward
from inhabit.lift.init import LiftInit, default_init, yaw_from_keypoints
from inhabit.lift.observations import (
    Observations,
    ViewTensors,
    prepare_observations,
    scene_occlusion,
    stack_cameras,
    stack_depth_maps,
)
from inhabit.lift.optim import RowMaskedAdamW
from inhabit.lift.schedule import knot_table, phase_table
from inhabit.lift.selfpen import (
    CapsuleProxy,
    build_capsule_proxy,
    capsule_self_penetration,
    farthest_point_subset,
)
from inhabit.progress import bar
from inhabit.structures import Keypoints2D

logger = logging.getLogger(__name__)

SDFCallable = Callable[[torch.Tensor], torch.Tensor]
"""(N, 3) world points → (N,) signed distance, negative inside (``inhabit.scene.sdf.LocalSDFGrid``)."""


@dataclass
class LiftResult:
    """H fitted bodies and how the fit went.

    Attributes:
        params: (H rows) fitted :class:`BodyParams` (world frame, detached).
        latent: (H, L) the prior's pose latent (a refinement restarts from it).
        vertices: (H, V, 3); joints: (H, 22, 3); keypoints: (H, 23, 3); faces: (F, 3).
        body_pose_smplx: (H, 21, 3) the pose as SMPL-X-style axis-angles, or None when the
            backend cannot convert.
        view_weights: (H, k) final sigmoid view weights (0 for views not used).
        valid: (H, k) bool, views used per hypothesis.
        projected: (H, k, 23, 2) final body keypoints projected into each view, pixels (for
            overlays against the detections).
        history: ``iteration`` (n,), ``total`` (n, H), one (n, H) array per computed term,
            ``weight/<term>`` (n,) scheduled weights, ``view_weights`` (n, H, k); logged at
            iteration 0, every ``cfg.log_every`` iterations and at the last one. A term that
            was not evaluated at a logged iteration (no SDF, zero weight and unavailable) is NaN.
        skipped_steps: (H,) steps skipped for non-finite loss/gradients, per hypothesis.
        timings: wall seconds ``setup``, ``optimize``, ``finalize``, ``total``, ``ms_per_step``, and
            ``optimize_cpu`` (this process's CPU seconds in the loop: on a shared machine the fair
            measure of the work done).
        config: the :class:`LiftConfig` used; refine: whether ``refine_weights`` were used.
        body_model: backend name; camera_names: the k camera names.
        extra: with ``scene_depth`` and an ``occlusion_weight`` below 1: ``hidden`` (H, k, J) bool, the
            matched points the scene hid at the last visibility update, and ``point_names`` (J,).
    """

    params: BodyParams
    latent: torch.Tensor
    vertices: torch.Tensor
    joints: torch.Tensor
    keypoints: torch.Tensor
    faces: torch.Tensor
    body_pose_smplx: torch.Tensor | None
    view_weights: np.ndarray
    valid: np.ndarray
    projected: np.ndarray
    history: dict[str, np.ndarray]
    skipped_steps: np.ndarray
    timings: dict[str, float]
    config: LiftConfig
    refine: bool
    body_model: str
    camera_names: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_hypotheses(self) -> int:
        return int(self.params.batch_size)

    def final_energies(self) -> dict[str, np.ndarray]:
        """(H,) value of every logged term at the last iteration."""
        return {k: v[-1] for k, v in self.history.items() if k in TERMS or k == "total"}

    def arrays(self, h: int) -> dict[str, Any]:
        """What ``result.npz`` holds for hypothesis ``h`` (numpy; see ``inhabit.export.results``)."""
        p = self.params.index(h)
        out: dict[str, Any] = {
            "vertices": self.vertices[h].numpy().astype(np.float32),
            "faces": self.faces.numpy().astype(np.int32),
            "joints": self.joints[h].numpy().astype(np.float32),
            "keypoints": self.keypoints[h].numpy().astype(np.float32),
            "body_model": self.body_model,
            "params": {k: v[0].numpy() for k, v in p.as_dict().items()} | {"latent": self.latent[h].numpy()},
            "view_weights": self.view_weights[h].astype(np.float32),
        }
        if self.body_pose_smplx is not None:
            out["body_pose_smplx"] = self.body_pose_smplx[h].numpy()
        return out


# --------------------------------------------------------------------------------------------
# Body evaluation (full or on a vertex subset)


def _evaluate_body(model: BodyModel, params: BodyParams, vertex_ids: torch.Tensor | None) -> BodyOutput:
    """Pose the body; ``vertices`` restricted to ``vertex_ids`` when given.

    Uses the backend's ``forward_subset(params, vertex_ids)`` or the exact anny adapter of
    :mod:`.fastbody` when available (only those vertices are skinned); otherwise poses the full mesh
    and indexes it.
    """
    if vertex_ids is not None:
        fast = make_subset_forward(model)
        if fast is not None:
            return fast(params, vertex_ids)
        out = model(params)
        return BodyOutput(out.vertices[:, vertex_ids], out.joints, out.keypoints, out.faces,
                          out.joint_names, out.keypoint_names)
    return model(params)


# Per-model caches, dropped with the model (weak keys: a new model never sees a stale entry).
_SUBSET_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PROXY_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _rest_output(model: BodyModel) -> BodyOutput:
    with torch.no_grad():
        return model(model.default_params(1))


def sdf_vertex_subset(model: BodyModel, n: int) -> torch.Tensor | None:
    """(n,) farthest-point subset of the backend's rest-pose vertices (cached per model), or None for all."""
    if n <= 0:
        return None
    per_model = _SUBSET_CACHE.setdefault(model, {})
    if n not in per_model:
        rest = _rest_output(model).vertices[0].detach().cpu().numpy()
        per_model[n] = None if n >= len(rest) else torch.as_tensor(farthest_point_subset(rest, n), device=model.device)
    return per_model[n]


def capsule_proxy(model: BodyModel, num_vertices: int) -> CapsuleProxy | None:
    """The self-penetration proxy of a backend (cached per model); None when the backend does not
    label its vertices with body parts (``vertex_parts``)."""
    if getattr(model, "vertex_parts", None) is None:
        return None
    per_model = _PROXY_CACHE.setdefault(model, {})
    if num_vertices not in per_model:
        from inhabit.body.parts import PART_ADJACENCY, PART_NAMES, vertex_parts

        rest = _rest_output(model)
        per_model[num_vertices] = build_capsule_proxy(rest.vertices[0].cpu().numpy(),
                                                      vertex_parts(model).cpu().numpy(), PART_NAMES, PART_ADJACENCY,
                                                      num_vertices)
    return per_model[num_vertices]


def _default_shape_prior(model: BodyModel) -> Callable[[torch.Tensor], torch.Tensor]:
    from inhabit.body.prior import shape_prior

    return lambda shape: shape_prior(shape, model)


def cached_joint_limit_energy(dtype: torch.dtype, device) -> Callable[[torch.Tensor], torch.Tensor]:
    """``inhabit.body.prior.joint_limit_energy`` with the limit tables built once (the library
    function rebuilds them from degrees on every call, ~1 ms — a tenth of a fit step)."""
    from inhabit.body.prior import joint_limits

    lo, hi = joint_limits(dtype, device)

    def energy(rotvec: torch.Tensor) -> torch.Tensor:
        rv = rotvec.reshape(rotvec.shape[0], lo.shape[0], 3)
        return (torch.relu(lo - rv) + torch.relu(rv - hi)).square().sum(dim=(1, 2))

    return energy


def _angle_prior_l2(prior) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """For an :class:`~inhabit.body.prior.AnglePrior` (whose energy is the joint-angle prior plus
    limits, evaluated here as separate terms), the ``pose_prior`` term is its L2 pull to the initial
    pose, mean((θ − θ_init)²) over the 63 SMPL-X components; None for a latent prior (VPoser), whose
    own ``energy`` is the term."""
    from inhabit.body.prior import AnglePrior

    if not isinstance(prior, AnglePrior):
        return None
    init = prior._init_rotvec.detach().reshape(1, -1)

    def l2(rotvec: torch.Tensor) -> torch.Tensor:
        return (rotvec.reshape(rotvec.shape[0], -1) - init.to(rotvec)).square().mean(dim=1)

    return l2


# --------------------------------------------------------------------------------------------
# The fit


@dataclass
class _Problem:
    """Everything constant during the optimisation."""

    model: BodyModel
    prior: Any
    views: ViewTensors
    obs: Observations
    group: torch.Tensor
    corr: Any
    sdf: SDFCallable | None
    shape_prior: Callable[[torch.Tensor], torch.Tensor] | None
    angle_prior: Callable[[torch.Tensor], torch.Tensor] | None
    limit_prior: Callable[[torch.Tensor], torch.Tensor] | None
    pose_l2: Callable[[torch.Tensor], torch.Tensor] | None
    sdf_ids: torch.Tensor | None
    proxy: CapsuleProxy | None
    cfg: LiftConfig
    learn_view_weights: bool
    slices: dict[str, slice]
    ids: dict[tuple[bool, bool], torch.Tensor] = field(default_factory=dict)
    scene_power: int = 1
    full_ids: dict[bool, torch.Tensor] | None = None
    depth: torch.Tensor | None = None
    conf: torch.Tensor | None = None

    def __post_init__(self) -> None:
        dev = self.obs.xy.device
        self.conf = self.obs.conf  # the confidences the 2D terms use; lowered for hidden points
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        sdf_ids = self.sdf_ids if self.sdf_ids is not None else empty
        self_ids = self.proxy.vertex_ids.to(dev) if self.proxy is not None else empty
        self.ids = {(a, b): torch.cat([sdf_ids if a else empty, self_ids if b else empty])
                    for a in (False, True) for b in (False, True)}
        # Every vertex (then the self-penetration ones, when wanted) through the backend's subset
        # path: cheaper than its full forward for anny (no dense keypoint regression, warp
        # skinning only); None when the backend has no such path.
        if make_subset_forward(self.model) is not None:
            V = int(_rest_output(self.model).vertices.shape[1])
            all_ids = torch.arange(V, device=dev)
            self.full_ids = {False: all_ids, True: torch.cat([all_ids, self_ids])}


def _split(theta: torch.Tensor, sl: dict[str, slice]) -> dict[str, torch.Tensor]:
    return {k: theta[:, s] for k, s in sl.items()}


def _params_of(theta: torch.Tensor, pb: _Problem) -> BodyParams:
    parts = _split(theta, pb.slices)
    return BodyParams(parts["orient"].clone(), parts["transl"].clone(), pb.prior.decode(parts["pose"]).clone(),
                      parts["shape"].clone())


def _view_weights(logits: torch.Tensor, pb: _Problem) -> torch.Tensor:
    valid = pb.obs.valid.to(logits.dtype)
    if not pb.learn_view_weights:
        return valid
    return torch.sigmoid(logits) * valid


def _energies(theta: torch.Tensor, pb: _Problem, need: set[str], full_sdf: bool,
              freeze_shape: bool = False) -> dict[str, torch.Tensor]:
    """Every term in ``need`` that can be computed, each (H,)."""
    parts = _split(theta, pb.slices)
    if freeze_shape:
        parts["shape"] = parts["shape"].detach()
    body_pose = pb.prior.decode(parts["pose"])
    params = BodyParams(parts["orient"], parts["transl"], body_pose, parts["shape"])
    want_sdf = pb.sdf is not None and bool({"penetration", "contact"} & need)
    want_self = pb.proxy is not None and "self_penetration" in need
    sdf_subset = want_sdf and not full_sdf and pb.sdf_ids is not None
    # Pose all vertices when the scene terms need every one, else only the SDF subset and/or the
    # self-penetration subset (possibly none: keypoints and joints only). The index tensors are
    # built once (pb.ids), so a backend can cache what it gathers for them.
    if want_sdf and not sdf_subset:
        ids, n_sdf = None, 0
        if pb.full_ids is not None:
            ids = pb.full_ids[want_self]
            n_sdf = len(pb.full_ids[False])
    else:
        ids = pb.ids[(sdf_subset, want_self)]
        n_sdf = len(pb.sdf_ids) if sdf_subset else 0
    out = _evaluate_body(pb.model, params, ids)
    verts = out.vertices

    res: dict[str, torch.Tensor] = {}
    w = _view_weights(parts["view"], pb)
    if {"torso", "limb"} & need:
        pts = pb.corr.body_points(out.keypoints, out.joints)
        pred = pb.views.project_normalized(pts)
        costs = E.keypoint_costs(pred, pb.obs.xy, pb.conf, pb.cfg.sigma)
        per_group = E.view_weighted_mean(E.group_sum(costs, pb.group, 2), w)
        res["torso"], res["limb"] = per_group[:, 0], per_group[:, 1]
    if "view_count" in need:
        res["view_count"] = E.view_count_hinge(w, pb.obs.num_views, pb.cfg.view_tau, pb.cfg.hinge_min_views)
    want_angle = "joint_angle" in need and pb.angle_prior is not None
    want_limits = "joint_limits" in need and pb.limit_prior is not None
    want_l2 = "pose_prior" in need and pb.pose_l2 is not None
    if "pose_prior" in need and pb.pose_l2 is None:
        res["pose_prior"] = pb.prior.energy(parts["pose"])
    if want_angle or want_limits or want_l2:
        rv = pb.model.body_pose_to_smplx_rotvec(body_pose)
        if want_angle:
            res["joint_angle"] = pb.angle_prior(rv)
        if want_limits:
            res["joint_limits"] = pb.limit_prior(rv)
        if want_l2:
            res["pose_prior"] = pb.pose_l2(rv)
    if "shape" in need and pb.shape_prior is not None:
        res["shape"] = pb.shape_prior(parts["shape"])
    if want_sdf:
        sv = verts if ids is None else verts[:, :n_sdf]
        H, N = sv.shape[:2]
        s = pb.sdf(sv.reshape(-1, 3)).reshape(H, N)
        if "penetration" in need:
            res["penetration"] = E.scene_penetration(s, pb.cfg.penetration_threshold, pb.scene_power)
        if "contact" in need:
            tc = pb.cfg.penetration_threshold if pb.cfg.contact_threshold is None else pb.cfg.contact_threshold
            res["contact"] = E.scene_contact(s, tc, pb.scene_power)
    if want_self:
        sp = verts[:, pb.proxy.vertex_ids.to(verts.device)] if ids is None else verts[:, n_sdf:]
        res["self_penetration"] = capsule_self_penetration(sp, pb.proxy)
    return res


@torch.no_grad()
def _hidden_points(theta: torch.Tensor, pb: _Problem) -> torch.Tensor:
    """(H, k, J) bool: the current body's matched points that the scene hides in each view."""
    parts = _split(theta, pb.slices)
    params = BodyParams(parts["orient"], parts["transl"], pb.prior.decode(parts["pose"]), parts["shape"])
    out = _evaluate_body(pb.model, params, pb.ids[(False, False)])
    xy, z = pb.views.project(pb.corr.body_points(out.keypoints, out.joints))
    return scene_occlusion(pb.depth, xy, z, pb.cfg.occlusion_margin)


def _lr_table(values: tuple[float, ...], cfg: LiftConfig) -> np.ndarray:
    """Per-iteration learning rates: P constants (GenZI) or P+1 ramp knots."""
    if len(values) == cfg.num_phases:
        return phase_table(values, cfg.phase_iters)
    return knot_table(values, cfg.phase_iters)


def fit_bodies(
    body_model: BodyModel,
    prior: Any,
    cameras: Sequence[Camera],
    keypoints: Sequence[Keypoints2D] | Keypoints2D,
    sdf: SDFCallable | None = None,
    cfg: LiftConfig | str = "inhabit",
    *,
    point: np.ndarray | Sequence[float] | None = None,
    init: LiftInit | None = None,
    valid: np.ndarray | None = None,
    explicit_views: bool = False,
    learn_view_weights: bool = True,
    shape_prior: Callable[[torch.Tensor], torch.Tensor] | None = None,
    angle_prior: Callable[[torch.Tensor], torch.Tensor] | None = None,
    limit_prior: Callable[[torch.Tensor], torch.Tensor] | None = None,
    scene_depth: Sequence[np.ndarray] | None = None,
    on_log: Callable[[int, BodyParams, np.ndarray], None] | None = None,
    progress: bool = True,
) -> LiftResult:
    """Fit H bodies, one per hypothesis, to 2D keypoints in k calibrated views and to the scene.

    Args:
        body_model: the :class:`BodyModel` (its batch axis carries the hypotheses).
        prior: a ``PosePrior`` (``latent_dim``, ``initial_latent(B)``, ``decode(z)``, ``energy(z)``).
        cameras: k OpenCV cameras (``inhabit.camera.views.select_views(...).cameras``).
        keypoints: H :class:`Keypoints2D` with k rows each (row v = camera v), or one for H = 1.
        sdf: the scene SDF (``LocalSDFGrid``); None skips the scene terms.
        cfg: a :class:`LiftConfig` or a preset name.
        point: (3,) the interaction point p (needed for the default initialisation).
        init: a start (:func:`~inhabit.lift.init.init_from_params` for refinement); default GenZI's.
        valid: (H, k) bool mask of usable views (default: views with any detected point).
        explicit_views: the views were given by the user (t0 = p instead of the midpoint).
        learn_view_weights: False fixes every used view's weight to 1 (paper ablation "w/o VC").
        shape_prior: (H, S) → (H,); default ``inhabit.body.prior.shape_prior``.
        angle_prior: (H, 21, 3) SMPL-X-style rotvecs → (H,); default GenZI's joint-angle prior
            ``inhabit.body.prior.genzi_angle_prior``.
        limit_prior: the same for the joint limits; default ``inhabit.body.prior.joint_limit_energy``.
        scene_depth: k (height, width) depth maps of the scene alone (camera z, ``inf`` where empty;
            ``render.mesh`` depth pass), one per camera: keypoints the current body puts behind the
            scene get their confidence times ``cfg.occlusion_weight`` (see :class:`LiftConfig`).
        on_log: called at every logged iteration with (iteration, detached BodyParams (H rows),
            view weights (H, k)) — e.g. to render GenZI's progress videos.
        progress: show a progress bar.

    Returns:
        A :class:`LiftResult`.

    Raises:
        InputError: bad cameras, keypoints, mask or point (one sentence naming it).
        OptimizationError: a hypothesis skipped every step or ended non-finite.
    """
    t_start = time.perf_counter()
    if isinstance(cfg, str):
        cfg = lift_preset(cfg)
    if isinstance(keypoints, Keypoints2D):
        keypoints = [keypoints]
    old_threads = torch.get_num_threads()
    set_threads = bool(cfg.torch_threads) and body_model.device.type == "cpu"
    if set_threads:
        torch.set_num_threads(cfg.torch_threads)
    try:
        return _fit(body_model, prior, cameras, list(keypoints), sdf, cfg, point, init, valid, explicit_views,
                    learn_view_weights, shape_prior, angle_prior, limit_prior, scene_depth, on_log, progress,
                    t_start)
    finally:
        if set_threads:
            torch.set_num_threads(old_threads)


def _fit(model, prior, cameras, keypoints, sdf, cfg: LiftConfig, point, init, valid, explicit_views,
         learn_view_weights, shape_prior, angle_prior, limit_prior, scene_depth, on_log, progress,
         t_start) -> LiftResult:
    dtype, device = model.dtype, model.device
    views = stack_cameras(cameras, dtype, device)
    corr = build_correspondences(keypoints[0].names if keypoints else (), cfg.torso_names, cfg.limb_names)
    obs = prepare_observations(keypoints, views, corr, valid)
    H, k = obs.valid.shape

    if init is None:
        if point is None:
            raise InputError("lifting needs the interaction point 'point' (x, y, z) to initialise the body, "
                             "or an explicit init")
        p = np.asarray(point, dtype=np.float64).reshape(-1)
        if p.shape != (3,) or not np.isfinite(p).all():
            raise InputError(f"the interaction point must be 3 finite numbers (x, y, z), got {point!r}")
        kyaw = None
        if cfg.facing == "keypoints":
            kyaw = np.array([yaw_from_keypoints(kp.xy, kp.conf, kp.names, cameras, obs.valid[h].cpu().numpy())
                             for h, kp in enumerate(keypoints)])
        init = default_init(model, prior, H, views.centers, p, cfg.facing, cfg.init_yaw_deg, explicit_views,
                            cfg.init_pose, kyaw)
    init = init.expand(H)
    knots = cfg.refine_weights if init.refine else cfg.weights

    # Parameter table: [orient 6 | transl 3 | latent L | shape S | view logits k].
    blocks = {
        "orient": init.global_orient,
        "transl": init.transl,
        "pose": init.latent,
        "shape": init.shape,
        "view": torch.zeros(H, k, dtype=dtype, device=device),
    }
    slices, start = {}, 0
    for g in PARAM_GROUPS:
        n = blocks[g].shape[1]
        slices[g] = slice(start, start + n)
        start += n
    theta = torch.cat([blocks[g].to(device=device, dtype=dtype) for g in PARAM_GROUPS], dim=1)
    if not torch.isfinite(theta).all():
        raise InputError("the initial body parameters are not finite; check the init (previous result) or the prior")
    theta = theta.detach().clone().requires_grad_(True)
    col_group = torch.cat([torch.full((blocks[g].shape[1],), i) for i, g in enumerate(PARAM_GROUPS)])
    wd_col = torch.full((theta.shape[1],), cfg.weight_decay, dtype=dtype, device=device)
    shape_cols = torch.zeros(theta.shape[1], dtype=torch.bool, device=device)
    shape_cols[slices["shape"]] = True
    if not cfg.decay_translation:
        wd_col[slices["transl"]] = 0.0

    weight_tab = np.stack([knot_table(getattr(knots, t), cfg.phase_iters) for t in TERMS], axis=1)  # (n, T)
    lr_tab = np.stack([_lr_table(getattr(cfg.lr, g), cfg) for g in PARAM_GROUPS], axis=1)  # (n, G)
    n_iters = cfg.num_iters

    if shape_prior is None:
        shape_prior = _default_shape_prior(model)
    if angle_prior is None:
        from inhabit.body.prior import genzi_angle_prior

        angle_prior = genzi_angle_prior
    if limit_prior is None:
        limit_prior = cached_joint_limit_energy(dtype, device)
    uses_self = bool(weight_tab[:, TERMS.index("self_penetration")].any())
    if uses_self and getattr(model, "vertex_parts", None) is None:
        logger.warning("body model %r has no vertex_parts(): the self-penetration term is skipped",
                       getattr(model, "name", type(model).__name__))
    pb = _Problem(
        model=model, prior=prior, views=views, obs=obs,
        group=torch.as_tensor(corr.group, device=device), corr=corr, sdf=sdf,
        shape_prior=shape_prior, angle_prior=angle_prior, limit_prior=limit_prior,
        pose_l2=_angle_prior_l2(prior),
        sdf_ids=sdf_vertex_subset(model, cfg.sdf_vertices) if sdf is not None else None,
        proxy=capsule_proxy(model, cfg.selfpen_vertices) if uses_self else None,
        cfg=cfg, learn_view_weights=learn_view_weights, slices=slices,
        scene_power=2 if cfg.scene_penalty == "quadratic" else 1,
        depth=(stack_depth_maps(scene_depth, views, cameras)
               if scene_depth is not None and cfg.occlusion_weight < 1.0 else None),
    )
    hidden = torch.zeros_like(obs.conf, dtype=torch.bool)
    opt = RowMaskedAdamW(theta, cfg.adam_betas, cfg.adam_eps)
    skipped = torch.zeros(H, dtype=torch.long)
    log_its = sorted({0, n_iters - 1, *range(0, n_iters, cfg.log_every)})
    log_set = set(log_its)
    hist_terms: dict[str, list[np.ndarray]] = {t: [] for t in TERMS}
    hist_total: list[np.ndarray] = []
    hist_w: list[np.ndarray] = []
    t_setup = time.perf_counter()
    cpu_setup = time.process_time()

    lr_col = None
    last_phase = -1
    ramping_lr = any(len(getattr(cfg.lr, g)) != cfg.num_phases for g in PARAM_GROUPS)
    with bar(n_iters, "lift", leave=False) if progress else _NullBar() as pbar:
        for it in range(n_iters):
            phase = it // cfg.phase_iters
            if (pb.depth is not None and phase >= cfg.occlusion_start_phase
                    and (it - cfg.occlusion_start_phase * cfg.phase_iters) % cfg.occlusion_every == 0):
                hidden = _hidden_points(theta, pb)
                pb.conf = torch.where(hidden, obs.conf * cfg.occlusion_weight, obs.conf)
            if phase != last_phase or ramping_lr:
                lr_col = torch.as_tensor(lr_tab[it], dtype=dtype, device=device)[col_group]
                last_phase = phase
            w_it = weight_tab[it]
            active_terms = {t for t, wv in zip(TERMS, w_it) if wv != 0.0}
            log_now = it in log_set
            need = set(TERMS) if log_now else active_terms
            frozen_shape = phase in cfg.freeze_shape_phases
            en = _energies(theta, pb, need, full_sdf=it >= n_iters - cfg.sdf_full_last, freeze_shape=frozen_shape)
            loss_h = theta.new_zeros(H)
            for t, wv in zip(TERMS, w_it):
                if wv != 0.0 and t in en:
                    loss_h = loss_h + float(wv) * en[t]
            theta.grad = None
            loss_h.sum().backward()
            with torch.no_grad():
                finite = torch.isfinite(loss_h) & torch.isfinite(theta.grad).all(dim=1)
            skipped += (~finite).cpu().long()
            opt.step(lr_col, wd_col, finite, shape_cols if frozen_shape else None)
            if log_now:
                with torch.no_grad():
                    for t in TERMS:
                        hist_terms[t].append(en[t].detach().cpu().numpy().copy() if t in en
                                             else np.full(H, np.nan))
                    hist_total.append(loss_h.detach().cpu().numpy().copy())
                    hist_w.append(_view_weights(theta[:, slices["view"]], pb).detach().cpu().numpy().copy())
                    if on_log is not None:
                        on_log(it, _params_of(theta.detach(), pb), hist_w[-1])
            if it % 20 == 19 or it == n_iters - 1:
                pbar.update(20 if it % 20 == 19 else (it % 20) + 1)
    t_opt = time.perf_counter()
    cpu_opt = time.process_time() - cpu_setup

    for h in range(H):
        if int(skipped[h]) >= n_iters:
            raise OptimizationError(
                f"lifting hypothesis {h}: every one of the {n_iters} steps had a non-finite loss or gradient; "
                "check its keypoints, the cameras and the scene SDF"
            )
    with torch.inference_mode():
        th = theta.detach()
        parts = _split(th, slices)
        body_pose = prior.decode(parts["pose"])
        params = BodyParams(parts["orient"].clone(), parts["transl"].clone(), body_pose.clone(), parts["shape"].clone())
        out = model(params)
        try:
            smplx_pose = model.body_pose_to_smplx_rotvec(body_pose).clone()
        except (NotImplementedError, AttributeError):
            smplx_pose = None
        projected, _ = views.project(out.keypoints)
        vw = _view_weights(parts["view"], pb)
    for h in range(H):
        if not (torch.isfinite(out.vertices[h]).all() and torch.isfinite(out.joints[h]).all()):
            raise OptimizationError(
                f"lifting hypothesis {h} ended with a non-finite body although its parameters are finite; "
                f"the body model '{model.name}' produced NaN/inf for them"
            )
    t_end = time.perf_counter()

    history: dict[str, np.ndarray] = {"iteration": np.asarray(log_its, dtype=np.int64),
                                      "total": np.stack(hist_total)}
    for t in TERMS:
        history[t] = np.stack(hist_terms[t])
        history[f"weight/{t}"] = weight_tab[log_its, TERMS.index(t)]
    history["view_weights"] = np.stack(hist_w)
    return LiftResult(
        params=params.detach(),
        latent=parts["pose"].clone(),
        vertices=out.vertices.clone(),
        joints=out.joints.clone(),
        keypoints=out.keypoints.clone(),
        faces=out.faces.clone(),
        body_pose_smplx=smplx_pose,
        view_weights=vw.cpu().numpy(),
        valid=obs.valid.cpu().numpy(),
        projected=projected.cpu().numpy(),
        history=history,
        skipped_steps=skipped.numpy(),
        timings={
            "setup": t_setup - t_start,
            "optimize": t_opt - t_setup,
            "finalize": t_end - t_opt,
            "total": t_end - t_start,
            "ms_per_step": 1000.0 * (t_opt - t_setup) / max(n_iters, 1),
            "optimize_cpu": cpu_opt,
        },
        config=cfg,
        refine=init.refine,
        body_model=getattr(model, "name", type(model).__name__),
        camera_names=views.names,
        extra={"hidden": hidden.cpu().numpy(), "point_names": corr.names} if pb.depth is not None else {},
    )


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass
