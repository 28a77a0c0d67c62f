"""``inhabit pose``: GenZI end to end — a scene, a sentence and a point in, a posed 3D human out.

Stages (each a sub-folder of the run; see :mod:`inhabit.pipeline.runfolder` for resuming)::

    views/            GenZI view selection: viewNNN.png scene renders, cameras.json, contact_sheet.png
    stage0/inpaint/   n inpaintings per view with dynamic masking ({view}_h{k}.png, masks, sheets)
                      (--images: the user's images, copied)
    stage0/keypoints/ keypoints + GenZI acceptance per (hypothesis, view), overlays
    stage0/lift/      one batched fit of every hypothesis: h{k}/result.npz, overlays, loss curves
    stage0/rank/      composites of each fit from every view, CLIP score or fit energy, the kept ones
    stage1/masks/     dilated unoccluded silhouettes of each kept body (the refinement masks)
    stage1/inpaint/   2 inpaintings per view inside those masks, per kept body
    stage1/keypoints/ ...
    stage1/lift/      refinement fits, each started from its parent: h{k}_r{j}/result.npz
    stage1/rank/      ranking of the refined results
    final/            the chosen body rendered into every view (renders/, renders_sheet.png), choice.json
    result.npz  scene_with_human.glb  human.obj  human.ply  metrics.json  report.html  config.yaml

The final result is the best result of the last stage that ran: highest mean CLIP score over
the views when a CLIP model is available, else the lowest final fit energy (the total weighted
energy of the fit at its last iteration). Every hypothesis stays in its folder. GenZI keeps
⌊N/2⌋ stage-0 results for refinement; with a single survivor that is 0 and GenZI's refinement
silently does nothing; inhabit keeps at least ``stages.min_keep`` (1).

Bad input is reported before heavy work: unreadable scene, point outside the scene, empty
prompt, missing inpainting weights (checked before any view is rendered), a broken ``--images``
folder; no qualifying view is reported by the view selection, the first (cheap) stage.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.config import PoseConfig, dump_config_yaml, resolve_device, resolve_pose_config, to_plain
from inhabit.errors import InputError
from inhabit.io import read_image, write_image, write_json, write_text
from inhabit.pipeline._components import BodyComponentsMixin
from inhabit.pipeline.hypotheses import Detections, FitSet, detect_hypotheses, lift_hypotheses
from inhabit.pipeline.pose_report import write_pose_report
from inhabit.pipeline.runfolder import RunFolder, Stage
from inhabit.pipeline.tasks import PoseTask, parse_task_file
from inhabit.progress import track

CONFIG_NAME = "config.yaml"


@dataclass
class PoseComponents:
    """Learned and heavy components, injectable (tests, notebooks, several runs in one process).

    Anything left None is built from the config on first use: the renderer (process-wide), the
    body model and prior (``cfg.body``), the inpainter (``DiffusersInpainter(cfg.inpaint)``),
    the keypoint detector (BlazePose) and the CLIP scorer (``cfg.rank``; ``clip=False``
    disables CLIP ranking).
    """

    renderer: Any = None
    body_model: Any = None
    prior: Any = None
    inpainter: Any = None
    detector: Any = None
    clip: Any = None


@dataclass
class PoseRun:
    """What :func:`run_pose` produced.

    Attributes:
        root: the run folder. result: its ``result.npz`` (the chosen body).
        chosen: id of the chosen hypothesis (``h1_r0``) and its stage.
        report: ``report.html``. metrics: the contents of ``metrics.json``.
        stages: stage folder → ``"ran"`` or ``"skipped"`` (this invocation).
        notes: sentences about what was dropped, skipped or fell back.
    """

    root: Path
    result: Path
    chosen: str
    chosen_stage: int
    report: Path
    metrics: dict
    stages: dict[str, str]
    notes: list[str] = field(default_factory=list)


@dataclass
class _Views:
    cameras: list
    point: np.ndarray
    explicit: bool
    renders: list[np.ndarray]
    vis_ratio: np.ndarray
    normal: np.ndarray | None


def _stage_name(stage: int, part: str) -> str:
    return f"stage{stage}/{part}"


class _Job(BodyComponentsMixin):
    """State of one pose run: inputs, config, run folder and lazily built components."""

    def __init__(self, task: PoseTask, cfg: PoseConfig, run: RunFolder, comps: PoseComponents,
                 scene, point: np.ndarray | None, user) -> None:
        self.task, self.cfg, self.run, self.comps = task, cfg, run, comps
        self.scene, self.point, self.user = scene, point, user
        self.notes: list[str] = []
        self.device = resolve_device(cfg.device)
        self._sdf = None
        self._exact_sdf = None
        self._colors = None

    # --- components, built on first use ------------------------------------------------------

    @property
    def renderer(self):
        if self.comps.renderer is None:
            from inhabit.render.mesh import default_renderer

            self.comps.renderer = default_renderer()
        return self.comps.renderer

    @property
    def inpainter(self):
        if self.comps.inpainter is None:
            from inhabit.imagine.inpaint import DiffusersInpainter

            self.comps.inpainter = DiffusersInpainter(self.cfg.inpaint)
        return self.comps.inpainter

    def clip(self):
        """The CLIP scorer, or None (with a note) when CLIP ranking is off or unavailable."""
        if self.comps.clip is False or self.cfg.rank.use_clip == "never":
            return None
        if self.comps.clip is None:
            from inhabit.imagine.clip import ClipScorer

            self.comps.clip = ClipScorer(self.cfg.rank.clip_model, device=self.device)
        return self.comps.clip

    def clip_found(self) -> bool:
        if self.comps.clip is False or self.cfg.rank.use_clip == "never":
            return False
        if self.comps.clip is not None:
            return True
        from inhabit.imagine.clip import clip_available

        return clip_available(self.cfg.rank.clip_model)

    @property
    def sdf(self):
        if self._sdf is None:
            from inhabit.scene.sdf import build_local_sdf

            self._sdf = build_local_sdf(self.scene, self.point, extent=self.cfg.sdf.extent, voxel=self.cfg.sdf.voxel)
        return self._sdf

    @property
    def exact_sdf(self):
        if self._exact_sdf is None:
            from inhabit.scene.sdf import MeshSDF

            self._exact_sdf = MeshSDF(self.scene)
        return self._exact_sdf

    def body_colors(self, num_vertices: int) -> np.ndarray | None:
        """Clothed per-vertex colours of the body model (None when the model cannot label parts)."""
        if self._colors is None:
            try:
                from inhabit.body.parts import PART_NAMES, vertex_parts
                from inhabit.perceive.synthetic import clothed_vertex_colors

                self._colors = clothed_vertex_colors(vertex_parts(self.body), PART_NAMES)
            except Exception:  # a backend without part labels renders grey
                self._colors = np.zeros((0, 3), np.uint8)
        return self._colors if len(self._colors) == num_vertices else None

    def human_mesh(self, vertices: np.ndarray, faces: np.ndarray):
        from inhabit.render.mesh import mesh_from_arrays

        return mesh_from_arrays(vertices, faces, self.body_colors(len(vertices)), name="human")

    # --- shared annotations ------------------------------------------------------------------

    def annotations(self) -> dict[str, Any]:
        return {"prompt": self.task.prompt, "interaction": self.task.id, "seed": self.cfg.seed,
                "scene": self.task.scene, "preset": self.cfg.preset}


# ------------------------------------------------------------------------------------------------
# entry points


def run_pose(task: PoseTask, cfg: PoseConfig, out: str | Path, components: PoseComponents | None = None,
             force: bool = False) -> PoseRun:
    """Run (or resume) the pose job for one task into the run folder ``out``.

    Args:
        task: the inputs (scene, prompt, point, optional explicit views or user images).
        cfg: the settings (:func:`inhabit.config.pose_preset` / :func:`resolve_pose_config`).
        out: the run folder; stages whose outputs are finished and whose key still matches are
            reused (see :mod:`inhabit.pipeline.runfolder`).
        components: injected components (None: built from the config when needed).
        force: recompute every stage.

    Raises:
        InputError, MissingWeightsError: bad input or missing weights, before heavy work.
        OptimizationError: a fit could not produce a finite body.
    """
    comps = components or PoseComponents()
    if task.seed is not None:
        cfg = cfg.replace(seed=task.seed)
    scene, point, user = _preflight_inputs(task, cfg)
    with RunFolder(Path(out), job="pose", force=force) as run:
        job = _Job(task, cfg, run, comps, scene, point, user)
        write_text(run.root / CONFIG_NAME, dump_config_yaml(cfg, _inputs(task, point, scene)))
        run.write_manifest(finished=False)
        graph = _stage_graph(job)
        _preflight_weights(job, graph)
        views = _stage_views(job, graph["views"])
        last_fits: FitSet | None = None
        last_rank: dict | None = None
        n_stages = 1 if user is not None else cfg.stages.num_stages
        if user is not None and cfg.stages.num_stages > 1:
            job.notes.append("refinement (stage 1) skipped: with --images there is no inpainting model to repaint "
                             "the silhouette masks; the results are the lifted user images")
        parents_kept: list[str] = []
        for s in range(n_stages):
            if s == 0:
                hyp_ids, images = _stage_inpaint0(job, graph[_stage_name(0, "inpaint")], views)
                parents = [None] * len(hyp_ids)
            else:
                masks = _stage_masks(job, graph[_stage_name(1, "masks")], views, parents_kept, s - 1)
                hyp_ids, images, parents = _stage_inpaint1(job, graph[_stage_name(1, "inpaint")], views, parents_kept,
                                                           masks)
            det = _stage_keypoints(job, graph[_stage_name(s, "keypoints")], views, hyp_ids, images)
            fits = _stage_lift(job, graph[_stage_name(s, "lift")], views, det, parents, s)
            if fits is None:  # a refinement stage without any usable view: keep the previous stage's results
                break
            last_fits = fits
            last_rank = _stage_rank(job, graph[_stage_name(s, "rank")], views, last_fits, s,
                                    keep=s + 1 < n_stages)
            parents_kept = list(last_rank["kept"])
        assert last_fits is not None and last_rank is not None
        choice = _stage_final(job, graph["final"], views, last_fits, last_rank, int(last_rank["stage"]))
        metrics = _stage_export(job, graph["."], views, choice)
        run.write_manifest(finished=True, extra={"result": "result.npz", "chosen": choice["id"],
                                                  "report": "report.html"})
        # The report is a view of the folder (incl. this invocation's manifest), rebuilt every time.
        write_pose_report(run.root, embed=cfg.export.embed_images)
        stages = {r.name: r.status for r in run.records}
    notes = list(dict.fromkeys(job.notes + metrics.get("job", {}).get("notes", [])))
    return PoseRun(run.root, run.root / "result.npz", choice["id"], int(choice["stage"]), run.root / "report.html",
                   metrics, stages, notes)


def _inputs(task: PoseTask, point: np.ndarray, scene) -> dict[str, Any]:
    d = task.inputs_dict()
    d["point"] = [float(x) for x in point]
    d["scene_geometry"] = scene.geometry_hash()
    return d


def _preflight_inputs(task: PoseTask, cfg: PoseConfig):
    """Cheap checks of the inputs (no rendering, no model): scene, point, prompt, user images."""
    from inhabit.scene.load import parse_point, resolve_scene

    user = None
    if task.images is not None:
        from inhabit.pipeline.user_images import discover_user_images

        user = discover_user_images(task.images)
    elif not (task.prompt or "").strip():
        raise InputError("the prompt is empty; describe the interaction, e.g. --prompt \"sitting on the bench\"")
    if not str(task.scene or "").strip():
        raise InputError("no scene given; pass --scene with a mesh file (GLB/GLTF/OBJ/PLY) or demo:room")
    scene = resolve_scene(task.scene, up_axis=task.up_axis, scale=task.scale)
    if task.at is not None and str(task.at).strip():
        point = parse_point(str(task.at), scene)
    elif user is not None and user.cameras.look_at is not None:
        point = parse_point(",".join(repr(float(x)) for x in user.cameras.look_at), scene)
    else:
        raise InputError("no interaction point given; pass --at x,y,z (metres) or a named point of the scene")
    if task.eyes is not None and user is not None:
        raise InputError("--eyes and --images cannot be combined: the cameras of user images come from their cameras.json")
    return scene, np.asarray(point, np.float64), user


def _preflight_weights(job: _Job, graph: dict[str, Stage]) -> None:
    """Missing weights are reported before any view is rendered (only for stages still to run)."""
    from inhabit.weights import resolve_pretrained

    cfg = job.cfg
    inpaint_todo = job.user is None and any(not st.done for name, st in graph.items() if name.endswith("/inpaint"))
    if inpaint_todo and job.comps.inpainter is None:
        from inhabit.imagine.inpaint import COMPONENT

        assert cfg.inpaint.model_id is not None
        resolve_pretrained(cfg.inpaint.model_id, COMPONENT, allow_download=cfg.inpaint.allow_download)
    lift_todo = any(not st.done for name, st in graph.items() if name.endswith("/lift"))
    if lift_todo and cfg.body.prior == "vposer" and job.comps.prior is None:
        from inhabit.body.vposer import find_vposer_checkpoint

        find_vposer_checkpoint(cfg.body.vposer_path)
    if lift_todo and cfg.body.model == "smplx":
        _ = job.body  # SMPL-X files: a MissingWeightsError sentence now rather than after inpainting
    rank_todo = any(not st.done for name, st in graph.items() if name.endswith("/rank"))
    if rank_todo and cfg.rank.use_clip == "always" and job.comps.clip is None:
        from inhabit.imagine.clip import COMPONENT as CLIP_COMPONENT

        resolve_pretrained(cfg.rank.clip_model, CLIP_COMPONENT, allow_download=False)
    if rank_todo and cfg.rank.use_clip == "auto" and not job.clip_found():
        job.notes.append(f"CLIP model {cfg.rank.clip_model!r} not found: hypotheses are ranked by their final fit "
                         f"energy (lower first) instead of the CLIP score")


# ------------------------------------------------------------------------------------------------
# stage keys


def _stage_graph(job: _Job) -> dict[str, Stage]:
    """Every stage with its key (computed from the inputs and config, before anything runs)."""
    cfg, task, run = job.cfg, job.task, job.run
    g: dict[str, Stage] = {}
    inputs = {"scene": job.scene.geometry_hash(), "point": [round(float(x), 9) for x in job.point]}
    views_parts: dict[str, Any] = {**inputs, "views": to_plain(cfg.views)}
    if job.user is not None:
        views_parts = {**inputs, "user_cameras": job.user.content_hash()}
    else:
        views_parts["eyes"] = None if task.eyes is None else [list(e) for e in task.eyes]
    g["views"] = run.stage("views", views_parts)
    inpaint = {k: v for k, v in to_plain(cfg.inpaint).items() if k not in ("device", "batch_size", "allow_download")}
    text = {"prompt": task.prompt, "negative": task.negative_prompt}
    lift = {"lift": {k: v for k, v in to_plain(cfg.lift).items() if k != "torch_threads"},
            "body": to_plain(cfg.body), "sdf": to_plain(cfg.sdf), "min_views": cfg.keypoints.min_views}
    kp = {k: v for k, v in to_plain(cfg.keypoints).items() if k != "min_views"}
    rank = {"rank": to_plain(cfg.rank), "prompt": task.prompt, "prefix": cfg.inpaint.prompt_prefix,
            "clip": job.clip_found(), "keep": [cfg.stages.keep_fraction, cfg.stages.min_keep]}
    n_stages = 1 if job.user is not None else cfg.stages.num_stages
    prev_rank: Stage | None = None
    for s in range(n_stages):
        if s == 0:
            if job.user is not None:
                ip = run.stage("stage0/inpaint", {"user_images": job.user.content_hash()}, [g["views"]])
            else:
                ip = run.stage("stage0/inpaint", {"inpaint": inpaint, **text, "n": cfg.stages.inpaints_per_view[0]},
                               [g["views"]])
        else:
            assert prev_rank is not None
            mk = run.stage(f"stage{s}/masks", {"dilate": [cfg.inpaint.refine_dilate_kernel,
                                                         cfg.inpaint.refine_dilate_iterations]},
                           [prev_rank, g["views"]])
            g[mk.name] = mk
            ip = run.stage(f"stage{s}/inpaint", {"inpaint": inpaint, **text, "n": cfg.stages.inpaints_per_view[s]},
                           [mk, g["views"]])
        g[ip.name] = ip
        kps = run.stage(f"stage{s}/keypoints", kp, [ip])
        g[kps.name] = kps
        upstream = [kps, g["views"]] + ([prev_rank] if prev_rank is not None else [])
        lf = run.stage(f"stage{s}/lift", lift, upstream)
        g[lf.name] = lf
        rk = run.stage(f"stage{s}/rank", {**rank, "keep_for_next": s + 1 < n_stages}, [lf, g["views"]])
        g[rk.name] = rk
        prev_rank = rk
    assert prev_rank is not None
    g["final"] = run.stage("final", {"rule": "best-of-last-stage/1"}, [prev_rank, g["views"]])
    g["."] = run.stage(".", {"export": to_plain(cfg.export), "inputs": _inputs(task, job.point, job.scene)},
                       [g["final"]] + [st for name, st in g.items() if name.endswith(("/lift", "/rank", "/keypoints"))])
    return g


# ------------------------------------------------------------------------------------------------
# stages


def _stage_views(job: _Job, st: Stage) -> _Views:
    from inhabit.camera.io import read_cameras_json
    from inhabit.export.figures import views_sheet

    if not st.done:
        folder = st.begin()
        if job.user is None:
            from inhabit.pipeline.views import parse_eyes, write_views

            eyes = None if job.task.eyes is None else parse_eyes([",".join(map(repr, e)) for e in job.task.eyes])
            res = write_views(job.scene, job.point, folder, job.cfg.views, eyes=eyes, renderer=job.renderer)
            outputs = [*res.images, res.cameras_json, res.contact_sheet]
        else:
            from inhabit.camera.io import write_cameras_json
            from inhabit.render.mesh import RenderSettings

            cams = job.user.cameras.cameras
            pics = [job.renderer.render(c, job.scene, passes=("rgb",), settings=RenderSettings(supersample=2)).rgb
                    for c in cams]
            outputs = [write_image(folder / f"{c.name}.png", p) for c, p in zip(cams, pics)]
            ratios = [float(c.meta.get("vis_ratio", float("nan"))) for c in cams]
            outputs.append(write_image(folder / "contact_sheet.png",
                                       views_sheet(pics, [c.name for c in cams], None, job.cfg.export.sheet_tile)))
            outputs.append(write_cameras_json(
                folder / "cameras.json", cams, job.point, images=[f"{c.name}.png" for c in cams],
                extra={"selection": "explicit" if job.user.explicit_views else "genzi", "source": str(job.user.folder),
                       "vis_ratio_known": bool(np.isfinite(ratios).all())}))
        st.finish(outputs, {"num_views": len(outputs) - 2})
    else:
        st.skip()
    cs = read_cameras_json(st.path / "cameras.json")
    doc = json.loads((st.path / "cameras.json").read_text())
    renders = [read_image(p) for p in cs.image_paths]
    ratios = np.array([float(c.meta.get("vis_ratio", np.nan)) for c in cs.cameras])
    explicit = doc.get("selection", "explicit") != "genzi"
    normal = np.asarray(doc["normal"], np.float64) if "normal" in doc else None
    point = np.asarray(cs.look_at if cs.look_at is not None else job.point, np.float64)
    return _Views(cs.cameras, point, explicit, renders, ratios, normal)


def _inpaint_sheet(job: _Job, folder: Path, views: _Views, ids: list[str], images, masks) -> Path:
    from inhabit.export.figures import inpaint_sheet

    pics = [[read_image(p) if p is not None else np.full_like(views.renders[v], 255) for v, p in enumerate(row)]
            for row in images]
    ms = [[_read_mask(p) if p is not None else None for p in row] for row in masks]
    sheet = inpaint_sheet(pics, ms, ids, [c.name for c in views.cameras], job.cfg.export.sheet_tile)
    return write_image(folder / "inpaint_sheet.png", sheet)


def _read_mask(path: Path) -> np.ndarray | None:
    if not Path(path).is_file():
        return None
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L")) >= 128


def _stage_inpaint0(job: _Job, st: Stage, views: _Views) -> tuple[list[str], list[list[Path | None]]]:
    """Stage-0 hypotheses: n dynamic-mask inpaintings per view (or the user's images)."""
    from inhabit.imagine.inpaint import inpaint_seed, save_inpaint_result

    names = [c.name for c in views.cameras]
    if job.user is not None:
        ids = [f"h{k}" for k in job.user.hypotheses]
        if not st.done:
            folder = st.begin()
            outputs = []
            for hid, row in zip(ids, job.user.files):
                for name, p in zip(names, row):
                    if p is not None:
                        outputs.append(write_image(folder / f"{name}_{hid}.png", read_image(p)))
            files = [[(folder / f"{n}_{hid}.png") if p is not None else None for n, p in zip(names, row)]
                     for hid, row in zip(ids, job.user.files)]
            outputs.append(_inpaint_sheet(job, folder, views, ids, files, [[None] * len(names)] * len(ids)))
            outputs.append(write_json(folder / "images.json", {"source": str(job.user.folder), "hypotheses": ids,
                                                               "notes": job.user.notes}))
            st.finish(outputs, {"source": str(job.user.folder)})
        else:
            st.skip()
        job.notes.extend(job.user.notes)
        files = [[(st.path / f"{n}_{hid}.png") if (st.path / f"{n}_{hid}.png").is_file() else None for n in names]
                 for hid in ids]
        return ids, files

    n = job.cfg.stages.inpaints_per_view[0]
    ids = [f"h{k}" for k in range(n)]
    if not st.done:
        folder = st.begin()
        keys = [(name, k) for k in range(n) for name in names]
        imgs = [views.renders[v] for k in range(n) for v in range(len(names))]
        seeds = [inpaint_seed(job.cfg.seed, name, k) for name, k in keys]
        res = job.inpainter.inpaint(imgs, job.task.prompt, seeds, None, keys=keys,
                                    negative_prompt=job.task.negative_prompt)
        paths = save_inpaint_result(res, folder, renders=imgs, keys=keys)
        files = [[folder / f"{name}_h{k}.png" for name in names] for k in range(n)]
        masks = [[folder / f"{name}_h{k}_mask.png" for name in names] for k in range(n)]
        sheet = _inpaint_sheet(job, folder, views, ids, files, masks)
        st.finish([folder], {"num_images": len(paths), "prompt": res.prompt, "negative_prompt": res.negative_prompt})
        del sheet
    else:
        st.skip()
    return ids, [[st.path / f"{name}_h{k}.png" for name in names] for k in range(n)]


def _stage_keypoints(job: _Job, st: Stage, views: _Views, ids: list[str], images) -> Detections:
    from inhabit.export.figures import grid_sheet, keypoint_overlay, transpose

    k = job.cfg.keypoints
    if not st.done:
        folder = st.begin()
        det = detect_hypotheses(job.detector, ids, images, views.cameras, k.min_score, k.min_count)
        outputs = det.save(folder)
        rows, labels = [], []
        for h, hid in enumerate(ids):
            row, lab = [], []
            for v, cam in enumerate(views.cameras):
                if images[h][v] is None:
                    row.append(None)
                    lab.append(f"{cam.name} {hid}: no image")
                    continue
                img = read_image(images[h][v])
                if img.shape[:2] != (cam.height, cam.width):
                    img = _resize(img, cam.width, cam.height)
                row.append(keypoint_overlay(img, det.keypoints(h)[v], bool(det.accepted[h, v]), min_score=k.min_score))
                lab.append(f"{cam.name} {hid}" + ("" if det.accepted[h, v] else " dropped"))
            rows.append(row)
            labels.append(lab)
        if len(rows) > 1:  # one row per view, one column per hypothesis
            rows, labels = transpose(rows), transpose(labels)
        outputs.append(write_image(folder / "keypoints_sheet.png", grid_sheet(rows, labels, job.cfg.export.sheet_tile)))
        st.finish(outputs, {"accepted": {hid: int(det.accepted[h].sum()) for h, hid in enumerate(ids)}})
    else:
        st.skip()
    det = Detections.load(st.path)
    job.notes.extend(f"{st.name}: {n}" for n in det.notes())
    return det


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if img.shape[1] > w else cv2.INTER_LINEAR)


