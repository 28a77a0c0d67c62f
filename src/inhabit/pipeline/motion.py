"""``inhabit motion``: ZeroHSI end to end — a scene, an initial human (and object), a prompt and a
video in; a 4D motion (body, camera and object per frame) out.

Stages (sub-folders of the run; each resumes, see :mod:`inhabit.pipeline.runfolder`)::

    clip{k}/init/      the initial state: camera (appendix C.3, or the init file's, or the previous
                       clip's), frame0.png rendered with the splatter (scene + human + object), its
                       human/object masks and background, init.json, state.npz
    clip{k}/video/     the clip (--video, sub-sampled and sized; or --generate), checked: frames/,
                       input.mp4, first_frame.png, video.json
    clip{k}/masks/     human/object masks per frame + Eq. 8 static masks (masks.npz, masks_sheet.png)
    clip{k}/keypoints/ BlazePose per frame (keypoints.npz, keypoints_sheet.png)
    clip{k}/track/     the per-frame reconstruction (track.npz, losses.png); while it runs, every
                       finished frame is saved to clip{k}/track_partial/ and a re-run continues there
    clip{k}/refine/    the sequence refinement (refined.npz, refine.png)
    videos/            input.mp4, reconstruction.mp4 (tracked cameras), side.mp4, comparison.mp4,
                       contact_sheet.png, side_camera.json
    frame0.png  motion.npz  motion.glb  metrics.json  report.html  config.yaml  manifest.json

Several clips (``clips:`` in the init file, or several ``--prompt``) make a long motion (C.7): clip
k + 1 starts from clip k's last refined frame and the tracks are joined by
:func:`~inhabit.track.motion.chain_clips`. A clip without a video (and no ``--generate``) stops the
run after its initial frame is rendered, saying where ``frame0.png`` is: make the clip from it with
any image-to-video tool and run the same command again with ``--video``.

Bad input is reported before heavy work: unreadable scene/object, an init file field (named),
``--video`` with ``--generate``, a missing video file, missing image-to-video weights for
``--generate`` or a missing SAM2 checkpoint when SAM2 is required; a video without a person is
reported by the video stage, before any reconstruction.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inhabit.config import resolve_device, to_plain
from inhabit.errors import InputError, MissingWeightsError
from inhabit.io import write_image, write_json, write_npz, write_text
from inhabit.pipeline._components import BodyComponentsMixin
from inhabit.pipeline.motion_config import MotionConfig, dump_motion_config, resolve_motion_config
from inhabit.pipeline.motion_task import ClipSpec, MotionTask, build_motion_task, parse_init_file
from inhabit.pipeline.runfolder import RunFolder, Stage

CONFIG_NAME = "config.yaml"
RESULT_FILES = ("motion.npz", "motion.glb", "metrics.json", "report.html")
REFINE_FIELDS = ("refine_iters", "refine_lr", "lambda_physics", "lambda_contact", "lambda_smooth_static",
                 "lambda_smooth_dynamic", "contact_eps", "lambda_penetration", "refine_prior_weight",
                 "refine_keep_first", "refine_sdf_vertices", "refine_hand_vertices", "refine_object_points")
"""TrackConfig fields read only by the refinement (changing them does not re-run the per-frame fit)."""


@dataclass
class MotionComponents:
    """Learned and heavy components, injectable (tests, notebooks, several runs in one process).

    Anything left None is built from the config on first use.

    Attributes:
        body_model, prior: the body and its pose prior (``cfg.body``).
        detector: 2D keypoints (BlazePose). person_masker: person masks for the video's person check
            (mediapipe selfie segmentation).
        segmenter: the :class:`~inhabit.perceive.segment.Segmenter` (``cfg.segment``).
        video_generator: the :class:`~inhabit.imagine.video.VideoGenerator` of ``--generate``.
        splatter: the Gaussian splatter. mesh_renderer: for camera selection and side views.
        clip: a CLIP scorer, or False to skip CLIP metrics.
        on_frame: ``on_frame(clip, t, track)`` after each reconstructed frame is saved (progress
            hooks; tests use it to stop a run in the middle).
    """

    body_model: Any = None
    prior: Any = None
    detector: Any = None
    person_masker: Any = None
    segmenter: Any = None
    video_generator: Any = None
    splatter: Any = None
    mesh_renderer: Any = None
    clip: Any = None
    on_frame: Callable[[int, int, Any], None] | None = None


@dataclass
class MotionRun:
    """What :func:`run_motion` produced.

    Attributes:
        root: the run folder. motion: ``motion.npz``. glb: ``motion.glb`` (or None).
        videos: name -> mp4 path. report: ``report.html``. metrics: ``metrics.json``'s contents.
        stages: stage folder -> ``"ran"`` / ``"skipped"`` (this invocation).
        track: the final (refined, chained) :class:`~inhabit.track.motion.MotionTrack`.
        notes: sentences about what was noticed, skipped or fell back.
    """

    root: Path
    motion: Path
    glb: Path | None
    videos: dict[str, Path]
    report: Path
    metrics: dict
    stages: dict[str, str]
    track: Any
    notes: list[str] = field(default_factory=list)


def _announce(name: str, status: str) -> None:
    from inhabit.progress import progress_enabled

    if progress_enabled():
        print(f"[motion] {name}: {status}", file=sys.stderr, flush=True)


@dataclass
class _ClipState:
    """What one clip's stages produced (in memory)."""

    k: int
    spec: ClipSpec
    camera: Any = None
    params: Any = None
    object_pose: np.ndarray | None = None
    frame0: np.ndarray | None = None
    human0: np.ndarray | None = None
    object0: np.ndarray | None = None
    init_info: dict = field(default_factory=dict)
    frames: np.ndarray | None = None
    fps: float = 0.0
    video_info: dict = field(default_factory=dict)
    masks: Any = None
    keypoints: Any = None
    track: Any = None
    refined: Any = None
    stages: dict[str, Stage] = field(default_factory=dict)


