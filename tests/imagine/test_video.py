"""Video input (files, frame folders), sub-sampling, resizing, writing, and the diffusers I2V backends."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inhabit.errors import InputError, MissingWeightsError
from inhabit.imagine.video import (
    DEFAULT_WAN_I2V,
    DiffusersVideoGenerator,
    VideoClip,
    VideoConfig,
    VideoFile,
    VideoGenerator,
    doctor_status,
    generation_size,
    read_frame_folder,
    read_video,
    resize_frames,
    resize_transform,
    subsample,
    subsample_indices,
    write_frame_folder,
    write_video,
)


def _moving_frames(t: int, h: int, w: int) -> np.ndarray:
    """A smooth gradient scrolling right: lossy codecs keep it well."""
    y, x = np.mgrid[0:h, 0:w]
    frames = []
    for k in range(t):
        r = 128 + 100 * np.sin((x + 2 * k) / 6.0)
        g = 128 + 100 * np.cos(y / 5.0)
        b = np.full_like(r, 40.0 + 10 * k % 200)
        frames.append(np.stack([r, g, b], -1))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def test_subsample_rules_zerohsi_153_to_51():
    idx, fps = subsample_indices(153, 30.0, every=3)
    assert len(idx) == 51 and idx[0] == 0 and idx[-1] == 150 and fps == 10.0
    idx2, fps2 = subsample_indices(153, 30.0, num_frames=51)
    assert np.array_equal(idx, idx2) and fps2 == pytest.approx(10.0)
    idx3, fps3 = subsample_indices(153, 30.0, target_fps=10.0)
    assert np.array_equal(idx, idx3) and fps3 == 10.0
    # non-integer ratio: 30 → 12 fps keeps frames ⌊2.5·j⌋
    idx4, _ = subsample_indices(153, 30.0, target_fps=12.0)
    assert idx4[:5].tolist() == [0, 2, 5, 7, 10] and len(idx4) == 61 and idx4[-1] <= 152
    # nothing to drop
    assert len(subsample_indices(10, 8.0, num_frames=20)[0]) == 10
    assert subsample_indices(10, 8.0, target_fps=30.0)[1] == 8.0
    # counts that do not divide spread evenly from frame 0
    assert subsample_indices(10, 10.0, num_frames=4)[0].tolist() == [0, 2, 5, 7]
    with pytest.raises(InputError, match="one of every, target_fps or num_frames"):
        subsample_indices(10, 8.0, every=2, num_frames=3)
    with pytest.raises(InputError, match="every=0; expected a positive integer"):
        subsample_indices(10, 8.0, every=0)


def test_subsample_composes_indices():
    clip = VideoClip(np.zeros((12, 4, 4, 3), np.uint8), 24.0)
    once = subsample(clip, every=2)
    twice = subsample(once, every=3)
    assert twice.meta["indices"] == [0, 6] and twice.fps == 4.0


def test_resize_transform_hand_cases():
    crop = resize_transform((100, 200), (50, 50), "crop")
    assert crop["scale"] == (0.5, 0.5) and crop["offset"] == (-25.0, 0.0)
    fit = resize_transform((100, 200), (50, 50), "fit")
    assert fit["scale"] == (0.25, 0.25) and fit["offset"] == (0.0, 12.5)
    stretch = resize_transform((100, 200), (50, 50), "stretch")
    assert stretch["scale"] == (0.25, 0.5) and stretch["offset"] == (0.0, 0.0)
    with pytest.raises(InputError, match="resize mode 'zoom'"):
        resize_transform((1, 1), (1, 1), "zoom")


def test_resize_frames_modes():
    img = np.zeros((1, 40, 80, 3), np.uint8)
    img[0, :, :40] = (255, 0, 0)  # left half red
    img[0, :, 40:] = (0, 0, 255)  # right half blue
    crop, _ = resize_frames(img, (40, 40), "crop")
    # the centre 40 columns of the source: 20 red, 20 blue
    assert tuple(crop[0, 20, 5]) == (255, 0, 0) and tuple(crop[0, 20, 35]) == (0, 0, 255)
    fit, _ = resize_frames(img, (40, 40), "fit")
    assert fit[0, :9].max() == 0 and fit[0, 31:].max() == 0  # letterbox bars
    assert tuple(fit[0, 20, 5]) == (255, 0, 0) and tuple(fit[0, 20, 35]) == (0, 0, 255)
    up, tr = resize_frames(np.full((2, 5, 7, 3), 77, np.uint8), (10, 14), "stretch")
    assert up.shape == (2, 10, 14, 3) and tr["scale"] == (2.0, 2.0) and np.all(up == 77)
    same, _ = resize_frames(img, (40, 80), "crop")
    assert np.array_equal(same, img)


def test_write_and_read_mp4(tmp_path):
    frames = _moving_frames(10, 32, 48)
    path = write_video(tmp_path / "clip.mp4", frames, fps=12)
    clip = read_video(path)
    assert len(clip) == 10 and clip.fps == pytest.approx(12.0) and clip.size == (32, 48)
    assert np.abs(clip.frames.astype(float) - frames).mean() < 6.0  # lossy H.264
    odd = read_video(write_video(tmp_path / "odd.mp4", frames[:, :31, :47], fps=5))
    assert odd.size == (32, 48)  # padded to even sides for yuv420p
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_frame_folder_reading(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    from inhabit.io import write_image

    for k in (1, 2, 10):  # natural order: f1, f2, f10
        write_image(folder / f"f{k}.png", np.full((6, 8, 3), k * 20, np.uint8))
    with pytest.raises(InputError, match=r"has no frame rate: pass fps=\.\.\. or write it into .*fps\.txt"):
        read_frame_folder(folder)
    clip = read_frame_folder(folder, fps=5)
    assert [int(f[0, 0, 0]) for f in clip.frames] == [20, 40, 200] and clip.fps == 5.0
    (folder / "meta.json").write_text(json.dumps({"fps": 24}))
    assert read_video(folder).fps == 24.0
    (folder / "fps.txt").write_text("12.5\n")
    assert read_video(folder).fps == 12.5
    (folder / "fps.txt").write_text("fast\n")
    with pytest.raises(InputError, match=r"fps\.txt should hold one number"):
        read_video(folder)
    (folder / "fps.txt").unlink()
    write_image(folder / "f11.png", np.zeros((7, 8, 3), np.uint8))
    with pytest.raises(InputError, match=r"frame .*f11\.png is 8x7 but f1\.png is 8x6; all frames must share one size"):
        read_video(folder)


def test_frame_folder_roundtrip_and_errors(tmp_path):
    frames = _moving_frames(4, 8, 10)
    back = read_video(write_frame_folder(tmp_path / "out", frames, fps=7.5))
    assert np.array_equal(back.frames, frames) and back.fps == 7.5
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"frame folder .*empty holds no images"):
        read_video(tmp_path / "empty")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video")
    with pytest.raises(InputError, match=r"video file .*bad\.mp4 (could not be|has zero frames)"):
        read_video(bad)
    with pytest.raises(InputError, match=r"video .*missing\.mp4 does not exist"):
        read_video(tmp_path / "missing.mp4")
    with pytest.raises(InputError, match="has zero frames"):
        VideoClip(np.zeros((0, 4, 4, 3), np.uint8), 10.0)
    with pytest.raises(InputError, match=r"expected \(T, H, W, 3\) uint8"):
        VideoClip(np.zeros((2, 4, 4, 3), np.float32), 10.0)


def test_video_file_generator_153_to_51(tmp_path):
    frames = _moving_frames(153, 24, 32)
    path = write_video(tmp_path / "kling.mp4", frames, fps=30)
    gen = VideoFile(path, every=3, resize="crop")
    assert isinstance(gen, VideoGenerator)
    first = resize_frames(frames[:1], (48, 48), "crop")[0][0]
    clip = gen.generate(first, "watering flowers", seed=0)
    assert clip.frames.shape == (51, 48, 48, 3) and clip.fps == pytest.approx(10.0)
    assert clip.meta["indices"][:3] == [0, 3, 6] and clip.meta["source_frames"] == 153
    assert clip.meta["resize"]["mode"] == "crop" and clip.meta["first_frame_mae"] < 8.0
    with pytest.raises(InputError, match=r"first_frame is float64 \(48, 48, 3\)"):
        gen.generate(first / 255.0, "x")
    with pytest.raises(InputError, match="one of every, target_fps or num_frames"):
        VideoFile(path, every=3, num_frames=51)


def test_generation_size_keeps_aspect():
    assert generation_size((512, 512), 480 * 832, 16) == (624, 624)
    h, w = generation_size((480, 832), 480 * 832, 16)
    assert (h, w) == (480, 832)
    h, w = generation_size((600, 800), 480 * 832, 16)
    assert h % 16 == 0 and w % 16 == 0 and h * w <= 480 * 832 and abs(h / w - 0.75) < 0.03


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory):
    from inhabit.imagine.testing import save_tiny_video_pipeline

    return save_tiny_video_pipeline(tmp_path_factory.mktemp("wan") / "pipe", "wan")


def test_wan_tiny_generates_at_render_size(wan_dir):
    cfg = VideoConfig(backend="wan", model_id=str(wan_dir), num_frames=9, num_inference_steps=2, max_area=32 * 32,
                      device="cpu", every=2)
    gen = DiffusersVideoGenerator(cfg)
    assert isinstance(gen, VideoGenerator)
    first = np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    a = gen.generate(first, "a person dancing", seed=3)
    b = gen.generate(first, "a person dancing", seed=3)
    c = gen.generate(first, "a person dancing", seed=4)
    assert a.frames.shape == (5, 48, 40, 3) and a.fps == 8.0  # 9 frames at 16 fps, every 2nd
    assert a.meta["generation_size"] == (32, 16) and a.meta["indices"] == [0, 2, 4, 6, 8]
    assert np.array_equal(a.frames, b.frames) and not np.array_equal(a.frames, c.frames)
    with pytest.raises(InputError, match="video prompt is empty"):
        gen.generate(first, "  ")


def test_cogvideox_tiny(tmp_path):
    from inhabit.imagine.testing import save_tiny_video_pipeline

    folder = save_tiny_video_pipeline(tmp_path / "cog", "cogvideox")
    gen = DiffusersVideoGenerator(VideoConfig(backend="cogvideox", model_id=str(folder), num_frames=9,
                                              num_inference_steps=2, device="cpu"))
    first = np.full((24, 24, 3), 128, np.uint8)
    clip = gen.generate(first, "a person dancing", seed=1)
    # learned positional embeddings fix the generation size (16×16 for the tiny transformer)
    assert clip.meta["generation_size"] == (16, 16)
    assert clip.frames.shape[1:] == (24, 24, 3) and len(clip) >= 8 and clip.fps == 8.0
    with pytest.raises(InputError, match=r"backend is 'wan' but .* holds a CogVideoXImageToVideoPipeline"):
        DiffusersVideoGenerator(VideoConfig(backend="wan", model_id=str(folder), device="cpu"))


def test_video_config_and_missing_model():
    cfg = VideoConfig()
    assert (cfg.model_id, cfg.num_frames, cfg.fps, cfg.guidance_scale) == (DEFAULT_WAN_I2V, 81, 16.0, 5.0)
    assert VideoConfig(backend="cogvideox").num_frames == 49
    with pytest.raises(InputError, match=r"VideoConfig\.backend is 'kling'"):
        VideoConfig(backend="kling")
    with pytest.raises(MissingWeightsError, match=r"image-to-video model .*'nobody/no-such-i2v' is not in the local"):
        DiffusersVideoGenerator(VideoConfig(model_id="nobody/no-such-i2v", device="cpu"))
    rows = doctor_status()
    assert rows[0].model_id == DEFAULT_WAN_I2V and all(r.optional for r in rows)