def _refine_init(job: _Job, parents: list[str | None], prev_fits_folder: Path):
    """A ``rows -> LiftInit`` building each refinement row's start from its parent's result."""
    import torch

    from inhabit.export.results import load_result
    from inhabit.lift import init_from_params

    def init(rows: list[int]):
        from inhabit.body.protocol import BodyParams

        params, latents = [], []
        for h in rows:
            r = load_result(prev_fits_folder / str(parents[h]) / "result.npz")
            p = r.body_params().to(device=job.body.device, dtype=job.body.dtype)
            params.append(p)
            lat = r.params.get("latent")
            latents.append(torch.as_tensor(np.asarray(lat if lat is not None else r.params["body_pose"]),
                                           dtype=job.body.dtype, device=job.body.device).reshape(1, -1))
        return init_from_params(BodyParams.cat(params), torch.cat(latents))

    return init


def _stage_lift(job: _Job, st: Stage, views: _Views, det: Detections, parents: list[str | None],
                s: int) -> FitSet | None:
    from inhabit.export.figures import lift_overlay, loss_plot, shrink
    from inhabit.render.sheets import contact_sheet

    tile = job.cfg.export.sheet_tile
    if not st.done:
        folder = st.begin()
        init = None if s == 0 else _refine_init(job, parents, job.run.root / f"stage{s - 1}" / "lift")
        try:
            depth = ([job.renderer.render(c, job.scene, ("depth",)).depth for c in views.cameras]
                     if job.cfg.lift.occlusion_weight < 1.0 else None)
            fits, res = lift_hypotheses(folder, job.run.root, det, views.cameras, job.body, job.prior, job.sdf,
                                        job.cfg.lift, views.point, views.explicit, job.cfg.keypoints.min_views,
                                        parents=parents, init=init, extra=job.annotations(), stage=s,
                                        scene_depth=depth)
        except InputError as e:
            if s == 0:
                raise
            job.notes.append(f"{st.name}: {e}; the result is chosen among the stage-{s - 1} results")
            return None
        outputs: list[Path] = [folder / "lift.json", folder / "history.npz"]
        images_dir = job.run.root / f"stage{s}" / "inpaint"
        for i, rec in enumerate(fits.records):
            h = det.ids.index(rec.id)
            outputs.append(folder / rec.id / "result.npz")
            row, lab = [], []
            for v, cam in enumerate(views.cameras):
                img_path = _hyp_image(images_dir, rec, cam.name)
                img = read_image(img_path) if img_path is not None else views.renders[v]
                if img.shape[:2] != (cam.height, cam.width):
                    img = _resize(img, cam.width, cam.height)
                used = bool(res.valid[i, v])
                row.append(lift_overlay(img, det.keypoints(h)[v], res.projected[i, v], float(res.view_weights[i, v]),
                                        used, job.cfg.keypoints.min_score))
                lab.append(f"{cam.name} w={res.view_weights[i, v]:.2f}" if used else f"{cam.name} unused")
            outputs.append(write_image(folder / rec.id / "overlays.png", contact_sheet([shrink(x, tile) for x in row], lab)))
            outputs.append(write_image(folder / rec.id / "loss.png",
                                       loss_plot(res.history, i, f"{st.name} {rec.id}: weighted energies")))
        st.finish(outputs, {"fitted": fits.ids, "failed": fits.failed, "timings": fits.timings})
    else:
        st.skip()
    fits = FitSet.load(st.path / "lift.json")
    for hid, why in fits.failed.items():
        job.notes.append(f"{st.name}: hypothesis {hid} not lifted ({why})")
    return fits


