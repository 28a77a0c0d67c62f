"""``inhabit motion`` end to end on a CPU: a small scene with a box, the anny body, a user video made by
rendering a known walk with the splatter from the job's own initial frame, the ``fast`` track
preset at 96² — the run folder, motion.npz, the animated glTF (re-read), the mp4s, resume in the
middle of the reconstruction, and every bad-input sentence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_mini_scene
from inhabit.errors import InputError, MissingWeightsError
from inhabit.pipeline.motion import MotionComponents, run_motion
from inhabit.pipeline.motion_config import motion_preset
from inhabit.pipeline.motion_task import build_motion_task, init_from_mapping, parse_init_file

FAST = {
    "device": "cpu",
    "camera": {"width": 96, "height": 96, "test_size": 48, "radii": [2.5], "elevations_deg": [10.0, 20.0]},
    "assets": {"scene_spacing": 0.05, "object_spacing": 0.03},
    "human": {"spacing": 0.03},
    "video": {"num_frames": 4, "person_check_frames": 2},
    "track": {"iters": 12, "root_only_iters": 4, "camera_iters": 4, "kp_iters": 8, "refine_iters": 8,
              "early_stop_patience": 0},
    "export": {"sheet_tile": 64, "sheet_frames": 4, "clip": "never", "video_quality": 5},
}
INIT = """
scene: mini.glb
human: {pose: standing, at: [0.0, -0.7, 0.0], facing: [0, -1, 0]}
object: {path: box.glb, position: [0.35, 0.0, 0.45], anchor: bottom}
prompt: walking past the box
"""
SOURCE_FRAMES = 10


class Stop(Exception):
    """Stands in for a killed process in the middle of the reconstruction."""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    import trimesh

    from inhabit.scene.load import save_scene

    root = tmp_path_factory.mktemp("motion_inputs")
    save_scene(make_mini_scene(), root / "mini.glb")
    box = trimesh.creation.box((0.16, 0.16, 0.16))
    box.apply_translation((0.0, 0.0, 0.08))  # the file's origin at the bottom centre
    box.visual.vertex_colors = np.tile([[30, 160, 60, 255]], (len(box.vertices), 1))
    box.export(root / "box.glb")
    (root / "init.yaml").write_text(INIT)
    return root


@pytest.fixture(scope="module")
def components(anny):
    return MotionComponents(body_model=anny)


def _truth_frames(cfg, anny, inputs: Path, run: Path):
    """A known walk (and the box sliding along +x) rendered from the camera the job chose, with the
    same Gaussian assets, so frame 0 is exactly the job's frame0.png."""
    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.body.poses import walk_cycle_rotvecs
    from inhabit.body.protocol import BodyParams
    from inhabit.camera.pinhole import Camera
    from inhabit.pipeline.motion_assets import load_motion_object, load_motion_scene
    from inhabit.pipeline.motion_render import MotionRenderer
    from inhabit.track.synthetic import dress_human

    init = parse_init_file(inputs / "init.yaml")
    with np.load(run / "clip0/init/state.npz") as z:
        p0 = BodyParams(*(torch.as_tensor(z[f"params/{n}"]) for n in ("global_orient", "transl", "body_pose", "shape")))
        cam = Camera(z["K"], z["T_cam_world"], *(int(v) for v in z["size"]))
        pose0 = z["object_pose"]
    T = SOURCE_FRAMES
    bp = anny.body_pose_from_smplx_rotvec(walk_cycle_rotvecs(12)[:T].double()).float().reshape(T, -1)
    params = p0.map(lambda x: x.expand(T, -1).clone()).replace(body_pose=bp)
    params.body_pose[0] = p0.body_pose[0]
    params.transl[:, 1] -= torch.linspace(0.0, 0.18, T)
    poses = np.repeat(pose0[None], T, axis=0)
    poses[:, 0, 3] += np.linspace(0.0, 0.06, T)
    human = GaussianHuman.from_body(anny, spacing=cfg.human.spacing, seed=cfg.human.seed)
    dress_human(human, anny, stripes=cfg.human.stripes)
    scene = load_motion_scene(str(inputs / "mini.glb"), assets=cfg.assets)
    obj = load_motion_object(init.object, cfg.assets)
    r = MotionRenderer(scene.gaussians, human, anny, obj.gaussians)
    return np.stack([r.frame(cam, params.index(t), poses[t]).rgb for t in range(T)]), params, poses


