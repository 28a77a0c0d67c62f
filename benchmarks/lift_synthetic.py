"""GenZI lifting against ground truth the project makes itself, with the paper's ablations.

Truth: the anny body in the interaction pose of each named point of the demo room (sitting on the
chair, bench and sofa, lying on the bed, leaning on the counter, standing at the table, stepping on
the stairs), placed by ``inhabit.body.poses.place_body`` and checked against the exact scene SDF.
Views: the real view selection (``camera.views.select_views``, GenZI's numbers, up to 16).
2D keypoints, two sources:

* ``projected``: the truth's 23 keypoints projected, plus Gaussian pixel noise (σ = ``--noise`` px);
* ``detected``: BlazePose (the default detector) on 512² renders of the clothed body in the scene;
  views failing GenZI's acceptance rule (13 of 17 points ≥ 0.25) are masked, as the pipeline does.

A fraction of the views (0 %, 25 %, 50 %) is corrupted, cycling through three kinds, each standing
for a typical inconsistent inpainting: ``other_pose`` (a different person pose at the same place),
``mirrored`` (the person's left and right swapped), ``shifted`` (the person 35 cm to the side).

Methods (paper Table 2): ``full`` (learned view weights, scene terms), ``wo_vc`` (view weights
fixed to 1), ``single_view`` (only the view with the most confident detection — no oracle: it may
be a corrupted one), ``no_scene`` (no penetration/contact terms).

Metrics (``inhabit.evaluate``): MPJPE and PA-MPJPE over the 22 joints (mm), pelvis error (cm),
non-collision (fraction of vertices with exact SDF ≥ 0) and contact (some vertex with SDF ≤ 0),
the ROC AUC of the final view weights separating clean from corrupted used views, fit time.
A separate timing section fits one hypothesis over 16 views and 4 hypotheses in one batch.

Run: ``python benchmarks/lift_synthetic.py [--quick] [--preset NAME] [--cases a,b] [--sources ...]``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, parse_args, print_table, setup_env, write_results

CASES = ("sit_chair", "sit_bench", "sit_sofa", "lie_bed", "lean_counter", "stand_table", "step_stairs")
FRACTIONS = (0.0, 0.25, 0.5)
CORRUPTIONS = ("other_pose", "mirrored", "shifted")
METHODS = ("full", "wo_vc", "single_view", "no_scene")
OTHER_POSE = {"sitting": "standing", "sitting_relaxed": "standing", "lying": "sitting", "leaning": "sitting",
              "standing": "sitting", "stepping": "sitting"}


@dataclass
class Case:
    name: str
    pose: str
    point: np.ndarray
    facing: np.ndarray | None
    params: object
    joints: np.ndarray
    vertices: np.ndarray
    cameras: list
    grid: object
    depth: list  # the scene's depth map per camera (occlusion-aware keypoint confidences)
    truth_min_sdf: float
    truth_noncollision: float
    placed_min_sdf: float = 0.0
    placed_noncollision: float = 1.0
    bodies: dict = field(default_factory=dict)  # corruption kind -> (vertices, keypoints) per view


def exact_sdf(scene, points: np.ndarray) -> np.ndarray:
    from inhabit.scene.sdf import mesh_signed_distance

    return np.asarray(mesh_signed_distance(scene.vertices, scene.faces, points), dtype=np.float64)


def repair_truth(model, params, cameras, scene):
    """Make a placed named pose touch without penetrating: starting from it, minimise a quadratic
    penetration (τ = +1 mm) and a contact pull (to 1 mm inside), with a strong pull back to the named
    pose and the joint limits — no 2D term. Hands sunk into a table, a foot into a step come out
    with the smallest pose change; a body that already rests is left where it is."""
    from inhabit.body.prior import AnglePrior
    from inhabit.lift import fit_bodies, init_from_params, lift_preset
    from inhabit.structures import Keypoints2D

    zero = [0.0] * 5
    cfg = lift_preset("inhabit", phase_iters=60, penetration_threshold=0.001, contact_threshold=-0.001,
                      sdf_vertices=0, lr={"orient": [0.002] * 4, "transl": [0.003] * 4, "pose": [0.01] * 4,
                                          "shape": [0.0] * 4, "view": [0.0] * 4},
                      refine_weights={"view_count": zero, "torso": zero, "limb": zero, "pose_prior": [1.0] * 5,
                                      "joint_angle": zero, "joint_limits": [1.0] * 5, "shape": zero,
                                      "penetration": [1e4] * 5, "contact": [0, 0, 1e3, 1e3, 1e3],
                                      "self_penetration": zero}, weight_decay=0.0)
    from inhabit.scene.sdf import MeshSDF

    prior = AnglePrior(model, init_pose=params.body_pose)
    kp = Keypoints2D(np.full((len(cameras), 23, 2), 1.0, np.float32), np.ones((len(cameras), 23), np.float32))
    res = fit_bodies(model, prior, cameras, kp, MeshSDF(scene), cfg, init=init_from_params(params, params.body_pose),
                     progress=False)
    return settle(model, res.params, scene)


def settle(model, params, scene, depth: float = 5e-4):
    """Move the body rigidly towards its closest surface (along that surface's normal at its
    closest vertex) until the vertex sits ``depth`` inside (a resting body touches: GenZI's
    contact test is SDF ≤ 0). Three exact-SDF passes."""
    import torch

    from inhabit.scene.sdf import MeshSDF

    sdf = MeshSDF(scene)
    for _ in range(3):
        with torch.no_grad():
            v = model(params).vertices[0]
        s = sdf(v.double())
        i = int(torch.argmin(s))
        n = sdf.gradient(v[i:i + 1].double())[0]  # points away from the surface
        step = -(float(s[i]) + depth) * n
        params = params.replace(transl=params.transl + torch.as_tensor(step, dtype=model.dtype)[None])
    return params


def make_case(model, scene, name: str, num_views: int) -> Case:
    import torch

    from inhabit.body.poses import make_pose, place_body
    from inhabit.camera.views import ViewSelectionConfig, select_views
    from inhabit.pipeline.demo import pose_for_interaction
    from inhabit.render.mesh import default_renderer
    from inhabit.scene.sdf import build_local_sdf

    point = np.asarray(scene.points[name], dtype=np.float64)
    pose = pose_for_interaction(name)
    facing = scene.point_body_up.get(name) if pose == "lying" else scene.point_facing.get(name)
    params = place_body(model, make_pose(model, pose), point, facing=facing, pose_name=pose)
    views = select_views(scene, point, ViewSelectionConfig(max_views=num_views))
    grid = build_local_sdf(scene, point)
    with torch.no_grad():
        v = model(params).vertices[0].numpy().astype(np.float64)
    s0 = exact_sdf(scene, v)
    if s0.min() < -1e-3:
        params = repair_truth(model, params, list(views.cameras), scene)
    elif s0.min() > 0.0:
        params = settle(model, params, scene)
    with torch.no_grad():
        out = model(params)
    v = out.vertices[0].numpy().astype(np.float64)
    s = exact_sdf(scene, v)
    cameras = [aim_at(c, out.joints[0, 0].numpy().astype(np.float64)) for c in views.cameras]
    renderer = default_renderer()
    depth = [renderer.render(c, scene, ("depth",)).depth for c in cameras]
    case = Case(name, pose, point, facing, params, out.joints[0].numpy().astype(np.float64), v,
                cameras, grid, depth, float(s.min()), float((s >= 0).mean()))
    case.placed_min_sdf, case.placed_noncollision = float(s0.min()), float((s0 >= 0).mean())
    return case


def aim_at(camera, target: np.ndarray):
    """The same camera (eye, intrinsics, image size) turned to look at ``target``.

    GenZI's selected views look at the interaction point. For a point on the floor (standing at the
    table, stepping on the stairs) that is the feet: at 2 m with a 60° field of view the person is
    cut at the hips in every view and no detector finds them. The benchmark keeps the selected eye
    positions and aims them at the body's pelvis, so detection is possible; the lifting still gets
    the interaction point and these cameras, nothing else.
    """
    from inhabit.camera.pinhole import Camera, invert_rigid, look_at

    T_world_cam = look_at(camera.center, target)
    return Camera(camera.K, invert_rigid(T_world_cam), camera.width, camera.height, camera.name, dict(camera.meta))


def corruption_plan(k: int, fraction: float, seed: int) -> dict[int, str]:
    """round(fraction · k) views (never all), picked with ``seed``, kinds cycling through CORRUPTIONS."""
    n = min(k - 1, math.floor(fraction * k + 0.5))
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(k, size=n, replace=False).tolist()) if n > 0 else []
    return {v: CORRUPTIONS[i % len(CORRUPTIONS)] for i, v in enumerate(picked)}


def corrupted_body(model, case: Case, kind: str, camera):
    """(vertices (V,3), keypoints (23,3)) of the person a corrupted view shows."""
    import torch

    from inhabit.body.poses import make_pose, place_body

    if kind == "other_pose":
        key = ("other_pose",)
        if key not in case.bodies:
            other = OTHER_POSE[case.pose]
            p = place_body(model, make_pose(model, other), case.point, facing=case.facing, pose_name=other)
            with torch.no_grad():
                o = model(p)
            case.bodies[key] = (o.vertices[0].numpy(), o.keypoints[0].numpy())
        return case.bodies[key]
    if kind == "shifted":
        right = camera.T_world_cam[:3, 0].copy()
        right[2] = 0.0
        right /= max(np.linalg.norm(right), 1e-9)
        shift = torch.as_tensor(0.35 * right, dtype=model.dtype)
        p = case.params.replace(transl=case.params.transl + shift)
        with torch.no_grad():
            o = model(p)
        return o.vertices[0].numpy(), o.keypoints[0].numpy()
    with torch.no_grad():
        o = model(case.params)
    return o.vertices[0].numpy(), o.keypoints[0].numpy()


def swap_left_right(xy: np.ndarray, conf: np.ndarray, names) -> tuple[np.ndarray, np.ndarray]:
    from inhabit.conventions import flip_left_right_names

    perm = [list(names).index(n) for n in flip_left_right_names(names)]
    return xy[perm], conf[perm]


def projected_keypoints(model, case: Case, plan: dict[int, str], noise_px: float, seed: int):
    import torch

    from inhabit.conventions import KEYPOINT_NAMES
    from inhabit.structures import Keypoints2D

    rng = np.random.default_rng(seed)
    with torch.no_grad():
        kp_truth = model(case.params).keypoints[0].numpy()
    xy_all, conf_all = [], []
    for v, cam in enumerate(case.cameras):
        kind = plan.get(v)
        kp3 = kp_truth if kind in (None, "mirrored") else corrupted_body(model, case, kind, cam)[1]
        xy, _ = cam.project(kp3)
        conf = np.ones(len(KEYPOINT_NAMES))
        if kind == "mirrored":
            xy, conf = swap_left_right(xy, conf, KEYPOINT_NAMES)
        xy_all.append(xy + noise_px * rng.standard_normal(xy.shape))
        conf_all.append(conf)
    return Keypoints2D(np.stack(xy_all).astype(np.float32), np.stack(conf_all).astype(np.float32))


def detected_keypoints(model, scene, case: Case, plan: dict[int, str], detector, colors, faces):
    """BlazePose on renders of the (possibly corrupted) person in the scene; returns (kp, accepted)."""
    from inhabit.perceive.keypoints import accept_person
    from inhabit.render.mesh import mesh_from_arrays, render_human_in_scene
    from inhabit.structures import Keypoints2D

    images = []
    for v, cam in enumerate(case.cameras):
        kind = plan.get(v)
        verts = case.vertices if kind in (None, "mirrored") else corrupted_body(model, case, kind, cam)[0]
        human = mesh_from_arrays(verts, faces, colors)
        images.append(render_human_in_scene(cam, scene, human).rgb)
    kp = detector.detect(images)
    xy, conf = kp.xy.copy(), kp.conf.copy()
    for v, kind in plan.items():
        if kind == "mirrored":
            xy[v], conf[v] = swap_left_right(xy[v], conf[v], kp.names)
    kp = Keypoints2D(xy, conf, kp.names)
    return kp, accept_person(kp), images


def row_metrics(res, h: int, case: Case, scene, plan: dict[int, str]) -> dict:
    from inhabit.evaluate.accuracy import mpjpe, pa_mpjpe, roc_auc

    j = res.joints[h].numpy().astype(np.float64)
    v = res.vertices[h].numpy().astype(np.float64)
    s = exact_sdf(scene, v)
    used = res.valid[h]
    clean = np.array([i not in plan for i in range(len(case.cameras))])
    auc = float("nan")
    if used.sum() > 1 and (clean[used]).any() and (~clean[used]).any():
        auc = roc_auc(res.view_weights[h][used], clean[used])
    return {
        "mpjpe_mm": 1000 * mpjpe(j, case.joints),
        "pa_mpjpe_mm": 1000 * pa_mpjpe(j, case.joints),
        "pelvis_cm": 100 * float(np.linalg.norm(j[0] - case.joints[0])),
        "non_collision": float((s >= 0).mean()),
        "contact": float(s.min() <= 0.0),
        "min_sdf_mm": 1000 * float(s.min()),
        "auc": auc,
        "views_used": int(used.sum()),
        "skipped": int(res.skipped_steps[h]),
    }


def single_view_mask(kp_list, valid: np.ndarray) -> np.ndarray:
    """Per hypothesis, only the used view with the highest mean confidence (ties: the first, which
    view selection ranked best)."""
    out = np.zeros_like(valid)
    for h, kp in enumerate(kp_list):
        score = np.where(valid[h], kp.conf.mean(axis=1), -1.0)
        out[h, int(np.argmax(score))] = True
    return out


def run_case_source(model, prior, scene, case: Case, source: str, cfg, args, detector, colors, faces):
    from inhabit.lift import fit_bodies

    fractions = args.fractions
    plans = [corruption_plan(len(case.cameras), f, seed=1000 + i) for i, f in enumerate(fractions)]
    kps, valid = [], []
    for i, plan in enumerate(plans):
        if source == "projected":
            kp = projected_keypoints(model, case, plan, args.noise, seed=2000 + i)
            ok = np.ones(len(case.cameras), bool)
        else:
            kp, ok, _ = detected_keypoints(model, scene, case, plan, detector, colors, faces)
        kps.append(kp)
        valid.append(ok)
    valid = np.stack(valid)
    for h in range(len(kps)):
        if not valid[h].any():
            valid[h, 0] = True  # keep the row alive; the metrics will show the failure
    rows = []
    H = len(fractions)
    batches = {
        "full+single_view": dict(keypoints=kps + kps, valid=np.concatenate([valid, single_view_mask(kps, valid)]),
                                 sdf=case.grid, learn=True, labels=["full"] * H + ["single_view"] * H),
        "wo_vc": dict(keypoints=kps, valid=valid, sdf=case.grid, learn=False, labels=["wo_vc"] * H),
        "no_scene": dict(keypoints=kps, valid=valid, sdf=None, learn=True, labels=["no_scene"] * H),
    }
    if args.methods != "all":
        keep = set(args.methods.split(","))
        batches = {k: b for k, b in batches.items() if keep & set(b["labels"])}
    for bname, b in batches.items():
        with Timer() as t:
            res = fit_bodies(model, prior, case.cameras, b["keypoints"], b["sdf"], cfg, point=case.point,
                             valid=b["valid"], learn_view_weights=b["learn"],
                             scene_depth=case.depth if b["sdf"] is not None else None, progress=False)
        for h, label in enumerate(b["labels"]):
            f = fractions[h % H]
            m = row_metrics(res, h, case, scene, plans[h % H])
            rows.append({"case": case.name, "source": source, "corrupt": f, "method": label, **m,
                         "batch": bname, "batch_rows": len(b["labels"]), "batch_s": t.seconds,
                         "batch_cpu_s": res.timings["optimize_cpu"]})
        print_table([r for r in rows if r["batch"] == bname],
                    ["case", "source", "corrupt", "method", "mpjpe_mm", "pa_mpjpe_mm", "pelvis_cm", "non_collision",
                     "contact", "min_sdf_mm", "auc", "views_used", "batch_s"])
    return rows


def timing_section(model, prior, case: Case, cfg, noise: float) -> list[dict]:
    """One fit of all views (16 when selected) × the preset's steps, then 4 hypotheses batched."""
    from inhabit.lift import fit_bodies

    out = []
    for H in (1, 4):
        kps = [projected_keypoints(model, case, {}, noise, seed=3000 + h) for h in range(H)]
        res = fit_bodies(model, prior, case.cameras, kps, case.grid, cfg, point=case.point, scene_depth=case.depth,
                         progress=False)
        out.append({"hypotheses": H, "views": len(case.cameras), "steps": cfg.num_iters,
                    "wall_s": res.timings["total"], "cpu_s": res.timings["optimize_cpu"],
                    "ms_per_step": res.timings["ms_per_step"], "load_avg_1min": os.getloadavg()[0]})
    return out


