"""``inhabit eval`` on synthetic runs made in tmp: values computed by hand."""

import importlib.util
import json
import pickle

import numpy as np
import pytest
import torch
import yaml

from inhabit.conventions import BODY_JOINT_NAMES
from inhabit.errors import InputError, MissingWeightsError
from inhabit.evaluate.suite import EvalSettings
from inhabit.export.results import save_motion, save_result
from inhabit.pipeline import evaluate as ev

BOX_MIN, BOX_MAX = np.array([-0.5, -0.5, 0.0]), np.array([0.5, 0.5, 1.0])


def box_sdf(p):
    """Exact SDF of the box [-0.5, 0.5]^2 x [0, 1] (torch callable, negative inside)."""
    c = torch.tensor((BOX_MIN + BOX_MAX) / 2, dtype=p.dtype)
    h = torch.tensor((BOX_MAX - BOX_MIN) / 2, dtype=p.dtype)
    q = (p - c).abs() - h
    return q.clamp(min=0).norm(dim=-1) + q.max(dim=-1).values.clamp(max=0)


def floor_and_box(p):
    return torch.minimum(p[:, 2], box_sdf(p))


def provider_for(sdf):
    return lambda spec: ev.LoadedScene(sdf=sdf, mesh=None, description="analytic")


def body(vertices, pose_value=0.0):
    v = np.asarray(vertices, np.float32)
    return {
        "vertices": v,
        "faces": np.array([[0, 1, 2]]),
        "joints": np.zeros((22, 3), np.float32),
        "keypoints": np.zeros((23, 3), np.float32),
    }, np.full((21, 3), pose_value)


def make_pose_run(root, prompt="sitting on the box"):
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump({"scene": "box.obj", "prompt": prompt}))
    inside = [[0.0, 0.0, 0.5], [0.1, 0.1, 0.2], [-0.2, 0.3, 0.9]]
    outside = [[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.5], [1.0, 1.0, 1.0], [0.0, 0.0, 1.05],
               [0.0, 0.8, 0.5], [-3.0, 0.0, 0.0]]
    b1, p1 = body(inside + outside, 0.0)  # 3 of 10 vertices inside: non-collision 0.7, contact 1
    b2, p2 = body(outside, 0.0)  # all outside: non-collision 1, contact 0
    p2 = p2.copy()
    p2[0, 0] = 0.6
    save_result(root / "hyp0" / "result.npz", b1, None, "test", body_pose_smplx=p1)
    save_result(root / "hyp1" / "result.npz", b2, None, "test", body_pose_smplx=p2)
    return root


def test_pose_run_metrics_by_hand(tmp_path):
    run = make_pose_run(tmp_path / "pose_run")
    units = ev.discover([run])
    assert len(units) == 1 and units[0].own_run and len(units[0].items) == 2
    assert units[0].scene == ev.SceneSpec("box.obj")  # relative and absent: kept as written
    reports = ev.evaluate_units(units, EvalSettings(), provider_for(box_sdf), clip=None,
                                clip_note="CLIP metrics skipped: test")
    s = reports[0].summary.values
    assert s["num_results"] == 2
    assert s["non_collision"] == pytest.approx(0.85)
    assert s["contact"] == pytest.approx(0.5)
    # two poses 0.6 rad apart in one coordinate: k = max(1, 2 // 10) = 1 cluster at their mean
    assert s["k_used_20"] == 1 and s["entropy_20"] == 0.0
    assert s["cluster_size_20"] == pytest.approx(0.3)
    per = {it.label: m.values for it, m in reports[0].per_item}
    assert per["hyp0/result.npz"]["non_collision"] == pytest.approx(0.7)
    assert per["hyp1/result.npz"]["contact"] == 0.0
    assert "CLIP metrics skipped: test" in reports[0].summary.notes

    out = tmp_path / "eval"
    written = ev.write_reports(reports, out, EvalSettings())
    data = json.loads((run / "metrics.json").read_text())
    assert data["format"] == "inhabit.metrics/1" and data["summary"]["contact"] == pytest.approx(0.5)
    assert any(n.startswith("CLIP metrics skipped") for n in data["notes"])
    md = written["metrics.md"].read_text()
    assert "| non-coll. |" in md and "| 0.85 |" in md
    rows = written["metrics.csv"].read_text().splitlines()
    assert rows[0].startswith("run,kind,n,") and "0.85" in rows[1]


