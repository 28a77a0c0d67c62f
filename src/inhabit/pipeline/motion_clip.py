"""The clip of a motion run: a user video or a generated one, sub-sampled, sized and checked.

Policies (documented in ``docs/motion.md``)
    * **Sub-sampling** (``video.num_frames`` | ``every`` | ``target_fps``) applies to user and
      generated clips alike; ZeroHSI keeps 51 of KLING's 153 frames.
    * **Size**: frames of another size are brought to the render's size (``frame0.png``) with
      ``video.resize``: ``crop`` (scale to cover, centre-crop; default), ``fit`` (letterbox) or
      ``stretch``. When the aspect ratios differ, a note says so: the reconstruction assumes the
      clip shows the render's field of view, so generate from ``frame0.png`` at its own aspect.
    * **First frame**: the clip must start from our render. The mean absolute difference of 64-px
      thumbnails (robust to compression and small shifts) above ``video.first_frame_max_mae``
      gives a warning note, not an error (generators re-colour a little).
    * **A person**: one of the first ``video.person_check_frames`` frames must show a person:
      BlazePose finds one (GenZI's acceptance rule on the 17 COCO points) or the person-mask
      overlaps the rendered human by IoU ≥ 0.2. Otherwise the run stops with
      "no person found in the first frames of <video>".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inhabit.errors import InputError
from inhabit.pipeline.motion_config import VideoJobConfig

THUMB = 64
"""Side of the thumbnails the first-frame difference is measured on."""
MIN_PERSON_IOU = 0.2


@dataclass
class ClipFrames:
    """The frames a clip is reconstructed from.

    Attributes:
        frames: (T, H, W, 3) uint8 at the render's size, frame 0 first.
        fps: frame rate after sub-sampling.
        source: where the frames came from (a path or ``generated:<model>``).
        meta: what was done: ``source_fps``, ``source_frames``, ``source_size`` (H, W), ``indices``
            (kept source frames), ``resize`` (the transform), ``first_frame_mae``, ``notes``.
    """

    frames: np.ndarray
    fps: float
    source: str
    meta: dict = field(default_factory=dict)


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """A hash of a video file's bytes, or of every file (names and bytes) in a frame folder."""
    p = Path(path).expanduser()
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        h.update(f.relative_to(p).as_posix().encode() if p.is_dir() else b"")
        with open(f, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    return h.hexdigest()[:24]


def thumbnail(image: np.ndarray, size: int = THUMB) -> np.ndarray:
    """(size, size, 3) float32 area-averaged thumbnail of an (H, W, 3) uint8 image."""
    import cv2

    return cv2.resize(np.asarray(image), (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)


def first_frame_difference(frame: np.ndarray, render: np.ndarray, size: int = THUMB) -> float:
    """Mean absolute difference (0–255) between two images' ``size``-pixel thumbnails."""
    return float(np.abs(thumbnail(frame, size) - thumbnail(render, size)).mean())


def _finish(frames: np.ndarray, fps: float, source: str, meta: dict, frame0: np.ndarray,
            cfg: VideoJobConfig) -> ClipFrames:
    """Sub-sample and size ``frames``; record the transform, the first-frame difference and notes."""
    from inhabit.imagine.video import VideoClip, resize_frames, subsample

    clip = subsample(VideoClip(frames, fps, source, meta), cfg.every, cfg.target_fps, cfg.num_frames)
    H, W = frame0.shape[:2]
    sh, sw = clip.frames.shape[1:3]
    notes = list(meta.get("notes", []))
    resized, tr = resize_frames(clip.frames, (H, W), cfg.resize)
    if (sh, sw) != (H, W):
        a_src, a_dst = sw / sh, W / H
        if abs(a_src / a_dst - 1.0) > 0.01:
            notes.append(f"the clip is {sw}x{sh} (aspect {a_src:.3f}) but frame0.png is {W}x{H} (aspect {a_dst:.3f}); "
                         f"frames were {'centre-cropped' if cfg.resize == 'crop' else cfg.resize + 'ed'} to the render's "
                         f"size, which is right only if the clip shows the render's field of view")
        else:
            notes.append(f"the clip's {sw}x{sh} frames were resized to the render's {W}x{H}")
    out_meta = dict(clip.meta)
    out_meta.update(source_size=[int(sh), int(sw)], resize={k: (list(v) if isinstance(v, tuple) else v)
                                                             for k, v in tr.items()})
    mae = first_frame_difference(resized[0], frame0)
    out_meta["first_frame_mae"] = mae
    if mae > cfg.first_frame_max_mae:
        notes.append(f"the clip's first frame differs from frame0.png (mean difference {mae:.1f}/255 on {THUMB}-px "
                     f"thumbnails, above {cfg.first_frame_max_mae:g}); the video must start from this render, or the "
                     f"reconstruction starts from a wrong state")
    out_meta["notes"] = notes
    return ClipFrames(resized, float(clip.fps), source, out_meta)


def load_user_clip(path: str | Path, frame0: np.ndarray, cfg: VideoJobConfig) -> ClipFrames:
    """A user's clip (mp4 or frame folder), sub-sampled and sized to ``frame0`` (H, W, 3).

    Raises:
        InputError: missing or unreadable video, or a clip with fewer than 2 frames after sub-sampling.
    """
    from inhabit.imagine.video import read_video

    clip = read_video(path, fps=cfg.fps)
    meta = {"source_fps": clip.fps, "source_frames": len(clip), **clip.meta}
    out = _finish(clip.frames, clip.fps, str(path), meta, frame0, cfg)
    if len(out.frames) < 2:
        raise InputError(f"video {path} has {len(out.frames)} frame after sub-sampling; a motion needs at least 2 "
                         f"(check video.num_frames / every / target_fps)")
    return out


def generate_clip(generator, frame0: np.ndarray, prompt: str, seed: int, cfg: VideoJobConfig) -> ClipFrames:
    """A clip from an image-to-video :class:`~inhabit.imagine.video.VideoGenerator` conditioned on
    ``frame0`` and ``prompt``, then sub-sampled and sized like a user clip."""
    clip = generator.generate(frame0, prompt, seed)
    meta = {"source_fps": clip.fps, "source_frames": len(clip), "prompt": prompt, "seed": int(seed),
            **{k: v for k, v in clip.meta.items() if k != "indices"}}
    out = _finish(clip.frames, clip.fps, clip.source or "generated", meta, frame0, cfg)
    if len(out.frames) < 2:
        raise InputError(f"the generated clip has {len(out.frames)} frame after sub-sampling; a motion needs at "
                         f"least 2 (check video.generator.num_frames and video.num_frames)")
    return out


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (H, W) bool masks (0 when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = int((a | b).sum())
    return float((a & b).sum()) / union if union else 0.0


def person_evidence(frames: np.ndarray, human_mask0: np.ndarray, detector, masker, min_score: float = 0.25,
                    min_count: int = 13) -> list[dict]:
    """Per frame of ``frames`` (k, H, W, 3): whether BlazePose accepts a person and the IoU of the
    person mask with the rendered frame-0 human (dilated by 2 % of the image)."""
    from inhabit.perceive.keypoints import accept_person
    from inhabit.perceive.segment import dilate

    kp = detector.detect(list(frames))
    accepted = accept_person(kp, min_score, min_count)
    grow = max(1, round(0.02 * max(frames.shape[1:3])))
    ref = dilate(np.asarray(human_mask0, bool), grow)
    out = []
    for t, f in enumerate(frames):
        iou = mask_iou(masker.mask(f) >= 0.5, ref) if masker is not None else 0.0
        out.append({"frame": t, "keypoints_accepted": bool(accepted[t]),
                    "keypoints_found": int((kp.conf[t, :17] >= min_score).sum()), "mask_iou": round(iou, 4)})
    return out


def check_person(evidence: list[dict], source: str) -> None:
    """Raise unless some frame of ``evidence`` shows a person (see the module docstring)."""
    if not any(e["keypoints_accepted"] or e["mask_iou"] >= MIN_PERSON_IOU for e in evidence):
        raise InputError(f"no person found in the first frames of {source} (checked {len(evidence)} frames with "
                         f"BlazePose and the person mask); the clip must show the person of frame0.png from its first "
                         f"frame on")


__all__ = ["MIN_PERSON_IOU", "THUMB", "ClipFrames", "check_person", "content_hash", "first_frame_difference",
           "generate_clip", "load_user_clip", "mask_iou", "person_evidence", "thumbnail"]