def summarise(rows: list[dict]) -> list[dict]:
    keys = sorted({(r["source"], r["corrupt"], r["method"]) for r in rows},
                  key=lambda k: (k[0], k[1], METHODS.index(k[2])))
    out = []
    for src, f, meth in keys:
        sel = [r for r in rows if (r["source"], r["corrupt"], r["method"]) == (src, f, meth)]
        aucs = [r["auc"] for r in sel if np.isfinite(r["auc"])]
        out.append({
            "source": src, "corrupt": f, "method": meth, "cases": len(sel),
            "mpjpe_mm": float(np.mean([r["mpjpe_mm"] for r in sel])),
            "pa_mpjpe_mm": float(np.mean([r["pa_mpjpe_mm"] for r in sel])),
            "pelvis_cm": float(np.mean([r["pelvis_cm"] for r in sel])),
            "non_collision": float(np.mean([r["non_collision"] for r in sel])),
            "contact": float(np.mean([r["contact"] for r in sel])),
            "auc": float(np.mean(aucs)) if aucs else float("nan"),
        })
    return out


def main(argv=None) -> int:
    setup_env()

    def extra(p):
        p.add_argument("--preset", default="inhabit", help="lift preset of the full method")
        p.add_argument("--cases", default=",".join(CASES))
        p.add_argument("--sources", default="projected,detected")
        p.add_argument("--methods", default="all", help="comma list of batches' methods (default all)")
        p.add_argument("--noise", type=float, default=3.0, help="pixel noise of projected keypoints (σ)")
        p.add_argument("--views", type=int, default=16)
        p.add_argument("--phase-iters", type=int, default=None, help="override the preset's iterations per phase")
        p.add_argument("--no-timing", action="store_true")
        p.add_argument("--occlusion-weight", type=float, default=None,
                       help="override the preset's occlusion_weight (1 = off)")

    args = parse_args(__doc__.splitlines()[0], argv, extra)
    import torch

    from inhabit.body import load_body_model
    from inhabit.body.parts import PART_NAMES, vertex_parts
    from inhabit.body.prior import AnglePrior
    from inhabit.lift import lift_preset
    from inhabit.perceive.synthetic import clothed_vertex_colors
    from inhabit.scene.demo import make_demo_scene

    torch.set_num_threads(1)
    cases = args.cases.split(",")
    sources = args.sources.split(",")
    args.fractions = FRACTIONS
    overrides = {}
    if args.quick:
        cases = cases[:2] if args.cases == ",".join(CASES) else cases
        args.fractions = (0.25,)
        overrides["phase_iters"] = 100
    if args.phase_iters:
        overrides["phase_iters"] = args.phase_iters
    if args.occlusion_weight is not None:
        overrides["occlusion_weight"] = args.occlusion_weight
    cfg = lift_preset(args.preset, **overrides)
    model = load_body_model("anny")
    prior = AnglePrior(model)
    scene = make_demo_scene("room")
    colors = clothed_vertex_colors(vertex_parts(model), PART_NAMES)
    faces = model.faces.numpy()
    detector = None
    if "detected" in sources:
        from inhabit.perceive.keypoints import BlazePoseDetector

        detector = BlazePoseDetector()

    rows, truth, timing = [], [], []
    t0 = time.perf_counter()
    for name in cases:
        case = make_case(model, scene, name, args.views)
        truth.append({"case": name, "pose": case.pose, "views": len(case.cameras),
                      "placed_min_sdf_mm": 1000 * case.placed_min_sdf, "placed_non_collision": case.placed_noncollision,
                      "truth_min_sdf_mm": 1000 * case.truth_min_sdf, "truth_non_collision": case.truth_noncollision})
        print_table(truth[-1:], title=f"truth {name}")
        for src in sources:
            rows += run_case_source(model, prior, scene, case, src, cfg, args, detector, colors, faces)
        if not args.no_timing and not timing and len(case.cameras) >= args.views:
            timing = timing_section(model, prior, case, cfg, args.noise)
            print_table(timing, title=f"timing ({name}, preset {cfg.name})")
    summary = summarise(rows)
    print_table(truth, title="truth bodies (exact SDF)")
    print_table(summary, title=f"summary over cases (preset {cfg.name}, {cfg.num_iters} steps)")
    if timing:
        print_table(timing, title="timing")
    write_results("lift_synthetic", {
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items() if k != "out"},
        "preset": cfg.to_dict(), "truth": truth, "rows": rows, "summary": summary, "timing": timing,
        "total_s": time.perf_counter() - t0, "load_avg": os.getloadavg(),
    }, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
