"""The ZeroHSI reconstruction loop (Algorithm 1, RECONSTRUCT4DHSI) and the track it produces.

For t = 1 … T−1 (frame 0 is the initial state the video was generated from):

1. camera: relative transform from the static background (:func:`~inhabit.track.camera_track.track_camera`,
   mask of Eq. 8);
2. body pose Θ_t initialised by a 2D keypoint fit from the new camera
   (:func:`~inhabit.track.keypoint_init.fit_pose_to_keypoints`), root (r, φ) from frame t − 1;
3. human + object fit on the photometric loss (:func:`~inhabit.track.frame_fit.fit_frame`), the
   colour net fine-tuned as it goes (D.3).

:class:`MotionTrack` holds every frame's result and is resumable: ``callback(t, track)`` after each
frame lets the caller save it (:meth:`MotionTrack.save`), and ``resume=`` continues a saved track,
restoring the human's appearance. Long motions chain clips (C.7): :meth:`MotionTrack.init_for_next`
gives the next clip's initial state and :func:`chain_clips` joins the tracks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from inhabit.body.protocol import BodyModel, BodyOutput, BodyParams
from inhabit.camera.pinhole import Camera, invert_rigid
from inhabit.errors import InputError, OptimizationError
from inhabit.structures import Keypoints2D
from inhabit.track.config import TrackConfig, track_config_from_dict

TRACK_FORMAT = "inhabit.track/1"
STATUSES = ("pending", "init", "ok", "skipped", "failed")
"""Frame states: not reached yet; the given initial frame; fitted; kept from the previous frame because
nothing of the person or object was visible; kept because the fit produced no finite loss."""


@dataclass
class TrackInit:
    """The initial state of a clip (frame 0).

    Attributes:
        params: the body, batch 1.
        camera: the clip's camera (K, size) at frame 0's pose ``T_cam_world``.
        object_pose: (4, 4) ``T_world_object`` at frame 0, or None without a moving object.
    """

    params: BodyParams
    camera: Camera
    object_pose: np.ndarray | None = None


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


@dataclass
class MotionTrack:
    """A reconstructed clip: one entry per frame, frame 0 = the initial state.

    Attributes:
        params: per-frame body parameters (batch T, CPU, detached).
        T_world_cam: (T, 4, 4) camera poses.
        K: (3, 3) intrinsics; width, height: image size.
        object_pose: (T, 4, 4) ``T_world_object`` per frame, or None.
        losses: name -> (T,) per-frame values (NaN where not computed): ``camera_first`` /
            ``camera`` (masked L2 before/after the camera step), ``total_first`` / ``total``, ``rgb``,
            ``center``, ``depth`` (fit terms), ``kp_points`` (keypoints used by the 2D fit),
            ``kp_accepted`` (1 when the gate kept the 2D fit), ``iters``, ``seconds``.
        status: (T,) one of :data:`STATUSES` per frame.
        appearance: the human's colour-model state after the last finished frame (name -> array),
            so a resumed run continues with the fine-tuned appearance.
        refined: True after :func:`~inhabit.track.refine.refine_motion`.
        meta: JSON-able extras (the config, the object reference depth, …).
    """

    params: BodyParams
    T_world_cam: np.ndarray
    K: np.ndarray
    width: int
    height: int
    object_pose: np.ndarray | None = None
    losses: dict[str, np.ndarray] = field(default_factory=dict)
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U8"))
    appearance: dict[str, np.ndarray] | None = None
    refined: bool = False
    meta: dict = field(default_factory=dict)

    # --- construction -----------------------------------------------------------------------------

    @staticmethod
    def start(num_frames: int, init: TrackInit, has_object: bool) -> MotionTrack:
        """A track of ``num_frames`` frames with frame 0 = ``init`` and the others pending (holding
        frame 0's values until fitted)."""
        n = int(num_frames)
        p = init.params.detach().to("cpu")
        params = p.map(lambda t: t.expand(n, -1).clone())
        T_wc = np.repeat(invert_rigid(init.camera.T_cam_world)[None], n, axis=0)
        obj = None
        if has_object:
            if init.object_pose is None:
                raise InputError("the clip has an object but init.object_pose is None; expected a (4, 4) pose")
            obj = np.repeat(np.asarray(init.object_pose, np.float64).reshape(4, 4)[None], n, axis=0)
        status = np.array(["pending"] * n, dtype="<U8")
        status[0] = "init"
        return MotionTrack(params, T_wc, np.asarray(init.camera.K, np.float64), int(init.camera.width),
                           int(init.camera.height), obj, {}, status)

    @property
    def num_frames(self) -> int:
        return int(self.T_world_cam.shape[0])

    @property
    def num_done(self) -> int:
        """Frames finished, counted from the start (the first ``pending`` frame's index)."""
        pending = np.flatnonzero(self.status == "pending")
        return int(pending[0]) if len(pending) else self.num_frames

    @property
    def complete(self) -> bool:
        return self.num_done == self.num_frames

    def camera(self, t: int) -> Camera:
        """Frame t's :class:`Camera`."""
        return Camera(self.K.copy(), invert_rigid(self.T_world_cam[t]), self.width, self.height, f"frame{t:04d}")

    def cameras(self) -> list[Camera]:
        return [self.camera(t) for t in range(self.num_frames)]

    def frame_params(self, t: int) -> BodyParams:
        """Frame t's body (batch 1)."""
        return self.params.index(t).detach()

    def set_loss(self, name: str, t: int, value: float) -> None:
        if name not in self.losses:
            self.losses[name] = np.full(self.num_frames, np.nan)
        self.losses[name][t] = float(value)

    def set_frame(self, t: int, params: BodyParams, T_cam_world: np.ndarray | torch.Tensor,
                  object_pose: np.ndarray | torch.Tensor | None, status: str) -> None:
        """Store frame t's result."""
        if status not in STATUSES:
            raise ValueError(f"unknown frame status {status!r}; expected one of {STATUSES}")
        p = params.detach().to("cpu")
        for name in ("global_orient", "transl", "body_pose", "shape"):
            getattr(self.params, name)[t] = getattr(p, name)[0].to(getattr(self.params, name).dtype)
        self.T_world_cam[t] = invert_rigid(_np(T_cam_world).astype(np.float64))
        if self.object_pose is not None and object_pose is not None:
            self.object_pose[t] = _np(object_pose).astype(np.float64)
        self.status[t] = status

    def body(self, body_model: BodyModel, frames: slice | None = None) -> BodyOutput:
        """The posed bodies of all (or some) frames (batch = frames)."""
        p = self.params if frames is None else self.params.index(frames)
        with torch.no_grad():
            return body_model(p.to(device=body_model.device, dtype=body_model.dtype))

    def init_for_next(self, t: int = -1) -> TrackInit:
        """Frame t's state (default the last) as the initial state of the next clip (C.7)."""
        t = t % self.num_frames
        pose = None if self.object_pose is None else self.object_pose[t].copy()
        return TrackInit(self.frame_params(t), self.camera(t), pose)

    def copy(self) -> MotionTrack:
        return MotionTrack(self.params.detach(), self.T_world_cam.copy(), self.K.copy(), self.width, self.height,
                           None if self.object_pose is None else self.object_pose.copy(),
                           {k: v.copy() for k, v in self.losses.items()}, self.status.copy(),
                           None if self.appearance is None else {k: v.copy() for k, v in self.appearance.items()},
                           self.refined, json.loads(json.dumps(self.meta)))

    # --- files ------------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (the npz layout of :meth:`save`)."""
        out: dict[str, np.ndarray] = {
            "format": np.array(TRACK_FORMAT),
            "T_world_cam": self.T_world_cam,
            "K": self.K,
            "size": np.array([self.width, self.height], np.int64),
            "status": self.status.astype("<U8"),
            "refined": np.array(bool(self.refined)),
            "meta_json": np.array(json.dumps(self.meta)),
        }
        for name, t in self.params.as_dict().items():
            out[f"params/{name}"] = _np(t)
        if self.object_pose is not None:
            out["object_pose"] = self.object_pose
        for name, v in self.losses.items():
            out[f"losses/{name}"] = np.asarray(v, np.float64)
        for name, v in (self.appearance or {}).items():
            out[f"appearance/{name}"] = np.asarray(v)
        return out

    def save(self, path: str | Path) -> Path:
        """Write the track atomically to ``path`` (.npz)."""
        from inhabit.io import write_npz

        return write_npz(path, **self.to_arrays())

    @staticmethod
    def load(path: str | Path) -> MotionTrack:
        """Read a track written by :meth:`save`.

        Raises:
            InputError: missing file, not a track file, or inconsistent arrays (named).
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"track file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise InputError(f"track file {path} could not be read as an .npz archive ({e})") from None
        fmt = str(data.get("format", ""))
        if fmt != TRACK_FORMAT:
            raise InputError(f"{path} is not an inhabit track file (format {fmt!r}, expected {TRACK_FORMAT!r})")
        try:
            params = BodyParams(*(torch.as_tensor(data[f"params/{n}"]) for n in
                                  ("global_orient", "transl", "body_pose", "shape")))
            T = data["T_world_cam"]
            width, height = (int(v) for v in data["size"])
            track = MotionTrack(params, T.astype(np.float64), data["K"].astype(np.float64), width, height,
                                data["object_pose"].astype(np.float64) if "object_pose" in data else None,
                                {k[7:]: v for k, v in data.items() if k.startswith("losses/")},
                                data["status"].astype("<U8"),
                                {k[11:]: v for k, v in data.items() if k.startswith("appearance/")} or None,
                                bool(data["refined"]), json.loads(str(data["meta_json"])))
        except KeyError as e:
            raise InputError(f"track file {path} lacks the array {e.args[0]!r}") from None
        n = track.num_frames
        bad = [name for name, a in (("params/transl", params.transl), ("status", track.status)) if a.shape[0] != n]
        if T.shape != (n, 4, 4) or bad:
            raise InputError(f"track file {path} is inconsistent: T_world_cam {T.shape} vs {', '.join(bad) or 'ok'}")
        return track


# --- appearance state ---------------------------------------------------------------------------------


def appearance_state(human) -> dict[str, np.ndarray]:
    """The human's fine-tunable appearance (colour net + base colours) as arrays."""
    state = {"base_color_logits": _np(human.base_color_logits).copy()}
    if getattr(human, "color_net", None) is not None:
        for k, v in human.color_net.state_dict().items():
            state[f"color_net.{k}"] = _np(v).copy()
    return state


@torch.no_grad()
def load_appearance_state(human, state: dict[str, np.ndarray]) -> None:
    """Restore :func:`appearance_state` into ``human`` (in place)."""
    if "base_color_logits" in state:
        human.base_color_logits.copy_(torch.as_tensor(state["base_color_logits"]).to(human.base_color_logits))
    net = getattr(human, "color_net", None)
    if net is not None:
        sd = {k[len("color_net."):]: torch.as_tensor(v) for k, v in state.items() if k.startswith("color_net.")}
        if sd:
            net.load_state_dict({k: v.to(net.state_dict()[k]) for k, v in sd.items()})


# --- inputs ------------------------------------------------------------------------------------------


def _frames_tensor(frames, height: int, width: int, dtype, device) -> torch.Tensor:
    f = frames if isinstance(frames, torch.Tensor) else torch.as_tensor(np.asarray(frames))
    if f.ndim != 4 or f.shape[-1] != 3:
        raise InputError(f"frames must be (T, H, W, 3) images, got shape {tuple(f.shape)}")
    if tuple(f.shape[1:3]) != (height, width):
        raise InputError(f"frames are {f.shape[2]}x{f.shape[1]} but the camera of init is {width}x{height}; "
                         "expected frames at the camera's size")
    if f.dtype == torch.uint8:
        f = f.to(dtype) / 255.0
    f = f.to(dtype=dtype, device=device)
    if not bool(torch.isfinite(f).all()):
        raise InputError("frames contain NaN or infinite values")
    return f


def _masks(masks, name: str, shape: tuple[int, int, int]) -> np.ndarray:
    m = np.asarray(masks)
    if m.shape != shape:
        raise InputError(f"{name} has shape {m.shape}; expected {shape} (one mask per frame at the frames' size)")
    return m.astype(bool)


def _object_layer_depth(out_extra: torch.Tensor, vis: torch.Tensor | None) -> tuple[float, float]:
    w = out_extra[..., 0] if vis is None else vis * out_extra[..., 0]
    wz = out_extra[..., 1] if vis is None else vis * out_extra[..., 1]
    mass = float(w.sum())
    return mass, (float(wz.sum()) / mass if mass > 1e-6 else float("nan"))


def reference_object_depth(scene, human, body_model, params: BodyParams, obj_gaussians, T_world_object, camera,
                           splatter, cfg: TrackConfig) -> float | None:
    """D_O^0 (Eq. 12): the seen object's mean camera depth in frame 0.

    Computed with the same estimator as the per-frame term (object Gaussians composited with a
    depth channel, seen weight from the two-layer composite), so an object that has not moved has
    exactly zero depth loss. The paper averages the full render's depth over the frame-0 object
    mask; the two agree where the mask and the render agree.
    """
    from inhabit.scene.gaussians import GaussianSet
    from inhabit.track.composite import composite_layers, layer_from_splat
    from inhabit.track.delta import camera_center_of
    from inhabit.track.frame_fit import object_extra

    dtype, device = body_model.dtype, body_model.device
    T = torch.as_tensor(camera.T_cam_world, dtype=dtype, device=device)
    with torch.no_grad():
        hg = human(params.to(device=device, dtype=dtype), camera_center_of(T))
        og = obj_gaussians.transformed(torch.as_tensor(T_world_object, dtype=dtype, device=device))
        extra = torch.cat([torch.zeros(len(hg), 2, dtype=dtype, device=device), object_extra(og, T)])
        dyn = splatter.render(GaussianSet.cat([hg, og]), camera, T_cam_world=T, extra=extra)
        stat = splatter.render(scene, camera, T_cam_world=T)
        _, vis = composite_layers(layer_from_splat(stat), layer_from_splat(dyn))
    _mass, depth = _object_layer_depth(dyn.extra, vis)
    return depth if np.isfinite(depth) else None


def _project(points: torch.Tensor, K: np.ndarray, T_cam_world: torch.Tensor) -> np.ndarray:
    from inhabit.camera.pinhole import project_points

    with torch.no_grad():
        uv, z = project_points(points, torch.as_tensor(K, dtype=points.dtype, device=points.device),
                               T_cam_world.to(points))
    uv = uv.cpu().numpy()
    uv[z.cpu().numpy() <= 0.01] = np.nan
    return uv


@torch.no_grad()
def photometric_loss(human, body_model, params: BodyParams, obj_gs, T_world_object, target, splatter,
                     cfg: TrackConfig) -> float:
    """L_rgb (Eq. 10) of one candidate state on a frame target (no gradient): the keypoint gate."""
    from inhabit.track.delta import camera_center_of
    from inhabit.track.frame_fit import render_composite
    from inhabit.track.losses import rgb_loss

    dtype, device = body_model.dtype, body_model.device
    T = target.T_cam_world.to(dtype=dtype, device=device)
    hg = human(params.to(device=device, dtype=dtype), camera_center_of(T))
    og = None if obj_gs is None else obj_gs.transformed(T_world_object)
    bg = torch.as_tensor(cfg.background, dtype=dtype, device=device)
    rgb, _, _ = render_composite(hg, og, target, splatter, bg, cfg.composite)
    return float(rgb_loss(rgb, target.crop.slice(target.image).to(rgb), cfg.ssim_lambda))


# --- the loop ----------------------------------------------------------------------------------------


def reconstruct_motion(
    scene_gaussians,
    human,
    body_model: BodyModel,
    prior,
    obj,
    init: TrackInit,
    frames,
    human_masks,
    object_masks=None,
    keypoints: Keypoints2D | None = None,
    cfg: TrackConfig | None = None,
    callback: Callable[[int, MotionTrack], None] | None = None,
    resume: MotionTrack | None = None,
    splatter=None,
) -> MotionTrack:
    """Reconstruct a clip frame by frame (Algorithm 1, RECONSTRUCT4DHSI).

    Args:
        scene_gaussians: the static scene, a :class:`~inhabit.scene.gaussians.GaussianSet` (world).
        human: the :class:`~inhabit.body.gaussian_human.GaussianHuman` that rendered frame 0 (its
            colour net is fine-tuned in place).
        body_model: its body model.
        prior: the pose prior (its energy regularises the keypoint fit when it is the angle prior).
        obj: a :class:`~inhabit.scene.gaussians.RigidObject` (its Gaussians in the object frame; its
            own pose parameters are not used — ``init.object_pose`` is), or None.
        init: frame 0's state.
        frames: (T, H, W, 3) uint8 or float in [0, 1], frame 0 first, at the camera's size.
        human_masks: (T, H, W) bool. object_masks: (T, H, W) bool or None.
        keypoints: a :class:`Keypoints2D` with T rows (any named skeleton), or None (no per-frame
            pose initialisation: Θ_t starts from frame t − 1).
        cfg: :class:`TrackConfig` (default: the ``zerohsi`` preset).
        callback: ``callback(t, track)`` after frame t is stored (save the track there).
        resume: a partially finished track of this clip: frames before ``resume.num_done`` are
            kept, the appearance is restored, the loop continues.
        splatter: a :class:`~inhabit.render.splat.Splatter` (default ``get_splatter()`` for the
            scene's device).

    Returns:
        The :class:`MotionTrack` (not refined).

    Raises:
        InputError: inputs of the wrong shape or count (named).
        OptimizationError: every frame after frame 0 failed.
    """
    cfg = cfg or TrackConfig()
    from inhabit.track.config import torch_threads

    with torch_threads(cfg.threads):
        return _reconstruct(scene_gaussians, human, body_model, prior, obj, init, frames, human_masks, object_masks,
                            keypoints, cfg, callback, resume, splatter)


def _reconstruct(scene_gaussians, human, body_model, prior, obj, init, frames, human_masks, object_masks, keypoints,
                 cfg, callback, resume, splatter) -> MotionTrack:
    from inhabit.progress import bar
    from inhabit.render.splat import get_splatter
    from inhabit.track.camera_track import track_camera, view_subset
    from inhabit.track.composite import Crop, crop_box, layer_from_splat
    from inhabit.track.frame_fit import FrameTarget, fit_frame
    from inhabit.track.keypoint_init import fit_pose_to_keypoints
    from inhabit.track.losses import aggregated_static_masks, mask_center

    dtype, device = body_model.dtype, body_model.device
    cam0 = init.camera
    W, H = int(cam0.width), int(cam0.height)
    img = _frames_tensor(frames, H, W, dtype, device)
    n = img.shape[0]
    if n < 1:
        raise InputError("frames is empty; expected at least the initial frame")
    hm = _masks(human_masks, "human_masks", (n, H, W))
    om = None if object_masks is None else _masks(object_masks, "object_masks", (n, H, W))
    if keypoints is not None and len(keypoints) != n:
        raise InputError(f"keypoints has {len(keypoints)} rows but the clip has {n} frames; expected one per frame")
    if init.params.batch_size != 1:
        raise InputError(f"init.params must hold one body, got a batch of {init.params.batch_size}")
    has_obj = obj is not None
    if has_obj and init.object_pose is None:
        raise InputError("an object is given but init.object_pose is None; expected its (4, 4) pose in frame 0")
    scene = scene_gaussians.to(dtype=dtype, device=device)
    scene.check_finite("scene_gaussians")
    static = aggregated_static_masks(hm, om)
    static_t = torch.as_tensor(static, device=device)
    splatter = splatter or get_splatter(device=device)
    bg = torch.as_tensor(cfg.background, dtype=dtype, device=device)
    obj_gs = obj.gaussians.to(dtype=dtype, device=device) if has_obj else None

    if resume is not None:
        if resume.num_frames != n or (resume.width, resume.height) != (W, H):
            raise InputError(f"the track to resume has {resume.num_frames} frames of {resume.width}x{resume.height}; "
                             f"this clip has {n} of {W}x{H}")
        if (resume.object_pose is not None) != has_obj:
            raise InputError("the track to resume and this clip disagree on whether an object moves")
        track = resume.copy()  # the caller's track is left as it was
        if track.appearance:
            load_appearance_state(human, track.appearance)
    else:
        track = MotionTrack.start(n, init, has_obj)
        track.meta["config"] = cfg.to_dict()
    start = track.num_done
    color_params = [p for p in human.color_parameters() if p.requires_grad]
    color_opt = torch.optim.Adam(color_params, lr=cfg.color_lr) if (cfg.color_every and color_params) else None

    obj_depth_ref = track.meta.get("object_depth_ref")
    if has_obj and obj_depth_ref is None and cfg.lambda_depth > 0:
        cam_view = view_subset(scene, cam0, torch.as_tensor(cam0.T_cam_world, dtype=dtype, device=device),
                               cfg.scene_cull_margin)
        obj_depth_ref = reference_object_depth(scene.subset(cam_view), human, body_model, init.params, obj_gs,
                                               init.object_pose, cam0, splatter, cfg)
        track.meta["object_depth_ref"] = obj_depth_ref

    n_fit = 0
    with bar(max(0, n - start), "track frames") as pb:
        for t in range(start, n):
            t0 = time.perf_counter()
            prev = track.frame_params(t - 1).to(device=device, dtype=dtype)
            T_prev = torch.as_tensor(invert_rigid(track.T_world_cam[t - 1]), dtype=dtype, device=device)
            obj_prev = None if not has_obj else torch.as_tensor(track.object_pose[t - 1], dtype=dtype, device=device)

            # 1. camera (§3.3)
            keep = view_subset(scene, cam0, T_prev, cfg.scene_cull_margin)
            scene_view = scene.subset(keep)
            cstep = track_camera(scene_view, cam0, T_prev, img[t], static_t[t], cfg, splatter, bg)
            T_t = cstep.T_cam_world
            track.set_loss("camera_first", t, cstep.loss_first)
            track.set_loss("camera", t, cstep.loss_best)

            # 2. pose initialisation (Θ_t from 2D keypoints; r, φ from t − 1)
            params0 = prev
            if keypoints is not None and cfg.keypoint_init:
                params0, kinfo = fit_pose_to_keypoints(body_model, prev, keypoints[t], cam0, T_t, cfg, prior)
                track.set_loss("kp_points", t, kinfo["points"])
                if kinfo["skipped"]:
                    params0 = prev

            visible_h = bool(hm[t].any())
            visible_o = has_obj and om is not None and bool(om[t].any())
            if not visible_h and not visible_o:
                # nothing to fit against (the person left the frame, or faded away entirely: D.2)
                track.set_frame(t, prev, T_t, obj_prev, "skipped")
            else:
                # 3. crop around what moves, static layer once per frame
                if cfg.crop:
                    with torch.no_grad():
                        pts = [_project(body_model(params0).vertices[0], cam0.K, T_t),
                               _project(body_model(prev).vertices[0], cam0.K, T_t)]
                        if has_obj:
                            pts.append(_project(obj_gs.transformed(obj_prev).means, cam0.K, T_t))
                    masks = [hm[t]] + ([om[t]] if om is not None else [])
                    box = crop_box(W, H, masks, np.concatenate(pts), margin=cfg.crop_margin)
                else:
                    box = Crop.full(W, H)
                static_layer = None
                if cfg.composite == "layered":
                    with torch.no_grad():
                        static_layer = layer_from_splat(splatter.render(scene_view, box.camera(cam0), T_cam_world=T_t))
                center = None
                if visible_o:
                    center = mask_center(torch.as_tensor(om[t]), size=(W, H)).to(dtype)
                target = FrameTarget(cam0, T_t, img[t], box, center, obj_depth_ref if has_obj else None,
                                     static_layer, scene_view if cfg.composite == "full" else None)
                if params0 is not prev and cfg.kp_gate:
                    l_kp = photometric_loss(human, body_model, params0, obj_gs, obj_prev, target, splatter, cfg)
                    l_prev = photometric_loss(human, body_model, prev, obj_gs, obj_prev, target, splatter, cfg)
                    accepted = bool(l_kp <= l_prev)
                    track.set_loss("kp_accepted", t, float(accepted))
                    if not accepted:
                        params0 = prev
                fit = fit_frame(human, body_model, params0, obj_gs, obj_prev, target, cfg, splatter, color_opt)
                for k, v in fit.losses.items():
                    track.set_loss(k, t, v)
                track.set_loss("iters", t, fit.iters)
                track.meta.setdefault("crops", {})[str(t)] = [box.x0, box.y0, box.width, box.height]
                if fit.finite:
                    track.set_frame(t, fit.params, T_t, fit.object_pose, "ok")
                    n_fit += 1
                else:
                    track.set_frame(t, prev, T_t, obj_prev, "failed")
            track.appearance = appearance_state(human)
            track.set_loss("seconds", t, time.perf_counter() - t0)
            if callback is not None:
                callback(t, track)
            pb.update(1)
            pb.set_postfix(loss=f"{track.losses.get('total', [np.nan] * n)[t]:.4f}")
    if n - start > 0 and n_fit == 0 and not np.any(track.status[1:] == "ok") and np.any(track.status[1:] == "failed"):
        raise OptimizationError("every frame of the clip failed to reach a finite photometric loss; check the frames "
                                "(NaNs, blank images) and the initial state")
    return track


# --- chaining (C.7) ----------------------------------------------------------------------------------


def chain_clips(tracks: Sequence[MotionTrack]) -> MotionTrack:
    """Join successive clips of one long motion (C.7).

    Clip k + 1 was generated and reconstructed from clip k's last frame (:meth:`MotionTrack.init_for_next`),
    so its frame 0 repeats clip k's last frame and is dropped. Losses and statuses follow the frames;
    ``meta["clip_starts"]`` records where each clip begins in the joined track.

    Raises:
        InputError: no tracks, unfinished tracks, or tracks whose intrinsics, size or object
            presence differ.
    """
    if not tracks:
        raise InputError("chain_clips needs at least one track")
    first = tracks[0]
    for i, tr in enumerate(tracks):
        if not tr.complete:
            raise InputError(f"clip {i} is unfinished ({tr.num_done} of {tr.num_frames} frames); finish it before chaining")
        if (tr.width, tr.height) != (first.width, first.height) or not np.allclose(tr.K, first.K):
            raise InputError(f"clip {i} has other intrinsics or image size than clip 0; chained clips share one camera model")
        if (tr.object_pose is None) != (first.object_pose is None):
            raise InputError(f"clip {i} disagrees with clip 0 on whether an object moves")
    parts = list(tracks)
    sl = [slice(0, None)] + [slice(1, None)] * (len(tracks) - 1)
    params = BodyParams.cat([tr.params.index(s) for tr, s in zip(parts, sl)])
    T_wc = np.concatenate([tr.T_world_cam[s] for tr, s in zip(parts, sl)])
    obj = None if first.object_pose is None else np.concatenate([tr.object_pose[s] for tr, s in zip(parts, sl)])
    status = np.concatenate([tr.status[s] for tr, s in zip(parts, sl)])
    names = sorted({k for tr in tracks for k in tr.losses})
    losses = {}
    for k in names:
        losses[k] = np.concatenate([tr.losses.get(k, np.full(tr.num_frames, np.nan))[s] for tr, s in zip(parts, sl)])
    starts, pos = [], 0
    for tr, s in zip(parts, sl):
        starts.append(pos)
        pos += len(range(tr.num_frames)[s])
    meta = {"clip_starts": starts, "clips": [tr.meta for tr in tracks]}
    return MotionTrack(params, T_wc, first.K.copy(), first.width, first.height, obj, losses, status,
                       tracks[-1].appearance, all(tr.refined for tr in tracks), meta)


def track_config_of(track: MotionTrack) -> TrackConfig | None:
    """The :class:`TrackConfig` a track was made with (from its meta), or None."""
    d = track.meta.get("config")
    return None if d is None else track_config_from_dict(d)


__all__ = ["STATUSES", "TRACK_FORMAT", "MotionTrack", "TrackInit", "appearance_state", "chain_clips",
           "load_appearance_state", "photometric_loss", "reconstruct_motion", "reference_object_depth", "track_config_of"]
