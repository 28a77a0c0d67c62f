"""Person masks and human/object segmentation of video frames (ZeroHSI §3.2, "perceive").

Three layers:

* :func:`person_mask` / :class:`PersonMasker`: a soft mask of the person in one image, from
  mediapipe's bundled selfie segmentation (``"selfie"``, default) or from BlazePose's
  segmentation head (``"pose"``, better on full bodies, empty when the pose detector finds nobody).
* pure functions on arrays: :func:`color_difference`, :func:`robust_threshold`,
  :func:`clean_mask`, :func:`foreground_mask`, :func:`keep_components_touching`,
  :func:`farthest_point_sampling` (SAM2 prompt points) and :func:`static_background_masks`
  (ZeroHSI's aggregated static-background mask).
* the :class:`Segmenter` protocol for the motion job, with two implementations:
  :class:`BackgroundDifferenceSegmenter` (default, no downloads: the job renders the static scene
  it expects; pixels that differ from it are the dynamic foreground, the person mask splits it into
  human and object) and :class:`Sam2Segmenter` (SAM2 video predictor from a user checkpoint,
  prompted with farthest-point samples of the rendered first-frame masks).

Masks are (H, W) arrays aligned with the image: element [i, j] is the pixel whose centre is at
(x, y) = (j + 0.5, i + 0.5). Points are (x, y) pixels with the pixel-corner origin.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from inhabit.errors import InputError, MissingWeightsError
from inhabit.perceive.keypoints import check_image
from inhabit.weights import WeightStatus

MaskModel = Literal["selfie", "selfie_landscape", "pose"]

# --- person masks (mediapipe) ----------------------------------------------------------------------


class PersonMasker:
    """Soft person masks from a bundled mediapipe model; one graph reused across images.

    Args:
        model: ``"selfie"`` (selfie segmentation, general 256×256 model), ``"selfie_landscape"``
            (144×256, faster, for wide frames) or ``"pose"`` (BlazePose's segmentation of the
            detected person; zeros when no person is detected).

    Thread safety: calls are serialised by a lock. Close with :meth:`close` or a ``with`` block.
    """

    def __init__(self, model: MaskModel = "selfie") -> None:
        if model not in ("selfie", "selfie_landscape", "pose"):
            raise InputError(f"PersonMasker model must be 'selfie', 'selfie_landscape' or 'pose', got {model!r}")
        self.model = model
        self._graph = None
        self._pose = None
        self._warm = False
        self._lock = threading.Lock()

    def _ensure(self):
        from inhabit.perceive._mediapipe import bundled_model_path, import_mediapipe, quiet_native_stderr

        if self.model == "pose":
            if self._pose is None:
                from inhabit.perceive.keypoints import BlazePoseDetector

                self._pose = BlazePoseDetector(enable_segmentation=True)
            return self._pose
        if self._graph is None:
            key = "selfie_segmentation" if self.model == "selfie" else "selfie_segmentation_landscape"
            bundled_model_path(key)
            bundled_model_path("selfie_segmentation_graph")
            mp = import_mediapipe()
            with quiet_native_stderr():
                self._graph = mp.solutions.selfie_segmentation.SelfieSegmentation(
                    model_selection=0 if self.model == "selfie" else 1)
        return self._graph

    def masks(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """images: N arrays (H, W, 3) uint8 RGB -> N masks (H, W) float32 in [0, 1]."""
        arrays = [check_image(im, f"images[{i}]") for i, im in enumerate(images)]
        with self._lock:
            engine = self._ensure()
            if self.model == "pose":
                return engine.detect_with_masks(arrays)[1]
            from mediapipe.python.solution_base import SolutionBase

            from inhabit.perceive._mediapipe import quiet_native_stderr

            out = []
            for img in arrays:
                if self._warm:
                    res = SolutionBase.process(engine, {"image": img})
                else:
                    with quiet_native_stderr():
                        res = SolutionBase.process(engine, {"image": img})
                    self._warm = True
                m = res.segmentation_mask
                out.append(np.zeros(img.shape[:2], np.float32) if m is None
                           else np.clip(np.asarray(m, np.float32), 0.0, 1.0))
            return out

    def mask(self, image: np.ndarray) -> np.ndarray:
        """image: (H, W, 3) uint8 RGB -> (H, W) float32 in [0, 1]."""
        return self.masks([image])[0]

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None
            if self._pose is not None:
                self._pose.close()
                self._pose = None
            self._warm = False

    def __enter__(self) -> PersonMasker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_shared: dict[str, PersonMasker] = {}
_shared_lock = threading.Lock()


def person_mask(image: np.ndarray, model: MaskModel = "selfie") -> np.ndarray:
    """Soft person mask of one image with a process-wide shared :class:`PersonMasker`.

    Args:
        image: (H, W, 3) uint8 RGB.
        model: see :class:`PersonMasker`.

    Returns:
        (H, W) float32 in [0, 1] (threshold at 0.5 for a binary mask).
    """
    with _shared_lock:
        masker = _shared.get(model)
        if masker is None:
            masker = _shared[model] = PersonMasker(model)
    return masker.mask(image)


# --- pure mask functions ---------------------------------------------------------------------------


def color_difference(frame: np.ndarray, background: np.ndarray, median_px: int = 3) -> np.ndarray:
    """Per-pixel colour difference between a frame and the expected background.

    Both images are median-filtered (``median_px`` × ``median_px``, per channel) first: that removes
    the isolated noisy pixels of a generated or compressed video while keeping colour steps at
    object boundaries exactly where they are (a Gaussian blur would widen every mask by about a
    pixel at high-contrast edges). Then the largest absolute channel difference is taken.

    Args:
        frame, background: (H, W, 3) uint8 RGB of the same size.
        median_px: odd filter size; 0 or 1 disables the filter.

    Returns:
        (H, W) float32 in [0, 255].
    """
    import cv2

    a = np.ascontiguousarray(frame)
    b = np.ascontiguousarray(background)
    if a.shape != b.shape or a.ndim != 3:
        raise InputError(f"frame {a.shape} and background {b.shape} must be (H, W, 3) images of the same size")
    if median_px > 1:
        a = cv2.medianBlur(a.astype(np.uint8), int(median_px) | 1)
        b = cv2.medianBlur(b.astype(np.uint8), int(median_px) | 1)
    return np.abs(a.astype(np.float32) - b.astype(np.float32)).max(axis=2)


def robust_threshold(diff: np.ndarray, k: float = 5.0, floor: float = 12.0, ceiling: float = 60.0) -> float:
    """Threshold separating "changed" from background noise: ``median + k · 1.4826 · MAD``.

    The median and MAD describe the noise as long as under half of the pixels changed; the
    ``[floor, ceiling]`` clamp keeps the threshold sane when the frame is nearly identical to the
    background (MAD ≈ 0) or when the foreground covers most of it.

    Args:
        diff: (H, W) difference image (e.g. :func:`color_difference`).
    """
    d = np.asarray(diff, np.float64).reshape(-1)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float(ceiling)
    med = float(np.median(d))
    mad = float(np.median(np.abs(d - med)))
    return float(np.clip(med + k * 1.4826 * mad, floor, ceiling))


def _disk(r: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) bool dilated by a disc of ``radius`` px (identity for radius <= 0)."""
    import cv2

    m = np.asarray(mask, bool)
    if radius <= 0:
        return m.copy()
    return cv2.dilate(m.astype(np.uint8), _disk(int(radius))) > 0


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool with every background region not connected to the border filled."""
    from scipy import ndimage

    return ndimage.binary_fill_holes(np.asarray(mask, bool))


def clean_mask(mask: np.ndarray, open_px: int = 1, close_px: int = 3, min_area: int = 64,
               holes: bool = True) -> np.ndarray:
    """Morphological clean-up of a binary mask.

    Opening by a disc of ``open_px`` removes speckles, closing by ``close_px`` bridges thin gaps,
    connected components (8-connectivity) smaller than ``min_area`` pixels are dropped, and
    enclosed holes are filled.

    Args:
        mask: (H, W) bool.

    Returns:
        (H, W) bool.
    """
    import cv2

    m = np.asarray(mask, bool).astype(np.uint8)
    if open_px > 0:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, _disk(open_px))
    if close_px > 0:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, _disk(close_px))
    if min_area > 1:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        keep = np.zeros(n, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
        m = keep[labels].astype(np.uint8)
    out = m > 0
    return fill_holes(out) if holes else out


def keep_components_touching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The connected components (8-connectivity) of ``mask`` that share a pixel with ``seeds``.

    Args:
        mask, seeds: (H, W) bool.
    """
    import cv2

    m = np.asarray(mask, bool)
    n, labels = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
    hit = np.unique(labels[np.asarray(seeds, bool) & m])
    keep = np.zeros(n, bool)
    keep[hit[hit > 0]] = True
    return keep[labels]