class _Job(BodyComponentsMixin):
    """State of one motion run: inputs, config, run folder and lazily built components."""

    def __init__(self, task: MotionTask, cfg: MotionConfig, run: RunFolder | None, comps: MotionComponents, scene,
                 obj) -> None:
        self.task, self.cfg, self.run, self.comps = task, cfg, run, comps
        self.scene, self.obj = scene, obj
        self.notes: list[str] = []
        self.device = resolve_device(cfg.device)
        self._human = None
        self._appearance0 = None
        self._renderer = None
        self._sdf = None
        self._sdf_free: np.ndarray | None = None
        self._colors: np.ndarray | None = None
        self._invalidated = False

    def invalidate_results(self) -> None:
        """Remove the run's top-level results before the first stage of this invocation recomputes
        anything, so a run killed from here on never leaves an earlier, now stale motion.npz that
        looks finished."""
        if self._invalidated or self.run is None:
            return
        self._invalidated = True
        root = self.run.root
        for name in (f".{self.run.root_stage_label}_done.json", *RESULT_FILES):
            (root / name).unlink(missing_ok=True)

    # --- components ----------------------------------------------------------------------------

    @property
    def person_masker(self):
        if self.comps.person_masker is None:
            from inhabit.perceive.segment import PersonMasker

            self.comps.person_masker = PersonMasker("selfie")
        return self.comps.person_masker

    @property
    def segmenter(self):
        if self.comps.segmenter is None:
            from inhabit.pipeline.motion_masks import choose_segmenter

            self.comps.segmenter, _ = choose_segmenter(self.cfg.segment, self.device)
        return self.comps.segmenter

    @property
    def splatter(self):
        if self.comps.splatter is None:
            from inhabit.render.splat import get_splatter

            self.comps.splatter = get_splatter(device=self.device)
        return self.comps.splatter

    @property
    def mesh_renderer(self):
        if self.comps.mesh_renderer is None:
            from inhabit.render.mesh import default_renderer

            self.comps.mesh_renderer = default_renderer()
        return self.comps.mesh_renderer

    @property
    def human(self):
        """The Gaussian human, dressed (clothed part colours with stripes); its starting appearance is
        kept so every run (and clip 0) starts from it."""
        if self._human is None:
            from inhabit.body.gaussian_human import GaussianHuman
            from inhabit.track.motion import appearance_state
            from inhabit.track.synthetic import dress_human

            h = GaussianHuman.from_body(self.body, spacing=self.cfg.human.spacing, seed=self.cfg.human.seed)
            dress_human(h, self.body, stripes=self.cfg.human.stripes)
            self._human = h
            self._appearance0 = appearance_state(h)
        return self._human

    def set_appearance(self, state: dict | None) -> None:
        """Restore the human's appearance (None: the starting one)."""
        from inhabit.track.motion import load_appearance_state

        h = self.human
        load_appearance_state(h, state if state else self._appearance0)

    @property
    def renderer(self):
        if self._renderer is None:
            from inhabit.pipeline.motion_render import MotionRenderer

            self._renderer = MotionRenderer(self.scene.gaussians, self.human, self.body,
                                            None if self.obj is None else self.obj.gaussians, self.splatter,
                                            self.cfg.track.background)
        return self._renderer

    def sdf(self, free_points: np.ndarray):
        """The scene SDF (built once; a Gaussian scene's box is centred on the first free point)."""
        if self._sdf is None:
            from inhabit.pipeline.motion_assets import motion_scene_sdf

            self._sdf = motion_scene_sdf(self.scene, free_points, self.cfg.assets)
        return self._sdf

    def sdf_description(self) -> str:
        if self.scene.kind == "mesh":
            return "exact mesh signed distance (inhabit.scene.sdf.MeshSDF)"
        a = self.cfg.assets
        return f"occupancy of the scene's Gaussians (voxel {a.sdf_voxel:g} m, box {a.sdf_extent:g} m)"

    def body_colors(self, n: int) -> np.ndarray | None:
        if self._colors is None:
            from inhabit.pipeline.motion_assets import clothed_colors

            c = clothed_colors(self.body)
            self._colors = np.zeros((0, 3), np.uint8) if c is None else c
        return self._colors if len(self._colors) == n else None

    def bodies(self, params, chunk: int = 64):
        """(vertices (T, V, 3), joints (T, J, 3), keypoints (T, K, 3), faces) as numpy, in chunks."""
        vs, js, ks = [], [], []
        with torch.no_grad():
            for i in range(0, params.batch_size, chunk):
                out = self.body(params.index(slice(i, i + chunk)).to(device=self.body.device, dtype=self.body.dtype))
                vs.append(out.vertices.cpu().numpy())
                js.append(out.joints.cpu().numpy())
                ks.append(out.keypoints.cpu().numpy())
        return np.concatenate(vs), np.concatenate(js), np.concatenate(ks), out.faces.cpu().numpy()

    def annotations(self) -> dict[str, Any]:
        return {"prompt": self.task.prompt, "interaction": self.task.id, "seed": self.cfg.seed,
                "init": self.task.init_path or "", "preset": self.cfg.preset}


# ------------------------------------------------------------------------------------------------
# entry points


def run_motion(task: MotionTask, cfg: MotionConfig, out: str | Path, components: MotionComponents | None = None,
               force: bool = False) -> MotionRun:
    """Run (or resume) the motion job into the run folder ``out``.

    Args:
        task: the inputs (:func:`~inhabit.pipeline.motion_task.build_motion_task`).
        cfg: the settings (:func:`~inhabit.pipeline.motion_config.motion_preset` / ``resolve_motion_config``).
        out: the run folder; finished stages whose key still matches are reused, and an unfinished
            reconstruction continues at its first unfinished frame.
        components: injected components (None: built from the config).
        force: recompute every stage.

    Raises:
        InputError, MissingWeightsError: bad input or missing weights (before heavy work), or a clip
            still waiting for its video (after its initial frame is written).
        OptimizationError: the reconstruction could not fit any frame.
    """
    comps = components or MotionComponents()
    cfg = _task_config(task, cfg)
    _preflight_weights(task, cfg, comps)
    scene, obj = _load_assets(task, cfg)
    job = _Job(task, cfg, None, comps, scene, obj)
    params0, human_info = _initial_body(job)
    with RunFolder(Path(out), job="motion", force=force) as run:
        job.run = run
        write_text(run.root / CONFIG_NAME, dump_motion_config(cfg, _inputs(task, scene)))
        run.write_manifest(finished=False)
        states: list[_ClipState] = []
        prev: _ClipState | None = None
        for k, spec in enumerate(task.clips):
            cs = _ClipState(k, spec)
            _stage_init(job, cs, prev, params0, human_info)
            if spec.video is None and not task.generate:
                run.write_manifest(finished=False, extra={"waiting_for": f"clip{k}/video"})
                raise InputError(_missing_video_message(job, k, spec))
            _stage_video(job, cs)
            _stage_masks(job, cs)
            _stage_keypoints(job, cs)
            _stage_track(job, cs)
            _stage_refine(job, cs)
            states.append(cs)
            prev = cs
        final = _chain(states)
        videos, videos_stage = _stage_videos(job, states, final)
        metrics = _stage_export(job, states, final, videos_stage)
        run.write_manifest(finished=True, extra={"result": "motion.npz", "glb": "motion.glb" if cfg.export.glb else None,
                                                  "report": "report.html"})
        stages = {r.name: r.status for r in run.records}
    notes = list(dict.fromkeys(job.notes + metrics.get("job", {}).get("notes", [])))
    return MotionRun(run.root, run.root / "motion.npz", run.root / "motion.glb" if cfg.export.glb else None, videos,
                     run.root / "report.html", metrics, stages, final, notes)


