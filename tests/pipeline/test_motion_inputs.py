"""The motion job's inputs: its config and presets, init.yaml merged with the command line, the clip
checks (sub-sampling, sizing, first frame, person), the scene/object/body assets (meshes and 3DGS),
the mask helpers, and the initial stage on a Gaussian scene."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import make_mini_scene
from inhabit.errors import InputError
from inhabit.pipeline.motion_config import (
    MotionConfig,
    dump_motion_config,
    motion_preset,
    resolve_motion_config,
)
from inhabit.pipeline.motion_task import ObjectInit, build_motion_task, init_from_mapping

# ------------------------------------------------------------------------------------------------
# config


def test_presets_and_overrides(tmp_path):
    z = motion_preset("zerohsi")
    assert (z.track.iters, z.track.camera_iters, z.track.refine_iters, z.video.num_frames) == (300, 30, 1000, 51)
    assert z.track.lambda_center == 1e-3 and z.track.ssim_lambda == 0.1 and z.camera.width == 512
    f = motion_preset("fast", {"track": {"iters": 7}, "video": {"num_frames": None, "every": 3}})
    assert f.track.iters == 7 and f.track.camera_downscale == 2 and f.video.every == 3 and f.camera.width == 256
    # a resolved config.yaml reads back to the same settings
    path = tmp_path / "config.yaml"
    path.write_text(dump_motion_config(f, {"scene": {"path": "demo:room"}, "prompt": "p", "init": None}))
    assert resolve_motion_config("zerohsi", path) == f
    # changing the generator's backend takes the new backend's defaults
    cog = motion_preset("fast", {"video": {"generator": {"backend": "cogvideox"}}})
    assert cog.video.generator.model_id == "THUDM/CogVideoX-5b-I2V" and cog.video.generator.num_frames == 49
    with pytest.raises(InputError, match=r"x\.yaml: config field 'trak' does not exist"):
        motion_preset("fast").with_overrides({"trak": {}}, source="x.yaml")
    with pytest.raises(InputError, match=r"config field 'video' is .*expected at most one of num_frames, every"):
        motion_preset("fast", {"video": {"every": 2}})
    with pytest.raises(InputError, match=r"config field 'human\.spacing' is -1\.0; expected a positive number"):
        motion_preset("fast", {"human": {"spacing": -1.0}})
    with pytest.raises(InputError, match=r"unknown motion preset 'slow'"):
        motion_preset("slow")
    assert isinstance(MotionConfig().track.iters, int)


# ------------------------------------------------------------------------------------------------
# init.yaml + command line


def test_init_merges_with_the_command_line(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"")
    (tmp_path / "b.mp4").write_bytes(b"")
    doc = {"scene": "scenes/room.glb", "human": {"at": "sit_bench", "facing": 90},
           "clips": [{"prompt": "walk", "video": "clips/a.mp4", "seed": 4}, {"prompt": "sit"}]}
    init = init_from_mapping(doc, tmp_path / "init.yaml")
    assert init.scene == str(tmp_path / "scenes/room.glb") and init.human.facing == 90.0
    assert init.clips[0].video == str(tmp_path / "clips/a.mp4") and init.clips[0].seed == 4
    t = build_motion_task(init, scene="demo:room", videos=[], generate=False)
    assert t.scene == "demo:room" and [c.prompt for c in t.clips] == ["walk", "sit"] and t.prompt == "walk; sit"
    # --video fills the clips in order; same number of prompts keeps the clips' own videos and seeds
    t = build_motion_task(init, scene="demo:room", prompts=["go", "rest"], videos=[str(tmp_path / "b.mp4")])
    assert [(c.prompt, c.video, c.seed) for c in t.clips] == [("go", str(tmp_path / "b.mp4"), 4), ("rest", None, None)]
    # a different number of prompts defines new clips
    t = build_motion_task(init, scene="demo:room", prompts=["only one"])
    assert [(c.prompt, c.video) for c in t.clips] == [("only one", None)]
    # --generate drops the clips' videos
    t = build_motion_task(init, scene="demo:room", generate=True)
    assert t.generate and all(c.video is None for c in t.clips)
    d = t.inputs_dict()
    assert d["scene"] == {"path": "demo:room", "up_axis": "z", "scale": 1.0} and len(d["clips"]) == 2


# ------------------------------------------------------------------------------------------------
# clips


def test_first_frame_difference_and_person_check():
    from inhabit.pipeline.motion_clip import check_person, first_frame_difference, mask_iou

    a = np.full((40, 60, 3), 100, np.uint8)
    assert first_frame_difference(a + 10, a) == pytest.approx(10.0)
    assert first_frame_difference(a, a) == 0.0
    m1 = np.zeros((4, 4), bool)
    m1[:2] = True
    m2 = np.zeros((4, 4), bool)
    m2[1:3] = True
    assert mask_iou(m1, m2) == pytest.approx(4 / 12) and mask_iou(m1 & False, m2 & False) == 0.0
    ok = [{"keypoints_accepted": False, "mask_iou": 0.25}]
    check_person(ok, "v.mp4")
    with pytest.raises(InputError, match=r"no person found in the first frames of v\.mp4 \(checked 2 frames"):
        check_person([{"keypoints_accepted": False, "mask_iou": 0.1}] * 2, "v.mp4")


def test_user_clip_is_subsampled_sized_and_noted(tmp_path):
    from inhabit.imagine.video import write_frame_folder
    from inhabit.pipeline.motion_clip import content_hash, load_user_clip
    from inhabit.pipeline.motion_config import VideoJobConfig

    frame0 = np.zeros((32, 32, 3), np.uint8)
    frame0[:, :16] = 200
    # a 2:1 clip of 9 frames whose centre square is frame0: cropping recovers it exactly
    src = np.zeros((9, 32, 64, 3), np.uint8)
    src[:, :, 16:48] = frame0
    write_frame_folder(tmp_path / "clip", src, fps=9.0)
    clip = load_user_clip(tmp_path / "clip", frame0, VideoJobConfig(num_frames=3))
    assert clip.frames.shape == (3, 32, 32, 3) and clip.fps == pytest.approx(3.0)
    assert clip.meta["indices"] == [0, 3, 6] and clip.meta["source_size"] == [32, 64]
    assert clip.meta["resize"]["offset"] == [-16.0, 0.0] and clip.meta["first_frame_mae"] < 1.0
    assert any("aspect 2.000" in n and "centre-cropped" in n for n in clip.meta["notes"])
    # a clip that does not start from the render gets a warning note
    other = load_user_clip(tmp_path / "clip", 255 - frame0, VideoJobConfig(num_frames=3))
    assert other.meta["first_frame_mae"] > 100 and any("differs from frame0.png" in n for n in other.meta["notes"])
    h = content_hash(tmp_path / "clip")
    (tmp_path / "clip" / "fps.txt").write_text("10.0\n")
    assert content_hash(tmp_path / "clip") != h
    with pytest.raises(InputError, match=r"has 1 frame after sub-sampling; a motion needs at least 2"):
        load_user_clip(tmp_path / "clip", frame0, VideoJobConfig(num_frames=None, every=9))


# ------------------------------------------------------------------------------------------------
# assets


def _box_glb(path, size=(0.2, 0.3, 0.1)):
    import trimesh

    trimesh.creation.box(size).export(path)
    return path


def test_object_pose_anchor_and_loading(tmp_path):
    from inhabit.pipeline.motion_assets import load_motion_object, object_pose_from_spec

    pts = np.array([[-0.1, -0.15, -0.05], [0.1, 0.15, 0.05]])
    T = object_pose_from_spec(ObjectInit("x", position=(1.0, 2.0, 0.75), anchor="bottom", yaw_deg=90.0), pts)
    np.testing.assert_allclose(T[:3, :3], [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(T[:3, :3] @ [0.0, 0.0, -0.05] + T[:3, 3], [1.0, 2.0, 0.75], atol=1e-12)  # bottom centre
    T = object_pose_from_spec(ObjectInit("x", position=(1.0, 2.0, 0.75), anchor="origin"), pts)
    np.testing.assert_allclose(T[:3, 3], [1.0, 2.0, 0.75])
    obj = load_motion_object(ObjectInit(str(_box_glb(tmp_path / "box.glb")), position=(0.0, 0.0, 0.45)))
    assert obj.has_mesh and obj.vertices.shape == (8, 3) and obj.faces.shape == (12, 3) and len(obj.gaussians) > 50
    world = obj.world_vertices(obj.pose)[0]
    assert world[:, 2].min() == pytest.approx(0.45) and np.abs(world[:, :2].mean(0)).max() < 1e-9
    (tmp_path / "junk.glb").write_bytes(b"nope")
    with pytest.raises(InputError, match=r"object\.path: scene file .*junk\.glb could not be read"):
        load_motion_object(ObjectInit(str(tmp_path / "junk.glb"), position=(0, 0, 0)))


def _gaussian_room_ply(tmp_path):
    """The mini scene (floor + bench) as a 3DGS .ply."""
    from inhabit.scene.gaussians_mesh import gaussians_from_mesh
    from inhabit.scene.gaussians_ply import write_gaussians_ply

    return write_gaussians_ply(tmp_path / "room.ply", gaussians_from_mesh(make_mini_scene(), spacing=0.05))


def test_gaussian_scene_points_and_sdf(tmp_path):
    from inhabit.pipeline.motion_assets import load_motion_scene, motion_scene_sdf, resolve_point
    from inhabit.pipeline.motion_config import AssetConfig

    sc = load_motion_scene(str(_gaussian_room_ply(tmp_path)))
    assert sc.kind == "gaussians" and sc.mesh is None and len(sc.gaussians) > 1000
    np.testing.assert_allclose(sc.bounds[1, 2], 0.45, atol=0.02)
    p = resolve_point("0.5, -1, 0", sc, "human.at")
    np.testing.assert_allclose(p, [0.5, -1.0, 0.0])
    with pytest.raises(InputError, match=r"human\.at \(9, 0, 0\) lies outside scene 'room'"):
        resolve_point("9,0,0", sc, "human.at")
    with pytest.raises(InputError, match=r"human\.at is 'sofa': neither three numbers x, y, z"):
        resolve_point("sofa", sc, "human.at")
    sdf = motion_scene_sdf(sc, np.array([[0.0, -0.8, 0.9], [0.0, -0.8, 1.6]]), AssetConfig(sdf_voxel=0.04,
                                                                                           sdf_extent=3.0))
    d = sdf(torch.tensor([[0.0, 0.0, 0.225], [0.0, -0.8, 0.9], [0.0, 0.0, 0.75]]))
    assert d[0] < -0.05 and d[1] > 0.3 and d[2] == pytest.approx(0.30, abs=0.06)  # inside the bench / free / above it


def test_initial_body_from_a_pose_result_and_a_named_pose(tmp_path, anny):
    from inhabit.body.poses import heading_of, make_pose, place_body
    from inhabit.export.results import save_result
    from inhabit.pipeline.motion_assets import initial_body, load_motion_scene
    from inhabit.pipeline.motion_task import HumanInit
    from inhabit.rotations import rotation6d_to_rotmat

    sc = load_motion_scene("demo:room")
    params = place_body(anny, make_pose(anny, "sitting"), sc.points["sit_bench"], facing=(0, 1, 0), pose_name="sitting")
    with torch.no_grad():
        save_result(tmp_path / "result.npz", anny(params), params=params, body_model=anny)
    got, info = initial_body(HumanInit(result=str(tmp_path)), anny, sc)  # a run folder works too
    torch.testing.assert_close(got.transl, params.transl)
    torch.testing.assert_close(got.body_pose, params.body_pose)
    assert info["source"] == "result"
    got, info = initial_body(HumanInit(pose="standing", at="stand_table"), anny, sc)
    # default facing: towards the scene's centre
    h = heading_of(rotation6d_to_rotmat(got.global_orient))[0].numpy()
    want = (sc.center - sc.points["stand_table"])[:2]
    assert np.dot(h[:2], want / np.linalg.norm(want)) > 0.999
    with torch.no_grad():
        feet = anny(got).vertices[0, :, 2].min().item()
    assert feet == pytest.approx(float(sc.points["stand_table"][2]), abs=1e-4)
    got, _ = initial_body(HumanInit(pose="standing", at="0,0,0", facing=90.0), anny, sc)
    h = heading_of(rotation6d_to_rotmat(got.global_orient))[0].numpy()
    np.testing.assert_allclose(h[:2], [math.sin(math.radians(90)), -math.cos(math.radians(90))], atol=1e-5)


# ------------------------------------------------------------------------------------------------
# masks


def test_pixel_motion_is_the_image_shift_of_a_point_ahead():
    from inhabit.camera.pinhole import Camera
    from inhabit.pipeline.motion_masks import pixel_motion

    cam = Camera.look_at([0.0, -3.0, 1.0], [0.0, 0.0, 1.0], 100, 100, 60.0)
    T_b = cam.T_cam_world.copy()
    T_b[0, 3] += 0.03  # the world moves 3 cm along camera x: a point 3 m ahead shifts f * 0.03 / 3 px
    assert pixel_motion(cam, cam.T_cam_world, T_b, depth=3.0) == pytest.approx(cam.K[0, 0] * 0.01)


def test_segment_clip_with_another_segmenter_keeps_the_render_masks_of_frame_0():
    from inhabit.camera.pinhole import Camera
    from inhabit.perceive.segment import FrameMasks
    from inhabit.pipeline.motion_config import SegmentConfig
    from inhabit.pipeline.motion_masks import segment_clip

    T, H, W = 3, 8, 10

    class Seg:
        def __init__(self):
            self.prompts = None

        def segment(self, frames, prompts, backgrounds=None):
            self.prompts = prompts
            assert backgrounds.shape == (H, W, 3)
            h = np.zeros((T, H, W), bool)
            h[:, 2:4, 2:4] = True
            h[2, 5:7, 5:7] = True
            o = np.ones((T, H, W), bool)
            return FrameMasks(h, o)

    class Renderer:
        def static(self, camera, T_cam_world=None):
            return np.zeros((H, W, 3), np.uint8)

    human0 = np.zeros((H, W), bool)
    human0[0, 0] = True
    seg = Seg()
    cam = Camera.look_at([0, -3, 1], [0, 0, 1], W, H)
    m = segment_clip(np.zeros((T, H, W, 3), np.uint8), human0, None, cam, Renderer(), seg, SegmentConfig(),
                     has_object=False)
    assert m.method == "Seg" and np.array_equal(m.human[0], human0) and not m.object.any()
    assert seg.prompts.human_points.shape == (1, 2) and seg.prompts.object_mask is None
    # Eq. 8: static = not (any dynamic so far)
    assert not m.static[0, 0, 0] and m.static[0, 2, 2] and not m.static[1, 2, 2] and not m.static[2, 0, 0]
    assert m.static[1, 5, 5] and not m.static[2, 5, 5]
    np.testing.assert_allclose(m.T_world_cam, np.repeat(cam.T_world_cam[None], T, 0))


# ------------------------------------------------------------------------------------------------
# the initial stage on a 3DGS scene


def test_initial_frame_on_a_gaussian_scene(tmp_path, anny):
    """A 3DGS .ply scene: camera selection with the splatter's depth, the first frame rendered, the
    run stopping with the missing-video sentence."""
    from inhabit.io import read_image
    from inhabit.pipeline.motion import MotionComponents, run_motion

    ply = _gaussian_room_ply(tmp_path)
    init = init_from_mapping({"scene": str(ply), "human": {"at": [0.0, -0.8, 0.0], "facing": [0, -1, 0]},
                              "prompt": "waving", "frames": 10, "seed": 5})
    cfg = motion_preset("fast", {"device": "cpu", "human": {"spacing": 0.03},
                                 "camera": {"width": 64, "height": 64, "test_size": 32, "radii": [2.5],
                                            "elevations_deg": [10.0]}})
    with pytest.raises(InputError, match=r"no video for the motion"):
        run_motion(build_motion_task(init), cfg, tmp_path / "run", MotionComponents(body_model=anny))
    import yaml

    resolved = yaml.safe_load((tmp_path / "run/config.yaml").read_text())
    assert resolved["video"]["num_frames"] == 10 and resolved["seed"] == 5  # the init file's clip length and seed
    assert resolved["inputs"]["scene"]["path"] == str(ply) and resolved["prompt"] == "waving"
    info = json.loads((tmp_path / "run/clip0/init/init.json").read_text())
    assert info["camera"]["n_visible"] >= 15 and abs(info["camera"]["azimuth_deg"]) >= 25
    f0 = read_image(tmp_path / "run/frame0.png")
    human = read_image(tmp_path / "run/clip0/init/human_mask.png")[..., 0] > 127
    assert f0.shape == (64, 64, 3) and 0.02 < human.mean() < 0.5
    assert np.abs(f0[human].astype(int) - read_image(tmp_path / "run/clip0/init/background.png")[human]).mean() > 20
