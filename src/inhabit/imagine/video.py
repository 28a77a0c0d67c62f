"""Image-to-video for the motion job (ZeroHSI §3.2): a clip of the person acting in the scene.

ZeroHSI conditions an image-to-video model on the rendered first frame (scene + initial human) and
the prompt, then reconstructs 4D motion from the clip. Any model works; the paper used KLING and
shows Wan 2.1 and Sora in its appendix (C.9). Two ways to get the clip, one protocol:

* :class:`VideoFile` — a clip the user made with any tool: an mp4 (or any file ffmpeg reads) or a
  folder of frames, with frame-rate handling, sub-sampling (ZeroHSI: 153 → 51 frames, every 3rd)
  and resizing to the working resolution.
* :class:`DiffusersVideoGenerator` — diffusers' Wan 2.1 I2V (default) or CogVideoX I2V,
  conditioned on the rendered first frame and the prompt.

Frames are (T, H, W, 3) uint8 RGB; ``fps`` travels with them (:class:`VideoClip`).

Resizing (``resize`` argument): ``"crop"`` scales to cover the target and centre-crops (no bars,
aspect kept; the default, what most generators do to an input of another aspect), ``"fit"``
scales to fit and pads with black, ``"stretch"`` scales each axis independently. The map from
source to target pixels is recorded as ``meta["resize"] = {"scale": (sx, sy), "offset": (ox, oy)}``
with ``x_t = sx·x_s + ox`` (pixel-corner coordinates, as :mod:`inhabit.conventions`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from inhabit.errors import InputError
from inhabit.weights import WeightStatus, hf_status, resolve_pretrained

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FPS_SIDECARS = ("fps.txt", "meta.json")
ResizeMode = Literal["crop", "fit", "stretch", "none"]

DEFAULT_WAN_I2V = "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
DEFAULT_COGVIDEOX_I2V = "THUDM/CogVideoX-5b-I2V"
COMPONENT = "image-to-video model (VideoConfig.model_id)"

_BACKEND_DEFAULTS = {
    # model id, frames, native fps, guidance, max area (pixels)
    "wan": (DEFAULT_WAN_I2V, 81, 16.0, 5.0, 480 * 832),
    "cogvideox": (DEFAULT_COGVIDEOX_I2V, 49, 8.0, 6.0, 480 * 720),
}


@dataclass
class VideoClip:
    """A clip: ``frames`` (T, H, W, 3) uint8 RGB at ``fps`` frames per second.

    ``meta`` records where it came from and what was done to it (``source_fps``,
    ``source_frames``, ``indices`` kept, ``resize`` transform, ``first_frame_mae``).
    """

    frames: np.ndarray
    fps: float
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        f = np.asarray(self.frames)
        if f.ndim != 4 or f.shape[-1] != 3 or f.dtype != np.uint8:
            raise InputError(f"video {self.source or ''} frames are {f.dtype} {f.shape}; expected (T, H, W, 3) uint8")
        if f.shape[0] == 0:
            raise InputError(f"video {self.source or ''} has zero frames")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"video {self.source or ''} has frame rate {self.fps}; expected a positive number")
        self.frames = f

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        return len(self) / self.fps


@runtime_checkable
class VideoGenerator(Protocol):
    """``generate(first_frame (H,W,3) uint8, prompt, seed) -> VideoClip`` at the first frame's size."""

    def generate(self, first_frame: np.ndarray, prompt: str, seed: int = 1) -> VideoClip: ...


# ----------------------------------------------------------------------------------------------
# pure helpers: sub-sampling and resizing