@dataclass(frozen=True)
class DifferenceConfig:
    """Parameters of the background-difference foreground mask (pixels at the frame's resolution).

    Attributes:
        median_px: median filter size before differencing (see :func:`color_difference`).
        k, floor, ceiling: see :func:`robust_threshold`.
        open_px, close_px, min_area: see :func:`clean_mask`; ``min_area`` is in pixels at 512²
            and scales with the frame area.
        human_slack_px: person-mask pixels this close to a changed pixel still count as human
            (the person mask is usually a little wider or narrower than the colour change).
        track_px: how far a mask may move between frames and still be associated with the last one.
    """

    median_px: int = 3
    k: float = 5.0
    floor: float = 12.0
    ceiling: float = 60.0
    open_px: int = 1
    close_px: int = 3
    min_area: int = 64
    human_slack_px: int = 3
    track_px: int = 12


def foreground_mask(frame: np.ndarray, background: np.ndarray, cfg: DifferenceConfig = DifferenceConfig()) -> np.ndarray:
    """Pixels of ``frame`` that differ from the rendered ``background`` (robust threshold + clean-up).

    Args:
        frame, background: (H, W, 3) uint8 RGB.

    Returns:
        (H, W) bool.
    """
    d = color_difference(frame, background, cfg.median_px)
    t = robust_threshold(d, cfg.k, cfg.floor, cfg.ceiling)
    scale = d.shape[0] * d.shape[1] / float(512 * 512)
    return clean_mask(d > t, cfg.open_px, cfg.close_px, max(1, round(cfg.min_area * scale)))


