"""2D keypoint and person-mask accuracy on rendered anny bodies, against exact ground truth.

Every case renders one anny body (pose × view × appearance × background) at 512², runs the
default detector (mediapipe BlazePose) and the person maskers, and compares with the body's own
COCO-17 + foot keypoints projected by the same camera and with the rendered visible-human mask.

Reported per case: px error per joint group (face, torso, arms, legs, feet, the 12 limb joints, all),
whether a person was detected, GenZI acceptance (>= 13/17 at conf >= 0.25) with each confidence
choice (visibility — the default —, presence, min), mask IoU of the selfie / landscape / pose
maskers, and speed (ms per image, the detector warm). Peers in the same process: the same
detector fed a 256² downscale (coordinates scaled back), and the three mask models.

    .venv/bin/python benchmarks/keypoints_accuracy.py [--quick]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, parse_args, print_table, setup_env, write_results

SIZE = 512


# --- scene pieces --------------------------------------------------------------------------------------


def backdrop_scene():
    """A textured floor, a patterned back wall and a side cabinet: clutter behind the person.

    Used when ``inhabit.scene.demo`` is not available; the body stands on z = 0.
    """
    from inhabit.scene.mesh import MeshPart, SceneMesh

    rng = np.random.default_rng(7)
    # floor: 8 x 8 m, checker texture
    tex = ((np.indices((256, 256)) // 32).sum(0) % 2).astype(np.uint8)
    floor_tex = np.stack([150 + 60 * tex, 130 + 50 * tex, 100 + 40 * tex], -1).astype(np.uint8)
    floor = MeshPart(np.array([[-4, -4, 0], [4, -4, 0], [4, 4, 0], [-4, 4, 0]], np.float32),
                     np.array([[0, 1, 2], [0, 2, 3]]), uv=np.array([[0, 0], [4, 0], [4, 4], [0, 4]], np.float32),
                     texture=floor_tex, base_color=np.ones(4), name="floor")
    # back walls at y = +1.6 and side wall at x = +2.5, smooth random colour blobs
    blobs = rng.normal(size=(16, 16, 3))
    import cv2

    wall_tex = cv2.resize(blobs, (256, 256), interpolation=cv2.INTER_CUBIC)
    wall_tex = np.clip(150 + 30 * wall_tex, 0, 255).astype(np.uint8)
    wall = MeshPart(np.array([[-4, 1.6, 0], [4, 1.6, 0], [4, 1.6, 3], [-4, 1.6, 3]], np.float32),
                    np.array([[0, 2, 1], [0, 3, 2]]), uv=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32),
                    texture=wall_tex, base_color=np.ones(4), name="wall")
    side = MeshPart(np.array([[2.5, -4, 0], [2.5, 4, 0], [2.5, 4, 3], [2.5, -4, 3]], np.float32),
                    np.array([[0, 1, 2], [0, 2, 3]]), base_color=np.array([0.55, 0.6, 0.5, 1.0]), name="side")
    return SceneMesh([floor, wall, box_part((1.0, 1.0, 0.0), (1.6, 1.5, 0.9), (0.45, 0.3, 0.2), "cabinet"),
                      side], name="backdrop")


def box_part(lo, hi, rgb, name):
    from inhabit.scene.mesh import MeshPart

    lo, hi = np.asarray(lo, np.float32), np.asarray(hi, np.float32)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], np.float32)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                  [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return MeshPart(v, f, base_color=np.array([*rgb, 1.0]), name=name)


# --- poses ---------------------------------------------------------------------------------------------

def make_params(model, name: str):
    from inhabit.body.poses import make_pose

    return make_pose(model, name), "inhabit.body.poses"


# --- one case ------------------------------------------------------------------------------------------


def body_on_floor(model, params):
    """Pose the body, then shift it so its lowest vertex is on z = 0, centred at x = y = 0."""
    import torch

    out = model(params)
    v = out.vertices[0].detach()
    shift = torch.tensor([-float(out.joints[0, 0, 0]), -float(out.joints[0, 0, 1]), -float(v[:, 2].min())],
                         dtype=v.dtype)
    return (v + shift).numpy(), (out.keypoints[0].detach() + shift).numpy()


def seat_under(vertices: np.ndarray):
    """A stool under a sitting body: top at the lowest vertex near the pelvis (buttocks)."""
    near = (np.abs(vertices[:, 0]) < 0.18) & (np.abs(vertices[:, 1]) < 0.12)
    top = float(vertices[near, 2].min()) if near.any() else 0.45
    if top < 0.2:  # not sitting
        return None
    return box_part((-0.25, -0.2, 0.0), (0.25, 0.25, top - 0.005), (0.35, 0.25, 0.2), "stool")


def camera_for(vertices: np.ndarray, azimuth_deg: float, elevation_deg: float = 10.0):
    from inhabit.camera.pinhole import Camera

    lo, hi = vertices.min(0), vertices.max(0)
    target = 0.5 * (lo + hi)
    height = float(max(hi[2] - lo[2], 0.8 * (hi[0] - lo[0])))
    fov = 40.0
    dist = (height / 0.8) / (2 * math.tan(math.radians(fov / 2)))  # the body fills ~80 % of the frame height
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    # the body faces -Y: azimuth 0 puts the camera in front of it, positive azimuth to the body's left (+X)
    eye = target + dist * np.array([math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)])
    return Camera.look_at(eye, target, SIZE, SIZE, fov_y_deg=fov)


def render_case(renderer, model, verts, faces, colors, camera, scene):
    from inhabit.render.mesh import RenderSettings, mesh_from_arrays, render_human_in_scene

    human = mesh_from_arrays(verts, faces, colors=colors, name="human")
    if scene is None:
        out = renderer.render(camera, human, ("rgb", "depth", "face_id"),
                              settings=RenderSettings(background=(0.78, 0.8, 0.82)))
        return out.rgb, out.mask
    comp = render_human_in_scene(camera, scene, human, renderer=renderer)
    return comp.rgb, comp.human_visible


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def main(argv=None) -> int:
    setup_env()
    args = parse_args(__doc__.splitlines()[0], argv)
    import cv2

    from inhabit.body import load_body_model
    from inhabit.body.parts import PART_NAMES
    from inhabit.perceive.keypoints import (
        BLAZEPOSE_LANDMARK_NAMES,
        BLAZEPOSE_TO_KEYPOINTS,
        BlazePoseDetector,
        accept_person,
        map_keypoints_by_name,
    )
    from inhabit.perceive.segment import PersonMasker
    from inhabit.perceive.synthetic import (
        clothed_vertex_colors,
        group_errors,
        keypoint_errors,
        project_keypoints,
    )
    from inhabit.render.mesh import MeshRenderer

    poses = ["standing", "sitting"] if args.quick else ["standing", "sitting", "leaning"]
    views = {"front": 0.0, "3/4": 45.0}
    looks = ["clothed", "plain"]
    backgrounds = ["plain"] if args.quick else ["plain", "scene"]

    model = load_body_model("anny")
    faces = model.faces.cpu().numpy()
    clothes = clothed_vertex_colors(model.vertex_parts(), PART_NAMES)
    renderer = MeshRenderer()
    scene_src = "none"
    backdrop = None
    if "scene" in backgrounds:
        backdrop = backdrop_scene()
        scene_src = "benchmark backdrop (floor, walls, cabinet)"

    detector = BlazePoseDetector()
    maskers = {m: PersonMasker(m) for m in ("selfie", "selfie_landscape", "pose")}
    with Timer() as t_start:
        detector.detect([np.zeros((64, 64, 3), np.uint8)])  # graph start-up, timed separately
    rows, records = [], []
    pose_source = None
    for pose in poses:
        params, pose_source = make_params(model, pose)
        verts, kp3d = body_on_floor(model, params)
        seat = seat_under(verts) if pose == "sitting" else None
        for bg in backgrounds:
            scene = None
            if bg == "scene":
                scene = [backdrop] + ([seat] if seat is not None else [])
            for view, az in views.items():
                cam = camera_for(verts, az)
                gt = project_keypoints(kp3d, cam)
                for look in looks:
                    colors = clothes if look == "clothed" else None
                    rgb, human_mask = render_case(renderer, model, verts, faces, colors, cam, scene)
                    # detector timing: median of 3 warm runs on the same image
                    times = []
                    for _ in range(3):
                        with Timer() as t:
                            xy33, vis, pres, _ = detector.detect_landmarks([rgb])
                        times.append(t.seconds)
                    kp = {c: map_keypoints_by_name(xy33, s, BLAZEPOSE_LANDMARK_NAMES, BLAZEPOSE_TO_KEYPOINTS)
                          for c, s in (("visibility", vis), ("presence", pres), ("min", np.minimum(vis, pres)))}
                    det = kp["visibility"]
                    found = bool(det.conf.max() > 0)
                    err = keypoint_errors(det, gt)
                    grp = group_errors(err)
                    bias = np.nanmean((det.xy - gt.xy)[0][np.isfinite(err[0])], axis=0) if found else [np.nan] * 2
                    # peer: the same detector on a 256² downscale, coordinates scaled back x2
                    small = cv2.resize(rgb, (SIZE // 2, SIZE // 2), interpolation=cv2.INTER_AREA)
                    kp_small = detector.detect([small])
                    kp_small = type(kp_small)(kp_small.xy * 2.0, kp_small.conf, kp_small.names)
                    grp_small = group_errors(keypoint_errors(kp_small, gt))
                    ious = {m: iou(mk.mask(rgb) >= 0.5, human_mask) for m, mk in maskers.items()}
                    row = {
                        "pose": pose, "bg": bg, "view": view, "look": look, "found": int(found),
                        "acc_vis": int(accept_person(kp["visibility"])[0]),
                        "acc_pres": int(accept_person(kp["presence"])[0]),
                        "acc_min": int(accept_person(kp["min"])[0]),
                        **{f"px_{g}": grp[g] for g in ("face", "torso", "arms", "legs", "feet", "limbs12", "all")},
                        "px_limbs12@256": grp_small["limbs12"],
                        "iou_selfie": ious["selfie"], "iou_landsc": ious["selfie_landscape"], "iou_pose": ious["pose"],
                        "ms": 1000 * float(np.median(times)),
                    }
                    rows.append(row)
                    records.append({**row, "bias_xy": [float(b) for b in bias],
                                    "errors_px": {n: (None if not np.isfinite(e) else float(e))
                                                  for n, e in zip(gt.names, err[0])}})
                    if args.quick is False and pose == "standing" and view == "front" and look == "clothed":
                        from inhabit.io import write_image
                        from inhabit.render.draw import draw_keypoint_pairs

                        write_image(Path(__file__).resolve().parent / "results" / f"keypoints_{bg}.png",
                                    draw_keypoint_pairs(rgb, det, gt))

    cols = ["pose", "bg", "view", "look", "found", "acc_vis", "acc_pres", "acc_min", "px_face", "px_torso", "px_arms",
            "px_legs", "px_feet", "px_limbs12", "px_all", "px_limbs12@256", "iou_selfie", "iou_landsc", "iou_pose", "ms"]
    print_table(rows, cols, title=f"BlazePose (mediapipe) on rendered anny bodies, {SIZE}² (poses: {pose_source})")
    found = [r for r in rows if r["found"]]

    def mean(key, rs=found):
        v = [r[key] for r in rs if np.isfinite(r[key])]
        return float(np.mean(v)) if v else float("nan")

    summary = {
        "images": len(rows), "detection_rate": len(found) / len(rows),
        "acceptance_rate": {c: float(np.mean([r[f"acc_{k}"] for r in rows]))
                            for c, k in (("visibility", "vis"), ("presence", "pres"), ("min", "min"))},
        **{f"mean_px_{g}": mean(f"px_{g}") for g in ("face", "torso", "arms", "legs", "feet", "limbs12", "all")},
        "mean_px_limbs12_at_256": mean("px_limbs12@256"),
        "mean_bias_xy_px": np.nanmean([r["bias_xy"] for r in records if r["found"]], axis=0).tolist(),
        "mean_iou": {m: mean(f"iou_{k}", rows) for m, k in (("selfie", "selfie"), ("selfie_landscape", "landsc"),
                                                          ("pose", "pose"))},
        "ms_per_image": mean("ms", rows), "graph_start_s": t_start.seconds,
    }
    flat = []
    for k, v in summary.items():
        if isinstance(v, dict):
            flat += [{"metric": f"{k}.{kk}", "value": vv} for kk, vv in v.items()]
        elif isinstance(v, list):
            flat.append({"metric": k, "value": ", ".join(f"{x:+.2f}" for x in v)})
        else:
            flat.append({"metric": k, "value": v})
    print_table(flat, ["metric", "value"], title="summary (px errors over detected images)")
    write_results("keypoints_accuracy", {"quick": args.quick, "size": SIZE, "pose_source": pose_source,
                                         "scene_source": scene_src, "summary": summary, "cases": records},
                  args.out)
    detector.close()
    for m in maskers.values():
        m.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
