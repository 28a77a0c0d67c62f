"""Masks and segmentation: pure functions against hand-computed cases, the default segmenter on a
synthetic clip, and the SAM2 adapter's code path with a stand-in ``sam2`` package."""

import sys
import types

import numpy as np
import pytest

from inhabit.errors import InputError, MissingWeightsError
from inhabit.perceive.segment import (
    BackgroundDifferenceSegmenter,
    FrameMasks,
    PersonMasker,
    Sam2Segmenter,
    Segmenter,
    SegmentPrompts,
    clean_mask,
    color_difference,
    doctor_status,
    farthest_point_sampling,
    keep_components_touching,
    person_mask,
    robust_threshold,
    static_background_masks,
)


def test_color_difference_is_max_abs_channel():
    bg = np.full((5, 6, 3), 100, np.uint8)
    fr = bg.copy()
    fr[2, 3] = (110, 70, 105)
    d = color_difference(fr, bg, median_px=0)
    assert d.shape == (5, 6) and d[2, 3] == 30.0
    d[2, 3] = 0
    assert not d.any()
    # the median filter removes an isolated pixel but keeps a step edge in place
    assert not color_difference(fr, bg).any()
    fr[:, 3:] = 200
    np.testing.assert_array_equal(color_difference(fr, bg) > 0, np.arange(6)[None].repeat(5, 0) >= 3)
    with pytest.raises(InputError, match=r"frame \(5, 6, 3\) and background \(4, 6, 3\) must be"):
        color_difference(fr, bg[:4])


def test_robust_threshold_hand_computed():
    flat = np.zeros(100)
    assert robust_threshold(flat) == 12.0  # MAD 0 -> floor
    ramp = np.arange(100.0)  # median 49.5, MAD 25
    assert robust_threshold(ramp, k=1.0, floor=0.0, ceiling=1000.0) == pytest.approx(49.5 + 1.4826 * 25)
    assert robust_threshold(ramp) == 60.0  # clamped to the ceiling


def test_clean_mask_removes_speckles_small_blobs_and_fills_holes():
    m = np.zeros((60, 60), bool)
    m[10:30, 10:30] = True
    m[18:21, 18:21] = False  # a 3x3 hole
    m[50, 50] = True  # speckle
    m[40:45, 40:45] = True  # 25 px blob < min_area
    out = clean_mask(m, open_px=1, close_px=0, min_area=64)
    # opening by the radius-1 disc (a 3x3 cross) trims exactly the 4 corner pixels of the square
    assert out[19, 19] and out[11:29, 10:30].all() and out[10:30, 11:29].all()
    assert not out[10, 10] and not out[29, 29] and not out[10, 29] and not out[29, 10]
    assert not out[50, 50] and not out[40:45, 40:45].any()
    assert out.sum() == 400 - 4


def test_keep_components_touching():
    m = np.zeros((10, 10), bool)
    m[1:3, 1:3] = True
    m[6:9, 6:9] = True
    seeds = np.zeros_like(m)
    seeds[7, 7] = True
    out = keep_components_touching(m, seeds)
    assert out[6:9, 6:9].all() and out.sum() == 9


def test_farthest_point_sampling_hand_computed():
    m = np.zeros((20, 20), bool)
    m[5:8, 2:13] = True  # rows 5..7, columns 2..12
    pts = farthest_point_sampling(m, 3)
    # 1st: deepest pixel (distance 2 to the boundary), first in raster order -> row 6, column 3
    # 2nd: farthest from it -> row 5, column 12 (squared distance 82, first of the tie with row 7)
    # 3rd: largest min-distance to both -> row 7, column 8 (min(26, 20) = 20)
    np.testing.assert_array_equal(pts, [[3.5, 6.5], [12.5, 5.5], [8.5, 7.5]])
    assert farthest_point_sampling(np.zeros((4, 4), bool), 3).shape == (0, 2)
    single = np.zeros((4, 4), bool)
    single[1, 2] = True
    np.testing.assert_array_equal(farthest_point_sampling(single, 5), [[2.5, 1.5]])


def test_farthest_point_sampling_erosion_and_fallback():
    m = np.zeros((40, 40), bool)
    m[5:35, 5:35] = True
    pts = farthest_point_sampling(m, 6, erode_px=4)
    ij = np.floor(pts[:, ::-1]).astype(int)
    assert len(pts) == 6 and ij.min() >= 9 and ij.max() <= 30  # at least 4 px inside the square
    thin = np.zeros((20, 20), bool)
    thin[10, 2:18] = True  # erosion would empty it: falls back to the line itself
    pts = farthest_point_sampling(thin, 2, erode_px=3)
    assert set(pts[:, 1]) == {10.5} and len(pts) == 2


def test_static_background_masks_accumulate():
    dyn = np.array([[[1, 0, 0]], [[0, 1, 0]], [[0, 0, 0]]], bool)
    static = static_background_masks(dyn)
    np.testing.assert_array_equal(static[:, 0], [[0, 1, 1], [0, 0, 1], [0, 0, 1]])
    fm = FrameMasks(dyn, np.zeros_like(dyn))
    np.testing.assert_array_equal(fm.static_background(), static)
    with pytest.raises(ValueError, match="must both be"):
        FrameMasks(dyn, dyn[:2])