def _hyp_image(images_dir: Path, rec, view: str) -> Path | None:
    """The image of view ``view`` that hypothesis ``rec`` was fitted to."""
    if rec.parent:
        j = rec.id.rsplit("_r", 1)[1]
        p = images_dir / rec.parent / f"{view}_h{j}.png"
    else:
        p = images_dir / f"{view}_{rec.id}.png"
    return p if p.is_file() else None


def _composites(job: _Job, views: _Views, vertices: np.ndarray, faces: np.ndarray,
                scene_renders: list | None = None) -> list[np.ndarray]:
    from inhabit.render.mesh import render_human_in_scene

    human = job.human_mesh(vertices, faces)
    return [render_human_in_scene(c, job.scene, human, job.renderer, None if scene_renders is None else scene_renders[v]).rgb
            for v, c in enumerate(views.cameras)]


def _clip_text(job: _Job) -> str:
    prefix = job.cfg.rank.prompt_prefix if job.cfg.rank.prompt_prefix is not None else job.cfg.inpaint.prompt_prefix
    prompt = job.task.prompt.strip()
    return f"{prefix}, {prompt}" if prefix else prompt


def _stage_rank(job: _Job, st: Stage, views: _Views, fits: FitSet, s: int, keep: bool) -> dict:
    from inhabit.export.figures import views_sheet
    from inhabit.export.results import load_result
    from inhabit.imagine.clip import rank_hypotheses

    if not st.done:
        folder = st.begin()
        scene_renders = [job.renderer.render(c, job.scene, ("rgb", "depth")) for c in views.cameras]
        clip = job.clip() if (job.task.prompt.strip() and job.clip_found()) else None
        if clip is None and job.clip_found() and not job.task.prompt.strip():
            job.notes.append(f"{st.name}: no prompt, so no CLIP score; ranked by the final fit energy")
        scores: dict[str, list[float]] = {}
        outputs = []
        for rec in track(fits.records, desc=f"rank stage {s}", total=len(fits.records)):
            r = load_result(job.run.root / rec.result)
            pics = _composites(job, views, r.vertices, r.faces, scene_renders)
            outputs.append(write_image(folder / f"{rec.id}_renders.png",
                                       views_sheet(pics, [c.name for c in views.cameras], None, job.cfg.export.sheet_tile)))
            if clip is not None:
                scores[rec.id] = [float(x) for x in clip.score(pics, _clip_text(job))]
        mean = [float(np.mean(scores[r.id])) for r in fits.records] if clip is not None else None
        ranking = rank_hypotheses(mean, [r.energy_total for r in fits.records])
        order = [fits.records[i].id for i in ranking.order]
        kept = [fits.records[i].id for i in ranking.top(job.cfg.stages.keep_fraction, job.cfg.stages.min_keep)] if keep \
            else []
        doc = {"stage": s, "method": ranking.method, "order": order, "kept": kept,
               "values": {r.id: float(v) for r, v in zip(fits.records, ranking.values)},
               "clip_text": _clip_text(job) if clip is not None else None, "clip_per_view": scores,
               "energies": {r.id: r.energy_total for r in fits.records},
               "rule": ("mean CLIP cosine over all views, higher first" if ranking.method == "clip"
                        else "final total fit energy, lower first")}
        outputs.append(write_json(folder / "ranks.json", doc))
        st.finish(outputs, {"method": ranking.method, "kept": kept})
    else:
        st.skip()
    doc = json.loads((st.path / "ranks.json").read_text())
    if keep and len(fits.records) == 1:
        job.notes.append(f"{st.name}: a single hypothesis survived; GenZI would keep ⌊0.5·1⌋ = 0 and skip "
                         f"refinement, inhabit refines it")
    return doc