def subsample_indices(n: int, fps: float, every: int | None = None, target_fps: float | None = None,
                      num_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Which of ``n`` frames to keep, and the frame rate of the result. At most one rule applies.

    * ``every=k``: frames 0, k, 2k, ... (153 frames, k = 3 → 51 frames; fps / k);
    * ``target_fps=f``: frame ⌊j·fps/f⌋ for j = 0, 1, ... (f ≥ fps keeps everything);
    * ``num_frames=m``: frame ⌊j·n/m⌋ for j < m, evenly spread from frame 0 (153 → 51 is every 3rd);
      the rate becomes fps·m/n so the duration is kept.

    Returns:
        (indices (M,) int64, new fps).
    """
    rules = sum(x is not None for x in (every, target_fps, num_frames))
    if rules > 1:
        raise InputError("sub-sampling takes one of every, target_fps or num_frames, not several")
    if n <= 0:
        raise InputError("cannot sub-sample a video with zero frames")
    if every is not None:
        if every < 1:
            raise InputError(f"sub-sampling every={every}; expected a positive integer")
        return np.arange(0, n, every, dtype=np.int64), fps / every
    if target_fps is not None:
        if not target_fps > 0:
            raise InputError(f"sub-sampling target_fps={target_fps}; expected a positive number")
        if target_fps >= fps:
            return np.arange(n, dtype=np.int64), fps
        step = fps / target_fps
        count = int(np.floor((n - 1) / step + 1e-9)) + 1
        return np.floor(np.arange(count) * step + 1e-9).astype(np.int64), float(target_fps)
    if num_frames is not None:
        if num_frames < 1:
            raise InputError(f"sub-sampling num_frames={num_frames}; expected a positive integer")
        if num_frames >= n:
            return np.arange(n, dtype=np.int64), fps
        idx = np.floor(np.arange(num_frames) * (n / num_frames) + 1e-9).astype(np.int64)
        return idx, fps * num_frames / n
    return np.arange(n, dtype=np.int64), fps


def subsample(clip: VideoClip, every: int | None = None, target_fps: float | None = None,
              num_frames: int | None = None) -> VideoClip:
    """:func:`subsample_indices` applied to a clip (``meta["indices"]`` composes over calls)."""
    idx, fps = subsample_indices(len(clip), clip.fps, every, target_fps, num_frames)
    meta = dict(clip.meta)
    prev = np.asarray(meta.get("indices", np.arange(len(clip))))
    meta["indices"] = prev[idx].tolist()
    return VideoClip(clip.frames[idx], fps, clip.source, meta)


def resize_transform(src: tuple[int, int], dst: tuple[int, int], mode: ResizeMode) -> dict:
    """Scale and offset mapping source pixels to target pixels (``x_t = s·x_s + o``).

    Args:
        src, dst: (H, W) sizes.
    """
    (sh, sw), (dh, dw) = src, dst
    if mode == "none":
        return {"mode": mode, "scale": (1.0, 1.0), "offset": (0.0, 0.0)}
    if mode == "stretch":
        return {"mode": mode, "scale": (dw / sw, dh / sh), "offset": (0.0, 0.0)}
    if mode in ("crop", "fit"):
        s = max(dw / sw, dh / sh) if mode == "crop" else min(dw / sw, dh / sh)
        return {"mode": mode, "scale": (s, s), "offset": ((dw - s * sw) / 2.0, (dh - s * sh) / 2.0)}
    raise InputError(f"resize mode {mode!r}; expected 'crop', 'fit', 'stretch' or 'none'")


def resize_frames(frames: np.ndarray, size: tuple[int, int], mode: ResizeMode = "crop") -> tuple[np.ndarray, dict]:
    """Resize (T, H, W, 3) uint8 frames to ``size`` = (H', W'); see the module doc for the modes.

    Area interpolation when shrinking, bicubic when enlarging (OpenCV ``warpAffine`` with the exact
    scale/offset of :func:`resize_transform`, so the recorded transform is what was applied).

    Returns:
        (frames (T, H', W', 3) uint8, transform dict).
    """
    import cv2

    frames = np.asarray(frames)
    src_h, src_w = int(frames.shape[1]), int(frames.shape[2])
    tr = resize_transform((src_h, src_w), size, mode)
    if mode == "none":
        return frames, tr
    if (src_h, src_w) == tuple(size):
        return frames.copy(), {**tr, "scale": (1.0, 1.0), "offset": (0.0, 0.0)}
    (sx, sy), (ox, oy) = tr["scale"], tr["offset"]
    dh, dw = size
    out = np.empty((frames.shape[0], dh, dw, 3), np.uint8)
    for t, f in enumerate(frames):
        img, ax, ay = f, sx, sy
        if sx < 1.0 or sy < 1.0:
            # anti-aliasing: area-average down to about the final scale, then place exactly
            rw, rh = max(1, round(src_w * sx)), max(1, round(src_h * sy))
            img = cv2.resize(f, (rw, rh), interpolation=cv2.INTER_AREA)
            ax, ay = sx * src_w / rw, sy * src_h / rh
        # x_t = a·x_s + o in pixel-corner coordinates is a·x_s + (o + a/2 − 1/2) between OpenCV's
        # pixel-centre coordinates
        M = np.float32([[ax, 0.0, ox + 0.5 * ax - 0.5], [0.0, ay, oy + 0.5 * ay - 0.5]])
        interp = cv2.INTER_CUBIC if max(ax, ay) > 1.0 + 1e-6 else cv2.INTER_LINEAR
        # replicate the border for the interpolation kernel, then blank what lies outside the image
        out[t] = cv2.warpAffine(img, M, (dw, dh), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    # pixels whose centre falls outside the placed source rectangle are padding ("fit"): black
    ys = np.arange(dh) + 0.5
    xs = np.arange(dw) + 0.5
    outside_y = (ys < oy) | (ys > oy + sy * src_h)
    outside_x = (xs < ox) | (xs > ox + sx * src_w)
    out[:, outside_y] = 0
    out[:, :, outside_x] = 0
    return out, tr


# ----------------------------------------------------------------------------------------------
# reading and writing


def _natural_key(name: str):
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def _sidecar_fps(folder: Path) -> float | None:
    txt = folder / "fps.txt"
    if txt.is_file():
        try:
            return float(txt.read_text().strip())
        except ValueError:
            raise InputError(f"{txt} should hold one number (frames per second)") from None
    meta = folder / "meta.json"
    if meta.is_file():
        try:
            data = json.loads(meta.read_text())
            return float(data["fps"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise InputError(f"{meta} should be a JSON object with a numeric 'fps'") from None
    return None


def read_frame_folder(folder: str | os.PathLike, fps: float | None = None) -> VideoClip:
    """Frames of a folder (png/jpg/webp/bmp/tif), natural sort order (frame2 before frame10).

    The frame rate is ``fps`` when given, else read from ``fps.txt`` or ``meta.json`` {"fps": ...}.

    Raises:
        InputError: no frames, frames of different sizes, unreadable frame, no frame rate.
    """
    from inhabit.io import read_image

    folder = Path(folder).expanduser()
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                   key=lambda p: _natural_key(p.name))
    if not files:
        raise InputError(f"frame folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); expected one "
                         f"file per frame")
    rate = fps if fps is not None else _sidecar_fps(folder)
    if rate is None:
        raise InputError(f"frame folder {folder} has no frame rate: pass fps=... or write it into "
                         f"{folder / 'fps.txt'}")
    frames = []
    for p in files:
        img = read_image(p)
        if frames and img.shape != frames[0].shape:
            raise InputError(f"frame {p} is {img.shape[1]}x{img.shape[0]} but {files[0].name} is "
                             f"{frames[0].shape[1]}x{frames[0].shape[0]}; all frames must share one size")
        frames.append(img)
    return VideoClip(np.stack(frames), float(rate), str(folder),
                     {"source_fps": float(rate), "source_frames": len(frames)})


def read_video_file(path: str | os.PathLike, fps: float | None = None) -> VideoClip:
    """All frames of a video file (mp4, mov, webm, ... anything the bundled ffmpeg decodes).

    The frame rate is the file's, unless ``fps`` overrides it.
    """
    import imageio.v2 as iio

    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"video file {path} does not exist")
    try:
        reader = iio.get_reader(str(path), format="ffmpeg")
    except Exception as e:  # imageio raises several types for undecodable input
        raise InputError(f"video file {path} could not be opened as a video ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    try:
        meta = reader.get_meta_data()
        frames = []
        try:
            for f in reader:
                frames.append(np.asarray(f)[..., :3])
        except (RuntimeError, OSError, IndexError) as e:
            if not frames:
                raise InputError(f"video file {path} could not be decoded ({type(e).__name__})") from None
            log.warning("video %s: decoding stopped after %d frames (%s)", path, len(frames), e)
    finally:
        reader.close()
    if not frames:
        raise InputError(f"video file {path} has zero frames")
    rate = fps if fps is not None else meta.get("fps")
    if rate is None or not np.isfinite(rate) or rate <= 0:
        raise InputError(f"video file {path} reports no frame rate; pass fps=...")
    arr = np.stack(frames).astype(np.uint8, copy=False)
    return VideoClip(arr, float(rate), str(path), {"source_fps": float(meta.get("fps") or rate),
                                                   "source_frames": len(frames)})


def read_video(path: str | os.PathLike, fps: float | None = None) -> VideoClip:
    """A video file or a frame folder (see :func:`read_video_file`, :func:`read_frame_folder`)."""
    p = Path(path).expanduser()
    if p.is_dir():
        return read_frame_folder(p, fps)
    if not p.exists():
        raise InputError(f"video {p} does not exist; expected an mp4 file or a folder of frames")
    return read_video_file(p, fps)


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, quality: int = 8) -> Path:
    """Write (T, H, W, 3) uint8 frames as an H.264 mp4 (yuv420p, plays everywhere), atomically.

    Odd sizes are padded by one replicated row/column (yuv420p needs even sides).
    """
    import imageio.v2 as iio

    from inhabit.io import atomic_path

    clip = VideoClip(np.asarray(frames), float(fps))
    f = clip.frames
    pad_h, pad_w = f.shape[1] % 2, f.shape[2] % 2
    if pad_h or pad_w:
        f = np.pad(f, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    with atomic_path(path, suffix=".mp4") as tmp:
        writer = iio.get_writer(str(tmp), format="ffmpeg", fps=float(fps), codec="libx264", quality=quality,
                                pixelformat="yuv420p", macro_block_size=1)
        try:
            for frame in f:
                writer.append_data(frame)
        finally:
            writer.close()
    return Path(path)


def write_frame_folder(folder: str | os.PathLike, frames: np.ndarray, fps: float) -> Path:
    """Write frames as ``frame_00000.png ...`` plus ``fps.txt`` (what :func:`read_frame_folder` reads)."""
    from inhabit.io import write_image, write_text

    clip = VideoClip(np.asarray(frames), float(fps))
    folder = Path(folder)
    for t, f in enumerate(clip.frames):
        write_image(folder / f"frame_{t:05d}.png", f)
    write_text(folder / "fps.txt", f"{float(fps)!r}\n")
    return folder


def _check_frame(first_frame: np.ndarray) -> np.ndarray:
    f = np.asarray(first_frame)
    if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
        raise InputError(f"first_frame is {f.dtype} {f.shape}; expected an (H, W, 3) uint8 RGB render")
    return f


def _finish(clip: VideoClip, first_frame: np.ndarray, resize: ResizeMode, every, target_fps, num_frames) -> VideoClip:
    """Sub-sample, resize to the first frame's size, and measure how well frame 0 matches it."""
    clip = subsample(clip, every, target_fps, num_frames)
    frames, tr = resize_frames(clip.frames, first_frame.shape[:2], resize)
    meta = dict(clip.meta)
    meta["resize"] = tr
    if frames.shape[1:3] == first_frame.shape[:2]:
        mae = float(np.abs(frames[0].astype(np.float32) - first_frame.astype(np.float32)).mean())
        meta["first_frame_mae"] = mae
        if mae > 40.0:
            log.warning("the clip's first frame differs from the render (mean abs. difference %.1f / 255); "
                        "was the clip generated from this view?", mae)
    return VideoClip(frames, clip.fps, clip.source, meta)


class VideoFile:
    """:class:`VideoGenerator` serving a clip made elsewhere (an mp4 or a frame folder).

    Args:
        path: video file or frame folder.
        fps: frame rate override (required for a frame folder without ``fps.txt``/``meta.json``).
        every / target_fps / num_frames: one sub-sampling rule (:func:`subsample_indices`);
            ZeroHSI kept every 3rd frame of KLING's 153.
        resize: how frames are brought to the first frame's size (module doc); ``none`` keeps them.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = None, every: int | None = None,
                 target_fps: float | None = None, num_frames: int | None = None, resize: ResizeMode = "crop") -> None:
        self.path = Path(path).expanduser()
        self.fps = fps
        self.every, self.target_fps, self.num_frames = every, target_fps, num_frames
        if sum(x is not None for x in (every, target_fps, num_frames)) > 1:
            raise InputError("VideoFile takes one of every, target_fps or num_frames, not several")
        resize_transform((1, 1), (1, 1), resize)  # validates the mode
        self.resize: ResizeMode = resize
        if not self.path.exists():
            raise InputError(f"video {self.path} does not exist; expected an mp4 file or a folder of frames")

    def read(self) -> VideoClip:
        """The whole clip as stored (no sub-sampling, no resizing)."""
        return read_video(self.path, self.fps)

    def generate(self, first_frame: np.ndarray, prompt: str = "", seed: int = 1) -> VideoClip:
        """The clip, sub-sampled and resized to ``first_frame``'s size (prompt and seed unused)."""
        first = _check_frame(first_frame)
        return _finish(self.read(), first, self.resize, self.every, self.target_fps, self.num_frames)


# ----------------------------------------------------------------------------------------------
# diffusers image-to-video


@dataclass(frozen=True)
class VideoConfig:
    """Image-to-video generation with diffusers. ``None`` fields take the backend's defaults."""

    backend: Literal["wan", "cogvideox"] = "wan"
    model_id: str | None = None
    """Hub ID or local diffusers folder; None = :data:`DEFAULT_WAN_I2V` / :data:`DEFAULT_COGVIDEOX_I2V`."""
    num_frames: int | None = None
    """Frames to generate (Wan 81 = 5 s at 16 fps; CogVideoX 49 = 6 s at 8 fps)."""
    fps: float | None = None
    """The model's native frame rate (Wan 16, CogVideoX 8)."""
    num_inference_steps: int = 50
    guidance_scale: float | None = None
    """Wan 5.0, CogVideoX 6.0."""
    max_area: int | None = None
    """Generation resolution budget in pixels (Wan 480×832); the render's aspect is kept."""
    max_sequence_length: int | None = None
    """Text tokens (None: Wan 512, CogVideoX the transformer's limit)."""
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative_prompt: str = ("blurry, low quality, static, still image, distorted body, extra limbs, "
                            "camera shake, cut, subtitles")
    every: int | None = None
    target_fps: float | None = None
    keep_frames: int | None = None
    """Sub-sampling of the generated clip: one of every / target_fps / keep_frames."""
    device: str = "auto"
    dtype: Literal["auto", "fp16", "bf16", "fp32"] = "auto"
    """auto = bf16 on CUDA (the VAE and image encoder stay fp32), fp32 on CPU."""
    cpu_offload: bool = False
    """Move each component to the GPU only while it runs (needs ``accelerate``; for < 40 GB GPUs)."""
    allow_download: bool = False

    def __post_init__(self) -> None:
        if self.backend not in _BACKEND_DEFAULTS:
            raise InputError(f"VideoConfig.backend is {self.backend!r}; expected 'wan' or 'cogvideox'")
        mid, frames, fps, cfg, area = _BACKEND_DEFAULTS[self.backend]
        for name, default in (("model_id", mid), ("num_frames", frames), ("fps", fps), ("guidance_scale", cfg),
                              ("max_area", area)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if sum(x is not None for x in (self.every, self.target_fps, self.keep_frames)) > 1:
            raise InputError("VideoConfig takes one of every, target_fps or keep_frames, not several")
        if self.num_frames < 1 or self.num_inference_steps < 1:
            raise InputError("VideoConfig.num_frames and num_inference_steps must be at least 1")


def generation_size(size: tuple[int, int], max_area: int, multiple: int) -> tuple[int, int]:
    """(h, w) with the aspect of ``size`` = (H, W), h·w ≤ ``max_area``, both multiples of ``multiple``."""
    h0, w0 = size
    aspect = h0 / w0
    # the small epsilon keeps exact fits exact (480·832 at aspect 480/832 → 480, not 479.99…)
    h = int(np.sqrt(max_area * aspect) + 1e-6) // multiple * multiple
    w = int(np.sqrt(max_area / aspect) + 1e-6) // multiple * multiple
    return max(multiple, h), max(multiple, w)


def _pipeline_class(backend: str):
    if backend == "wan":
        from diffusers import WanImageToVideoPipeline

        return WanImageToVideoPipeline
    from diffusers import CogVideoXImageToVideoPipeline

    return CogVideoXImageToVideoPipeline


def load_video_pipeline(config: VideoConfig):
    """Load the configured image-to-video pipeline (MissingWeightsError when it is not available)."""
    import torch

    from inhabit.imagine._loading import (
        load_diffusers_pipeline,
        read_model_index,
        resolve_device,
        resolve_dtype,
    )

    assert config.model_id is not None
    folder = resolve_pretrained(config.model_id, COMPONENT, allow_download=config.allow_download)
    index = read_model_index(folder, COMPONENT)
    cls = _pipeline_class(config.backend)
    if index.get("_class_name") not in (None, cls.__name__):
        raise InputError(f"VideoConfig.backend is {config.backend!r} but {config.model_id} holds a "
                         f"{index.get('_class_name')}; set the backend that matches the model")
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device, cuda_default="bf16")
    kwargs: dict = {"torch_dtype": dtype}
    if config.backend == "wan" and dtype != torch.float32:
        # Wan's model card keeps the VAE and the CLIP image encoder in fp32 for quality
        from diffusers import AutoencoderKLWan
        from transformers import CLIPVisionModel

        try:
            kwargs["vae"] = AutoencoderKLWan.from_pretrained(folder, subfolder="vae")  # fp32 by default
            if (folder / "image_encoder").is_dir():
                kwargs["image_encoder"] = CLIPVisionModel.from_pretrained(folder, subfolder="image_encoder",
                                                                          dtype=torch.float32)
        except (OSError, ValueError) as e:
            from inhabit.errors import MissingWeightsError

            raise MissingWeightsError(f"{COMPONENT}: could not load the Wan VAE/image encoder from {folder} "
                                      f"({type(e).__name__}); re-download the model folder") from None
    pipe = load_diffusers_pipeline(cls, folder, COMPONENT, **kwargs)
    if config.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload()
        return pipe
    return pipe.to(device)


class DiffusersVideoGenerator:
    """:class:`VideoGenerator` on diffusers' Wan 2.1 I2V (default) or CogVideoX I2V.

    The render is resized (stretched, so pixels map back exactly) to the generation size — the
    render's aspect within ``max_area`` for Wan, the transformer's fixed size for CogVideoX with
    learned positional embeddings — and the frames come back at the render's size, sub-sampled
    as configured.
    """

    def __init__(self, config: VideoConfig | None = None, pipeline=None) -> None:
        self.config = config or VideoConfig()
        self.pipe = pipeline if pipeline is not None else load_video_pipeline(self.config)
        self.pipe.set_progress_bar_config(disable=True)

    @classmethod
    def from_pipeline(cls, pipeline, config: VideoConfig | None = None) -> DiffusersVideoGenerator:
        return cls(config, pipeline=pipeline)

    def working_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """(h, w) the model generates at for a render of ``size`` = (H, W)."""
        pipe, cfg = self.pipe, self.config
        tcfg = pipe.transformer.config
        spatial = int(pipe.vae_scale_factor_spatial)
        if cfg.backend == "cogvideox" and getattr(tcfg, "use_learned_positional_embeddings", False):
            return int(tcfg.sample_height) * spatial, int(tcfg.sample_width) * spatial
        patch = tcfg.patch_size
        patch = patch[1] if isinstance(patch, Sequence) else patch
        return generation_size(size, int(cfg.max_area), spatial * int(patch))

    def generate(self, first_frame: np.ndarray, prompt: str, seed: int = 1) -> VideoClip:
        """A clip starting from ``first_frame`` that follows ``prompt``, at the render's size."""
        from PIL import Image

        from inhabit.imagine.prompts import compose_prompt
        from inhabit.progress import bar
        from inhabit.seeding import torch_generator

        first = _check_frame(first_frame)
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError("video prompt is empty; describe the interaction, e.g. 'watering flowers'")
        cfg = self.config
        h, w = self.working_size(first.shape[:2])
        cond, _ = resize_frames(first[None], (h, w), "stretch")
        text = compose_prompt(prompt, cfg.prompt_prefix, cfg.prompt_suffix)
        max_seq = cfg.max_sequence_length
        if max_seq is None:
            max_seq = (int(self.pipe.transformer.config.max_text_seq_length) if cfg.backend == "cogvideox" else 512)
        with bar(cfg.num_inference_steps, desc=f"video ({cfg.backend})") as progress:
            def _tick(pipe, i, t, kwargs):
                progress.update(1)
                return kwargs

            out = self.pipe(
                image=Image.fromarray(cond[0]), prompt=text, negative_prompt=cfg.negative_prompt, height=h, width=w,
                num_frames=int(cfg.num_frames), num_inference_steps=cfg.num_inference_steps,
                guidance_scale=float(cfg.guidance_scale), generator=torch_generator(seed), output_type="np",
                max_sequence_length=int(max_seq), callback_on_step_end=_tick,
            )
        frames = np.asarray(out.frames[0], dtype=np.float32)
        if not np.all(np.isfinite(frames)):
            from inhabit.errors import OptimizationError

            raise OptimizationError("video generation produced NaN pixels; run with VideoConfig.dtype='fp32' or 'bf16'")
        u8 = (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        clip = VideoClip(u8, float(cfg.fps), f"{cfg.backend}:{cfg.model_id}",
                         {"prompt": text, "seed": int(seed), "generation_size": (h, w),
                          "source_fps": float(cfg.fps), "source_frames": int(u8.shape[0])})
        return _finish(clip, first, "stretch", cfg.every, cfg.target_fps, cfg.keep_frames)


def doctor_status() -> list[WeightStatus]:
    """Status of the image-to-video models (optional: user clips work without them)."""
    return [
        hf_status("image-to-video, motion job (Wan 2.1 I2V)", DEFAULT_WAN_I2V, optional=True),
        hf_status("image-to-video, CogVideoX I2V alternative", DEFAULT_COGVIDEOX_I2V, optional=True),
    ]


__all__ = [
    "DEFAULT_COGVIDEOX_I2V", "DEFAULT_WAN_I2V", "DiffusersVideoGenerator", "VideoClip", "VideoConfig", "VideoFile",
    "VideoGenerator", "doctor_status", "generation_size", "load_video_pipeline", "read_frame_folder", "read_video",
    "read_video_file", "resize_frames", "resize_transform", "subsample", "subsample_indices",
    "write_frame_folder", "write_video",
]
