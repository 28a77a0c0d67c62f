"""ZeroHSI reconstruction against synthetic ground truth: known motions rendered, then recovered.

Truth (``inhabit.track.synthetic``): the demo room as Gaussians (``--spacing``), a dressed Gaussian
human (anny), three known motions at 10 fps — a slow walk, sitting down onto the bench, lifting a box
from the table — with a camera drifting 1° and 4 cm over 51 frames and the box moving rigidly. Each
clip is rendered by the splatter with scene, human and object in *one* depth sort (not the tracker's
two-layer shortcut), and the visible human/object masks come from the same render.

Reconstruction sees only the frames, the masks (``--masks truth``: the rendered ones; ``segmenter``:
the project's default ``BackgroundDifferenceSegmenter`` against the frame-0 background; ``both``),
BlazePose keypoints detected on the frames, and frame 0's state (as in the motion job, whose first
frame is rendered from the initial state).

Methods compared in the same process:

* ``static``      — frame 0's state for every frame (what "no tracking" scores);
* ``w/o OPT_body`` — the paper's ablation (Table 4): the per-frame pose from the pose estimator
  (here our 2D keypoint fit, not gated) and only the root optimised photometrically (30 iterations);
* ``zerohsi``     — the full per-frame optimisation (``--preset``);
* ``zerohsi+ref`` — plus the sequence refinement (joint fit, smoothness, hand-object contact,
  scene penetration against the exact mesh SDF);
* ``truth``       — the physical metrics of the ground truth itself (its penetration, sliding, contact).

Metrics over frames 1..T−1 (frame 0 is given): MPJPE of the 22 joints (mm, mean and max over frames),
root (pelvis) error (cm), camera rotation (deg) / centre (cm) error, object rotation (deg) / position
(cm) error, foot sliding (NeMF, cm/frame at 10 fps), scene penetration (% of vertices, mean and max
depth of penetrating vertices, cm), hand-object contact ratio (5 cm), seconds per frame (wall and CPU).

    .venv/bin/python benchmarks/motion_synthetic.py [--quick] [--motions walk,sit,lift] [--frames 51]
        [--size 256] [--preset zerohsi|fast] [--masks truth|segmenter|both] [--threads 1]
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, print_table, setup_env, write_results

QUICK_STARTS = {"walk": 20, "sit": 12, "lift": 30}
"""Where ``--quick`` starts each motion (frames with motion in them)."""


def add_args(p) -> None:
    p.add_argument("--motions", default="walk,sit,lift", help="comma-separated: walk, sit, lift")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default 51; quick 4)")
    p.add_argument("--start", type=int, default=None, help="first frame of the 51-frame motion (quick: per motion)")
    p.add_argument("--size", type=int, default=None, help="image side in pixels (default 256; quick 128)")
    p.add_argument("--preset", default=None, help="track preset (default zerohsi; quick fast)")
    p.add_argument("--masks", default="truth", choices=("truth", "segmenter", "both"))
    p.add_argument("--spacing", type=float, default=0.05, help="scene Gaussian spacing (m)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on 2 shared cores)")
    p.add_argument("--no-peers", action="store_true", help="skip the 'w/o OPT_body' peer")
    p.add_argument("--no-refine", action="store_true", help="skip the refinement")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--save-dir", type=Path, default=None, help="also write each track (npz) here")


def metrics(track, truth, body, scene_sdf, obj_sdf, hand_mask, fps: float) -> dict:
    import torch

    from inhabit.camera.pinhole import invert_rigid
    from inhabit.evaluate.accuracy import camera_pose_errors, object_pose_errors

    with torch.no_grad():
        out = body(track.params.to(device=body.device, dtype=body.dtype))
        ref = body(truth.params.to(device=body.device, dtype=body.dtype))
    J, Jt = out.joints.cpu().numpy(), ref.joints.cpu().numpy()
    per_frame = np.linalg.norm(J - Jt, axis=-1).mean(-1) * 1000.0
    sl = slice(1, None)
    row = {
        "mpjpe_mm": float(per_frame[sl].mean()),
        "mpjpe_max_mm": float(per_frame[sl].max()),
        "root_cm": float(np.linalg.norm(J[sl, 0] - Jt[sl, 0], axis=-1).mean() * 100.0),
    }
    cam = camera_pose_errors(track.T_world_cam[sl], invert_rigid(truth.T_cam_world[sl]))
    row.update(cam_rot_deg=cam["cam_rot_deg"], cam_trans_cm=100.0 * cam["cam_trans"])
    if truth.object_pose is not None:
        ob = object_pose_errors(track.object_pose[sl], truth.object_pose[sl])
        row.update(obj_rot_deg=ob["obj_rot_deg"], obj_trans_cm=100.0 * ob["obj_trans"])
    row.update(physical(out.vertices.cpu().numpy(), J, track.object_pose, scene_sdf, obj_sdf, hand_mask, fps))
    row["per_frame_mpjpe_mm"] = per_frame.round(2).tolist()
    return row


def physical(V, J, object_pose, scene_sdf, obj_sdf, hand_mask, fps) -> dict:
    from inhabit.evaluate.suite import MovingObject, motion_metrics

    obj = None if object_pose is None else MovingObject(obj_sdf, np.asarray(object_pose))
    m = motion_metrics(V, J, fps, scene_sdf, hand_mask=hand_mask, obj=obj).values
    out = {
        "foot_sliding": m.get("foot_sliding", float("nan")),
        "pene_pct": m.get("pene_pct", float("nan")),
        "pene_depth_mean_cm": 100.0 * m.get("depth_mean", float("nan")),
        "pene_depth_max_cm": 100.0 * m.get("depth_max", float("nan")),
    }
    if object_pose is not None:
        out["contact_ratio"] = m.get("contact_ratio", float("nan"))
    return out


def segment(clip, truth):
    from inhabit.perceive.segment import BackgroundDifferenceSegmenter, SegmentPrompts

    prompts = SegmentPrompts.from_masks(clip.human_masks[0], clip.object_masks[0] if truth.object_pose is not None else None)
    masks = BackgroundDifferenceSegmenter().segment(list(clip.frames), prompts, backgrounds=clip.background[0])
    return masks.human, masks.object


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.logical_and(a, b).sum()
    union = np.logical_or(a, b).sum()
    return float(inter / union) if union else 1.0


def main(argv=None) -> int:
    args = parse_args("ZeroHSI reconstruction against synthetic ground truth", argv, add_args)
    setup_env()
    import torch

    from inhabit.body import load_body_model
    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.body.parts import PART_NAMES
    from inhabit.body.prior import AnglePrior
    from inhabit.perceive.keypoints import BlazePoseDetector
    from inhabit.scene.demo import make_demo_scene
    from inhabit.scene.gaussians import RigidObject
    from inhabit.scene.gaussians_mesh import gaussians_from_mesh
    from inhabit.scene.sdf import MeshSDF
    from inhabit.track import TrackInit, reconstruct_motion, refine_motion, track_preset
    from inhabit.track.motion import MotionTrack
    from inhabit.track.synthetic import MOTIONS, box_object_mesh, dress_human, render_clip

    torch.set_num_threads(args.threads)
    frames = args.frames or (4 if args.quick else 51)
    size = args.size or (128 if args.quick else 256)
    preset = args.preset or ("fast" if args.quick else "zerohsi")
    device = torch.device(args.device)
    names = [n.strip() for n in args.motions.split(",") if n.strip()]

    body = load_body_model("anny", device=device)
    human = GaussianHuman.from_body(body).to(device)
    dress_human(human, body)
    room = make_demo_scene("room")
    scene = gaussians_from_mesh(room, spacing=args.spacing).to(device)
    scene_sdf = MeshSDF(room)
    box = box_object_mesh()
    obj_sdf = MeshSDF(box.vertices, box.faces)
    labels = body.vertex_parts().cpu().numpy()
    hand_mask = np.isin(labels, [PART_NAMES.index("left_hand"), PART_NAMES.index("right_hand")])
    detector = BlazePoseDetector()
    prior = AnglePrior(body)
    cfg = track_preset(preset, threads=args.threads)
    print(f"scene: {len(scene)} Gaussians; human: {len(human)}; {frames} frames at {size}²; preset {preset}", flush=True)

    rows, per_frame = [], {}
    for name in names:
        start = args.start if args.start is not None else (QUICK_STARTS[name] if args.quick else 0)
        truth = MOTIONS[name](body, num_frames=51, size=size).slice(start, start + frames)
        n = truth.num_frames
        t0 = time.perf_counter()
        clip = render_clip(scene, human, body, truth)
        kp = detector.detect(list(clip.frames))
        print(f"{name}: rendered {n} frames in {time.perf_counter() - t0:.1f} s; BlazePose found a person in "
              f"{int((kp.conf.mean(1) > 0.3).sum())}/{n}", flush=True)
        has_obj = truth.object_pose is not None
        obj = RigidObject(truth.object_gaussians.to(device)) if has_obj else None
        init = TrackInit(truth.params.index(0), truth.camera, truth.object_pose[0] if has_obj else None)
        base = {"motion": name, "frames": n, "size": size}
        rows.append({**base, "method": "truth", "masks": "-",
                     **physical(body(truth.params.to(device)).vertices.detach().cpu().numpy(),
                                body(truth.params.to(device)).joints.detach().cpu().numpy(), truth.object_pose,
                                scene_sdf, obj_sdf, hand_mask, truth.fps)})
        rows.append({**base, "method": "static", "masks": "-",
                     **metrics(MotionTrack.start(n, init, has_obj), truth, body, scene_sdf, obj_sdf, hand_mask, truth.fps)})
        mask_sets = {}
        if args.masks in ("truth", "both"):
            mask_sets["truth"] = (clip.human_masks, clip.object_masks)
        if args.masks in ("segmenter", "both"):
            hm, om = segment(clip, truth)
            mask_sets["segmenter"] = (hm, om)
            base["mask_iou_human"] = float(np.mean([mask_iou(a, b) for a, b in zip(hm, clip.human_masks)]))
            print(f"  segmenter human-mask IoU vs truth: {base['mask_iou_human']:.3f}", flush=True)
        for mname, (hm, om) in mask_sets.items():
            runs = [("zerohsi", cfg)]
            if not args.no_peers:
                runs.insert(0, ("w/o OPT_body", cfg.replace(iters=cfg.root_only_iters, kp_gate=False)))
            for method, c in runs:
                h = copy.deepcopy(human)  # the colour net is fine-tuned in place: each run starts fresh
                w0, c0 = time.perf_counter(), time.process_time()
                track = reconstruct_motion(scene, h, body, prior, obj, init, clip.frames, hm, om if has_obj else None,
                                           kp, c)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                row = {**base, "method": method, "masks": mname,
                       **metrics(track, truth, body, scene_sdf, obj_sdf, hand_mask, truth.fps),
                       "s_per_frame": wall / max(1, n - 1), "cpu_s_per_frame": cpu / max(1, n - 1),
                       "failed": int((track.status == "failed").sum())}
                rows.append(row)
                if args.save_dir is not None:
                    track.save(args.save_dir / f"{name}_{mname}_{method.replace('/', '_').replace(' ', '_')}.npz")
                per_frame[f"{name}/{mname}/{method}"] = {k: np.asarray(v).round(5).tolist() for k, v in track.losses.items()}
                print(f"  {mname}/{method}: MPJPE {row['mpjpe_mm']:.1f} mm, root {row['root_cm']:.2f} cm, "
                      f"{row['s_per_frame']:.1f} s/frame", flush=True)
                if method == "zerohsi" and not args.no_refine:
                    w0 = time.perf_counter()
                    obj_pts = truth.object_gaussians.means.cpu().numpy() if has_obj else None
                    ref = refine_motion(track, body, prior, cfg, scene_sdf=scene_sdf, object_points=obj_pts,
                                        progress=False)
                    row = {**base, "method": "zerohsi+ref", "masks": mname,
                           **metrics(ref, truth, body, scene_sdf, obj_sdf, hand_mask, truth.fps),
                           "refine_s": time.perf_counter() - w0}
                    rows.append(row)
                    if args.save_dir is not None:
                        ref.save(args.save_dir / f"{name}_{mname}_zerohsi_ref.npz")
                    print(f"  {mname}/zerohsi+ref: MPJPE {row['mpjpe_mm']:.1f} mm, refine {row['refine_s']:.0f} s",
                          flush=True)

    cols = ["motion", "method", "masks", "mpjpe_mm", "mpjpe_max_mm", "root_cm", "cam_rot_deg", "cam_trans_cm",
            "obj_rot_deg", "obj_trans_cm", "foot_sliding", "pene_pct", "pene_depth_mean_cm", "pene_depth_max_cm",
            "contact_ratio", "s_per_frame", "cpu_s_per_frame"]
    print_table([{k: r.get(k, "") for k in cols} for r in rows], cols,
                title=f"ZeroHSI on synthetic truth ({frames} frames, {size}², preset {preset}; errors over frames 1..T-1)")
    goals = {"mpjpe_mm": 40.0, "root_cm": 3.0, "cam_rot_deg": 0.3, "cam_trans_cm": 1.0, "obj_rot_deg": 2.0,
             "obj_trans_cm": 2.0, "pene_pct": 1.9}
    write_results("motion_synthetic", {
        "quick": args.quick, "frames": frames, "size": size, "preset": preset, "masks": args.masks,
        "spacing": args.spacing, "threads": args.threads, "device": str(device), "config": cfg.to_dict(),
        "goals": goals, "loadavg": os.getloadavg(), "rows": rows, "per_frame_losses": per_frame,
    }, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
