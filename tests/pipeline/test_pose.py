"""``inhabit pose`` end to end on a CPU: tiny random diffusion and CLIP models loaded from folders
(the real loading paths), the known-body keypoint hook for the lifting part, both GenZI stages,
the run folder, resume, a crash in the middle, a config change, and the report's links."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pose_helpers import EYES, SEAT, ProjectedDetector

from inhabit.config import pose_preset
from inhabit.errors import InputError
from inhabit.export.report import referenced_files
from inhabit.export.results import load_result
from inhabit.pipeline.pose import PoseComponents, run_pose
from inhabit.pipeline.tasks import PoseTask


def _cfg(inpaint_dir, clip_dir, **lift):
    return pose_preset("fast", {
        "device": "cpu",
        "views": {"image_size": 64, "raster_size": 128},
        "inpaint": {"model_id": str(inpaint_dir), "attn_res": 16, "dtype": "fp32", "num_inference_steps": 2,
                    "dynamic_mask_steps": [0, 1]},
        "stages": {"inpaints_per_view": [2, 1]},
        "lift": {"phase_iters": 2, "sdf_vertices": 256, **lift},
        "sdf": {"voxel": 0.05},
        "rank": {"clip_model": str(clip_dir), "use_clip": "always"},
        "export": {"sheet_tile": 64},
    })


def _markers(root):
    return {p.relative_to(root).as_posix(): json.loads(p.read_text())["finished_at"]
            for p in sorted(root.rglob("_done.json"))}


def test_pose_end_to_end_resume_crash_and_config_change(tmp_path, mini_scene_path, tiny_inpaint_dir, tiny_clip_dir,
                                                        anny, seated):
    from inhabit.camera.views import cameras_looking_at

    cfg = _cfg(tiny_inpaint_dir, tiny_clip_dir)
    cams = cameras_looking_at(SEAT, np.array(EYES), cfg.views.fov_deg, cfg.views.image_size)
    kp = seated[1].keypoints[0]
    task = PoseTask(scene=str(mini_scene_path), at="0,0,0.45", prompt="sitting on the bench", eyes=EYES, id="bench")
    root = tmp_path / "run"

    # 1) a crash in stage 1's keypoints (the 3rd detector call): stage 0 is finished, stage 1 is not
    crash = ProjectedDetector(cams, kp, drop={0: [3]}, fail_after=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_pose(task, cfg, root, PoseComponents(body_model=anny, detector=crash))
    done = _markers(root)
    assert {"views/_done.json", "stage0/inpaint/_done.json", "stage0/keypoints/_done.json", "stage0/lift/_done.json",
            "stage0/rank/_done.json", "stage1/masks/_done.json", "stage1/inpaint/_done.json"} == set(done)
    assert not (root / "result.npz").exists()
    assert json.loads((root / "manifest.json").read_text())["finished"] is False
    assert not (root / ".lock").exists()

    # 2) resume: only the unfinished stages run
    det = ProjectedDetector(cams, kp, drop={0: [3]})
    det.calls = 2  # the same noise as the crashed run would have used
    res = run_pose(task, cfg, root, PoseComponents(body_model=anny, detector=det))
    assert det.calls == 3  # stage-0 keypoints were reused, stage 1 has one hypothesis
    for name in ("views", "stage0/inpaint", "stage0/keypoints", "stage0/lift", "stage0/rank", "stage1/masks",
                 "stage1/inpaint"):
        assert res.stages[name] == "skipped", name
    for name in ("stage1/keypoints", "stage1/lift", "stage1/rank", "final", "."):
        assert res.stages[name] == "ran", name
    after = _markers(root)
    assert all(after[k] == v for k, v in done.items())  # finished stages were not rewritten

    # --- the run folder
    for f in ("config.yaml", "manifest.json", "result.npz", "scene_with_human.glb", "human.obj", "human.ply",
              "metrics.json", "report.html", "views/cameras.json", "views/contact_sheet.png",
              "stage0/inpaint/inpaint_sheet.png", "stage0/keypoints/keypoints_sheet.png", "stage1/masks/masks_sheet.png",
              "final/renders_sheet.png", "final/choice.json"):
        assert (root / f).is_file(), f
    assert sorted(p.name for p in (root / "views").glob("view*.png")) == [f"view{i:03d}.png" for i in range(4)]
    for k in range(2):
        for v in range(4):
            assert (root / f"stage0/inpaint/view{v:03d}_h{k}.png").is_file()
            assert (root / f"stage0/inpaint/view{v:03d}_h{k}_mask.png").is_file()
    assert sorted(p.name for p in (root / "final" / "renders").iterdir()) == [f"view{i:03d}.png" for i in range(4)]
    # GenZI keeps floor(0.5 * 2) = 1 stage-0 result and repaints it once per view: one stage-1 result
    ranks0 = json.loads((root / "stage0/rank/ranks.json").read_text())
    assert ranks0["method"] == "clip" and len(ranks0["kept"]) == 1 and len(ranks0["clip_per_view"]["h0"]) == 4
    kept = ranks0["kept"][0]
    assert sorted(p.name for p in (root / "stage1/lift").iterdir() if p.is_dir()) == [f"{kept}_r0"]
    assert len(list((root / "stage1/masks" / kept).glob("view*.png"))) == 4
    # the dropped view is recorded and not used by the fit
    kp0 = json.loads((root / "stage0/keypoints/keypoints.json").read_text())
    assert kp0["hypotheses"]["h0"]["dropped"] == {"view003": "no person detected"}
    lift0 = json.loads((root / "stage0/lift/lift.json").read_text())
    assert lift0["fits"][0]["views_used"] == ["view000", "view001", "view002"]
    assert lift0["fits"][0]["view_weights"]["view003"] == 0.0
    assert any("view003 (no person detected)" in n for n in res.notes)
    # the chosen result: a stage-1 body, copied to the top with where it came from
    assert res.chosen == f"{kept}_r0" and res.chosen_stage == 1
    top = load_result(root / "result.npz")
    src = load_result(root / top.extra["copy_of"])
    np.testing.assert_array_equal(top.vertices, src.vertices)
    assert top.extra["stage"] == 1 and top.extra["prompt"] == "sitting on the bench" and top.extra["parent"] == kept
    assert np.all(np.isfinite(top.vertices)) and top.view_weights.shape == (4,)
    # metrics.json: eval's layout plus the job block
    m = json.loads((root / "metrics.json").read_text())
    assert m["format"] == "inhabit.metrics/1" and m["kind"] == "pose" and m["summary"]["num_results"] == 3
    assert 0.0 <= m["job"]["final"]["non_collision"] <= 1.0 and m["job"]["final"]["contact"] in (0.0, 1.0)
    assert m["job"]["final"]["clip"] is not None and set(m["job"]["final"]["view_weights"]) == {f"view{i:03d}" for i in range(4)}
    assert m["scene"]["path"] == str(mini_scene_path)
    # the report links only files that exist
    page = (root / "report.html").read_text()
    refs = referenced_files(page)
    assert "final/renders_sheet.png" in refs and "stage1/masks/masks_sheet.png" in refs
    assert all((root / r).is_file() for r in refs), [r for r in refs if not (root / r).is_file()]

    # 3) the same command again: every stage is reused, nothing is rewritten
    mtime = (root / "result.npz").stat().st_mtime_ns
    det3 = ProjectedDetector(cams, kp)
    res3 = run_pose(task, cfg, root, PoseComponents(body_model=anny, detector=det3))
    assert set(res3.stages.values()) == {"skipped"} and det3.calls == 0
    assert _markers(root) == after and (root / "result.npz").stat().st_mtime_ns == mtime

    # 4) a changed lifting setting re-fits but reuses the views, the inpaintings and the keypoints
    cfg4 = _cfg(tiny_inpaint_dir, tiny_clip_dir, phase_iters=3)
    det4 = ProjectedDetector(cams, kp)
    res4 = run_pose(task, cfg4, root, PoseComponents(body_model=anny, detector=det4))
    for name in ("views", "stage0/inpaint", "stage0/keypoints"):
        assert res4.stages[name] == "skipped", name
    assert res4.stages["stage0/lift"] == "ran" and res4.stages["."] == "ran"
    hist = np.load(root / "stage0/lift/history.npz")
    assert int(hist["iteration"][-1]) == 4 * 3 - 1


def test_user_images_path_with_the_real_detector(tmp_path, mini_scene_path, anny, seated):
    """--images: renders of the known body in 3 views + an empty scene render in the 4th, BlazePose,
    the view without a person dropped with a note, a single stage lifted and exported."""
    from inhabit.camera.io import write_cameras_json
    from inhabit.camera.views import cameras_looking_at
    from inhabit.io import write_image
    from inhabit.render.mesh import default_renderer, mesh_from_arrays, render_human_in_scene
    from inhabit.scene.load import load_scene

    scene = load_scene(mini_scene_path)
    cams = cameras_looking_at(SEAT, np.array(EYES), 60.0, 192)
    r = default_renderer()
    human = mesh_from_arrays(seated[1].vertices[0], seated[1].faces, (0.9, 0.5, 0.3))
    folder = tmp_path / "images"
    for v, cam in enumerate(cams):
        img = r.render(cam, scene, ("rgb",)).rgb if v == 3 else render_human_in_scene(cam, scene, human, r).rgb
        write_image(folder / f"{cam.name}.png", img)
    write_cameras_json(folder / "cameras.json", cams, SEAT, extra={"selection": "explicit"})
    cfg = pose_preset("fast", {"device": "cpu", "lift": {"phase_iters": 2, "sdf_vertices": 256}, "sdf": {"voxel": 0.05},
                               "rank": {"use_clip": "never"}, "export": {"sheet_tile": 64}})
    task = PoseTask(scene=str(mini_scene_path), at=None, prompt="", images=str(folder), id="user")
    res = run_pose(task, cfg, tmp_path / "run", PoseComponents(body_model=anny))
    root = res.root
    kp = json.loads((root / "stage0/keypoints/keypoints.json").read_text())["hypotheses"]["h0"]
    assert kp["accepted"] == ["view000", "view001", "view002"]
    assert kp["dropped"] == {"view003": "no person detected"}
    assert any("view003 (no person detected)" in n for n in res.notes)
    assert any("refinement (stage 1) skipped" in n for n in res.notes)
    assert "stage1/inpaint" not in res.stages and res.chosen == "h0" and res.chosen_stage == 0
    assert (root / "stage0/inpaint/view000_h0.png").is_file()  # the user's images are kept in the run
    ranks = json.loads((root / "stage0/rank/ranks.json").read_text())
    assert ranks["method"] == "energy"
    cams_json = json.loads((root / "views/cameras.json").read_text())
    assert cams_json["look_at"] == pytest.approx(SEAT.tolist())  # the point came from the user's cameras.json
    assert all((root / x).is_file() for x in referenced_files((root / "report.html").read_text()))


# ------------------------------------------------------------------------------------------------
# bad input: one sentence each, before heavy work


@pytest.fixture
def fast_cfg(tmp_path):
    return pose_preset("fast", {"device": "cpu", "views": {"image_size": 64, "raster_size": 128},
                                "inpaint": {"model_id": str(tmp_path / "no_such_model")}})


def _run(task, cfg, out, **comps):
    return run_pose(task, cfg, out, PoseComponents(**comps))


def test_unreadable_scene(tmp_path, fast_cfg):
    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"glTF but not really")
    with pytest.raises(InputError, match=r"broken\.glb"):
        _run(PoseTask(scene=str(bad), at="0,0,0", prompt="sit"), fast_cfg, tmp_path / "run")
    with pytest.raises(InputError, match=r"missing\.glb"):
        _run(PoseTask(scene=str(tmp_path / "missing.glb"), at="0,0,0", prompt="sit"), fast_cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_point_outside_the_scene(tmp_path, fast_cfg, mini_scene_path):
    with pytest.raises(InputError, match=r"point \(9, 9, 9\) lies outside scene 'mini', whose bounding box is"):
        _run(PoseTask(scene=str(mini_scene_path), at="9,9,9", prompt="sit"), fast_cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_empty_prompt(tmp_path, fast_cfg, mini_scene_path):
    with pytest.raises(InputError, match=r"^the prompt is empty; describe the interaction, e\.g\. --prompt "):
        _run(PoseTask(scene=str(mini_scene_path), at="seat", prompt="  "), fast_cfg, tmp_path / "run")


def test_missing_point(tmp_path, fast_cfg, mini_scene_path):
    with pytest.raises(InputError, match=r"no interaction point given; pass --at x,y,z"):
        _run(PoseTask(scene=str(mini_scene_path), at=None, prompt="sit"), fast_cfg, tmp_path / "run")


def test_missing_inpainting_weights_before_any_render(tmp_path, fast_cfg, mini_scene_path):
    from inhabit.errors import MissingWeightsError

    with pytest.raises(MissingWeightsError, match=r"inpainting model \(InpaintConfig\.model_id\): the local model folder "
                                                  r".*no_such_model does not exist"):
        _run(PoseTask(scene=str(mini_scene_path), at="seat", prompt="sit"), fast_cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "views").exists()  # nothing was rendered


def test_no_qualifying_view(tmp_path, fast_cfg, mini_scene_path, tiny_inpaint_dir):
    cfg = fast_cfg.with_overrides({"inpaint": {"model_id": str(tiny_inpaint_dir)}})
    # the floor under the bench: every camera 2 m away sees the bench instead
    with pytest.raises(InputError, match=r"no camera 2 m from point \(0\.00, 0\.00, 0\.00\) sees the surface around it "
                                         r"\(best visible fraction 0\.00, needed > 0\.4\)"):
        _run(PoseTask(scene=str(mini_scene_path), at="0,0,0", prompt="sit"), cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "stage0").exists()
    # a point in mid-air, off every surface
    with pytest.raises(InputError, match=r"no scene surface within 0\.15 m of point \(1\.50, 1\.50, 0\.40\)"):
        _run(PoseTask(scene=str(mini_scene_path), at="1.5,1.5,0.4", prompt="sit"), cfg, tmp_path / "run")


def test_bad_images_folder(tmp_path, fast_cfg, mini_scene_path):
    with pytest.raises(InputError, match=r"--images folder .*nope does not exist"):
        _run(PoseTask(scene=str(mini_scene_path), at="seat", images=str(tmp_path / "nope")), fast_cfg, tmp_path / "run")
    (tmp_path / "imgs").mkdir()
    with pytest.raises(InputError, match=r"has no cameras\.json"):
        _run(PoseTask(scene=str(mini_scene_path), at="seat", images=str(tmp_path / "imgs")), fast_cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_images_without_any_person_is_a_clear_error(tmp_path, mini_scene_path, anny):
    """Fewer than one usable view: every user image is a plain scene render."""
    from inhabit.camera.io import write_cameras_json
    from inhabit.camera.views import cameras_looking_at
    from inhabit.io import write_image

    cams = cameras_looking_at(SEAT, np.array(EYES[:2]), 60.0, 64)
    folder = tmp_path / "imgs"
    for cam in cams:
        write_image(folder / f"{cam.name}.png", np.full((64, 64, 3), 200, np.uint8))
    write_cameras_json(folder / "cameras.json", cams, SEAT)
    cfg = pose_preset("fast", {"device": "cpu", "rank": {"use_clip": "never"}})

    class Nobody:
        def detect(self, images):
            from inhabit.structures import Keypoints2D

            return Keypoints2D.empty(len(images))

    with pytest.raises(InputError, match=r"no hypothesis has 1 or more views with a credible person .*"
                                         r"h0: dropped 2 of 2 views: view000 \(no person detected\)"):
        run_pose(PoseTask(scene=str(mini_scene_path), at="seat", images=str(folder)), cfg, tmp_path / "run",
                 PoseComponents(body_model=anny, detector=Nobody()))


def test_cli_prints_one_sentence_and_exits_2(tmp_path, mini_scene_path, capsys):
    from inhabit.cli import main

    code = main(["pose", "--scene", str(mini_scene_path), "--at", "seat", "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("inhabit: error: the prompt is empty") and "\n" not in err


class _Nobody:
    def detect(self, images):
        from inhabit.structures import Keypoints2D

        return Keypoints2D.empty(len(images))


def _empty_images(folder, n=2):
    from inhabit.camera.io import write_cameras_json
    from inhabit.camera.views import cameras_looking_at
    from inhabit.io import write_image

    cams = cameras_looking_at(SEAT, np.array(EYES[:n]), 60.0, 64)
    for cam in cams:
        write_image(folder / f"{cam.name}.png", np.full((64, 64, 3), 200, np.uint8))
    write_cameras_json(folder / "cameras.json", cams, SEAT)
    return folder


def test_task_file_validates_everything_first_then_runs_each_and_records_failures(tmp_path, mini_scene_path, anny):
    from inhabit.pipeline.pose import run_task_file

    _empty_images(tmp_path / "imgs")
    cfg = pose_preset("fast", {"device": "cpu"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"scene: {mini_scene_path}\ninteractions:\n"
                   f"  - {{id: a, at: seat, images: imgs}}\n  - {{id: b, prompt: sit, at: [9, 9, 9]}}\n")
    with pytest.raises(InputError, match=r"point \(9, 9, 9\) lies outside scene 'mini'"):
        run_task_file(bad, tmp_path / "out_bad", cfg, components=PoseComponents(body_model=anny, detector=_Nobody()))
    assert not (tmp_path / "out_bad" / "a").exists()  # nothing ran before every task was checked

    good = tmp_path / "tasks.yaml"
    good.write_text(f"scene: {mini_scene_path}\nconfig: {{rank: {{use_clip: never}}}}\ninteractions:\n"
                    f"  - {{id: a, at: seat, images: imgs}}\n  - {{id: b, at: '0,0,0.45', images: imgs}}\n")
    code = run_task_file(good, tmp_path / "out", cfg, components=PoseComponents(body_model=anny, detector=_Nobody()))
    assert code == 1
    runs = json.loads((tmp_path / "out" / "tasks.json").read_text())["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [("a", "failed"), ("b", "failed")]
    assert "no hypothesis has 1 or more views with a credible person" in runs[0]["error"]
    assert (tmp_path / "out" / "a" / "stage0" / "keypoints" / "_done.json").is_file()  # its finished stages stay
    index = (tmp_path / "out" / "index.html").read_text()
    assert "failed" in index and all((tmp_path / "out" / r).exists() for r in referenced_files(index))