def farthest_point_sampling(mask: np.ndarray, k: int, erode_px: int = 0) -> np.ndarray:
    """Spread ``k`` prompt points over a region (ZeroHSI proposes SAM2 prompts this way).

    The first point is the pixel deepest inside the region (largest distance to its boundary,
    first in raster order on ties), each next one the pixel whose Euclidean distance to the points
    already chosen is largest. Deterministic.

    Args:
        mask: (H, W) bool region, e.g. the *non-occluded* part of the rendered human in frame 0.
        k: number of points wanted.
        erode_px: erode the region by a disc first, keeping prompts off ambiguous boundaries
            (falls back to the un-eroded region if erosion empties it).

    Returns:
        (min(k, area), 2) float32 (x, y) pixel centres (j + 0.5, i + 0.5); (0, 2) for an empty mask.
    """
    import cv2
    from scipy import ndimage

    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError(f"farthest_point_sampling: mask must be (H, W), got {m.shape}")
    if k <= 0 or not m.any():
        return np.zeros((0, 2), np.float32)
    region = m
    if erode_px > 0:
        er = cv2.erode(m.astype(np.uint8), _disk(int(erode_px)), borderValue=0) > 0
        if er.any():
            region = er
    # distance to the region's boundary, with the image border counting as boundary
    depth = ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    ii, jj = np.nonzero(region)
    pts = np.stack([jj + 0.5, ii + 0.5], axis=1)
    first = int(np.argmax(depth[ii, jj]))
    chosen = [first]
    d2 = ((pts - pts[first]) ** 2).sum(1)
    for _ in range(min(k, len(pts)) - 1):
        nxt = int(np.argmax(d2))
        if d2[nxt] <= 0:
            break
        chosen.append(nxt)
        d2 = np.minimum(d2, ((pts - pts[nxt]) ** 2).sum(1))
    return pts[chosen].astype(np.float32)