def _stage_masks(job: _Job, st: Stage, views: _Views, kept: list[str], prev: int) -> dict[str, list[Path]]:
    """Refinement masks: each kept body rendered alone (unoccluded) from every view, dilated."""
    from inhabit.export.figures import grid_sheet, masked_image, transpose
    from inhabit.export.results import load_result
    from inhabit.imagine.masking import silhouette_to_inpaint_mask

    names = [c.name for c in views.cameras]
    if not st.done:
        folder = st.begin()
        outputs, rows, labels = [], [], []
        for hid in track(kept, desc="refinement masks", total=len(kept)):
            r = load_result(job.run.root / f"stage{prev}" / "lift" / hid / "result.npz")
            human = job.human_mesh(r.vertices, r.faces)
            row = []
            for v, cam in enumerate(views.cameras):
                sil = job.renderer.render(cam, human, ("depth",)).mask
                m = silhouette_to_inpaint_mask(sil, job.cfg.inpaint.refine_dilate_kernel,
                                               job.cfg.inpaint.refine_dilate_iterations)
                outputs.append(write_image(folder / hid / f"{cam.name}.png", m))
                row.append(masked_image(views.renders[v], m))
            rows.append(row)
            labels.append([f"{n} {hid}" for n in names])
        if len(rows) > 1:
            rows, labels = transpose(rows), transpose(labels)
        outputs.append(write_image(folder / "masks_sheet.png", grid_sheet(rows, labels, job.cfg.export.sheet_tile)))
        st.finish(outputs, {"parents": kept})
    else:
        st.skip()
    return {hid: [st.path / hid / f"{n}.png" for n in names] for hid in kept}