def test_contact_threshold_is_configurable(tmp_path):
    run = make_pose_run(tmp_path / "pose_run")
    rep = ev.evaluate_units(ev.discover([run]), EvalSettings(contact_threshold=0.06), provider_for(box_sdf))
    # the second body's closest vertex is 5 cm above the box: in contact with a 6 cm threshold
    assert rep[0].summary.values["contact"] == 1.0


def test_no_scene_gives_a_note_not_a_number(tmp_path):
    run = tmp_path / "r"
    b, p = body([[0.0, 0.0, 0.5]] * 3)
    save_result(run / "result.npz", b, None, "test", body_pose_smplx=p)
    rep = ev.evaluate_units(ev.discover([run]), EvalSettings(), provider_for(box_sdf))
    assert "non_collision" not in rep[0].summary.values
    assert "physical metrics skipped: the run names no scene (pass --scene)" in rep[0].summary.notes
    rep = ev.evaluate_units(ev.discover([run]), EvalSettings(), provider_for(box_sdf), ev.SceneSpec("box.obj"))
    assert rep[0].summary.values["non_collision"] == 0.0  # all three vertices at the box's centre


def make_motion_run(root, offset=0.0, T=5, fps=10.0):
    """A person whose feet slide 5 cm per frame on the floor, with one vertex inside the box."""
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump({"scene": "box.obj", "prompt": "walking", "seed": 1}))
    joints = np.zeros((T, 22, 3), np.float32)
    xs = 2.0 + np.arange(T) * 0.05
    for name, z in (("left_ankle", 0.0), ("left_foot", 0.0), ("right_ankle", 0.0), ("right_foot", 0.0)):
        j = BODY_JOINT_NAMES.index(name)
        joints[:, j, 0] = xs
        joints[:, j, 2] = z
    for name in BODY_JOINT_NAMES:  # everything else 1 m up (no contact), shifted per run
        if "ankle" not in name and "foot" not in name:
            joints[:, BODY_JOINT_NAMES.index(name), 2] = 1.0
    joints[:, :, 1] += offset
    verts = np.zeros((T, 4, 3), np.float32)
    verts[:, 0] = [0.0, 0.0, 0.9]  # 10 cm inside the box top
    verts[:, 1] = [3.0, 0.0, 0.5]
    verts[:, 2] = [3.0, 1.0, 0.5]
    verts[:, 3] = [3.0, 2.0, 0.5]
    b = {"vertices": verts, "faces": np.array([[1, 2, 3]]), "joints": joints,
         "keypoints": np.zeros((T, 23, 3), np.float32)}
    save_motion(root / "motion.npz", b, fps=fps, body_model="test")
    return root


def test_motion_run_metrics_by_hand(tmp_path):
    r1 = make_motion_run(tmp_path / "seed1", offset=0.0)
    r2 = make_motion_run(tmp_path / "seed2", offset=0.3)
    reports = ev.evaluate_units(ev.discover([r1, r2]), EvalSettings(), provider_for(floor_and_box))
    s = reports[0].summary.values
    assert s["num_frames"] == 5
    assert s["pene_pct"] == pytest.approx(25.0)  # 1 of 4 vertices inside in every frame
    assert s["pene_mean"] == pytest.approx(0.1, abs=1e-5) and s["depth_max"] == pytest.approx(0.1, abs=1e-5)
    assert s["foot_sliding"] == pytest.approx(5.0, rel=1e-4)  # 5 cm per frame, feet on the floor
    assert s["foot_sliding_cm_s"] == pytest.approx(50.0, rel=1e-4)
    # the two seeds share scene and prompt: diversity = 0.3 m (every joint shifted by 0.3 m in y)
    assert s["diversity"] == pytest.approx(0.3, abs=1e-6)
    assert reports[1].summary.values["diversity"] == pytest.approx(0.3, abs=1e-6)