# --- default segmenter on a synthetic clip ---------------------------------------------------------

H, W, T = 96, 128, 4


def _background():
    yy, xx = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(1)
    bg = np.stack([xx * 1.5, yy * 2.0, 80 + 0 * xx], -1) + rng.normal(0, 2, (H, W, 3))
    return np.clip(bg, 0, 255).astype(np.uint8)


def _clip():
    """A 'person' rectangle that shifts right and an 'object' square carried by it, plus a
    distractor change far from both at frames >= 2 (e.g. generated clutter)."""
    bg = _background()
    frames, humans, objects = [], [], []
    rng = np.random.default_rng(2)
    for t in range(T):
        f = bg.copy()
        h = np.zeros((H, W), bool)
        h[20:80, 30 + 3 * t:50 + 3 * t] = True
        o = np.zeros((H, W), bool)
        o[40:52, 52 + 3 * t:64 + 3 * t] = True
        f[h] = np.array([200, 60, 60]) + rng.normal(0, 3, (h.sum(), 3))
        f[o] = (40, 200, 40)
        if t >= 2:
            f[5:15, 100:115] = (250, 250, 250)
        frames.append(f)
        humans.append(h)
        objects.append(o)
    return bg, frames, np.stack(humans), np.stack(objects)


class _RedIsPerson:
    """Stands in for the person masker: reddish pixels are 'person' (probability 0.9)."""

    def mask(self, image):
        im = image.astype(int)
        return np.where((im[..., 0] > 150) & (im[..., 1] < 120), 0.9, 0.02).astype(np.float32)


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_background_difference_segmenter_splits_human_object_and_drops_distractor():
    bg, frames, humans, objects = _clip()
    seg = BackgroundDifferenceSegmenter(masker=_RedIsPerson())
    assert isinstance(seg, Segmenter)
    prompts = SegmentPrompts.from_masks(humans[0], objects[0], num_points=3)
    out = seg.segment(frames, prompts, backgrounds=bg)
    assert out.human.shape == (T, H, W)
    for t in range(T):
        assert _iou(out.human[t], humans[t]) > 0.9, t
        assert _iou(out.object[t], objects[t]) > 0.85, t
    assert not out.dynamic[:, 5:15, 100:115].any()  # distractor is neither human nor object
    # without an object prompt, no object is reported
    out2 = seg.segment(frames, SegmentPrompts.from_masks(humans[0], None), backgrounds=[bg] * T)
    assert not out2.object.any() and _iou(out2.human[3], humans[3]) > 0.9


def test_background_difference_segmenter_input_errors():
    bg, frames, humans, objects = _clip()
    seg = BackgroundDifferenceSegmenter(masker=_RedIsPerson())
    p = SegmentPrompts.from_masks(humans[0], objects[0])
    with pytest.raises(InputError, match="needs backgrounds: the static scene rendered"):
        seg.segment(frames, p)
    with pytest.raises(InputError, match="backgrounds has 2 images but the clip has 4 frames"):
        seg.segment(frames, p, backgrounds=[bg, bg])
    with pytest.raises(InputError, match=r"frames\[1\] has shape \(96, 64, 3\), but frames\[0\] has"):
        seg.segment([frames[0], frames[1][:, :64]], p, backgrounds=bg)
    with pytest.raises(InputError, match=r"prompts.human_mask has shape \(5, 5\); expected the frames' size"):
        seg.segment(frames, SegmentPrompts(human_mask=np.zeros((5, 5), bool)), backgrounds=bg)
    with pytest.raises(InputError, match="the clip has no frames"):
        seg.segment([], p, backgrounds=bg)


# --- person masks (mediapipe) -------------------------------------------------------------------------


def test_person_mask_on_an_empty_image_is_empty():
    m = person_mask(np.zeros((64, 80, 3), np.uint8))
    assert m.shape == (64, 80) and m.dtype == np.float32
    assert 0.0 <= m.min() and m.max() < 0.5
    with pytest.raises(InputError, match="PersonMasker model must be"):
        PersonMasker("sam")
    with pytest.raises(InputError, match=r"images\[0\] has shape \(4, 4, 4\)"):
        PersonMasker().masks([np.zeros((4, 4, 4), np.uint8)])


# --- SAM2 adapter with a stand-in package ----------------------------------------------------------