def _stage_inpaint1(job: _Job, st: Stage, views: _Views, kept: list[str], masks: dict[str, list[Path]]):
    """Stage-1 hypotheses: per kept body, m inpaintings per view inside its silhouette mask."""
    from inhabit.imagine.inpaint import inpaint_seed, save_inpaint_result

    names = [c.name for c in views.cameras]
    m = job.cfg.stages.inpaints_per_view[1]
    if not st.done:
        folder = st.begin()
        rows_img, rows_mask, row_ids = [], [], []
        for parent in kept:
            keys = [(name, j) for j in range(m) for name in names]
            imgs = [views.renders[v] for j in range(m) for v in range(len(names))]
            fixed = [_read_mask(masks[parent][v]) for j in range(m) for v in range(len(names))]
            seeds = [inpaint_seed(job.cfg.seed, f"stage1/{parent}/{name}", j) for name, j in keys]
            res = job.inpainter.inpaint(imgs, job.task.prompt, seeds, fixed, keys=keys,
                                        negative_prompt=job.task.negative_prompt)
            save_inpaint_result(res, folder / parent, renders=imgs, keys=keys)
            for j in range(m):
                row_ids.append(f"{parent}_r{j}")
                rows_img.append([folder / parent / f"{n}_h{j}.png" for n in names])
                rows_mask.append([folder / parent / f"{n}_h{j}_mask.png" for n in names])
        _inpaint_sheet(job, folder, views, row_ids, rows_img, rows_mask)
        st.finish([folder], {"parents": kept, "per_view": m})
    else:
        st.skip()
    ids, images, parents = [], [], []
    for parent in kept:
        for j in range(m):
            ids.append(f"{parent}_r{j}")
            parents.append(parent)
            images.append([st.path / parent / f"{n}_h{j}.png" for n in names])
    return ids, images, parents