def _task_config(task: MotionTask, cfg: MotionConfig) -> MotionConfig:
    """The task's seed and body model (init file) applied to the config."""
    if task.seed is not None:
        cfg = cfg.replace(seed=task.seed)
    if task.frames is not None or task.fps is not None:
        cfg = cfg.replace(video=dataclasses.replace(cfg.video, num_frames=task.frames, every=None, target_fps=task.fps))
    body = task.body
    if body is None and task.human.result is not None:
        from inhabit.export.results import load_result
        from inhabit.pipeline.motion_assets import _result_path

        try:
            body = load_result(_result_path(task.human.result)).body_model
        except InputError as e:
            raise InputError(f"human.from: {e}") from None
    if body is not None and body != cfg.body.model:
        cfg = cfg.replace(body=dataclasses.replace(cfg.body, model=body))
    if cfg.video.generator.device == "auto" and cfg.device != "auto":
        cfg = cfg.replace(video=dataclasses.replace(cfg.video, generator=dataclasses.replace(cfg.video.generator,
                                                                                               device=cfg.device)))
    return cfg


def _preflight_weights(task: MotionTask, cfg: MotionConfig, comps: MotionComponents) -> None:
    """Missing weights are reported before any heavy work."""
    if task.generate and comps.video_generator is None:
        from inhabit.imagine.video import COMPONENT
        from inhabit.weights import resolve_pretrained

        gen = cfg.video.generator
        assert gen.model_id is not None
        resolve_pretrained(gen.model_id, COMPONENT, allow_download=gen.allow_download)
    if cfg.segment.method == "sam2" and comps.segmenter is None:
        import importlib.util

        from inhabit.perceive.segment import SAM2_INSTALL_HINT, default_sam2_checkpoint

        if importlib.util.find_spec("sam2") is None:
            raise MissingWeightsError(f"segment.method is 'sam2' but the sam2 package is not installed; install it "
                                      f"with {SAM2_INSTALL_HINT}, or set segment.method to 'auto' or 'difference'")
        ckpt = Path(cfg.segment.sam2_checkpoint or default_sam2_checkpoint()).expanduser()
        if not ckpt.is_file():
            raise MissingWeightsError(f"SAM2 checkpoint {ckpt} does not exist; set segment.sam2_checkpoint to your "
                                      f"SAM 2.1 checkpoint, or set segment.method to 'auto' or 'difference'")
    if cfg.body.prior == "vposer" and comps.prior is None:
        from inhabit.body.vposer import find_vposer_checkpoint

        find_vposer_checkpoint(cfg.body.vposer_path)


def _load_assets(task: MotionTask, cfg: MotionConfig):
    from inhabit.pipeline.motion_assets import load_motion_object, load_motion_scene

    where = f"{task.init_path}: " if task.init_path else ""
    scene = load_motion_scene(task.scene, task.up_axis, task.scale, cfg.assets)
    obj = None if task.object is None else load_motion_object(task.object, cfg.assets, where=f"{where}object")
    return scene, obj


def _initial_body(job: _Job):
    from inhabit.pipeline.motion_assets import initial_body

    where = f"{job.task.init_path}: human" if job.task.init_path else "human"
    return initial_body(job.task.human, job.body, job.scene, where)


def _inputs(task: MotionTask, scene) -> dict[str, Any]:
    d = task.inputs_dict()
    d["scene_kind"] = scene.kind
    d["scene_geometry"] = scene.geometry_hash
    return d


def _missing_video_message(job: _Job, k: int, spec: ClipSpec) -> str:
    frame0 = job.run.root / ("frame0.png" if k == 0 else f"clip{k}/init/frame0.png")
    if k == 0:
        return (f"no video for the motion: its first frame is written to {frame0}; make a clip that starts from it "
                f"with any image-to-video tool (prompt: {spec.prompt!r}) and run the same command with "
                f"--video CLIP.mp4, or add --generate to use the configured image-to-video model")
    return (f"clip {k} has no video: its first frame (the end of clip {k - 1}) is written to {frame0}; make a clip "
            f"that starts from it (prompt: {spec.prompt!r}) and run the same command with one --video per clip, "
            f"in order, or add --generate")


def _must_run(job: _Job, st: Stage) -> bool:
    """True when the stage must (re)compute (the stale top-level results are removed first); a
    finished stage is marked reused. Announces either."""
    if st.done:
        st.skip()
        _announce(st.name, "reused")
        return False
    job.invalidate_results()
    _announce(st.name, "running")
    return True


# ------------------------------------------------------------------------------------------------
# clip stages


def _camera_info(camera, how: str) -> dict:
    m = camera.meta
    info = {"name": camera.name, "how": how, "K": camera.K.tolist(), "T_cam_world": camera.T_cam_world.tolist(),
            "width": camera.width, "height": camera.height}
    for key in ("n_visible", "object_visible", "elevation_deg", "azimuth_deg", "radius", "center"):
        if key in m:
            info[key] = m[key]
    if "scores" in m:
        info["candidates"] = [list(s) for s in sorted(m["scores"], key=lambda s: (-s[1], -s[2]))[:10]]
    return info


def _select_camera(job: _Job, params, object_pose: np.ndarray | None):
    """C.3's initial camera for a body (batch 1) and object pose."""
    from inhabit.track.camera_select import select_initial_camera, splat_depth_fn

    cfg = job.cfg.camera
    with torch.no_grad():
        body = job.body(params.to(device=job.body.device, dtype=job.body.dtype))
    obj_pts = None
    if job.obj is not None and object_pose is not None:
        obj_pts = job.obj.world_vertices(object_pose)[0]
    if job.scene.kind == "mesh":
        scene = [*job.scene.mesh.parts]
        if job.obj is not None and job.obj.has_mesh and object_pose is not None:
            scene.append(job.obj.mesh_part(object_pose))
    else:
        gs = job.scene.gaussians
        if job.obj is not None and object_pose is not None:
            from inhabit.scene.gaussians import GaussianSet

            gs = GaussianSet.cat([gs, job.obj.gaussians.transformed(torch.as_tensor(object_pose, dtype=gs.dtype))])
        scene = splat_depth_fn(gs.to(device=job.device), job.splatter)  # on the splatter's device (gsplat: CUDA)
    return select_initial_camera(scene, body, obj_pts, cfg, renderer=job.mesh_renderer)