class _FakePredictor:
    """Implements the part of sam2's SAM2VideoPredictor API that the adapter uses. Its 'masks' are
    discs of radius 8 around the mean positive prompt point, moving 2 px right per frame."""

    def __init__(self):
        self.calls = []

    def init_state(self, video_path):
        from pathlib import Path

        from PIL import Image

        files = sorted(Path(video_path).glob("*.jpg"))
        self.frames = [np.asarray(Image.open(f)) for f in files]
        self.names = [f.name for f in files]
        return {"n": len(files)}

    def add_new_points_or_box(self, inference_state, frame_idx, obj_id, points, labels):
        self.calls.append((frame_idx, obj_id, np.asarray(points).copy(), np.asarray(labels).copy()))
        return frame_idx, [c[1] for c in self.calls], None

    def propagate_in_video(self, state):
        import torch

        h, w = self.frames[0].shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        for t in range(state["n"]):
            logits = []
            for _, _, pts, labels in self.calls:
                cx, cy = pts[labels == 1].mean(0) + 0.5 + (2 * t, 0)
                logits.append(np.where((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= 64, 5.0, -5.0))
            yield t, [c[1] for c in self.calls], torch.tensor(np.stack(logits)[:, None], dtype=torch.float32)


@pytest.fixture
def fake_sam2(monkeypatch, tmp_path):
    pred = _FakePredictor()
    built = {}

    def build_sam2_video_predictor(config_file, ckpt_path, device="cuda"):
        built.update(config=config_file, ckpt=ckpt_path, device=device)
        return pred

    pkg = types.ModuleType("sam2")
    mod = types.ModuleType("sam2.build_sam")
    mod.build_sam2_video_predictor = build_sam2_video_predictor
    pkg.build_sam = mod
    monkeypatch.setitem(sys.modules, "sam2", pkg)
    monkeypatch.setitem(sys.modules, "sam2.build_sam", mod)
    ckpt = tmp_path / "tiny.pt"
    ckpt.write_bytes(b"not read by the stand-in")
    return pred, built, ckpt


def test_sam2_adapter_prompts_and_assembles_masks(fake_sam2):
    pred, built, ckpt = fake_sam2
    _, frames, humans, objects = _clip()
    prompts = SegmentPrompts.from_masks(humans[0], objects[0], num_points=3, erode_px=2)
    seg = Sam2Segmenter(ckpt, config="configs/tiny.yaml", device="cpu")
    assert isinstance(seg, Segmenter)
    out = seg.segment(frames, prompts)
    assert built == {"config": "configs/tiny.yaml", "ckpt": str(ckpt), "device": "cpu"}
    assert pred.names == ["00000.jpg", "00001.jpg", "00002.jpg", "00003.jpg"]
    assert pred.frames[2].shape == (H, W, 3)
    # human: own points positive, object points negative, shifted to SAM's pixel-index convention
    (f0, id0, p0, l0), (f1, id1, p1, l1) = pred.calls
    assert (f0, id0, f1, id1) == (0, 1, 0, 2)
    np.testing.assert_allclose(p0, np.concatenate([prompts.human_points, prompts.object_points]) - 0.5)
    np.testing.assert_array_equal(l0, [1, 1, 1, 0, 0, 0])
    np.testing.assert_allclose(p1, np.concatenate([prompts.object_points, prompts.human_points]) - 0.5)
    np.testing.assert_array_equal(l1, [1, 1, 1, 0, 0, 0])
    # masks: disc around the prompt mean, moving 2 px per frame; object pixels claimed by the human removed
    yy, xx = np.mgrid[0:H, 0:W]
    for t in (0, 3):
        cx, cy = prompts.human_points.mean(0) + np.array([2 * t, 0])
        disc = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= 64
        np.testing.assert_array_equal(out.human[t], disc)
    assert out.object.any() and not (out.object & out.human).any()


def test_sam2_missing_package_and_checkpoint(monkeypatch, fake_sam2, tmp_path):
    _, frames, humans, _ = _clip()
    prompts = SegmentPrompts.from_masks(humans[0])
    missing = tmp_path / "nope" / "sam2.1_hiera_small.pt"
    with pytest.raises(MissingWeightsError, match=f"SAM2 checkpoint {missing} does not exist; download"):
        Sam2Segmenter(missing).segment(frames, prompts)
    monkeypatch.setitem(sys.modules, "sam2", None)  # makes `import sam2` raise ImportError
    monkeypatch.setitem(sys.modules, "sam2.build_sam", None)
    with pytest.raises(MissingWeightsError, match=r"SAM2 segmentation needs the sam2 package .* pip install sam2"):
        Sam2Segmenter(missing).segment(frames, prompts)
    with pytest.raises(InputError, match="Sam2Segmenter needs human prompt points"):
        Sam2Segmenter(missing).segment(frames, SegmentPrompts())


def test_segment_doctor_status(monkeypatch, tmp_path):
    monkeypatch.setenv("INHABIT_MODELS_DIR", str(tmp_path))
    selfie, sam = doctor_status()
    assert selfie.found and not selfie.optional  # bundled in the mediapipe wheel
    assert sam.optional and not sam.found
    assert "sam2" in sam.how_to_provide.lower()
    # with the package present (stand-in) the checkpoint location is what is reported
    monkeypatch.setitem(sys.modules, "sam2", types.ModuleType("sam2"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object() if name == "sam2" else None)
    (tmp_path / "sam2").mkdir()
    (tmp_path / "sam2" / "sam2.1_hiera_small.pt").write_bytes(b"x")
    _, sam = doctor_status()
    assert sam.found and sam.location == str(tmp_path / "sam2" / "sam2.1_hiera_small.pt")