def static_background_masks(dynamic: np.ndarray) -> np.ndarray:
    """ZeroHSI's static-background masks: frame t keeps only pixels never dynamic in frames 0..t.

    Generated videos invent content where the person or object uncovered the scene; excluding the
    union of all dynamic masks so far keeps those pixels out of camera tracking.

    Args:
        dynamic: (T, H, W) bool (human ∪ object per frame).

    Returns:
        (T, H, W) bool, ``~(dynamic[0] | ... | dynamic[t])``.
    """
    d = np.asarray(dynamic, bool)
    return ~np.logical_or.accumulate(d, axis=0)


# --- the Segmenter protocol --------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentPrompts:
    """What the motion job knows about frame 0 (it rendered it).

    Attributes:
        human_mask: (H, W) bool, visible (non-occluded) human in frame 0, or None.
        object_mask: (H, W) bool, visible object in frame 0, or None (no object in the clip).
        human_points, object_points: (k, 2) (x, y) pixel prompts; filled by
            :meth:`from_masks` with :func:`farthest_point_sampling`.
    """

    human_mask: np.ndarray | None = None
    object_mask: np.ndarray | None = None
    human_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    object_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    @staticmethod
    def from_masks(human_mask: np.ndarray | None, object_mask: np.ndarray | None = None, num_points: int = 3,
                   erode_px: int = 4) -> SegmentPrompts:
        """Prompts from rendered frame-0 masks, ``num_points`` farthest-point samples each."""
        hm = None if human_mask is None else np.asarray(human_mask, bool)
        om = None if object_mask is None else np.asarray(object_mask, bool)
        if hm is not None and om is not None and hm.shape != om.shape:
            raise InputError(f"SegmentPrompts: human mask {hm.shape} and object mask {om.shape} differ in size")
        hp = farthest_point_sampling(hm, num_points, erode_px) if hm is not None else np.zeros((0, 2), np.float32)
        op = farthest_point_sampling(om, num_points, erode_px) if om is not None else np.zeros((0, 2), np.float32)
        return SegmentPrompts(hm, om, hp, op)

    @property
    def has_object(self) -> bool:
        return (self.object_mask is not None and bool(np.asarray(self.object_mask).any())) or len(self.object_points) > 0


@dataclass(frozen=True)
class FrameMasks:
    """Per-frame human and object masks of a clip.

    Attributes:
        human: (T, H, W) bool.
        object: (T, H, W) bool (all False when the clip has no object).
    """

    human: np.ndarray
    object: np.ndarray

    def __post_init__(self) -> None:
        h = np.asarray(self.human, bool)
        o = np.asarray(self.object, bool)
        if h.ndim != 3 or h.shape != o.shape:
            raise ValueError(f"FrameMasks: human {h.shape} and object {o.shape} must both be (T, H, W)")
        object.__setattr__(self, "human", h)
        object.__setattr__(self, "object", o)

    def __len__(self) -> int:
        return self.human.shape[0]

    @property
    def dynamic(self) -> np.ndarray:
        """(T, H, W) bool, human ∪ object."""
        return self.human | self.object

    def static_background(self) -> np.ndarray:
        """(T, H, W) bool, see :func:`static_background_masks`."""
        return static_background_masks(self.dynamic)


@runtime_checkable
class Segmenter(Protocol):
    """Human and object masks for every frame of a clip."""

    def segment(self, frames: Sequence[np.ndarray], prompts: SegmentPrompts,
                backgrounds: np.ndarray | Sequence[np.ndarray] | None = None) -> FrameMasks:
        """Segment a clip.

        Args:
            frames: T arrays (H, W, 3) uint8 RGB (frame 0 is the rendered initial frame).
            prompts: frame-0 knowledge (masks and prompt points).
            backgrounds: the static scene rendered from each frame's camera, (H, W, 3) for a fixed
                camera or T of them; required by the difference segmenter, ignored by SAM2.

        Returns:
            FrameMasks with T frames at the frames' resolution.
        """
        ...


def _check_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    arrs = [check_image(f, f"frames[{i}]") for i, f in enumerate(frames)]
    if not arrs:
        raise InputError("the clip has no frames; expected at least one (H, W, 3) uint8 frame")
    shape = arrs[0].shape
    for i, a in enumerate(arrs):
        if a.shape != shape:
            raise InputError(f"frames[{i}] has shape {a.shape}, but frames[0] has {shape}; all frames must match")
    return arrs