def test_motion_hand_object_contact_and_object_penetration(tmp_path):
    pytest.importorskip("inhabit.scene.sdf", reason="mesh SDF (scene area) has not landed yet")
    import trimesh

    T = 4
    run = tmp_path / "obj_run"
    joints = np.zeros((T, 22, 3), np.float32)
    joints[:, BODY_JOINT_NAMES.index("left_wrist")] = [0.0, 0.0, 1.0]
    joints[:, BODY_JOINT_NAMES.index("left_elbow")] = [-0.3, 0.0, 1.0]
    joints[:, BODY_JOINT_NAMES.index("right_wrist")] = [0.0, 2.0, 1.0]
    joints[:, BODY_JOINT_NAMES.index("right_elbow")] = [0.0, 2.3, 1.0]
    verts = np.zeros((T, 3, 3), np.float32)
    verts[:, 0] = [0.05, 0.0, 1.0]  # a hand vertex (beyond the left wrist)
    verts[:, 1] = [0.5, 0.0, 1.0]  # a forearm-free body vertex, inside the object in frame 2
    verts[:, 2] = [-0.5, 0.0, 1.0]
    # a 10 cm cube in its own frame, moved by object_pose: x = 0.10, 0.12, 0.50, 1.00, the last one
    # lowered to z = 0.02 so its bottom half is 3 cm into the floor
    cube = trimesh.creation.box(extents=[0.1, 0.1, 0.1])
    pose = np.tile(np.eye(4), (T, 1, 1))
    pose[:, 0, 3] = [0.10, 0.12, 0.50, 1.00]
    pose[:, 2, 3] = [1.0, 1.0, 1.0, 0.02]
    b = {"vertices": verts, "faces": np.array([[0, 1, 2]]), "joints": joints, "keypoints": np.zeros((T, 23, 3))}
    save_motion(run / "motion.npz", b, fps=10, body_model="test", object_pose=pose,
                object_vertices=np.asarray(cube.vertices), object_faces=np.asarray(cube.faces))
    rep = ev.evaluate_units(ev.discover([run]), EvalSettings(), provider_for(lambda p: p[:, 2]), ev.SceneSpec("x"))
    s = rep[0].summary.values
    assert s["contact_ratio"] == pytest.approx(0.5)  # frames 0 (touching) and 1 (2 cm away)
    assert s["pene_obj"] == pytest.approx(0.05 / 4, abs=1e-5)  # the cube's centre on a body vertex in frame 2
    assert s["pene_obj_max"] == pytest.approx(0.05, abs=1e-5)
    assert s["obj_scene_depth_max"] == pytest.approx(0.03, abs=1e-5)
    assert s["obj_scene_pene_pct"] == pytest.approx(12.5)  # 4 of 8 cube corners in 1 of 4 frames


def test_pickle_needs_opt_in_and_warns(tmp_path):
    rng = np.random.default_rng(0)
    gen = {  # GenZI's smplx.pkl layout (vertices present, so no SMPL-X model is needed)
        "vertices": rng.normal(size=(1, 50, 3)).astype(np.float32) + np.array([0, 0, 3.0], np.float32),
        "joints": rng.normal(size=(1, 127, 3)).astype(np.float32),
        "faces": np.array([[0, 1, 2]]),
        "transl": np.zeros((1, 3)), "global_orient": np.zeros((1, 3)), "betas": np.zeros((1, 10)),
        "body_pose": np.full((1, 63), 0.1), "left_hand_pose": np.zeros((1, 12)), "right_hand_pose": np.zeros((1, 12)),
        "prompt": "sitting on the bench", "prompt_prefix": "a photo of a person", "prompt_id": "sit_bench",
        "scene_name": "kyoto",
    }
    pkl = tmp_path / "genzi" / "kyoto" / "sit_bench" / "stage000_inpaint0" / "smplx.pkl"
    pkl.parent.mkdir(parents=True)
    pkl.write_bytes(pickle.dumps(gen))
    with pytest.raises(InputError) as e:
        ev.discover([pkl])
    assert str(e.value) == (
        f"{pkl} is a Python pickle, which can run arbitrary code when loaded; if you trust the file, "
        f"pass --allow-pickle (or convert it to .npz) to evaluate it"
    )
    with pytest.warns(UserWarning, match="pickles can run arbitrary code"):
        units = ev.discover([tmp_path / "genzi"], allow_pickle=True)
    item = units[0].items[0]
    assert item.kind == "pose" and item.vertices.shape == (50, 3) and item.joints.shape == (22, 3)
    assert item.prompt == "a photo of a person, sitting on the bench"
    np.testing.assert_allclose(item.body_pose_smplx, 0.1)
    assert not units[0].own_run
    rep = ev.evaluate_units(units, EvalSettings(), provider_for(floor_and_box), ev.SceneSpec("x"))
    assert rep[0].summary.values["non_collision"] == 1.0  # the body floats 3 m up
    written = ev.write_reports(rep, tmp_path / "out", EvalSettings())
    assert (tmp_path / "out" / "runs").is_dir() and not (tmp_path / "genzi" / "metrics.json").exists()
    assert written["metrics.json"].is_file()