def _stage_final(job: _Job, st: Stage, views: _Views, fits: FitSet, rank: dict, s: int) -> dict:
    """Choose the final body (best of the last stage) and render it into every view."""
    from inhabit.export.figures import views_sheet
    from inhabit.export.results import load_result

    if not st.done:
        folder = st.begin()
        chosen = rank["order"][0]
        rec = fits.record(chosen)
        r = load_result(job.run.root / rec.result)
        pics = _composites(job, views, r.vertices, r.faces)
        outputs = [write_image(folder / "renders" / f"{c.name}.png", p) for c, p in zip(views.cameras, pics)]
        outputs.append(write_image(folder / "renders_sheet.png", views_sheet(pics, [c.name for c in views.cameras],
                                                                             None, job.cfg.export.sheet_tile)))
        how = ("the highest mean CLIP score over the views" if rank["method"] == "clip"
               else "the lowest final fit energy (no CLIP model)")
        choice = {"id": chosen, "stage": s, "result": rec.result, "method": rank["method"],
                  "value": rank["values"].get(chosen), "reason": f"{chosen} has {how} among the stage-{s} results",
                  "candidates": rank["order"]}
        outputs.append(write_json(folder / "choice.json", choice))
        st.finish(outputs, {"chosen": chosen})
    else:
        st.skip()
    return json.loads((st.path / "choice.json").read_text())