def _check_prompt_masks(prompts: SegmentPrompts, hw: tuple[int, int]) -> None:
    for name in ("human_mask", "object_mask"):
        m = getattr(prompts, name)
        if m is not None and np.asarray(m).shape != hw:
            raise InputError(f"prompts.{name} has shape {np.asarray(m).shape}; expected the frames' size {hw}")


class BackgroundDifferenceSegmenter:
    """Default segmenter, no downloads: rendered-background difference + person mask.

    Per frame t:

    1. ``dynamic`` = :func:`foreground_mask` of the frame against the static scene rendered from
       that frame's camera (the motion job knows what the background should look like);
    2. ``human`` = person-mask pixels (≥ 0.5) within ``human_slack_px`` of a dynamic pixel; if the
       person masker finds nobody, the dynamic components touching the previous human mask
       (dilated by ``track_px``) are taken instead;
    3. ``object`` = dynamic pixels away from the human, restricted to the connected components
       touching the previous frame's object mask dilated by ``track_px`` (frame 0 starts from the
       prompt's object mask, or its points); empty when the clip has no object.

    Limits: shadows and lighting changes the generator adds near the object join it; an object
    that leaves and re-enters the frame, or jumps further than ``track_px`` between frames, is
    lost; objects of the person's colour touching the person may be split unevenly. SAM2 handles
    these better when its checkpoint is available.

    Args:
        cfg: thresholds and morphology.
        masker: a :class:`PersonMasker`; default ``PersonMasker("pose")``, created lazily: BlazePose's
            segmentation head matched rendered full bodies best (mean IoU 0.97 against 0.90 for
            selfie segmentation over 24 anny renders, ``benchmarks/keypoints_accuracy.py``); when it
            misses a frame, the previous human is tracked through the dynamic mask instead.
    """

    def __init__(self, cfg: DifferenceConfig = DifferenceConfig(), masker: PersonMasker | None = None) -> None:
        self.cfg = cfg
        self._masker = masker

    @property
    def masker(self) -> PersonMasker:
        if self._masker is None:
            self._masker = PersonMasker("pose")
        return self._masker

    def split(self, frame: np.ndarray, background: np.ndarray, person_prob: np.ndarray,
              prev_human: np.ndarray | None, prev_object: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """One frame: (H, W) bool human and object masks (the pure part of :meth:`segment`).

        Args:
            frame, background: (H, W, 3) uint8.
            person_prob: (H, W) float person mask.
            prev_human, prev_object: (H, W) bool masks of the previous frame (or frame-0 seeds), or None.
        """
        c = self.cfg
        dyn = foreground_mask(frame, background, c)
        scale = frame.shape[0] * frame.shape[1] / float(512 * 512)
        min_area = max(1, round(c.min_area * scale))
        human = (np.asarray(person_prob) >= 0.5) & dilate(dyn, c.human_slack_px)
        human = clean_mask(human, 0, 0, min_area, holes=True)
        if human.sum() < min_area and prev_human is not None and prev_human.any():
            human = keep_components_touching(dyn, dilate(prev_human, c.track_px))
        if prev_object is None or not prev_object.any():
            return human, np.zeros_like(human)
        candidates = dyn & ~dilate(human, 2)
        obj = keep_components_touching(candidates, dilate(prev_object, c.track_px))
        return human, obj

    def segment(self, frames: Sequence[np.ndarray], prompts: SegmentPrompts,
                backgrounds: np.ndarray | Sequence[np.ndarray] | None = None) -> FrameMasks:
        """See :meth:`Segmenter.segment`; ``backgrounds`` is required."""
        from inhabit.progress import track

        arrs = _check_frames(frames)
        hw = arrs[0].shape[:2]
        _check_prompt_masks(prompts, hw)
        if backgrounds is None:
            raise InputError("BackgroundDifferenceSegmenter needs backgrounds: the static scene rendered from the "
                             "frames' camera, (H, W, 3) uint8 or one per frame")
        bg = np.asarray(backgrounds) if not isinstance(backgrounds, list | tuple) else None
        if bg is not None and bg.ndim == 3:
            bgs = [check_image(bg, "backgrounds")] * len(arrs)
        else:
            seq = list(backgrounds) if bg is None else list(bg)
            if len(seq) != len(arrs):
                raise InputError(f"backgrounds has {len(seq)} images but the clip has {len(arrs)} frames")
            bgs = [check_image(b, f"backgrounds[{i}]") for i, b in enumerate(seq)]
        for i, b in enumerate(bgs):
            if b.shape != arrs[0].shape:
                raise InputError(f"backgrounds[{i}] has shape {b.shape}; expected the frames' shape {arrs[0].shape}")
        prev_h = None if prompts.human_mask is None else np.asarray(prompts.human_mask, bool)
        prev_o = None
        if prompts.object_mask is not None:
            prev_o = np.asarray(prompts.object_mask, bool)
        elif len(prompts.object_points):
            prev_o = np.zeros(hw, bool)
            ij = np.floor(np.asarray(prompts.object_points)[:, ::-1]).astype(int)
            ij = ij[(ij[:, 0] >= 0) & (ij[:, 0] < hw[0]) & (ij[:, 1] >= 0) & (ij[:, 1] < hw[1])]
            prev_o[ij[:, 0], ij[:, 1]] = True
        humans, objects = [], []
        for t in track(range(len(arrs)), "segment frames", total=len(arrs)):
            prob = self.masker.mask(arrs[t])
            h, o = self.split(arrs[t], bgs[t], prob, prev_h, prev_o)
            humans.append(h)
            objects.append(o)
            prev_h = h if h.any() else prev_h
            prev_o = o if o.any() else prev_o
        return FrameMasks(np.stack(humans), np.stack(objects))


# --- SAM2 (user checkpoint) --------------------------------------------------------------------------

SAM2_DEFAULT_CONFIG = "configs/sam2.1/sam2.1_hiera_s.yaml"
"""Config name inside the ``sam2`` package matching the default checkpoint."""
SAM2_DEFAULT_CHECKPOINT_NAME = "sam2.1_hiera_small.pt"
SAM2_INSTALL_HINT = "pip install sam2 (Apache-2.0; it needs torchvision and hydra-core)"


def default_sam2_checkpoint() -> Path:
    """Where the SAM2 checkpoint is looked for when none is configured:
    ``$INHABIT_MODELS_DIR/sam2/sam2.1_hiera_small.pt``."""
    from inhabit.paths import models_dir

    return models_dir() / "sam2" / SAM2_DEFAULT_CHECKPOINT_NAME


def _sam2_checkpoint_hint(path: Path) -> str:
    return (f"download {SAM2_DEFAULT_CHECKPOINT_NAME} (or another SAM 2.1 checkpoint, with its matching config) "
            f"from the SAM2 release page and put it at {path} or pass its path")


class Sam2Segmenter:
    """SAM2 video predictor prompted with farthest-point samples of the rendered frame-0 masks.

    Object 1 is the human, object 2 the object; each is prompted on frame 0 with its own points as
    positives and the other's points as negatives, then propagated through the clip. Prompt points
    are converted from inhabit's pixel-corner convention to SAM's pixel-index convention
    (SAM adds 0.5 internally). Frames are handed to SAM2 as a folder of JPEG files (its loader's
    format) in a temporary directory.

    Args:
        checkpoint: the ``.pt`` file (default :func:`default_sam2_checkpoint`).
        config: the matching config name inside the ``sam2`` package.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Raises (on first use):
        MissingWeightsError: the ``sam2`` package or the checkpoint is missing.
    """

    def __init__(self, checkpoint: str | Path | None = None, config: str = SAM2_DEFAULT_CONFIG,
                 device: str = "auto") -> None:
        self.checkpoint = Path(checkpoint).expanduser() if checkpoint is not None else default_sam2_checkpoint()
        self.config = config
        self.device = device
        self._predictor = None

    def _load(self):
        if self._predictor is not None:
            return self._predictor
        try:
            from sam2.build_sam import build_sam2_video_predictor
        except ImportError as e:
            raise MissingWeightsError(f"SAM2 segmentation needs the sam2 package ({e}); install it with "
                                      f"{SAM2_INSTALL_HINT}, or use the default background-difference segmenter") from None
        if not self.checkpoint.is_file():
            raise MissingWeightsError(f"SAM2 checkpoint {self.checkpoint} does not exist; "
                                      f"{_sam2_checkpoint_hint(self.checkpoint)}")
        device = self.device
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._predictor = build_sam2_video_predictor(self.config, str(self.checkpoint), device=device)
        return self._predictor

    def segment(self, frames: Sequence[np.ndarray], prompts: SegmentPrompts,
                backgrounds: np.ndarray | Sequence[np.ndarray] | None = None) -> FrameMasks:
        """See :meth:`Segmenter.segment` (``backgrounds`` is ignored)."""
        from PIL import Image

        from inhabit.progress import track

        arrs = _check_frames(frames)
        hw = arrs[0].shape[:2]
        _check_prompt_masks(prompts, hw)
        hp = np.asarray(prompts.human_points, np.float32).reshape(-1, 2)
        op = np.asarray(prompts.object_points, np.float32).reshape(-1, 2)
        if len(hp) == 0:
            raise InputError("Sam2Segmenter needs human prompt points (SegmentPrompts.from_masks with the rendered "
                             "frame-0 human mask)")
        predictor = self._load()
        human = np.zeros((len(arrs), *hw), bool)
        obj = np.zeros((len(arrs), *hw), bool)
        with tempfile.TemporaryDirectory(prefix="inhabit-sam2-") as tmp:
            for i, a in enumerate(arrs):
                Image.fromarray(a).save(Path(tmp) / f"{i:05d}.jpg", quality=95)
            state = predictor.init_state(video_path=tmp)
            objects = [(1, hp, op)] + ([(2, op, hp)] if len(op) else [])
            for obj_id, pos, neg in objects:
                pts = np.concatenate([pos, neg]) - 0.5  # pixel-corner -> SAM pixel-index coordinates
                labels = np.concatenate([np.ones(len(pos), np.int32), np.zeros(len(neg), np.int32)])
                predictor.add_new_points_or_box(inference_state=state, frame_idx=0, obj_id=obj_id,
                                                points=pts, labels=labels)
            for t, obj_ids, logits in track(predictor.propagate_in_video(state), "SAM2 propagate", total=len(arrs)):
                lg = logits.detach().float().cpu().numpy() if hasattr(logits, "detach") else np.asarray(logits)
                lg = lg.reshape(len(obj_ids), *lg.shape[-2:])
                for k, oid in enumerate(obj_ids):
                    (human if int(oid) == 1 else obj)[int(t)] = lg[k] > 0.0
        obj &= ~human  # a pixel claimed by both goes to the human (the hand holds the object)
        return FrameMasks(human, obj)


def doctor_status() -> list[WeightStatus]:
    """Person masks (mediapipe selfie segmentation, bundled, required) and SAM2 (optional)."""
    import importlib.util

    from inhabit.perceive._mediapipe import BUNDLED_MODELS, INSTALL_HINT, installed_version, package_dir

    out = []
    root = package_dir()
    keys = ("selfie_segmentation", "selfie_segmentation_landscape", "selfie_segmentation_graph")
    comp = f"person masks: selfie segmentation (mediapipe {installed_version() or 'not installed'})"
    missing = [BUNDLED_MODELS[k] for k in keys] if root is None else [
        BUNDLED_MODELS[k] for k in keys if not (root / BUNDLED_MODELS[k]).is_file()]
    out.append(WeightStatus(comp, "selfie_segmentation{,_landscape}.tflite", not missing,
                            "mediapipe package not installed" if root is None
                            else (f"{root} lacks {', '.join(missing)}" if missing
                                  else str(root / "modules" / "selfie_segmentation")),
                            INSTALL_HINT if missing else "bundled in the wheel", False))
    ckpt = default_sam2_checkpoint()
    component = "segmentation: SAM2 video predictor (optional; default is background difference)"
    if importlib.util.find_spec("sam2") is None:
        out.append(WeightStatus(component, SAM2_DEFAULT_CHECKPOINT_NAME, False, "sam2 package not installed",
                                SAM2_INSTALL_HINT + "; then " + _sam2_checkpoint_hint(ckpt), True))
    else:
        out.append(WeightStatus(component, SAM2_DEFAULT_CHECKPOINT_NAME, ckpt.is_file(), str(ckpt),
                                _sam2_checkpoint_hint(ckpt), True))
    return out