def test_genzi_stage_filter(tmp_path):
    root = tmp_path / "genzi"
    dirs = ["kyoto/sit/stage000_inpaint0", "kyoto/sit/stage000_inpaint1",
            "kyoto/sit/stage000_inpaint0_stage001_inpaint0", "kyoto/sit/stage000_inpaint0_stage001_inpaint1",
            "kyoto/sit/stage000_inpaint1_stage001_inpaint0"]
    for d in dirs:
        (root / d).mkdir(parents=True)
        np.savez(root / d / "smplx.npz", vertices=np.zeros((1, 5, 3)), body_pose=np.zeros((1, 63)))
    assert ev.result_stage(root / dirs[3] / "smplx.npz", root) == 1
    assert len(ev.discover([root])[0].items) == 5
    assert len(ev.discover([root], stage=0)[0].items) == 2
    assert len(ev.discover([root], stage=1)[0].items) == 3
    with pytest.raises(InputError, match=r"smplx\.pkl/smplx\.npz files of stage 2 to evaluate"):
        ev.discover([root], stage=2)


def test_plain_vertex_array_and_bad_inputs(tmp_path):
    npy = tmp_path / "verts.npy"
    np.save(npy, np.array([[0.0, 0.0, 0.5], [5.0, 0.0, 0.5]]))
    units = ev.discover([npy])
    rep = ev.evaluate_units(units, EvalSettings(), provider_for(box_sdf), ev.SceneSpec("x"))
    assert rep[0].summary.values["non_collision"] == pytest.approx(0.5)
    assert any("diversity uses 0 of 1 results" in n for n in rep[0].summary.notes)
    with pytest.raises(InputError, match="does not exist; expected a run folder"):
        ev.discover([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"holds no result.npz, motion.npz or smplx.pkl/smplx.npz files"):
        ev.discover([empty])
    params_only = tmp_path / "params.npz"
    np.savez(params_only, transl=np.zeros((1, 3)), global_orient=np.zeros((1, 3)), body_pose=np.zeros((1, 63)),
             betas=np.zeros((1, 10)))
    with pytest.raises(MissingWeightsError, match=r"SMPL-X model folder .*no_models does not exist"):
        ev.discover([params_only], smplx_dir=tmp_path / "no_models")


@pytest.mark.skipif(importlib.util.find_spec("inhabit.body.synthetic") is None,
                    reason="inhabit.body.synthetic.write_synthetic_smplx has not landed yet (body area)")
def test_foreign_smplx_params_through_synthetic_model(tmp_path):
    from inhabit.body.synthetic import synthetic_smplx_dir

    model_dir = synthetic_smplx_dir()  # written once under the project cache, then reused
    params = tmp_path / "baseline.npz"
    T = 3
    np.savez(params, transl=np.stack([np.zeros(3), [0.1, 0, 0], [0.2, 0, 0]]), global_orient=np.zeros((T, 3)),
             body_pose=np.zeros((T, 63)), betas=np.zeros((1, 10)), mocap_framerate=np.array(30.0))
    units = ev.discover([params], smplx_dir=model_dir)
    item = units[0].items[0]
    assert item.kind == "motion" and item.fps == 30.0
    assert item.vertices.shape[0] == T and item.joints.shape == (T, 22, 3)
    # transl is added to every vertex by the smplx library: frame 2 is frame 0 shifted by 0.2 m in x
    np.testing.assert_allclose(item.vertices[2] - item.vertices[0], np.tile([0.2, 0, 0], (item.vertices.shape[1], 1)),
                               atol=1e-5)


def test_cli_end_to_end_with_box_scene(tmp_path):
    pytest.importorskip("inhabit.scene.load", reason="scene loading (scene area) has not landed yet")
    pytest.importorskip("inhabit.scene.sdf", reason="scene SDF (scene area) has not landed yet")
    import trimesh

    from inhabit.cli import main

    run = make_pose_run(tmp_path / "pose_run")
    trimesh.creation.box(bounds=np.stack([BOX_MIN, BOX_MAX])).export(run / "box.obj")
    out = tmp_path / "eval"
    assert main(["eval", str(run), "--out", str(out), "--no-clip"]) == 0
    data = json.loads((run / "metrics.json").read_text())
    assert data["summary"]["non_collision"] == pytest.approx(0.85)
    assert data["summary"]["contact"] == pytest.approx(0.5)
    assert "CLIP metrics skipped: disabled with --no-clip" in data["notes"]
    assert data["scene_sdf"] == "exact mesh signed distance"
    assert (out / "metrics.md").is_file() and (out / "metrics.csv").is_file()


def _tiny_scene_and_body():
    from inhabit.scene.mesh import MeshPart, SceneMesh

    floor = MeshPart(np.array([[-2, -2, 0], [2, -2, 0], [2, 2, 0], [-2, 2, 0]], np.float32),
                     np.array([[0, 1, 2], [0, 2, 3]]), base_color=np.array([0.3, 0.6, 0.3, 1.0]), name="floor")
    scene = SceneMesh([floor], name="floor")
    # a tetrahedron "body" standing on the floor
    verts = np.array([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.3, 0.0], [0.1, 0.1, 1.2]], np.float32)
    faces = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [2, 0, 3]])
    return scene, verts, faces


