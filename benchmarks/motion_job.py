"""Benchmark: ``inhabit motion`` end to end on a video made from a known motion (the job, not the core).

Truth: known motions in the demo room (``inhabit.track.synthetic``): a slow walk, and reaching for a
box on the table and lifting it (the box given to the job as a 3DGS .ply), each with a slowly
drifting camera, rendered by the splatter with the same Gaussian scene and human the job builds,
written as an mp4 (what a user hands over); the init file starts the job from the motion's first
frame and first camera. The job then runs exactly as a user's run: video checks, masks, keypoints,
per-frame reconstruction, refinement, videos, motion.npz/glTF, metrics, report.

Peers in the same process, on the same frames:

* masks — the job's background-difference segmentation with the camera pre-pass (default) vs
  backgrounds from the initial camera only (``segment.camera_prepass: false``) vs the oracle
  (backgrounds rendered from the *true* cameras): IoU of the human and object masks with the exact
  rendered masks, and seconds per frame;
* the run — the whole job, then an immediate re-run (every stage reused).

Reported: mask IoU per peer; per-frame MPJPE (mm), pelvis error (cm), camera rotation (deg) and
translation (cm) errors vs truth, object translation (cm) / rotation (deg) errors; penetration and
foot sliding of the result; seconds per stage and per fitted frame; output sizes; the glTF
round-trip error (max |vertex of a key − motion.npz|).

    python benchmarks/motion_job.py [--quick]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, print_table, setup_env, write_results


def _settings(quick: bool) -> dict:
    if quick:
        return {"size": 128, "kept": 6, "every": 2, "preset": "fast", "motions": ["walk", "lift"],
                "overrides": {"assets": {"scene_spacing": 0.03}, "human": {"spacing": 0.02},
                              "track": {"iters": 40, "refine_iters": 100}}}
    return {"size": 256, "kept": 26, "every": 2, "preset": "fast", "motions": ["walk", "lift"], "overrides": {}}


def _truth(cfg, body, name: str, size: int, n_src: int):
    import torch

    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.pipeline.motion_assets import load_motion_scene
    from inhabit.track.synthetic import dress_human, lift_motion, render_clip, walk_motion

    if name == "walk":
        motion = walk_motion(body, num_frames=n_src, size=size, start=(1.9, -1.2), end=(1.9, 0.3 * n_src / 51 - 1.2))
    else:
        motion = lift_motion(body, num_frames=n_src, size=size)
    scene = load_motion_scene("demo:room", assets=cfg.assets)
    human = GaussianHuman.from_body(body, spacing=cfg.human.spacing, seed=cfg.human.seed)
    dress_human(human, body, stripes=cfg.human.stripes)
    with torch.no_grad():
        clip = render_clip(scene.gaussians, human, body, motion, background=cfg.track.background)
    return motion, clip, scene


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    u = (a | b).sum()
    return float((a & b).sum() / u) if u else 1.0


def _mask_peers(cfg, body, scene, motion, clip, idx) -> list[dict]:
    """The three segmentation peers on the kept frames (module docstring)."""
    import dataclasses

    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.camera.pinhole import Camera
    from inhabit.perceive.segment import BackgroundDifferenceSegmenter
    from inhabit.pipeline.motion_masks import segment_clip
    from inhabit.pipeline.motion_render import MotionRenderer
    from inhabit.track.synthetic import dress_human

    human = GaussianHuman.from_body(body, spacing=cfg.human.spacing, seed=cfg.human.seed)
    dress_human(human, body, stripes=cfg.human.stripes)
    has_obj = motion.object_gaussians is not None
    renderer = MotionRenderer(scene.gaussians, human, body, background=cfg.track.background)
    cam0 = Camera(motion.camera.K, motion.T_cam_world[0], motion.camera.width, motion.camera.height)
    frames = clip.frames[idx]
    th, to = clip.human_masks[idx], clip.object_masks[idx]
    seg = BackgroundDifferenceSegmenter(cfg.segment.difference)
    rest = range(1, len(idx))

    def row(name, h, o, sec):
        r = {"masks": name, "human_iou": float(np.mean([_iou(h[t], th[t]) for t in rest])),
             "human_iou_min": float(min(_iou(h[t], th[t]) for t in rest)), "s_per_frame": sec}
        if has_obj:
            r["object_iou"] = float(np.mean([_iou(o[t], to[t]) for t in rest]))
        return r

    rows = []
    for name, prepass in (("difference + camera pre-pass (default)", True), ("difference, initial camera", False)):
        t0 = time.perf_counter()
        m = segment_clip(frames, th[0], to[0] if has_obj else None, cam0, renderer, seg,
                         dataclasses.replace(cfg.segment, camera_prepass=prepass), cfg.track, has_object=has_obj)
        rows.append(row(name, m.human, m.object, (time.perf_counter() - t0) / max(1, len(idx) - 1)))
    t0 = time.perf_counter()
    prev_h, prev_o = th[0], (to[0] if has_obj else None)
    hs, os_ = [th[0]], [to[0]]
    for j, t in enumerate(idx[1:], start=1):
        h, o = seg.split(frames[j], clip.background[t], seg.masker.mask(frames[j]), prev_h, prev_o)
        hs.append(h)
        os_.append(o)
        prev_h = h if h.any() else prev_h
        prev_o = (o if o.any() else prev_o) if has_obj else None
    rows.append(row("difference, true cameras (oracle)", np.stack(hs), np.stack(os_),
                    (time.perf_counter() - t0) / max(1, len(idx) - 1)))
    return rows


def _rot_deg(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    c = (np.einsum("tij,tij->t", Ra, Rb) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def run_one(name: str, cfg, body, s: dict) -> dict:
    """Truth, mask peers and the whole job for one motion; returns the rows and per-frame errors."""
    import torch

    from inhabit.camera.pinhole import invert_rigid
    from inhabit.export.animation import body_frames, node_by_name, read_glb
    from inhabit.export.glb import world_to_gltf
    from inhabit.export.results import load_motion, save_result
    from inhabit.imagine.video import write_video
    from inhabit.pipeline.motion import MotionComponents, run_motion
    from inhabit.pipeline.motion_task import build_motion_task, parse_init_file
    from inhabit.scene.gaussians_ply import write_gaussians_ply

    n_src = (s["kept"] - 1) * s["every"] + 1
    t0 = time.perf_counter()
    motion, clip, scene = _truth(cfg, body, name, s["size"], n_src)
    t_truth = time.perf_counter() - t0
    idx = np.arange(0, n_src, s["every"])
    mask_rows = [{"motion": name, **r} for r in _mask_peers(cfg, body, scene, motion, clip, idx)]

    with tempfile.TemporaryDirectory(prefix="inhabit_motion_bench_") as tmp:
        tmp = Path(tmp)
        with torch.no_grad():
            save_result(tmp / "start.npz", body(motion.params.index(0).to(body.device)), params=motion.params.index(0),
                        body_model=body)
        write_video(tmp / "clip.mp4", clip.frames, motion.fps, quality=9)
        cam = motion.camera
        eye, fwd = cam.center, cam.forward
        doc = {"scene": "demo:room", "human": {"from": str(tmp / "start.npz")}, "prompt": f"{name} in the room",
               "camera": {"eye": eye.tolist(), "look_at": (eye + 2.0 * fwd).tolist()}}
        if motion.object_gaussians is not None:
            write_gaussians_ply(tmp / "box.ply", motion.object_gaussians)
            doc["object"] = {"path": str(tmp / "box.ply"), "pose": motion.object_pose[0].tolist(), "name": "box"}
        (tmp / "init.yaml").write_text(json.dumps(doc))
        task = build_motion_task(parse_init_file(tmp / "init.yaml"), videos=[str(tmp / "clip.mp4")])
        comps = MotionComponents(body_model=body)
        t0 = time.perf_counter()
        res = run_motion(task, cfg, tmp / "run", comps)
        t_total = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_motion(task, cfg, tmp / "run", comps)
        t_resume = time.perf_counter() - t0
        m = load_motion(tmp / "run" / "motion.npz")
        video = json.loads((tmp / "run" / "clip0" / "video" / "video.json").read_text())
        kept = np.asarray(video["indices"])
        with torch.no_grad():
            tj = body(motion.params.index(torch.as_tensor(kept)).to(body.device)).joints.cpu().numpy()
        T_wc_true = invert_rigid(motion.T_cam_world[kept])
        g = read_glb(tmp / "run" / "motion.glb")
        posed = body_frames(g, node_by_name(g, "human"))
        glb_err = float(max(np.abs(posed[t] - world_to_gltf(m.vertices[t])).max() for t in range(len(posed))))
        sizes = {f"{name}/{p.name}": p.stat().st_size / 1e6 for p in
                 [tmp / "run" / "motion.npz", tmp / "run" / "motion.glb", *sorted((tmp / "run" / "videos").glob("*.mp4"))]}
        metrics = res.metrics
        reused = sum(v == "skipped" for v in again.stages.values())
        n_stages = len(again.stages)

    status = metrics["job"]["status"]
    sec = np.asarray([x for x in metrics["job"]["per_frame"]["seconds"] if x is not None])
    mpjpe = np.linalg.norm(m.joints - tj, axis=-1).mean(-1) * 1000
    root = np.linalg.norm(m.joints[:, 0] - tj[:, 0], axis=-1) * 100
    cam_rot = _rot_deg(m.T_world_cam[:, :3, :3], T_wc_true[:, :3, :3])
    cam_tr = np.linalg.norm(m.T_world_cam[:, :3, 3] - T_wc_true[:, :3, 3], axis=-1) * 100
    row = {"motion": name, "frames": len(kept), "size": s["size"], "mpjpe_mm": float(mpjpe[1:].mean()),
           "mpjpe_max_mm": float(mpjpe.max()), "root_cm": float(root[1:].mean()), "root_max_cm": float(root.max()),
           "cam_rot_deg": float(cam_rot[1:].mean()), "cam_tr_cm": float(cam_tr[1:].mean())}
    per_frame = {"mpjpe_mm": mpjpe, "root_cm": root, "cam_rot_deg": cam_rot, "cam_tr_cm": cam_tr}
    if m.object_pose is not None:
        P_true = motion.object_pose[kept]
        obj_tr = np.linalg.norm(m.object_pose[:, :3, 3] - P_true[:, :3, 3], axis=-1) * 100
        obj_rot = _rot_deg(m.object_pose[:, :3, :3], P_true[:, :3, :3])
        row.update(obj_tr_cm=float(obj_tr[1:].mean()), obj_rot_deg=float(obj_rot[1:].mean()))
        per_frame.update(obj_tr_cm=obj_tr, obj_rot_deg=obj_rot)
    row.update({"pene_pct": metrics["summary"].get("pene_pct", float("nan")),
                "foot_slide_cm_s": metrics["summary"].get("foot_sliding_cm_s", float("nan")),
                "fitted": status.get("ok", 0), "s_per_frame": float(sec.mean()) if len(sec) else float("nan"),
                "t_total_s": t_total, "t_resume_s": t_resume, "reused": f"{reused}/{n_stages}", "glb_err_m": glb_err})
    return {"row": row, "masks": mask_rows, "per_frame": per_frame, "stages_s": metrics["job"]["timings_s"],
            "sizes_mb": sizes, "truth_render_s": t_truth}


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    setup_env()
    import torch

    from inhabit.body import load_body_model
    from inhabit.pipeline.motion_config import motion_preset

    torch.set_num_threads(1)  # small per-iteration tensors: one thread is fastest on the shared 2-core box
    s = _settings(args.quick)
    over = {"device": "auto", "camera": {"width": s["size"], "height": s["size"], "fov_y_deg": 60.0},
            "video": {"num_frames": None, "every": s["every"]}, "export": {"clip": "never"}}
    for k, v in s["overrides"].items():
        over[k] = {**over.get(k, {}), **v}
    cfg = motion_preset(s["preset"], over)
    body = load_body_model("anny", device="cuda" if torch.cuda.is_available() else "cpu")
    out = {name: run_one(name, cfg, body, s) for name in s["motions"]}
    mask_rows = [r for o in out.values() for r in o["masks"]]
    print_table(mask_rows, ["motion", "masks", "human_iou", "human_iou_min", "object_iou", "s_per_frame"],
                title="masks vs the exact rendered masks")
    rows = [o["row"] for o in out.values()]
    print_table(rows, list(dict.fromkeys(k for r in rows for k in r)), title=f"inhabit motion on rendered motions (demo room, drifting camera, {s['preset']} preset, "
                            f"{s['size']}²)")
    stages = sorted({k for o in out.values() for k in o["stages_s"]})
    print_table([{"stage": k, **{n: o["stages_s"].get(k, float("nan")) for n, o in out.items()}} for k in stages],
                title="seconds per stage")
    sizes = {k: v for o in out.values() for k, v in o["sizes_mb"].items()}
    print_table([{"file": k, "MB": v} for k, v in sizes.items()], title="output sizes")
    write_results("motion_job", {"quick": args.quick, "settings": s, "masks": mask_rows, "summary": rows,
                                 "per_frame": {n: o["per_frame"] for n, o in out.items()},
                                 "stages_s": {n: o["stages_s"] for n, o in out.items()}, "sizes_mb": sizes,
                                 "truth_render_s": {n: o["truth_render_s"] for n, o in out.items()}}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