def _init_key(job: _Job, k: int) -> dict:
    from inhabit.pipeline.motion_clip import content_hash

    t = job.task
    parts: dict[str, Any] = {"clip": k, "body": to_plain(job.cfg.body), "human": to_plain(job.cfg.human),
                             "assets": to_plain(job.cfg.assets), "camera": to_plain(job.cfg.camera),
                             "background": list(job.cfg.track.background), "scene": job.scene.geometry_hash}
    if k == 0:
        parts["init"] = t.human.to_dict()
        if t.human.result is not None:
            from inhabit.pipeline.motion_assets import _result_path

            parts["init_result"] = content_hash(_result_path(t.human.result))
        parts["object"] = None if t.object is None else {**t.object.to_dict(), "file": content_hash(t.object.path)}
        parts["fixed_camera"] = None if t.camera is None else [list(t.camera.eye), list(t.camera.look_at)]
    else:
        parts["reselect_camera"] = job.cfg.stages.reselect_camera
        parts["object"] = None if t.object is None else content_hash(t.object.path)
    return parts


def _stage_init(job: _Job, cs: _ClipState, prev: _ClipState | None, params0, human_info: dict) -> None:
    """The clip's initial state, its camera and its rendered first frame."""
    from inhabit.camera.pinhole import Camera

    k = cs.k
    upstream = [prev.stages["refine"]] if prev is not None else []
    st = job.run.stage(f"clip{k}/init", _init_key(job, k), upstream)
    cs.stages["init"] = st
    if _must_run(job, st):
        folder = st.begin()
        if prev is None:
            params = params0
            pose = None if job.obj is None else job.obj.pose
            job.set_appearance(None)
            if job.task.camera is not None:
                c = job.cfg.camera
                camera = Camera.look_at(job.task.camera.eye, job.task.camera.look_at, c.width, c.height, c.fov_y_deg,
                                        name="fixed")
                how = "fixed by the init file"
            else:
                camera = _select_camera(job, params, pose)
                how = "selected from the camera array (appendix C.3)"
            source = human_info
        else:
            nxt = prev.refined.init_for_next()
            params, pose = nxt.params, nxt.object_pose
            job.set_appearance(prev.refined.appearance)
            if job.cfg.stages.reselect_camera:
                camera = _select_camera(job, params, pose)
                how = "selected from the camera array at the previous clip's last frame (C.3, C.7)"
            else:
                camera = nxt.camera
                how = "the previous clip's last camera"
            source = {"source": f"clip{k - 1}", "frame": int(prev.refined.num_frames - 1)}
        r = job.renderer.frame(camera, params, pose)
        if not r.human.any():
            raise InputError(f"the initial person is not visible from the initial camera of clip {k} "
                             f"({camera.name}); check human.at and camera in the init file")
        outputs = [write_image(folder / "frame0.png", r.rgb), write_image(folder / "human_mask.png", r.human),
                   write_image(folder / "background.png", job.renderer.static(camera))]
        if pose is not None:
            outputs.append(write_image(folder / "object_mask.png", r.object))
        if k == 0:
            outputs.append(write_image(job.run.root / "frame0.png", r.rgb))
        info = {"clip": k, "camera": _camera_info(camera, how), "human": source,
                "object_pose": None if pose is None else np.asarray(pose).tolist(),
                "human_visible_px": int(r.human.sum()), "object_visible_px": int(r.object.sum())}
        outputs.append(write_json(folder / "init.json", info))
        p = params.detach().to("cpu")
        outputs.append(write_npz(folder / "state.npz", **{f"params/{n}": v for n, v in p.as_dict().items()},
                                 K=camera.K, T_cam_world=camera.T_cam_world,
                                 size=np.array([camera.width, camera.height]),
                                 **({} if pose is None else {"object_pose": np.asarray(pose)})))
        st.finish(outputs, {"camera": camera.name})
    _load_init(job, cs)


def _load_init(job: _Job, cs: _ClipState) -> None:
    from inhabit.body.protocol import BodyParams
    from inhabit.camera.pinhole import Camera
    from inhabit.io import read_image

    folder = cs.stages["init"].path
    info = json.loads((folder / "init.json").read_text())
    with np.load(folder / "state.npz", allow_pickle=False) as z:
        params = BodyParams(*(torch.as_tensor(z[f"params/{n}"]) for n in ("global_orient", "transl", "body_pose", "shape")))
        w, h = (int(v) for v in z["size"])
        cam = info["camera"]
        cs.camera = Camera(z["K"], z["T_cam_world"], w, h, cam["name"], {k: v for k, v in cam.items()
                                                                       if k not in ("K", "T_cam_world")})
        cs.object_pose = z["object_pose"].astype(np.float64) if "object_pose" in z.files else None
    cs.params = params.to(device=job.body.device, dtype=job.body.dtype)
    cs.frame0 = read_image(folder / "frame0.png")
    cs.human0 = read_image(folder / "human_mask.png")[..., 0] >= 128
    cs.object0 = read_image(folder / "object_mask.png")[..., 0] >= 128 if (folder / "object_mask.png").is_file() else None
    cs.init_info = info


def _video_key(job: _Job, cs: _ClipState) -> dict:
    from inhabit.pipeline.motion_clip import content_hash

    vc = {k: v for k, v in to_plain(job.cfg.video).items() if k != "generator"}
    if cs.spec.video is not None:
        return {"video": content_hash(cs.spec.video), "cfg": vc}
    gen = {k: v for k, v in to_plain(job.cfg.video.generator).items() if k not in ("device", "cpu_offload",
                                                                                   "allow_download")}
    return {"generate": gen, "prompt": cs.spec.prompt, "seed": _clip_seed(job, cs), "cfg": vc,
            "generator": None if job.comps.video_generator is None else type(job.comps.video_generator).__name__}


def _clip_seed(job: _Job, cs: _ClipState) -> int:
    return int(cs.spec.seed) if cs.spec.seed is not None else int(job.cfg.seed) + cs.k