def test_clip_metrics_with_tiny_random_clip(tmp_path):
    """The real CLIP path (renders -> ClipScorer -> scores) with a tiny random model built offline."""
    pytest.importorskip("inhabit.camera.io")
    from inhabit.camera.io import write_cameras_json
    from inhabit.camera.pinhole import Camera
    from inhabit.imagine.clip import ClipScorer
    from inhabit.imagine.testing import save_tiny_clip_model
    from inhabit.render.mesh import default_renderer, mesh_from_arrays, render_human_in_scene

    model_dir = save_tiny_clip_model(tmp_path / "tiny_clip")
    clip, note = ev.default_clip_backend(str(model_dir), "cpu")
    assert clip is not None and note == ""
    scene, verts, faces = _tiny_scene_and_body()
    cams = [Camera.look_at([2.0 * np.cos(a), 2.0 * np.sin(a), 1.2], [0, 0, 0.6], 48, 48, name=f"view{i:03d}")
            for i, a in enumerate((0.3, 2.0, 4.0))]
    run = tmp_path / "pose_run"
    write_cameras_json(run / "views" / "cameras.json", cams, look_at=[0, 0, 0.6])
    prompt = "a person standing"
    for k, dz in enumerate((0.0, 0.2)):
        b = {"vertices": verts + np.array([0, 0, dz], np.float32), "faces": faces,
             "joints": np.zeros((22, 3)), "keypoints": np.zeros((23, 3))}
        save_result(run / f"hyp{k}" / "result.npz", b, None, "test", body_pose_smplx=np.zeros((21, 3)),
                    extra={"prompt": prompt})

    def provider(spec):
        return ev.LoadedScene(sdf=lambda p: p[:, 2], mesh=scene)

    rep = ev.evaluate_units(ev.discover([run]), EvalSettings(), provider, ev.SceneSpec("floor"), clip=clip)
    per = [m.values["clip"] for _, m in rep[0].per_item]
    # the same numbers straight from ClipScorer on composites rendered here
    scorer = ClipScorer(str(model_dir), device="cpu")
    r = default_renderer()
    expected = []
    for dz in (0.0, 0.2):
        human = mesh_from_arrays(verts + np.array([0, 0, dz], np.float32), faces)
        imgs = [render_human_in_scene(c, scene, human, r).rgb for c in cams]
        expected.append(float(scorer.score(imgs, prompt).mean()))
    np.testing.assert_allclose(per, expected, atol=1e-5)
    s = rep[0].summary.values
    assert s["clip_mean_of_all"] == pytest.approx(np.mean(expected), abs=1e-5)
    assert s["clip_mean_of_max"] == pytest.approx(max(expected), abs=1e-5)  # one interaction

    # motion: frames rendered from the tracked camera; consistency equals ClipScorer's own
    T = 3
    K = np.array([[40.0, 0, 24], [0, 40.0, 24], [0, 0, 1]])
    Twc = np.stack([cams[0].T_world_cam] * T)
    mv = np.stack([verts + np.array([0.1 * t, 0, 0], np.float32) for t in range(T)])
    b = {"vertices": mv, "faces": faces, "joints": np.zeros((T, 22, 3)), "keypoints": np.zeros((T, 23, 3))}
    save_motion(tmp_path / "mrun" / "motion.npz", b, fps=10, body_model="test", T_world_cam=Twc, K=K,
                extra={"prompt": prompt})
    rep = ev.evaluate_units(ev.discover([tmp_path / "mrun"]), EvalSettings(), provider, ev.SceneSpec("floor"),
                            clip=clip)
    s = rep[0].summary.values
    frames = [render_human_in_scene(Camera(K, cams[0].T_cam_world, 48, 48), scene, mesh_from_arrays(mv[t], faces),
                                    r).rgb for t in range(T)]
    assert s["clip_consistency"] == pytest.approx(scorer.frame_consistency(frames), abs=1e-5)
    assert s["clip_score"] == pytest.approx(100 * np.maximum(scorer.score(frames, prompt), 0.0).mean(), abs=1e-3)