def test_motion_end_to_end_resume_and_outputs(tmp_path, inputs, anny, components):
    from inhabit.export.animation import (
        animation_channels,
        body_frames,
        gltf_node_matrix,
        node_by_name,
        read_glb,
    )
    from inhabit.export.glb import R_GLTF_WORLD, world_to_gltf
    from inhabit.export.report import referenced_files
    from inhabit.export.results import load_motion
    from inhabit.imagine.video import read_video, write_video
    from inhabit.io import read_image
    from inhabit.track.motion import MotionTrack

    cfg = motion_preset("fast", FAST)
    init = parse_init_file(inputs / "init.yaml")
    run = tmp_path / "run"

    # 1) neither --video nor --generate: the initial frame is rendered, then one sentence says what to do
    with pytest.raises(InputError, match=r"no video for the motion: its first frame is written to .*frame0\.png; make "
                                         r"a clip that starts from it .*--video CLIP\.mp4, or add --generate"):
        run_motion(build_motion_task(init), cfg, run, components)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["finished"] is False and manifest["waiting_for"] == "clip0/video"
    info = json.loads((run / "clip0/init/init.json").read_text())
    assert info["camera"]["n_visible"] >= 15 and info["camera"]["width"] == 96
    assert info["object_visible_px"] > 0 and info["human_visible_px"] > 0

    # 2) the user's video: a known walk rendered from that frame
    frames, truth, _ = _truth_frames(cfg, anny, inputs, run)
    frame0 = read_image(run / "frame0.png")
    assert np.array_equal(frames[0], frame0)
    write_video(inputs / "walk.mp4", frames, fps=8.0)
    task = build_motion_task(init, videos=[str(inputs / "walk.mp4")])

    # 3) killed after frame 2 of 3 is reconstructed: the saved state holds frames 0-2, no result
    def stop(k, t, track):
        if t == 2:
            raise Stop
    components.on_frame = stop
    with pytest.raises(Stop):
        run_motion(task, cfg, run, components)
    partial = MotionTrack.load(run / "clip0/track_partial/track.npz")
    assert partial.num_done == 3 and list(partial.status) == ["init", "ok", "ok", "pending"]
    assert not (run / "motion.npz").exists() and not (run / "clip0/track/_done.json").exists()
    assert json.loads((run / "manifest.json").read_text())["finished"] is False

    # 4) the same command resumes at frame 3; frames 1-2 come from the saved state, not a new fit
    seen = []
    components.on_frame = lambda k, t, track: seen.append((k, t))
    res = run_motion(task, cfg, run, components)
    components.on_frame = None
    assert seen == [(0, 3)]
    for name in ("clip0/init", "clip0/video", "clip0/masks", "clip0/keypoints"):
        assert res.stages[name] == "skipped", name
    assert res.stages["clip0/track"] == "ran" and res.stages["."] == "ran"
    track = MotionTrack.load(run / "clip0/track/track.npz")
    np.testing.assert_array_equal(track.losses["seconds"][1:3], partial.losses["seconds"][1:3])
    np.testing.assert_array_equal(track.params.body_pose[:3].numpy(), partial.params.body_pose[:3].numpy())
    assert list(track.status) == ["init", "ok", "ok", "ok"] and not (run / "clip0/track_partial").exists()

    # --- the run folder
    for f in ("config.yaml", "manifest.json", "frame0.png", "motion.npz", "motion.glb", "metrics.json", "report.html",
              "clip0/init/background.png", "clip0/init/object_mask.png", "clip0/video/input.mp4",
              "clip0/video/first_frame.png", "clip0/video/video.json", "clip0/masks/masks.npz",
              "clip0/masks/masks_sheet.png", "clip0/keypoints/keypoints.npz", "clip0/keypoints/keypoints_sheet.png",
              "clip0/track/losses.png", "clip0/refine/refined.npz", "videos/contact_sheet.png", "videos/side_camera.json"):
        assert (run / f).is_file(), f
    assert sorted(p.name for p in (run / "clip0/video/frames").glob("*.png")) == [f"frame_{t:05d}.png" for t in range(4)]
    video = json.loads((run / "clip0/video/video.json").read_text())
    assert video["indices"] == [0, 2, 5, 7] and video["source_frames"] == SOURCE_FRAMES  # 10 -> 4 frames, evenly
    assert video["fps"] == pytest.approx(8.0 * 4 / SOURCE_FRAMES) and video["first_frame_mae"] < 3.0
    assert any(e["keypoints_accepted"] or e["mask_iou"] >= 0.2 for e in video["person_check"])
    masks = np.load(run / "clip0/masks/masks.npz")
    assert masks["human"].shape == (4, 96, 96) and masks["object"][0].any()
    # Eq. 8: a pixel once dynamic never comes back as static background
    assert not np.any(masks["static"][1:] & ~masks["static"][:-1])

    # --- motion.npz: the interchange format, every frame, the camera and the object
    m = load_motion(run / "motion.npz")
    T, V = 4, anny.faces.max().item() + 1
    assert m.vertices.shape == (T, V, 3) and m.joints.shape == (T, 22, 3) and m.keypoints.shape == (T, 23, 3)
    assert m.T_world_cam.shape == (T, 4, 4) and m.K.shape == (3, 3) and m.object_pose.shape == (T, 4, 4)
    assert m.body_pose_smplx.shape == (T, 21, 3) and m.params["body_pose"].shape == (T, anny.body_pose_dim)
    assert m.fps == pytest.approx(video["fps"]) and m.body_model == "anny"
    assert m.object_vertices.shape == (8, 3) and m.object_faces.shape == (12, 3)
    assert m.extra["prompt"] == "walking past the box" and list(m.extra["status"]) == ["init", "ok", "ok", "ok"]
    np.testing.assert_allclose(m.vertices[0], anny(truth.index(0)).vertices[0].detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(m.T_world_cam[0], np.linalg.inv(np.array(info["camera"]["T_cam_world"])), atol=1e-6)
    # the frames line up with the video: the walker's pelvis is followed (it moves 14 cm by the last
    # kept frame; 12 iterations per frame keep it within a few cm, a shifted frame would not)
    kept = torch.as_tensor(video["indices"])
    pelvis = anny(truth.index(kept)).joints[:, 0].detach().numpy()
    assert np.linalg.norm(pelvis[-1] - pelvis[0]) > 0.12
    assert np.linalg.norm(m.joints[:, 0] - pelvis, axis=-1).max() < 0.08

    # --- motion.glb: re-read, every key reproduces the frame exactly
    g = read_glb(run / "motion.glb")
    assert g.meta["num_frames"] == T and g.meta["fps"] == pytest.approx(m.fps)
    body = node_by_name(g, "human")
    prim = g.doc["meshes"][g.doc["nodes"][body]["mesh"]]["primitives"][0]
    assert len(prim["targets"]) == T and "COLOR_0" in prim["attributes"]
    times, weights = animation_channels(g, body)["weights"]
    np.testing.assert_allclose(times, np.arange(T) / m.fps, rtol=1e-6)
    np.testing.assert_array_equal(weights, np.eye(T))
    posed = body_frames(g, body)
    for t in range(T):
        np.testing.assert_allclose(posed[t], world_to_gltf(m.vertices[t]), atol=2e-5)
    box = node_by_name(g, "object")
    ch = animation_channels(g, box)
    assert ch["translation"][1].shape == (T, 3) and ch["rotation"][1].shape == (T, 4)
    for t in range(T):
        M = gltf_node_matrix(ch["translation"][1][t], ch["rotation"][1][t])
        want = np.eye(4)
        want[:3, :3] = R_GLTF_WORLD @ m.object_pose[t, :3, :3]
        want[:3, 3] = R_GLTF_WORLD @ m.object_pose[t, :3, 3]
        np.testing.assert_allclose(M, want, atol=1e-5)
    cam = node_by_name(g, "video_camera")
    assert g.doc["cameras"][0]["perspective"]["aspectRatio"] == pytest.approx(1.0)
    assert animation_channels(g, cam)["translation"][1].shape == (T, 3)
    assert any(n.get("name", "").startswith("scene_") for n in g.doc["nodes"])  # the scene's meshes are there

    # --- the videos: readable, one frame per reconstructed frame
    for name in ("input", "reconstruction", "side", "comparison"):
        clip = read_video(res.videos[name])
        assert len(clip) == T, name
        assert clip.frames.shape[1] == 96
    assert read_video(res.videos["comparison"]).frames.shape[2] == 3 * 96 + 2 * 4

    # --- metrics and report
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["format"] == "inhabit.metrics/1" and metrics["kind"] == "motion"
    s = metrics["summary"]
    assert s["num_frames"] == T and 0.0 <= s["pene_pct"] <= 100.0 and "contact_ratio" in s
    assert metrics["job"]["status"] == {"init": 1, "ok": 3} and len(metrics["job"]["per_frame"]["total"]) == T
    page = (run / "report.html").read_text()
    refs = referenced_files(page)
    assert "videos/contact_sheet.png" in refs and "clip0/init/frame0.png" in refs and "motion.glb" in refs
    assert all((run / r).is_file() for r in refs), [r for r in refs if not (run / r).is_file()]

    # 5) the same command again: everything is reused, nothing rewritten
    mtime = (run / "motion.npz").stat().st_mtime_ns
    res2 = run_motion(task, cfg, run, components)
    assert set(res2.stages.values()) == {"skipped"} and (run / "motion.npz").stat().st_mtime_ns == mtime

    # 6) a changed refinement setting re-runs the refinement, not the per-frame fit; the stale
    #    result is removed as soon as something recomputes
    cfg6 = motion_preset("fast", {**FAST, "track": {**FAST["track"], "refine_iters": 4}})

    def check_no_stale_result(k, t, track):  # never called: the fit is reused
        raise AssertionError("the per-frame fit should be reused")
    components.on_frame = check_no_stale_result
    try:
        res6 = run_motion(task, cfg6, run, components)
    finally:
        components.on_frame = None
    assert res6.stages["clip0/track"] == "skipped" and res6.stages["clip0/refine"] == "ran"
    assert json.loads((run / "clip0/refine/refine.json").read_text())["iters"] == 4

    # 7) a changed fit setting, killed at its first frame: the earlier motion.npz (now stale) is gone
    cfg7 = motion_preset("fast", {**FAST, "track": {**FAST["track"], "iters": 10}})

    def stop_first(k, t, track):
        raise Stop
    components.on_frame = stop_first
    try:
        with pytest.raises(Stop):
            run_motion(task, cfg7, run, components)
    finally:
        components.on_frame = None
    assert not (run / "motion.npz").exists() and not (run / "report.html").exists()
    assert MotionTrack.load(run / "clip0/track_partial/track.npz").num_done == 2


def _render_state(cfg, anny, inputs: Path, folder: Path, steps: int, shift: float) -> np.ndarray:
    """Frames of a clip starting from the initial state saved in ``folder`` (a clip's init stage):
    the person steps ``shift`` metres along -y over ``steps`` frames, rendered from that camera."""
    from inhabit.body.gaussian_human import GaussianHuman
    from inhabit.body.protocol import BodyParams
    from inhabit.camera.pinhole import Camera
    from inhabit.pipeline.motion_assets import load_motion_object, load_motion_scene
    from inhabit.pipeline.motion_render import MotionRenderer
    from inhabit.track.motion import MotionTrack, load_appearance_state
    from inhabit.track.synthetic import dress_human

    with np.load(folder / "state.npz") as z:
        p0 = BodyParams(*(torch.as_tensor(z[f"params/{n}"]) for n in ("global_orient", "transl", "body_pose", "shape")))
        cam = Camera(z["K"], z["T_cam_world"], *(int(v) for v in z["size"]))
        pose = z["object_pose"]
    human = GaussianHuman.from_body(anny, spacing=cfg.human.spacing, seed=cfg.human.seed)
    dress_human(human, anny, stripes=cfg.human.stripes)
    prev = folder.parent.parent / "clip0" / "refine" / "refined.npz"
    if folder.parent.name != "clip0":  # later clips start with the previous clip's fitted appearance
        load_appearance_state(human, MotionTrack.load(prev).appearance)
    scene = load_motion_scene(str(inputs / "mini.glb"), assets=cfg.assets)
    obj = load_motion_object(parse_init_file(inputs / "init.yaml").object, cfg.assets)
    r = MotionRenderer(scene.gaussians, human, anny, obj.gaussians)
    out = []
    for t in range(steps):
        p = p0.replace(transl=p0.transl - torch.tensor([[0.0, shift * t / max(1, steps - 1), 0.0]]))
        out.append(r.frame(cam, p, pose).rgb)
    return np.stack(out)


def test_long_motion_chains_clips(tmp_path, inputs, anny, components, tiny_clip_dir):
    """Two prompts: clip 0 is reconstructed, then the run waits for clip 1's video, made from the
    frame it rendered at clip 0's end; the joined motion has 3 + 3 - 1 frames. CLIP metrics come
    from a tiny random CLIP model loaded from its folder (the real loading path)."""
    from inhabit.export.animation import node_by_name, read_glb
    from inhabit.export.results import load_motion
    from inhabit.imagine.video import write_frame_folder
    from inhabit.io import read_image

    cfg = motion_preset("fast", {**FAST, "video": {"num_frames": None, "person_check_frames": 1},
                                 "track": {**FAST["track"], "iters": 6, "refine_iters": 4},
                                 "stages": {"reselect_camera": False},
                                 "export": {**FAST["export"], "side_view": False, "clip": "auto",
                                            "clip_model": str(tiny_clip_dir)}})
    init = parse_init_file(inputs / "init.yaml")
    run = tmp_path / "run"
    prompts = ["walking", "walking on"]
    with pytest.raises(InputError, match=r"no video for the motion"):
        run_motion(build_motion_task(init, prompts=prompts), cfg, run, components)
    write_frame_folder(tmp_path / "a", _render_state(cfg, anny, inputs, run / "clip0/init", 3, 0.06), fps=5.0)
    task = build_motion_task(init, prompts=prompts, videos=[str(tmp_path / "a")])
    with pytest.raises(InputError, match=r"clip 1 has no video: its first frame \(the end of clip 0\) is written to "
                                         r".*clip1/init/frame0\.png; .*one --video per clip"):
        run_motion(task, cfg, run, components)
    assert (run / "clip0/refine/_done.json").is_file() and not (run / "motion.npz").exists()
    init1 = json.loads((run / "clip1/init/init.json").read_text())
    assert init1["human"] == {"source": "clip0", "frame": 2} and init1["camera"]["how"] == "the previous clip's last camera"
    frames1 = _render_state(cfg, anny, inputs, run / "clip1/init", 3, 0.06)
    assert np.array_equal(frames1[0], read_image(run / "clip1/init/frame0.png"))  # the job rendered the same state
    write_frame_folder(tmp_path / "b", frames1, fps=5.0)
    task = build_motion_task(init, prompts=prompts, videos=[str(tmp_path / "a"), str(tmp_path / "b")])
    try:
        res = run_motion(task, cfg, run, components)
    finally:
        components.clip = None
    assert res.stages["clip0/track"] == "skipped" and res.stages["clip1/track"] == "ran"
    s = res.metrics["summary"]
    assert 0.0 <= s["clip_score"] <= 100.0 and -1.0 <= s["clip_consistency"] <= 1.0
    m = load_motion(run / "motion.npz")
    assert m.vertices.shape[0] == 5 and list(m.extra["clip_starts"]) == [0, 3]
    assert list(m.extra["status"]) == ["init", "ok", "ok", "ok", "ok"]
    # clip 1 starts exactly where clip 0 ended (its first frame was dropped once)
    c0 = json.loads((run / "clip0/video/video.json").read_text())
    assert c0["frames"] == 3 and res.metrics["job"]["clip_starts"] == [0, 3]
    assert len(res.metrics["job"]["clips"]) == 2 and res.metrics["job"]["num_frames"] == 5
    g = read_glb(run / "motion.glb")
    prim = g.doc["meshes"][g.doc["nodes"][node_by_name(g, "human")]["mesh"]]["primitives"][0]
    assert len(prim["targets"]) == 5
    from inhabit.imagine.video import read_video

    assert len(read_video(res.videos["input"])) == 5 and "side" not in res.videos


def test_motion_bad_inputs_one_sentence_each(tmp_path, inputs, anny, components):
    cfg = motion_preset("fast", FAST)
    init = parse_init_file(inputs / "init.yaml")

    def parse(doc):
        return init_from_mapping(doc, inputs / "init.yaml")

    base = {"scene": "mini.glb", "human": {"at": [0, -0.7, 0]}, "prompt": "walking"}
    cases = [
        ({**base, "humn": {}}, r"init\.yaml: unknown key 'humn'; expected some of"),
        ({**base, "human": {"pose": "standing"}}, r"human\.at is missing; give where the person stands"),
        ({**base, "human": {"pose": "flying", "at": [0, 0, 0]}}, r"human\.pose is 'flying'; expected one of"),
        ({**base, "human": {"at": "0,0"}}, r"human\.at is '0,0'; expected three numbers"),
        ({**base, "human": {"from": "result.npz", "pose": "standing"}}, r"human: 'from' gives the whole initial body"),
        ({**base, "object": {"position": [0, 0, 0]}}, r"object\.path is missing"),
        ({**base, "object": {"path": "box.glb", "pose": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}},
         r"object\.pose is not a rigid transform"),
        ({**base, "object": {"path": "box.glb", "anchor": "top", "position": [0, 0, 0]}},
         r"object\.anchor is 'top'; expected one of bottom, center, origin"),
        ({**base, "camera": {"eye": [0, 0, 1], "look_at": [0, 0, 0]}}, r"camera: eye and look_at must differ and not"),
        ({**base, "clips": [{"prompt": "a"}]}, r"give the clips either as 'clips' or with the top-level"),
        ({**base, "seed": -1}, r"seed is -1; expected a non-negative integer"),
        ({**base, "frames": 10, "fps": 5}, r"give the clip length either as 'frames' or as 'fps', not both"),
        ({**base, "frames": 1}, r"frames is 1; expected an integer of at least 2"),
    ]
    for doc, msg in cases:
        with pytest.raises(InputError, match=msg):
            parse(doc)
    with pytest.raises(InputError, match=r"init file .*nope\.yaml does not exist"):
        parse_init_file(inputs / "nope.yaml")

    # merging with the command line
    with pytest.raises(InputError, match=r"--video and --generate exclude each other"):
        build_motion_task(init, videos=["x.mp4"], generate=True)
    with pytest.raises(InputError, match=r"video .*missing\.mp4 \(clip 0\) does not exist; expected an mp4 file"):
        build_motion_task(init, videos=[str(tmp_path / "missing.mp4")])
    with pytest.raises(InputError, match=r"2 videos were given for 1 clip\(s\)"):
        build_motion_task(init, videos=[str(inputs / "mini.glb")] * 2)
    with pytest.raises(InputError, match=r"the prompt is empty"):
        build_motion_task(init, prompts=["  "])
    with pytest.raises(InputError, match=r"no scene given; pass --scene"):
        build_motion_task(parse({"human": {"at": [0, 0, 0]}, "prompt": "x"}))
    with pytest.raises(InputError, match=r"object\.path: .*nobox\.glb does not exist"):
        build_motion_task(parse({**base, "object": {"path": "nobox.glb", "position": [0, 0, 0]}}))

    # checked when the run starts, before any heavy work (no run folder is created)
    out = tmp_path / "never"
    outside = build_motion_task(parse({**base, "human": {"at": [9, 9, 0]}}))
    with pytest.raises(InputError, match=r"human\.at \(9, 9, 0\) lies outside scene 'mini'"):
        run_motion(outside, cfg, out, components)
    (tmp_path / "broken.glb").write_bytes(b"not a glb")
    with pytest.raises(InputError, match=r"scene file .*broken\.glb could not be read"):
        run_motion(build_motion_task(init, scene=str(tmp_path / "broken.glb")), cfg, out, components)
    gen = motion_preset("fast", {**FAST, "video": {"generator": {"model_id": "nobody/no-such-i2v"}}})
    with pytest.raises(MissingWeightsError, match=r"image-to-video model .*'nobody/no-such-i2v' is not in the local"):
        run_motion(build_motion_task(init, generate=True), gen, out, components)
    sam2 = motion_preset("fast", {**FAST, "segment": {"method": "sam2", "sam2_checkpoint": str(tmp_path / "no.pt")}})
    with pytest.raises(MissingWeightsError, match=r"segment\.method is 'sam2' but|SAM2 checkpoint .*no\.pt does not"):
        run_motion(build_motion_task(init, videos=[str(inputs / "box.glb")]), sam2, out, MotionComponents(body_model=anny))
    assert not out.exists()


def test_generated_clip_without_a_person_is_refused(tmp_path, inputs, anny, components):
    """--generate through the real diffusers loading path (a tiny random Wan 2.1 I2V): its noise
    shows nobody, so the video stage stops before any reconstruction."""
    from inhabit.imagine.testing import save_tiny_video_pipeline

    wan = save_tiny_video_pipeline(tmp_path / "wan", "wan")
    cfg = motion_preset("fast", {**FAST, "video": {"num_frames": 3, "person_check_frames": 3, "generator": {
        "model_id": str(wan), "num_frames": 5, "num_inference_steps": 2, "max_area": 32 * 32, "dtype": "fp32"}}})
    task = build_motion_task(parse_init_file(inputs / "init.yaml"), generate=True)
    gen = components.video_generator
    try:
        with pytest.raises(InputError, match=r"no person found in the first frames of wan:.*wan \(checked 3 frames"):
            run_motion(task, cfg, tmp_path / "run", components)
    finally:
        components.video_generator = gen
    assert (tmp_path / "run/frame0.png").is_file() and not (tmp_path / "run/clip0/video/_done.json").exists()
    assert not (tmp_path / "run/clip0/masks").exists()