def _stage_video(job: _Job, cs: _ClipState) -> None:
    """The clip: read (or generate), sub-sample, size, check (first frame, a person)."""
    from inhabit.export.motion_video import side_by_side
    from inhabit.imagine.video import read_frame_folder, write_frame_folder, write_video
    from inhabit.pipeline.motion_clip import check_person, generate_clip, load_user_clip, person_evidence

    st = job.run.stage(f"clip{cs.k}/video", _video_key(job, cs), [cs.stages["init"]])
    cs.stages["video"] = st
    if _must_run(job, st):
        folder = st.begin()
        vcfg = job.cfg.video
        if cs.spec.video is not None:
            clip = load_user_clip(cs.spec.video, cs.frame0, vcfg)
        else:
            gen = job.comps.video_generator
            if gen is None:
                from inhabit.imagine.video import DiffusersVideoGenerator

                gen = job.comps.video_generator = DiffusersVideoGenerator(vcfg.generator)
            clip = generate_clip(gen, cs.frame0, cs.spec.prompt, _clip_seed(job, cs), vcfg)
        k = min(vcfg.person_check_frames, len(clip.frames))
        evidence = person_evidence(clip.frames[:k], cs.human0, job.detector, job.person_masker,
                                   job.cfg.keypoints.min_score, job.cfg.keypoints.min_count)
        check_person(evidence, clip.source)
        outputs: list[Path] = [write_frame_folder(folder / "frames", clip.frames, clip.fps),
                               write_video(folder / "input.mp4", clip.frames, clip.fps, job.cfg.export.video_quality)]
        diff = np.abs(clip.frames[0].astype(np.int16) - cs.frame0.astype(np.int16)).mean(-1)
        diff_img = np.clip(diff * 4.0, 0, 255).astype(np.uint8)  # x4: small differences stay visible
        strip = side_by_side([cs.frame0[None], clip.frames[:1], np.repeat(diff_img[None, ..., None], 3, -1)])[0]
        outputs.append(write_image(folder / "first_frame.png", strip))
        meta = to_plain(clip.meta)
        doc = {"source": clip.source, "fps": clip.fps, "frames": len(clip.frames), "person_check": evidence, **meta}
        outputs.append(write_json(folder / "video.json", doc))
        st.finish(outputs, {"frames": len(clip.frames), "fps": clip.fps})
    doc = json.loads((st.path / "video.json").read_text())
    clip_frames = read_frame_folder(st.path / "frames")
    cs.frames, cs.fps, cs.video_info = clip_frames.frames, float(doc["fps"]), doc
    for n in doc.get("notes", []):
        job.notes.append(f"clip {cs.k}: {n}")


def _stage_masks(job: _Job, cs: _ClipState) -> None:
    from inhabit.export.motion_video import frame_indices
    from inhabit.pipeline.motion_masks import ClipMasks, mask_sheet, segment_clip

    method = type(job.segmenter).__name__
    cam_fields = {k: v for k, v in to_plain(job.cfg.track).items()
                  if k.startswith("camera") or k in ("scene_cull_margin", "early_stop_patience", "early_stop_tol",
                                                      "keep_best", "background")}
    st = job.run.stage(f"clip{cs.k}/masks", {"segment": to_plain(job.cfg.segment), "method": method,
                                             "camera": cam_fields}, [cs.stages["video"], cs.stages["init"]])
    cs.stages["masks"] = st
    if _must_run(job, st):
        folder = st.begin()
        masks = segment_clip(cs.frames, cs.human0, cs.object0, cs.camera, job.renderer, job.segmenter,
                             job.cfg.segment, job.cfg.track, has_object=job.obj is not None)
        masks.save(folder / "masks.npz")
        idx = frame_indices(len(cs.frames), job.cfg.export.sheet_frames)
        outputs = [folder / "masks.npz", write_image(folder / "masks_sheet.png", mask_sheet(cs.frames, masks, idx,
                                                                                             job.cfg.export.sheet_tile))]
        H, W = cs.frames.shape[1:3]
        outputs.append(write_json(folder / "masks.json", {
            "method": masks.method, "human_fraction": (masks.human.reshape(len(masks.human), -1).mean(1)).tolist(),
            "object_fraction": (masks.object.reshape(len(masks.object), -1).mean(1)).tolist(),
            "static_fraction": (masks.static.reshape(len(masks.static), -1).mean(1)).tolist(), "size": [W, H]}))
        st.finish(outputs, {"method": masks.method})
    cs.masks = ClipMasks.load(st.path / "masks.npz")
    empty = [t for t in range(1, len(cs.masks.human)) if not cs.masks.human[t].any()]
    if empty:
        job.notes.append(f"clip {cs.k}: no human mask in {len(empty)} frame(s) (first: {empty[0]}); those frames keep "
                         f"the previous pose unless the object is seen")


def _stage_keypoints(job: _Job, cs: _ClipState) -> None:
    from inhabit.export.figures import grid_sheet
    from inhabit.export.motion_video import frame_indices
    from inhabit.render.draw import draw_keypoints
    from inhabit.structures import Keypoints2D

    if not job.cfg.stages.keypoints:
        cs.keypoints = None
        return
    st = job.run.stage(f"clip{cs.k}/keypoints", {"keypoints": to_plain(job.cfg.keypoints),
                                                 "detector": type(job.comps.detector).__name__
                                                 if job.comps.detector is not None else "blazepose"},
                       [cs.stages["video"]])
    cs.stages["keypoints"] = st
    if _must_run(job, st):
        folder = st.begin()
        kp = job.detector.detect(list(cs.frames))
        if len(kp) != len(cs.frames):
            raise RuntimeError(f"the keypoint detector returned {len(kp)} rows for {len(cs.frames)} frames")
        write_npz(folder / "keypoints.npz", xy=kp.xy, conf=kp.conf, names=np.array(kp.names))
        idx = frame_indices(len(cs.frames), job.cfg.export.sheet_frames)
        cells = [draw_keypoints(cs.frames[t], kp[int(t)], min_conf=job.cfg.track.kp_min_conf) for t in idx]
        labels = [f"frame {t}: {int((kp.conf[t] >= job.cfg.track.kp_min_conf).sum())} pts" for t in idx]
        sheet = write_image(folder / "keypoints_sheet.png", grid_sheet([cells], [labels], job.cfg.export.sheet_tile))
        counts = (kp.conf >= job.cfg.track.kp_min_conf).sum(1)
        st.finish([folder / "keypoints.npz", sheet], {"points_per_frame": counts.tolist()})
    with np.load(st.path / "keypoints.npz", allow_pickle=False) as z:
        cs.keypoints = Keypoints2D(z["xy"], z["conf"], tuple(str(n) for n in z["names"]))
    confident = (cs.keypoints.conf[1:] >= job.cfg.track.kp_min_conf).sum(1)
    few = int((confident < job.cfg.track.kp_min_points).sum())
    if few:
        job.notes.append(f"clip {cs.k}: {few} frame(s) with fewer than {job.cfg.track.kp_min_points} confident "
                         f"keypoints keep the previous body pose as the fit's start")