def test_clip_skipped_note_when_weights_absent(tmp_path):
    clip, note = ev.default_clip_backend(str(tmp_path / "no_clip_here"), "cpu")
    assert clip is None and note.startswith("CLIP metrics skipped: ")
    run = make_pose_run(tmp_path / "pose_run")
    rep = ev.evaluate_units(ev.discover([run]), EvalSettings(), provider_for(box_sdf), clip=None, clip_note=note)
    assert note in rep[0].summary.notes
    assert not any(k.startswith("clip") for k in rep[0].summary.values)


def test_per_frame_pickle_list_is_a_motion(tmp_path):
    T = 4
    frames = [{"vertices": np.full((1, 6, 3), 0.1 * t, np.float32) + np.array([0, 0, 2.0], np.float32),
               "body_pose": np.zeros((1, 63)), "fps": 10.0, "prompt": "walking"} for t in range(T)]
    pkl = tmp_path / "zerohsi_frames.pkl"
    pkl.write_bytes(pickle.dumps(frames))
    with pytest.warns(UserWarning):
        item = ev.discover([pkl], allow_pickle=True)[0].items[0]
    assert item.kind == "motion" and item.vertices.shape == (T, 6, 3) and item.prompt == "walking"
    np.testing.assert_allclose(item.vertices[3, 0], [0.3, 0.3, 2.3], atol=1e-6)


def test_cli_with_genzi_sdf_grid(tmp_path):
    """``--sdf`` swaps the exact mesh distance for a GenZI-format grid (to reproduce GenZI's numbers)."""
    pytest.importorskip("inhabit.scene.load", reason="scene loading (scene area) has not landed yet")
    import trimesh

    from inhabit.cli import main
    from inhabit.scene.sdf import build_local_sdf, save_genzi_sdf

    run = make_pose_run(tmp_path / "pose_run")
    box = trimesh.creation.box(bounds=np.stack([BOX_MIN, BOX_MAX]))
    box.export(run / "box.obj")
    grid = build_local_sdf((np.asarray(box.vertices), np.asarray(box.faces)), center=[0, 0, 0.5], extent=8.0,
                           voxel=0.05, use_cache=False)
    save_genzi_sdf(grid, tmp_path / "box_sdf.json")
    assert main(["eval", str(run), "--out", str(tmp_path / "eval"), "--no-clip", "--sdf",
                 str(tmp_path / "box_sdf.json")]) == 0
    data = json.loads((run / "metrics.json").read_text())
    assert data["scene_sdf"].startswith("SDF grid")
    # the vertices sit >= 5 cm from the surface except one exactly 5 cm above the top: same answers
    assert data["summary"]["non_collision"] == pytest.approx(0.85)
    assert data["summary"]["contact"] == pytest.approx(0.5)


def test_pose_run_layout_copy_and_job_block_kept(tmp_path):
    """A pose run's top-level result.npz copies its chosen hypothesis: it is not scored twice, and
    the job's own metrics.json sections survive a re-evaluation."""
    run = make_pose_run(tmp_path / "pose_run")
    b, p = body([[0.0, 0.0, 0.5]] * 3)
    save_result(run / "result.npz", b, None, "test", body_pose_smplx=p, extra={"copy_of": "hyp1/result.npz"})
    (run / "metrics.json").write_text(json.dumps({"format": "inhabit.metrics/1", "job": {"chosen": "hyp1"},
                                                  "summary": {"contact": 123.0}}))
    units = ev.discover([run])
    assert sorted(i.label for i in units[0].items) == ["hyp0/result.npz", "hyp1/result.npz"]
    ev.write_reports(ev.evaluate_units(units, EvalSettings(), provider_for(box_sdf)), tmp_path / "out", EvalSettings())
    data = json.loads((run / "metrics.json").read_text())
    assert data["job"] == {"chosen": "hyp1"}
    assert data["summary"]["contact"] == pytest.approx(0.5)