def _stage_export(job: _Job, st: Stage, views: _Views, choice: dict) -> dict:
    """Top-level outputs: result.npz, GLB, body meshes, metrics.json (report.html is rebuilt after)."""
    from inhabit.export.glb import BodyMesh, write_body_mesh, write_scene_glb
    from inhabit.export.results import load_result, save_result
    from inhabit.pipeline.pose_report import compute_pose_metrics

    root = job.run.root
    if not st.done:
        st.begin()
        r = load_result(root / choice["result"])
        outputs = [save_result(root / "result.npz", r, params=r.params, body_model=r.body_model,
                               view_weights=r.view_weights, body_pose_smplx=r.body_pose_smplx,
                               extra={**r.extra, "copy_of": choice["result"], "chosen_by": choice["method"]})]
        colors = job.body_colors(len(r.vertices))
        if job.cfg.export.glb:
            outputs.append(write_scene_glb(root / "scene_with_human.glb", job.scene,
                                           [BodyMesh(r.vertices, r.faces, colors, "human")]))
        for fmt in job.cfg.export.body_meshes:
            outputs.append(write_body_mesh(root / f"human.{fmt}", r.vertices, r.faces, colors))
        metrics = compute_pose_metrics(root, job.scene, job.exact_sdf, views.cameras, notes=job.notes)
        outputs.append(write_json(root / "metrics.json", metrics))
        st.finish(outputs, {"chosen": choice["id"]})
    else:
        st.skip()
        metrics = json.loads((root / "metrics.json").read_text())
    return metrics


# ------------------------------------------------------------------------------------------------
# command line


def _overrides_from_args(args) -> dict[str, Any]:
    o: dict[str, Any] = {}
    if getattr(args, "body", None):
        o.setdefault("body", {})["model"] = args.body
    if getattr(args, "seed", None) is not None:
        o["seed"] = int(args.seed)
    if getattr(args, "device", None):
        o["device"] = args.device
    if getattr(args, "inpaint_model", None):
        o.setdefault("inpaint", {})["model_id"] = str(args.inpaint_model)
    if getattr(args, "allow_download", False):
        o.setdefault("inpaint", {})["allow_download"] = True
    if getattr(args, "clip_model", None):
        o.setdefault("rank", {})["clip_model"] = str(args.clip_model)
    if getattr(args, "num_views", None):
        o.setdefault("views", {})["max_views"] = int(args.num_views)
    return o