def _track_key(job: _Job) -> dict:
    # thread counts change speed, not results: they do not invalidate a finished fit
    track = {k: v for k, v in to_plain(job.cfg.track).items() if k not in REFINE_FIELDS and k != "threads"}
    return {"track": track, "body": to_plain(job.cfg.body), "human": to_plain(job.cfg.human),
            "object": None if job.obj is None else job.obj.source, "keypoints": job.cfg.stages.keypoints,
            "splatter": type(job.splatter).__name__}


def _stage_track(job: _Job, cs: _ClipState) -> None:
    """The per-frame reconstruction (Algorithm 1), saved frame by frame and resumable."""
    from inhabit.pipeline.motion_report import series_plot, status_counts
    from inhabit.scene.gaussians import RigidObject
    from inhabit.track.motion import MotionTrack, TrackInit, reconstruct_motion

    upstream = [cs.stages[n] for n in ("init", "video", "masks", "keypoints") if n in cs.stages]
    st = job.run.stage(f"clip{cs.k}/track", _track_key(job), upstream)
    cs.stages["track"] = st
    partial = job.run.root / f"clip{cs.k}" / "track_partial" / "track.npz"
    if _must_run(job, st):
        resume = None
        if partial.is_file() and not job.run.force:
            try:
                cand = MotionTrack.load(partial)
                if cand.meta.get("stage_key") == st.key and cand.num_frames == len(cs.frames):
                    resume = cand
                    _announce(st.name, f"continuing at frame {cand.num_done} of {cand.num_frames}")
            except InputError:
                resume = None
        folder = st.begin()
        if resume is None:
            job.set_appearance(_prev_appearance(job, cs))
        init = TrackInit(cs.params, cs.camera, cs.object_pose)
        obj = None if job.obj is None else RigidObject(job.obj.gaussians, cs.object_pose)

        def saved(t: int, tr: MotionTrack) -> None:
            tr.meta["stage_key"] = st.key
            tr.save(partial)
            if job.comps.on_frame is not None:
                job.comps.on_frame(cs.k, t, tr)

        track = reconstruct_motion(job.scene.gaussians, job.human, job.body, job.prior, obj, init, cs.frames,
                                   cs.masks.human, cs.masks.object if job.obj is not None else None, cs.keypoints,
                                   job.cfg.track, callback=saved, resume=resume, splatter=job.splatter)
        track.meta["stage_key"] = st.key
        track.meta["fps"] = cs.fps
        track.save(folder / "track.npz")
        L = track.losses
        plot = series_plot({n: L[n] for n in ("total_first", "total", "camera_first", "camera") if n in L},
                           f"clip {cs.k}: per-frame losses (before / after each fit)", "loss")
        outputs = [folder / "track.npz", write_image(folder / "losses.png", plot)]
        outputs.append(write_json(folder / "track.json", {
            "status": status_counts(track.status), "seconds": float(np.nansum(L.get("seconds", [0.0]))),
            "per_frame_seconds": [None if not np.isfinite(x) else float(x) for x in L.get("seconds", [])]}))
        st.finish(outputs, {"status": status_counts(track.status)})
        shutil.rmtree(partial.parent, ignore_errors=True)
    cs.track = MotionTrack.load(st.path / "track.npz")


def _prev_appearance(job: _Job, cs: _ClipState):
    """The appearance a clip's fit starts from: the starting one for clip 0, else the previous clip's
    final one (as the clip's frame 0 was rendered with it)."""
    from inhabit.track.motion import MotionTrack

    if cs.k == 0:
        return None
    prev = job.run.root / f"clip{cs.k - 1}" / "refine" / "refined.npz"
    return MotionTrack.load(prev).appearance if prev.is_file() else None


def _object_points(job: _Job) -> np.ndarray | None:
    return None if job.obj is None else job.obj.gaussians.means.detach().cpu().numpy()


def _free_points(job: _Job, track) -> np.ndarray:
    """Points known to be free: the initial pelvis and head, and the initial camera centre."""
    with torch.no_grad():
        j = job.body(track.params.index(0).to(device=job.body.device, dtype=job.body.dtype)).joints[0].cpu().numpy()
    return np.stack([j[0], j[15], track.T_world_cam[0, :3, 3]])


def _stage_refine(job: _Job, cs: _ClipState) -> None:
    from inhabit.pipeline.motion_report import series_plot
    from inhabit.track.motion import MotionTrack
    from inhabit.track.refine import refine_motion

    refine = {k: getattr(job.cfg.track, k) for k in REFINE_FIELDS}
    st = job.run.stage(f"clip{cs.k}/refine", {"refine": refine, "enabled": job.cfg.stages.refine,
                                              "prior": to_plain(job.cfg.body), "assets": to_plain(job.cfg.assets)},
                       [cs.stages["track"]])
    cs.stages["refine"] = st
    if _must_run(job, st):
        folder = st.begin()
        if job.cfg.stages.refine:
            sdf = job.sdf(_free_points(job, cs.track))
            refined = refine_motion(cs.track, job.body, job.prior, job.cfg.track, scene_sdf=sdf,
                                    object_points=_object_points(job))
        else:
            refined = cs.track.copy()
            job.notes.append(f"clip {cs.k}: refinement disabled (stages.refine: false); the per-frame fit is the result")
        refined.save(folder / "refined.npz")
        outputs = [folder / "refined.npz"]
        series = {n: refined.losses[n] for n in ("refine_fit",) if n in refined.losses}
        if series:
            outputs.append(write_image(folder / "refine.png", series_plot(
                series, f"clip {cs.k}: joint distance between the refined and the per-frame bodies (m)", "m")))
        outputs.append(write_json(folder / "refine.json", {"enabled": job.cfg.stages.refine,
                                                           **to_plain(refined.meta.get("refine", {}))}))
        st.finish(outputs, {"refined": bool(refined.refined)})
    cs.refined = MotionTrack.load(st.path / "refined.npz")


def _chain(states: list[_ClipState]):
    from inhabit.track.motion import chain_clips

    if len(states) == 1:
        return states[0].refined
    return chain_clips([s.refined for s in states])


# ------------------------------------------------------------------------------------------------
# outputs


def _chained_frames(states: list[_ClipState]) -> np.ndarray:
    """The input frames of all clips in the chained order (each later clip's frame 0 dropped)."""
    return np.concatenate([s.frames if i == 0 else s.frames[1:] for i, s in enumerate(states)])