def _print_run(res: PoseRun) -> None:
    s = res.metrics.get("job", {}).get("final", {})
    ran = sum(1 for v in res.stages.values() if v == "ran")
    print(f"pose: chosen {res.chosen} (stage {res.chosen_stage}); non-collision {s.get('non_collision', float('nan')):.3f}, "
          f"contact {s.get('contact', float('nan')):.0f}; {ran} stages ran, {len(res.stages) - ran} reused")
    for n in res.notes[:8]:
        print(f"  note: {n}")
    print(f"result: {res.result}")
    print(f"report: {res.report}")


def run(args) -> int:
    """``inhabit pose`` (arguments: :class:`inhabit.cli.Pose`)."""
    cfg = resolve_pose_config(args.preset, getattr(args, "config", None), _overrides_from_args(args))
    force = bool(getattr(args, "force", False))
    if getattr(args, "task", None) is not None:
        return run_task_file(Path(args.task), Path(args.out), cfg, force=force,
                             config_file=getattr(args, "config", None), overrides=_overrides_from_args(args))
    if args.scene is None:
        raise InputError("no scene given; pass --scene with a mesh file or demo:room (or --task FILE)")
    eyes = None
    if getattr(args, "eyes", ()):
        from inhabit.pipeline.views import parse_eyes

        e = parse_eyes(list(args.eyes))
        eyes = tuple(tuple(float(x) for x in row) for row in e) if e is not None else None
    task = PoseTask(scene=str(args.scene), at=(args.at or None), prompt=args.prompt or "",
                    negative_prompt=getattr(args, "negative_prompt", "") or None, eyes=eyes,
                    images=None if args.images is None else str(args.images), id=Path(args.out).name or "pose",
                    up_axis=args.up_axis, scale=float(args.scale))
    res = run_pose(task, cfg, Path(args.out), force=force)
    _print_run(res)
    return 0


def run_task_file(path: Path, out: Path, cfg: PoseConfig, force: bool = False,
                  config_file: Path | None = None, overrides: dict | None = None,
                  components: PoseComponents | None = None) -> int:
    """Run every interaction of a task file into ``out/<id>/``; writes ``out/tasks.json`` and
    ``out/index.html``. All tasks are validated before the first one runs; a task that fails
    (an :class:`~inhabit.errors.InhabitError`) is recorded and the others continue (exit 1)."""
    from inhabit.errors import InhabitError

    out = Path(out).resolve()  # the index links out / <id>/report.html: a relative folder would be joined twice
    tf = parse_task_file(path)
    # precedence: preset (the task file's replaces the command line's) -> --config -> the task
    # file's config -> command-line flags
    if tf.preset is not None:
        cfg = resolve_pose_config(tf.preset, config_file, None)
    if tf.config:
        cfg = cfg.with_overrides(tf.config, source=str(path))
    if overrides and (tf.preset is not None or tf.config):
        cfg = cfg.with_overrides(overrides, source="command line")
    for t in tf.tasks:  # cheap checks of every task before any heavy work
        _preflight_inputs(t, cfg)
    comps = components or PoseComponents()
    rows, failed = [], 0
    out.mkdir(parents=True, exist_ok=True)
    for t in tf.tasks:
        print(f"== {t.id}: {t.prompt!r} at {t.at}")
        t0 = time.perf_counter()
        try:
            res = run_pose(t, cfg, out / t.id, comps, force=force)
            _print_run(res)
            rows.append({"id": t.id, "prompt": t.prompt, "status": "done", "chosen": res.chosen,
                         "report": f"{t.id}/report.html", "result": f"{t.id}/result.npz",
                         "seconds": time.perf_counter() - t0, "final": res.metrics.get("job", {}).get("final", {})})
        except InhabitError as e:
            failed += 1
            print(f"inhabit: error in task {t.id}: {e}")
            rows.append({"id": t.id, "prompt": t.prompt, "status": "failed", "error": str(e),
                         "seconds": time.perf_counter() - t0})
    write_json(out / "tasks.json", {"format": "inhabit.task-runs/1", "task_file": str(path), "runs": rows})
    _write_index(out, tf, rows)
    print(f"{len(rows) - failed} of {len(rows)} interactions done; index: {out / 'index.html'}")
    return 1 if failed else 0


def _write_index(out: Path, tf, rows: list[dict]) -> Path:
    from inhabit.export.report import Section, Table, write_report

    table = Table(["id", "prompt", "status", "chosen", "non-collision", "contact", "report"], [])
    for r in rows:
        f = r.get("final", {})
        table.rows.append([r["id"], r["prompt"], r["status"], r.get("chosen", ""),
                           f"{f['non_collision']:.3f}" if "non_collision" in f else "",
                           f"{f['contact']:.0f}" if "contact" in f else "",
                           r.get("report", r.get("error", ""))])
    sec = Section("Interactions", "", [table])
    links = [(f"{r['id']}/report.html", out / r["report"]) for r in rows if r.get("report")]
    if links:
        from inhabit.export.report import Links

        sec.items.append(Links(links))
    return write_report(out / "index.html", f"inhabit pose: {tf.path.name}", [f"scene {tf.scene}"], [sec])


__all__ = ["PoseComponents", "PoseRun", "run", "run_pose", "run_task_file"]