def _side_frames(job: _Job, final, side_cam, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    from inhabit.export.motion_video import render_sequence

    use_mesh = job.scene.kind == "mesh" and (job.obj is None or job.obj.has_mesh)
    colors = job.body_colors(vertices.shape[1])
    if use_mesh:
        from inhabit.render.mesh import mesh_from_arrays, render_human_in_scene

        r = job.mesh_renderer
        static = [*job.scene.mesh.parts]
        scene_render = r.render(side_cam, static, ("rgb", "depth")) if job.obj is None else None

        def render(t: int) -> np.ndarray:
            human = mesh_from_arrays(vertices[t], faces, colors, name="human")
            meshes = static if job.obj is None else [*static, job.obj.mesh_part(final.object_pose[t])]
            return render_human_in_scene(side_cam, meshes, human, r, scene_render).rgb
    else:
        def render(t: int) -> np.ndarray:
            pose = None if final.object_pose is None else final.object_pose[t]
            return job.renderer.frame(side_cam, final.params.index(t), pose).rgb
    return render_sequence(render, final.num_frames, "render side view")


def _stage_videos(job: _Job, states: list[_ClipState], final) -> tuple[dict[str, Path], Stage | None]:
    """Input, reconstruction (tracked cameras), side view, their comparison and a contact sheet."""
    from inhabit.export.motion_video import (
        comparison_sheet,
        frame_indices,
        label_frames,
        render_sequence,
        side_by_side,
        side_camera,
        write_motion_videos,
    )

    ex = job.cfg.export
    key = {k: v for k, v in to_plain(ex).items() if k in ("videos", "side_view", "side_azimuth_deg",
                                                           "side_elevation_deg", "video_quality", "sheet_frames",
                                                           "sheet_tile")}
    st = job.run.stage("videos", key, [s.stages["refine"] for s in states] + [s.stages["video"] for s in states])
    names = ["input", "reconstruction", "comparison"] + (["side"] if ex.side_view else [])
    if not ex.videos:
        return {}, None
    if _must_run(job, st):
        folder = st.begin()
        fps = states[0].fps
        inputs = _chained_frames(states)
        recon_parts = []
        for i, s in enumerate(states):
            job.set_appearance(s.refined.appearance)
            tr = s.refined
            start = 0 if i == 0 else 1

            def render(t: int, tr=tr, start=start) -> np.ndarray:
                pose = None if tr.object_pose is None else tr.object_pose[t + start]
                return job.renderer.frame(tr.camera(t + start), tr.params.index(t + start), pose).rgb

            recon_parts.append(render_sequence(render, tr.num_frames - start, f"render clip {i} reconstruction"))
        recon = np.concatenate(recon_parts)
        videos = {"input": inputs, "reconstruction": recon}
        rows = {"input": inputs, "reconstruction": recon}
        outputs: list[Path] = []
        if ex.side_view:
            V, _, _, F = job.bodies(final.params)
            pts = V[:, :: max(1, V.shape[1] // 2000)].reshape(-1, 3)
            if job.obj is not None and final.object_pose is not None:
                ov = job.obj.world_vertices(final.object_pose)
                pts = np.concatenate([pts, ov[:, :: max(1, ov.shape[1] // 500)].reshape(-1, 3)])
            cam = states[0].camera
            side = side_camera(pts, cam.forward, cam.width, cam.height, cam.fov_y_deg, ex.side_azimuth_deg,
                               ex.side_elevation_deg)
            outputs.append(write_json(folder / "side_camera.json", side.to_dict()))
            videos["side"] = rows["side"] = _side_frames(job, final, side, V, F)
        videos["comparison"] = side_by_side([label_frames(v, n) for n, v in rows.items()])
        paths = write_motion_videos(folder, fps, {n: videos[n] for n in names}, ex.video_quality)
        outputs += list(paths.values())
        idx = frame_indices(len(inputs), ex.sheet_frames)
        outputs.append(write_image(folder / "contact_sheet.png", comparison_sheet(rows, idx, ex.sheet_tile)))
        st.finish(outputs, {"frames": len(inputs)})
    return {n: st.path / f"{n}.mp4" for n in names if (st.path / f"{n}.mp4").is_file()}, st


def _clip_metrics(job: _Job):
    """ZeroHSI's CLIP score/consistency of the reconstruction frames, or None (with a note)."""
    ex = job.cfg.export
    if job.comps.clip is False or ex.clip == "never":
        return None
    video = job.run.root / "videos" / "reconstruction.mp4"
    if not video.is_file():
        job.notes.append("CLIP metrics skipped: no reconstruction video (export.videos is off)")
        return None
    scorer = job.comps.clip
    if scorer is None:
        from inhabit.imagine.clip import ClipScorer, clip_available

        if not clip_available(ex.clip_model):
            job.notes.append(f"CLIP metrics skipped: the CLIP model {ex.clip_model!r} is not found locally")
            return None
        scorer = job.comps.clip = ClipScorer(ex.clip_model, device=job.device)
    from inhabit.evaluate.suite import motion_clip_metrics
    from inhabit.imagine.video import read_video

    frames = read_video(video).frames
    emb = scorer.image_features(list(frames))
    text = scorer.text_features([job.task.prompt])
    emb = emb.detach().cpu().numpy() if hasattr(emb, "detach") else np.asarray(emb)
    text = text.detach().cpu().numpy() if hasattr(text, "detach") else np.asarray(text)
    return motion_clip_metrics(emb, text[0])


def _job_block(job: _Job, states: list[_ClipState], final) -> dict:
    from inhabit.pipeline.motion_report import stage_timings, status_counts

    clips = []
    for s in states:
        v = s.video_info
        clips.append({"prompt": s.spec.prompt, "source": v.get("source"), "frames": v.get("frames"),
                      "fps": v.get("fps"), "source_frames": v.get("source_frames"), "source_fps": v.get("source_fps"),
                      "first_frame_mae": v.get("first_frame_mae"), "person_check": v.get("person_check"),
                      "camera": {k: val for k, val in s.init_info.get("camera", {}).items()
                                 if k not in ("K", "T_cam_world", "candidates")},
                      "human": s.init_info.get("human"), "status": status_counts(s.refined.status),
                      "masks": s.masks.method if s.masks is not None else None})

    def col(name):
        v = final.losses.get(name)
        return None if v is None else [None if not np.isfinite(x) else float(x) for x in v]

    per_frame = {"status": [str(x) for x in final.status]}
    for n in ("total", "rgb", "camera", "kp_points", "iters", "seconds", "refine_fit", "refine_contact"):
        c = col(n)
        if c is not None:
            per_frame[n] = c
    return {"num_frames": int(final.num_frames), "fps": float(states[0].fps), "clips": clips,
            "clip_starts": final.meta.get("clip_starts", [0]), "status": status_counts(final.status),
            "per_frame": per_frame, "timings_s": stage_timings(job.run.root)}


def _stage_export(job: _Job, states: list[_ClipState], final, videos_stage: Stage | None) -> dict:
    """motion.npz, motion.glb, metrics.json, report.html."""
    from inhabit.evaluate.suite import MovingObject
    from inhabit.export.animation import AnimatedBody, AnimatedCamera, AnimatedObject, write_motion_glb
    from inhabit.export.results import save_motion
    from inhabit.pipeline.motion_assets import hand_vertex_mask
    from inhabit.pipeline.motion_report import compute_motion_metrics, write_motion_report

    ex = job.cfg.export
    clip_on = job.comps.clip is not False and ex.clip != "never"
    st = job.run.stage(".", {"export": to_plain(ex), "inputs": _inputs(job.task, job.scene), "clip": clip_on},
                       [s.stages["refine"] for s in states] + [s.stages["video"] for s in states]
                       + ([videos_stage] if videos_stage is not None else []))
    root = job.run.root
    if not _must_run(job, st):
        return json.loads((root / "metrics.json").read_text())
    st.begin()
    fps = states[0].fps
    V, J, Kp, F = job.bodies(final.params)
    obj = job.obj
    body_dict = {"vertices": V, "joints": J, "keypoints": Kp, "faces": F}
    extra = {**job.annotations(), "status": final.status.astype(str), "clip_starts": np.asarray(
        final.meta.get("clip_starts", [0]), np.int64), "refined": np.array(bool(final.refined))}
    outputs = [save_motion(root / "motion.npz", body_dict, fps, params=final.params, body_model=job.body,
                           T_world_cam=final.T_world_cam, K=final.K, object_pose=final.object_pose,
                           object_vertices=obj.vertices if obj is not None and obj.has_mesh else None,
                           object_faces=obj.faces if obj is not None and obj.has_mesh else None, extra=extra)]
    if ex.glb:
        objects = []
        if obj is not None and final.object_pose is not None:
            objects.append(AnimatedObject(obj.vertices, obj.faces, final.object_pose, obj.colors, obj.name))
        scene_kw: dict[str, Any] = {"scene": job.scene.mesh} if job.scene.kind == "mesh" else {
            "scene_points": job.scene.gaussians.means.detach().cpu().numpy(),
            "scene_point_colors": job.scene.gaussians.rgb().detach().cpu().numpy(),
            "max_scene_points": ex.glb_max_points}
        outputs.append(write_motion_glb(
            root / "motion.glb", fps, body=AnimatedBody(V, F, job.body_colors(V.shape[1]), "human"), objects=objects,
            cameras=[AnimatedCamera(final.T_world_cam, final.K, final.width, final.height)],
            extras={"prompt": job.task.prompt, "body_model": job.body.name}, **scene_kw))
    sdf = job.sdf(_free_points(job, final))
    moving = None
    if obj is not None and final.object_pose is not None:
        if obj.has_mesh:
            from inhabit.scene.sdf import MeshSDF

            moving = MovingObject(MeshSDF(obj.vertices.astype(np.float32), obj.faces), final.object_pose,
                                  obj.world_vertices(final.object_pose))
        else:
            moving = MovingObject(None, final.object_pose)
    metrics = compute_motion_metrics(root, V, J, fps, sdf, job.sdf_description(), hand_vertex_mask(job.body), moving,
                                     _clip_metrics(job), _job_block(job, states, final), job.notes)
    outputs.append(write_json(root / "metrics.json", metrics))
    outputs.append(write_motion_report(root, embed=ex.embed_images))
    st.finish(outputs, {"frames": int(final.num_frames)})
    return metrics


# ------------------------------------------------------------------------------------------------
# command line


def _overrides_from_args(args) -> dict[str, Any]:
    o: dict[str, Any] = {}
    if getattr(args, "seed", None) is not None:
        o["seed"] = int(args.seed)
    if getattr(args, "device", None):
        o["device"] = args.device
    if getattr(args, "video_model", None):
        o.setdefault("video", {}).setdefault("generator", {})["model_id"] = str(args.video_model)
    if getattr(args, "allow_download", False):
        o.setdefault("video", {}).setdefault("generator", {})["allow_download"] = True
    return o


def _print_run(res: MotionRun) -> None:
    s = res.metrics.get("summary", {})
    ran = sum(1 for v in res.stages.values() if v == "ran")
    pen = s.get("pene_pct")
    print(f"motion: {res.track.num_frames} frames; penetrating vertices {pen if pen is None else round(pen, 3)} %, "
          f"foot sliding {s.get('foot_sliding_cm_s', float('nan')):.2f} cm/s; {ran} stages ran, "
          f"{len(res.stages) - ran} reused")
    for n in res.notes[:8]:
        print(f"  note: {n}")
    print(f"motion: {res.motion}")
    if res.glb is not None:
        print(f"glTF:   {res.glb}")
    print(f"report: {res.report}")


def run(args) -> int:
    """``inhabit motion`` (arguments: :class:`inhabit.cli.Motion`)."""
    init = parse_init_file(args.init) if getattr(args, "init", None) is not None else None
    prompts = getattr(args, "prompt", ()) or ()
    prompts = (prompts,) if isinstance(prompts, str) else tuple(prompts)
    videos = getattr(args, "video", ()) or ()
    videos = (videos,) if isinstance(videos, str | Path) else tuple(videos)
    task = build_motion_task(init, scene=getattr(args, "scene", None), prompts=prompts, videos=videos,
                             generate=bool(getattr(args, "generate", False)),
                             up_axis=getattr(args, "up_axis", None), scale=getattr(args, "scale", None),
                             task_id=Path(args.out).name or None)
    if getattr(args, "body", None):
        task = dataclasses.replace(task, body=args.body)
    if getattr(args, "seed", None) is not None:  # the command line beats the init file
        task = dataclasses.replace(task, seed=int(args.seed))
    if getattr(args, "frames", None):
        task = dataclasses.replace(task, frames=int(args.frames), fps=None)
    cfg = resolve_motion_config(args.preset, getattr(args, "config", None), _overrides_from_args(args))
    res = run_motion(task, cfg, Path(args.out), force=bool(getattr(args, "force", False)))
    _print_run(res)
    return 0


__all__ = ["REFINE_FIELDS", "MotionComponents", "MotionRun", "run", "run_motion"]
